"""The picture queue: limits in all and per server, first come first served, one waiting request per user."""

from __future__ import annotations

import asyncio

import pytest

from bot.core.draw import DrawQueue, DrawRefusedError, QueueLimits, Ticket


def ticket(generation_id: int, user_id: int, guild_id: int | None = 1) -> Ticket:
    return Ticket(generation_id, user_id, guild_id, prompt=f"picture {generation_id}")


async def hold_turn(queue: DrawQueue, entry: Ticket, places: list[tuple[int, int]], release: asyncio.Event) -> None:
    async with queue.turn(entry, lambda place, waiting: places.append((place, waiting))):
        await release.wait()


async def test_pictures_start_in_arrival_order_within_the_limits_in_all_and_per_server() -> None:
    queue = DrawQueue(QueueLimits(max_drawing=2, max_drawing_per_server=1, max_waiting=10))
    first, second, other_server = ticket(1, 10, guild_id=1), ticket(2, 11, guild_id=1), ticket(3, 12, guild_id=2)
    for entry in (first, second, other_server):
        queue.join(entry)
    # The second picture of server 1 waits; server 2's picture, which came later, is not held up by it.
    assert queue.drawing == [first, other_server]
    assert queue.waiting == [second]
    queue.withdraw(first)
    assert queue.drawing == [other_server, second]


async def test_a_waiting_request_is_told_its_place_as_the_queue_moves() -> None:
    queue = DrawQueue(QueueLimits(max_drawing=1, max_drawing_per_server=1, max_waiting=10))
    entries = [ticket(index + 1, 10 + index) for index in range(3)]
    releases = [asyncio.Event() for _ in entries]
    places: list[list[tuple[int, int]]] = [[], [], []]
    third_is_next = asyncio.Event()

    def third_moved(place: int, waiting: int) -> None:
        places[2].append((place, waiting))
        if place == 1:
            third_is_next.set()

    for entry in entries:
        queue.join(entry)
    first = asyncio.create_task(hold_turn(queue, entries[0], places[0], releases[0]))
    second = asyncio.create_task(hold_turn(queue, entries[1], places[1], releases[1]))

    async def third() -> None:
        async with queue.turn(entries[2], third_moved):
            await releases[2].wait()

    last = asyncio.create_task(third())
    await asyncio.sleep(0)  # one loop pass: each task takes its place
    releases[0].set()
    await first
    await third_is_next.wait()
    releases[1].set()
    releases[2].set()
    await asyncio.gather(second, last)
    assert places[0] == []  # drawn at once
    assert places[1] == [(1, 2)]  # then drawn as soon as the first was done
    assert places[2] == [(2, 2), (1, 1)]
    assert queue.drawing == queue.waiting == []


async def test_a_request_cancelled_while_waiting_leaves_the_queue_and_the_next_moves_up() -> None:
    queue = DrawQueue(QueueLimits(max_drawing=1, max_drawing_per_server=1, max_waiting=10))
    drawing, cancelled, last = ticket(1, 10), ticket(2, 11), ticket(3, 12)
    for entry in (drawing, cancelled, last):
        queue.join(entry)
    places: list[tuple[int, int]] = []
    waiter = asyncio.create_task(hold_turn(queue, cancelled, [], asyncio.Event()))
    watcher = asyncio.create_task(hold_turn(queue, last, places, asyncio.Event()))
    await asyncio.sleep(0)
    waiter.cancel()
    await asyncio.gather(waiter, return_exceptions=True)
    assert queue.waiting == [last]
    await asyncio.sleep(0)
    assert places == [(2, 2), (1, 1)]
    watcher.cancel()
    await asyncio.gather(watcher, return_exceptions=True)


async def test_one_waiting_request_per_user_but_a_next_one_may_wait_while_one_is_drawn() -> None:
    queue = DrawQueue(QueueLimits(max_drawing=1, max_drawing_per_server=1, max_waiting=10))
    queue.join(ticket(1, 10))  # drawn at once
    queue.join(ticket(2, 10))  # waits
    with pytest.raises(DrawRefusedError, match="already have a picture waiting"):
        queue.join(ticket(3, 10))
    assert queue.held_by(10) == 2


async def test_a_full_queue_refuses_more_requests() -> None:
    queue = DrawQueue(QueueLimits(max_drawing=1, max_drawing_per_server=1, max_waiting=2))
    for generation_id in range(1, 4):
        queue.join(ticket(generation_id, user_id=generation_id))
    with pytest.raises(DrawRefusedError, match=r"queue is full \(2 waiting\)"):
        queue.join(ticket(4, user_id=4))


async def test_direct_messages_are_each_their_own_server() -> None:
    queue = DrawQueue(QueueLimits(max_drawing=5, max_drawing_per_server=1, max_waiting=10))
    queue.join(ticket(1, 10, guild_id=None))
    queue.join(ticket(2, 11, guild_id=None))
    assert len(queue.drawing) == 2
