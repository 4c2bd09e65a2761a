"""Helpers shared by the fake's own tests: a bot that is quick to become ready, a one-shot outcome, a clean check."""

from __future__ import annotations

import asyncio
from typing import Any

import discord
from discord.ext import commands

from .fake import FakeDiscord


def make_bot(intents: discord.Intents | None = None) -> commands.Bot:
    return commands.Bot(command_prefix="!", intents=intents or discord.Intents.default(), guild_ready_timeout=0.1)


def assert_clean(fake: FakeDiscord) -> None:
    """No bug in the fake, no 4xx answer (429 included)."""
    assert fake.stats.internal_errors == []
    assert fake.stats.client_errors == []
    assert fake.stats.rate_limited == 0


class Outcome:
    """What a bot callback saw, handed to the test once it is set."""

    def __init__(self) -> None:
        self._future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()

    def set(self, value: Any) -> None:
        if not self._future.done():
            self._future.set_result(value)

    async def get(self, timeout: float = 5.0) -> Any:  # noqa: ASYNC109
        return await asyncio.wait_for(self._future, timeout)
