"""Picture requests and usage in the PostgreSQL store: what was asked, how it ended, and how much each user drew
lately. A part of `PostgresStore`, on its pool (see `pool.py`). Quotas and cooldowns are read from the picture
requests themselves, so a restart cannot reset them.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from bot.core.store.postgresql.pool import Pooled
from bot.core.store.records import UNFINISHED, DrawUsage, GenerationStatus, ImageGeneration, Shards, UsageKind
from bot.core.store.rows import owned_by_shards

GENERATION_COLUMNS = (
    *("guild_id", "channel_id", "user_id", "prompt", "model", "size", "seed", "scale", "controlnet"),
    *("status", "message_id", "error", "created_at", "finished_at"),
)
_SELECTED = f"id, {', '.join(GENERATION_COLUMNS)}"


class PictureRecords(Pooled):
    """The store's picture requests and usage events."""

    async def add_generation(self, generation: ImageGeneration) -> int:
        """Store a picture request; return its id (the key its buttons carry)."""
        values = {name: getattr(generation, name) for name in GENERATION_COLUMNS}
        values["created_at"] = generation.created_at or time.time()
        placeholders = ", ".join(f"${number}" for number in range(1, len(values) + 1))
        return await self._pool.fetchval(
            f"INSERT INTO image_generations ({', '.join(values)}) VALUES ({placeholders}) RETURNING id",
            *values.values(),
        )

    async def generation(self, generation_id: int) -> ImageGeneration | None:
        row = await self._pool.fetchrow(f"SELECT {_SELECTED} FROM image_generations WHERE id = $1", generation_id)
        return _generation(row) if row is not None else None

    async def start_generation(self, generation_id: int) -> None:
        """The picture request left the queue and is being drawn."""
        await self._pool.execute(
            "UPDATE image_generations SET status = 'drawing' WHERE id = $1 AND status = 'queued'", generation_id
        )

    async def finish_generation(
        self, generation_id: int, status: GenerationStatus, *, message_id: int | None = None, error: str | None = None
    ) -> None:
        await self._pool.execute(
            "UPDATE image_generations SET status = $1, message_id = COALESCE($2, message_id), error = $3, "
            "finished_at = $4 WHERE id = $5",
            status,
            message_id,
            error,
            time.time(),
            generation_id,
        )

    async def set_generation_message(self, generation_id: int, message_id: int) -> None:
        """The message that shows the picture request's outcome."""
        await self._pool.execute(
            "UPDATE image_generations SET message_id = $1 WHERE id = $2", message_id, generation_id
        )

    async def abandon_unfinished_generations(self, error: str, shards: Shards | None = None) -> list[ImageGeneration]:
        """Mark requests still queued or drawing (left by a crash; with `shards`, only in the servers on those
        shards) as failed, so they hold no quota; return them, for their messages to be repaired."""
        rows = await self._pool.fetch(
            "UPDATE image_generations SET status = 'failed', error = $1, finished_at = $2 "
            f"WHERE status = ANY($3::text[]) AND {owned_by_shards('guild_id', shards)} RETURNING {_SELECTED}",
            error,
            time.time(),
            list(UNFINISHED),
        )
        return sorted((_generation(row) for row in rows), key=lambda generation: generation.id or 0)

    async def draw_usage(self, user_id: int, since: float) -> DrawUsage:
        """The user's pictures drawn since `since`, and when they last had a request accepted (at any time).

        Refused, failed and cancelled requests cost nothing: they count neither for the quota nor the cooldown.
        """
        row = await self._pool.fetchrow(
            "SELECT "
            "(SELECT COUNT(*) FROM image_generations WHERE user_id = $1 AND status = 'done' AND created_at >= $2), "
            "(SELECT MIN(created_at) FROM image_generations "
            " WHERE user_id = $1 AND status = 'done' AND created_at >= $2), "
            "(SELECT MAX(created_at) FROM image_generations "
            " WHERE user_id = $1 AND status IN ('queued', 'drawing', 'done'))",
            user_id,
            since,
        )
        drawn, oldest, latest = row
        return DrawUsage(int(drawn), oldest, latest)

    async def record_usage(
        self, user_id: int, kind: UsageKind, *, guild_id: int | None = None, tokens: int = 0, at: float | None = None
    ) -> None:
        await self._pool.execute(
            "INSERT INTO usage_events (user_id, guild_id, kind, tokens, created_at) VALUES ($1, $2, $3, $4, $5)",
            user_id,
            guild_id,
            kind,
            tokens,
            time.time() if at is None else at,
        )

    async def latest_use(self, user_id: int, kind: UsageKind, *, guild_id: int | None) -> float | None:
        """When the user last used `kind` in this server (or in DMs, for None)."""
        return await self._pool.fetchval(
            "SELECT MAX(created_at) FROM usage_events "
            "WHERE user_id = $1 AND kind = $2 AND guild_id IS NOT DISTINCT FROM $3",
            user_id,
            kind,
            guild_id,
        )

    async def usage_since(self, user_id: int, kind: UsageKind, since: float) -> tuple[int, float | None]:
        """How many uses of `kind` the user made since `since`, and when the latest of them was."""
        count, latest = await self._pool.fetchrow(
            "SELECT COUNT(*), MAX(created_at) FROM usage_events WHERE user_id = $1 AND kind = $2 AND created_at >= $3",
            user_id,
            kind,
            since,
        )
        return int(count), latest


def _generation(row: Sequence[object]) -> ImageGeneration:
    """An `ImageGeneration` from a row of `id` and `GENERATION_COLUMNS`."""
    values = tuple(row)
    return ImageGeneration(id=values[0], **dict(zip(GENERATION_COLUMNS, values[1:], strict=True)))  # type: ignore[arg-type]
