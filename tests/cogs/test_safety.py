"""Hostile or unlucky use end to end: answers too long for their messages, empty answers, two askers in one
channel, double presses, cooldowns in DMs and on Regenerate, and a flooded channel's bounded line.
"""

from __future__ import annotations

import asyncio

from bot.emulator import received_requests
from tests.cogs.conftest import StartBot
from tests.cogs.test_chat import ask, assert_discord_was_happy, buttons, finished
from tests.cogs.test_conversations import answered, bot_replies
from tests.emulator_server import EmulatorServer
from tests.fake_discord import FakeDiscord, FakeMessage
from tests.fake_discord.state import MessageEdit

MEMBER = 1 << 10 | 1 << 11 | 1 << 31  # view, send, use application commands: no Manage Server


def regenerate_button(message: FakeMessage) -> str:
    return next(custom_id for custom_id in buttons(message) if custom_id.startswith("chat:regen:"))


def message_with_button(fake: FakeDiscord, channel_id: int, custom_id: str) -> FakeMessage:
    """A message of the bot's carrying a button it did not put there (say, copied from another channel)."""
    button = {"type": 2, "style": 2, "label": "Copied", "custom_id": custom_id}
    edit = MessageEdit(content="a copy", components=[{"type": 1, "components": [button]}])
    return fake.state.create_message(fake.state.channels[channel_id], fake.bot_user_id, edit)


def private_answers(fake: FakeDiscord, channel_id: int | None = None) -> list[str]:
    return [message.content for message in fake.messages_in(channel_id) if message.ephemeral]


async def test_an_answer_past_its_messages_is_attached_whole(fake: FakeDiscord, start_bot: StartBot) -> None:
    async with start_bot(max_answer_messages=3) as bot:
        replies = await ask(fake, "write a lot [emu:length=9000]")
        stored = (await bot.store.turns(fake.channel_id))[-1].content

    assert len(stored) >= 9000
    assert len(replies) == 3
    assert all(len(reply.content) <= 2000 for reply in replies)
    assert "the whole answer is attached as answer.md" in replies[-1].content
    [(filename, data)] = replies[-1].files
    assert filename == "answer.md"
    assert data == stored.encode()
    assert_discord_was_happy(fake)


async def test_a_three_kilobyte_line_of_code_takes_three_messages_and_the_bot_goes_on(
    fake: FakeDiscord, start_bot: StartBot
) -> None:
    code = "```python\n" + "x" * 3000 + "\n```"
    async with start_bot():
        replies = await ask(fake, f"{code}[emu:echo]")
        [after] = await ask(fake, "still there?", channel_id=fake.add_channel("elsewhere"))

    assert len(replies) <= 3
    assert all(len(reply.content) <= 2000 for reply in replies)
    assert "".join(reply.content for reply in replies).count("x") == 3000
    assert "still there?" in after.content


async def test_an_empty_answer_is_shown_as_such_and_never_sent_back(
    fake: FakeDiscord, start_bot: StartBot, emulator: EmulatorServer
) -> None:
    async with start_bot():
        dm = fake.open_dm(fake.user_id)  # no speaker's name before the question: the echo is empty
        [empty] = await ask(fake, "[emu:echo]", channel_id=dm)
        [blank] = await ask(fake, "   [emu:echo]", channel_id=dm)
        [after] = await ask(fake, "a normal question", channel_id=dm)

    assert empty.content == blank.content == "(no answer)"
    assert "a normal question" in after.content
    sent = received_requests(emulator.app)[-1].body["messages"]
    assert all(message["content"].strip() for message in sent)
    assert [message["role"] for message in sent] == ["user"]  # the empty exchanges stay out of the context


async def test_two_askers_at_the_same_instant_each_own_their_answer(
    fake: FakeDiscord, start_bot: StartBot, emulator: EmulatorServer
) -> None:
    other = fake.add_member("other")
    async with start_bot() as bot:
        mine, theirs = await asyncio.gather(
            ask(fake, "first asker [emu:delay=0.02]"), ask(fake, "second asker [emu:delay=0.02]", user_id=other)
        )
        stored = await bot.store.turns(fake.channel_id)
        refused = await fake.click_button(mine[0].id, regenerate_button(mine[0]), user_id=other)
        await refused.responded()
        versions = len(theirs[0].versions)
        await fake.click_button(theirs[0].id, regenerate_button(theirs[0]), user_id=other)
        await fake.wait_until(lambda: len(theirs[0].versions) > versions and finished(theirs[0]))

    assert [turn.role for turn in stored] == ["user", "assistant", "user", "assistant"]
    for question, answer in (stored[0:2], stored[2:4]):
        assert question.author_id in (fake.user_id, other)
        asked = "first asker" if question.author_id == fake.user_id else "second asker"
        assert asked in answer.content
    assert any("Only the person who asked" in text for text in private_answers(fake))
    for request in received_requests(emulator.app)[:2]:
        assert len(request.body["messages"]) == 1, "neither saw the other's unfinished exchange"


