"""Copying a whole store to another database (`python -m bot store copy`, in `bot.store_cli`): moving a deployment
from SQLite to PostgreSQL (issue 14), or back. No Discord and no command line here.

Both ends are first opened through their store (`open_store`), which brings each to the newest schema; no store
opens read-only, so an older source is migrated too (the report says so). Every data table both schemas have (all
but `schema_migrations`) is copied with the columns both have, found by introspection, so that a column added
later on both sides needs no change here: parents first (the target's foreign keys), read in batches from one
snapshot of the source and written with COPY (`copy_records_to_table`) or `executemany`, in one transaction of the
target, committed only once each table holds as many rows as in the source. Row ids are kept; each identity
sequence is then set past the largest. Values are converted for the target's column types (0/1 to BOOLEAN, JSON
text to jsonb); one PostgreSQL would refuse (malformed JSON, a NUL) is stored as the column's empty default (or
without its NULs) and counted in the report rather than failing the copy. No message shows a DSN's password.
"""

from __future__ import annotations

import dataclasses
import re
import sqlite3
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from graphlib import CycleError, TopologicalSorter
from pathlib import Path
from typing import Literal, TypeVar

import aiosqlite
import asyncpg
import orjson

from bot.core.store.backends import Backend, backend_of, open_store, sqlite_path
from bot.core.store.contract import StoreError
from bot.core.store.postgresql import redacted_dsn
from bot.core.store.postgresql.pool import scrubbed
from bot.core.store.sqlite.connection import Connected, connect

BATCH_SIZE = 5000  # rows read, converted and written at a time: what bounds the copy's memory
BOOKKEEPING_TABLE = "schema_migrations"  # each database's own history, never copied
CONNECT_TIMEOUT = 10.0

T = TypeVar("T")
Progress = Callable[[str, int, int], None]  # a table, its rows copied so far, its rows in all
Row = tuple[object, ...]
Kind = Literal["plain", "bool", "json", "text"]  # what a target column needs of a value
_DB_ERRORS = (OSError, TimeoutError, sqlite3.Error, asyncpg.PostgresError, asyncpg.InterfaceError)
_PG_KINDS: dict[str, Kind] = {"boolean": "bool", "json": "json", "jsonb": "json", "text": "text"}
_PG_JSON_DEFAULT = re.compile(r"'((?:[^']|'')*)'::jsonb?")


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


async def copy_store(
    source: Endpoint,
    target: Endpoint,
    *,
    replace: bool = False,
    batch_size: int = BATCH_SIZE,
    progress: Progress | None = None,
) -> CopyReport:
    """Copy every data table of `source` into `target`; with `replace`, delete the target's rows first (in the
    same transaction), else refuse a target holding any (`TargetNotEmpty`). Raises `CopyError` (or the stores'
    `StoreError`) with a one-line message; on any failure the target is as it was."""
    _refuse_same(source, target)
    if source.backend == "sqlite" and not sqlite_path(source.url).is_file():
        raise InvalidEndpoint(f"the source database {sqlite_path(source.url)} does not exist")
    try:
        return await _migrate_and_copy(source, target, replace, batch_size, progress or _no_progress)
    except _DB_ERRORS as error:
        why = scrubbed(_describe(error), target.url)
        raise CopyError(f"the copy failed, nothing was committed to the target: {why}") from None


async def _migrate_and_copy(
    source: Endpoint, target: Endpoint, replace: bool, batch_size: int, progress: Progress
) -> CopyReport:
    async with _opened(source, read_only=True) as peek:
        before = await peek.version()
    for endpoint in (source, target):  # each brought to the newest schema by its store, then closed again
        await (await open_store(endpoint.url, pool_size=1)).close()
    async with _opened(source, read_only=True) as src, _opened(target, read_only=False) as dst:
        after = await src.version()
        report = CopyReport(source.shown, target.shown, source_migrated=(before, after) if before != after else None)
        return await _Copying(src, dst, replace, batch_size, progress).run(report)


