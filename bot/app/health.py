"""The bot's HTTP endpoint for operators (METRICS_PORT, on METRICS_HOST): `/metrics` for Prometheus, `/healthz` for a
restart policy, `/readyz` for a load balancer or an orchestrator. An aiohttp server on the bot's event loop.

`/healthz` says whether the event loop answers. A loop that is blocked cannot run any handler, so the answer is
measured off the loop: `LoopWatchdog`, a thread, posts a probe to the loop every fraction of the bound and times
how late the loop runs it. While the loop is blocked, a request to `/healthz` gets no answer at all (Docker's
HEALTHCHECK time-out counts that as a failure); once the loop answers again, `/healthz` says 503 for as long again
as the bound, so a check that waited through a stall still hears of it. `/readyz` is 200 once every gateway shard
of the process is connected and the store answers, 503 otherwise, with a JSON body naming what is missing.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from bot.core.metrics import Metrics, ShardState
from bot.core.store import BotState, StoreError

log = logging.getLogger(__name__)

STORE_CHECK_SECONDS = 2.0  # the longest /readyz waits for the store
STORE_PROBE_KEY = "readiness-probe"  # a key read (never written) to see that the store answers
MAX_PROBE_INTERVAL = 1.0  # seconds between the watchdog's probes, at most


class LoopWatchdog:
    """Measures, from a thread of its own, how late the event loop runs a probe posted to it.

    `healthy()` is False while a probe has waited longer than `max_lag`, and for `max_lag` after one that did.
    Each probe's lateness goes to `on_lag` (the metrics' event-loop lag).
    """

    def __init__(
        self, loop: asyncio.AbstractEventLoop, max_lag: float, on_lag: Callable[[float], None] = lambda lag: None
    ) -> None:
        self._loop = loop
        self._max_lag = max_lag
        self._interval = min(MAX_PROBE_INTERVAL, max_lag / 5)
        self._on_lag = on_lag
        self._lock = threading.Lock()
        self._pending_since: float | None = None
        self._stalled_until = float("-inf")
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="fusionbot-loop-watchdog", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        self._thread.join()

    def healthy(self) -> bool:
        """Whether the loop ran every probe within the bound lately (safe to call from any thread)."""
        now = time.monotonic()
        with self._lock:
            waiting = 0.0 if self._pending_since is None else now - self._pending_since
            return waiting <= self._max_lag and now >= self._stalled_until

    def _run(self) -> None:
        while not self._stopping.wait(self._interval):
            answered = threading.Event()
            posted = time.monotonic()
            with self._lock:
                self._pending_since = posted
            try:
                self._loop.call_soon_threadsafe(self._answer, posted, answered)
            except RuntimeError:  # the loop is closed: nothing left to watch
                return
            while not answered.wait(self._interval):
                if self._stopping.is_set():
                    return

    def _answer(self, posted: float, answered: threading.Event) -> None:
        """Runs on the loop: the probe's lateness is how long the loop took to get to it."""
        now = time.monotonic()
        lag = now - posted
        with self._lock:
            self._pending_since = None
            if lag > self._max_lag:
                self._stalled_until = now + self._max_lag
        answered.set()
        self._on_lag(lag)


@dataclass(frozen=True, slots=True)
class Monitored:
    """What the endpoint reports on: the metrics, the gateway's shards now, and the store."""

    metrics: Metrics
    shards: Callable[[], Mapping[int, ShardState]]
    store: BotState


class HealthServer:
    """The endpoint, started with `start` and stopped with `stop`; `port` is the one bound (METRICS_PORT=0: any)."""

    def __init__(self, monitored: Monitored, watchdog: LoopWatchdog) -> None:
        self._monitored = monitored
        self._watchdog = watchdog
        app = web.Application()
        app.router.add_get("/metrics", self._metrics)
        app.router.add_get("/healthz", self._healthz)
        app.router.add_get("/readyz", self._readyz)
        self._runner = web.AppRunner(app, access_log=None)  # a scrape every few seconds is not worth a log line
        self.port = 0

    @classmethod
    async def start(cls, monitored: Monitored, *, host: str, port: int, max_lag: float) -> HealthServer:
        watchdog = LoopWatchdog(asyncio.get_running_loop(), max_lag, monitored.metrics.loop_lag_measured)
        server = cls(monitored, watchdog)
        await server._runner.setup()
        site = web.TCPSite(server._runner, host, port)
        await site.start()
        server.port = server._runner.addresses[0][1]
        watchdog.start()
        log.info("metrics and health checks on http://%s:%d (/metrics, /healthz, /readyz)", host, server.port)
        return server

    async def stop(self) -> None:
        await asyncio.to_thread(self._watchdog.stop)
        await self._runner.cleanup()

    def healthy(self) -> bool:
        """What `/healthz` says now (safe to ask from any thread, also while the event loop is blocked)."""
        return self._watchdog.healthy()

    async def _metrics(self, request: web.Request) -> web.Response:
        body = generate_latest(self._monitored.metrics.registry)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

    async def _healthz(self, request: web.Request) -> web.Response:
        healthy = self.healthy()
        return web.json_response({"healthy": healthy}, status=200 if healthy else 503)

    async def _readyz(self, request: web.Request) -> web.Response:
        missing = await missing_for_readiness(self._monitored.shards(), self._monitored.store.state)
        return web.json_response({"ready": not missing, "missing": missing}, status=503 if missing else 200)


async def missing_for_readiness(
    shards: Mapping[int, ShardState], read_state: Callable[[str], Awaitable[str | None]]
) -> list[str]:
    """What keeps the process from being ready: `gateway shard N` for each shard not connected, `store` when the
    store does not answer a read within `STORE_CHECK_SECONDS`."""
    missing = [f"gateway shard {shard}" for shard, state in sorted(shards.items()) if not state.connected]
    try:
        async with asyncio.timeout(STORE_CHECK_SECONDS):
            await read_state(STORE_PROBE_KEY)
    except (StoreError, TimeoutError, OSError) as error:
        log.warning("readiness: the store does not answer: %s", error or type(error).__name__)
        missing.append("store")
    return missing
