"""Stored rows read back as values, whatever an older or newer version (or a hand edit) wrote in them, and the
columns an update of a turn writes: what every backend shares of its rows.

Backend-neutral: a row is a sequence of column values, and a JSON column holds its text (`str` or `bytes`). A JSON
column that does not hold what this version expects is read as its empty value and reported once at WARNING,
naming the table, row and column but never the value (it may quote someone's message), so that one bad row never
stops a channel or a server from being served.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Sequence
from typing import Any

from bot.core.store.context import estimate_tokens
from bot.core.store.records import AllowList, Personas, ServerSettings, Shards, Turn

log = logging.getLogger(__name__)

TURN_COLUMNS = (
    "id, channel_id, role, content, author_id, author_name, message_ids, complete, created_at, updated_at, "
    "request_options, guild_id"
)
ALLOW_TABLES: dict[AllowList, tuple[str, str]] = {
    "channels": ("guild_allowed_channels", "channel_id"),
    "roles": ("guild_allowed_roles", "role_id"),
}
_reported: set[tuple[str, object, str]] = set()


def turn_changes(
    *,
    content: str | None = None,
    complete: bool | None = None,
    message_ids: Sequence[int] | None = None,
    writing: bool | None = None,
) -> dict[str, Any]:
    """The columns an update of a turn sets, by name (what is None stays as it is); `updated_at` always."""
    changes: dict[str, Any] = {"updated_at": time.time()}
    if writing is not None:
        changes["writing"] = writing
    if content is not None:
        changes |= {"content": content, "tokens": estimate_tokens(content)}
    if complete is not None:
        changes["complete"] = complete
    if message_ids is not None:
        changes["message_ids"] = json.dumps(list(message_ids))
    return changes


def server_settings_from(
    guild_id: int, guild: Sequence[Any] | None, channels: Sequence[Sequence[Any]], roles: Sequence[Sequence[Any]]
) -> ServerSettings:
    """A server's controls from its `guilds` row (`defaults, chat_cooldown_seconds`; None: never set) and the
    rows of its allowed channels and roles."""
    defaults = guild_defaults(guild_id, guild[0]) if guild is not None else {}
    return ServerSettings(
        guild_id,
        allowed_channels=frozenset(row[0] for row in channels),
        allowed_roles=frozenset(row[0] for row in roles),
        defaults=defaults,
        chat_cooldown_seconds=guild[1] if guild is not None else 0.0,
    )


def personas_from(row: Sequence[Any]) -> Personas:
    """`Personas` from a row of the channel's, its parent's and its server's `persona` columns; a value that is not
    text with something in it (a hand edit) is read as none."""
    channel, parent, server = (value if isinstance(value, str) and value.strip() else None for value in row)
    return Personas(channel, parent, server)


def turn_from_row(row: Sequence[Any]) -> Turn:
    """A `Turn` from the `TURN_COLUMNS` of a `conversation_turns` row."""
    return Turn(
        id=row[0],
        channel_id=row[1],
        role=row[2],
        content=row[3],
        author_id=row[4],
        author_name=row[5],
        message_ids=json_int_list(row[6], table="conversation_turns", key=row[0], column="message_ids"),
        complete=bool(row[7]),
        created_at=row[8],
        updated_at=row[9],
        request_options=json_object(row[10], table="conversation_turns", key=row[0], column="request_options"),
        guild_id=row[11],
    )


def owned_by_shards(guild_column: str, shards: Shards | None) -> str:
    """An SQL condition, the same in both dialects, true for rows whose server (`guild_column`, NULL for a direct
    message) is on one of `shards`; always true without shards. Only integers are formatted in."""
    if shards is None:
        return "TRUE"
    ids = ", ".join(str(int(shard)) for shard in sorted(shards.ids))
    return f"(CASE WHEN {guild_column} IS NULL THEN 0 ELSE ({guild_column} >> 22) % {int(shards.count)} END) IN ({ids})"


def guild_defaults(guild_id: int, stored: object) -> dict[str, Any]:
    """A server's stored defaults (model, size, temperature), or {} (reported) if the column holds anything else."""
    return json_object(stored, table="guilds", key=guild_id, column="defaults")


def json_object(stored: object, *, table: str, key: object, column: str) -> dict[str, Any]:
    """The JSON object stored in a column, or {} (reported) if it holds anything else."""
    value = _loads(stored)
    if isinstance(value, dict):
        return value
    _report(table, key, column, "a JSON object")
    return {}


def json_int_list(stored: object, *, table: str, key: object, column: str) -> tuple[int, ...]:
    """The JSON list of integers stored in a column, or () (reported) if it holds anything else."""
    value = _loads(stored)
    if isinstance(value, list) and all(type(item) is int for item in value):
        return tuple(value)
    _report(table, key, column, "a JSON list of integers")
    return ()


def _loads(stored: object) -> object:
    if not isinstance(stored, str | bytes):
        return None
    try:
        return json.loads(stored)
    except (ValueError, RecursionError):  # RecursionError: nested deeper than the parser goes
        return None


def _report(table: str, key: object, column: str, expected: str) -> None:
    if (table, key, column) in _reported:
        return
    _reported.add((table, key, column))
    log.warning("%s %s: %s is not %s; read as empty", table, key, column, expected)
