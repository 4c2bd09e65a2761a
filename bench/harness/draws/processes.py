"""The processes around the bot of `bench/draw.py`: the fusion emulator, which times every picture it draws, and, in
cluster mode (`--processes N --database-url postgresql://...`), N `python -m bot` processes, one shard each, sharing
a fresh PostgreSQL schema.

Times are `time.monotonic()` seconds, on Linux one clock for every process of the machine. PostgreSQL's times (its
wall clock, `clock_timestamp()`) are moved onto it by the difference between the two clocks, read together here.

- The emulator is `bot.emulator`'s app with a middleware that keeps, for each answer naming a picture URL, the
  request's last message, the URL, and when the request came and when it was answered; `GET /bench/draws` returns
  them with the app's own `most_drawing_at_once`. In a child process
  (`python -m bench.harness.draws.processes --picture-delay S`), or in this one (`in_process_emulator`).
- The bot processes get the one-process run's settings as environment variables, with `SHARD_COUNT=N`, `SHARD_IDS=i`
  and the schema's URL; each logs to a file, whose warnings and errors go to the notes.
- The queue's times come from the database: once the bots have migrated the schema, a trigger on `picture_queue`
  copies each row as it is deleted (its request left the line, or its turn ended) into `bench_queue_left`, with the
  time. A row's `position` orders the line, `created_at` is when it joined, `started_at` when it was given its turn.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import json
import os
import re
import signal
import sys
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Protocol

import aiohttp
import asyncpg
from aiohttp import web
from yarl import URL

from bench.harness.children import REPO_ROOT, stop_async_child
from bench.harness.cpu import processes_cpu
from bench.harness.draws.records import REFUSED, DrawRecord, judge, url_stem
from bot.app.sharding import IDENTIFY_INTERVAL
from bot.config import Settings
from bot.core.draw.options import DRAWING_REQUEST
from bot.emulator import EmulatorConfig, create_app, drawn_picture, most_drawing_at_once, run_emulator
from tests.fake_discord import FakeDiscord
from tests.postgres import fresh_schema

CHILD_START_TIMEOUT = 30.0
CHILD_STOP_TIMEOUT = 30.0  # a bot process lets go of its shard and its database connections
DRAWS_PATH = "/bench/draws"
PICTURE_URL = re.compile(r"https?://[^\s\"'<>\\]+/pictures/[^\s\"'<>\\]+")
LOG_LINE = re.compile(r"^\S+ \S+ (WARNING|ERROR|CRITICAL) +(\S+): (.*)$")


# --- the emulator, timing its pictures -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Drawn:
    """A picture the emulator answered with: the request's last message, the URL, when it came and was answered."""

    request: str
    url: str
    start: float
    end: float


DRAWN = web.AppKey("bench_drawn", list[Drawn])


def timed_app(picture_delay: float) -> web.Application:
    app = create_app(EmulatorConfig(picture_delay=picture_delay))
    app[DRAWN] = []
    app.middlewares.append(_time_pictures)
    app.router.add_get(DRAWS_PATH, _list_draws)
    return app


