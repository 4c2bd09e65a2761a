"""The shared picture queue across processes: two `SharedDrawQueue`s on two pools of one PostgreSQL schema, as two
bot processes in cluster mode; its limits, order and refusals hold across them, a turn given up in one starts a
waiter in the other, and a process that dies or loses its connection does not keep its turns."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import AsyncIterator

import asyncpg
import pytest

from bot.core.draw import DrawRefusedError, QueueLimits, Ticket
from bot.core.draw.shared_queue import ADMISSION_LOCK_CLASS, MIN_POOL_SIZE, SharedDrawQueue
from tests.draw.conftest import OpenProcess, Process
from tests.postgres import fresh_schema

WAIT = 10.0  # seconds a test waits for what must happen at once (a notification), before failing
ONE_AT_A_TIME = QueueLimits(max_drawing=1, max_drawing_per_server=1, max_waiting=10)


def ticket(generation_id: int, user_id: int | None = None, guild_id: int | None = 1) -> Ticket:
    user = generation_id + 100 if user_id is None else user_id
    return Ticket(generation_id, user, guild_id, prompt=f"picture {generation_id}", user_name=f"user {user}")


async def line(queue: SharedDrawQueue) -> tuple[list[int], list[int]]:
    snapshot = await queue.snapshot()
    return [t.generation_id for t in snapshot.drawing], [t.generation_id for t in snapshot.waiting]


async def two(open_process: OpenProcess, limits: QueueLimits, **options: float) -> tuple[Process, Process]:
    return await open_process(limits, **options), await open_process(limits, **options)


class Turns:
    """Holds the turns of many tickets, counting how many are drawn at once, in all and per server."""

    def __init__(self) -> None:
        self.started: list[int] = []
        self.now: Counter[int] = Counter()
        self.most = 0
        self.most_per_server = 0

    async def take(self, queue: SharedDrawQueue, entry: Ticket) -> None:
        async with queue.turn(entry, lambda place, waiting: None):
            self.started.append(entry.generation_id)
            self.now[entry.server] += 1
            self.most = max(self.most, sum(self.now.values()))
            self.most_per_server = max(self.most_per_server, self.now[entry.server])
            await asyncio.sleep(0)  # one loop pass: let the other turns run meanwhile
            self.now[entry.server] -= 1


async def test_the_limits_in_all_and_per_server_hold_across_processes(open_process: OpenProcess) -> None:
    limits = QueueLimits(max_drawing=3, max_drawing_per_server=2, max_waiting=100)
    one, other = await two(open_process, limits)
    # Servers 10, 11, 11, 10, 10, 11, ...; the odd requests taken in by one process, the even by the other.
    entries = [(ticket(gid, guild_id=10 + gid // 2 % 2), (one, other)[gid % 2]) for gid in range(1, 31)]
    for entry, process in entries:
        await process.queue.join(entry)
    drawing, waiting = await line(one.queue)
    assert drawing == [1, 2, 3]  # server 11 draws two, its limit; three in all, the limit
    assert waiting == list(range(4, 31))
    turns = Turns()
    await asyncio.wait_for(asyncio.gather(*(turns.take(process.queue, entry) for entry, process in entries)), WAIT)
    assert sorted(turns.started) == list(range(1, 31))
    assert turns.most <= 3 and turns.most_per_server <= 2
    assert await line(other.queue) == ([], [])


async def test_first_come_first_served_across_processes(open_process: OpenProcess) -> None:
    one, other = await two(open_process, ONE_AT_A_TIME)
    entries = [(ticket(gid), (one, other)[gid % 2]) for gid in range(1, 9)]
    for entry, process in entries:
        await process.queue.join(entry)
    assert await line(other.queue) == ([1], [2, 3, 4, 5, 6, 7, 8])
    turns = Turns()
    await asyncio.wait_for(asyncio.gather(*(turns.take(process.queue, entry) for entry, process in entries)), WAIT)
    assert turns.started == list(range(1, 9))


async def test_one_waiting_request_per_user_across_processes(open_process: OpenProcess) -> None:
    one, other = await two(open_process, ONE_AT_A_TIME)
    await one.queue.join(ticket(1, user_id=10))  # drawn at once
    await one.queue.join(ticket(2, user_id=10))  # waits
    with pytest.raises(DrawRefusedError, match="already have a picture waiting"):
        await other.queue.check_room(10)
    with pytest.raises(DrawRefusedError, match="already have a picture waiting"):
        await other.queue.join(ticket(3, user_id=10))
    assert await other.queue.held_by(10) == 2
    await other.queue.join(ticket(4, user_id=11))  # another user is not held back


async def test_the_bounded_line_is_one_across_processes(open_process: OpenProcess) -> None:
    one, other = await two(open_process, QueueLimits(max_drawing=1, max_drawing_per_server=1, max_waiting=2))
    await one.queue.join(ticket(1))  # drawn
    await other.queue.join(ticket(2))
    await one.queue.join(ticket(3))
    with pytest.raises(DrawRefusedError, match=r"queue is full \(2 waiting\)"):
        await other.queue.join(ticket(4))
    with pytest.raises(DrawRefusedError, match=r"queue is full \(2 waiting\)"):
        await one.queue.check_room(5)


async def test_a_turn_given_up_in_one_process_starts_a_waiter_in_the_other(open_process: OpenProcess) -> None:
    # No rechecks in the time the test takes: only the notification can wake the waiter.
    one, other = await two(open_process, ONE_AT_A_TIME, recheck_seconds=3600)
    drawing, waiting = ticket(1), ticket(2)
    await one.queue.join(drawing)
    await other.queue.join(waiting)
    places: list[tuple[int, int]] = []
    started = asyncio.Event()

    async def wait_in_other() -> None:
        async with other.queue.turn(waiting, lambda place, count: places.append((place, count))):
            started.set()

    waiter = asyncio.create_task(wait_in_other())
    async with one.queue.turn(drawing, lambda place, count: None):
        assert not started.is_set()
    await asyncio.wait_for(waiter, WAIT)
    assert places == [(1, 1)]
    assert await line(one.queue) == ([], [])


async def test_a_process_that_dies_frees_its_turns_within_the_recheck_interval(open_process: OpenProcess) -> None:
    recheck = 0.3
    dying, living = await two(open_process, ONE_AT_A_TIME, recheck_seconds=recheck)
    await dying.queue.join(ticket(1))  # drawing when it dies
    await dying.queue.join(ticket(2))  # waiting when it dies
    waiting = ticket(3)
    await living.queue.join(waiting)
    turns = Turns()
    waiter = asyncio.create_task(turns.take(living.queue, waiting))
    assert await line(living.queue) == ([1], [2, 3])
    died = time.monotonic()
    await dying.die()
    await asyncio.wait_for(waiter, WAIT)
    assert time.monotonic() - died < recheck * 2 + 1  # the next recheck after the death, with room for slow CI
    assert turns.started == [3]
    assert await line(living.queue) == ([], [])


async def test_a_lost_listening_connection_is_listened_again_and_keeps_its_tickets(
    open_process: OpenProcess, dsn: str
) -> None:
    one, other = await two(open_process, ONE_AT_A_TIME, recheck_seconds=0.3)
    drawing, waiting = ticket(1), ticket(2)
    await other.queue.join(drawing)
    await one.queue.join(waiting)
    lost = one.queue.owner_pid
    started = asyncio.Event()

    async def wait_in_one() -> None:
        async with one.queue.turn(waiting, lambda place, count: None):
            started.set()

    waiter = asyncio.create_task(wait_in_one())
    admin = await asyncpg.connect(dsn)
    try:
        assert await admin.fetchval("SELECT pg_terminate_backend($1)", lost)
    finally:
        await admin.close()
    async with other.queue.turn(drawing, lambda place, count: None):
        pass
    await asyncio.wait_for(waiter, WAIT)  # whether its row was taken over or written back, it got its turn
    assert one.queue.owner_pid not in (0, lost)
    assert await line(other.queue) == ([], [])


async def test_one_admission_per_user_at_a_time_across_processes(open_process: OpenProcess, dsn: str) -> None:
    one, other = await two(open_process, ONE_AT_A_TIME)
    third = await asyncpg.connect(dsn)  # any other process
    try:
        async with one.queue.admission(10):
            assert not await _try_admission_lock(third, 10)
            await asyncio.wait_for(_admit(other.queue, 11), WAIT)  # another user is not held back
        assert await _try_admission_lock(third, 10)  # let go at the end of the block
    finally:
        await third.close()
    await asyncio.wait_for(_admit(other.queue, 10), WAIT)


async def _try_admission_lock(conn: asyncpg.Connection, user_id: int) -> bool:
    """Whether the user's admission lock is free (then `conn` holds it until it closes)."""
    key = "hashtext(current_schema() || ':' || $2::bigint::text)"
    return bool(await conn.fetchval(f"SELECT pg_try_advisory_lock($1, {key})", ADMISSION_LOCK_CLASS, user_id))


