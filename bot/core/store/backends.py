"""Which backend a `DATABASE_URL` names, and opening it: `sqlite:///path` (the embedded default, one process) or
`postgresql://` / `postgres://` (one database that several processes share).

The rest of the bot holds the `StoreBackend` this returns and never asks which one it is.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from bot.core.store.contract import StoreBackend
from bot.core.store.postgresql import PostgresStore
from bot.core.store.sqlite import SQLiteStore

SQLITE_PREFIX = "sqlite:///"
POSTGRESQL_SCHEMES = ("postgresql://", "postgres://")
Backend = Literal["sqlite", "postgresql"]


def backend_of(database_url: str) -> Backend:
    """The backend a URL names; `ValueError` saying what is expected for any other."""
    if database_url.startswith(SQLITE_PREFIX) and len(database_url) > len(SQLITE_PREFIX):
        return "sqlite"
    if database_url.startswith(POSTGRESQL_SCHEMES) and database_url.partition("://")[2]:
        return "postgresql"
    raise ValueError(
        "expected sqlite:///relative/path, sqlite:////absolute/path or postgresql://user:password@host:5432/db"
    )


def sqlite_path(database_url: str) -> Path:
    """The SQLite file of a `sqlite:///` URL: relative paths are taken from the working directory."""
    return Path(database_url.removeprefix(SQLITE_PREFIX))


async def open_store(database_url: str, *, pool_size: int = 5) -> StoreBackend:
    """Open the store the URL names and bring its schema up to date; `pool_size` is PostgreSQL's most connections.
    Raises `StoreError` (its message never shows a password) when the database cannot be used."""
    if backend_of(database_url) == "postgresql":
        return await PostgresStore.open(database_url, pool_size=pool_size)
    return await SQLiteStore.open(sqlite_path(database_url))
