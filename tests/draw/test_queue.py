"""The picture queue: limits in all and per server, first come first served, one waiting request per user; the
same tests for the in-memory queue and for the one shared through PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from bot.core.draw import DrawQueue, DrawRefusedError, PictureQueue, QueueLimits, Ticket
from tests.draw.conftest import OpenProcess

MakeQueue = Callable[[QueueLimits], Awaitable[PictureQueue]]


@pytest.fixture
async def memory_queue() -> AsyncIterator[MakeQueue]:
    async def make(limits: QueueLimits) -> PictureQueue:
        return DrawQueue(limits)

    yield make


@pytest.fixture
async def shared_queue(open_process: OpenProcess) -> AsyncIterator[MakeQueue]:
    async def make(limits: QueueLimits) -> PictureQueue:
        return (await open_process(limits)).queue

    yield make


@pytest.fixture(params=["memory_queue", "shared_queue"], ids=["memory", "postgresql"])
def make_queue(request: pytest.FixtureRequest) -> MakeQueue:
    return request.getfixturevalue(request.param)  # type: ignore[no-any-return]


def ticket(generation_id: int, user_id: int, guild_id: int | None = 1) -> Ticket:
    return Ticket(generation_id, user_id, guild_id, prompt=f"picture {generation_id}")


class Places:
    """The (place, waiting) a ticket was told, in order; `told` waits until it has been told one."""

    def __init__(self) -> None:
        self.seen: list[tuple[int, int]] = []
        self._changed = asyncio.Event()

    def __call__(self, place: int, waiting: int) -> None:
        self.seen.append((place, waiting))
        self._changed.set()
        self._changed = asyncio.Event()

    async def told(self, place: int, waiting: int) -> None:
        while (place, waiting) not in self.seen:
            await self._changed.wait()


async def hold_turn(queue: PictureQueue, entry: Ticket, places: Places, release: asyncio.Event) -> None:
    async with queue.turn(entry, places):
        await release.wait()


async def line(queue: PictureQueue) -> tuple[list[int], list[int]]:
    """The ids drawing and waiting, in order."""
    snapshot = await queue.snapshot()
    return [t.generation_id for t in snapshot.drawing], [t.generation_id for t in snapshot.waiting]


async def test_pictures_start_in_arrival_order_within_the_limits_in_all_and_per_server(make_queue: MakeQueue) -> None:
    queue = await make_queue(QueueLimits(max_drawing=2, max_drawing_per_server=1, max_waiting=10))
    first, second, other_server = ticket(1, 10, guild_id=1), ticket(2, 11, guild_id=1), ticket(3, 12, guild_id=2)
    for entry in (first, second, other_server):
        await queue.join(entry)
    # The second picture of server 1 waits; server 2's picture, which came later, is not held up by it.
    assert await line(queue) == ([1, 3], [2])
    assert first.granted.is_set() and other_server.granted.is_set() and not second.granted.is_set()
    await queue.withdraw(first)
    assert await line(queue) == ([3, 2], [])


async def test_a_waiting_request_is_told_its_place_as_the_queue_moves(make_queue: MakeQueue) -> None:
    queue = await make_queue(QueueLimits(max_drawing=1, max_drawing_per_server=1, max_waiting=10))
    entries = [ticket(index + 1, 10 + index) for index in range(3)]
    releases = [asyncio.Event() for _ in entries]
    places = [Places(), Places(), Places()]
    for entry in entries:
        await queue.join(entry)
    first = asyncio.create_task(hold_turn(queue, entries[0], places[0], releases[0]))
    second = asyncio.create_task(hold_turn(queue, entries[1], places[1], releases[1]))
    last = asyncio.create_task(hold_turn(queue, entries[2], places[2], releases[2]))
    await asyncio.gather(places[1].told(1, 2), places[2].told(2, 2))  # each has taken its place
    releases[0].set()
    await first
    await places[2].told(1, 1)
    releases[1].set()
    releases[2].set()
    await asyncio.gather(second, last)
    assert places[0].seen == []  # drawn at once
    assert places[1].seen == [(1, 2)]  # then drawn as soon as the first was done
    assert places[2].seen == [(2, 2), (1, 1)]
    assert await line(queue) == ([], [])


async def test_a_request_cancelled_while_waiting_leaves_the_queue_and_the_next_moves_up(make_queue: MakeQueue) -> None:
    queue = await make_queue(QueueLimits(max_drawing=1, max_drawing_per_server=1, max_waiting=10))
    drawing, cancelled, last = ticket(1, 10), ticket(2, 11), ticket(3, 12)
    for entry in (drawing, cancelled, last):
        await queue.join(entry)
    places, its_places = Places(), Places()
    waiter = asyncio.create_task(hold_turn(queue, cancelled, its_places, asyncio.Event()))
    watcher = asyncio.create_task(hold_turn(queue, last, places, asyncio.Event()))
    await asyncio.gather(its_places.told(1, 2), places.told(2, 2))
    waiter.cancel()
    await asyncio.gather(waiter, return_exceptions=True)
    assert await line(queue) == ([1], [3])
    await places.told(1, 1)
    assert places.seen == [(2, 2), (1, 1)]
    watcher.cancel()
    await asyncio.gather(watcher, return_exceptions=True)


async def test_one_waiting_request_per_user_but_a_next_one_may_wait_while_one_is_drawn(
    make_queue: MakeQueue,
) -> None:
    queue = await make_queue(QueueLimits(max_drawing=1, max_drawing_per_server=1, max_waiting=10))
    await queue.join(ticket(1, 10))  # drawn at once
    await queue.join(ticket(2, 10))  # waits
    with pytest.raises(DrawRefusedError, match="already have a picture waiting"):
        await queue.check_room(10)
    with pytest.raises(DrawRefusedError, match="already have a picture waiting"):
        await queue.join(ticket(3, 10))
    assert await queue.held_by(10) == 2
    assert await queue.held_by(11) == 0


async def test_a_full_queue_refuses_more_requests(make_queue: MakeQueue) -> None:
    queue = await make_queue(QueueLimits(max_drawing=1, max_drawing_per_server=1, max_waiting=2))
    for generation_id in range(1, 4):
        await queue.join(ticket(generation_id, user_id=generation_id))
    with pytest.raises(DrawRefusedError, match=r"queue is full \(2 waiting\)"):
        await queue.join(ticket(4, user_id=4))
    assert await line(queue) == ([1], [2, 3])


async def test_direct_messages_are_each_their_own_server(make_queue: MakeQueue) -> None:
    queue = await make_queue(QueueLimits(max_drawing=5, max_drawing_per_server=1, max_waiting=10))
    await queue.join(ticket(1, 10, guild_id=None))
    await queue.join(ticket(2, 11, guild_id=None))
    assert await line(queue) == ([1, 2], [])


async def test_a_ticket_is_found_by_its_request_until_it_leaves(make_queue: MakeQueue) -> None:
    queue = await make_queue(QueueLimits(max_drawing=1, max_drawing_per_server=1, max_waiting=10))
    entry = ticket(1, 10)
    await queue.join(entry)
    assert queue.find(1) is entry and queue.find(2) is None
    await queue.withdraw(entry)
    assert queue.find(1) is None
