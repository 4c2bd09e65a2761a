"""What a copy works with and gives back: the errors it raises (`CopyError` and its kinds), its two ends
(`Endpoint`, read from a URL by `parse_url`), the `CopyReport` of row counts and repaired values, and the tables
and columns of a database as introspection finds them (`Tables`, `Column`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from bot.core.store.backends import Backend, backend_of
from bot.core.store.contract import StoreError
from bot.core.store.postgresql import redacted_dsn

Row = tuple[object, ...]
Kind = Literal["plain", "bool", "json", "text"]  # what a target column needs of a value


class CopyError(StoreError):
    """The copy could not be made or did not complete; the target is as it was."""


class InvalidEndpoint(CopyError):
    """A URL of no known kind, a missing source file, or one database named as both source and target."""


class TargetNotEmpty(CopyError):
    """The target holds rows (`counts`, by table) and was not to be replaced."""

    def __init__(self, counts: dict[str, int]) -> None:
        listed = ", ".join(f"{table} ({rows:,} row{'s' * (rows != 1)})" for table, rows in counts.items())
        super().__init__(f"the target already holds data: {listed}")
        self.counts = counts


class CountsDiffer(CopyError):
    """After the copy some table's row count differed between source and target; nothing was committed."""

    def __init__(self, report: CopyReport) -> None:
        differing = ", ".join(count.table for count in report.counts if count.source != count.target)
        super().__init__(f"row counts differ after the copy ({differing}); nothing was committed to the target")
        self.report = report


@dataclass(frozen=True, slots=True)
class Endpoint:
    """One end of a copy, named as `DATABASE_URL` names a store (`bot.core.store.backends`)."""

    backend: Backend
    url: str

    @property
    def shown(self) -> str:
        """The URL as it may be printed: a DSN without its password."""
        return self.url if self.backend == "sqlite" else redacted_dsn(self.url)


def parse_url(url: str, *, name: str = "the URL") -> Endpoint:
    """The endpoint a URL names; `InvalidEndpoint` naming it by `name` (not quoting it: it may hold a password)."""
    try:
        return Endpoint(backend_of(url), url)
    except ValueError as error:
        raise InvalidEndpoint(f"{name} is not a database URL: {error}") from None


@dataclass(frozen=True, slots=True)
class TableCount:
    table: str
    source: int
    target: int


@dataclass(frozen=True, slots=True)
class Repair:
    """Values of one column the target could not take as they were, and how they were stored instead."""

    column: str  # table.column
    count: int
    how: str


@dataclass(frozen=True, slots=True)
class CopyReport:
    source: str  # shown without a password
    target: str
    counts: tuple[TableCount, ...] = ()  # every table copied, parents first
    repairs: tuple[Repair, ...] = ()
    left_out: tuple[str, ...] = ()  # table.column of the source that the target has no column for
    source_migrated: tuple[int, int] | None = None  # the source's schema version before and after opening it
    replaced: bool = False  # the target held rows, deleted first

    @property
    def matches(self) -> bool:
        return all(count.source == count.target for count in self.counts)


@dataclass(frozen=True, slots=True)
class Column:
    name: str
    kind: Kind = "plain"
    empty: str | None = None  # a JSON column's default: what a malformed value is stored as
    identity: bool = False  # its values come from a sequence, to be set past the copied ones


Tables = dict[str, tuple[Column, ...]]  # a database's data tables and their columns, in order
