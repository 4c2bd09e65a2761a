"""What chat spends: each answer's tokens, recorded when it ends, totalled per member, server and day, and the daily
chat quotas that refuse a question once a member or a server has spent its tokens for the day.

A day is a UTC calendar day, the same for everyone: a quota renews at midnight UTC, and "the last 30 days" are
today and the 29 days before it. An answer counts the API's `usage` (its `total_tokens`, or prompt and completion
tokens added up); when the API sent none, or the answer was stopped, interrupted or failed part-way, the bot's
estimate of the request and of the text written (`bot.core.store.estimate_tokens`). An answer that got no text
at all (refused, or failed before its first word) costs nothing.

The quotas are `CHAT_DAILY_TOKENS_PER_USER` (one member in one server, or one user in direct messages) and
`CHAT_DAILY_TOKENS_PER_SERVER` (a whole server), which a server may tighten with its own (`/config chat-quota`),
never loosen. They are summed from the store at each question, so a restart or another process sees the same
totals, and they hold for server managers too: they bound what the bot spends. The check is at the question only:
an answer that crosses a quota while it is written is finished, and the next question is refused.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from bot.core.durations import describe_wait
from bot.core.fusion import FinalResult, Message
from bot.core.store import (
    ChatQuota,
    ChatSpending,
    ChatUsageRecords,
    MemberUsage,
    SpentTokens,
    UsageTotals,
    estimate_tokens,
)

DAY_SECONDS = 86_400
WINDOW_DAYS = 30  # "the last 30 days": today and the 29 before it
TOP_MEMBERS = 10


def day_start(now: float) -> float:
    """The start of the UTC day `now` falls in (POSIX time has no leap seconds: every day is 86,400 s)."""
    return now - now % DAY_SECONDS


def window_start(now: float) -> float:
    return day_start(now) - (WINDOW_DAYS - 1) * DAY_SECONDS


def answer_tokens(result: FinalResult | None, messages: Sequence[Message], text: str) -> tuple[int, bool] | None:
    """What an answer spent and whether that is the bot's estimate: the API's usage of a finished answer, else an
    estimate of the request and the text written; None when nothing was written (and no answer finished)."""
    if result is not None:
        usage = result.usage
        reported = usage.total_tokens or usage.prompt_tokens + usage.completion_tokens
        if reported > 0:
            return reported, False
    elif not text:
        return None
    return sum(estimate_tokens(message.content) for message in messages) + estimate_tokens(text), True


@dataclass(frozen=True, slots=True)
class Limit:
    """One daily quota as it holds: its tokens (0: none) and whether it is the server's own (else the bot's)."""

    tokens: int = 0
    servers_own: bool = False


def tightest(bots: int, servers: int) -> Limit:
    """The quota that holds when the bot allows `bots` and the server `servers` (0: no limit)."""
    if servers and (not bots or servers < bots):
        return Limit(servers, servers_own=True)
    return Limit(bots)


@dataclass(frozen=True, slots=True)
class Limits:
    """The daily chat quotas that hold in one server (or in direct messages, where only `per_member` does)."""

    per_member: Limit = Limit()
    per_server: Limit = Limit()


@dataclass(frozen=True, slots=True)
class UsageReport:
    """A member's or a server's usage as `/usage` and `/config usage` show it (days are UTC days)."""

    totals: UsageTotals
    limits: Limits
    today: ChatSpending  # chat tokens of the day: the member's (for a server's report, 0) and the server's
    renews_in: float  # seconds until the next day, when the quotas renew
    top: list[MemberUsage] = field(default_factory=list)  # a server's report: the members who spent the most


@dataclass
class ChatUsage:
    """Records what each answer spent, applies the daily chat quotas, and reports usage; `quota` is the bot's."""

    store: ChatUsageRecords
    quota: ChatQuota = field(default_factory=ChatQuota)
    clock: Callable[[], float] = time.time

    async def record(self, user_id: int, guild_id: int | None, answer_id: int, spent: tuple[int, bool]) -> None:
        """Note an answer's tokens (`spent`, from `answer_tokens`) for its asker, in its server (None: a DM)."""
        tokens, estimated = spent
        await self.store.record_chat_tokens(
            SpentTokens(user_id, guild_id, tokens, estimated=estimated, answer_id=answer_id, at=self.clock())
        )

    async def limits(self, guild_id: int | None) -> Limits:
        if guild_id is None:
            return Limits(per_member=Limit(self.quota.per_member))
        own = await self.store.chat_quota(guild_id)
        return Limits(tightest(self.quota.per_member, own.per_member), tightest(self.quota.per_server, own.per_server))

    async def refusal(self, user_id: int, guild_id: int | None) -> str | None:
        """Why the member may not ask now (a quota spent for today, and when it renews), or None when they may."""
        limits = await self.limits(guild_id)
        if not (limits.per_member.tokens or limits.per_server.tokens):
            return None
        now = self.clock()
        spent = await self.store.chat_spending(user_id, guild_id, day_start(now))
        renews = f"It renews in {describe_wait(_until_tomorrow(now))}, at midnight UTC."
        if limits.per_server.tokens and spent.server >= limits.per_server.tokens:
            return f"This server's daily chat quota ({limits.per_server.tokens:,} tokens) is used up. {renews}"
        if limits.per_member.tokens and spent.member >= limits.per_member.tokens:
            where = "in direct messages" if guild_id is None else "on this server"
            return f"Your daily chat quota {where} ({limits.per_member.tokens:,} tokens) is used up. {renews}"
        return None

    async def member_report(self, user_id: int, guild_id: int | None) -> UsageReport:
        """The member's usage in this server (None: in direct messages)."""
        now = self.clock()
        totals = await self.store.usage_totals(guild_id, window_start(now), day_start(now), user_id=user_id)
        today = await self.store.chat_spending(user_id, guild_id, day_start(now))
        return UsageReport(totals, await self.limits(guild_id), today, _until_tomorrow(now))

    async def server_report(self, guild_id: int) -> UsageReport:
        """The server's usage, with the members who spent the most chat tokens over the last 30 days."""
        now = self.clock()
        since, today = window_start(now), day_start(now)
        totals = await self.store.usage_totals(guild_id, since, today)
        top = await self.store.top_chat_members(guild_id, since, today, limit=TOP_MEMBERS)
        spent = ChatSpending(server=totals.tokens_today)
        return UsageReport(totals, await self.limits(guild_id), spent, _until_tomorrow(now), top)


def _until_tomorrow(now: float) -> float:
    return day_start(now) + DAY_SECONDS - now
