"""Personas in the SQLite store (`bot.core.personas`): a server's in `guilds`, a channel's (or thread's) in
`channels`. A part of `SQLiteStore`, on its one connection and lock (see `connection.py`).
"""

from __future__ import annotations

import time

from bot.core.store.records import Personas
from bot.core.store.rows import personas_from
from bot.core.store.sqlite.connection import Connected


class PersonaRecords(Connected):
    """The store's personas, per server and per channel."""

    async def personas(self, channel_id: int, *, guild_id: int | None = None, parent_id: int | None = None) -> Personas:
        """The personas of the channel, of its parent channel (a thread's) and of its server, in one read."""
        async with self._lock.shared():
            rows = await self._conn.execute_fetchall(
                "SELECT (SELECT persona FROM channels WHERE channel_id = :c), "
                "(SELECT persona FROM channels WHERE channel_id = :p), "
                "(SELECT persona FROM guilds WHERE guild_id = :g)",
                {"c": channel_id, "p": parent_id, "g": guild_id},
            )
        return personas_from(next(iter(rows)))

    async def set_server_persona(self, guild_id: int, persona: str | None) -> None:
        async with self._lock:
            await self._conn.execute(
                "INSERT INTO guilds (guild_id, persona, updated_at) VALUES (?, ?, ?) ON CONFLICT (guild_id) "
                "DO UPDATE SET persona = excluded.persona, updated_at = excluded.updated_at",
                (guild_id, persona, time.time()),
            )

    async def set_channel_persona(self, channel_id: int, persona: str | None, *, guild_id: int | None = None) -> None:
        async with self._lock:
            await self._conn.execute(
                "INSERT INTO channels (channel_id, guild_id, persona, updated_at) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (channel_id) DO UPDATE SET persona = excluded.persona, "
                "guild_id = COALESCE(excluded.guild_id, guild_id), updated_at = excluded.updated_at",
                (channel_id, guild_id, persona, time.time()),
            )

    async def persona_channels(self, guild_id: int, *, limit: int = 100) -> list[int]:
        """The server's channels (and threads) with a persona of their own, by id, at most `limit`."""
        async with self._lock:
            rows = await self._conn.execute_fetchall(
                "SELECT channel_id FROM channels WHERE guild_id = ? AND persona IS NOT NULL "
                "ORDER BY channel_id LIMIT ?",
                (guild_id, limit),
            )
        return [row[0] for row in rows]