def _refuse_same(source: Endpoint, target: Endpoint) -> None:
    if source.backend == target.backend == "sqlite":
        same = sqlite_path(source.url).resolve() == sqlite_path(target.url).resolve()
    else:
        same = source.url == target.url
    if same:
        raise InvalidEndpoint(f"{source.shown} is both the source and the target")


@dataclass(slots=True)
class _Copying:
    """One copy from an open source to an open target."""

    src: _Database
    dst: _Database
    replace: bool
    batch_size: int
    progress: Progress

    async def run(self, report: CopyReport) -> CopyReport:
        """Copy from one snapshot of the source in one transaction of the target, committed only if it matched."""
        sources, targets = await self.src.tables(), await self.dst.tables()
        async with self.src.transaction(write=False), self.dst.transaction(write=True, tables=list(targets)):
            counts = {name: await self.src.count(name) for name in sources}
            lost = [name for name, rows in counts.items() if rows and name not in targets]
            if lost:
                raise CopyError(f"the target has no table for the source's {', '.join(lost)}; nothing was copied")
            held = {name: rows for name in targets if (rows := await self.dst.count(name))}
            if held and not self.replace:
                raise TargetNotEmpty(held)
            references = await self.dst.references()
            if held:
                await self.dst.clear(list(reversed(_parents_first(targets, references))))
            order = _parents_first(set(targets) & set(sources), references)
            report = dataclasses.replace(
                await self._tables(report, sources, targets, order, counts), replaced=bool(held)
            )
            if not report.matches:
                raise CountsDiffer(report)
        return report

    async def _tables(
        self, report: CopyReport, sources: Tables, targets: Tables, order: list[str], counts: dict[str, int]
    ) -> CopyReport:
        repairs: list[Repair] = []
        left_out: list[str] = []
        for name in order:
            shared = {column.name for column in sources[name]} & {column.name for column in targets[name]}
            left_out += [f"{name}.{column.name}" for column in sources[name] if column.name not in shared]
            columns = tuple(column for column in targets[name] if column.name in shared)
            repairs += await self._table(name, columns, counts[name])
        tallies = tuple([TableCount(name, counts[name], await self.dst.count(name)) for name in order])
        return dataclasses.replace(report, counts=tallies, repairs=tuple(repairs), left_out=tuple(left_out))

    async def _table(self, table: str, columns: tuple[Column, ...], total: int) -> list[Repair]:
        names = [column.name for column in columns]
        fixes = [_Fix(index, column) for index, column in enumerate(columns) if column.kind != "plain"]
        done = 0
        self.progress(table, done, total)
        try:
            async for rows in self.src.batches(table, names, self.batch_size):
                await self.dst.write(table, names, _fixed(rows, fixes) if fixes else rows)
                done += len(rows)
                self.progress(table, done, total)
            await self.dst.advance_ids(table, columns)
        except _DB_ERRORS as error:
            raise CopyError(
                f"copying {table} failed, nothing was committed to the target: {_describe(error)}"
            ) from None
        return [
            Repair(f"{table}.{fix.column.name}", n, how) for fix in fixes for how, n in sorted(fix.repaired.items())
        ]


def _parents_first(tables: Iterable[str], references: dict[str, set[str]]) -> list[str]:
    names = sorted(tables)
    graph = {name: sorted(references.get(name, set()) & set(names) - {name}) for name in names}
    try:
        return list(TopologicalSorter(graph).static_order())
    except CycleError as error:
        raise CopyError(f"the target's foreign keys form a cycle ({' -> '.join(error.args[1])})") from None


# --- values the target's columns take -----------------------------------------------------------------------------


@dataclass(slots=True)
class _Fix:
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


def _fixed(rows: list[Row], fixes: list[_Fix]) -> list[Row]:
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


# --- the two dialects -----------------------------------------------------------------------------------------------


@asynccontextmanager
async def _opened(endpoint: Endpoint, *, read_only: bool) -> AsyncIterator[_Database]:
    database: _Database
    if endpoint.backend == "sqlite":
        database = await _SQLite.connect(sqlite_path(endpoint.url), read_only=read_only)
    else:
        database = await _Postgres.connect(endpoint.url)
    try:
        yield database
    finally:
        await database.close()


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _select(table: str, columns: Sequence[str]) -> str:
    return f"SELECT {', '.join(map(_quoted, columns))} FROM {_quoted(table)}"


