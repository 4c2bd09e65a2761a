"""/chat, /reset, Stop and Regenerate end to end: fake Discord, unmodified discord.py, the bot, the emulator."""

from __future__ import annotations

import asyncio
import datetime

import aiohttp
import pytest

from bot.app.streaming import GENERATING_MARKER
from bot.core.chunking import join_parts
from bot.core.store import Store
from bot.emulator import received_requests
from tests.cogs.conftest import StartBot
from tests.emulator_server import EmulatorServer
from tests.fake_discord import FakeDiscord, FakeMessage

MANAGE_MESSAGES = 1 << 13


def buttons(message: FakeMessage) -> list[str]:
    return [item["custom_id"] for row in message.components for item in row.get("components", [])]


def finished(message: FakeMessage) -> bool:
    return any(custom_id.startswith("chat:regen:") for custom_id in buttons(message))


async def ask(
    fake: FakeDiscord, prompt: str, *, channel_id: int | None = None, user_id: int | None = None, **options: object
) -> list[FakeMessage]:
    """Run /chat and wait until the answer is finished; return the reply's messages, first to last."""
    interaction = await fake.slash_command(
        "chat", {"prompt": prompt, **options}, channel_id=channel_id, user_id=user_id
    )
    original = await interaction.original_message()
    channel = original.channel_id

    def reply() -> list[FakeMessage] | None:
        messages = [
            m
            for m in fake.messages_in(channel)
            if m.id >= original.id
            and m.author_id == fake.bot_user_id
            and m.interaction_id in (None, original.interaction_id)
        ]
        return messages if messages and finished(messages[-1]) else None

    return await fake.wait_until(reply, timeout=20)


def assert_discord_was_happy(fake: FakeDiscord) -> None:
    assert fake.stats.rate_limited == 0
    assert fake.stats.client_errors == []
    assert fake.stats.ack_violations == []


async def test_short_answer_streams_into_the_reply(fake: FakeDiscord, start_bot: StartBot) -> None:
    async with start_bot():
        [reply] = await ask(fake, "hello there [emu:delay=0.02]")

    assert 'You said: "tester: hello there"' in reply.content
    assert GENERATING_MARKER not in reply.content
    contents = [version.content for version in reply.versions]
    assert any(c.endswith(GENERATING_MARKER) for c in contents), "the answer was shown while it grew"
    assert any("chat:stop:" in str(v.components) for v in reply.versions), "Stop was offered while generating"
    assert_discord_was_happy(fake)


async def test_long_answer_continues_in_follow_ups_and_holds_the_whole_text(
    fake: FakeDiscord, start_bot: StartBot, emulator: EmulatorServer
) -> None:
    async with start_bot() as bot:
        replies = await ask(fake, "write some python code [emu:length=6000]")
        stored = (await bot.store.turns(fake.channel_id))[-1].content

    assert len(replies) >= 4
    assert all(len(reply.content) <= 2000 for reply in replies)
    assert join_parts([reply.content for reply in replies]) == stored
    assert len(stored) >= 6000 and "```python" in stored
    assert all(reply.content.count("```") % 2 == 0 for reply in replies), "every part is balanced Markdown"
    assert [finished(reply) for reply in replies] == [False] * (len(replies) - 1) + [True]
    assert_discord_was_happy(fake)


@pytest.mark.parametrize(
    "directives",
    [
        "[emu:envelope=old]",
        "[emu:framing=nospace][emu:crlf]",
        "[emu:comments][emu:no-done]",
        "[emu:chunk=3]",
        "[emu:plain]",
    ],
)
async def test_every_stream_variant_gives_the_same_reply(
    fake: FakeDiscord, start_bot: StartBot, directives: str
) -> None:
    async with start_bot():
        [plain] = await ask(fake, "variant check")
        [variant] = await ask(fake, f"variant check {directives}", channel_id=fake.add_channel("other"))
    assert variant.content == plain.content


@pytest.mark.parametrize(
    ("directives", "explanation"),
    [
        ("[emu:status=401]", "credentials were refused"),
        ("[emu:status=429][emu:retry-after=600]", "try again in 600 seconds"),
        ("[emu:finish=sensitive]", "flagged by moderation"),
        ("[emu:drop=4]", "cut off"),
        ("[emu:status=503]", "failed to answer"),
    ],
)
async def test_failures_end_the_reply_with_an_explanation_and_the_bot_keeps_serving(
    fake: FakeDiscord, start_bot: StartBot, directives: str, explanation: str
) -> None:
    async with start_bot():
        [failed] = await ask(fake, f"this will fail {directives}")
        [after] = await ask(fake, "and now?")

    assert explanation in failed.content
    assert "Traceback" not in failed.content
    assert "This is the first message of the conversation" in after.content, "the failed turn is not context"
    assert_discord_was_happy(fake)


