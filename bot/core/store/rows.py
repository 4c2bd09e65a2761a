"""Stored rows read back as values, whatever an older or newer version (or a hand edit) wrote in them.

Backend-neutral: a row is a sequence of column values, and a JSON column holds its text (`str` or `bytes`). A JSON
column that does not hold what this version expects is read as its empty value and reported once at WARNING,
naming the table, row and column but never the value (it may quote someone's message), so that one bad row never
stops a channel or a server from being served.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from typing import Any

from bot.core.store.records import Turn

log = logging.getLogger(__name__)

TURN_COLUMNS = (
    "id, channel_id, role, content, author_id, author_name, message_ids, complete, created_at, updated_at, "
    "request_options"
)
_reported: set[tuple[str, object, str]] = set()


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
    )


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
