"""What chat spends, without Discord: an answer's tokens, UTC days, the quotas that hold and their refusals."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import discord
import pytest

from bot.app.i18n import translate
from bot.core.access import Access, AccessRefusedError, Place
from bot.core.fusion import FinalResult, Message
from bot.core.fusion.models import Usage
from bot.core.store import ChatQuota, SQLiteStore, estimate_tokens
from bot.core.usage import DAY_SECONDS, ChatUsage, Limit, answer_tokens, day_start, tightest, window_start

NOON = 20_000 * DAY_SECONDS + 12 * 3600.0  # a UTC noon
SERVER = 5
MESSAGES = [
    Message(role="user", content="hello there"),
    Message(role="assistant", content="hi"),
    Message(role="user", content="more"),
]


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SQLiteStore]:
    async with await SQLiteStore.open(tmp_path / "bot.sqlite3") as opened:
        yield opened


def test_a_day_is_a_utc_calendar_day_and_the_window_is_it_and_the_29_before() -> None:
    assert day_start(NOON) == NOON - 12 * 3600
    assert day_start(day_start(NOON)) == day_start(NOON)
    assert day_start(day_start(NOON) - 0.001) == day_start(NOON) - DAY_SECONDS
    assert window_start(NOON) == day_start(NOON) - 29 * DAY_SECONDS


def test_an_answer_counts_the_apis_usage_or_else_an_estimate() -> None:
    def finished(**usage: int) -> FinalResult:
        return FinalResult("the answer", "stop", usage=Usage(**usage))

    estimate = sum(estimate_tokens(m.content) for m in MESSAGES) + estimate_tokens("the answer")
    assert answer_tokens(finished(prompt_tokens=10, completion_tokens=5, total_tokens=16), MESSAGES, "x") == (16, False)
    assert answer_tokens(finished(prompt_tokens=10, completion_tokens=5), MESSAGES, "x") == (15, False)
    assert answer_tokens(finished(), MESSAGES, "the answer") == (estimate, True)  # the API sent no usage
    assert answer_tokens(None, MESSAGES, "the answer") == (estimate, True)  # stopped, interrupted or failed part-way
    assert answer_tokens(None, MESSAGES, "") is None  # nothing was written: nothing spent


def test_a_server_may_tighten_the_bots_quota_never_loosen_it() -> None:
    assert tightest(0, 0) == Limit()
    assert tightest(100, 0) == Limit(100)
    assert tightest(0, 50) == Limit(50, servers_own=True)
    assert tightest(100, 50) == Limit(50, servers_own=True)
    assert tightest(100, 500) == Limit(100)


async def test_a_members_quota_refuses_the_next_question_until_midnight_utc(store: SQLiteStore) -> None:
    clock = Clock(NOON)
    usage = ChatUsage(store, ChatQuota(per_member=100), clock=clock)
    await usage.record(7, SERVER, 1, (60, False))
    assert await usage.refusal(7, SERVER) is None
    await usage.record(7, SERVER, 2, (60, True))  # the answer that crossed the quota was finished

    refused = await usage.refusal(7, SERVER)
    assert refused == (
        "Your daily chat quota on this server (100 tokens) is used up. It renews in 12 h, at midnight UTC."
    )
    assert await usage.refusal(8, SERVER) is None  # another member
    assert await usage.refusal(7, SERVER + 1) is None  # another server
    assert await usage.refusal(7, None) is None  # direct messages
    clock.now = day_start(NOON) + DAY_SECONDS  # midnight UTC
    assert await usage.refusal(7, SERVER) is None


async def test_a_servers_quota_and_its_own_tighter_ones(store: SQLiteStore) -> None:
    usage = ChatUsage(store, ChatQuota(per_server=1000), clock=Clock(NOON))
    await usage.record(7, SERVER, 1, (400, False))
    await store.set_chat_quota(SERVER, ChatQuota(per_member=300, per_server=5000))  # 5000 above the bot's: 1000

    assert await usage.refusal(7, SERVER) == (
        "Your daily chat quota on this server (300 tokens) is used up. It renews in 12 h, at midnight UTC."
    )
    await usage.record(8, SERVER, 2, (600, False))
    assert await usage.refusal(9, SERVER) == (
        "This server's daily chat quota (1,000 tokens) is used up. It renews in 12 h, at midnight UTC."
    )


async def test_the_quotas_hold_for_managers_too_in_the_shared_admission(store: SQLiteStore) -> None:
    clock = Clock(NOON)
    usage = ChatUsage(store, ChatQuota(per_member=10), clock=clock)
    access = Access(store, clock=clock, usage=usage)
    manager = Place(user_id=7, guild_id=SERVER, channel_id=1, is_manager=True)
    await usage.record(7, SERVER, 1, (10, False))

    assert await access.check(manager) is not None  # not a question: /draw, /config and the like
    with pytest.raises(AccessRefusedError, match="Your daily chat quota on this server"):
        await access.check(manager, chat=True)
    await usage.record(7, None, 2, (10, False))
    with pytest.raises(AccessRefusedError, match="in direct messages"):
        await access.check(Place(user_id=7, guild_id=None, channel_id=7), chat=True)


async def test_the_refusals_read_in_chinese(store: SQLiteStore) -> None:
    usage = ChatUsage(store, ChatQuota(per_member=100, per_server=150), clock=Clock(NOON - 3 * 3600 - 180))
    await usage.record(7, SERVER, 1, (100, False))
    await usage.record(7, None, 2, (100, False))
    member, in_dms = await usage.refusal(7, SERVER), await usage.refusal(7, None)
    await usage.record(8, SERVER, 3, (50, False))
    server = await usage.refusal(9, SERVER)

    assert (
        member
        == "Your daily chat quota on this server (100 tokens) is used up. It renews in 15 h 3 min, at midnight UTC."
    )
    for refusal in (member, in_dms, server):
        assert refusal is not None
        chinese = translate(refusal, discord.Locale.chinese)
        assert chinese != refusal and not re.search(r"[a-z]{3,} [a-z]{3,}", chinese), chinese
    assert translate(member, "zh-CN") == (
        "你在此服务器上今天的聊天额度（100 个 token）已用完。额度将在 15 小时 3 分钟后（UTC 午夜）恢复。"  # noqa: RUF001
    )