@pytest.fixture
async def other_dsn(server: str) -> AsyncIterator[str]:
    """A second schema of the same database, as a second deployment would use."""
    async with fresh_schema(server) as name:
        yield f"{server}?search_path={name}"


async def test_queues_in_different_schemas_of_one_database_do_not_meet(
    other_dsn: str, open_process: OpenProcess
) -> None:
    here = await open_process(ONE_AT_A_TIME)
    there = await open_process(ONE_AT_A_TIME, dsn=other_dsn)
    async with here.queue.admission(10):
        await asyncio.wait_for(_admit(there.queue, 10), WAIT)  # the same user elsewhere: another lock
    await here.queue.join(ticket(1))
    await there.queue.join(ticket(2))  # drawn at once: the other deployment's turn is not this one's
    assert (await line(here.queue), await line(there.queue)) == (([1], []), ([2], []))


async def _admit(queue: SharedDrawQueue, user_id: int) -> None:
    async with queue.admission(user_id):
        pass


async def test_a_pool_too_small_to_admit_without_waiting_on_itself_is_refused(dsn: str) -> None:
    pool = await asyncpg.create_pool(dsn, min_size=1, max_size=MIN_POOL_SIZE - 1)
    try:
        with pytest.raises(ValueError, match=f"a pool of {MIN_POOL_SIZE} connections or more"):
            await SharedDrawQueue.open(pool, ONE_AT_A_TIME)
    finally:
        await pool.close()
