"""Server controls in the PostgreSQL store: where and for whom the bot works in a server, its defaults there, and
the chat cooldown. A part of `PostgresStore`, on its pool (see `pool.py`).
"""

from __future__ import annotations

import json
import time
from typing import Any

import asyncpg

from bot.core.store.postgresql.pool import Pooled
from bot.core.store.records import AllowList, ServerSettings
from bot.core.store.rows import ALLOW_TABLES, guild_defaults, server_settings_from


class ServerRecords(Pooled):
    """The store's per-server controls."""

    async def server_settings(self, guild_id: int) -> ServerSettings:
        async with self._pool.acquire() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
            row = await conn.fetchrow(
                "SELECT defaults, chat_cooldown_seconds FROM guilds WHERE guild_id = $1", guild_id
            )
            channels = await conn.fetch("SELECT channel_id FROM guild_allowed_channels WHERE guild_id = $1", guild_id)
            roles = await conn.fetch("SELECT role_id FROM guild_allowed_roles WHERE guild_id = $1", guild_id)
        return server_settings_from(guild_id, row, channels, roles)

    async def set_allowed(self, guild_id: int, which: AllowList, item_id: int, allowed: bool) -> None:
        """Add a channel or role to the server's allow list, or take it off."""
        table, column = ALLOW_TABLES[which]
        async with self._pool.acquire() as conn, conn.transaction():
            await _ensure_guild(conn, guild_id)
            if allowed:
                await conn.execute(
                    f"INSERT INTO {table} (guild_id, {column}) VALUES ($1, $2) ON CONFLICT DO NOTHING",
                    guild_id,
                    item_id,
                )
            else:
                await conn.execute(f"DELETE FROM {table} WHERE guild_id = $1 AND {column} = $2", guild_id, item_id)

    async def clear_allowed(self, guild_id: int, which: AllowList) -> None:
        table, _ = ALLOW_TABLES[which]
        await self._pool.execute(f"DELETE FROM {table} WHERE guild_id = $1", guild_id)

    async def update_server_defaults(self, guild_id: int, changes: dict[str, Any]) -> dict[str, Any]:
        """Set (a value) or clear (None) some of the server's defaults; return them all."""
        async with self._pool.acquire() as conn, conn.transaction():
            await _ensure_guild(conn, guild_id)
            stored = await conn.fetchval("SELECT defaults FROM guilds WHERE guild_id = $1 FOR UPDATE", guild_id)
            defaults = guild_defaults(guild_id, stored) | changes
            defaults = {name: value for name, value in defaults.items() if value is not None}
            await conn.execute(
                "UPDATE guilds SET defaults = $1, updated_at = $2 WHERE guild_id = $3",
                json.dumps(defaults),
                time.time(),
                guild_id,
            )
        return defaults

    async def set_chat_cooldown(self, guild_id: int, seconds: float) -> None:
        await self._pool.execute(
            "INSERT INTO guilds (guild_id, chat_cooldown_seconds, updated_at) VALUES ($1, $2, $3) "
            "ON CONFLICT (guild_id) DO UPDATE SET chat_cooldown_seconds = excluded.chat_cooldown_seconds, "
            "updated_at = excluded.updated_at",
            guild_id,
            seconds,
            time.time(),
        )


async def _ensure_guild(conn: asyncpg.Connection, guild_id: int) -> None:
    await conn.execute(
        "INSERT INTO guilds (guild_id, updated_at) VALUES ($1, $2) ON CONFLICT DO NOTHING", guild_id, time.time()
    )
