"""SQLite's migrations: applied in order from any earlier version, atomic per file, refusing a newer database (read
with SQLite's own tools, so SQLite only; PostgreSQL's runner is tested in `test_postgresql.py`)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from bot.core.store import MigrationError, Store, StoreError
from bot.core.store.migrations import discover_migrations
from bot.core.store.sqlite import connect
from bot.core.store.sqlite.migrate import migrate

REAL_MIGRATIONS = discover_migrations()


def schema_of(path: Path) -> list[tuple[str, str, str]]:
    with sqlite3.connect(path) as conn:
        rows = conn.execute(
            "SELECT type, name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' ORDER BY type, name"
        ).fetchall()
    conn.close()
    return rows


def version_of(path: Path) -> int:
    with sqlite3.connect(path) as conn:
        version = conn.execute("SELECT MAX(version) FROM schema_migrations").fetchone()[0]
    conn.close()
    return version


def write_migrations(directory: Path, *scripts: str) -> list:
    directory.mkdir()
    for number, script in enumerate(scripts, start=1):
        (directory / f"{number:04d}_step_{number}.sql").write_text(script)
    return discover_migrations(directory)


async def test_migrations_are_numbered_from_one_without_gaps() -> None:
    assert [m.version for m in REAL_MIGRATIONS] == list(range(1, len(REAL_MIGRATIONS) + 1))


async def test_store_open_creates_the_schema_in_an_empty_database(tmp_path: Path) -> None:
    path = tmp_path / "new" / "bot.db"
    store = await Store.open(path)
    await store.close()
    assert version_of(path) == len(REAL_MIGRATIONS)
    tables = {name for kind, name, _ in schema_of(path) if kind == "table"}
    assert {"conversation_turns", "channels", "guilds", "image_generations", "usage_events"} <= tables


@pytest.mark.parametrize("start", range(len(REAL_MIGRATIONS) + 1))
async def test_every_earlier_version_upgrades_to_the_same_schema(tmp_path: Path, start: int) -> None:
    fresh, upgraded = tmp_path / "fresh.db", tmp_path / "upgraded.db"
    await (await Store.open(fresh)).close()
    conn = await connect(upgraded)
    assert await migrate(conn, REAL_MIGRATIONS, target=start) == start
    await conn.close()

    await (await Store.open(upgraded)).close()

    assert schema_of(upgraded) == schema_of(fresh)
    assert version_of(upgraded) == len(REAL_MIGRATIONS)


async def test_failed_migration_leaves_the_database_as_it_was(tmp_path: Path) -> None:
    migrations = write_migrations(
        tmp_path / "migrations",
        "CREATE TABLE kept (id INTEGER);",
        "CREATE TABLE half_done (id INTEGER); INSERT INTO kept VALUES (1); SELECT * FROM no_such_table;",
    )
    path = tmp_path / "bot.db"
    with pytest.raises(MigrationError, match=r"0002_step_2\.sql failed and was rolled back"):
        await Store.open(path, migrations=migrations)

    assert version_of(path) == 1
    names = {name for _, name, _ in schema_of(path)}
    assert "kept" in names and "half_done" not in names
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT COUNT(*) FROM kept").fetchone()[0] == 0
    conn.close()


async def test_database_newer_than_the_code_stops_start_up(tmp_path: Path) -> None:
    path = tmp_path / "bot.db"
    newer = write_migrations(tmp_path / "newer", "CREATE TABLE a (id INTEGER);", "CREATE TABLE b (id INTEGER);")
    await (await Store.open(path, migrations=newer)).close()

    with pytest.raises(StoreError, match="schema version 2, newer than this version of fusionbot knows \\(1\\)"):
        await Store.open(path, migrations=newer[:1])


def test_badly_named_migration_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "0001_first.sql").write_text("")
    (tmp_path / "0003_skipped.sql").write_text("")
    with pytest.raises(MigrationError, match=r"0003_skipped\.sql: expected migration number 0002"):
        discover_migrations(tmp_path)
    (tmp_path / "third.sql").write_text("")
    with pytest.raises(MigrationError, match=r"third\.sql: expected a name like"):
        discover_migrations(tmp_path)


async def test_a_file_that_is_not_a_database_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "bot.db"
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StoreError, match=r"cannot (open|use) the database at"):
        await Store.open(path)


async def test_no_migration_files_stop_start_up_instead_of_an_empty_schema(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(MigrationError, match=r"no migration files \(NNNN_name\.sql\) in .*empty; reinstall fusionbot"):
        discover_migrations(tmp_path / "empty")
    with pytest.raises(StoreError, match="no migrations to apply"):
        await Store.open(tmp_path / "bot.db", migrations=[])


async def test_a_missing_migrations_package_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("bot.core.store.migrations.MIGRATIONS_PACKAGE", "fusionbot_no_such_package")
    with pytest.raises(StoreError, match="'fusionbot_no_such_package' package is not installed; reinstall fusionbot"):
        await Store.open(tmp_path / "bot.db")