@web.middleware
async def _time_pictures(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    start = time.monotonic()
    response = await handler(request)
    end, body = time.monotonic(), getattr(response, "body", None)
    found = PICTURE_URL.search(body.decode("utf-8", "replace")) if isinstance(body, bytes) else None
    if request.method == "POST" and found is not None:
        message = json.loads(await request.read())["messages"][-1]["content"]  # the body the handler read
        request.app[DRAWN].append(Drawn(message, found.group(), start, end))
    return response


async def _list_draws(request: web.Request) -> web.Response:
    drawn = [dataclasses.asdict(draw) for draw in request.app[DRAWN]]
    return web.json_response({"drawn": drawn, "most_at_once": most_drawing_at_once(request.app)})


class Emulator(Protocol):
    url: str  # the chat endpoint
    where: str  # which process it runs in, in words

    async def served(self, picture_url: str) -> bytes | None:
        """The bytes the emulator serves at a picture URL it answered with (None: it no longer holds them)."""
        ...

    async def drawn(self) -> tuple[list[Drawn], int]:
        """The pictures it answered with, and the most it drew at one moment (its own count)."""
        ...


@dataclass
class InProcessEmulator:
    url: str
    app: web.Application
    where: str = "in this process"

    async def served(self, picture_url: str) -> bytes | None:
        return drawn_picture(self.app, url_stem(picture_url))

    async def drawn(self) -> tuple[list[Drawn], int]:
        return list(self.app[DRAWN]), most_drawing_at_once(self.app)


@dataclass
class ChildEmulator:
    url: str
    session: aiohttp.ClientSession
    where: str

    async def served(self, picture_url: str) -> bytes | None:
        async with self.session.get(picture_url) as response:
            return await response.read() if response.status == 200 else None

    async def drawn(self) -> tuple[list[Drawn], int]:
        async with self.session.get(URL(self.url).with_path(DRAWS_PATH)) as response:
            answer = await response.json()
        return [Drawn(**draw) for draw in answer["drawn"]], answer["most_at_once"]


@contextlib.asynccontextmanager
async def in_process_emulator(picture_delay: float) -> AsyncIterator[Emulator]:
    app = timed_app(picture_delay)
    async with run_emulator(app=app) as url:
        yield InProcessEmulator(url, app)


@contextlib.asynccontextmanager
async def child_emulator(picture_delay: float) -> AsyncIterator[Emulator]:
    """This module's emulator on a free port in a child process, stopped (SIGINT) when the block ends."""
    child = await asyncio.create_subprocess_exec(
        *(sys.executable, "-m", "bench.harness.draws.processes", "--picture-delay", str(picture_delay)),
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
        await stop_async_child(child, signal.SIGINT, CHILD_STOP_TIMEOUT)


def note_draws(records: Sequence[DrawRecord], drawn: Sequence[Drawn], fetches: dict[str, tuple[float, float]]) -> None:
    """Give each record the emulator's times and URL of its picture (matched by the request's text), and the times
    of that URL's download if the bot's were taken."""
    by_request = {DRAWING_REQUEST.format(prompt=r.prompt): r for r in records}
    for draw in drawn:
        record = by_request.get(draw.request)
        if record is not None:
            record.api_start, record.api_end, record.picture_url = draw.start, draw.end, draw.url
            record.fetch_start, record.fetch_end = fetches.get(draw.url, (None, None))


async def settle(records: list[DrawRecord], emulator: Emulator) -> list[int]:
    """Judge every request not refused at once against the bytes the emulator serves; their sizes."""
    sizes = []
    for record in records:
        if record.outcome == REFUSED:
            continue
        served = None if record.picture_url is None else await emulator.served(record.picture_url)
        record.outcome, record.detail = judge(record, served)
        sizes += [len(served)] if served else []
    return sizes


# --- the bots --------------------------------------------------------------------------------------------------------


@dataclass
class Bots:
    """What the bot side of a run leaves: notes (the bot processes' logs), in one process the download times by URL,
    and how to read the CPU time of the bot processes."""

    notes: list[str] = field(default_factory=list)
    fetches: dict[str, tuple[float, float]] = field(default_factory=dict)
    pids: list[int] = field(default_factory=list)

    def cpu(self) -> float | None:
        """User and system seconds of the bot processes so far (None: the bot is this process)."""
        return processes_cpu(self.pids) if self.pids else None


def bot_settings(fake: FakeDiscord, emulator_url: str, max_concurrent: int, per_server: int) -> dict[str, str]:
    """The bot's settings but its database, as environment variables: cooldown and daily quota off."""
    return {
        "DISCORD_TOKEN": fake.token,
        "DISCORD_API_BASE": fake.api_base,
        "DISCORD_GATEWAY_URL": fake.gateway_url,
        "FUSION_API_URL": emulator_url,
        "FUSION_API_KEY": "bench-key",
        "IMAGE_FETCH_ALLOW_PRIVATE": "true",
        "LOG_LEVEL": "WARNING",
        "DRAW_COOLDOWN_SECONDS": "0",
        "DRAW_DAILY_QUOTA": "0",
        "DRAW_MAX_CONCURRENT": str(max_concurrent),
        "DRAW_MAX_CONCURRENT_PER_SERVER": str(per_server),
    }


def with_search_path(url: str, schema: str) -> str:
    """The URL of `schema` in `url`'s database: asyncpg hands `search_path` to the server as a setting."""
    return f"{url}{'&' if '?' in url else '?'}search_path={schema}"


@contextlib.asynccontextmanager
async def running_cluster(
    fake: FakeDiscord, settings: dict[str, str], server_url: str, processes: int, records: Sequence[DrawRecord]
) -> AsyncIterator[Bots]:
    """`processes` bot processes, shard i of `processes` each, on a fresh schema of `server_url`'s database. Yields
    once each has identified and the schema is instrumented; on leaving stops them (SIGTERM), writes the queue's
    times into `records` and drops the schema."""
    bots, children = Bots(), []
    async with fresh_schema(server_url) as schema:
        dsn = with_search_path(server_url, schema)
        with tempfile.TemporaryDirectory(prefix="fusionbot-bench-cluster-") as folder:
            env = bot_environment(settings | {"DATABASE_URL": dsn, "SHARD_COUNT": str(processes)})
            try:
                for shard in range(processes):
                    log = (Path(folder) / f"bot-{shard}.log").open("wb")
                    with log:
                        children.append(await start_bot(env | {"SHARD_IDS": str(shard)}, log))
                bots.pids = [child.pid for child in children]
                await wait_identified(fake, children, Path(folder))
                await instrument_schema(dsn)
                yield bots
            finally:
                await asyncio.gather(
                    *(stop_async_child(child, signal.SIGTERM, CHILD_STOP_TIMEOUT) for child in children)
                )
                bots.notes += [f"bot process {i} exited with {c.returncode}" for i, c in enumerate(children)]
                bots.notes += log_notes(Path(folder))
        await read_queue_times(dsn, records)


def bot_environment(settings: dict[str, str]) -> dict[str, str]:
    """This process's environment without any of the bot's settings, then `settings`."""
    names = {name.upper() for name in Settings.model_fields}
    inherited = {key: value for key, value in os.environ.items() if key.upper() not in names}
    return inherited | {"PYTHONPATH": str(REPO_ROOT)} | settings


async def start_bot(env: dict[str, str], log: IO[bytes]) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", env=env, stdout=log, stderr=log, cwd=REPO_ROOT
    )


async def wait_identified(fake: FakeDiscord, children: Sequence[asyncio.subprocess.Process], folder: Path) -> None:
    """Until every shard's IDENTIFY was accepted (a process has migrated the schema, repaired its shard's work and
    synced the commands by then); one IDENTIFY every `IDENTIFY_INTERVAL` in all, as on Discord."""

    def identified() -> bool:
        for shard, child in enumerate(children):
            if child.returncode is not None:
                tail = (folder / f"bot-{shard}.log").read_text(errors="replace")[-2000:]
                raise RuntimeError(f"bot process {shard} exited with {child.returncode}:\n{tail}")
        return {r.shard_id for r in fake.identifies if r.accepted} >= set(range(len(children)))

    await fake.wait_until(identified, timeout=CHILD_START_TIMEOUT + IDENTIFY_INTERVAL * len(children))


def log_notes(folder: Path) -> list[str]:
    """Per bot process: its warnings and errors by logger and level, with the first message; its tracebacks."""
    notes = []
    for path in sorted(folder.glob("bot-*.log")):
        counts: Counter[str] = Counter()
        first: dict[str, str] = {}
        lines = path.read_text(errors="replace").splitlines()
        for line in lines:
            if (found := LOG_LINE.match(line)) is not None:
                key = f"{found[2]} {found[1]}"
                counts[key] += 1
                first.setdefault(key, found[3][:160])
        notes += [f"{path.stem} log: {key} x{n}, first: {first[key]!r}" for key, n in counts.items()]
        tracebacks = sum(line.startswith("Traceback") for line in lines)
        notes += [f"{path.stem} log: {tracebacks} traceback(s)"] if tracebacks else []
    return notes


# --- the queue's times, from the database ----------------------------------------------------------------------------

INSTRUMENT = """
CREATE TABLE bench_queue_left AS SELECT *, 0::double precision AS left_at FROM picture_queue WITH NO DATA;
CREATE FUNCTION bench_queue_left() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO bench_queue_left SELECT (OLD).*, extract(epoch FROM clock_timestamp());
    RETURN OLD;
END $$;
CREATE TRIGGER bench_queue_left AFTER DELETE ON picture_queue FOR EACH ROW EXECUTE FUNCTION bench_queue_left();
"""
LEFT = "SELECT prompt, position, created_at, started_at, left_at FROM bench_queue_left ORDER BY left_at"


async def instrument_schema(dsn: str) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(INSTRUMENT)
    finally:
        await conn.close()


async def read_queue_times(dsn: str, records: Sequence[DrawRecord]) -> None:
    """Each request's place in the line (`accepted_seq`), when it joined, was given its turn and let go of it."""
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch(LEFT)
    finally:
        await conn.close()
    offset = time.time() - time.monotonic()
    by_prompt = {r.prompt: r for r in records}
    for row in rows:  # a row forgotten and written back left twice: its last departure counts
        record = by_prompt.get(row["prompt"])
        if record is None:
            continue
        record.accepted_seq, record.accepted_at = row["position"], row["created_at"] - offset
        if row["started_at"] is not None:
            record.granted_at, record.released_at = row["started_at"] - offset, row["left_at"] - offset


# --- the emulator's child process ------------------------------------------------------------------------------------


async def serve(picture_delay: float) -> None:
    async with run_emulator(app=timed_app(picture_delay)) as url:
        print(f"fusion emulator listening on {url}", flush=True)
        await asyncio.Event().wait()


def main() -> None:
    parser = argparse.ArgumentParser(description="The fusion emulator, timing the pictures it draws (bench/draw.py)")
    parser.add_argument("--picture-delay", type=float, default=0.0, help="seconds spent 'drawing' a picture")
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(parser.parse_args().picture_delay))


if __name__ == "__main__":
    main()
