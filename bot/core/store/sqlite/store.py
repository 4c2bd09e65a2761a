"""The SQLite store: everything the bot remembers, in one file on one connection (the policy is `connection.py`).

Its parts share that connection: conversations (`turns.py`), pictures and usage (`pictures.py`), server controls
(`servers.py`), personas (`personas.py`), chat usage and quotas (`usage.py`); the bot's own state by key is here.
It keeps every rule of `bot.core.store.contract`.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from bot.core.store.contract import LOCK_TIMEOUT, StoreError
from bot.core.store.failures import raising_store_errors
from bot.core.store.migrations import Migration, discover_migrations
from bot.core.store.sqlite.connection import connect
from bot.core.store.sqlite.migrate import migrate
from bot.core.store.sqlite.personas import PersonaRecords
from bot.core.store.sqlite.pictures import PictureRecords
from bot.core.store.sqlite.servers import ServerRecords
from bot.core.store.sqlite.turns import TurnRecords
from bot.core.store.sqlite.usage import UsageRecords
from bot.core.store.timing import timed_operations

log = logging.getLogger(__name__)


def _described(store: SQLiteStore, error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"


@timed_operations  # each operation's time, for the metrics
@raising_store_errors((sqlite3.Error, OSError), _described, keep_cause=True)  # the cause tells disk full, read-only
class SQLiteStore(TurnRecords, PictureRecords, ServerRecords, PersonaRecords, UsageRecords):
    """Everything the bot remembers. Open with `SQLiteStore.open(path)`; close when done."""

    @classmethod
    async def open(cls, path: Path, *, migrations: list[Migration] | None = None) -> SQLiteStore:
        """Open (or create) the database and bring its schema up to date."""
        try:
            conn = await connect(path)
        except (OSError, sqlite3.Error) as error:
            raise StoreError(f"cannot open the database at {path}: {error}") from error
        try:
            version = await migrate(conn, discover_migrations(dialect="sqlite") if migrations is None else migrations)
        except sqlite3.DatabaseError as error:
            await conn.close()
            raise StoreError(f"cannot use the database at {path}: {error}") from error
        except BaseException:
            await conn.close()
            raise
        log.info("store open at %s (schema version %d)", path, version)
        return cls(conn)

    async def close(self) -> None:
        async with self._lock:
            await self._conn.execute("PRAGMA optimize")
            await self._conn.close()

    async def __aenter__(self) -> SQLiteStore:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def state(self, key: str) -> str | None:
        async with self._lock:
            rows = list(await self._conn.execute_fetchall("SELECT value FROM bot_state WHERE key = ?", (key,)))
        return rows[0][0] if rows else None

    async def set_state(self, key: str, value: str) -> None:
        async with self._lock:
            await self._conn.execute(
                "INSERT INTO bot_state (key, value, updated_at) VALUES (?, ?, ?) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
                (key, value, time.time()),
            )

    @asynccontextmanager
    async def exclusive(self, name: str, *, max_wait: float = LOCK_TIMEOUT) -> AsyncIterator[None]:
        """Hold the lock `name` for the block. One process uses a SQLite file, so a lock of this process is one
        of all of them; the bot uses a few fixed names, so the locks are kept."""
        lock = self._named_locks.setdefault(name, asyncio.Lock())
        try:
            async with asyncio.timeout(max_wait):
                await lock.acquire()
        except TimeoutError:
            raise StoreError(f"the lock {name!r} was held for more than {max_wait:.0f} s") from None
        try:
            yield
        finally:
            lock.release()
