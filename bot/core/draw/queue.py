"""The server-wide picture queue: at most so many pictures drawn at once, in all and per server; first come,
first served among those whose server has room; one waiting request per user; a bounded number waiting.

In memory only: a request waiting when the bot stops is told so and stored as failed (see `bot.core.draw.service`).
No Discord and no store here.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from bot.core.errors import UserFacingError


class DrawRefusedError(UserFacingError):
    """A picture request cannot be taken (queue, cooldown, quota); the message says why and what to do."""


@dataclass(eq=False)
class Ticket:
    """One picture request's place in the queue."""

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
        return self.guild_id if self.guild_id is not None else -self.user_id


@dataclass(frozen=True, slots=True)
class QueueLimits:
    max_drawing: int
    max_drawing_per_server: int
    max_waiting: int


class DrawQueue:
    """Hands out turns to draw. `join` a ticket, then wait for it with `async with queue.turn(ticket, ...)`."""

    def __init__(self, limits: QueueLimits) -> None:
        self.limits = limits
        self._waiting: list[Ticket] = []
        self._drawing: list[Ticket] = []
        self._changed = asyncio.Event()

    @property
    def waiting(self) -> list[Ticket]:
        """The tickets waiting, in the order they will be served (when their server has room)."""
        return list(self._waiting)

    @property
    def drawing(self) -> list[Ticket]:
        return list(self._drawing)

    def join(self, ticket: Ticket) -> None:
        """Put a ticket at the end of the queue, or raise `DrawRefusedError`; it may be granted at once."""
        self.check_room(ticket.user_id)
        self._waiting.append(ticket)
        self._grant_turns()
        self._notify()

    def check_room(self, user_id: int) -> None:
        """Raise `DrawRefusedError` when the queue would not take a request of this user now."""
        if any(waiting.user_id == user_id for waiting in self._waiting):
            raise DrawRefusedError(
                "You already have a picture waiting in the queue. Wait until it starts, or cancel it."
            )
        if len(self._waiting) >= self.limits.max_waiting:
            raise DrawRefusedError(
                f"The picture queue is full ({len(self._waiting)} waiting). Please try again in a few minutes."
            )

    def held_by(self, user_id: int) -> int:
        """How many of the user's requests are waiting or being drawn."""
        return sum(ticket.user_id == user_id for ticket in (*self._waiting, *self._drawing))

    def withdraw(self, ticket: Ticket) -> None:
        """Take a ticket out of the queue (waiting or drawing) without waiting for it."""
        self._leave(ticket)

    def find(self, generation_id: int) -> Ticket | None:
        return next((t for t in (*self._drawing, *self._waiting) if t.generation_id == generation_id), None)

    @asynccontextmanager
    async def turn(self, ticket: Ticket, on_place: Callable[[int, int], None]) -> AsyncIterator[None]:
        """Wait for the ticket's turn, telling `on_place(place, waiting)` whenever either changes; hold the turn
        for the block, then give it up (also when cancelled while waiting or drawing)."""
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
