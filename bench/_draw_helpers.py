"""The parts of `bench/draw.py` that do not drive the bot: the record of each picture request, the emulator (in a
child process, or in-process), the queue's limits and order checked from the recorded times, and the figures.

All times are `time.monotonic()` seconds, the clock of the fake's message versions (not the event loop's time, which
on uvloop is cached per loop step and counts whole milliseconds).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import math
import signal
import statistics
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import aiohttp
from aiohttp import web

from bot.core.draw import Ticket
from bot.emulator import EmulatorConfig, drawn_picture
from tests.emulator_server import serve_emulator
from tests.fake_discord import Version

REPO_ROOT = Path(__file__).resolve().parents[1]
DELIVERED, REFUSED, FAILED, WRONG, LOST = "delivered", "refused", "failed", "wrong picture", "lost"
LAG_INTERVAL = 0.01
CHILD_START_TIMEOUT = 30.0
CHILD_STOP_TIMEOUT = 10.0


@dataclass
class DrawRecord:
    """One /draw request of the benchmark and what became of it."""

    user: int  # index of the user, 0..users-1
    round: int  # its place among the user's requests, 0..
    server: int  # index of the guild, 0..servers-1
    prompt: str
    sent_at: float | None = None  # the driver sent INTERACTION_CREATE
    accepted_at: float | None = None  # the bot put it in the queue (`DrawQueue.join`)
    accepted_seq: int | None = None  # order of acceptance over all servers
    ticket: Ticket | None = None
    granted_at: float | None = None  # the queue let it be drawn (`Ticket.granted` set)
    api_start: float | None = None  # `FusionClient.complete` called
    api_end: float | None = None  # ... and returned (or raised)
    picture_url: str | None = None  # the URL the API answered with
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


# --- the emulator ----------------------------------------------------------------------------------------------------


class Emulator(Protocol):
    url: str  # the chat endpoint
    where: str  # which process it runs in, in words

    async def served(self, picture_url: str) -> bytes | None:
        """The bytes the emulator serves at a picture URL it answered with (None: it no longer holds them)."""
        ...


@dataclass
class InProcessEmulator:
    url: str
    app: web.Application
    where: str = "in this process"

    async def served(self, picture_url: str) -> bytes | None:
        return drawn_picture(self.app, url_stem(picture_url))


@dataclass
class ChildEmulator:
    url: str
    session: aiohttp.ClientSession
    where: str

    async def served(self, picture_url: str) -> bytes | None:
        async with self.session.get(picture_url) as response:
            return await response.read() if response.status == 200 else None


@contextlib.asynccontextmanager
async def in_process_emulator(picture_delay: float) -> AsyncIterator[Emulator]:
    async with serve_emulator(EmulatorConfig(picture_delay=picture_delay)) as server:
        yield InProcessEmulator(server.url, server.app)


@contextlib.asynccontextmanager
async def child_emulator(picture_delay: float) -> AsyncIterator[Emulator]:
    """`python -m bot.emulator` on a free port in a child process, stopped (SIGINT) when the block ends."""
    child = await asyncio.create_subprocess_exec(
        *(sys.executable, "-m", "bot.emulator", "--port", "0", "--picture-delay", str(picture_delay)),
        stdout=asyncio.subprocess.PIPE,
        cwd=REPO_ROOT,
    )
    try:
        assert child.stdout is not None
        line = (await asyncio.wait_for(child.stdout.readline(), CHILD_START_TIMEOUT)).decode().strip()
        url = line.rsplit(" ", 1)[-1]
        if not url.startswith("http://"):
            raise RuntimeError(f"the emulator did not start (it said {line!r})")
        async with aiohttp.ClientSession() as session:
            yield ChildEmulator(url, session, f"in a child process (pid {child.pid})")
    finally:
        await stop_child(child)


async def stop_child(child: asyncio.subprocess.Process) -> None:
    if child.returncode is not None:
        return
    child.send_signal(signal.SIGINT)
    try:
        await asyncio.wait_for(child.wait(), CHILD_STOP_TIMEOUT)
    except TimeoutError:
        child.kill()
        await child.wait()


# --- watching the process --------------------------------------------------------------------------------------------


class LagMonitor:
    """How late a task sleeping 10 ms over and over wakes: the event loop's responsiveness during the run."""

    def __init__(self) -> None:
        self.lags: list[float] = []
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="lag-monitor")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            before = loop.time()
            await asyncio.sleep(LAG_INTERVAL)
            self.lags.append(max(0.0, loop.time() - before - LAG_INTERVAL))


class GcWatch:
    """Times the garbage collector's full (generation 2) collections while installed: they pause everything in the
    process, the fake's share of the heap included."""

    def __init__(self) -> None:
        self.pauses: list[float] = []
        self._started = 0.0

    def __enter__(self) -> GcWatch:
        gc.callbacks.append(self._callback)
        return self

    def __exit__(self, *exc_info: object) -> None:
        gc.callbacks.remove(self._callback)

    def _callback(self, phase: str, info: dict[str, int]) -> None:
        if info.get("generation") != 2:
            return
        if phase == "start":
            self._started = time.perf_counter()
        else:
            self.pauses.append(time.perf_counter() - self._started)


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
    """(server, start, end) of each API call for a picture: what the service was asked to draw at once."""
    return [(r.server, r.api_start, r.api_end) for r in records if r.api_start is not None and r.api_end is not None]


def held_intervals(records: Iterable[DrawRecord], until: float) -> list[tuple[int, float, float]]:
    """(server, granted, released) of each turn the queue gave. A turn ends when its API call returns (the queue
    frees it in the same event-loop step, before granting the next), or at `until` if it never did."""
    return [
        (r.server, r.granted_at, r.api_end if r.api_end is not None else until)
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


def quantile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def ms(seconds: float) -> str:
    return "n/a" if math.isnan(seconds) else f"{round(seconds * 1000)} ms"


def in_seconds(value: float) -> str:
    return f"{value:.2f} s"


def spread(values: Sequence[float], unit: Callable[[float], str] = ms) -> str:
    """p50 / p95 / max."""
    if not values:
        return "n/a"
    return f"{unit(statistics.median(values))} / {unit(quantile(values, 0.95))} / {unit(max(values))}"


@dataclass
class Table:
    rows: list[tuple[str, str, str, str]] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)

    def add(self, figure: str, measured: str, target: str = "", ok: bool | None = None) -> None:
        self.rows.append((figure, measured, target, "" if ok is None else "PASS" if ok else "FAIL"))
        if ok is False:
            self.failed.append(figure)

    def render(self, title: str) -> str:
        lines = [f"### {title}", "", "| figure | measured | target | result |", "|---|---|---|---|"]
        lines += [f"| {a} | {b} | {c} | {d} |" for a, b, c, d in self.rows]
        return "\n".join(lines)


def overheads(records: Iterable[DrawRecord]) -> tuple[list[float], list[float], list[float]]:
    """Per delivered picture, in seconds: API answer -> picture visible; the download; the rest (upload and edit)."""
    total, download, rest = [], [], []
    for r in records:
        if r.outcome != DELIVERED or r.api_end is None or r.final_at is None:
            continue
        if r.fetch_start is None or r.fetch_end is None:
            continue
        total.append(r.final_at - r.api_end)
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


def waits(records: Iterable[DrawRecord]) -> list[float]:
    """Accepted -> given its turn, per request that was drawn."""
    return [r.granted_at - r.accepted_at for r in records if r.granted_at is not None and r.accepted_at is not None]
