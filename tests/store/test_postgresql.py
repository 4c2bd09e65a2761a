"""What only the PostgreSQL store has: a password to keep secret, migrations that several processes starting at once
apply once, and locks let go when the process holding them dies. What both backends promise is tested on each of
them in the other files here (`backend`, in `conftest.py`). The server is `TEST_DATABASE_URL`, each test in a schema
of its own (`dsn`); without a server the tests that need one are skipped, unless `FUSIONBOT_REQUIRE_POSTGRES=1`."""

from __future__ import annotations

import asyncio
import tomllib
import uuid
from pathlib import Path

import asyncpg
import pytest

from bot.core.store import MigrationError, StoreError
from bot.core.store.migrations import discover_migrations
from bot.core.store.postgresql import PostgresStore, redacted_dsn
from tests.store import conftest

# --- the password is a secret (no server needed) -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("dsn", "shown"),
    [
        ("postgresql://bot:hunter2@db:5432/fusionbot", "postgresql://bot:***@db:5432/fusionbot"),
        ("postgres://bot:p%40ss@db/fusionbot?sslmode=require", "postgres://bot:***@db/fusionbot?sslmode=require"),
        (
            "postgresql://bot@db/fusionbot?password=hunter2&sslmode=a",
            "postgresql://bot@db/fusionbot?password=***&sslmode=a",
        ),
        ("postgresql://bot@db/fusionbot", "postgresql://bot@db/fusionbot"),
        ("postgresql://db/fusionbot", "postgresql://db/fusionbot"),
    ],
)
def test_the_dsn_is_shown_without_its_password(dsn: str, shown: str) -> None:
    assert redacted_dsn(dsn) == shown


async def test_a_server_that_does_not_answer_is_a_store_error_without_the_password() -> None:
    with pytest.raises(StoreError) as raised:
        await PostgresStore.open("postgresql://bot:s3cr%40t-pw@127.0.0.1:1/fusionbot")
    message = str(raised.value)
    assert "s3cr" not in message and "127.0.0.1:1" in message and "bot:***@" in message
    assert raised.value.__cause__ is None and raised.value.__suppress_context__


async def test_a_database_refusing_the_connection_is_a_store_error_without_the_password(server: str) -> None:
    url = server.replace("postgres@", "postgres:s3cr%40t-pw@").rsplit("/", 1)[0] + "/no_such_database_fusionbot"
    with pytest.raises(StoreError) as raised:
        await PostgresStore.open(url)
    message = str(raised.value)
    assert "no_such_database_fusionbot" in message and "s3cr" not in message


def test_the_postgresql_migrations_ship_with_the_package() -> None:
    assert [migration.name for migration in discover_migrations(dialect="postgresql")][:2] == ["initial", "turn_guild"]
    package_data = tomllib.loads((Path(__file__).resolve().parents[2] / "pyproject.toml").read_text())
    assert package_data["tool"]["setuptools"]["package-data"]["migrations.postgresql"] == ["*.sql"]


# --- migrations -------------------------------------------------------------------------------------------------


async def test_four_processes_starting_at_once_apply_each_migration_once(dsn: str, admin: asyncpg.Connection) -> None:
    stores = await asyncio.gather(*(PostgresStore.open(dsn, pool_size=2) for _ in range(4)))
    for opened in stores:
        await opened.close()
    rows = await admin.fetch("SELECT version FROM schema_migrations ORDER BY version")
    assert [row[0] for row in rows] == [migration.version for migration in discover_migrations(dialect="postgresql")]


async def test_a_database_newer_than_the_code_is_refused(dsn: str, admin: asyncpg.Connection) -> None:
    async with await PostgresStore.open(dsn):
        pass
    await admin.execute("INSERT INTO schema_migrations (version, name, applied_at) VALUES (999, 'future', 0)")
    with pytest.raises(StoreError, match="newer than this version"):
        await PostgresStore.open(dsn)


async def test_a_failed_migration_is_rolled_back_whole(dsn: str, admin: asyncpg.Connection, tmp_path: Path) -> None:
    (tmp_path / "0001_initial.sql").write_text("CREATE TABLE kept_out (x INTEGER); SELECT no_such_column;")
    with pytest.raises(MigrationError, match=r"0001_initial\.sql failed and was rolled back"):
        await PostgresStore.open(dsn, migrations=discover_migrations(tmp_path))
    assert await admin.fetchval("SELECT to_regclass('kept_out')") is None
    assert await admin.fetchval("SELECT COUNT(*) FROM schema_migrations") == 0


# --- locks among processes ---------------------------------------------------------------------------------------


async def test_a_named_lock_is_held_by_one_process_and_let_go_when_that_process_dies(dsn: str) -> None:
    name = f"test-lock-{uuid.uuid4().hex}"  # advisory locks belong to the database, not to the test's schema
    holder, other = await PostgresStore.open(dsn), await PostgresStore.open(dsn)
    try:
        held = holder.exclusive(name)
        await held.__aenter__()
        with pytest.raises(StoreError, match="was held for more than 0 s"):
            async with other.exclusive(name, max_wait=0.2):
                pass
        holder.pool.terminate()  # the process dies holding the lock: its connections end
        async with other.exclusive(name, max_wait=5):
            pass
    finally:
        await other.close()


def __getattr__(name: str) -> object:
    """The PostgreSQL fixtures, which moved to `conftest.py`, for a test file that still imports them from here."""
    if name in {"server", "schema", "dsn", "admin"}:
        return getattr(conftest, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