async def test_dropped_stream_keeps_the_partial_text(fake: FakeDiscord, start_bot: StartBot) -> None:
    async with start_bot() as bot:
        [failed] = await ask(fake, "partial please [emu:drop=6]")
        turn = (await bot.store.turns(fake.channel_id))[-1]
    assert turn.role == "assistant" and not turn.complete and turn.content
    assert failed.content.startswith(turn.content)


async def test_silence_times_out_with_an_explanation(fake: FakeDiscord, start_bot: StartBot) -> None:
    async with start_bot(fusion_stream_idle_timeout=0.3):
        [failed] = await ask(fake, "slow [emu:stall=5]")
    assert "took too long" in failed.content


async def test_stop_keeps_the_partial_answer_marked_stopped(
    fake: FakeDiscord, start_bot: StartBot, emulator: EmulatorServer
) -> None:
    async with start_bot() as bot:
        interaction = await fake.slash_command("chat", {"prompt": "long one [emu:length=4000][emu:delay=0.05]"})
        original = await interaction.original_message()
        await fake.wait_until(lambda: any(b.startswith("chat:stop:") for b in buttons(original)) and original.content)
        stop = next(b for b in buttons(original) if b.startswith("chat:stop:"))

        await fake.click_button(original.id, stop, user_id=fake.user_id)
        await fake.wait_until(lambda: finished(fake.messages_in(fake.channel_id)[-1]))
        turn = (await bot.store.turns(fake.channel_id))[-1]

    final = fake.messages_in(fake.channel_id)[-1]
    assert "Stopped." in final.content
    assert not turn.complete and 0 < len(turn.content) < 4000
    assert_discord_was_happy(fake)


async def test_only_the_asker_or_a_moderator_may_press_the_buttons(fake: FakeDiscord, start_bot: StartBot) -> None:
    stranger = fake.add_member("stranger")
    async with start_bot():
        [reply] = await ask(fake, "mine")
        regenerate = next(b for b in buttons(reply) if b.startswith("chat:regen:"))
        versions = len(reply.versions)
        click = await fake.click_button(reply.id, regenerate, user_id=stranger)
        await click.responded()
        refusal = await fake.wait_until(lambda: [m for m in fake.messages_in() if m.ephemeral] or None)

    assert "Only the person who asked" in refusal[0].content
    assert len(reply.versions) == versions


async def test_regenerate_works_after_a_restart(
    fake: FakeDiscord, start_bot: StartBot, emulator: EmulatorServer
) -> None:
    async with start_bot():
        [reply] = await ask(fake, "tell me something", temperature=0.3, max_new_tokens=500)
    before = len(received_requests(emulator.app))
    first_answer = reply.content

    async with start_bot():
        regenerate = next(b for b in buttons(reply) if b.startswith("chat:regen:"))
        versions = len(reply.versions)
        await fake.click_button(reply.id, regenerate, user_id=fake.user_id)
        await fake.wait_until(lambda: len(reply.versions) > versions and finished(reply))

    regenerated = received_requests(emulator.app)[before:]
    assert len(regenerated) == 1
    assert [m["content"] for m in regenerated[0].body["messages"]] == [
        "tester: tell me something"
    ]  # who said it, in a server
    assert (regenerated[0].body["temperature"], regenerated[0].body["max_new_tokens"]) == (0.3, 500)  # as asked
    assert reply.content == first_answer  # the emulator answers the same context the same way
    assert_discord_was_happy(fake)


async def test_context_survives_a_restart_and_reset_clears_it(fake: FakeDiscord, start_bot: StartBot) -> None:
    moderator = fake.add_member("moderator", permissions=MANAGE_MESSAGES | 1 << 10 | 1 << 11 | 1 << 31)
    async with start_bot():
        await ask(fake, "my name is Ana")
    async with start_bot():
        [remembered] = await ask(fake, "what is my name?")
        refused = await fake.slash_command("reset", {}, user_id=fake.user_id)
        await refused.responded()
        reset = await fake.slash_command("reset", {}, user_id=moderator)
        await reset.responded()
        [forgotten] = await ask(fake, "who am I?")

    assert 'it began with "tester: my name is Ana"' in remembered.content
    assert "This is the first message of the conversation" in forgotten.content
    refusal = (await refused.original_message()).content
    assert "only members with Manage Messages" in refusal
    assert "Conversation cleared" in (await reset.original_message()).content


