"""What the picture tests share: PostgreSQL (`tests.postgres`) and "processes" on it, each a store with a pool of
its own and a shared picture queue on that pool, as a bot process in cluster mode has."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

import pytest

from bot.core.draw import QueueLimits
from bot.core.draw.shared_queue import RECHECK_SECONDS, SharedDrawQueue
from bot.core.store.postgresql import PostgresStore
from tests.postgres import dsn, schema, server

__all__ = ["dsn", "schema", "server"]


@dataclass(frozen=True, slots=True)
class Process:
    """One bot process's share of the database: its store (and pool) and its queue."""

    store: PostgresStore
    queue: SharedDrawQueue

    async def die(self) -> None:
        """End every connection at once, as when the process is killed: nothing is cleaned up."""
        self.store.pool.terminate()


OpenProcess = Callable[..., Awaitable[Process]]


@pytest.fixture
async def open_process(dsn: str) -> AsyncIterator[OpenProcess]:
    """`await open_process(limits, recheck_seconds=...)`: a new process on the test's schema (or `dsn=`'s), closed
    at the end."""
    opened: list[Process] = []

    async def open_(limits: QueueLimits, *, recheck_seconds: float = RECHECK_SECONDS, dsn: str = dsn) -> Process:
        store = await PostgresStore.open(dsn)
        try:
            queue = await SharedDrawQueue.open(store.pool, limits, recheck_seconds=recheck_seconds)
        except BaseException:
            await store.close()
            raise
        opened.append(Process(store, queue))
        return opened[-1]

    yield open_
    for process in reversed(opened):
        await process.queue.close()
        await process.store.close()
