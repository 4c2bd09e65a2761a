"""SQLite's connection policy, shared by every part of the SQLite store.

One connection, one policy: WAL (readers never block the writer), `synchronous=NORMAL` (a committed write
survives the process being killed; an OS crash may lose the last moments), a busy timeout, foreign keys on, and
one gate (`ConnectionGate`): a transaction has the connection alone, so that two coroutines never share one, and
single statements are sent together.
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


class ConnectionGate:
    """Who may use the one connection now: `async with gate` has it alone (a transaction, or statements that depend
    on each other), `async with gate.shared()` is one statement, sent alongside other single statements.

    aiosqlite runs a connection's statements one after another on its thread. A lock around each statement made
    every one wait for the previous one's result to come back through the event loop: with a thousand answers
    streaming, one loop turn took milliseconds and the store could do no more than a few hundred statements a
    second, queueing a question's statements for seconds behind the answers' journal writes. Single statements in
    autocommit mode need no lock from each other, only from an open transaction: they are queued to the thread
    together and run back to back. The connection alone waits for the statements in flight to finish, and keeps new
    ones waiting until it is done (then they go before the next holder: neither side starves).
    """

    def __init__(self) -> None:
        self._alone = asyncio.Lock()  # held (or being handed on) while someone has the connection alone
        self._released = asyncio.Event()  # set while nobody holds the connection alone
        self._released.set()
        self._in_flight = 0
        self._drained = asyncio.Event()  # set while no single statement is in flight
        self._drained.set()

    async def __aenter__(self) -> None:
        await self._alone.acquire()
        self._released.clear()
        try:
            await self._drained.wait()
        except BaseException:
            self._release()
            raise

    async def __aexit__(self, *exc_info: object) -> None:
        self._release()

    def _release(self) -> None:
        self._released.set()  # before the next holder is woken, so the statements waiting go first
        self._alone.release()

    @asynccontextmanager
    async def shared(self) -> AsyncIterator[None]:
        while self._alone.locked():
            await self._released.wait()
        self._in_flight += 1
        self._drained.clear()
        try:
            yield
        finally:
            self._in_flight -= 1
            if not self._in_flight:
                self._drained.set()


class Connected:
    """The one connection and the gate that orders its use; the base of every part of the SQLite store."""

    def __init__(self, conn: aiosqlite.Connection) -> None:
        self._conn = conn
        self._lock = ConnectionGate()
        self._named_locks: dict[str, asyncio.Lock] = {}  # `exclusive`'s, by name

    @asynccontextmanager
    async def _transaction(self) -> AsyncIterator[None]:
        """BEGIN IMMEDIATE ... COMMIT, rolled back on any error. Hold the connection alone (`_lock`) around it."""
        await self._conn.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            await self._conn.execute("ROLLBACK")
            raise
        await self._conn.execute("COMMIT")
