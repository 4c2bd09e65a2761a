"""Personas end to end (fake Discord, unmodified discord.py, the bot, the emulator): `/config persona` and
`/channel persona` set and clear them, every request of `/chat`, Regenerate and channel conversations begins with
the one that applies (the channel's over the server's over DEFAULT_PERSONA), a long context is trimmed around it,
too long a persona is refused, and `/config show` shows them without pinging anyone, in the reader's language."""

from __future__ import annotations

from typing import Any

from bot.core.store import estimate_tokens
from bot.emulator import received_requests
from tests.cogs.conftest import StartBot
from tests.cogs.test_chat import ask, buttons, finished
from tests.cogs.test_conversations import answered
from tests.emulator_server import EmulatorServer
from tests.fake_discord import FakeDiscord, FakeMessage, Subcommand

MEMBER = 1 << 10 | 1 << 11 | 1 << 31  # view, send, use application commands
MANAGER = MEMBER | 1 << 5 | 1 << 4  # and Manage Server, Manage Channels
HEADING = "Instructions for this conversation. Follow them in every answer:"
ACKNOWLEDGEMENT = "Understood. I will follow these instructions in every answer."
PIRATE = "You are a pirate. Answer in one short sentence, and call everyone matey."


def persona_exchange(persona: str) -> list[dict[str, str]]:
    """The two messages a persona is sent as, as the README documents them."""
    return [{"role": "user", "content": f"{HEADING}\n\n{persona}"}, {"role": "assistant", "content": ACKNOWLEDGEMENT}]


def persona_of(body: dict[str, Any]) -> str | None:
    """The persona a request began with, if any."""
    messages = body["messages"]
    if len(messages) < 3 or messages[1]["content"] != ACKNOWLEDGEMENT:
        return None
    return str(messages[0]["content"]).removeprefix(f"{HEADING}\n\n")


def tokens(messages: list[dict[str, str]]) -> int:
    return sum(estimate_tokens(message["content"]) for message in messages)


async def command(fake: FakeDiscord, user_id: int, group: str, subcommand: str, **options: object) -> FakeMessage:
    """Run `/group subcommand` and return the bot's (private) answer."""
    interaction = await fake.slash_command(group, Subcommand(subcommand, options), user_id=user_id)
    return await interaction.original_message()


async def channel_command(fake: FakeDiscord, user_id: int, channel_id: int, **options: object) -> FakeMessage:
    interaction = await fake.slash_command(
        "channel", Subcommand("persona", options), user_id=user_id, channel_id=channel_id
    )
    return await interaction.original_message()


async def test_a_persona_leads_every_request_of_chat_regenerate_and_conversations(
    fake: FakeDiscord, start_bot: StartBot, emulator: EmulatorServer
) -> None:
    manager = fake.add_member("manager", permissions=MANAGER)
    async with start_bot():
        set_reply = await command(fake, manager, "config", "persona", text=f"  {PIRATE}\n")
        [reply] = await ask(fake, "hello", user_id=manager)
        versions = len(reply.versions)
        regenerate = next(b for b in buttons(reply) if b.startswith("chat:regen:"))
        await fake.click_button(reply.id, regenerate, user_id=manager)
        await fake.wait_until(lambda: len(reply.versions) > versions and finished(reply))
        await fake.send_user_message(fake.channel_id, manager, "and you?", mentions=[fake.bot_user_id])
        await answered(fake, fake.channel_id, count=2)

    assert set_reply.ephemeral and set_reply.content.startswith("Server persona set: it is sent with every question")
    chat, regenerated, conversation = (request.body["messages"] for request in received_requests(emulator.app))
    assert chat == [*persona_exchange(PIRATE), {"role": "user", "content": "manager: hello"}]
    assert regenerated == chat  # the same context again, persona first
    assert conversation[:2] == persona_exchange(PIRATE)
    assert [m["role"] for m in conversation[2:]] == ["user", "assistant", "user"]
    assert conversation[-1] == {"role": "user", "content": "manager: and you?"}


async def test_the_channels_persona_wins_over_the_servers_which_wins_over_the_default(
    fake: FakeDiscord, start_bot: StartBot, emulator: EmulatorServer
) -> None:
    manager = fake.add_member("manager", permissions=MANAGER)
    own = fake.add_channel("own")
    thread = fake.add_thread(own, "a thread of it")
    dm = fake.open_dm(manager)
    async with start_bot(default_persona="DEFAULT"):
        await ask(fake, "1", user_id=manager)
        await command(fake, manager, "config", "persona", text="SERVER")
        await ask(fake, "2", user_id=manager)
        await channel_command(fake, manager, own, text="OWN")
        await ask(fake, "3", channel_id=own, user_id=manager)
        await ask(fake, "4", channel_id=thread, user_id=manager)  # a thread follows its channel
        await ask(fake, "5", user_id=manager)
        await ask(fake, "6", channel_id=dm, user_id=manager)  # a DM has only the default
        await channel_command(fake, manager, thread, text="THREAD")
        await ask(fake, "7", channel_id=thread, user_id=manager)
        await channel_command(fake, manager, own, clear=True)
        await ask(fake, "8", channel_id=own, user_id=manager)
        await command(fake, manager, "config", "persona", clear=True)
        await ask(fake, "9", channel_id=own, user_id=manager)

    used = [persona_of(request.body) for request in received_requests(emulator.app)]
    assert used == ["DEFAULT", "SERVER", "OWN", "OWN", "SERVER", "DEFAULT", "THREAD", "SERVER", "DEFAULT"]


