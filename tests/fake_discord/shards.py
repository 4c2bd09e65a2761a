"""Sharding as Discord does it: which shard a guild is on, the ``shard`` of an IDENTIFY, `GET /gateway/bot`.

A guild belongs to shard ``(guild_id >> 22) % shard_count``; events without a guild (DMs) go to shard 0. A session
that identified with ``"shard": [id, count]`` is served only its shard's guilds and events; one that sent no
``shard`` is served everything, as an unsharded bot is. The fake's own count (``FakeDiscord(shard_count=N)``) is
what ``/gateway/bot`` recommends, and an IDENTIFY for another count is refused with close code 4010, as Discord
refuses it. Every IDENTIFY is recorded as an `IdentifyRecord`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

INVALID_SHARD = 4010
SESSION_START_TOTAL = 1000
SESSION_START_RESET_AFTER_MS = 24 * 60 * 60 * 1000
TIMESTAMP_SHIFT = 22


class InvalidShard(ValueError):
    """An IDENTIFY's ``shard`` that Discord refuses with close code 4010."""


def shard_of(guild_id: int | None, shard_count: int) -> int:
    """The shard a guild's events arrive on; 0 for DMs (no guild)."""
    return 0 if guild_id is None else (guild_id >> TIMESTAMP_SHIFT) % shard_count


@dataclass(frozen=True)
class Shard:
    """``[id, count]`` as an IDENTIFY sends it."""

    id: int
    count: int

    def serves(self, guild_id: int | None) -> bool:
        return shard_of(guild_id, self.count) == self.id


@dataclass(frozen=True)
class IdentifyRecord:
    """One IDENTIFY received: its shard (both None for an unsharded client), the monotonic time it arrived, the
    session it opened (None if refused) and, if refused, the close code it got."""

    shard_id: int | None
    shard_count: int | None
    at: float
    session_id: str | None = None
    close_code: int | None = None

    @property
    def accepted(self) -> bool:
        return self.session_id is not None


def requested_shard(value: Any) -> tuple[int | None, int | None]:
    """``(id, count)`` of an IDENTIFY's ``shard`` as far as it can be read (None where it cannot), for the record."""
    if isinstance(value, list | tuple) and len(value) == 2 and all(isinstance(part, int) for part in value):
        return value[0], value[1]
    return None, None


def parse_shard(value: Any, configured_count: int | None) -> Shard | None:
    """The shard an IDENTIFY asks to serve (None: no ``shard``, an unsharded client); `InvalidShard` if refused."""
    if value is None:
        return None
    shard_id, count = requested_shard(value)
    if shard_id is None or count is None or count < 1 or not 0 <= shard_id < count:
        raise InvalidShard(f"invalid shard {value!r}")
    if configured_count is not None and count != configured_count:
        raise InvalidShard(f"shard count {count} is not the application's {configured_count}")
    return Shard(shard_id, count)


def snowflake_on_shard(after: int, shard_id: int, shard_count: int) -> int:
    """The first snowflake from ``after`` on whose timestamp falls on ``shard_id`` (moved on a few milliseconds)."""
    timestamp = after >> TIMESTAMP_SHIFT
    return after + (((shard_id - timestamp) % shard_count) << TIMESTAMP_SHIFT)


def gateway_bot(gateway_url: str, shard_count: int | None, max_concurrency: int, identified: int) -> dict[str, Any]:
    """``GET /gateway/bot``: the gateway, the recommended shard count (1 unless configured), session starts left."""
    return {
        "url": gateway_url,
        "shards": shard_count or 1,
        "session_start_limit": {
            "total": SESSION_START_TOTAL,
            "remaining": max(0, SESSION_START_TOTAL - identified),
            "reset_after": SESSION_START_RESET_AFTER_MS,
            "max_concurrency": max_concurrency,
        },
    }
