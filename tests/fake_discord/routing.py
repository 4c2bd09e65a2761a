"""HTTP plumbing shared by the REST modules: route declarations, JSON answers, Discord-style errors, request bodies.

Discord answers ``Content-Type: application/json`` with no charset, and discord.py parses a body as JSON only when
the header is exactly that, so answers are built from bytes (``web.Response(text=...)`` would add a charset).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aiohttp import BodyPartReader, web

from . import payloads

if TYPE_CHECKING:
    from .backend import Backend

Handler = Callable[["Backend", web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True)
class RouteSpec:
    """One REST route: ``template`` is relative to ``/api/v10``; ``bucket`` names its rate-limit kind.

    ``major`` lists the path parameters that make one bucket instance (Discord's "major parameters");
    ``auth`` says whether ``Authorization: Bot <token>`` is required; interaction routes need none and are
    exempt from the global limit.
    """

    method: str
    template: str
    handler: Handler
    bucket: str
    major: tuple[str, ...] = ()
    auth: bool = True

    @property
    def name(self) -> str:
        return f"{self.method} {self.template}"


class ApiError(Exception):
    """An error answer in Discord's shape: ``{"message": ..., "code": ..., "errors": ...}``."""

    def __init__(self, status: int, code: int, message: str, errors: dict[str, Any] | None = None) -> None:
        super().__init__(f"{status} {code} {message}")
        self.status = status
        self.body = payloads.error(code, message, errors)


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    body = json.dumps(data).encode()
    return web.Response(body=body, status=status, headers=headers, content_type="application/json")


def no_content() -> web.Response:
    return web.Response(status=204)


def snowflake_param(request: web.Request, name: str) -> int:
    try:
        return int(request.match_info[name])
    except ValueError:
        raise ApiError(400, 50035, "Invalid Form Body", {name: invalid_snowflake()}) from None


def invalid_snowflake() -> dict[str, Any]:
    return {"_errors": [{"code": "NUMBER_TYPE_COERCE", "message": "Value is not snowflake."}]}


def query_flag(request: web.Request, name: str) -> bool:
    return request.query.get(name, "").lower() in {"1", "true"}


@dataclass(frozen=True)
class Upload:
    """One ``files[n]`` part of a multipart request."""

    index: int
    filename: str
    data: bytes


async def read_body(request: web.Request) -> tuple[dict[str, Any], list[Upload]]:
    """The JSON payload (``payload_json`` in a multipart body) and the uploaded files."""
    if request.content_type.startswith("multipart/"):
        return await read_multipart(request)
    if not request.can_read_body:
        return {}, []
    try:
        payload = await request.json()
    except json.JSONDecodeError:
        raise ApiError(400, 50109, "The request body contains invalid JSON.") from None
    if not isinstance(payload, dict):
        raise ApiError(400, 50035, "Invalid Form Body")
    return payload, []


async def read_list_body(request: web.Request) -> list[dict[str, Any]]:
    payload = await request.json()
    if not isinstance(payload, list):
        raise ApiError(400, 50035, "Invalid Form Body")
    return payload


async def read_multipart(request: web.Request) -> tuple[dict[str, Any], list[Upload]]:
    reader = await request.multipart()
    payload: dict[str, Any] = {}
    uploads: list[Upload] = []
    while (part := await reader.next()) is not None:
        if not isinstance(part, BodyPartReader):
            continue
        name = part.name or ""
        data = await part.read(decode=False)
        if name == "payload_json":
            payload = json.loads(data)
        elif name.startswith("files[") and name.endswith("]"):
            uploads.append(Upload(int(name[6:-1]), part.filename or f"file{len(uploads)}", bytes(data)))
    return payload, uploads
