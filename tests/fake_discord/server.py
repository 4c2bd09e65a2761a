"""The aiohttp application and runner of the fake Discord: REST under ``/api/v10``, the gateway, served files.

Every REST request passes `ServerApp.serve`: count it, take a rate-limit token (or answer 429 with ``Via`` and
``retry_after``), check ``Authorization: Bot <token>`` where Discord would, run the route, turn `ApiError` into
Discord's error body, put the rate-limit headers on the answer and record any error in `Stats`. A bug in the fake
answers 503, which discord.py raises at once instead of retrying, and is listed in ``stats.internal_errors``.
"""

from __future__ import annotations

import asyncio
import logging
import traceback
from collections.abc import Awaitable, Callable

from aiohttp import web

from . import rest_core, rest_interactions, rest_messages
from .backend import Backend
from .ratelimit import rejection_headers
from .routing import ApiError, RouteSpec, json_response

_log = logging.getLogger(__name__)

API_PREFIX = "/api/v10"
ROUTES: list[RouteSpec] = [*rest_core.ROUTES, *rest_messages.ROUTES, *rest_interactions.ROUTES]
SHUTDOWN_TIMEOUT = 2.0


class ServerApp:
    """The HTTP side of one fake Discord, bound to 127.0.0.1 on a free port."""

    def __init__(self, backend: Backend) -> None:
        self.backend = backend
        self._runner: web.AppRunner | None = None

    def build(self) -> web.Application:
        app = web.Application(client_max_size=self.backend.config.request_size_limit * 2)
        app.router.add_get("/gateway", self.backend.gateway.handle)
        app.router.add_get("/attachments/{attachment_id}/{filename}", self.serve_attachment)
        for spec in ROUTES:
            app.router.add_route(spec.method, API_PREFIX + spec.template, self.endpoint(spec))
        app.router.add_route("*", "/{tail:.*}", self.unknown_route)
        return app

    async def start(self) -> str:
        self._runner = web.AppRunner(
            self.build(), handle_signals=False, access_log=None, shutdown_timeout=SHUTDOWN_TIMEOUT
        )
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        host, port = self._runner.addresses[0][:2]
        return f"http://{host}:{port}"

    async def close(self) -> None:
        hub = self.backend.gateway
        hub.close_all(1001, "The fake Discord is shutting down.")
        try:
            await self.backend.state.wait_until(
                lambda: not hub.connections, SHUTDOWN_TIMEOUT, "gateway sockets to close"
            )
        except TimeoutError:
            _log.warning("fake Discord: %d gateway socket(s) still open at shutdown", len(hub.connections))
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def endpoint(self, spec: RouteSpec) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
        async def handle(request: web.Request) -> web.StreamResponse:
            return await self.serve(spec, request)

        return handle

    async def serve(self, spec: RouteSpec, request: web.Request) -> web.StreamResponse:
        try:
            return await self.serve_counted(spec, request)
        finally:
            self.backend.state.changed()  # the counters changed too: wake whoever waits on them

    async def serve_counted(self, spec: RouteSpec, request: web.Request) -> web.StreamResponse:
        backend = self.backend
        arrived = backend.now()
        backend.stats.requests[spec.name] += 1
        major = tuple(request.match_info[name] for name in spec.major)
        admission = backend.limiter.admit(spec.bucket, spec.name, major, global_limited=spec.auth, now=arrived)
        if admission.rejection is not None:
            rejection = admission.rejection
            backend.stats.record_rate_limited(rejection.bucket_key, is_global=rejection.is_global)
            _log.info("fake Discord: 429 on %s (bucket %s)", spec.name, rejection.bucket_key)
            headers = admission.headers | rejection_headers(rejection)
            response = json_response(rejection.body(), 429, headers)
            backend.stats.record_response(spec.name, request.path, 429, rejection.body(), arrived)
            return response
        fault = backend.faults.take(spec)
        if fault is not None and fault.kind == "reset":
            assert request.transport is not None
            request.transport.abort()  # no answer at all: the client sees the connection reset
            return web.Response(status=204)
        if fault is not None and fault.kind == "server-error":
            return self.error(spec.name, request, ApiError(503, 0, "Service Unavailable (injected)"), arrived)
        if fault is not None:
            await asyncio.sleep(fault.delay)
        if spec.auth and request.headers.get("Authorization") != f"Bot {backend.config.token}":
            response = self.error(spec.name, request, ApiError(401, 0, "401: Unauthorized"), arrived)
        else:
            response = await self.run_handler(spec, request, arrived)
        response.headers.update(admission.headers)
        response.headers["Via"] = "1.1 google"
        return response

    async def run_handler(self, spec: RouteSpec, request: web.Request, arrived: float) -> web.StreamResponse:
        try:
            response = await spec.handler(self.backend, request)
        except ApiError as error:
            return self.error(spec.name, request, error, arrived)
        except web.HTTPRequestEntityTooLarge:
            return self.error(spec.name, request, ApiError(413, 40005, "Request entity too large"), arrived)
        except Exception:
            _log.exception("fake Discord: internal error in %s", spec.name)
            self.backend.stats.internal_errors.append(traceback.format_exc())
            return self.error(spec.name, request, ApiError(503, 0, "fake Discord internal error"), arrived)
        self.backend.stats.record_response(spec.name, request.path, response.status, None, arrived)
        return response

    def error(self, route: str, request: web.Request, error: ApiError, arrived: float) -> web.Response:
        _log.debug("fake Discord: %s %s -> %s %s", request.method, request.path, error.status, error.body)
        self.backend.stats.record_response(route, request.path, error.status, error.body, arrived)
        return json_response(error.body, error.status, {"Via": "1.1 google"})

    async def serve_attachment(self, request: web.Request) -> web.StreamResponse:
        try:
            return await rest_core.get_attachment(self.backend, request)
        except ApiError as error:
            return json_response(error.body, error.status)

    async def unknown_route(self, request: web.Request) -> web.Response:
        _log.warning("fake Discord: no route for %s %s", request.method, request.path)
        route = f"{request.method} (unknown) {request.path}"
        self.backend.stats.requests[route] += 1
        return self.error(route, request, ApiError(404, 0, "404: Not Found"), self.backend.now())


async def drain(
    futures: list[asyncio.Future[float | None]],
    timeout: float,  # noqa: ASYNC109
) -> None:
    """Wait until gateway frames are written (or their connection went away)."""
    if futures:
        await asyncio.wait_for(asyncio.gather(*futures), timeout)
