"""The PostgreSQL store: everything the bot remembers, in one database that several processes share, on a pool of
asyncpg connections (the policy is `pool.py`).

Its parts share that pool: conversations (`turns.py`), pictures and usage (`pictures.py`), server controls
(`servers.py`), personas (`personas.py`), chat usage and quotas (`usage.py`); the bot's own state by key is here.
It keeps every rule of `bot.core.store.contract`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg

from bot.core.store.contract import LOCK_TIMEOUT, StoreError
from bot.core.store.failures import raising_store_errors
from bot.core.store.migrations import Migration, discover_migrations
from bot.core.store.postgresql.migrate import migrate
from bot.core.store.postgresql.personas import PersonaRecords
from bot.core.store.postgresql.pictures import PictureRecords
from bot.core.store.postgresql.pool import COMMAND_TIMEOUT, NAMED_LOCK_CLASS, redacted_dsn, scrubbed
from bot.core.store.postgresql.servers import ServerRecords
from bot.core.store.postgresql.turns import TurnRecords
from bot.core.store.postgresql.usage import UsageRecords
from bot.core.store.timing import timed_operations

log = logging.getLogger(__name__)

_CONNECT_ERRORS = (OSError, TimeoutError, ValueError, asyncpg.PostgresError, asyncpg.InterfaceError)
_OPERATION_ERRORS = (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError)


def _described(store: PostgresStore, error: BaseException) -> str:
    return scrubbed(_describe(error), store._dsn)


@timed_operations  # each operation's time, for the metrics
@raising_store_errors(_OPERATION_ERRORS, _described, keep_cause=False)  # the driver's text might quote the DSN
class PostgresStore(TurnRecords, PictureRecords, ServerRecords, PersonaRecords, UsageRecords):
    """Everything the bot remembers. Open with `PostgresStore.open(dsn)`; close when done.

    Any operation the database fails raises `StoreError` without the DSN's password."""

    def __init__(self, pool: asyncpg.Pool, *, dsn: str = "") -> None:
        super().__init__(pool)
        self._dsn = dsn  # only to scrub its password out of errors

    @classmethod
    async def open(cls, dsn: str, *, pool_size: int = 5, migrations: list[Migration] | None = None) -> PostgresStore:
        """Connect a pool of up to `pool_size` connections and bring the schema up to date (once, whichever of
        several processes starting at the same moment gets there first).

        The errors it raises never show the DSN's password: the DSN is shown redacted (`redacted_dsn`), and the
        driver's message is raised without its traceback, since it may quote the password.
        """
        where = redacted_dsn(dsn)
        try:
            pool = await asyncpg.create_pool(dsn, min_size=1, max_size=pool_size, command_timeout=COMMAND_TIMEOUT)
        except _CONNECT_ERRORS as error:
            raise StoreError(f"cannot open the database at {where}: {scrubbed(_describe(error), dsn)}") from None
        try:
            async with pool.acquire() as conn:
                version = await migrate(
                    conn, discover_migrations(dialect="postgresql") if migrations is None else migrations
                )
        except _CONNECT_ERRORS as error:
            await pool.close()
            raise StoreError(f"cannot use the database at {where}: {scrubbed(_describe(error), dsn)}") from None
        except BaseException:
            await pool.close()
            raise
        log.info("store open at %s (schema version %d)", where, version)
        return cls(pool, dsn=dsn)

    @property
    def pool(self) -> asyncpg.Pool:
        """The connections, for the shared state kept beside the store (the picture queue of every process)."""
        return self._pool

    async def close(self) -> None:
        await self._pool.close()

    async def __aenter__(self) -> PostgresStore:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def state(self, key: str) -> str | None:
        return await self._pool.fetchval("SELECT value FROM bot_state WHERE key = $1", key)

    async def set_state(self, key: str, value: str) -> None:
        await self._pool.execute(
            "INSERT INTO bot_state (key, value, updated_at) VALUES ($1, $2, $3) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
            key,
            value,
            time.time(),
        )

    @asynccontextmanager
    async def exclusive(self, name: str, *, max_wait: float = LOCK_TIMEOUT) -> AsyncIterator[None]:
        """Hold the lock `name` among every process on this database for the block: an advisory lock of a
        connection's session, so a process that dies holding it lets go when its connection ends."""
        async with self._pool.acquire() as conn:
            try:
                await conn.execute(
                    "SELECT pg_advisory_lock($1, hashtext($2))", NAMED_LOCK_CLASS, name, timeout=max_wait
                )
            except TimeoutError:
                raise StoreError(f"the lock {name!r} was held for more than {max_wait:.0f} s") from None
            try:
                yield
            finally:
                await conn.execute("SELECT pg_advisory_unlock($1, hashtext($2))", NAMED_LOCK_CLASS, name)


def _describe(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
