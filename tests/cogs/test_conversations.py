"""Channel conversations end to end: mentions, replies to the bot, enabled channels, threads, bursts, 4014."""

from __future__ import annotations

import logging

import pytest

from bot.app.client import FusionBot
from bot.emulator import received_requests
from tests.cogs.conftest import StartBot
from tests.emulator_server import EmulatorServer
from tests.fake_discord import FakeDiscord, FakeMessage, Subcommand, running_client

MANAGE_CHANNELS = 1 << 4
SEND_AND_USE_COMMANDS = 1 << 10 | 1 << 11 | 1 << 31


def finished(message: FakeMessage) -> bool:
    return any(item["custom_id"].startswith("chat:regen:") for row in message.components for item in row["components"])


def bot_replies(fake: FakeDiscord, channel_id: int) -> list[FakeMessage]:
    return [m for m in fake.messages_in(channel_id) if m.author_id == fake.bot_user_id]


async def answered(fake: FakeDiscord, channel_id: int, count: int = 1) -> list[FakeMessage]:
    """Wait until `count` answers in the channel are finished; return the bot's messages there."""

    def done() -> list[FakeMessage] | None:
        replies = bot_replies(fake, channel_id)
        return replies if sum(map(finished, replies)) >= count else None

    return await fake.wait_until(done, timeout=20)


def prompts(emulator: EmulatorServer) -> list[str]:
    return [request.body["messages"][-1]["content"] for request in received_requests(emulator.app)]


def assert_discord_was_happy(fake: FakeDiscord) -> None:
    assert fake.stats.rate_limited == 0
    assert fake.stats.client_errors == []


async def test_a_mention_gets_a_streamed_reply_with_the_speakers_name(
    fake: FakeDiscord, start_bot: StartBot, emulator: EmulatorServer
) -> None:
    async with start_bot():
        question = await fake.send_user_message(fake.channel_id, fake.user_id, "hello bot", mentions=[fake.bot_user_id])
        [reply] = await answered(fake, fake.channel_id)

    assert reply.reference_id == question.id
    assert 'You said: "tester: hello bot"' in reply.content
    assert len(reply.versions) > 1  # created, then edited as the answer grew
    assert prompts(emulator) == ["tester: hello bot"]
    assert_discord_was_happy(fake)


async def test_the_bot_shows_itself_typing_while_an_answer_is_slow_to_begin(
    fake: FakeDiscord, start_bot: StartBot
) -> None:
    async with start_bot():
        await fake.send_user_message(fake.channel_id, fake.user_id, "quick", mentions=[fake.bot_user_id])
        [quick] = await answered(fake, fake.channel_id)
        slow_channel = fake.add_channel("slow")
        await fake.send_user_message(
            slow_channel, fake.user_id, "slow [emu:stall-start=1.5]", mentions=[fake.bot_user_id]
        )
        [slow] = await answered(fake, slow_channel)

    typing_in = {channel for channel, _ in fake.typing_events}
    assert fake.channel_id not in typing_in  # its text came within the second: no typing request spent
    typing_at = [at for channel, at in fake.typing_events if channel == slow_channel]
    assert typing_at and typing_at[0] < slow.versions[0].at  # typing shown before the first text
    assert quick.content and slow.content
    assert_discord_was_happy(fake)


async def test_a_reply_to_the_bot_continues_the_conversation(
    fake: FakeDiscord, start_bot: StartBot, emulator: EmulatorServer
) -> None:
    async with start_bot():
        await fake.send_user_message(fake.channel_id, fake.user_id, "my name is Ana", mentions=[fake.bot_user_id])
        [first] = await answered(fake, fake.channel_id)
        await fake.send_user_message(fake.channel_id, fake.user_id, "what is my name?", reply_to=first.id)
        replies = await answered(fake, fake.channel_id, count=2)

    assert 'it began with "tester: my name is Ana"' in replies[-1].content
    assert prompts(emulator) == ["tester: my name is Ana", "tester: what is my name?"]


async def test_plain_messages_are_answered_only_in_an_enabled_channel(
    fake: FakeDiscord, start_bot: StartBot, emulator: EmulatorServer
) -> None:
    member = fake.add_member("member")
    moderator = fake.add_member("moderator", permissions=MANAGE_CHANNELS | SEND_AND_USE_COMMANDS)
    async with start_bot():
        await fake.send_user_message(fake.channel_id, member, "not for the bot")
        refused = await fake.slash_command("channel", Subcommand("enable"), user_id=member)
        await refused.responded()
        enable = await fake.slash_command("channel", Subcommand("enable"), user_id=moderator)
        await enable.responded()
        await fake.send_user_message(fake.channel_id, member, "now for the bot")
        await answered(fake, fake.channel_id)
        disable = await fake.slash_command("channel", Subcommand("disable"), user_id=moderator)
        await disable.responded()
        await fake.send_user_message(fake.channel_id, member, "not any more")
        await fake.send_user_message(fake.channel_id, member, "but this", mentions=[fake.bot_user_id])
        await answered(fake, fake.channel_id, count=2)

    assert "Manage Channels" in (await refused.original_message()).content
    assert "answer every message" in (await enable.original_message()).content
    # Neither the bot's own messages nor the plain ones outside the enabled time were answered.
    assert prompts(emulator) == ["member: now for the bot", "member: but this"]