async def test_thirty_channels_at_once_without_cross_talk(fake: FakeDiscord, start_bot: StartBot) -> None:
    channels = [fake.add_channel(f"room-{i}") for i in range(30)]
    async with start_bot():
        replies = await asyncio.gather(
            *(ask(fake, f"I am room {i} [emu:delay=0.01]", channel_id=channel) for i, channel in enumerate(channels))
        )
    for i, [reply] in enumerate(replies):
        assert f'You said: "tester: I am room {i}"' in reply.content
        assert "earlier messages" not in reply.content
    assert_discord_was_happy(fake)


async def test_picture_answer_is_attached(fake: FakeDiscord, start_bot: StartBot) -> None:
    async with start_bot() as bot:
        [reply] = await ask(fake, "draw a lighthouse")
        url = (await bot.store.turns(fake.channel_id))[-1].content
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        served = await response.read()
    [(filename, data)] = reply.files
    assert filename.endswith(".png")
    assert data == served


async def test_commands_are_synced_only_when_they_change(fake: FakeDiscord, start_bot: StartBot) -> None:
    async with start_bot():
        pass
    async with start_bot():
        pass
    assert len(fake.command_syncs) == 1
    assert {(command["name"], command["type"]) for command in fake.command_syncs[0]} == {
        *(("chat", 1), ("reset", 1), ("draw", 1), ("draw-queue", 1), ("channel", 1), ("config", 1), ("usage", 1)),
        *(("Ask Fusionbot", 3), ("Draw this", 3)),  # message commands
    }


async def test_shutdown_marks_an_answer_in_progress_as_interrupted(fake: FakeDiscord, start_bot: StartBot) -> None:
    async with start_bot() as bot:
        interaction = await fake.slash_command("chat", {"prompt": "long [emu:length=4000][emu:delay=0.05]"})
        original = await interaction.original_message()
        await fake.wait_until(lambda: original.content)
    async with await Store.open(bot.settings.database_path) as store:
        turn = (await store.turns(fake.channel_id))[-1]
    final = fake.messages_in(fake.channel_id)[-1]
    assert "Interrupted" in final.content and finished(final)
    assert not turn.complete


async def test_options_and_the_askers_id_reach_the_request(
    fake: FakeDiscord, start_bot: StartBot, emulator: EmulatorServer
) -> None:
    async with start_bot():
        await ask(fake, "tuned", temperature=1.5, top_p=0.5, max_new_tokens=300)
        await ask(fake, "defaults")
    tuned, defaults = (request.body for request in received_requests(emulator.app)[-2:])
    assert (tuned["temperature"], tuned["top_p"], tuned["max_new_tokens"]) == (1.5, 0.5, 300)
    assert (defaults["temperature"], defaults["top_p"], defaults["max_new_tokens"]) == (0.8, 0.7, 2048)
    assert tuned["user_id"] == str(fake.user_id)
    assert tuned["stream"] is True and tuned["mh_model_name"] == "Artist_V0.1.3"


async def test_in_a_direct_message_anyone_may_reset_their_conversation(fake: FakeDiscord, start_bot: StartBot) -> None:
    dm = fake.open_dm(fake.user_id)
    async with start_bot():
        await ask(fake, "my name is Ana", channel_id=dm)
        reset = await fake.slash_command("reset", {}, channel_id=dm)
        await reset.responded()
        [forgotten] = await ask(fake, "who am I?", channel_id=dm)

    assert "Conversation cleared" in (await reset.original_message()).content
    assert "This is the first message of the conversation" in forgotten.content
    assert_discord_was_happy(fake)


async def test_an_answer_older_than_an_hour_is_regenerated_in_a_new_message(
    fake: FakeDiscord, start_bot: StartBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("bot.app.replies.EDITABLE_FOR", datetime.timedelta(0))  # every answer counts as old
    async with start_bot():
        [old] = await ask(fake, "tell me something")
        versions = len(old.versions)
        await fake.click_button(old.id, next(b for b in buttons(old) if b.startswith("chat:regen:")))
        new = await fake.wait_until(
            lambda: next((m for m in fake.messages_in() if m.reference_id == old.id and finished(m)), None)
        )
    assert len(old.versions) == versions  # not edited: Discord limits edits of old messages (30046)
    assert "tell me something" in new.content
    assert_discord_was_happy(fake)
