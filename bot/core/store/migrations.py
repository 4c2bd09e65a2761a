"""Schema migrations: numbered SQL files per dialect in the `migrations` package, found here and applied by each
backend (`bot.core.store.sqlite.migrate`, `bot.core.store.postgresql.migrate`) in order, one transaction each.

`migrations/sqlite/0003_add_things.sql` brings a SQLite database to version 3; each backend has its dialect's
folder (`migrations/postgresql/` beside it), numbered on its own. The files are the package's data, found
through `importlib.resources`, so an installed wheel finds them wherever it runs; finding none is an error, since
an empty schema would only fail later. Every backend records the applied versions in `schema_migrations`, rolls a
failed file back whole (leaving the database at the version before it), and refuses a database whose version is
newer than the newest file (`refuse_newer`) rather than letting code that does not know it use it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources
from importlib.resources.abc import Traversable
from operator import attrgetter
from typing import Literal

from bot.core.store.contract import MigrationError, StoreError

MIGRATIONS_PACKAGE = "migrations"
Dialect = Literal["sqlite", "postgresql"]  # a folder of `migrations` each
_FILE_NAME = re.compile(r"(\d{4})_([a-z0-9_]+)\.sql")


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


def refuse_newer(current: int, newest: int) -> None:
    """Stop before a database this version does not know is used: its schema is newer than our newest file."""
    if current > newest:
        raise StoreError(
            f"the database is at schema version {current}, newer than this version of fusionbot knows "
            f"({newest}); run a newer fusionbot or restore a backup made for this one"
        )


def newest_version(migrations: list[Migration]) -> int:
    """The version the migrations bring a database to; an empty set is refused: an empty schema would only fail
    later."""
    if not migrations:
        raise MigrationError("no migrations to apply: an empty schema would only fail later")
    return migrations[-1].version


def pending(migrations: list[Migration], current: int, target: int | None = None) -> list[Migration]:
    """The migrations a database at version `current` still needs, up to `target` (default: all of them); a
    database made by a newer fusionbot is refused (`refuse_newer`)."""
    newest = newest_version(migrations)
    refuse_newer(current, newest)
    return [m for m in migrations if current < m.version <= (newest if target is None else target)]
