"""/config and the rules it sets, end to end: allowed channels and roles, defaults, chat cooldown, the DM setting."""

from __future__ import annotations

from bot.emulator import received_requests
from tests.cogs.conftest import StartBot
from tests.emulator_server import EmulatorServer
from tests.fake_discord import ChannelOption, FakeDiscord, FakeMessage, RoleOption, Subcommand

MANAGE_GUILD = 1 << 5
MEMBER = 1 << 10 | 1 << 11 | 1 << 31  # view, send, use application commands


def finished(message: FakeMessage) -> bool:
    ids = [item["custom_id"] for row in message.components for item in row.get("components", [])]
    return any(custom_id.startswith(("chat:regen:", "draw:reroll:")) for custom_id in ids)


def manager_and_member(fake: FakeDiscord) -> tuple[int, int]:
    """Two new members of the first guild: one with Manage Server, one without."""
    return fake.add_member("manager", permissions=MANAGE_GUILD | MEMBER), fake.add_member("member", permissions=MEMBER)


async def configure(fake: FakeDiscord, manager: int, subcommand: str, **options: object) -> str:
    interaction = await fake.slash_command("config", Subcommand(subcommand, options), user_id=manager)
    return (await interaction.original_message()).content


async def use(
    fake: FakeDiscord, command: str, prompt: str, *, user_id: int, channel_id: int | None = None
) -> FakeMessage:
    """Run /chat or /draw and return its reply once finished, or the private refusal."""
    interaction = await fake.slash_command(command, {"prompt": prompt}, user_id=user_id, channel_id=channel_id)
    reply = await interaction.original_message()
    return await fake.wait_until(lambda: reply if reply.ephemeral or finished(reply) else None, timeout=20)


async def test_a_server_can_keep_the_bot_to_some_channels_and_their_threads(
    fake: FakeDiscord, start_bot: StartBot
) -> None:
    manager, member = manager_and_member(fake)
    bot_channel = fake.add_channel("bot-talk")
    thread = fake.add_thread(bot_channel, "a thread")
    async with start_bot():
        shown = await configure(fake, manager, "channel", channel=ChannelOption(bot_channel), allowed=True)
        refused = await use(fake, "chat", "hello", user_id=member)
        allowed = await use(fake, "chat", "hello", user_id=member, channel_id=bot_channel)
        in_thread = await use(fake, "chat", "hello", user_id=member, channel_id=thread)
        manager_anywhere = await use(fake, "chat", "hello", user_id=manager)
        drawing_refused = await use(fake, "draw", "a fox", user_id=member)

    assert f"<#{bot_channel}> added to the channels" in shown
    assert refused.ephemeral and f"not used in this channel on this server. Try: <#{bot_channel}>" in refused.content
    assert drawing_refused.ephemeral and "not used in this channel" in drawing_refused.content
    assert not allowed.ephemeral and not in_thread.ephemeral and not manager_anywhere.ephemeral


async def test_a_server_can_keep_the_bot_to_some_roles(fake: FakeDiscord, start_bot: StartBot) -> None:
    manager = fake.add_member("manager", permissions=MANAGE_GUILD | MEMBER)
    artists = fake.add_role("artists", permissions=MEMBER)
    artist = fake.add_member("artist", roles=[artists])
    other = fake.add_member("other", permissions=MEMBER)
    async with start_bot():
        await configure(fake, manager, "role", role=RoleOption(artists), allowed=True)
        refused = await use(fake, "chat", "hello", user_id=other)
        allowed = await use(fake, "chat", "hello", user_id=artist)
        await configure(fake, manager, "clear", which="roles")
        after_clearing = await use(fake, "chat", "hello", user_id=other)

    assert refused.ephemeral and f"needs one of these roles: <@&{artists}>" in refused.content
    assert not allowed.ephemeral and not after_clearing.ephemeral


async def test_only_server_managers_may_configure(fake: FakeDiscord, start_bot: StartBot) -> None:
    member = fake.add_member("member", permissions=MEMBER)
    async with start_bot():
        refusal = await configure(fake, member, "show")
    assert "Manage Server" in refusal


async def test_server_defaults_apply_to_chat_and_draw_and_are_checked(
    fake: FakeDiscord, start_bot: StartBot, emulator: EmulatorServer
) -> None:
    manager = fake.add_member("manager", permissions=MANAGE_GUILD | MEMBER)
    async with start_bot(draw_cooldown_seconds=0):
        bad = await configure(fake, manager, "defaults", size="333x333")
        shown = await configure(fake, manager, "defaults", model="Artist v0.3.5 Beta", size="640x640", temperature=0.3)
        await use(fake, "chat", "hello", user_id=manager)
        chat_request = received_requests(emulator.app)[-1].body
        await use(fake, "draw", "a fox", user_id=manager)
        draw_request = received_requests(emulator.app)[-1].body

    assert "Size '333x333' is not offered" in bad
    assert "model `Artist v0.3.5 Beta`, size `640x640`, temperature `0.3`" in shown
    assert chat_request["temperature"] == 0.3
    assert (draw_request["mh_model_name"], draw_request["mh_output_size"]) == ("Artist v0.3.5 Beta", "640x640")


async def test_a_chat_cooldown_holds_members_back_with_a_private_reason(
    fake: FakeDiscord, start_bot: StartBot, emulator: EmulatorServer
) -> None:
    manager, member = manager_and_member(fake)
    async with start_bot():
        await configure(fake, manager, "chat-cooldown", seconds=3600.0)
        first = await use(fake, "chat", "one", user_id=member)
        second = await use(fake, "chat", "two", user_id=member)
        await fake.send_user_message(fake.channel_id, member, "three", mentions=[fake.bot_user_id])
        told = await fake.wait_until(
            lambda: next(
                (m for m in fake.messages_in() if "before your next question" in m.content and not m.ephemeral), None
            )
        )
    assert not first.ephemeral
    assert second.ephemeral and "Please wait 1 h before your next question on this server." in second.content
    assert told.reference_id is not None
    assert len(received_requests(emulator.app)) == 1


async def test_direct_messages_can_be_switched_off(fake: FakeDiscord, start_bot: StartBot) -> None:
    dm = fake.open_dm(fake.user_id)
    async with start_bot(direct_messages_enabled=False):
        refused = await use(fake, "chat", "hello", user_id=fake.user_id, channel_id=dm)
        await fake.send_user_message(dm, fake.user_id, "hello")
        told = await fake.wait_until(
            lambda: next((m for m in fake.messages_in(dm) if "direct messages" in m.content and not m.ephemeral), None)
        )
    assert refused.ephemeral and "does not answer direct messages" in refused.content
    assert told.author_id == fake.bot_user_id
