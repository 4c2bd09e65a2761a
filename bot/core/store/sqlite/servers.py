"""Server controls in the SQLite store: where and for whom the bot works in a server, its defaults there, and the
chat cooldown. A part of `SQLiteStore`, on its one connection and lock (see `connection.py`).
"""

from __future__ import annotations

import json
import time
from typing import Any

from bot.core.store.records import AllowList, ServerSettings
from bot.core.store.rows import ALLOW_TABLES, guild_defaults, server_settings_from
from bot.core.store.sqlite.connection import Connected


class ServerRecords(Connected):
    """The store's per-server controls."""

    async def server_settings(self, guild_id: int) -> ServerSettings:
        # One statement, read at every question: the server's row and its allow lists, each row tagged.
        async with self._lock.shared():
            rows = await self._conn.execute_fetchall(
                "SELECT 'guild', defaults, chat_cooldown_seconds FROM guilds WHERE guild_id = :g "
                "UNION ALL SELECT 'channel', channel_id, NULL FROM guild_allowed_channels WHERE guild_id = :g "
                "UNION ALL SELECT 'role', role_id, NULL FROM guild_allowed_roles WHERE guild_id = :g",
                {"g": guild_id},
            )
        by_kind: dict[str, list[tuple[Any, ...]]] = {"guild": [], "channel": [], "role": []}
        for kind, *values in rows:
            by_kind[kind].append(tuple(values))
        guild = by_kind["guild"][0] if by_kind["guild"] else None
        return server_settings_from(guild_id, guild, by_kind["channel"], by_kind["role"])

    async def set_allowed(self, guild_id: int, which: AllowList, item_id: int, allowed: bool) -> None:
        """Add a channel or role to the server's allow list, or take it off."""
        table, column = ALLOW_TABLES[which]
        async with self._lock:
            await self._ensure_guild(guild_id)
            if allowed:
                await self._conn.execute(
                    f"INSERT OR IGNORE INTO {table} (guild_id, {column}) VALUES (?, ?)", (guild_id, item_id)
                )
            else:
                await self._conn.execute(
                    f"DELETE FROM {table} WHERE guild_id = ? AND {column} = ?", (guild_id, item_id)
                )

    async def clear_allowed(self, guild_id: int, which: AllowList) -> None:
        table, _ = ALLOW_TABLES[which]
        async with self._lock:
            await self._conn.execute(f"DELETE FROM {table} WHERE guild_id = ?", (guild_id,))

    async def update_server_defaults(self, guild_id: int, changes: dict[str, Any]) -> dict[str, Any]:
        """Set (a value) or clear (None) some of the server's defaults; return them all."""
        async with self._lock:
            await self._ensure_guild(guild_id)
            rows = await self._conn.execute_fetchall("SELECT defaults FROM guilds WHERE guild_id = ?", (guild_id,))
            defaults = guild_defaults(guild_id, next(iter(rows))[0]) | changes
            defaults = {name: value for name, value in defaults.items() if value is not None}
            await self._conn.execute(
                "UPDATE guilds SET defaults = ?, updated_at = ? WHERE guild_id = ?",
                (json.dumps(defaults), time.time(), guild_id),
            )
        return defaults

    async def set_chat_cooldown(self, guild_id: int, seconds: float) -> None:
        async with self._lock:
            await self._ensure_guild(guild_id)
            await self._conn.execute(
                "UPDATE guilds SET chat_cooldown_seconds = ?, updated_at = ? WHERE guild_id = ?",
                (seconds, time.time(), guild_id),
            )

    async def _ensure_guild(self, guild_id: int) -> None:
        await self._conn.execute(
            "INSERT OR IGNORE INTO guilds (guild_id, updated_at) VALUES (?, ?)", (guild_id, time.time())
        )
