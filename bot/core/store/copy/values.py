"""The values a target's columns take: a `Fix` converts those of one column (0/1 to BOOLEAN, JSON text to jsonb,
text without NULs) and counts the ones it had to change; `fixed` applies a table's fixes to a batch of rows.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import orjson

from bot.core.store.copy.report import Column, Row


@dataclass(slots=True)
class Fix:
    """A column whose values are converted for the target (`convert`), and how many had to be changed, by how."""

    index: int
    column: Column
    repaired: Counter[str] = field(default_factory=Counter)
    convert: Callable[[object], object] = bool

    def __post_init__(self) -> None:
        self.convert = {"bool": bool, "json": self._json, "text": self._text}.get(self.column.kind, bool)

    def _json(self, value: object) -> object:
        text = _text_of(value)
        if _jsonb_takes(text):
            return text
        self.repaired[f"not valid JSON, stored as {self.column.empty or 'NULL'}"] += 1
        return self.column.empty

    def _text(self, value: object) -> str:
        text = _text_of(value)
        if "\0" not in text:
            return text
        self.repaired["held NUL characters, stored without them"] += 1
        return text.replace("\0", "")


def fixed(rows: list[Row], fixes: list[Fix]) -> list[Row]:
    converted = []
    for row in rows:
        values = list(row)
        for fix in fixes:
            if values[fix.index] is not None:
                values[fix.index] = fix.convert(values[fix.index])
        converted.append(tuple(values))
    return converted


def _text_of(value: object) -> str:
    if type(value) is str:
        return value
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def _jsonb_takes(text: str) -> bool:
    """Whether PostgreSQL's jsonb takes the text: JSON (orjson is as strict: no NaN, no lone surrogate), with no NUL
    in a string."""
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError:
        return False
    pending = [value] if "\\u0000" in text else []
    while pending:
        item = pending.pop()
        if isinstance(item, dict):
            pending += [*item.keys(), *item.values()]
        elif isinstance(item, list):
            pending += item
        elif isinstance(item, str) and "\0" in item:
            return False
    return True
