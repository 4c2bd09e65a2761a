"""The services every front end shares, built once: the store, the HTTP session and the fusion client on it, the
picture downloader, the access rules, the chat and picture services and the picture menu, chat's usage and daily
quotas, and the metrics they record into.

`open_services` opens them in order under one `AsyncExitStack` and closes them in reverse, in the style of
discord.py's `examples/advanced_startup.py`: `python -m bot` hands them to the Discord bot, the console uses them
alone. Nothing here knows Discord.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass

from bot.config import Settings
from bot.core.access import Access
from bot.core.chat import ChatService
from bot.core.downloads import PictureDownloader
from bot.core.draw import DrawLimits, DrawMenu, DrawQueue, DrawService, PictureQueue, QueueLimits
from bot.core.draw.shared_queue import SharedDrawQueue
from bot.core.fusion import FusionClient
from bot.core.metrics import NO_METRICS, Metrics
from bot.core.store import ChatQuota, PostgresStore, StoreBackend
from bot.core.store.backends import open_store
from bot.core.usage import ChatUsage
from bot.runtime import context_budget, fusion_client, new_http_session


@dataclass(frozen=True, slots=True)
class Services:
    settings: Settings
    store: StoreBackend
    fusion: FusionClient
    downloader: PictureDownloader
    access: Access
    chat: ChatService
    draws: DrawService
    draw_menu: DrawMenu
    usage: ChatUsage
    metrics: Metrics = NO_METRICS


@asynccontextmanager
async def open_services(
    settings: Settings,
    *,
    fusion_url: str | None = None,
    allow_private_downloads: bool | None = None,
    metrics: Metrics = NO_METRICS,
    clock: Callable[[], float] = time.time,
) -> AsyncIterator[Services]:
    """Open every service for `settings`, recording into `metrics`; `fusion_url` replaces FUSION_API_URL (the
    console's emulator), and `allow_private_downloads` IMAGE_FETCH_ALLOW_PRIVATE. `clock` is the time the
    cooldowns, quotas and usage are reckoned in (tests move it on). Answers and pictures still in progress at the
    end are interrupted and marked before the store closes."""
    async with AsyncExitStack() as stack:
        store = await open_store(settings.database_url, pool_size=settings.database_pool_size)
        stack.push_async_callback(store.close)
        if metrics.enabled:
            store.on_operation = metrics.store_operation_ended
        session = await stack.enter_async_context(new_http_session())
        allow_private = allow_private_downloads
        if allow_private is None:
            allow_private = settings.image_fetch_allow_private
        downloader = await stack.enter_async_context(
            PictureDownloader(allow_private=allow_private, timeout=settings.image_fetch_timeout)
        )
        fusion = fusion_client(session, settings, url=fusion_url, metrics=metrics)
        quota = ChatQuota(settings.chat_daily_tokens_per_user, settings.chat_daily_tokens_per_server)
        usage = ChatUsage(store, quota, clock=clock)
        chat = ChatService(
            fusion,
            store,
            context_budget(settings),
            downloader,
            metrics=metrics,
            default_persona=settings.default_persona,
            usage=usage,
        )
        stack.push_async_callback(chat.close)
        queue = await picture_queue(settings, store)
        stack.push_async_callback(queue.close)
        limits = DrawLimits.from_settings(settings)
        draws = DrawService(fusion, store, downloader, queue, limits, metrics=metrics, clock=clock)
        stack.push_async_callback(draws.close)
        access = Access(
            store,
            dms_allowed=settings.direct_messages_enabled,
            dm_chat_cooldown_seconds=settings.dm_chat_cooldown_seconds,
            clock=clock,
            usage=usage,
        )
        menu = DrawMenu.from_settings(settings)
        yield Services(settings, store, fusion, downloader, access, chat, draws, menu, usage, metrics)


async def picture_queue(settings: Settings, store: StoreBackend) -> PictureQueue:
    """The picture queue: in this process's memory on SQLite; on PostgreSQL, the one every process shares."""
    limits = QueueLimits(
        max_drawing=settings.draw_max_concurrent,
        max_drawing_per_server=settings.draw_max_concurrent_per_server,
        max_waiting=settings.draw_max_waiting,
    )
    if isinstance(store, PostgresStore):
        return await SharedDrawQueue.open(store.pool, limits)
    return DrawQueue(limits)