async def test_messages_from_other_bots_are_ignored(
    fake: FakeDiscord, start_bot: StartBot, emulator: EmulatorServer
) -> None:
    other_bot = fake.state.add_user("otherbot", bot=True).id
    fake.join_guild(other_bot, fake.guild_id)
    async with start_bot():
        await fake.send_user_message(fake.channel_id, other_bot, "hi bot", mentions=[fake.bot_user_id])
        await fake.send_user_message(fake.channel_id, fake.user_id, "hi bot", mentions=[fake.bot_user_id])
        await answered(fake, fake.channel_id)
    assert prompts(emulator) == ["tester: hi bot"]


async def test_a_burst_is_answered_in_order_one_at_a_time(
    fake: FakeDiscord, start_bot: StartBot, emulator: EmulatorServer
) -> None:
    async with start_bot():
        for word in ("one", "two", "three"):
            await fake.send_user_message(
                fake.channel_id, fake.user_id, f"{word} [emu:delay=0.02]", mentions=[fake.bot_user_id]
            )
        replies = await answered(fake, fake.channel_id, count=3)

    requests = received_requests(emulator.app)
    asked = [r.body["messages"][-1]["content"].removesuffix(" [emu:delay=0.02]") for r in requests]
    assert asked == ["tester: one", "tester: two", "tester: three"]
    # Each was asked after the one before had been answered: its context holds the earlier exchanges whole.
    assert [len(r.body["messages"]) for r in requests] == [1, 3, 5]
    assert [r.reference_id for r in replies if r.reference_id] == [
        m.id for m in fake.messages_in(fake.channel_id) if m.author_id == fake.user_id
    ]


async def test_a_thread_is_a_conversation_of_its_own(
    fake: FakeDiscord, start_bot: StartBot, emulator: EmulatorServer
) -> None:
    thread = fake.add_thread(fake.channel_id, "side talk")
    async with start_bot():
        await fake.send_user_message(fake.channel_id, fake.user_id, "in the channel", mentions=[fake.bot_user_id])
        await answered(fake, fake.channel_id)
        await fake.send_user_message(thread, fake.user_id, "in the thread", mentions=[fake.bot_user_id])
        [reply] = await answered(fake, thread)
    assert "This is the first message of the conversation" in reply.content


async def test_with_the_thread_setting_a_mention_opens_a_thread_answered_without_mentions(
    fake: FakeDiscord, start_bot: StartBot, emulator: EmulatorServer
) -> None:
    async with start_bot(conversation_threads=True):
        question = await fake.send_user_message(
            fake.channel_id, fake.user_id, "start a topic", mentions=[fake.bot_user_id]
        )
        thread = await fake.wait_until(
            lambda: next((c.id for c in fake.state.channels.values() if c.is_thread and c.parent_id), None)
        )
        await answered(fake, thread)
        await fake.send_user_message(thread, fake.user_id, "and more, no mention")
        await answered(fake, thread, count=2)
    assert bot_replies(fake, fake.channel_id) == []
    assert fake.channel(thread).name == "start a topic" and question.id
    assert prompts(emulator) == ["tester: start a topic", "tester: and more, no mention"]


async def test_conversations_switched_off_in_settings_ask_for_no_message_intents(
    fake: FakeDiscord, start_bot: StartBot, emulator: EmulatorServer
) -> None:
    async with start_bot(conversations_enabled=False) as bot:
        await fake.send_user_message(fake.channel_id, fake.user_id, "hello", mentions=[fake.bot_user_id])
        interaction = await fake.slash_command("chat", {"prompt": "still here"})
        reply = await interaction.original_message()
        await fake.wait_until(lambda: finished(reply))
        assert not bot.intents.message_content and not bot.intents.guild_messages
    assert prompts(emulator)[0] == "tester: still here"


async def test_a_refused_message_content_intent_is_explained_and_slash_commands_keep_working(
    start_bot: StartBot, emulator: EmulatorServer, settings: object, caplog: pytest.LogCaptureFixture
) -> None:
    async with FakeDiscord(refuse_privileged_intents=True) as fake:
        configured = settings.model_copy(  # type: ignore[attr-defined]
            update={"discord_api_base": fake.api_base, "discord_gateway_url": fake.gateway_url}
        )
        bot = FusionBot(configured, guild_ready_timeout=0.05)
        with caplog.at_level(logging.ERROR, logger="bot.app.client"):
            async with running_client(fake, bot):
                interaction = await fake.slash_command("chat", {"prompt": "hello"})
                reply = await interaction.original_message()
                await fake.wait_until(lambda: finished(reply))
                assert not bot.conversations_on
    assert "MESSAGE CONTENT INTENT" in caplog.text
    assert "Bot > Privileged Gateway Intents" in caplog.text
