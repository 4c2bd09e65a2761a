"""The Ask Fusionbot message command end to end: the context menu, its modal, the private note, the answer streamed
as a reply to the message, the question sent, its bounds, and the rules of /chat."""

from __future__ import annotations

from typing import Any

from bot.core.quoting import CUT_MARK
from bot.core.store.context import estimate_tokens
from bot.emulator import received_requests
from tests.cogs.conftest import StartBot
from tests.cogs.test_server_controls import MEMBER, configure, manager_and_member
from tests.emulator_server import EmulatorServer
from tests.fake_discord import FakeDiscord, FakeMessage, InteractionHandle

ASK = "Ask Fusionbot"
INSTRUCTION = "ask:instruction"
SEND_MESSAGES = 1 << 11


def custom_ids(components: list[dict[str, Any]]) -> list[str]:
    return [item["custom_id"] for row in components for item in row.get("components", [])]


def buttons(message: FakeMessage) -> list[str]:
    return custom_ids(message.components)


def finished(message: FakeMessage) -> bool:
    return any(custom_id.startswith("chat:regen:") for custom_id in buttons(message))


async def answer_to(fake: FakeDiscord, target: FakeMessage, *, channel_id: int | None = None) -> FakeMessage:
    """The first message of the bot's answer replying to `target`, once the answer is finished (its last message
    has Regenerate)."""

    def done() -> FakeMessage | None:
        ours = [m for m in fake.messages_in(channel_id or target.channel_id) if m.author_id == fake.bot_user_id]
        reply = next((m for m in ours if m.reference_id == target.id), None)
        return reply if reply is not None and finished(ours[-1]) else None

    return await fake.wait_until(done, timeout=20)


async def ask(
    fake: FakeDiscord,
    target: FakeMessage,
    instruction: str | None = None,
    *,
    user_id: int | None = None,
    locale: str = "en-US",
) -> tuple[InteractionHandle, InteractionHandle]:
    """Use Ask Fusionbot on `target` and submit its modal; return both interactions."""
    used = await fake.message_command(ASK, target.id, user_id=user_id, locale=locale)
    values = {INSTRUCTION: instruction} if instruction is not None else {}
    return used, await fake.submit_modal(used, values, locale=locale)


def prompts(emulator: EmulatorServer) -> list[str]:
    return [request.body["messages"][-1]["content"] for request in received_requests(emulator.app)]


def assert_discord_was_happy(fake: FakeDiscord) -> None:
    assert fake.stats.rate_limited == 0
    assert fake.stats.client_errors == []
    assert fake.stats.ack_violations == []


async def test_the_answer_streams_as_a_reply_to_the_message_with_its_author_and_text_quoted(
    fake: FakeDiscord, start_bot: StartBot, emulator: EmulatorServer
) -> None:
    ana = fake.add_member("ana", permissions=MEMBER)
    async with start_bot():
        text = f"The meeting moved.\n\nIt is on Friday, <@{fake.user_id}> @everyone"
        target = await fake.send_user_message(fake.channel_id, ana, text)
        used, submitted = await ask(fake, target, f"summarise for <@{ana}> [emu:delay=0.01]")
        modal = await used.responded()
        note = await submitted.original_message()
        reply = await answer_to(fake, target)

    assert modal.type == 9 and modal.data["title"] == ASK
    [row] = modal.data["components"]
    assert row["components"][0]["custom_id"] == INSTRUCTION and not row["components"][0]["required"]
    assert note.ephemeral and note.content == "Answering in the channel, as a reply to that message."
    assert prompts(emulator) == [
        f"tester: summarise for <@{ana}> [emu:delay=0.01]\n\nana wrote:\n> The meeting moved.\n>\n"
        "> It is on Friday, @tester @\u200beveryone"  # mentions as names
    ]
    assert f'You said: "tester: summarise for <@{ana}>' in reply.content
    assert not reply.pinged  # neither the instruction's mention nor the message's author
    stop_shown = (custom_id.startswith("chat:stop:") for v in reply.versions for custom_id in custom_ids(v.components))
    assert any(stop_shown)  # while it was written
    assert_discord_was_happy(fake)


