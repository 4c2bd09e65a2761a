"""The record of each picture request of `bench/draw.py`, timing inside the bot (in one process), and the queue's
limits and order checked from the recorded times (the emulator and the bot processes are in `processes`).

All times are `time.monotonic()` seconds, the clock of the fake's message versions (not the event loop's time, which
on uvloop is cached per loop step and counts whole milliseconds).
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass

from bot.app.client import FusionBot
from bot.core.downloads import Picture
from bot.core.draw import Ticket
from bot.core.draw.queue import OnPlace
from tests.fake_discord import Version

DELIVERED, REFUSED, FAILED, WRONG, LOST = "delivered", "refused", "failed", "wrong picture", "lost"


@dataclass
class DrawRecord:
    """One /draw request of the benchmark and what became of it."""

    user: int  # index of the user, 0..users-1
    round: int  # its place among the user's requests, 0..
    server: int  # index of the guild, 0..servers-1
    prompt: str
    sent_at: float | None = None  # the driver sent INTERACTION_CREATE
    admitted_at: float | None = None  # the fake's first version of the reply showing its place, or it drawn (or ended)
    accepted_at: float | None = None  # it joined the queue
    accepted_seq: int | None = None  # order of joining over all servers
    granted_at: float | None = None  # the queue gave it its turn to be drawn
    released_at: float | None = None  # ... and it let go of it
    api_start: float | None = None  # the emulator received the request for its picture
    api_end: float | None = None  # ... and answered it
    picture_url: str | None = None  # the URL it answered with
    fetch_start: float | None = None  # `PictureDownloader.fetch` called
    fetch_end: float | None = None
    shown_drawing_at: float | None = None  # the fake's first version of the reply showing it drawn (or ended)
    final: Version | None = None  # the fake's first version of the reply that shows how the request ended
    edits: int = 0  # versions of the reply after the deferred placeholder
    outcome: str = LOST
    detail: str = ""

    @property
    def final_at(self) -> float | None:
        return None if self.final is None else self.final.at


def url_stem(url: str) -> str:
    """`http://host/pictures/abc.png` -> `abc`: the stem the downloader names the file with."""
    return url.split("?", 1)[0].rsplit("/", 1)[-1].rsplit(".", 1)[0]


def judge(record: DrawRecord, served: bytes | None) -> tuple[str, str]:
    """The outcome of a request whose reply ended, given the bytes the emulator serves for its picture URL."""
    final = record.final
    if final is None:
        return LOST, record.detail or "no final reply"
    if not final.attachments:
        return (REFUSED if final.content.startswith("\U0001f6ab") else FAILED), final.content[:160]
    if len(final.attachments) != 1:
        return WRONG, f"{len(final.attachments)} attachments"
    filename, data = final.attachments[0]
    if record.picture_url is None or filename.rsplit(".", 1)[0] != url_stem(record.picture_url):
        return WRONG, f"{filename}: not named after the picture URL {record.picture_url}"
    if served is None or data != served:
        return WRONG, f"{filename}: {len(data)} bytes, not those the emulator serves"
    return DELIVERED, ""


# --- timing inside the bot -------------------------------------------------------------------------------------------


def instrument(bot: FusionBot, records: list[DrawRecord], fetches: dict[str, tuple[float, float]]) -> None:
    """Wrap, on the bot's own instances, the queue's `join` and `turn` and the download, to time each request (the
    downloads by URL in `fetches`: the emulator's answers say afterwards whose picture each URL is)."""
    by_prompt = {r.prompt: r for r in records}
    queue, downloader = bot.draws.queue, bot.draws.downloader
    join, turn, fetch = queue.join, queue.turn, downloader.fetch
    accepted = 0

    async def timed_join(ticket: Ticket) -> None:
        nonlocal accepted
        at, record = time.monotonic(), by_prompt.get(ticket.prompt)
        if record is not None:
            time_the_grant(ticket, record)
        await join(ticket)  # the in-memory queue's never waits: no other request joins meanwhile
        if record is not None:
            record.accepted_at, record.accepted_seq = at, accepted
            accepted += 1

    def time_the_grant(ticket: Ticket, record: DrawRecord) -> None:
        # `Ticket.started_at` is event-loop time, which on uvloop is cached per loop step and counts whole
        # milliseconds: compared with the monotonic times of the API call, turns would seem to overlap.
        grant = ticket.granted.set

        def timed_grant() -> None:
            record.granted_at = time.monotonic()
            grant()

        ticket.granted.set = timed_grant  # type: ignore[method-assign]

    @asynccontextmanager
    async def timed_turn(ticket: Ticket, on_place: OnPlace) -> AsyncIterator[None]:
        async with turn(ticket, on_place):
            try:
                yield
            finally:  # before the queue lets go of the turn and, in the same step, grants those it frees
                if (record := by_prompt.get(ticket.prompt)) is not None:
                    record.released_at = time.monotonic()

    async def timed_fetch(url: str, *, max_bytes: int) -> Picture:
        start = time.monotonic()
        try:
            return await fetch(url, max_bytes=max_bytes)
        finally:
            fetches[url] = (start, time.monotonic())

    queue.join = timed_join  # type: ignore[method-assign]
    queue.turn = timed_turn  # type: ignore[method-assign]
    downloader.fetch = timed_fetch  # type: ignore[method-assign]


# --- the queue's limits and order ------------------------------------------------------------------------------------


def peak(intervals: Iterable[tuple[float, float]]) -> int:
    """Most intervals [start, end) open at one moment (an end and a start at the same instant do not overlap)."""
    edges = sorted(edge for start, end in intervals for edge in ((start, 1), (end, -1)))
    most = now = 0
    for _, change in edges:
        now += change
        most = max(most, now)
    return most


def drawing_intervals(records: Iterable[DrawRecord]) -> list[tuple[int, float, float]]:
    """(server, start, end) of each picture request at the emulator: what the service was asked to draw at once."""
    return [(r.server, r.api_start, r.api_end) for r in records if r.api_start is not None and r.api_end is not None]


def held_intervals(records: Iterable[DrawRecord], until: float) -> list[tuple[int, float, float]]:
    """(server, granted, released) of each turn the queue gave (released before the turns it frees are granted), or
    until `until` if it was never let go of."""
    return [
        (r.server, r.granted_at, r.released_at if r.released_at is not None else until)
        for r in records
        if r.granted_at is not None
    ]


@dataclass(frozen=True)
class Peaks:
    overall: int
    per_server: int


def peaks(intervals: Sequence[tuple[int, float, float]]) -> Peaks:
    servers = {server for server, _, _ in intervals}
    per_server = [peak((s, e) for server, s, e in intervals if server == wanted) for wanted in servers]
    return Peaks(peak((s, e) for _, s, e in intervals), max(per_server, default=0))


@dataclass(frozen=True)
class OrderCheck:
    same_server: int  # pairs of one server's requests given their turns in the reverse of their acceptance
    without_cause: int  # pairs where a later request of another server went first while the earlier one's had room
    examples: tuple[str, ...] = ()

    @property
    def violations(self) -> int:
        return self.same_server + self.without_cause


def check_order(records: Sequence[DrawRecord], per_server: int, until: float) -> OrderCheck:
    """First come, first served among requests whose server has room.

    For every pair where U was accepted before T but T was given its turn first: within one server that is always
    wrong; across servers it is right only if U's server held `per_server` turns at that moment.
    """
    granted = sorted(
        (r for r in records if r.accepted_seq is not None and r.granted_at is not None),
        key=lambda r: r.accepted_seq or 0,
    )
    held = held_intervals(records, until)
    same = cause = 0
    examples: list[str] = []
    for index, earlier in enumerate(granted):
        for later in granted[index + 1 :]:
            assert earlier.granted_at is not None and later.granted_at is not None
            if later.granted_at >= earlier.granted_at:
                continue
            if earlier.server == later.server:
                same += 1
            elif holding(held, earlier.server, later.granted_at) < per_server:
                cause += 1
            else:
                continue
            if len(examples) < 3:
                examples.append(f"{later.prompt!r} drawn before {earlier.prompt!r}")
    return OrderCheck(same, cause, tuple(examples))


def holding(held: Sequence[tuple[int, float, float]], server: int, at: float) -> int:
    """Turns `server` held at `at` (granted at or before it, not yet released)."""
    return sum(1 for owner, start, end in held if owner == server and start <= at < end)


# --- figures ---------------------------------------------------------------------------------------------------------


def overheads(records: Iterable[DrawRecord]) -> tuple[list[float], list[float], list[float]]:
    """Per delivered picture, in seconds: the emulator's answer -> picture visible; and where the bot's download was
    timed, the download and the rest (upload and edit)."""
    total, download, rest = [], [], []
    for r in records:
        if r.outcome != DELIVERED or r.api_end is None or r.final_at is None:
            continue
        total.append(r.final_at - r.api_end)
        if r.fetch_start is not None and r.fetch_end is not None:
            download.append(r.fetch_end - r.fetch_start)
            rest.append(total[-1] - download[-1])
    return total, download, rest


def shown_drawing(records: Iterable[DrawRecord]) -> list[float]:
    """Given its turn -> the reply shows it being drawn (or how it ended), per request that was drawn."""
    return [
        r.shown_drawing_at - r.granted_at
        for r in records
        if r.shown_drawing_at is not None and r.granted_at is not None
    ]


def admissions(records: Iterable[DrawRecord]) -> list[float]:
    """The /draw interaction sent -> the reply shows its place in line, or it drawn (or ended), per request."""
    return [r.admitted_at - r.sent_at for r in records if r.admitted_at is not None and r.sent_at is not None]


def waits(records: Iterable[DrawRecord]) -> list[float]:
    """Joined the queue -> given its turn, per request that was drawn."""
    return [r.granted_at - r.accepted_at for r in records if r.granted_at is not None and r.accepted_at is not None]