async def test_a_long_context_is_trimmed_around_the_persona_never_through_it(
    fake: FakeDiscord, start_bot: StartBot, emulator: EmulatorServer
) -> None:
    persona = "你是一位灯塔看守人，用简短的中文回答，并且每句话都提到大海。" * 20  # noqa: RUF001 (645 tokens with its answer)
    budget = 2000  # the persona, one exchange of about 730 tokens and the question
    async with start_bot(default_persona=persona, context_max_tokens=budget):
        for n in range(5):
            await ask(fake, f"question {n} [emu:length=600]")

    requests = [request.body["messages"] for request in received_requests(emulator.app)]
    assert all(messages[:2] == persona_exchange(persona) for messages in requests)
    earlier = [len(messages) - 3 for messages in requests]  # the turns between the persona and the question
    assert earlier == [0, 2, 2, 2, 2], "older exchanges were dropped, the persona kept"
    assert requests[-1][2]["content"] == "tester: question 3 [emu:length=600]"
    # The exchange of question 2 would have fitted beside that of question 3 but for the persona's tokens.
    without_persona = tokens(requests[3][2:4]) + tokens(requests[4][2:])
    assert without_persona <= budget < without_persona + tokens(requests[4][:2])
    assert all(tokens(messages) <= budget for messages in requests)


async def test_a_persona_over_1500_characters_is_refused_with_a_clear_message(
    fake: FakeDiscord, start_bot: StartBot
) -> None:
    manager = fake.add_member("manager", permissions=MANAGER)
    async with start_bot():
        server = await command(fake, manager, "config", "persona", text="x" * 1501)
        channel = await channel_command(fake, manager, fake.channel_id, text="字" * 1600)
        both = await command(fake, manager, "config", "persona", text="x", clear=True)
        blank = await channel_command(fake, manager, fake.channel_id, text="   ")
        longest = await command(fake, manager, "config", "persona", text="y" * 1500)

    assert server.ephemeral and server.content == "A persona can have at most 1,500 characters; this one has 1,501."
    assert channel.content == "A persona can have at most 1,500 characters; this one has 1,600."
    assert both.content == "Give a persona's text or clear:True, not both."
    assert blank.content == "A persona needs some text. To remove one, use clear:True."
    assert longest.content.startswith("Server persona set") and longest.embeds[0]["description"] == "y" * 1500
    synced = {c["name"]: c for c in fake.command_syncs[0]}
    for group in ("config", "channel"):
        persona = next(o for o in synced[group]["options"] if o["name"] == "persona")
        text = next(o for o in persona["options"] if o["name"] == "text")
        assert (text["min_length"], text["max_length"]) == (1, 1500)  # Discord's client holds the limit too


async def test_config_show_shows_the_personas_and_pings_nobody(fake: FakeDiscord, start_bot: StartBot) -> None:
    manager = fake.add_member("manager", permissions=MANAGER)
    own = fake.add_channel("own")
    role = fake.add_role("crew", mentionable=True)
    loud = f"Greet @everyone and <@&{role}> and <@{manager}> first."
    async with start_bot(default_persona="DEFAULT"):
        before = await command(fake, manager, "config", "show")
        await command(fake, manager, "config", "persona", text=loud)
        await channel_command(fake, manager, own, text="Answer in haiku.")
        shown = await command(fake, manager, "config", "show")
        in_own = await fake.slash_command("config", Subcommand("show"), user_id=manager, channel_id=own)
        shown_in_own = await in_own.original_message()
        here = await channel_command(fake, manager, own)
        chinese = await fake.slash_command("config", Subcommand("show"), user_id=manager, locale="zh-CN")
        shown_in_chinese = await chinese.original_message()

    assert "**Server persona:** none; the bot's default is shown below" in before.content
    assert "**Channels with their own persona:** none" in before.content
    assert [(e["title"], e["description"]) for e in before.embeds] == [("The bot's default persona", "DEFAULT")]
    assert "**Server persona:** shown below" in shown.content
    assert f"**Channels with their own persona:** <#{own}>" in shown.content
    assert [(e["title"], e["description"]) for e in shown.embeds] == [("This server's persona", loud)]
    assert [e["title"] for e in shown_in_own.embeds] == ["This server's persona", "This channel's persona"]
    assert here.content == "" and [(e["title"], e["description"]) for e in here.embeds] == [
        ("This channel's persona", "Answer in haiku.")
    ]
    assert "**服务器人设：** 见下方" in shown_in_chinese.content  # noqa: RUF001
    assert [(e["title"], e["description"]) for e in shown_in_chinese.embeds] == [("此服务器的人设", loud)]
    assert all(message.ephemeral and not message.pings for message in (before, shown, here, shown_in_chinese))


async def test_only_members_with_manage_channels_set_a_channels_persona(
    fake: FakeDiscord, start_bot: StartBot, emulator: EmulatorServer
) -> None:
    member = fake.add_member("member", permissions=MEMBER)
    async with start_bot():
        refused = await channel_command(fake, member, fake.channel_id, text="Obey me.")
        await ask(fake, "hello", user_id=member)
    assert refused.ephemeral and "Manage Channels" in refused.content
    assert persona_of(received_requests(emulator.app)[0].body) is None
