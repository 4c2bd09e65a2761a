"""Chat usage end to end (fake Discord, unmodified discord.py, the emulator): each answer's tokens recorded from the
API's usage or estimated, `/usage` and `/config usage`, and the daily quotas refusing the next question (`/chat`,
Regenerate, a mention) until midnight UTC, on an injected clock, across a restart."""

from __future__ import annotations

import re

from bot.core.chunking import join_parts
from bot.core.store import estimate_tokens
from bot.core.usage import DAY_SECONDS, day_start
from bot.emulator import received_requests
from tests.cogs.conftest import StartBot
from tests.cogs.test_ask import ASK, answer_to
from tests.cogs.test_ask import ask as submit_ask
from tests.cogs.test_chat import ask, buttons, finished
from tests.cogs.test_conversations import bot_replies
from tests.cogs.test_draw import draw
from tests.cogs.test_server_controls import MANAGE_GUILD, MEMBER, configure, use
from tests.emulator_server import EmulatorServer
from tests.fake_discord import FakeDiscord, FakeMessage, Subcommand

NOON = 20_000 * DAY_SECONDS + 12 * 3600.0  # a UTC noon: the quotas renew in 12 h
MEMBER_QUOTA_USED = (
    "Your daily chat quota on this server (1,000 tokens) is used up. It renews in 12 h, at midnight UTC."
)


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


async def private_reply(
    fake: FakeDiscord, command: str, *, user_id: int, locale: str = "en-US", channel_id: int | None = None
) -> FakeMessage:
    """The bot's answer to `/usage` or `/config usage`."""
    name, _, subcommand = command.partition(" ")
    options = Subcommand(subcommand) if subcommand else None
    interaction = await fake.slash_command(name, options, user_id=user_id, locale=locale, channel_id=channel_id)
    return await interaction.original_message()


def regenerate_button(message: FakeMessage) -> str:
    return next(custom_id for custom_id in buttons(message) if custom_id.startswith("chat:regen:"))


async def test_each_answers_tokens_are_recorded_and_shown_by_usage(
    fake: FakeDiscord, start_bot: StartBot, emulator: EmulatorServer
) -> None:
    member = fake.add_member("member", permissions=MEMBER)
    clock = Clock(NOON - DAY_SECONDS)
    async with start_bot(clock=clock, chat_daily_tokens_per_user=100_000) as bot:
        await ask(fake, "yesterday [emu:tokens=5000]", user_id=member)
        clock.now = NOON
        await ask(fake, "today [emu:tokens=1234]", user_id=member)
        await ask(fake, "the API says nothing of its usage [emu:no-usage]", user_id=member)
        sent = received_requests(emulator.app)[-1].body["messages"]
        answer = (await bot.store.turns(fake.channel_id))[-1].content
        await draw(fake, {"prompt": "a fox"}, user_id=member)
        shown = await private_reply(fake, "usage", user_id=member)
        someone_else = await private_reply(fake, "usage", user_id=fake.user_id)
        dm = fake.open_dm(member)
        await ask(fake, "in private [emu:tokens=77]", channel_id=dm, user_id=member)
        in_private = await private_reply(fake, "usage", user_id=member, channel_id=dm)

    estimate = sum(estimate_tokens(message["content"]) for message in sent) + estimate_tokens(answer)
    today = 1234 + estimate
    assert shown.ephemeral
    assert shown.content.splitlines() == [
        "**Your usage on this server**",
        f"Chat: {today:,} tokens today, {today + 5000:,} in the last 30 days",
        "Pictures: 1 today, 1 in the last 30 days",
        f"Your daily chat quota: {today:,} of 100,000 tokens used",
        "-# Days are UTC days: the next begins in 12 h.",
    ]
    assert "Chat: 0 tokens today, 0 in the last 30 days" in someone_else.content
    assert in_private.content.splitlines()[:4] == [
        "**Your usage in direct messages**",
        "Chat: 77 tokens today, 77 in the last 30 days",
        "Pictures: 0 today, 0 in the last 30 days",
        "Your daily chat quota: 77 of 100,000 tokens used",
    ]


