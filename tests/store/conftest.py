"""The store's tests run on each backend: a test that takes `backend` (or `store`, opened on it) runs once on SQLite
and once on PostgreSQL, as `test_x[sqlite]` and `test_x[postgresql]`.

`backend` is a `BackendDatabase`: a database of the test's own (a SQLite file in `tmp_path`; a fresh PostgreSQL
schema, dropped afterwards), its `url` (a `DATABASE_URL`, for `open_store` and for child processes), `open()` to open
a store on it as often as a test likes (opening it again is the bot restarting on the same database), and
`insert_unchecked` to write rows past the schema's checks in the backend's own SQL.

PostgreSQL is `tests.postgres`'s: `TEST_DATABASE_URL` (by default the local `test` database), a schema for each test
(`dsn`). Without a server answering there, every PostgreSQL test is skipped, saying so, unless
`FUSIONBOT_REQUIRE_POSTGRES=1` (CI), which makes that a failure. Its fixtures (`server`, `schema`, `dsn`) and
`admin` here serve the PostgreSQL-only tests too.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import asyncpg
import pytest

from bot.core.store import StoreBackend
from bot.core.store.backends import backend_of, open_store, sqlite_path
from tests.postgres import dsn, schema, server

__all__ = ["BackendDatabase", "admin", "backend", "dsn", "schema", "server", "store"]
BACKENDS = ["sqlite", "postgresql"]


@dataclass(frozen=True, slots=True)
class BackendDatabase:
    """One backend's database, the test's own."""

    url: str  # its DATABASE_URL

    @property
    def name(self) -> Literal["sqlite", "postgresql"]:
        return backend_of(self.url)

    @asynccontextmanager
    async def open(self) -> AsyncIterator[StoreBackend]:
        """A store on the database (its schema brought up to date), closed at the end of the block."""
        store = await open_store(self.url)
        try:
            yield store
        finally:
            await store.close()

    async def insert_unchecked(self, table: str, columns: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
        """Insert rows past the schema's CHECK constraints, as an older or newer schema (or a hand edit) may have
        written them; open a store once before, for the schema to exist.

        PostgreSQL's jsonb holds nothing but JSON, so there a value for a jsonb column that is not JSON at all is
        written as a JSON string of it: a value of the wrong shape, the worst another writer can leave there."""
        if self.name == "sqlite":
            _insert_sqlite(sqlite_path(self.url), table, columns, rows)
        else:
            await _insert_postgresql(self.url, table, columns, rows)


def _insert_sqlite(path: Path, table: str, columns: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA ignore_check_constraints = ON")
        conn.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})", rows)
    conn.close()


async def _insert_postgresql(dsn: str, table: str, columns: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        checks = await conn.fetch(
            "SELECT conname FROM pg_constraint WHERE conrelid = $1::regclass AND contype = 'c'", table
        )
        for check in checks:  # the test's schema is its own: its checks can go
            await conn.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{check[0]}"')
        jsonb = {
            row[0]
            for row in await conn.fetch(
                "SELECT column_name FROM information_schema.columns "
                "WHERE table_schema = current_schema() AND table_name = $1 AND data_type = 'jsonb'",
                table,
            )
        }
        placeholders = ", ".join(f"${number}" for number in range(1, len(columns) + 1))
        await conn.executemany(
            f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({placeholders})",
            [
                [_as_json(value) if column in jsonb else value for column, value in zip(columns, row, strict=True)]
                for row in rows
            ],
        )
    finally:
        await conn.close()


def _as_json(value: object) -> object:
    if not isinstance(value, str):
        return value
    try:
        json.loads(value)
    except ValueError:
        return json.dumps(value)
    return value


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> BackendDatabase:
    """The test's database on each backend in turn (its folder not yet made, on SQLite)."""
    if request.param == "postgresql":
        return BackendDatabase(request.getfixturevalue("dsn"))
    return BackendDatabase(f"sqlite:///{tmp_path / 'store' / 'bot.sqlite3'}")


@pytest.fixture
async def store(backend: BackendDatabase) -> AsyncIterator[StoreBackend]:
    """A store open on `backend`'s database for the test."""
    async with backend.open() as opened:
        yield opened


# --- PostgreSQL (`server`, `schema` and `dsn` from `tests.postgres`) ------------------------------------------


@pytest.fixture
async def admin(dsn: str) -> AsyncIterator[asyncpg.Connection]:
    """A plain connection to the test's schema, for writing what the store would not."""
    conn = await asyncpg.connect(dsn)
    yield conn
    await conn.close()
