"""A local stand-in for SenseTime's fusion chat-with-image API.

Developers chat with it without accounts (``python -m bot.emulator``) and tests talk to it
over real sockets on 127.0.0.1. Answers are deterministic, pictures are real PNGs (or
JPEG, WebP, GIF on request), and ``[emu:...]`` directives in the last user message script
faults (see ``directives``; the picture URL's faults in ``picture_server``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from aiohttp import web

from bot.emulator.app import (
    CHAT_PATH,
    CHAT_PATHS,
    EmulatorConfig,
    ReceivedRequest,
    create_app,
    drawn_picture,
    most_drawing_at_once,
    received_requests,
)

__all__ = [
    "CHAT_PATH",
    "CHAT_PATHS",
    "EmulatorConfig",
    "ReceivedRequest",
    "create_app",
    "drawn_picture",
    "most_drawing_at_once",
    "received_requests",
    "run_emulator",
]


@asynccontextmanager
async def run_emulator(
    config: EmulatorConfig | None = None,
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    app: web.Application | None = None,
) -> AsyncIterator[str]:
    """Serve the emulator on ``host:port`` (0: a free port) and yield the chat endpoint URL.

    Pass ``app`` (from :func:`create_app`) instead of ``config`` to inspect it afterwards,
    e.g. with :func:`received_requests`.
    """
    if app is not None and config is not None:
        raise ValueError("pass either config or app, not both")
    runner = web.AppRunner(app or create_app(config), shutdown_timeout=1.0, access_log=None)
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port).start()
        yield f"http://{_url_host(host)}:{runner.addresses[0][1]}{CHAT_PATH}"
    finally:
        await runner.cleanup()


def _url_host(host: str) -> str:
    if host in ("", "0.0.0.0", "::"):
        return "127.0.0.1"
    return f"[{host}]" if ":" in host else host