async def test_regenerate_pressed_twice_runs_one_stream(
    fake: FakeDiscord, start_bot: StartBot, emulator: EmulatorServer
) -> None:
    async with start_bot():
        [reply] = await ask(fake, "tell me a story [emu:delay=0.02]")
        before = len(received_requests(emulator.app))
        versions = len(reply.versions)
        button = regenerate_button(reply)
        await asyncio.gather(fake.click_button(reply.id, button), fake.click_button(reply.id, button))
        await fake.wait_until(lambda: len(reply.versions) > versions and finished(reply))
        await fake.wait_until(lambda: private_answers(fake) or None)

    assert len(received_requests(emulator.app)) == before + 1
    assert private_answers(fake) == ["This answer is still being written."]


async def test_the_chat_cooldown_holds_in_direct_messages(fake: FakeDiscord, start_bot: StartBot) -> None:
    dm = fake.open_dm(fake.user_id)
    async with start_bot(dm_chat_cooldown_seconds=600):
        await ask(fake, "hello in private", channel_id=dm)
        refused = await fake.slash_command("chat", {"prompt": "again"}, channel_id=dm)
        await refused.responded()

    assert "Please wait 10 min before your next question in direct messages." in private_answers(fake, dm)


async def test_regenerate_counts_for_the_chat_cooldown(
    fake: FakeDiscord, start_bot: StartBot, emulator: EmulatorServer
) -> None:
    member = fake.add_member("member", permissions=MEMBER)
    async with start_bot() as bot:
        await bot.store.set_chat_cooldown(fake.guild_id, 600)
        [reply] = await ask(fake, "one question", user_id=member)
        before = len(received_requests(emulator.app))
        press = await fake.click_button(reply.id, regenerate_button(reply), user_id=member)
        await press.responded()
        await fake.wait_until(lambda: private_answers(fake) or None)

    assert len(received_requests(emulator.app)) == before
    assert private_answers(fake) == ["Please wait 10 min before your next question on this server."]


async def test_a_flooded_channel_keeps_a_bounded_line_and_says_so(
    fake: FakeDiscord, start_bot: StartBot, emulator: EmulatorServer
) -> None:
    async with start_bot(conversation_max_waiting=1):
        slow = "[emu:length=400][emu:delay=0.02]"
        for index in range(4):
            await fake.send_user_message(
                fake.channel_id, fake.user_id, f"message {index} {slow}", mentions=[fake.bot_user_id]
            )
        replies = await answered(fake, fake.channel_id, count=2)
        notes = [m for m in bot_replies(fake, fake.channel_id) if "waiting for an answer" in m.content]
        assert notes[0].reference_id is not None

    assert len(notes) == 1, "one note per member and minute, however many messages"
    assert "Too many messages are waiting for an answer in this channel." in notes[0].content
    assert len([reply for reply in replies if finished(reply)]) == 2
    assert [request.body["messages"][-1]["content"].split(" [")[0] for request in received_requests(emulator.app)] == [
        "tester: message 0",
        "tester: message 1",
    ]


async def test_a_button_acts_only_where_its_record_belongs(
    fake: FakeDiscord, start_bot: StartBot, emulator: EmulatorServer
) -> None:
    async with start_bot():
        [reply] = await ask(fake, "an answer here")
        before = len(received_requests(emulator.app))
        elsewhere = fake.add_channel("elsewhere")
        for custom_id in (regenerate_button(reply), "draw:retry:1"):
            copy = message_with_button(fake, elsewhere, custom_id)
            press = await fake.click_button(copy.id, custom_id)
            await press.responded()
        told = await fake.wait_until(
            lambda: len(private_answers(fake, elsewhere)) == 2 and private_answers(fake, elsewhere)
        )

    assert len(received_requests(emulator.app)) == before
    assert told[0] == "This button does not belong to this channel."
    assert told[1] == "This picture request is no longer stored, so it cannot be repeated."


async def test_cancel_of_a_request_no_longer_stored_answers_privately(fake: FakeDiscord, start_bot: StartBot) -> None:
    async with start_bot():
        copy = message_with_button(fake, fake.channel_id, "draw:cancel:12345")
        press = await fake.click_button(copy.id, "draw:cancel:12345")
        await press.responded()
        told = await fake.wait_until(lambda: private_answers(fake) or None)

    assert told == ["This picture request is no longer stored, so it cannot be cancelled."]


async def test_regenerate_asks_with_the_defaults_when_the_stored_options_are_unusable(
    fake: FakeDiscord, start_bot: StartBot, emulator: EmulatorServer
) -> None:
    async with start_bot() as bot:
        [reply] = await ask(fake, "tune me", temperature=0.3)
        answer_id = int(regenerate_button(reply).rsplit(":", 1)[1])
        await bot.store._conn.execute(  # as another version, or a hand edit, might have left it
            "UPDATE conversation_turns SET request_options = ? WHERE id = ?",
            ('{"temperature": 99, "mystery": true}', answer_id),
        )
        versions = len(reply.versions)
        await fake.click_button(reply.id, regenerate_button(reply))
        await fake.wait_until(lambda: len(reply.versions) > versions and finished(reply))

    assert received_requests(emulator.app)[-1].body["temperature"] == 0.8
    assert_discord_was_happy(fake)
