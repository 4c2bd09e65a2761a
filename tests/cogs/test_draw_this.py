"""The Draw this message command end to end: a message's text drawn with the server's defaults, through /draw's queue,
cooldown and limits."""

from __future__ import annotations

from bot.emulator import received_requests
from tests.cogs.conftest import StartBot
from tests.cogs.test_server_controls import MANAGE_GUILD, MEMBER, configure, manager_and_member
from tests.emulator_server import EmulatorServer
from tests.fake_discord import ChannelOption, FakeDiscord, FakeMessage

DRAW_THIS = "Draw this"


def is_final(message: FakeMessage) -> bool:
    ids = [item["custom_id"] for row in message.components for item in row.get("components", [])]
    pending = any(custom_id.startswith("draw:cancel:") for custom_id in ids)
    return not message.loading and not pending and bool(message.content or message.embeds)


async def draw_this(fake: FakeDiscord, target: FakeMessage, *, user_id: int | None = None) -> FakeMessage:
    """Use Draw this on `target`; its reply once it shows how it ended, or the private refusal."""
    used = await fake.message_command(DRAW_THIS, target.id, user_id=user_id)
    reply = await used.original_message()
    return await fake.wait_until(lambda: reply if reply.ephemeral or is_final(reply) else None, timeout=20)


async def test_the_messages_text_is_drawn_with_the_servers_defaults(
    fake: FakeDiscord, start_bot: StartBot, emulator: EmulatorServer
) -> None:
    ana = fake.add_member("ana", permissions=MEMBER)
    manager = fake.add_member("manager", permissions=MANAGE_GUILD | MEMBER)
    async with start_bot():
        assert "Defaults updated." in await configure(fake, manager, "defaults", size="768x512")
        target = await fake.send_user_message(
            fake.channel_id, ana, "a red fox\nin the snow", embeds=[{"title": "at dawn"}], files=[("f.txt", b"x")]
        )
        reply = await draw_this(fake, target)

    [request] = [r.body for r in received_requests(emulator.app)]
    assert request["messages"][-1]["content"] == "请画一张图：a red fox in the snow at dawn"  # noqa: RUF001
    assert request["mh_output_size"] == "768x512"
    assert reply.type == 23 and not reply.ephemeral  # the context menu's own answer, for the channel to see
    assert reply.embeds[0]["description"] == "a red fox in the snow at dawn" and reply.files
    assert [f["value"] for f in reply.embeds[0]["fields"] if f["name"] == "Size"] == ["768x512"]


async def test_the_cooldown_of_draw_applies(fake: FakeDiscord, start_bot: StartBot, emulator: EmulatorServer) -> None:
    async with start_bot(draw_cooldown_seconds=3600):
        target = await fake.send_user_message(fake.channel_id, fake.user_id, "a lighthouse")
        drawn = await draw_this(fake, target)
        refused = await draw_this(fake, target)
    assert drawn.files and not drawn.ephemeral
    assert refused.ephemeral and refused.content == "Please wait 1 h before asking for another picture."
    assert len(received_requests(emulator.app)) == 1


async def test_a_message_without_text_or_with_too_much_gets_a_private_answer(
    fake: FakeDiscord, start_bot: StartBot, emulator: EmulatorServer
) -> None:
    async with start_bot():
        files_only = await fake.send_user_message(fake.channel_id, fake.user_id, "", files=[("cat.png", b"\x89PNG")])
        nothing = await draw_this(fake, files_only)
        long = await fake.send_user_message(fake.channel_id, fake.user_id, "fox " * 300)
        too_long = await draw_this(fake, long)
    assert nothing.ephemeral and nothing.content == "This message has no text to draw."
    assert too_long.ephemeral and too_long.content == (
        "This message's text has 1199 characters, and a picture's prompt at most 1000. Use /draw with a shorter prompt."
    )
    assert received_requests(emulator.app) == []


async def test_the_servers_channels_apply(fake: FakeDiscord, start_bot: StartBot, emulator: EmulatorServer) -> None:
    manager, member = manager_and_member(fake)
    elsewhere = fake.add_channel("art")
    async with start_bot():
        await configure(fake, manager, "channel", channel=ChannelOption(elsewhere), allowed=True)
        target = await fake.send_user_message(fake.channel_id, manager, "a castle")
        refused = await draw_this(fake, target, user_id=member)
        by_manager = await draw_this(fake, target, user_id=manager)
    assert refused.ephemeral and refused.content.startswith("The bot is not used in this channel on this server.")
    assert by_manager.files and len(received_requests(emulator.app)) == 1
