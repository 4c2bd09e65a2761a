"""The two dialects a copy reads and writes: `opened` gives a `Database` (SQLite through aiosqlite, PostgreSQL
through asyncpg) that finds its data tables, their columns and foreign keys, counts, reads in batches, writes and
sets identity sequences past the copied ids, in a reader's snapshot or a writer's transaction.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TypeVar

import aiosqlite
import asyncpg

from bot.core.store.backends import sqlite_path
from bot.core.store.copy.report import Column, CopyError, Endpoint, Kind, Row, Tables
from bot.core.store.postgresql import redacted_dsn
from bot.core.store.postgresql.pool import scrubbed
from bot.core.store.sqlite.connection import Connected, connect

BOOKKEEPING_TABLE = "schema_migrations"  # each database's own history, never copied
CONNECT_TIMEOUT = 10.0

T = TypeVar("T")
DB_ERRORS = (OSError, TimeoutError, sqlite3.Error, asyncpg.PostgresError, asyncpg.InterfaceError)
_PG_KINDS: dict[str, Kind] = {"boolean": "bool", "json": "json", "jsonb": "json", "text": "text"}
_PG_JSON_DEFAULT = re.compile(r"'((?:[^']|'')*)'::jsonb?")


@asynccontextmanager
async def opened(endpoint: Endpoint, *, read_only: bool) -> AsyncIterator[Database]:
    database: Database
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


def describe(error: BaseException) -> str:
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
        except DB_ERRORS as error:
            raise CopyError(f"cannot open the database at {path}: {describe(error)}") from None
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
        except (*DB_ERRORS, ValueError) as error:
            why = scrubbed(describe(error), dsn)
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


Database = _SQLite | _Postgres


def _pg_column(name: str, data_type: str, default: str | None, nullable: bool, identity: bool) -> Column:
    kind, default = _PG_KINDS.get(data_type, "plain"), default or ""
    empty = None
    if kind == "json":
        match = _PG_JSON_DEFAULT.fullmatch(default)
        empty = match.group(1).replace("''", "'") if match else (None if nullable else "null")
    return Column(name, kind, empty, identity or default.startswith("nextval("))