async def test_regenerate_replaces_the_answer_in_its_reply(
    fake: FakeDiscord, start_bot: StartBot, emulator: EmulatorServer
) -> None:
    async with start_bot():
        target = await fake.send_user_message(fake.channel_id, fake.user_id, "a haiku about rain")
        await ask(fake, target, "rate it")
        reply = await answer_to(fake, target)
        [regenerate] = [custom_id for custom_id in buttons(reply) if custom_id.startswith("chat:regen:")]
        shown = len(reply.versions)
        press = await fake.click_button(reply.id, regenerate)
        await press.responded()
        await fake.wait_until(lambda: len(reply.versions) > shown and finished(reply), timeout=20)

    assert prompts(emulator)[0] == prompts(emulator)[1]  # the same question again
    assert reply.reference_id == target.id and [m for m in fake.messages_in() if m.reference_id == target.id] == [reply]


async def test_an_empty_instruction_asks_for_a_response_to_a_message_of_embeds_and_attachments(
    fake: FakeDiscord, start_bot: StartBot, emulator: EmulatorServer
) -> None:
    embed = {"title": "Release 2.0", "description": "Faster answers.", "fields": [{"name": "When", "value": "May"}]}
    async with start_bot():
        target = await fake.send_user_message(
            fake.channel_id, fake.user_id, "", embeds=[embed], files=[("notes.txt", b"hello")]
        )
        await ask(fake, target)
        await answer_to(fake, target)

    assert prompts(emulator) == [
        "tester: Respond to this message.\n\ntester wrote:\n> Release 2.0\n> Faster answers.\n> When: May\n"
        "> [attachment notes.txt]"
    ]


async def test_a_long_message_is_cut_to_the_context_budget_and_the_asker_is_told(
    fake: FakeDiscord, start_bot: StartBot, emulator: EmulatorServer
) -> None:
    words = " ".join(f"word{n}" for n in range(400))  # 3,089 characters
    embeds = [{"description": words}]
    async with start_bot(context_max_tokens=500):
        target = await fake.send_user_message(fake.channel_id, fake.user_id, words[:2000], embeds=embeds)
        _, submitted = await ask(fake, target, "summarise")
        note = await submitted.original_message()
        await answer_to(fake, target)

    [prompt] = prompts(emulator)
    question = prompt.removeprefix("tester: ")
    assert question.startswith("summarise\n\ntester wrote:\n> word0 word1") and question.endswith(CUT_MARK)
    assert estimate_tokens(question) <= 500  # the question alone stays within CONTEXT_MAX_TOKENS
    quoted = len(question.split("wrote:\n> ", 1)[1].removesuffix(CUT_MARK))
    assert note.content.startswith("Answering in the channel, as a reply to that message. The message is long: only")
    assert "characters were quoted." in note.content and 200 < quoted < 5089


async def refused_at_once(fake: FakeDiscord, start_bot: StartBot, content: str) -> FakeMessage:
    """Ask Fusionbot used on a message of `content`, answered at once (no modal): the answer."""
    async with start_bot():
        target = await fake.send_user_message(fake.channel_id, fake.user_id, content)
        used = await fake.message_command(ASK, target.id)
        assert (await used.responded()).type == 4
        return await used.original_message()


async def test_a_message_with_nothing_to_ask_about_gets_a_private_answer_and_no_modal(
    fake: FakeDiscord, start_bot: StartBot, emulator: EmulatorServer
) -> None:
    told = await refused_at_once(fake, start_bot, "   ")
    assert told.ephemeral and told.content == "This message has no text, embeds or attachments to ask about."
    assert received_requests(emulator.app) == []


