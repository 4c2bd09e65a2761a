"""Applying PostgreSQL's migrations (`migrations/postgresql/`): each file in one transaction that first takes a
fixed advisory lock and re-reads the version, so several processes starting on the same new database at once apply
each file exactly once; the version is recorded in `schema_migrations`, as SQLite's runner does.
"""

from __future__ import annotations

import logging
import time

import asyncpg

from bot.core.store.contract import MigrationError
from bot.core.store.migrations import Migration, discover_migrations, newest_version, pending, refuse_newer

log = logging.getLogger(__name__)

MIGRATION_LOCK_KEY = 0x46757369_6F6E4D67  # "FusionMg": one key for every fusionbot process on the database

_VERSION_TABLE = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    version    INTEGER PRIMARY KEY,
    name       TEXT NOT NULL,
    applied_at DOUBLE PRECISION NOT NULL
)
"""


async def schema_version(conn: asyncpg.Connection) -> int:
    return int(await conn.fetchval("SELECT COALESCE(MAX(version), 0) FROM schema_migrations"))


async def migrate(
    conn: asyncpg.Connection, migrations: list[Migration] | None = None, *, target: int | None = None
) -> int:
    """Apply the pending migrations up to `target` (default: all); return the database's version."""
    migrations = discover_migrations(dialect="postgresql") if migrations is None else migrations
    newest = newest_version(migrations)
    async with conn.transaction():
        await _lock(conn)
        await conn.execute(_VERSION_TABLE)  # under the lock: two processes never create it at once
        current = await schema_version(conn)
    for migration in pending(migrations, current, target):
        current = await _apply(conn, migration, newest)
    return current


async def _lock(conn: asyncpg.Connection) -> None:
    await conn.execute("SELECT pg_advisory_xact_lock($1)", MIGRATION_LOCK_KEY)


async def _apply(conn: asyncpg.Connection, migration: Migration, newest: int) -> int:
    script = migration.path.read_text(encoding="utf-8")
    try:
        async with conn.transaction():
            await _lock(conn)
            current = await schema_version(conn)
            refuse_newer(current, newest)
            if current < migration.version:
                await conn.execute(script)  # no arguments: the whole script, statement by statement
                await conn.execute(
                    "INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)",
                    migration.version,
                    migration.name,
                    time.time(),
                )
                current = migration.version
                log.info("applied migration %s", migration.path.name)
    except asyncpg.PostgresError as error:
        raise MigrationError(f"{migration.path.name} failed and was rolled back: {error}") from error
    return current
