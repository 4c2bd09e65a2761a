"""The PostgreSQL store: everything the bot remembers, in one database that several processes share, on a pool of
asyncpg connections (the policy is `pool.py`).

Its parts share that pool: conversations (`turns.py`), pictures and usage (`pictures.py`), server controls
(`servers.py`); the bot's own state by key is here. It keeps every rule of `bot.core.store.contract`.
"""

from __future__ import annotations

import logging
import time

import asyncpg

from bot.core.store.contract import StoreError
from bot.core.store.migrations import Migration, discover_migrations
from bot.core.store.postgresql.migrate import migrate
from bot.core.store.postgresql.pictures import PictureRecords
from bot.core.store.postgresql.pool import COMMAND_TIMEOUT, redacted_dsn, scrubbed
from bot.core.store.postgresql.servers import ServerRecords
from bot.core.store.postgresql.turns import TurnRecords

log = logging.getLogger(__name__)

_CONNECT_ERRORS = (OSError, TimeoutError, ValueError, asyncpg.PostgresError, asyncpg.InterfaceError)


class PostgresStore(TurnRecords, PictureRecords, ServerRecords):
    """Everything the bot remembers. Open with `PostgresStore.open(dsn)`; close when done."""

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
        return cls(pool)

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


def _describe(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
