"""Chat usage in the PostgreSQL store: each answer's tokens, a member's and a server's totals, a server's own daily
chat quotas. A part of `PostgresStore`, on its pool (see `pool.py`).

A direct message's rows have no server (NULL). `guild_id IS NOT DISTINCT FROM $n` would serve a server and DMs
alike, but no index serves it, so each query says `guild_id = $n` or `guild_id IS NULL` as the case is (`_whose`).
"""

from __future__ import annotations

import time

from bot.core.store.postgresql.pool import Pooled
from bot.core.store.usage import ChatQuota, ChatSpending, MemberUsage, SpentTokens, UsageTotals, chat_quota_from


def _whose(guild_id: int | None, user_id: int | None, first: int) -> tuple[str, tuple[int, ...]]:
    """The condition on the rows' server (and member, if given) with placeholders numbered from `$first`, and the
    arguments they stand for, to come after those before them."""
    conditions = ["guild_id IS NULL"] if guild_id is None else []
    arguments: list[int] = []
    for column, value in (("guild_id", guild_id), ("user_id", user_id)):
        if value is not None:
            conditions.append(f"{column} = ${first + len(arguments)}")
            arguments.append(value)
    return " AND ".join(conditions), tuple(arguments)


class UsageRecords(Pooled):
    """The store's chat usage and quotas."""

    async def record_chat_tokens(self, spent: SpentTokens) -> None:
        """Note what one answer spent."""
        await self._pool.execute(
            "INSERT INTO chat_usage (user_id, guild_id, answer_id, tokens, estimated, created_at) "
            "VALUES ($1, $2, $3, $4, $5, $6)",
            spent.user_id,
            spent.guild_id,
            spent.answer_id,
            max(0, spent.tokens),
            spent.estimated,
            time.time() if spent.at is None else spent.at,
        )

    async def chat_spending(self, user_id: int, guild_id: int | None, since: float) -> ChatSpending:
        """Chat tokens spent since `since` by the member in this server (None: in DMs), and by the server."""
        member, arguments = _whose(guild_id, user_id, 2)
        server, _ = _whose(guild_id, None, 2)  # the server's placeholder comes first: the same in both
        spent_by_member, spent_in_server = await self._pool.fetchrow(
            "SELECT "
            f"(SELECT COALESCE(SUM(tokens), 0) FROM chat_usage WHERE {member} AND created_at >= $1), "
            f"(SELECT COALESCE(SUM(tokens), 0) FROM chat_usage WHERE {server} AND created_at >= $1)",
            since,
            *arguments,
        )
        return ChatSpending(int(spent_by_member), int(spent_in_server))

    async def usage_totals(
        self, guild_id: int | None, since: float, today: float, *, user_id: int | None = None
    ) -> UsageTotals:
        """Chat tokens and pictures drawn in this server (None: in DMs) since `since` and since `today`: one
        member's, or with no `user_id` everyone's."""
        who, arguments = _whose(guild_id, user_id, 3)
        row = await self._pool.fetchrow(
            "SELECT "
            "(SELECT COALESCE(SUM(CASE WHEN created_at >= $2 THEN tokens END), 0) FROM chat_usage "
            f" WHERE {who} AND created_at >= $1), "
            f"(SELECT COALESCE(SUM(tokens), 0) FROM chat_usage WHERE {who} AND created_at >= $1), "
            f"(SELECT COUNT(*) FROM image_generations WHERE {who} AND status = 'done' AND created_at >= $2), "
            f"(SELECT COUNT(*) FROM image_generations WHERE {who} AND status = 'done' AND created_at >= $1)",
            since,
            today,
            *arguments,
        )
        return UsageTotals(*(int(value) for value in row))

    async def top_chat_members(
        self, guild_id: int, since: float, today: float, *, limit: int = 10
    ) -> list[MemberUsage]:
        """The members who spent the most chat tokens in the server since `since`, most first."""
        rows = await self._pool.fetch(
            "SELECT user_id, SUM(tokens) AS spent, COALESCE(SUM(CASE WHEN created_at >= $3 THEN tokens END), 0) "
            "FROM chat_usage WHERE guild_id = $1 AND created_at >= $2 "
            "GROUP BY user_id ORDER BY spent DESC, user_id LIMIT $4",
            guild_id,
            since,
            today,
            limit,
        )
        return [MemberUsage(int(user), int(spent), int(spent_today)) for user, spent, spent_today in rows]

    async def chat_quota(self, guild_id: int) -> ChatQuota:
        """The server's own daily chat quotas (0: none of its own)."""
        return chat_quota_from(
            await self._pool.fetchrow(
                "SELECT per_member, per_server FROM guild_chat_quotas WHERE guild_id = $1", guild_id
            )
        )

    async def set_chat_quota(self, guild_id: int, quota: ChatQuota) -> None:
        await self._pool.execute(
            "INSERT INTO guild_chat_quotas (guild_id, per_member, per_server, updated_at) VALUES ($1, $2, $3, $4) "
            "ON CONFLICT (guild_id) DO UPDATE SET per_member = excluded.per_member, "
            "per_server = excluded.per_server, updated_at = excluded.updated_at",
            guild_id,
            quota.per_member,
            quota.per_server,
            time.time(),
        )
