"""Picture requests and usage in the SQLite store: what was asked, how it ended, and how much each user drew lately.

A part of `SQLiteStore`, on its one connection and lock (see `connection.py`). Quotas and cooldowns are read from
the picture requests themselves, so a restart cannot reset them.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from bot.core.store.records import UNFINISHED, DrawUsage, GenerationStatus, ImageGeneration, Shards, UsageKind
from bot.core.store.rows import owned_by_shards
from bot.core.store.sqlite.connection import Connected


def in_list(values: Sequence[object]) -> str:
    """`(?, ?, ...)`, one placeholder per value, for an SQL `IN` whose values are bound: right for any count."""
    return f"({', '.join('?' * len(values))})"


_GENERATION_COLUMNS = (
    *("guild_id", "channel_id", "user_id", "prompt", "model", "size", "seed", "scale", "controlnet"),
    *("status", "message_id", "error", "created_at", "finished_at"),
)


class PictureRecords(Connected):
    """The store's picture requests and usage events."""

    async def add_generation(self, generation: ImageGeneration) -> int:
        """Store a picture request; return its id (the key its buttons carry)."""
        values = {name: getattr(generation, name) for name in _GENERATION_COLUMNS}
        values["created_at"] = generation.created_at or time.time()
        placeholders = ", ".join(f":{name}" for name in _GENERATION_COLUMNS)
        async with self._lock:
            rows = await self._conn.execute_fetchall(
                f"INSERT INTO image_generations ({', '.join(_GENERATION_COLUMNS)}) VALUES ({placeholders}) "
                "RETURNING id",
                values,
            )
        return int(next(iter(rows))[0])

    async def generation(self, generation_id: int) -> ImageGeneration | None:
        async with self._lock:
            rows = list(
                await self._conn.execute_fetchall(
                    f"SELECT id, {', '.join(_GENERATION_COLUMNS)} FROM image_generations WHERE id = ?",
                    (generation_id,),
                )
            )
        return _generation(rows[0]) if rows else None

    async def start_generation(self, generation_id: int) -> None:
        """The picture request left the queue and is being drawn."""
        async with self._lock:
            await self._conn.execute(
                "UPDATE image_generations SET status = 'drawing' WHERE id = ? AND status = 'queued'", (generation_id,)
            )

    async def finish_generation(
        self, generation_id: int, status: GenerationStatus, *, message_id: int | None = None, error: str | None = None
    ) -> None:
        async with self._lock:
            await self._conn.execute(
                "UPDATE image_generations SET status = ?, message_id = COALESCE(?, message_id), error = ?, "
                "finished_at = ? WHERE id = ?",
                (status, message_id, error, time.time(), generation_id),
            )

    async def set_generation_message(self, generation_id: int, message_id: int) -> None:
        """The message that shows the picture request's outcome."""
        async with self._lock:
            await self._conn.execute(
                "UPDATE image_generations SET message_id = ? WHERE id = ?", (message_id, generation_id)
            )

    async def abandon_unfinished_generations(self, error: str, shards: Shards | None = None) -> list[ImageGeneration]:
        """Mark requests still queued or drawing (left by a crash; with `shards`, only in the servers on those
        shards) as failed, so they hold no quota; return them, for their messages to be repaired."""
        async with self._lock:
            rows = await self._conn.execute_fetchall(
                "UPDATE image_generations SET status = 'failed', error = ?, finished_at = ? "
                f"WHERE status IN {in_list(UNFINISHED)} AND {owned_by_shards('guild_id', shards)} "
                f"RETURNING id, {', '.join(_GENERATION_COLUMNS)}",
                (error, time.time(), *UNFINISHED),
            )
        return [_generation(row) for row in rows]

    async def draw_usage(self, user_id: int, since: float) -> DrawUsage:
        """The user's pictures drawn since `since`, and when they last had a request accepted (at any time).

        Refused, failed and cancelled requests cost nothing: they count neither for the quota nor the cooldown.
        """
        async with self._lock:
            rows = await self._conn.execute_fetchall(
                "SELECT "
                "(SELECT COUNT(*) FROM image_generations WHERE user_id = :u AND status = 'done' AND created_at >= :s), "
                "(SELECT MIN(created_at) FROM image_generations "
                " WHERE user_id = :u AND status = 'done' AND created_at >= :s), "
                "(SELECT MAX(created_at) FROM image_generations "
                " WHERE user_id = :u AND status IN ('queued', 'drawing', 'done'))",
                {"u": user_id, "s": since},
            )
        drawn, oldest, latest = next(iter(rows))
        return DrawUsage(int(drawn), oldest, latest)

    async def record_usage(
        self, user_id: int, kind: UsageKind, *, guild_id: int | None = None, tokens: int = 0, at: float | None = None
    ) -> None:
        async with self._lock.shared():
            await self._conn.execute(
                "INSERT INTO usage_events (user_id, guild_id, kind, tokens, created_at) VALUES (?, ?, ?, ?, ?)",
                (user_id, guild_id, kind, tokens, time.time() if at is None else at),
            )

    async def latest_use(self, user_id: int, kind: UsageKind, *, guild_id: int | None) -> float | None:
        """When the user last used `kind` in this server (or in DMs, for None)."""
        async with self._lock.shared():
            rows = await self._conn.execute_fetchall(
                "SELECT MAX(created_at) FROM usage_events WHERE user_id = ? AND kind = ? AND guild_id IS ?",
                (user_id, kind, guild_id),
            )
        return next(iter(rows))[0]

    async def usage_since(self, user_id: int, kind: UsageKind, since: float) -> tuple[int, float | None]:
        """How many uses of `kind` the user made since `since`, and when the latest of them was."""
        async with self._lock.shared():
            rows = await self._conn.execute_fetchall(
                "SELECT COUNT(*), MAX(created_at) FROM usage_events WHERE user_id = ? AND kind = ? AND created_at >= ?",
                (user_id, kind, since),
            )
        count, latest = next(iter(rows))
        return int(count), latest


def _generation(row: Sequence[object]) -> ImageGeneration:
    """An `ImageGeneration` from a row of `id` and `_GENERATION_COLUMNS`."""
    return ImageGeneration(id=row[0], **dict(zip(_GENERATION_COLUMNS, row[1:], strict=True)))  # type: ignore[arg-type]
