"""Applying SQLite's migrations (`migrations/sqlite/`): each file in one `BEGIN IMMEDIATE` transaction, its
statements split whole with `sqlite3.complete_statement`, the version recorded in `schema_migrations`.
"""

from __future__ import annotations

import logging
import sqlite3
import time

import aiosqlite

from bot.core.store.contract import MigrationError
from bot.core.store.migrations import Migration, discover_migrations, newest_version, pending, refuse_newer

log = logging.getLogger(__name__)

_VERSION_TABLE = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    version    INTEGER PRIMARY KEY,
    name       TEXT NOT NULL,
    applied_at REAL NOT NULL
)
"""


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
    migrations = discover_migrations(dialect="sqlite") if migrations is None else migrations
    newest = newest_version(migrations)
    await conn.execute(_VERSION_TABLE)
    current = await schema_version(conn)
    for migration in pending(migrations, current, target):
        current = await _apply(conn, migration, newest)
    return current


async def _apply(conn: aiosqlite.Connection, migration: Migration, newest: int) -> int:
    statements = split_statements(migration.path.read_text(encoding="utf-8"))
    await conn.execute("BEGIN IMMEDIATE")
    try:
        current = await schema_version(conn)
        refuse_newer(current, newest)
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
