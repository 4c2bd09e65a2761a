"""Wiring shared by every front end (console, Discord bot): the one HTTP session and the fusion client."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import aiohttp
from pydantic import SecretStr

from bot import __version__
from bot.config import Settings
from bot.fusion import FusionClient, RetryPolicy, Timeouts
from bot.store import ContextBudget, Store

USER_AGENT = f"fusionbot/{__version__}"
FUSION_CONNECTION_LIMIT = 1000  # concurrent answers; each streamed answer holds one connection


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


@asynccontextmanager
async def open_store(settings: Settings) -> AsyncIterator[Store]:
    """The store at DATABASE_URL, migrated, closed on exit."""
    store = await Store.open(settings.database_path)
    try:
        yield store
    finally:
        await store.close()


def new_http_session() -> aiohttp.ClientSession:
    """The application's single session for the fusion API; each call sets its own time limits.

    aiohttp's default of 100 connections would queue the 101st concurrent answer behind the others.
    """
    connector = aiohttp.TCPConnector(limit=FUSION_CONNECTION_LIMIT)
    return aiohttp.ClientSession(headers={"User-Agent": USER_AGENT}, connector=connector)


@asynccontextmanager
async def http_session() -> AsyncIterator[aiohttp.ClientSession]:
    async with new_http_session() as session:
        yield session


def fusion_client(session: aiohttp.ClientSession, settings: Settings, *, url: str | None = None) -> FusionClient:
    """The fusion client configured by `settings`; `url` replaces FUSION_API_URL (the console's emulator)."""
    return FusionClient(
        session,
        url=url or settings.fusion_api_url,
        api_key=settings.fusion_api_key or SecretStr(""),
        defaults=settings.request_defaults(),
        timeouts=timeouts_from(settings),
        retry=RetryPolicy(attempts=settings.fusion_max_attempts, backoff=settings.fusion_retry_backoff),
    )
