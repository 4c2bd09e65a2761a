"""The bot of a benchmark, in the benchmark's own process: its settings (the servers' URLs, a SQLite file, warnings
only), started against the fake Discord until ready, discord.py's REST calls traced, and closed.

The bot is unmodified (`FusionBot` with its cogs, discord.py, the fusion client, the store) and runs on the
application's event loop (`bot.runtime.run`, uvloop), so its CPU time and memory are what a deployment would see.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import aiohttp

from bot.app.client import FusionBot, point_discord_at
from bot.config import Settings, load_settings

READY_TIMEOUT = 30.0


def bench_settings(servers: dict[str, Any], data_dir: str, **overrides: Any) -> Settings:
    """The benchmarked bot's settings: the fake Discord and the emulator of `servers`, a SQLite file in
    `data_dir`, warnings only; `overrides` change any other."""
    return load_settings(
        _env_file=None,
        discord_token=servers["fake"]["token"],
        discord_api_base=servers["fake"]["api_base"],
        discord_gateway_url=servers["fake"]["gateway_url"],
        fusion_api_url=servers["emulator"]["emulator_url"],
        fusion_api_key="bench-key",
        database_url=f"sqlite:///{data_dir}/bench.sqlite3",
        log_level="WARNING",
        **overrides,
    )


@dataclass(frozen=True)
class RestCall:
    method: str
    path: str
    start: float  # aiohttp began the request (discord.py's own rate-limit waits are before this)
    written: float  # its headers were written to the socket
    end: float
    status: int


class RestTrace:
    """discord.py's REST calls as aiohttp saw them (after discord.py's own rate-limit waits)."""

    def __init__(self) -> None:
        self.calls: list[RestCall] = []
        self.config = aiohttp.TraceConfig()
        self.config.on_request_start.append(self._on_start)
        self.config.on_request_headers_sent.append(self._on_written)
        self.config.on_request_end.append(self._on_end)

    async def _on_start(self, session: Any, context: Any, params: Any) -> None:
        context.bench_start = time.monotonic()

    async def _on_written(self, session: Any, context: Any, params: Any) -> None:
        context.bench_written = time.monotonic()

    async def _on_end(self, session: Any, context: Any, params: aiohttp.TraceRequestEndParams) -> None:
        end = time.monotonic()
        start = getattr(context, "bench_start", end)
        written = getattr(context, "bench_written", start)
        self.calls.append(RestCall(params.method, params.url.path, start, written, end, params.response.status))


@asynccontextmanager
async def running_bot(settings: Settings, trace: RestTrace) -> AsyncIterator[FusionBot]:
    """A bot with `settings`, its REST calls also going to `trace`, connected and ready; closed on leaving."""
    point_discord_at(settings.discord_api_base, settings.discord_gateway_url)
    bot = FusionBot(settings, guild_ready_timeout=0.05)
    # The bot already traces discord.py's requests (for rate-limit pacing); add the benchmark's timings to it.
    assert bot.http.http_trace is not None
    for name in ("on_request_start", "on_request_headers_sent", "on_request_end"):
        getattr(bot.http.http_trace, name).extend(getattr(trace.config, name))
    await bot.login(settings.discord_token.get_secret_value() if settings.discord_token else "")
    connect = asyncio.create_task(bot.connect(), name="discord.py connect()")
    try:
        ready = asyncio.create_task(bot.wait_until_ready())
        await asyncio.wait({ready, connect}, timeout=READY_TIMEOUT, return_when=asyncio.FIRST_COMPLETED)
        if not ready.done():
            ready.cancel()
            raise RuntimeError("the bot did not get ready")
        yield bot
    finally:
        await bot.close()
        await asyncio.wait([connect], timeout=10)
