"""SQLite's connection policy, shared by every part of the SQLite store.

One connection, one policy: WAL (readers never block the writer), `synchronous=NORMAL` (a committed write
survives the process being killed; an OS crash may lose the last moments), a busy timeout, foreign keys on, and
every operation serialized by one lock, so that two coroutines never share a transaction.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import aiosqlite

BUSY_TIMEOUT_MS = 5000
WAL_SWITCH_ATTEMPTS = 20  # about 10 s in all


async def connect(path: Path) -> aiosqlite.Connection:
    """Open the database file with the store's connection policy (creating its folder if needed)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = await aiosqlite.connect(path, isolation_level=None)  # autocommit; transactions are explicit
    try:
        await conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        await _enable_wal(conn)
        await conn.execute("PRAGMA synchronous = NORMAL")
        await conn.execute("PRAGMA foreign_keys = ON")
    except BaseException:
        await conn.close()  # an open connection's thread would keep the process from exiting
        raise
    return conn


async def _enable_wal(conn: aiosqlite.Connection) -> None:
    """Switch to WAL. The switch needs an exclusive lock and does not wait for it, so retry a bounded while."""
    for attempt in range(WAL_SWITCH_ATTEMPTS):
        try:
            await conn.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or attempt == WAL_SWITCH_ATTEMPTS - 1:
                raise
            await asyncio.sleep(0.05 * (attempt + 1))


class Connected:
    """The one connection and the lock that serializes its use; the base of every part of the SQLite store."""

    def __init__(self, conn: aiosqlite.Connection) -> None:
        self._conn = conn
        self._lock = asyncio.Lock()
        self._named_locks: dict[str, asyncio.Lock] = {}  # `exclusive`'s, by name

    @asynccontextmanager
    async def _transaction(self) -> AsyncIterator[None]:
        """BEGIN IMMEDIATE ... COMMIT, rolled back on any error. Hold `_lock` around it."""
        await self._conn.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            await self._conn.execute("ROLLBACK")
            raise
        await self._conn.execute("COMMIT")
