"""The fusion API emulator served on 127.0.0.1 for a test, with its app at hand to inspect what it received."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from aiohttp import web
from aiohttp.test_utils import TestServer

from bot.emulator import CHAT_PATH, EmulatorConfig, create_app


@dataclass(frozen=True)
class EmulatorServer:
    url: str
    app: web.Application


@asynccontextmanager
async def serve_emulator(config: EmulatorConfig | None = None) -> AsyncIterator[EmulatorServer]:
    server = TestServer(create_app(config), host="127.0.0.1")
    await server.start_server()
    try:
        yield EmulatorServer(url=str(server.make_url(CHAT_PATH)), app=server.app)
    finally:
        await server.close()
