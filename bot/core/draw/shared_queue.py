"""The picture queue of every process sharing one PostgreSQL database (cluster mode): a `PictureQueue` on the
`picture_queue` table (migration 0003) with the rules of the in-memory `DrawQueue`, held across processes.

Open with `await SharedDrawQueue.open(pool, limits)`, close with `await queue.close()`. The statements are in
`shared_queue_db`.

- **One writer at a time.** Every change of the line (a join, a leave, a grant) is one transaction that first
  takes the queue's transaction-scoped advisory lock (`QUEUE_LOCK_CLASS`), so the admissions and grants of all
  processes are serialized. The grant is then a plain UPDATE of the waiting rows that fit, in position order (an
  identity column: first come, first served across processes): under the lock there is no other writer, and
  `FOR UPDATE SKIP LOCKED` would only let a later row overtake an earlier one.
- **Wake-ups by NOTIFY.** A change ends with `pg_notify` on the schema's channel. Each queue LISTENs on one
  connection it holds from the pool for its life, whose backend (`pid`, `backend_start`) owns its rows; on a
  notification its task reads its own tickets' states and places in one query and wakes their waiters. A join
  reads them at once too, so a new request shows its place without waiting; reads are one at a time, so a later
  one never shows an older line.
- **Admission.** A session advisory lock of the user (`ADMISSION_LOCK_CLASS`) on one connection, held for the
  block; one admission at a time per process (an asyncio lock first), so a burst never takes every connection of
  the pool while each also needs one to store its request and join.
- **A process that died.** Its rows no longer have a live owner in `pg_stat_activity`: reads skip them (the
  `picture_queue_live` view) and every change first deletes them. Nothing announces a death, so while tickets of
  this process wait, its task also makes a change (a grant) every `recheck_seconds` (5 s) when nothing else
  happened: a dead process's turns are handed on within that. (Waiting on a session lock of each other process
  would notice a death at once, but take a connection per process.) Its picture records are the start-up repair's.
- **A lost listening connection** is logged and listened again at once; the new backend takes over this
  process's rows, writing back any that another process forgot meanwhile (a waiting one at the end of the line).
  If listening fails, waiting tickets fail with `QueueUnavailableError` and new ones are refused until it works
  again (tried every `recheck_seconds`). Every statement has a timeout (`STATEMENT_TIMEOUT`).
- **Per schema.** Advisory locks and channels are the database's, so the lock keys carry the schema's hashtext
  and the channel its md5: deployments (and tests) in different schemas of one database never meet.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import datetime

import asyncpg

from bot.core.draw import shared_queue_db as sql
from bot.core.draw.queue import OnPlace, QueueLimits, QueueRecord, QueueSnapshot, Ticket, refuse_unless_room, server_key
from bot.core.draw.shared_queue_db import (
    DB_ERRORS,
    STATEMENT_TIMEOUT,
    QueueUnavailableError,
    describe,
    terminate,
    unavailable,
)

log = logging.getLogger(__name__)

QUEUE_LOCK_CLASS = 0x46420003  # the first key of the queue's lock, the second the schema's hashtext
ADMISSION_LOCK_CLASS = 0x46420004  # the first key of a user's admission lock, the second hashtext(schema:user)
# The listener, an admission's lock and, while it holds that, one to store the request and join.
MIN_POOL_SIZE = 3
RECHECK_SECONDS = 5.0  # while tickets wait: the longest time before a dead process's turns are handed on
_T = STATEMENT_TIMEOUT

Work = Callable[[asyncpg.Connection], Awaitable[None]]


class SharedDrawQueue:
    """The picture queue of every process on one PostgreSQL database (see the module's docstring)."""

    def __init__(self, pool: asyncpg.Pool, limits: QueueLimits, *, recheck_seconds: float = RECHECK_SECONDS) -> None:
        self.limits = limits
        self._pool = pool
        self._recheck_seconds = recheck_seconds
        self._tickets: dict[int, Ticket] = {}  # this process's, by generation id
        self._places: dict[int, tuple[int, int]] = {}  # a waiting ticket's (place, waiting), as last read
        self._failed: set[int] = set()  # waiting tickets whose wait failed (no database)
        self._departed: set[int] = set()  # tickets that left but whose row could not be deleted yet
        self._changed = asyncio.Event()  # replaced on every change: the waiters' wake-up
        self._wake = asyncio.Event()  # the task's: a notification came, or something needs doing
        self._stale = False  # a row was missing or a step failed: look again within `recheck_seconds`
        self._admitting = asyncio.Lock()
        self._reading = asyncio.Lock()  # one read of the places at a time: the last one read is the newest
        self._listener: asyncpg.Connection | None = None
        self._owner: tuple[int, datetime] = (0, datetime.min)
        self._channel = ""
        self._task: asyncio.Task[None] | None = None
        self._closing = False

    @classmethod
    async def open(
        cls, pool: asyncpg.Pool, limits: QueueLimits, *, recheck_seconds: float = RECHECK_SECONDS
    ) -> SharedDrawQueue:
        """Listen on a connection of `pool` (held until `close`; the pool needs `MIN_POOL_SIZE` or more) and start
        the queue's task."""
        if pool.get_max_size() < MIN_POOL_SIZE:
            raise ValueError(f"the shared picture queue needs a pool of {MIN_POOL_SIZE} connections or more")
        queue = cls(pool, limits, recheck_seconds=recheck_seconds)
        await queue._listen()
        queue._task = asyncio.create_task(queue._run(), name="shared picture queue")
        return queue

    @property
    def owner_pid(self) -> int:
        """The backend pid of the listening connection, which owns this process's rows (0: not listening)."""
        return self._owner[0] if self._listener is not None else 0

    @asynccontextmanager
    async def admission(self, user_id: int) -> AsyncIterator[None]:
        async with self._admitting:
            with unavailable("taking the user's admission lock"):
                conn = await self._pool.acquire(timeout=_T)
            try:
                with unavailable("taking the user's admission lock"):
                    await conn.execute(sql.USER_LOCK, ADMISSION_LOCK_CLASS, user_id, timeout=_T)
                try:
                    yield
                finally:
                    await _unlock(conn, user_id)
            finally:
                await self._release(conn)

    async def check_room(self, user_id: int) -> None:
        with unavailable("reading the queue"):
            mine, waiting = await self._pool.fetchrow(sql.ROOM.format(table="picture_queue_live"), user_id, timeout=_T)
        refuse_unless_room(self.limits, user_waiting=mine, waiting=waiting)

    async def join(self, ticket: Ticket) -> None:
        if self._listener is None:
            raise QueueUnavailableError("the shared picture queue is not listening")
        owner = self._owner

        async def insert(conn: asyncpg.Connection) -> None:
            mine, waiting = await conn.fetchrow(sql.ROOM.format(table="picture_queue"), ticket.user_id, timeout=_T)
            refuse_unless_room(self.limits, user_waiting=mine, waiting=waiting)
            await conn.execute(sql.PUT, *_row(ticket, owner), timeout=_T)

        with unavailable("joining the queue"):
            granted = await self._change(insert)
        self._tickets[ticket.generation_id] = ticket
        self._granted(granted)
        self._wake.set()  # while tickets wait, the task watches for a dead process's turns
        try:
            await self._read_places()
        except DB_ERRORS as error:  # it is in the line all the same: the task reads its place later
            self._look_again(error)

    async def held_by(self, user_id: int) -> int:
        with unavailable("reading the queue"):
            return int(await self._pool.fetchval(sql.HELD_BY, user_id, timeout=_T))

    async def withdraw(self, ticket: Ticket) -> None:
        await asyncio.shield(self._leave(ticket))

    @asynccontextmanager
    async def turn(self, ticket: Ticket, on_place: OnPlace) -> AsyncIterator[None]:
        try:
            await self._wait_for_turn(ticket, on_place)
            yield
        finally:
            await asyncio.shield(self._leave(ticket))  # a second cancellation must not keep its row in the line

    async def snapshot(self) -> QueueSnapshot:
        with unavailable("reading the queue"):
            rows = await self._pool.fetch(sql.SNAPSHOT, timeout=_T)
        records = [(row["state"], QueueRecord(*tuple(row)[:5])) for row in rows]
        return QueueSnapshot(
            tuple(record for state, record in records if state == "drawing"),
            tuple(record for state, record in records if state == "waiting"),
        )

    def find(self, generation_id: int) -> Ticket | None:
        return self._tickets.get(generation_id)

    async def close(self) -> None:
        """Stop the task, take this process's remaining rows out of the line and give the connection back."""
        self._closing = True
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        self._fail_waiters()
        self._departed |= set(self._tickets)
        self._tickets.clear()
        try:
            await self._settle()
        except DB_ERRORS as error:
            log.warning("picture queue: could not take this process's requests out of the line: %s", error)
        conn, self._listener = self._listener, None
        if conn is not None:
            try:
                conn.remove_termination_listener(self._on_terminated)
                await conn.remove_listener(self._channel, self._on_notification)
            except DB_ERRORS:
                terminate(conn)
            await self._release(conn)

    async def _wait_for_turn(self, ticket: Ticket, on_place: OnPlace) -> None:
        shown: tuple[int, int] | None = None
        while not ticket.granted.is_set():
            if ticket.generation_id in self._failed:
                raise QueueUnavailableError(f"picture {ticket.generation_id}: the shared queue lost its database")
            place = self._places.get(ticket.generation_id)
            if place is not None and place != shown:
                on_place(*place)
                shown = place
            changed = self._changed
            await changed.wait()

    async def _leave(self, ticket: Ticket) -> None:
        if self._tickets.pop(ticket.generation_id, None) is None:
            return
        self._places.pop(ticket.generation_id, None)
        self._failed.discard(ticket.generation_id)
        self._departed.add(ticket.generation_id)
        try:
            await self._settle()
        except DB_ERRORS as error:  # the task deletes its row later
            self._look_again(error)

    async def _settle(self, *, reown: bool = False) -> None:
        """Delete the rows of the tickets that left (and with `reown`, take over this process's others), forget
        the dead's and grant the turns now free."""
        departed = sorted(self._departed)

        async def work(conn: asyncpg.Connection) -> None:
            if departed:
                await conn.execute(sql.DELETE, departed, timeout=_T)
            if reown and self._tickets:  # read under the lock: a ticket that left meanwhile is not written back
                await conn.executemany(sql.PUT, [_row(t, self._owner) for t in self._tickets.values()], timeout=_T)

        granted = await self._change(work if departed or reown else None)
        self._departed.difference_update(departed)
        self._granted(granted)

    async def _change(self, work: Work | None) -> list[int]:
        """One change of the line under the queue's lock: forget the rows of dead processes, do `work`, grant what
        fits and notify every process when anything changed. Returns the ids granted."""
        async with self._pool.acquire(timeout=_T) as conn, conn.transaction():
            await conn.execute(sql.QUEUE_LOCK, QUEUE_LOCK_CLASS, timeout=_T)
            forgotten = await conn.execute(sql.FORGET_DEAD, list(self._tickets), timeout=_T)
            if work is not None:
                await work(conn)
            limits = self.limits
            rows = await conn.fetch(sql.GRANT, limits.max_drawing, limits.max_drawing_per_server, timeout=_T)
            if work is not None or rows or forgotten != "DELETE 0":
                await conn.execute(sql.NOTIFY, self._channel, timeout=_T)
        return [row[0] for row in rows]

    def _granted(self, generation_ids: list[int]) -> None:
        for generation_id in generation_ids:
            ticket = self._tickets.get(generation_id)
            if ticket is not None and not ticket.granted.is_set():
                self._places.pop(generation_id, None)
                ticket.started_at = asyncio.get_running_loop().time()
                ticket.granted.set()
        self._notify()

    async def _read_places(self) -> None:
        """Read every ticket of this process in one query: granted ones proceed, waiting ones learn their place."""
        async with self._reading:
            ids = list(self._tickets)
            if not ids:
                return
            rows = {row["generation_id"]: row for row in await self._pool.fetch(sql.PLACES, ids, timeout=_T)}
            granted = []
            for generation_id in ids:
                row = rows.get(generation_id)
                if generation_id not in self._tickets:
                    continue  # it left meanwhile
                if row is None:  # forgotten by another process: this one's connection was lost, so it is re-owned
                    self._stale = True
                elif row["state"] == "drawing":
                    granted.append(generation_id)
                else:
                    self._places[generation_id] = (row["place"], row["waiting"])
            self._granted(granted)

    async def _run(self) -> None:
        """The queue's task; should it fail, waiting tickets fail and new ones are refused, not left hanging."""
        try:
            await self._serve()
        except Exception:
            log.exception("picture queue: its task failed; no more requests are taken")
            terminate(self._listener)
            self._listener = None
            self._fail_waiters()

    async def _serve(self) -> None:
        """On each notification (or, while needed, every `recheck_seconds`) read this process's tickets; listen
        again when the connection was lost."""
        while not self._closing:
            rechecked = await self._next_wake()
            if self._listener is None:
                if not await self._listen_again():
                    continue
                rechecked = True
            try:
                if rechecked or self._departed:
                    self._stale = False
                    await self._settle(reown=rechecked)
                await self._read_places()
            except DB_ERRORS as error:
                self._look_again(error)

    async def _next_wake(self) -> bool:
        """Wait for a notification (False), or, while tickets wait or work is left, `recheck_seconds` (True)."""
        waiting = any(not ticket.granted.is_set() for ticket in self._tickets.values())
        pending = waiting or self._stale or bool(self._departed) or self._listener is None
        try:
            async with asyncio.timeout(self._recheck_seconds if pending else None):
                await self._wake.wait()  # (not wait_for, which may swallow a cancellation on Python 3.11)
        except TimeoutError:
            return True
        finally:
            self._wake.clear()
        return False

    def _look_again(self, error: BaseException) -> None:
        log.warning("picture queue: %s; trying again within %.0f s", describe(error), self._recheck_seconds)
        self._stale = True
        self._wake.set()

    async def _listen(self) -> None:
        """Take a connection for good, LISTEN on it, and make its backend the owner of this process's rows."""
        conn = await self._pool.acquire(timeout=_T)
        try:
            pid, started, channel = await conn.fetchrow(sql.OWNER, timeout=_T)
            await conn.add_listener(channel, self._on_notification)
        except BaseException:
            terminate(conn)
            raise
        conn.add_termination_listener(self._on_terminated)
        self._listener, self._owner, self._channel = conn, (pid, started), channel

    async def _listen_again(self) -> bool:
        try:
            await self._listen()
        except DB_ERRORS as error:
            log.error("picture queue: cannot listen (%s); waiting requests fail until it can", describe(error))
            self._fail_waiters()
            return False
        log.info("picture queue: listening again (backend %d)", self._owner[0])
        return True

    async def _release(self, conn: asyncpg.Connection) -> None:
        """Give a connection back to the pool (which closes it if it cannot reset it); a failure is only logged."""
        try:
            await self._pool.release(conn, timeout=_T)
        except DB_ERRORS as error:
            log.warning("picture queue: a connection could not be given back (%s)", describe(error))

    def _on_notification(self, conn: object, pid: int, channel: str, payload: str) -> None:
        self._wake.set()

    def _on_terminated(self, conn: object) -> None:
        if conn is self._listener and conn is not None:
            log.warning("picture queue: the listening connection (backend %d) was lost", self._owner[0])
            self._listener = None  # closed, and so back in the pool, which opens another when asked
            self._wake.set()

    def _fail_waiters(self) -> None:
        self._failed |= {gid for gid, ticket in self._tickets.items() if not ticket.granted.is_set()}
        self._notify()

    def _notify(self) -> None:
        """Wake everyone waiting for a change; each re-reads its place."""
        self._changed.set()
        self._changed = asyncio.Event()


async def _unlock(conn: asyncpg.Connection, user_id: int) -> None:
    """Let go of a user's admission lock; if that fails, close the connection, which lets go of it too."""
    try:
        await conn.execute(sql.USER_UNLOCK, ADMISSION_LOCK_CLASS, user_id, timeout=_T)
    except DB_ERRORS as error:
        log.warning("picture queue: could not unlock an admission (%s); closing its connection", describe(error))
        terminate(conn)


def _row(ticket: Ticket, owner: tuple[int, datetime]) -> tuple[object, ...]:
    """A ticket's row as `sql.PUT` writes it."""
    server = server_key(ticket.user_id, ticket.guild_id)
    state = "drawing" if ticket.granted.is_set() else "waiting"
    return (
        ticket.generation_id,
        ticket.user_id,
        ticket.guild_id,
        server,
        ticket.prompt,
        ticket.user_name,
        *owner,
        state,
    )
