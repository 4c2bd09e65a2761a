"""Chat usage in the SQLite store: each answer's tokens, a member's and a server's totals, a server's own daily
chat quotas. A part of `SQLiteStore`, on its one connection and lock (see `connection.py`).
"""

from __future__ import annotations

import time

from bot.core.store.sqlite.connection import Connected
from bot.core.store.usage import ChatQuota, ChatSpending, MemberUsage, SpentTokens, UsageTotals, chat_quota_from


class UsageRecords(Connected):
    """The store's chat usage and quotas."""

    async def record_chat_tokens(self, spent: SpentTokens) -> None:
        """Note what one answer spent."""
        at = time.time() if spent.at is None else spent.at
        async with self._lock.shared():
            await self._conn.execute(
                "INSERT INTO chat_usage (user_id, guild_id, answer_id, tokens, estimated, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (spent.user_id, spent.guild_id, spent.answer_id, max(0, spent.tokens), spent.estimated, at),
            )

    async def chat_spending(self, user_id: int, guild_id: int | None, since: float) -> ChatSpending:
        """Chat tokens spent since `since` by the member in this server (None: in DMs), and by the server."""
        async with self._lock.shared():
            rows = await self._conn.execute_fetchall(
                "SELECT "
                "(SELECT COALESCE(SUM(tokens), 0) FROM chat_usage "
                " WHERE user_id = :u AND guild_id IS :g AND created_at >= :s), "
                "(SELECT COALESCE(SUM(tokens), 0) FROM chat_usage WHERE guild_id IS :g AND created_at >= :s)",
                {"u": user_id, "g": guild_id, "s": since},
            )
        member, server = next(iter(rows))
        return ChatSpending(int(member), int(server))

    async def usage_totals(
        self, guild_id: int | None, since: float, today: float, *, user_id: int | None = None
    ) -> UsageTotals:
        """Chat tokens and pictures drawn in this server (None: in DMs) since `since` and since `today`: one
        member's, or with no `user_id` everyone's."""
        who = "guild_id IS :g" if user_id is None else "guild_id IS :g AND user_id = :u"
        async with self._lock.shared():
            rows = await self._conn.execute_fetchall(
                "SELECT "
                "(SELECT COALESCE(SUM(CASE WHEN created_at >= :t THEN tokens END), 0) FROM chat_usage "
                f" WHERE {who} AND created_at >= :s), "
                f"(SELECT COALESCE(SUM(tokens), 0) FROM chat_usage WHERE {who} AND created_at >= :s), "
                f"(SELECT COUNT(*) FROM image_generations WHERE {who} AND status = 'done' AND created_at >= :t), "
                f"(SELECT COUNT(*) FROM image_generations WHERE {who} AND status = 'done' AND created_at >= :s)",
                {"g": guild_id, "u": user_id, "s": since, "t": today},
            )
        return UsageTotals(*(int(value) for value in next(iter(rows))))

    async def top_chat_members(
        self, guild_id: int, since: float, today: float, *, limit: int = 10
    ) -> list[MemberUsage]:
        """The members who spent the most chat tokens in the server since `since`, most first."""
        async with self._lock.shared():
            rows = await self._conn.execute_fetchall(
                "SELECT user_id, SUM(tokens) AS spent, COALESCE(SUM(CASE WHEN created_at >= :t THEN tokens END), 0) "
                "FROM chat_usage WHERE guild_id = :g AND created_at >= :s "
                "GROUP BY user_id ORDER BY spent DESC, user_id LIMIT :n",
                {"g": guild_id, "s": since, "t": today, "n": limit},
            )
        return [MemberUsage(int(user), int(spent), int(spent_today)) for user, spent, spent_today in rows]

    async def chat_quota(self, guild_id: int) -> ChatQuota:
        """The server's own daily chat quotas (0: none of its own)."""
        async with self._lock.shared():
            rows = list(
                await self._conn.execute_fetchall(
                    "SELECT per_member, per_server FROM guild_chat_quotas WHERE guild_id = ?", (guild_id,)
                )
            )
        return chat_quota_from(rows[0] if rows else None)

    async def set_chat_quota(self, guild_id: int, quota: ChatQuota) -> None:
        async with self._lock:
            await self._conn.execute(
                "INSERT INTO guild_chat_quotas (guild_id, per_member, per_server, updated_at) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (guild_id) DO UPDATE SET per_member = excluded.per_member, "
                "per_server = excluded.per_server, updated_at = excluded.updated_at",
                (guild_id, quota.per_member, quota.per_server, time.time()),
            )
