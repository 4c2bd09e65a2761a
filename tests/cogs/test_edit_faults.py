"""Discord failing the bot's edits, or taking its messages away: every answer still ends in its final state once,
and a reply that is gone stops its answer instead of being edited in vain."""

from __future__ import annotations

import asyncio

import pytest

from bot.app.client import FusionBot
from bot.app.streaming import GENERATING_MARKER
from bot.core.store import StoreError
from tests.cogs.conftest import StartBot
from tests.cogs.test_chat import ask, finished
from tests.cogs.test_conversations import answered
from tests.fake_discord import FakeDiscord, FakeMessage
from tests.fake_discord.faults import FaultKind

SLOW = "[emu:length=3000][emu:delay=0.03]"


def assert_ended_once(replies: list[FakeMessage]) -> None:
    assert [finished(reply) for reply in replies] == [False] * (len(replies) - 1) + [True]
    assert not any(GENERATING_MARKER in reply.content for reply in replies)


async def assert_deleting_stops_the_answer(fake: FakeDiscord, bot: FusionBot, message: FakeMessage) -> None:
    """Delete a message of the answer being written; it stops soon, stored as stopped, read no further."""
    errors_before = len(fake.stats.client_errors)
    fake.state.delete_message(message)
    async with asyncio.timeout(20):
        await bot.chat.settled()
    turn = (await bot.store.turns(fake.channel_id))[-1]
    assert len(fake.stats.client_errors) - errors_before <= 2, "edits stopped once Discord said it is gone"
    assert turn.role == "assistant" and not turn.complete, "stored as stopped"
    assert 0 < len(turn.content) < 8000, "the answer was not read to its end"


@pytest.mark.parametrize("kind", ["server-error", "reset", "slow"])
async def test_a_channel_reply_ends_in_its_final_state_through_failing_edits(
    fake: FakeDiscord, start_bot: StartBot, monkeypatch: pytest.MonkeyPatch, kind: FaultKind
) -> None:
    monkeypatch.setattr("bot.app.streaming.EDIT_TIMEOUT", 0.5)
    monkeypatch.setattr("bot.app.streaming.EDIT_BACKOFF", 0.05)
    fault = fake.inject_fault("message_edit", kind, count=3, delay=2.0)
    async with start_bot():
        await fake.send_user_message(fake.channel_id, fake.user_id, f"tell me {SLOW}", mentions=[fake.bot_user_id])
        replies = await answered(fake, fake.channel_id)
    assert fault.injected == 3
    assert_ended_once(replies)
    assert "tester: tell me" in replies[0].content


async def test_a_slash_command_reply_ends_in_its_final_state_through_reset_connections(
    fake: FakeDiscord, start_bot: StartBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("bot.app.streaming.EDIT_BACKOFF", 0.05)
    fault = fake.inject_fault("interaction_webhook", "reset", count=4)
    async with start_bot():
        replies = await ask(fake, f"tell me {SLOW}")
    assert fault.injected == 4
    assert_ended_once(replies)


async def test_the_final_edit_is_retried_until_it_lands(
    fake: FakeDiscord, start_bot: StartBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("bot.app.streaming.EDIT_BACKOFF", 0.05)
    async with start_bot():
        question = await fake.send_user_message(fake.channel_id, fake.user_id, "short", mentions=[fake.bot_user_id])
        await fake.wait_until(lambda: any(m.reference_id == question.id for m in fake.messages_in()))
        fake.inject_fault("message_edit", "server-error", count=3)  # every edit from here: the final one too
        replies = await answered(fake, fake.channel_id)
    assert_ended_once(replies)


@pytest.mark.parametrize("which", ["first", "continuation"])
async def test_a_reply_deleted_while_it_streams_stops_its_answer(
    fake: FakeDiscord, start_bot: StartBot, which: str
) -> None:
    async with start_bot() as bot:
        question = await fake.send_user_message(
            fake.channel_id, fake.user_id, "a long one [emu:length=8000][emu:delay=0.02]", mentions=[fake.bot_user_id]
        )
        wanted = 1 if which == "first" else 2

        def reply_messages() -> list[FakeMessage] | None:
            messages = [m for m in fake.messages_in() if m.author_id == fake.bot_user_id and m.id > question.id]
            return messages if len(messages) >= wanted else None

        doomed = (await fake.wait_until(reply_messages))[wanted - 1]
        await assert_deleting_stops_the_answer(fake, bot, doomed)


async def test_a_slash_command_reply_deleted_while_it_streams_stops_its_answer(
    fake: FakeDiscord, start_bot: StartBot
) -> None:
    async with start_bot() as bot:
        interaction = await fake.slash_command("chat", {"prompt": "a long one [emu:length=8000][emu:delay=0.02]"})
        original = await interaction.original_message()
        await fake.wait_until(lambda: GENERATING_MARKER in original.content)
        await assert_deleting_stops_the_answer(fake, bot, original)


async def test_a_channel_deleted_while_an_answer_streams_stops_it(fake: FakeDiscord, start_bot: StartBot) -> None:
    async with start_bot() as bot:
        question = await fake.send_user_message(
            fake.channel_id, fake.user_id, "a long one [emu:length=8000][emu:delay=0.02]", mentions=[fake.bot_user_id]
        )
        await fake.wait_until(lambda: any(m.reference_id == question.id for m in fake.messages_in()))
        errors_before = len(fake.stats.client_errors)
        del fake.state.channels[fake.channel_id]  # every request to it now answers 404 Unknown Channel (10003)
        async with asyncio.timeout(20):
            await bot.chat.settled()
        turn = (await bot.store.turns(question.channel_id))[-1]

    assert len(fake.stats.client_errors) - errors_before <= 2
    assert not turn.complete and 0 < len(turn.content) < 8000


async def test_a_database_failing_while_an_answer_is_recorded_still_shows_the_final_text(
    fake: FakeDiscord, start_bot: StartBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def disk_full(*args: object, **changes: object) -> None:
        raise StoreError("update_turn: OperationalError: database or disk is full")  # what either backend raises

    async with start_bot() as bot:
        monkeypatch.setattr(bot.store, "update_turn", disk_full)  # from the placeholder on, nothing more is stored
        replies = await ask(fake, "tell me [emu:length=500][emu:delay=0.01]")
    assert_ended_once(replies)
    assert "tester: tell me" in replies[0].content
