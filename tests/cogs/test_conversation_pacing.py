"""Channel replies under Discord's rate limits, end to end: thirty conversations at once within the bot's global
limit, and a note in a channel not held up by the answer streaming there."""

from __future__ import annotations

import asyncio

from bot.app.client import FusionBot
from bot.core.chunking import join_parts
from tests.cogs.test_conversations import answered, assert_discord_was_happy, bot_replies
from tests.emulator_server import EmulatorServer
from tests.fake_discord import FakeDiscord, FakeMessage, RateLimit, running_client
from tests.fake_discord.ratelimit import DEFAULT_RATE_LIMITS

CONVERSATIONS = 30
SCRIPT = "[emu:length=900][emu:delay=0.011]"  # about 1.6 s each


async def test_thirty_conversations_at_once_stream_without_a_429(fake: FakeDiscord, start_bot: object) -> None:
    # Each channel reply's requests count in the bot's global limit (50 a second), which thirty answers starting in
    # the same moment would pass: the first messages, the edits and the final texts fit in it nonetheless.
    assert DEFAULT_RATE_LIMITS["global"] == RateLimit(50, 1.0)
    channels = [fake.add_channel(f"talk-{number}") for number in range(CONVERSATIONS)]
    async with start_bot():  # type: ignore[operator]
        await asyncio.gather(
            *(
                fake.send_user_message(
                    channel,
                    fake.user_id,
                    f"question {n} {SCRIPT}",
                    mentions=[fake.bot_user_id],
                )
                for n, channel in enumerate(channels)
            )
        )
        replies = await asyncio.gather(*(answered(fake, channel) for channel in channels))

    for number, [reply] in enumerate(replies):
        assert f'You said: "tester: question {number}' in reply.content
        assert len(reply.content) > 900 and len(reply.versions) > 1  # created, then shown grown and finished
    assert fake.stats.global_rate_limited == 0
    assert_discord_was_happy(fake)


async def test_a_note_in_the_channel_is_not_held_up_by_the_answer_streaming_there(
    settings: object, emulator: EmulatorServer
) -> None:
    # Two new messages per four seconds in a channel: the answer takes one for its first message, and leaves the other
    # to the bot's other messages there rather than start its second part with it before its end.
    async with FakeDiscord(rate_limits={"message_create": RateLimit(2, 4.0)}) as fake:
        configured = settings.model_copy(  # type: ignore[attr-defined]
            update={
                "discord_api_base": fake.api_base,
                "discord_gateway_url": fake.gateway_url,
                "conversation_max_waiting": 0,  # a message while the answer is written gets the busy note
            }
        )
        async with running_client(fake, FusionBot(configured, guild_ready_timeout=0.05)):
            prompt = "a long one [emu:length=3000][emu:delay=0.004]"
            await fake.send_user_message(fake.channel_id, fake.user_id, prompt, mentions=[fake.bot_user_id])
            await fake.wait_until(lambda: first_part_full(fake), timeout=20)
            await fake.send_user_message(fake.channel_id, fake.user_id, "and another", mentions=[fake.bot_user_id])
            note = await fake.wait_for_message(lambda m: is_bot(fake, m) and "Too many messages" in m.content)
            replies = await answered(fake, fake.channel_id)

    parts = [reply for reply in replies if reply.id != note.id]
    assert len(parts) == 2 and note.created_at < parts[1].created_at  # the note did not wait for the answer's window
    assert len(join_parts([part.content for part in parts])) > 3000
    assert_discord_was_happy(fake)


async def test_a_process_keeps_the_global_limit_it_is_given(settings: object, emulator: EmulatorServer) -> None:
    # A token whose global limit is 20 a second (two processes sharing Discord's 50, say): DISCORD_GLOBAL_RATE_LIMIT
    # makes the bot keep it, with fifteen conversations starting at once.
    async with FakeDiscord(rate_limits={"global": RateLimit(20, 1.0)}) as fake:
        configured = settings.model_copy(  # type: ignore[attr-defined]
            update={
                "discord_api_base": fake.api_base,
                "discord_gateway_url": fake.gateway_url,
                "discord_global_rate_limit": 20,
            }
        )
        channels = [fake.add_channel(f"talk-{number}") for number in range(15)]
        async with running_client(fake, FusionBot(configured, guild_ready_timeout=0.05)):
            for number, channel in enumerate(channels):
                prompt = f"question {number} {SCRIPT}"
                await fake.send_user_message(channel, fake.user_id, prompt, mentions=[fake.bot_user_id])
            replies = await asyncio.gather(*(answered(fake, channel) for channel in channels))

    assert all(len(reply.content) > 900 for [reply] in replies)
    assert fake.stats.global_rate_limited == 0
    assert_discord_was_happy(fake)


def is_bot(fake: FakeDiscord, message: FakeMessage) -> bool:
    return message.author_id == fake.bot_user_id


def first_part_full(fake: FakeDiscord) -> bool:
    replies = bot_replies(fake, fake.channel_id)
    return bool(replies) and len(replies[0].content) > 1900 and not replies[0].content.endswith("\u258c")
