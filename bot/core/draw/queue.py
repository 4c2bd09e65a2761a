"""The server-wide picture queue: at most so many pictures drawn at once, in all and per server; first come,
first served among those whose server has room; one waiting request per user; a bounded number waiting.

`PictureQueue` is what `DrawService` and `/draw-queue` use. Two implement it: `DrawQueue` here, in memory, for one
process; and `bot.core.draw.shared_queue.SharedDrawQueue`, in PostgreSQL, for every process sharing a database
(cluster mode). Either way, a request waiting when the bot stops is told so and stored as failed (see
`bot.core.draw.service`). No Discord and no store here.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from typing import Protocol

from bot.core.errors import UserFacingError

OnPlace = Callable[[int, int], None]  # (place, waiting): 1 is next


class DrawRefusedError(UserFacingError):
    """A picture request cannot be taken (queue, cooldown, quota); the message says why and what to do."""


class QueueEntry(Protocol):
    """A request as `/draw-queue` lists it: a `Ticket` of this process, or a `QueueRecord` of any."""

    @property
    def generation_id(self) -> int: ...
    @property
    def user_id(self) -> int: ...
    @property
    def guild_id(self) -> int | None: ...
    @property
    def prompt(self) -> str: ...
    @property
    def user_name(self) -> str: ...


@dataclass(eq=False)
class Ticket:
    """One picture request's place in the queue, held by the process that takes it in and draws it."""

    generation_id: int
    user_id: int
    guild_id: int | None
    prompt: str
    user_name: str = ""
    started_at: float | None = None  # event-loop time it left the queue to be drawn
    granted: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def server(self) -> int:
        """The key of the per-server limit: the server, or for a direct message the user (a server of one)."""
        return server_key(self.user_id, self.guild_id)


@dataclass(frozen=True, slots=True)
class QueueRecord:
    """A request in the queue as any process reads it back (one of another process, say)."""

    generation_id: int
    user_id: int
    guild_id: int | None
    prompt: str
    user_name: str = ""


@dataclass(frozen=True, slots=True)
class QueueSnapshot:
    """The requests being drawn (in the order they started) and waiting (in the order they will be served)."""

    drawing: tuple[QueueEntry, ...]
    waiting: tuple[QueueEntry, ...]


@dataclass(frozen=True, slots=True)
class QueueLimits:
    max_drawing: int
    max_drawing_per_server: int
    max_waiting: int


class PictureQueue(Protocol):
    """Turns to draw, under `limits`, for every process that shares the queue.

    A request is taken in under `admission(user_id)`: `check_room`, then whatever else decides (cooldown, quota
    counting `held_by`), then `join`. Its drawer waits with `async with queue.turn(ticket, on_place)`, or gives up
    a ticket it will not draw with `withdraw`.
    """

    limits: QueueLimits

    def admission(self, user_id: int) -> AbstractAsyncContextManager[None]:
        """Held while a request of the user is checked, stored and joined: at most one per user at a time among
        every process sharing the queue."""
        ...

    async def check_room(self, user_id: int) -> None:
        """Raise `DrawRefusedError` when the queue would not take a request of this user now."""

    async def join(self, ticket: Ticket) -> None:
        """Put a ticket at the end of the queue, or raise `DrawRefusedError`; it may be granted at once."""

    async def held_by(self, user_id: int) -> int:
        """How many of the user's requests are waiting or being drawn."""
        ...

    async def withdraw(self, ticket: Ticket) -> None:
        """Take a ticket out of the queue (waiting or drawing) without waiting for it."""

    def turn(self, ticket: Ticket, on_place: OnPlace) -> AbstractAsyncContextManager[None]:
        """Wait for the ticket's turn, telling `on_place(place, waiting)` whenever either changes; hold the turn
        for the block, then give it up (also when cancelled while waiting or drawing)."""
        ...

    async def snapshot(self) -> QueueSnapshot:
        """Every request drawing and waiting, of every process sharing the queue."""
        ...

    def find(self, generation_id: int) -> Ticket | None:
        """This process's ticket of that request, if it has one (a server's requests are its shard's process's)."""
        ...

    async def close(self) -> None:
        """Let go of what the queue holds; its tickets should have left by then."""