def _grouped(pairs: Iterable[tuple[str, T]]) -> dict[str, list[T]]:
    """`{first: [second, ...]}` of (first, second) pairs, in their order."""
    groups: dict[str, list[T]] = {}
    for first, second in pairs:
        groups.setdefault(first, []).append(second)
    return groups


def _describe(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}" if str(error) else type(error).__name__


class _SQLite(Connected):
    def __init__(self, conn: aiosqlite.Connection) -> None:
        super().__init__(conn)
        conn.text_factory = lambda data: data.decode("utf-8", "replace")  # a hand edit's bad bytes do not stop it

    @classmethod
    async def connect(cls, path: Path, *, read_only: bool) -> _SQLite:
        try:
            if read_only:
                conn = await aiosqlite.connect(_read_only_uri(path), uri=True, isolation_level=None)
            else:
                conn = await connect(path)
        except _DB_ERRORS as error:
            raise CopyError(f"cannot open the database at {path}: {_describe(error)}") from None
        return cls(conn)

    async def version(self) -> int:
        try:
            return await self._value(f"SELECT COALESCE(MAX(version), 0) FROM {BOOKKEEPING_TABLE}")
        except sqlite3.DatabaseError:  # no such table (never migrated), or not a database: its store will say
            return 0

    async def tables(self) -> Tables:
        rows = await self._conn.execute_fetchall(
            "SELECT m.name, c.name FROM sqlite_master AS m JOIN pragma_table_info(m.name) AS c "
            "WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' AND m.name != ? ORDER BY m.name, c.cid",
            (BOOKKEEPING_TABLE,),
        )
        return {table: tuple(map(Column, names)) for table, names in _grouped((t, c) for t, c in rows).items()}

    async def references(self) -> dict[str, set[str]]:
        rows = await self._conn.execute_fetchall(
            'SELECT m.name, f."table" FROM sqlite_master AS m JOIN pragma_foreign_key_list(m.name) AS f '
            "WHERE m.type = 'table'"
        )
        return {table: set(parents) for table, parents in _grouped((t, p) for t, p in rows).items()}

    async def count(self, table: str) -> int:
        return await self._value(f"SELECT COUNT(*) FROM {_quoted(table)}")

    async def batches(self, table: str, columns: Sequence[str], size: int) -> AsyncIterator[list[Row]]:
        async with self._conn.execute(_select(table, columns)) as cursor:
            while rows := await cursor.fetchmany(size):
                yield [tuple(row) for row in rows]

    @asynccontextmanager
    async def transaction(self, *, write: bool, tables: Sequence[str] = ()) -> AsyncIterator[None]:
        """The store's write transaction (committed if the block ends well), or a reader's snapshot."""
        if write:
            async with self._transaction():
                yield
            return
        await self._conn.execute("BEGIN")  # deferred: the snapshot is taken at the first read
        try:
            yield
        finally:
            await self._conn.execute("ROLLBACK")

    async def clear(self, tables: Sequence[str]) -> None:
        for table in tables:
            await self._conn.execute(f"DELETE FROM {_quoted(table)}")

    async def write(self, table: str, columns: Sequence[str], rows: list[Row]) -> None:
        names, marks = ", ".join(map(_quoted, columns)), ", ".join("?" * len(columns))
        await self._conn.executemany(f"INSERT INTO {_quoted(table)} ({names}) VALUES ({marks})", rows)

    async def advance_ids(self, table: str, columns: Sequence[Column]) -> None:
        """Nothing to do: an INTEGER PRIMARY KEY takes the next id past the largest one."""

    async def close(self) -> None:
        await self._conn.close()

    async def _value(self, query: str) -> int:
        return int(next(iter(await self._conn.execute_fetchall(query)))[0])


def _read_only_uri(path: Path) -> str:
    return f"{path.resolve().as_uri()}?mode=ro"