async def test_the_rules_of_chat_apply_before_the_modal_and_on_submit(
    fake: FakeDiscord, start_bot: StartBot, emulator: EmulatorServer
) -> None:
    manager, member = manager_and_member(fake)
    async with start_bot():
        await configure(fake, manager, "chat-cooldown", seconds=3600.0)
        target = await fake.send_user_message(fake.channel_id, member, "what do you think?")
        first_modal = await fake.message_command(ASK, target.id, user_id=member)
        second_modal = await fake.message_command(ASK, target.id, user_id=member)
        await fake.submit_modal(first_modal, {INSTRUCTION: "answer it"})
        await answer_to(fake, target)
        refused_on_submit = await fake.submit_modal(second_modal, {INSTRUCTION: "again"})
        refused_at_once = await fake.message_command(ASK, target.id, user_id=member)
        submit_note, menu_note = (await refused_on_submit.original_message(), await refused_at_once.original_message())

    wait = "Please wait 1 h before your next question on this server."
    assert submit_note.ephemeral and submit_note.content == wait
    assert menu_note.ephemeral and menu_note.content == wait and (await refused_at_once.responded()).type == 4
    assert prompts(emulator) == ["member: answer it\n\nmember wrote:\n> what do you think?"]


async def test_a_bot_that_cannot_write_in_the_channel_says_so_privately(
    fake: FakeDiscord, start_bot: StartBot, emulator: EmulatorServer
) -> None:
    bot_member = fake.guild().members[fake.bot_user_id]
    bot_member.permissions = fake.backend.permissions_of(fake.bot_user_id) & ~SEND_MESSAGES
    told = await refused_at_once(fake, start_bot, "hello")
    assert told.ephemeral and told.content.startswith("I cannot answer in this channel")
    assert received_requests(emulator.app) == []


async def test_a_message_deleted_while_the_modal_is_open_is_answered_without_the_reply(
    fake: FakeDiscord, start_bot: StartBot, emulator: EmulatorServer
) -> None:
    async with start_bot():
        target = await fake.send_user_message(fake.channel_id, fake.user_id, "soon gone")
        used = await fake.message_command(ASK, target.id)
        await used.responded()
        fake.state.delete_message(target)
        await fake.submit_modal(used, {INSTRUCTION: "explain"})
        answer = await fake.wait_until(
            lambda: next((m for m in fake.messages_in() if m.author_id == fake.bot_user_id and finished(m)), None),
            timeout=20,
        )
    assert answer.reference_id is None and 'You said: "tester: explain' in answer.content
    assert prompts(emulator) == ["tester: explain\n\ntester wrote:\n> soon gone"]
    assert_discord_was_happy(fake)


async def test_in_a_direct_message_without_the_content_intent(
    fake: FakeDiscord, start_bot: StartBot, emulator: EmulatorServer
) -> None:
    dm = fake.open_dm(fake.user_id)
    async with start_bot(conversations_enabled=False):
        target = await fake.send_user_message(dm, fake.user_id, "bonjour tout le monde")
        await ask(fake, target, "translate to English")
        reply = await answer_to(fake, target, channel_id=dm)
    assert reply.channel_id == dm
    assert prompts(emulator) == ["translate to English\n\ntester wrote:\n> bonjour tout le monde"]  # no names in a DM


async def test_a_chinese_user_reads_the_menu_modal_and_note_in_chinese(fake: FakeDiscord, start_bot: StartBot) -> None:
    async with start_bot():
        target = await fake.send_user_message(fake.channel_id, fake.user_id, "hello")
        used, submitted = await ask(fake, target, "总结", locale="zh-CN")
        modal = await used.responded()
        note = await submitted.original_message()
        await answer_to(fake, target)
    menus = {c["name"]: c for c in fake.command_syncs[0] if c["type"] == 3}
    assert menus[ASK]["name_localizations"] == {"zh-CN": "问问 Fusionbot"}
    assert menus["Draw this"]["name_localizations"] == {"zh-CN": "据此画图"}
    assert modal.data["title"] == "问问 Fusionbot"
    assert modal.data["components"][0]["components"][0]["label"] == "要怎么处理它（可选）"  # noqa: RUF001
    assert note.content == "正在频道中作答，回复那条消息。"  # noqa: RUF001