def server_key(user_id: int, guild_id: int | None) -> int:
    """The key of the per-server limit: the server, or for a direct message the user (a server of one)."""
    return guild_id if guild_id is not None else -user_id


def refuse_unless_room(limits: QueueLimits, *, user_waiting: bool, waiting: int) -> None:
    """Raise `DrawRefusedError` when a user with (`user_waiting`) or without a request waiting may not add one to
    a line of `waiting`."""
    if user_waiting:
        raise DrawRefusedError("You already have a picture waiting in the queue. Wait until it starts, or cancel it.")
    if waiting >= limits.max_waiting:
        raise DrawRefusedError(f"The picture queue is full ({waiting} waiting). Please try again in a few minutes.")


class DrawQueue:
    """The queue of one process, in memory. `join` a ticket, then wait for it with `async with queue.turn(...)`."""

    def __init__(self, limits: QueueLimits) -> None:
        self.limits = limits
        self._waiting: list[Ticket] = []
        self._drawing: list[Ticket] = []
        self._changed = asyncio.Event()
        self._admission = asyncio.Lock()  # one admission at a time, as before there were several processes

    @property
    def waiting(self) -> list[Ticket]:
        """The tickets waiting, in the order they will be served (when their server has room)."""
        return list(self._waiting)

    @property
    def drawing(self) -> list[Ticket]:
        return list(self._drawing)

    def admission(self, user_id: int) -> AbstractAsyncContextManager[None]:
        return self._admission

    async def check_room(self, user_id: int) -> None:
        self._check_room(user_id)

    async def join(self, ticket: Ticket) -> None:
        self._check_room(ticket.user_id)
        self._waiting.append(ticket)
        self._grant_turns()
        self._notify()

    async def held_by(self, user_id: int) -> int:
        return sum(ticket.user_id == user_id for ticket in (*self._waiting, *self._drawing))

    async def withdraw(self, ticket: Ticket) -> None:
        self._leave(ticket)

    async def snapshot(self) -> QueueSnapshot:
        return QueueSnapshot(tuple(self._drawing), tuple(self._waiting))

    def find(self, generation_id: int) -> Ticket | None:
        return next((t for t in (*self._drawing, *self._waiting) if t.generation_id == generation_id), None)

    async def close(self) -> None:
        """Nothing to let go of: the tickets live and die with the process."""

    @asynccontextmanager
    async def turn(self, ticket: Ticket, on_place: OnPlace) -> AsyncIterator[None]:
        try:
            shown: tuple[int, int] | None = None
            while not ticket.granted.is_set():
                now = (self._waiting.index(ticket) + 1, len(self._waiting))
                if now != shown:
                    on_place(*now)
                    shown = now
                changed = self._changed
                await changed.wait()
            yield
        finally:
            self._leave(ticket)

    def _check_room(self, user_id: int) -> None:
        mine = any(waiting.user_id == user_id for waiting in self._waiting)
        refuse_unless_room(self.limits, user_waiting=mine, waiting=len(self._waiting))

    def _leave(self, ticket: Ticket) -> None:
        for tickets in (self._waiting, self._drawing):
            if ticket in tickets:
                tickets.remove(ticket)
        self._grant_turns()
        self._notify()

    def _grant_turns(self) -> None:
        per_server: dict[int, int] = {}
        for ticket in self._drawing:
            per_server[ticket.server] = per_server.get(ticket.server, 0) + 1
        for ticket in list(self._waiting):
            if len(self._drawing) >= self.limits.max_drawing:
                return
            if per_server.get(ticket.server, 0) >= self.limits.max_drawing_per_server:
                continue
            self._waiting.remove(ticket)
            self._drawing.append(ticket)
            per_server[ticket.server] = per_server.get(ticket.server, 0) + 1
            ticket.started_at = asyncio.get_running_loop().time()
            ticket.granted.set()

    def _notify(self) -> None:
        """Wake everyone waiting for a change; each re-reads its place."""
        self._changed.set()
        self._changed = asyncio.Event()