class _Postgres:
    def __init__(self, conn: asyncpg.Connection) -> None:
        self._conn = conn

    @classmethod
    async def connect(cls, dsn: str) -> _Postgres:
        try:
            return cls(await asyncpg.connect(dsn, timeout=CONNECT_TIMEOUT))
        except (*_DB_ERRORS, ValueError) as error:
            why = scrubbed(_describe(error), dsn)
            raise CopyError(f"cannot open the database at {redacted_dsn(dsn)}: {why}") from None

    async def version(self) -> int:
        try:
            return int(await self._conn.fetchval(f"SELECT COALESCE(MAX(version), 0) FROM {BOOKKEEPING_TABLE}"))
        except asyncpg.UndefinedTableError:
            return 0

    async def tables(self) -> Tables:
        rows = await self._conn.fetch(
            "SELECT c.table_name, c.column_name, c.data_type, c.column_default, c.is_nullable = 'YES', "
            "c.is_identity = 'YES' FROM information_schema.columns AS c JOIN information_schema.tables AS t "
            "USING (table_schema, table_name) WHERE c.table_schema = current_schema() "
            "AND t.table_type = 'BASE TABLE' AND c.table_name <> $1 ORDER BY c.table_name, c.ordinal_position",
            BOOKKEEPING_TABLE,
        )
        return {
            table: tuple(found) for table, found in _grouped((row[0], _pg_column(*row[1:])) for row in rows).items()
        }

    async def references(self) -> dict[str, set[str]]:
        rows = await self._conn.fetch(
            "SELECT child.relname, parent.relname FROM pg_constraint AS k "
            "JOIN pg_class AS child ON child.oid = k.conrelid JOIN pg_class AS parent ON parent.oid = k.confrelid "
            "JOIN pg_namespace AS n ON n.oid = k.connamespace WHERE k.contype = 'f' AND n.nspname = current_schema()"
        )
        return {table: set(parents) for table, parents in _grouped((t, p) for t, p in rows).items()}

    async def count(self, table: str) -> int:
        return int(await self._conn.fetchval(f"SELECT COUNT(*) FROM {_quoted(table)}"))

    async def batches(self, table: str, columns: Sequence[str], size: int) -> AsyncIterator[list[Row]]:
        cursor = await self._conn.cursor(_select(table, columns))  # in the snapshot's transaction
        while rows := await cursor.fetch(size):
            yield [tuple(row) for row in rows]

    @asynccontextmanager
    async def transaction(self, *, write: bool, tables: Sequence[str] = ()) -> AsyncIterator[None]:
        """A writer's transaction (committed if the block ends well) holding `tables` against other writers, or a
        reader's snapshot."""
        isolation = "read_committed" if write else "repeatable_read"
        async with self._conn.transaction(isolation=isolation, readonly=not write):
            if tables:
                await self._conn.execute(f"LOCK TABLE {', '.join(map(_quoted, tables))} IN EXCLUSIVE MODE")
            yield

    async def clear(self, tables: Sequence[str]) -> None:
        await self._conn.execute(f"TRUNCATE {', '.join(map(_quoted, tables))}")

    async def write(self, table: str, columns: Sequence[str], rows: list[Row]) -> None:
        await self._conn.copy_records_to_table(table, records=rows, columns=list(columns))

    async def advance_ids(self, table: str, columns: Sequence[Column]) -> None:
        for column in (column for column in columns if column.identity):
            await self._conn.execute(
                "SELECT setval(pg_get_serial_sequence($1, $2), "
                f"GREATEST(COALESCE(MAX({_quoted(column.name)}), 0) + 1, 1), false) FROM {_quoted(table)}",
                _quoted(table),
                column.name,
            )

    async def close(self) -> None:
        await self._conn.close()


_Database = _SQLite | _Postgres


def _pg_column(name: str, data_type: str, default: str | None, nullable: bool, identity: bool) -> Column:
    kind, default = _PG_KINDS.get(data_type, "plain"), default or ""
    empty = None
    if kind == "json":
        match = _PG_JSON_DEFAULT.fullmatch(default)
        empty = match.group(1).replace("''", "'") if match else (None if nullable else "null")
    return Column(name, kind, empty, identity or default.startswith("nextval("))


def _no_progress(table: str, done: int, total: int) -> None:
    pass
