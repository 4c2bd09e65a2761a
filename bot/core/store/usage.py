"""The values of chat usage and its daily quotas that every store backend takes and hands back, and how a stored
quota row is read. Plain data; the rules (days, limits, refusals) are `bot.core.usage`'s.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ChatQuota:
    """Chat tokens a day that one member (in one server, or in direct messages) and a whole server may spend;
    0: no limit."""

    per_member: int = 0
    per_server: int = 0


@dataclass(frozen=True, slots=True)
class SpentTokens:
    """What one answer spent: who asked it where (`guild_id` None: a direct message), its tokens (`estimated`: the
    bot's estimate, not the API's usage), its turn, and when (None: now)."""

    user_id: int
    guild_id: int | None
    tokens: int
    estimated: bool = False
    answer_id: int | None = None
    at: float | None = None


@dataclass(frozen=True, slots=True)
class ChatSpending:
    """Chat tokens spent since a moment: by one member there, and by the whole server (in a DM: every DM)."""

    member: int = 0
    server: int = 0


@dataclass(frozen=True, slots=True)
class UsageTotals:
    """A member's or a server's chat tokens and pictures drawn (delivered ones), today and over a longer window."""

    tokens_today: int = 0
    tokens: int = 0
    pictures_today: int = 0
    pictures: int = 0


@dataclass(frozen=True, slots=True)
class MemberUsage:
    """One member's chat tokens in a server, over the window and today."""

    user_id: int
    tokens: int
    tokens_today: int


def chat_quota_from(row: Sequence[object] | None) -> ChatQuota:
    """A server's stored quotas (`per_member, per_server`); none stored, or a value that is not a count, is 0."""
    if row is None:
        return ChatQuota()
    return ChatQuota(*(value if isinstance(value, int) and value > 0 else 0 for value in row[:2]))
