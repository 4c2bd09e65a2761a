"""The whole bot, unmodified discord.py included, against the fake Discord and the fusion emulator on 127.0.0.1."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from bot.app.client import FusionBot
from bot.config import Settings, load_settings
from tests.emulator_server import EmulatorServer
from tests.fake_discord import FakeDiscord, running_client
from tests.postgres import dsn, schema, server  # noqa: F401  (fixtures of the cluster tests)

StartBot = Callable[..., AbstractAsyncContextManager[FusionBot]]


@pytest.fixture
async def fake() -> AsyncIterator[FakeDiscord]:
    async with FakeDiscord() as fake:
        yield fake


@pytest.fixture
def settings(tmp_path: Path, fake: FakeDiscord, emulator: EmulatorServer) -> Settings:
    return load_settings(
        discord_token=fake.token,
        discord_api_base=fake.api_base,
        discord_gateway_url=fake.gateway_url,
        fusion_api_url=emulator.url,
        fusion_api_key="test-key",
        database_url=f"sqlite:///{tmp_path / 'bot.sqlite3'}",
        image_fetch_allow_private=True,
        fusion_retry_backoff=0.01,
    )


@pytest.fixture
def start_bot(fake: FakeDiscord, settings: Settings) -> StartBot:
    """`async with start_bot(**setting_overrides) as bot:` runs a bot until the block ends (a restart: twice).

    The overrides are validated like the environment would be (e.g. `draw_sizes="800x600,640x480"`); `clock` is the
    bot's time for its cooldowns, quotas and usage (default: the real time).
    """

    @asynccontextmanager
    async def start(*, clock: Callable[[], float] = time.time, **overrides: Any) -> AsyncIterator[FusionBot]:
        bot = FusionBot(load_settings(**(settings.model_dump() | overrides)), clock=clock, guild_ready_timeout=0.05)
        async with running_client(fake, bot):
            yield bot

    return start
