"""Nothing the bot writes pings anyone: the model's text and users' prompts are shown, never obeyed, end to end.

The bot's role has Mention Everyone and the role named is mentionable, so each text here would really ping
everyone, the role and a member if the bot let it (`loud` checks that the fake world would).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest

from tests.cogs.conftest import StartBot
from tests.cogs.test_ask import answer_to
from tests.cogs.test_ask import ask as ask_about
from tests.cogs.test_chat import ask, buttons, finished
from tests.cogs.test_conversations import answered
from tests.cogs.test_draw import SLOW, draw
from tests.cogs.test_draw_this import draw_this
from tests.cogs.test_server_controls import MANAGE_GUILD, MEMBER, configure
from tests.fake_discord import ChannelOption, FakeDiscord, FakeMessage, Pings, RoleOption
from tests.fake_discord.compose import channel_writer, pings_of
from tests.fake_discord.state import DEFAULT_BOT_PERMISSIONS, MENTION_EVERYONE

PROMPT_LIMIT = 4000  # /chat's prompt option


@pytest.fixture
async def fake() -> AsyncIterator[FakeDiscord]:
    """The fake Discord of these tests: the bot may mention everyone, so a mention it lets through pings."""
    async with FakeDiscord(bot_permissions=DEFAULT_BOT_PERMISSIONS | MENTION_EVERYONE) as server:
        yield server


@dataclass(frozen=True)
class Loud:
    role: int  # mentionable
    member: int
    text: str  # every kind of mention: @everyone, @here, the role, the member


@pytest.fixture
def loud(fake: FakeDiscord) -> Loud:
    role = fake.add_role("crew", mentionable=True)
    member = fake.add_member("ana")
    text = f"@everyone @here <@&{role}> <@{member}>"
    bot_writing = channel_writer(fake.backend, fake.channel(fake.channel_id), fake.bot_user_id)
    would_ping = pings_of(fake.backend, text, None, bot_writing, None)
    assert would_ping == Pings(users=(member,), roles=(role,), everyone=True), "the test could not fail"
    return Loud(role, member, text)


@pytest.fixture
def manager(fake: FakeDiscord) -> int:
    """A member with Manage Server, who may use `/config` and `/draw-queue`."""
    return fake.add_member("manager", permissions=MANAGE_GUILD | MEMBER)


def pinged_by_the_bot(fake: FakeDiscord) -> dict[int, Pings]:
    """Every message the bot wrote (deleted and private ones too) that any version of pinged someone with."""
    return {m.id: m.pinged for m in fake.state.messages.values() if m.author_id == fake.bot_user_id and m.pinged}


def regenerate_button(message: FakeMessage) -> str:
    return next(custom_id for custom_id in buttons(message) if custom_id.startswith("chat:regen:"))


async def test_a_chat_answer_quoting_mentions_pings_nobody(fake: FakeDiscord, start_bot: StartBot, loud: Loud) -> None:
    async with start_bot():
        [reply] = await ask(fake, f"{loud.text} [emu:echo]")
        [quoted] = await ask(fake, loud.text)  # the emulator's own answer quotes the prompt

    assert loud.text in reply.content and loud.text in quoted.content
    assert pinged_by_the_bot(fake) == {}


async def test_a_long_answer_pings_nobody_in_any_of_its_messages(
    fake: FakeDiscord, start_bot: StartBot, loud: Loud
) -> None:
    line = f"{loud.text} and more words"
    prompt = "\n".join([line] * ((PROMPT_LIMIT - 20) // (len(line) + 1)))
    async with start_bot():
        replies = await ask(fake, f"{prompt}[emu:echo]")

    assert len(replies) >= 2
    assert all(f"<@&{loud.role}>" in reply.content for reply in replies), "every part carries the mentions"
    assert pinged_by_the_bot(fake) == {}


async def test_a_channel_answer_pings_nobody_not_even_its_asker(
    fake: FakeDiscord, start_bot: StartBot, loud: Loud
) -> None:
    asker = fake.add_member("asker")
    async with start_bot():
        question = await fake.send_user_message(
            fake.channel_id, asker, f"{loud.text} [emu:echo]", mentions=[fake.bot_user_id]
        )
        [reply] = await answered(fake, fake.channel_id)

    assert reply.reference_id == question.id and f"<@&{loud.role}>" in reply.content
    assert pinged_by_the_bot(fake) == {}


async def test_with_reply_pings_author_a_channel_answer_pings_its_asker_and_nobody_else(
    fake: FakeDiscord, start_bot: StartBot, loud: Loud
) -> None:
    asker = fake.add_member("asker")
    async with start_bot(reply_pings_author=True):
        await fake.send_user_message(fake.channel_id, asker, f"{loud.text} [emu:echo]", mentions=[fake.bot_user_id])
        [reply] = await answered(fake, fake.channel_id)

    assert f"<@&{loud.role}>" in reply.content
    assert pinged_by_the_bot(fake) == {reply.id: Pings(users=(asker,))}


async def test_an_answer_about_a_message_pings_nobody_not_even_its_author(
    fake: FakeDiscord, start_bot: StartBot, loud: Loud
) -> None:
    async with start_bot(reply_pings_author=True):  # that is for a member the bot answers, not one asked about
        target = await fake.send_user_message(fake.channel_id, loud.member, loud.text)
        await ask_about(fake, target, f"{loud.text} [emu:echo]")
        reply = await answer_to(fake, target)

    assert reply.reference_id == target.id and f"<@&{loud.role}>" in reply.content  # the instruction, echoed
    assert "@\u200beveryone @\u200bhere @crew @ana" in reply.content  # the message, quoted with names
    assert pinged_by_the_bot(fake) == {}


async def test_a_drawn_message_shown_as_the_prompt_pings_nobody(
    fake: FakeDiscord, start_bot: StartBot, loud: Loud
) -> None:
    async with start_bot():
        target = await fake.send_user_message(fake.channel_id, loud.member, loud.text)
        reply = await draw_this(fake, target)

    assert reply.files and reply.embeds[0]["description"] == "@\u200beveryone @\u200bhere @crew @ana"
    assert pinged_by_the_bot(fake) == {}


async def test_a_regenerated_answer_pings_nobody(fake: FakeDiscord, start_bot: StartBot, loud: Loud) -> None:
    async with start_bot():
        [reply] = await ask(fake, f"{loud.text} [emu:echo]")
        versions = len(reply.versions)
        await fake.click_button(reply.id, regenerate_button(reply), user_id=fake.user_id)
        await fake.wait_until(lambda: len(reply.versions) > versions and finished(reply))

    assert f"<@&{loud.role}>" in reply.content
    assert pinged_by_the_bot(fake) == {}


async def test_a_picture_reply_showing_the_prompt_pings_nobody(
    fake: FakeDiscord, start_bot: StartBot, loud: Loud
) -> None:
    async with start_bot():
        reply = await draw(fake, {"prompt": loud.text})

    assert reply.files and reply.embeds[0]["description"] == loud.text
    assert pinged_by_the_bot(fake) == {}


async def test_refusals_naming_the_allowed_roles_ping_nobody(
    fake: FakeDiscord, start_bot: StartBot, loud: Loud, manager: int
) -> None:
    outsider = fake.add_member("outsider", permissions=MEMBER)
    async with start_bot():
        await configure(fake, manager, "role", role=RoleOption(loud.role), allowed=True)
        question = await fake.send_user_message(fake.channel_id, outsider, loud.text, mentions=[fake.bot_user_id])
        in_channel = await fake.wait_for_message(
            lambda m: m.author_id == fake.bot_user_id and m.reference_id == question.id
        )
        command = await fake.slash_command("chat", {"prompt": loud.text}, user_id=outsider)
        private = await command.original_message()

    assert f"<@&{loud.role}>" in in_channel.content and not in_channel.ephemeral
    assert f"<@&{loud.role}>" in private.content and private.ephemeral
    assert pinged_by_the_bot(fake) == {}


async def test_config_answers_naming_roles_and_channels_ping_nobody(
    fake: FakeDiscord, start_bot: StartBot, loud: Loud, manager: int
) -> None:
    async with start_bot():
        added_role = await configure(fake, manager, "role", role=RoleOption(loud.role), allowed=True)
        added_channel = await configure(fake, manager, "channel", channel=ChannelOption(fake.channel_id), allowed=True)
        shown = await configure(fake, manager, "show")

    assert f"<@&{loud.role}>" in added_role and f"<#{fake.channel_id}>" in added_channel
    assert f"<@&{loud.role}>" in shown and f"<#{fake.channel_id}>" in shown
    assert pinged_by_the_bot(fake) == {}


async def test_the_draw_queue_listing_prompts_pings_nobody(
    fake: FakeDiscord, start_bot: StartBot, loud: Loud, manager: int
) -> None:
    prompt = f"@everyone <@&{loud.role}> <@{loud.member}>"  # short enough to be listed whole
    async with start_bot(draw_max_concurrent=1, draw_cooldown_seconds=0):
        drawing = await fake.slash_command("draw", {"prompt": f"first {SLOW}"}, user_id=manager)
        drawing_reply = await drawing.original_message()
        await fake.wait_until(lambda: "Drawing" in drawing_reply.content)
        waiting = await fake.slash_command("draw", {"prompt": prompt})
        waiting_reply = await waiting.original_message()
        await fake.wait_until(lambda: "Waiting" in waiting_reply.content)
        queue = await fake.slash_command("draw-queue", {}, user_id=manager)
        listing = await queue.original_message()

    assert prompt in listing.content
    assert pinged_by_the_bot(fake) == {}