async def test_a_stopped_answer_counts_the_estimate_of_what_it_had_written(
    fake: FakeDiscord, start_bot: StartBot, emulator: EmulatorServer
) -> None:
    async with start_bot(clock=Clock(NOON)) as bot:
        prompt = "a long one [emu:length=4000][emu:delay=0.05][emu:tokens=99999]"
        original = await (await fake.slash_command("chat", {"prompt": prompt})).original_message()
        await fake.wait_until(lambda: any(b.startswith("chat:stop:") for b in buttons(original)) and original.content)
        stop = next(b for b in buttons(original) if b.startswith("chat:stop:"))
        await fake.click_button(original.id, stop, user_id=fake.user_id)
        await fake.wait_until(lambda: "Stopped." in original.content and finished(original))
        written = (await bot.store.turns(fake.channel_id))[-1].content
        shown = await private_reply(fake, "usage", user_id=fake.user_id)

    sent = received_requests(emulator.app)[-1].body["messages"]
    estimate = sum(estimate_tokens(message["content"]) for message in sent) + estimate_tokens(written)
    assert 0 < len(written) < 4000
    assert f"Chat: {estimate:,} tokens today, {estimate:,} in the last 30 days" in shown.content


async def test_a_manager_sees_the_servers_totals_and_top_members_privately_pinging_no_one(
    fake: FakeDiscord, start_bot: StartBot
) -> None:
    manager = fake.add_member("manager", permissions=MANAGE_GUILD | MEMBER)
    ana, bo = fake.add_member("ana", permissions=MEMBER), fake.add_member("bo", permissions=MEMBER)
    async with start_bot(clock=Clock(NOON), chat_daily_tokens_per_server=50_000):
        await ask(fake, "hi [emu:tokens=300]", user_id=ana)
        await ask(fake, "hi [emu:tokens=200]", user_id=bo)
        await ask(fake, "hi again [emu:tokens=250]", user_id=bo)
        shown = await private_reply(fake, "config usage", user_id=manager)
        chinese = await private_reply(fake, "config usage", user_id=manager, locale="zh-CN")
        refused = await configure(fake, ana, "usage")

    assert shown.ephemeral and shown.content.splitlines() == [
        "**This server's usage**",
        "Chat: 750 tokens today, 750 in the last 30 days",
        "Pictures: 0 today, 0 in the last 30 days",
        "This server's daily chat quota: 750 of 50,000 tokens used",
        "**Top members, last 30 days:**",
        f"1. <@{bo}>: 450 tokens (450 today)",
        f"2. <@{ana}>: 300 tokens (300 today)",
        "-# Days are UTC days: the next begins in 12 h.",
    ]
    assert f"1. <@{bo}>：450 个 token（今天 450 个）" in chinese.content  # noqa: RUF001
    assert not re.search(r"[a-z]{3,} [a-z]{3,}", chinese.content), chinese.content
    assert "Manage Server" in refused
    assert not [m for m in fake.state.messages.values() if m.author_id == fake.bot_user_id and m.pinged]


