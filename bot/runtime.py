"""Wiring shared by every front end (console, Discord bot): the event loop, the one HTTP session, the fusion client."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Coroutine
from typing import Any, TypeVar

import aiohttp
from pydantic import SecretStr

from bot import __version__
from bot.config import Settings
from bot.core.fusion import FusionClient, RetryPolicy, Timeouts
from bot.core.metrics import NO_METRICS, Metrics
from bot.core.store import ContextBudget

T = TypeVar("T")

USER_AGENT = f"fusionbot/{__version__}"
FUSION_CONNECTION_LIMIT = 1000  # concurrent answers; each streamed answer holds one connection
# Python's default (700, 10, 10) collects the youngest objects after every 700 allocations: each streamed chunk
# allocates several (its JSON, its text), and at 1,000 streams collecting took a third of the bot's CPU.
GC_THRESHOLDS = (10_000, 50, 100)


def new_event_loop() -> asyncio.AbstractEventLoop:
    """uvloop's event loop where it is installed (everywhere but Windows), asyncio's own otherwise.

    uvloop does the event loop's own work (waking up, socket reads and writes, timers) in C: `bench/stream.py`
    measured about a tenth less CPU per streamed answer. The tests run on this loop too.
    """
    try:
        import uvloop
    except ImportError:
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()


def run(main: Coroutine[Any, Any, T]) -> T:
    """`asyncio.run` on the application's event loop (see `new_event_loop`), the garbage collector tuned for it."""
    tune_garbage_collector()
    with asyncio.Runner(loop_factory=new_event_loop) as runner:
        return runner.run(main)


def tune_garbage_collector() -> None:
    """Collect less often (`GC_THRESHOLDS`), and never look again at what exists before the application runs.

    What is loaded by then (modules, classes, settings) lives as long as the process: `gc.freeze` keeps it out of
    every later collection, so a full one scans only what the running bot made. `bench/stream.py` at 300 streams:
    collecting went from 2.2-2.7 s to 0.4-0.5 s of the bot's CPU, about 7% of it.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


def timeouts_from(settings: Settings) -> Timeouts:
    return Timeouts(
        connect=settings.fusion_connect_timeout,
        first_byte=settings.fusion_first_byte_timeout,
        stream_idle=settings.fusion_stream_idle_timeout,
        answer_total=settings.fusion_answer_timeout,
        picture_total=settings.fusion_picture_timeout,
    )


def context_budget(settings: Settings) -> ContextBudget:
    return ContextBudget(max_messages=settings.context_max_messages, max_tokens=settings.context_max_tokens)


def new_http_session() -> aiohttp.ClientSession:
    """The application's single session for the fusion API; each call sets its own time limits.

    aiohttp's default of 100 connections would queue the 101st concurrent answer behind the others.
    """
    connector = aiohttp.TCPConnector(limit=FUSION_CONNECTION_LIMIT)
    return aiohttp.ClientSession(headers={"User-Agent": USER_AGENT}, connector=connector)


def fusion_client(
    session: aiohttp.ClientSession, settings: Settings, *, url: str | None = None, metrics: Metrics = NO_METRICS
) -> FusionClient:
    """The fusion client configured by `settings`, recording into `metrics`; `url` replaces FUSION_API_URL (the
    console's emulator)."""
    return FusionClient(
        session,
        url=url or settings.fusion_api_url,
        api_key=settings.fusion_api_key or SecretStr(""),
        defaults=settings.request_defaults(),
        timeouts=timeouts_from(settings),
        retry=RetryPolicy(attempts=settings.fusion_max_attempts, backoff=settings.fusion_retry_backoff),
        metrics=metrics,
    )
