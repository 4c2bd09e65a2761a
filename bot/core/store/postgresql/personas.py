"""Personas in the PostgreSQL store (`bot.core.personas`): a server's in `guilds`, a channel's (or thread's) in
`channels`. A part of `PostgresStore`, on its pool (see `pool.py`).
"""

from __future__ import annotations

import time

from bot.core.store.postgresql.pool import Pooled
from bot.core.store.records import Personas
from bot.core.store.rows import personas_from


class PersonaRecords(Pooled):
    """The store's personas, per server and per channel."""

    async def personas(self, channel_id: int, *, guild_id: int | None = None, parent_id: int | None = None) -> Personas:
        """The personas of the channel, of its parent channel (a thread's) and of its server, in one read."""
        row = await self._pool.fetchrow(
            "SELECT (SELECT persona FROM channels WHERE channel_id = $1), "
            "(SELECT persona FROM channels WHERE channel_id = $2), "
            "(SELECT persona FROM guilds WHERE guild_id = $3)",
            channel_id,
            parent_id,
            guild_id,
        )
        return personas_from(row)

    async def set_server_persona(self, guild_id: int, persona: str | None) -> None:
        await self._pool.execute(
            "INSERT INTO guilds (guild_id, persona, updated_at) VALUES ($1, $2, $3) ON CONFLICT (guild_id) "
            "DO UPDATE SET persona = excluded.persona, updated_at = excluded.updated_at",
            guild_id,
            persona,
            time.time(),
        )

    async def set_channel_persona(self, channel_id: int, persona: str | None, *, guild_id: int | None = None) -> None:
        await self._pool.execute(
            "INSERT INTO channels (channel_id, guild_id, persona, updated_at) VALUES ($1, $2, $3, $4) "
            "ON CONFLICT (channel_id) DO UPDATE SET persona = excluded.persona, "
            "guild_id = COALESCE(excluded.guild_id, channels.guild_id), updated_at = excluded.updated_at",
            channel_id,
            guild_id,
            persona,
            time.time(),
        )

    async def persona_channels(self, guild_id: int, *, limit: int = 100) -> list[int]:
        """The server's channels (and threads) with a persona of their own, by id, at most `limit`."""
        rows = await self._pool.fetch(
            "SELECT channel_id FROM channels WHERE guild_id = $1 AND persona IS NOT NULL ORDER BY channel_id LIMIT $2",
            guild_id,
            limit,
        )
        return [row[0] for row in rows]
