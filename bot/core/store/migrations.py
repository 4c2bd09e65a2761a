"""Schema migrations: numbered SQL files per dialect in the `migrations` package, applied in order, one
transaction each.

`migrations/sqlite/0003_add_things.sql` brings a SQLite database to version 3; each backend has its dialect's
folder (`migrations/postgresql/` will sit beside it), numbered on its own. The files are the package's data, found
through `importlib.resources`, so an installed wheel finds them wherever it runs; finding none is an error, since
an empty schema would only fail later. The applied versions are recorded in `schema_migrations`. A failed file is
rolled back whole, leaving the database at the version before it; a database whose version is newer than the
newest file stops start-up rather than being used by code that does not know it.
"""

from __future__ import annotations

import logging
import re
import sqlite3
import time
from dataclasses import dataclass
from importlib import resources
from importlib.resources.abc import Traversable
from operator import attrgetter
from typing import Literal

import aiosqlite

log = logging.getLogger(__name__)

MIGRATIONS_PACKAGE = "migrations"
Dialect = Literal["sqlite"]  # a folder of `migrations`; "postgresql" joins with its backend
_FILE_NAME = re.compile(r"(\d{4})_([a-z0-9_]+)\.sql")
_VERSION_TABLE = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    version    INTEGER PRIMARY KEY,
    name       TEXT NOT NULL,
    applied_at REAL NOT NULL
)
"""


class StoreError(Exception):
    """The database cannot be used; the message says why and what to do."""


class MigrationError(StoreError):
    """A migration file is malformed or failed to apply."""


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    path: Traversable


def packaged_migrations(dialect: Dialect = "sqlite") -> Traversable:
    """The folder of one dialect's files in the installed `migrations` package."""
    try:
        return resources.files(MIGRATIONS_PACKAGE) / dialect
    except ModuleNotFoundError as error:
        raise MigrationError(
            f"the {MIGRATIONS_PACKAGE!r} package is not installed; reinstall fusionbot (the wheel ships it)"
        ) from error


def discover_migrations(directory: Traversable | None = None, *, dialect: Dialect = "sqlite") -> list[Migration]:
    """The migration files of `directory` (default: the packaged ones of `dialect`), in order; their numbers must
    run 1, 2, 3... with no gap or repeat, and there is one."""
    directory = packaged_migrations(dialect) if directory is None else directory
    migrations = []
    files = (entry for entry in _entries(directory) if entry.name.endswith(".sql"))
    for path in sorted(files, key=attrgetter("name")):
        match = _FILE_NAME.fullmatch(path.name)
        if match is None:
            raise MigrationError(f"{path.name}: expected a name like 0001_description.sql")
        migrations.append(Migration(int(match.group(1)), match.group(2), path))
    if not migrations:
        raise MigrationError(f"no migration files (NNNN_name.sql) in {directory}; reinstall fusionbot")
    for expected, migration in enumerate(migrations, start=1):
        if migration.version != expected:
            raise MigrationError(f"{migration.path.name}: expected migration number {expected:04d}")
    return migrations


def _entries(directory: Traversable) -> list[Traversable]:
    """The folder's entries; none when it is missing (a dialect's folder left out of an install)."""
    return list(directory.iterdir()) if directory.is_dir() else []


async def schema_version(conn: aiosqlite.Connection) -> int:
    rows = await conn.execute_fetchall("SELECT COALESCE(MAX(version), 0) FROM schema_migrations")
    return int(next(iter(rows))[0])


async def migrate(
    conn: aiosqlite.Connection, migrations: list[Migration] | None = None, *, target: int | None = None
) -> int:
    """Apply the pending migrations up to `target` (default: all); return the database's version.

    Each file runs in its own `BEGIN IMMEDIATE` transaction that re-reads the version first, so two processes
    starting on the same new database never apply a file twice.
    """
    migrations = discover_migrations() if migrations is None else migrations
    if not migrations:
        raise MigrationError("no migrations to apply: an empty schema would only fail later")
    newest = migrations[-1].version
    await conn.execute(_VERSION_TABLE)
    current = await schema_version(conn)
    _refuse_newer(current, newest)
    for migration in migrations:
        if current < migration.version <= (newest if target is None else target):
            current = await _apply(conn, migration, newest)
    return current


def _refuse_newer(current: int, newest: int) -> None:
    if current > newest:
        raise StoreError(
            f"the database is at schema version {current}, newer than this version of fusionbot knows "
            f"({newest}); run a newer fusionbot or restore a backup made for this one"
        )


async def _apply(conn: aiosqlite.Connection, migration: Migration, newest: int) -> int:
    statements = split_statements(migration.path.read_text(encoding="utf-8"))
    await conn.execute("BEGIN IMMEDIATE")
    try:
        current = await schema_version(conn)
        _refuse_newer(current, newest)
        if current < migration.version:
            for statement in statements:
                await conn.execute(statement)
            await conn.execute(
                "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
                (migration.version, migration.name, time.time()),
            )
            current = migration.version
            log.info("applied migration %s", migration.path.name)
        await conn.execute("COMMIT")
    except BaseException as error:
        if conn.in_transaction:  # SQLite itself rolls back on some errors, such as a full disk
            await conn.execute("ROLLBACK")
        if isinstance(error, sqlite3.Error):
            raise MigrationError(f"{migration.path.name} failed and was rolled back: {error}") from error
        raise
    return current


def split_statements(script: str) -> list[str]:
    """The SQL statements of a script, whole (a trigger's body stays in one piece)."""
    statements, pending = [], ""
    for line in script.splitlines(keepends=True):
        pending += line
        if sqlite3.complete_statement(pending):
            if pending.strip().rstrip(";").strip():
                statements.append(pending.strip())
            pending = ""
    if pending.strip() and not _only_comments(pending):
        raise MigrationError(f"unterminated statement at the end of the script: {pending.strip()[:80]!r}")
    return statements


def _only_comments(text: str) -> bool:
    return all(not line.strip() or line.strip().startswith("--") for line in text.splitlines())
