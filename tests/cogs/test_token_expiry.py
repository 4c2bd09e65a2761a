"""Interaction tokens expire (15 minutes on Discord, a second or two here): a picture that waited longer, and an
answer that ran longer, are still delivered, through the channel; a picture that could not be shown costs nothing."""

from __future__ import annotations

import asyncio
import datetime
import time
from collections.abc import AsyncIterator

import pytest

from tests.cogs.conftest import StartBot
from tests.cogs.test_chat import ask
from tests.cogs.test_draw import draw
from tests.fake_discord import FakeDiscord

TOKEN_LIFETIME = 1.5


@pytest.fixture
async def fake() -> AsyncIterator[FakeDiscord]:
    async with FakeDiscord(token_lifetime=TOKEN_LIFETIME) as fake:
        yield fake


@pytest.fixture(autouse=True)
def _switch_early(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("bot.app.replies.TOKEN_TRUSTED_FOR", datetime.timedelta(seconds=TOKEN_LIFETIME / 3))


async def test_a_picture_that_waited_past_the_token_is_still_delivered(fake: FakeDiscord, start_bot: StartBot) -> None:
    async with start_bot(draw_cooldown_seconds=0) as bot:
        shown = await draw(fake, {"prompt": "a patient fox [emu:picture-delay=2.5]"})
        usage = await bot.store.draw_usage(fake.user_id, since=time.time() - 60)

    assert shown.files and shown.embeds, "the picture reached the channel"
    assert not [error for error in fake.stats.errors if error.code == 50027], "no edit used the expired token"
    assert usage.drawn == 1


async def test_an_answer_that_ran_past_the_token_ends_in_its_final_state(
    fake: FakeDiscord, start_bot: StartBot
) -> None:
    async with start_bot():
        replies = await ask(fake, "a long story [emu:length=5000][emu:delay=0.02]")
    assert len(replies) >= 3
    assert not [error for error in fake.stats.errors if error.code == 50027]


async def test_a_picture_that_could_not_be_shown_costs_nothing(fake: FakeDiscord, start_bot: StartBot) -> None:
    fake.inject_fault("message_edit", "server-error", count=1000)  # once the token is gone, nothing lands
    async with start_bot(draw_cooldown_seconds=0) as bot:
        interaction = await fake.slash_command("draw", {"prompt": "a lost fox [emu:picture-delay=1]"})
        await interaction.responded()
        async with asyncio.timeout(30):
            await bot.draws.settled()
        usage = await bot.store.draw_usage(fake.user_id, since=time.time() - 60)
    assert usage.drawn == 0