async def test_a_members_daily_quota_refuses_their_next_question_until_midnight_utc(
    fake: FakeDiscord, start_bot: StartBot, emulator: EmulatorServer
) -> None:
    member, other = fake.add_member("member", permissions=MEMBER), fake.add_member("other", permissions=MEMBER)
    clock = Clock(NOON)
    async with start_bot(clock=clock, chat_daily_tokens_per_user=1000) as bot:
        crossing = await ask(fake, "write at length [emu:length=3000][emu:tokens=1500]", user_id=member)
        stored = (await bot.store.turns(fake.channel_id))[-1].content
        refused = await use(fake, "chat", "one more", user_id=member)
        press = await fake.click_button(crossing[-1].id, regenerate_button(crossing[-1]), user_id=member)
        regenerate_refused = await press.original_message()
        await fake.send_user_message(fake.channel_id, member, "and now?", mentions=[fake.bot_user_id])
        note = await fake.wait_until(
            lambda: next(
                (m for m in bot_replies(fake, fake.channel_id) if "quota" in m.content and not m.ephemeral), None
            )
        )
        not_them = await use(fake, "chat", "my turn", user_id=other)
        asked_today = len(received_requests(emulator.app))
    async with start_bot(clock=clock, chat_daily_tokens_per_user=1000):  # counted from the store: a restart too
        after_restart = await use(fake, "chat", "still today", user_id=member)
        clock.now = day_start(NOON) + DAY_SECONDS  # midnight UTC
        next_day = await use(fake, "chat", "good morning", user_id=member)

    assert join_parts([message.content for message in crossing]) == stored and len(stored) >= 3000  # not cut
    assert refused.ephemeral and refused.content == MEMBER_QUOTA_USED
    assert regenerate_refused.ephemeral and regenerate_refused.content == MEMBER_QUOTA_USED
    assert note.content == MEMBER_QUOTA_USED and note.reference_id is not None
    assert not not_them.ephemeral
    assert asked_today == 2, "the refused questions never reached the API"
    assert after_restart.ephemeral and after_restart.content == MEMBER_QUOTA_USED
    assert not next_day.ephemeral


async def test_a_servers_daily_quota_its_own_and_the_bots_shown_and_renewed(
    fake: FakeDiscord, start_bot: StartBot
) -> None:
    manager = fake.add_member("manager", permissions=MANAGE_GUILD | MEMBER)
    ana, bo = fake.add_member("ana", permissions=MEMBER), fake.add_member("bo", permissions=MEMBER)
    clock = Clock(NOON)
    async with start_bot(clock=clock, chat_daily_tokens_per_server=10_000):
        looser = await configure(fake, manager, "chat-quota", per_server=20_000)
        tighter = await configure(fake, manager, "chat-quota", per_server=600, per_member=400)
        await ask(fake, "hi [emu:tokens=350]", user_id=ana)
        await ask(fake, "hi [emu:tokens=300]", user_id=bo)
        refused = await use(fake, "chat", "anyone?", user_id=manager)  # the quotas hold for managers too
        clock.now = day_start(NOON) + DAY_SECONDS
        renewed = await use(fake, "chat", "a new day", user_id=bo)
        back_to_the_bots = await configure(fake, manager, "chat-quota", per_server=0, per_member=0)

    assert "The bot allows at most 10,000 tokens a day per server: that limit holds." in looser
    assert "**Daily chat quota for the server:** 10,000 tokens (the bot's limit)" in looser
    assert "**Daily chat quota per member:** none" in looser
    assert tighter.startswith("Chat quota updated.\n") and "at most" not in tighter
    assert "**Daily chat quota for the server:** 600 tokens (this server's limit)" in tighter
    assert "**Daily chat quota per member:** 400 tokens (this server's limit)" in tighter
    assert refused.ephemeral and refused.content == (
        "This server's daily chat quota (600 tokens) is used up. It renews in 12 h, at midnight UTC."
    )
    assert not renewed.ephemeral
    assert "**Daily chat quota for the server:** 10,000 tokens (the bot's limit)" in back_to_the_bots


async def test_ask_fusionbot_spends_from_the_same_daily_quota(
    fake: FakeDiscord, start_bot: StartBot, emulator: EmulatorServer
) -> None:
    member = fake.add_member("member", permissions=MEMBER)
    async with start_bot(clock=Clock(NOON), chat_daily_tokens_per_user=1000):
        target = await fake.send_user_message(
            fake.channel_id, fake.user_id, "the minutes of the meeting [emu:tokens=1500]"
        )
        await submit_ask(fake, target, user_id=member)
        await answer_to(fake, target)
        refused_at_once = await fake.message_command(ASK, target.id, user_id=member)
        refused = await refused_at_once.original_message()
        shown = await private_reply(fake, "usage", user_id=member)

    assert refused.ephemeral and refused.content == MEMBER_QUOTA_USED
    assert len(received_requests(emulator.app)) == 1, "the refused question never reached the API"
    assert "Chat: 1,500 tokens today" in shown.content
