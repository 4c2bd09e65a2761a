"""Benchmark of the picture queue: many users in several servers drawing at once, the whole bot against the fake
Discord and the fusion emulator.

The unmodified bot (`FusionBot` with its cogs, discord.py, the fusion client, the downloader, the store in a
temporary SQLite file) runs against `tests/fake_discord` and the emulator drawing each picture in `--picture-delay`
seconds. Cooldown and daily quota are off; the queue's limits are options. By default 100 /draw requests from 20
users, 4 in each of 5 servers (the fake's first guild and 4 more). Each user sends its requests one after another,
the next as soon as the previous one has left the waiting state (its reply shows "Drawing", or how it ended), since
the bot lets a user have one request waiting; all users start at once; each prompt is unique ("bench picture
u3-r2"), so every request can be followed. It prints, with targets:

- requests sent; pictures delivered (a final reply with one attachment, named after the picture URL the API answered
  with, whose bytes are those the emulator serves there); refused or failed; lost (no final reply);
- the queue's limits and order, from times recorded inside the bot by wrapping methods of its own instances: the
  most pictures drawn at once (`FusionClient.complete` calls open together) in all and in one server, against
  `--max-concurrent` and `--per-server`; and first come, first served (`DrawQueue.join` order against
  `Ticket.started_at`): no request given its turn before one accepted earlier in the same server, nor before one
  accepted earlier in another server that had room then;
- waiting in the queue (accepted -> its turn to draw), and how long the reply takes to show that it is drawing;
- the bot's own overhead per picture: the API's answer returning -> the fake recording the version of the reply with
  the attachment, split into the download (time inside `PictureDownloader.fetch`) and the rest (upload and edit:
  the store, discord.py's multipart request, the fake taking it in); p50 / p95 / max in ms;
- 429s and other 4xx answers from the fake and acknowledgement mistakes; wall time against the ideal
  (ceil(requests / pictures at once) x picture delay); edits per reply; event-loop lag, full garbage collections
  and CPU of this process.

Processes. The bot, the fake Discord and the driver share one event loop, as in the tests: the fake's share of
taking in an upload is then in "upload + edit" (as Discord's own time would be), and a full garbage collection
(printed) pauses all of them. The emulator runs in a child process (`python -m bot.emulator --port 0`; the pictures
are checked by fetching their URLs again after the run). In this process it distorted the figures: its PNG rendering
(about 15 ms of CPU a picture, with pictures finishing 8 at a time) was 40-50% of the process's CPU and raised the
median overhead from about 9 ms to about 13 ms over 8 runs each on 2 CPUs (the p95, 25-45 ms, was as noisy either
way), which is the service's work, not the bot's. `--one-process` runs it in this process anyway, pictures checked
with `drawn_picture`, to compare. The pictures start together and take the same time, so they finish
`--max-concurrent` at a time and the last of a batch waits for the others' downloads and uploads: that is the p95.

    python bench/draw.py [--requests 100] [--users 20] [--servers 5] [--max-concurrent 8] [--per-server 3]
                         [--picture-delay 2.0] [--one-process]

Exit status 1 when a picture was lost, refused or failed, a limit or the order was broken, or the fake answered a 429
or another 4xx. About 30 s with the defaults (100 / 8 x 2 s of drawing, plus start-up).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import math
import os
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:  # `python bench/draw.py` from a clone that is not pip-installed
    sys.path.insert(0, str(REPO_ROOT))

from bench._draw_helpers import (  # noqa: E402
    DELIVERED,
    FAILED,
    LOST,
    REFUSED,
    WRONG,
    DrawRecord,
    Emulator,
    GcWatch,
    LagMonitor,
    Table,
    check_order,
    child_emulator,
    drawing_intervals,
    held_intervals,
    in_process_emulator,
    in_seconds,
    judge,
    ms,
    overheads,
    peaks,
    quantile,
    shown_drawing,
    spread,
    waits,
)
from bench._warnings import WarningCounter  # noqa: E402
from bot import runtime  # noqa: E402
from bot.app.client import FusionBot  # noqa: E402
from bot.config import Settings, load_settings  # noqa: E402
from bot.core.downloads import Picture  # noqa: E402
from bot.core.draw import Ticket  # noqa: E402
from bot.core.draw.options import DRAWING_REQUEST  # noqa: E402
from bot.core.fusion import FinalResult  # noqa: E402
from bot.core.fusion.models import ChatRequest  # noqa: E402
from bot.emulator.pictures import STORE_CAPACITY  # noqa: E402
from tests.fake_discord import FakeDiscord, FakeMessage, Stats, Version, running_client  # noqa: E402

DEFERRED_MESSAGE = 5  # the callback of an accepted /draw; a refusal is answered at once, privately (type 4)
LOADING = 1 << 7  # message flag: "the bot is thinking"
CANCEL_BUTTON = "draw:cancel:"  # a reply still waiting or drawing carries the Cancel button
DRAWING = "Drawing"  # in the reply's text while the picture is being drawn


@dataclass(frozen=True)
class Options:
    requests: int
    users: int
    servers: int
    max_concurrent: int
    per_server: int
    picture_delay: float
    one_process: bool

    @property
    def at_once(self) -> int:
        return min(self.max_concurrent, self.servers * self.per_server, self.requests)

    @property
    def ideal_seconds(self) -> float:
        return math.ceil(self.requests / self.at_once) * self.picture_delay

    @property
    def deadline_seconds(self) -> float:
        return 3 * self.ideal_seconds + 60


@dataclass(frozen=True)
class Member:
    index: int
    server: int
    user_id: int
    channel_id: int


# --- timing inside the bot -------------------------------------------------------------------------------------------


def instrument(bot: FusionBot, records: list[DrawRecord]) -> None:
    """Wrap, on the bot's own instances, the queue's `join`, the API call and the download, to time each request."""
    by_request = {DRAWING_REQUEST.format(prompt=r.prompt): r for r in records}
    by_prompt = {r.prompt: r for r in records}
    by_url: dict[str, DrawRecord] = {}
    queue, client, downloader = bot.draws.queue, bot.draws.client, bot.draws.downloader
    join, complete, fetch = queue.join, client.complete, downloader.fetch
    accepted = 0

    def timed_join(ticket: Ticket) -> None:
        nonlocal accepted
        at = time.monotonic()
        record = by_prompt.get(ticket.prompt)
        if record is not None:
            time_the_turn(ticket, record)
        join(ticket)
        if record is not None:
            record.accepted_at, record.accepted_seq, record.ticket = at, accepted, ticket
            accepted += 1

    def time_the_turn(ticket: Ticket, record: DrawRecord) -> None:
        # `Ticket.started_at` is event-loop time, which on uvloop is cached per loop step and counts whole
        # milliseconds: compared with the monotonic times of the API call, turns would seem to overlap.
        grant = ticket.granted.set

        def timed_grant() -> None:
            record.granted_at = time.monotonic()
            grant()

        ticket.granted.set = timed_grant  # type: ignore[method-assign]

    async def timed_complete(request: ChatRequest, *, picture: bool = False) -> FinalResult:
        record = by_request.get(request.messages[-1].content) if picture else None
        if record is None:
            return await complete(request, picture=picture)
        record.api_start = time.monotonic()
        try:
            result = await complete(request, picture=picture)
        finally:
            record.api_end = time.monotonic()
        if result.picture_url is not None:
            by_url[result.picture_url], record.picture_url = record, result.picture_url
        return result

    async def timed_fetch(url: str, *, max_bytes: int) -> Picture:
        record, start = by_url.get(url), time.monotonic()
        try:
            return await fetch(url, max_bytes=max_bytes)
        finally:
            if record is not None:
                record.fetch_start, record.fetch_end = start, time.monotonic()

    queue.join = timed_join  # type: ignore[method-assign]
    client.complete = timed_complete  # type: ignore[method-assign]
    downloader.fetch = timed_fetch  # type: ignore[method-assign]


# --- the world and its users -----------------------------------------------------------------------------------------


def build_world(fake: FakeDiscord, options: Options) -> list[Member]:
    """The fake's first guild and `servers - 1` more; user i is a member of guild i mod servers only."""
    guilds = [fake.guild_id] + [fake.add_guild(f"Bench Server {index}") for index in range(1, options.servers)]
    members = []
    for index in range(options.users):
        server = index % options.servers
        user_id = fake.add_member(f"bench-user-{index}", guild_id=guilds[server])
        members.append(Member(index, server, user_id, fake.default_channel_of(guilds[server])))
    return members


def make_records(options: Options, members: list[Member]) -> list[DrawRecord]:
    """Request k is request number k // users of user k mod users."""
    records = []
    for k in range(options.requests):
        member, number = members[k % options.users], k // options.users
        records.append(DrawRecord(member.index, number, member.server, f"bench picture u{member.index}-r{number}"))
    return records


def version_is_final(version: Version) -> bool:
    """Shows how the request ended: no longer loading, no Cancel button, something shown."""
    buttons = (item.get("custom_id", "") for row in version.components for item in row.get("components", []))
    pending = any(custom_id.startswith(CANCEL_BUTTON) for custom_id in buttons)
    return not version.flags & LOADING and not pending and bool(version.content or version.embeds)


def shows_drawing(version: Version) -> bool:
    """Shows the request being drawn, or how it ended: it is no longer waiting."""
    return DRAWING in version.content or version_is_final(version)


def left_waiting(message: FakeMessage) -> Callable[[], bool]:
    return lambda: bool(message.versions) and shows_drawing(message.versions[-1])


async def wait_for(fake: FakeDiscord, check: Callable[[], bool], deadline: float) -> None:
    await fake.wait_until(check, timeout=max(0.1, deadline - time.monotonic()))


async def user_session(
    fake: FakeDiscord, member: Member, records: list[DrawRecord], deadline: float
) -> list[asyncio.Task[None]]:
    """Send the member's requests one after another, each once the previous one has left the waiting state;
    return the tasks following each reply to its end."""
    followers = []
    for record in records:
        record.sent_at = time.monotonic()
        handle = await fake.slash_command(
            "draw", {"prompt": record.prompt}, channel_id=member.channel_id, user_id=member.user_id
        )
        try:
            callback = await handle.responded(timeout=max(0.1, deadline - time.monotonic()))
            if callback.type != DEFERRED_MESSAGE:
                record.outcome, record.detail = REFUSED, str(callback.data.get("content", ""))[:160]
                continue
            message = await handle.original_message()
            await wait_for(fake, left_waiting(message), deadline)
        except TimeoutError:
            record.detail = "still waiting at the deadline"
            continue
        followers.append(asyncio.create_task(follow(fake, record, message, deadline)))
    return followers


async def follow(fake: FakeDiscord, record: DrawRecord, message: FakeMessage, deadline: float) -> None:
    """Wait until the reply shows how the request ended; keep that version."""
    try:
        await wait_for(fake, lambda: any(map(version_is_final, message.versions)), deadline)
    except TimeoutError:
        record.detail = "no final reply by the deadline"
        return
    record.final = next(version for version in message.versions if version_is_final(version))
    record.shown_drawing_at = next(version.at for version in message.versions if shows_drawing(version))
    record.edits = len(message.versions) - 1


# --- running ---------------------------------------------------------------------------------------------------------


@dataclass
class Run:
    records: list[DrawRecord]
    wall: float
    cpu: float
    lags: list[float]
    gc_pauses: list[float]  # full garbage collections
    stats: Stats
    emulator: str
    picture_bytes: list[int]


def bot_settings(fake: FakeDiscord, emulator_url: str, data_dir: str, options: Options) -> Settings:
    return load_settings(
        _env_file=None,
        discord_token=fake.token,
        discord_api_base=fake.api_base,
        discord_gateway_url=fake.gateway_url,
        fusion_api_url=emulator_url,
        fusion_api_key="bench-key",
        database_url=f"sqlite:///{data_dir}/bench.sqlite3",
        image_fetch_allow_private=True,
        log_level="WARNING",
        draw_cooldown_seconds=0,
        draw_daily_quota=0,
        draw_max_concurrent=options.max_concurrent,
        draw_max_concurrent_per_server=options.per_server,
    )


@asynccontextmanager
async def running_bot(fake: FakeDiscord, emulator: Emulator, options: Options) -> AsyncIterator[FusionBot]:
    with tempfile.TemporaryDirectory(prefix="fusionbot-bench-draw-") as data_dir:
        bot = FusionBot(bot_settings(fake, emulator.url, data_dir, options), guild_ready_timeout=0.05)
        async with running_client(fake, bot):
            yield bot


async def drive(fake: FakeDiscord, members: list[Member], records: list[DrawRecord], deadline: float) -> None:
    """All users at once; returns when every reply has ended (or the deadline passed)."""
    sessions = [user_session(fake, m, [r for r in records if r.user == m.index], deadline) for m in members]
    followers = [task for tasks in await asyncio.gather(*sessions) for task in tasks]
    await asyncio.gather(*followers)


async def run(options: Options) -> Run:
    emulator_context: AbstractAsyncContextManager[Emulator] = (
        in_process_emulator(options.picture_delay) if options.one_process else child_emulator(options.picture_delay)
    )
    async with FakeDiscord() as fake, emulator_context as emulator:
        members = build_world(fake, options)
        records = make_records(options, members)
        async with running_bot(fake, emulator, options) as bot:
            instrument(bot, records)
            monitor = LagMonitor()
            monitor.start()
            with GcWatch() as collections:
                started, cpu = time.monotonic(), time.process_time()
                await drive(fake, members, records, started + options.deadline_seconds)
                wall, cpu = time.monotonic() - started, time.process_time() - cpu
            await monitor.stop()
        sizes = await settle(records, emulator)
        return Run(records, wall, cpu, monitor.lags, collections.pauses, fake.stats, emulator.where, sizes)


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


# --- report ----------------------------------------------------------------------------------------------------------


def report(options: Options, result: Run) -> Table:
    records, table = result.records, Table()
    outcomes = Counter(r.outcome for r in records)
    sent = sum(r.sent_at is not None for r in records)
    table.add("requests sent", str(sent), str(options.requests), sent == options.requests)
    delivered = outcomes[DELIVERED]
    table.add("pictures delivered (the emulator's bytes attached)", str(delivered), str(sent), delivered == sent)
    refused_failed = f"{outcomes[REFUSED]} / {outcomes[FAILED]} / {outcomes[WRONG]}"
    bad = outcomes[REFUSED] + outcomes[FAILED] + outcomes[WRONG]
    table.add("refused / failed / wrong picture", refused_failed, "0 / 0 / 0", bad == 0)
    table.add("lost (no final reply)", str(outcomes[LOST]), "0", outcomes[LOST] == 0)
    add_queue_rows(table, options, result)
    total, download, rest = overheads(records)
    table.add("bot overhead per picture: API answer -> picture shown (p50 / p95 / max)", spread(total))
    table.add("  of which download (p50 / p95 / max)", spread(download))
    table.add("  of which upload + edit (p50 / p95 / max)", spread(rest))
    api = [r.api_end - r.api_start for r in records if r.api_start is not None and r.api_end is not None]
    table.add("API call, drawing included (p50 / p95 / max)", spread(api))
    add_discord_rows(table, result)
    table.add("wall time", f"{result.wall:.1f} s", f"ideal {options.ideal_seconds:g} s")
    lags, pauses = result.lags or [0.0], result.gc_pauses
    table.add(
        "event-loop lag (p99 / max); full garbage collections (count, longest)",
        f"{ms(quantile(lags, 0.99))} / {ms(max(lags))}; {len(pauses)}, {ms(max(pauses, default=0.0))}",
    )
    cpu_share = result.cpu / max(result.wall, 1e-9)
    table.add("CPU of this process (bot, fake, driver)", f"{result.cpu:.1f} s ({cpu_share:.0%} of a core)")
    return table


def add_queue_rows(table: Table, options: Options, result: Run) -> None:
    records = result.records
    drawn, held = peaks(drawing_intervals(records)), peaks(held_intervals(records, math.inf))
    within = max(drawn.overall, held.overall) <= options.max_concurrent
    within_server = max(drawn.per_server, held.per_server) <= options.per_server
    table.add(
        "pictures drawn at once, max (in all / in one server)",
        f"{drawn.overall} / {drawn.per_server}",
        f"<= {options.max_concurrent} / <= {options.per_server}",
        within and within_server,
    )
    order = check_order(records, options.per_server, math.inf)
    table.add(
        "order violations (same server; overtaken while its server had room)",
        f"{order.violations} ({order.same_server}; {order.without_cause})",
        "0",
        order.violations == 0,
    )
    for example in order.examples:
        table.add("  e.g.", example)
    table.add("waiting in the queue, accepted -> drawing (p50 / p95 / max)", spread(waits(records), in_seconds))
    table.add("turn given -> the reply shows it drawing (p50 / p95 / max)", spread(shown_drawing(records)))


def add_discord_rows(table: Table, result: Run) -> None:
    stats = result.stats
    table.add("429 responses from the fake", str(stats.rate_limited), "0", stats.rate_limited == 0)
    others = len(stats.client_errors) - stats.rate_limited
    mistakes = len(stats.ack_violations) + len(stats.internal_errors)
    table.add("other 4xx; ack mistakes and fake errors", f"{others}; {mistakes}", "0; 0", others == mistakes == 0)
    edits = [r.edits for r in result.records if r.final is not None]
    if edits:
        table.add("edits per reply until it ended (mean / max)", f"{statistics.mean(edits):.1f} / {max(edits)}")


def print_notes(result: Run, warnings: WarningCounter) -> None:
    notes = []
    if result.picture_bytes:
        size = statistics.mean(result.picture_bytes) / 1024
        notes.append(f"pictures: {size:.0f} KiB on average; the emulator ran {result.emulator}")
    notes += [f"{r.prompt}: {r.outcome}, {r.detail!r}" for r in result.records if r.outcome != DELIVERED][:20]
    notes += [f"fake answered {e.status} to {e.route}: {e.message[:120]!r}" for e in result.stats.client_errors[:5]]
    notes += [f"log: {key} x{n}, first: {warnings.examples[key]!r}" for key, n in warnings.counts.items()]
    print("\n### Notes\n\n" + "\n".join(f"- {note}" for note in notes))


def parse_options() -> Options:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=100, help="/draw requests in all (default 100)")
    parser.add_argument("--users", type=int, default=20, help="users sending them (default 20)")
    parser.add_argument("--servers", type=int, default=5, help="servers the users are spread over (default 5)")
    parser.add_argument("--max-concurrent", type=int, default=8, help="DRAW_MAX_CONCURRENT (default 8)")
    parser.add_argument("--per-server", type=int, default=3, help="DRAW_MAX_CONCURRENT_PER_SERVER (default 3)")
    parser.add_argument("--picture-delay", type=float, default=2.0, help="seconds the emulator draws (default 2)")
    parser.add_argument("--one-process", action="store_true", help="run the emulator in this process too")
    args = parser.parse_args()
    if not 1 <= args.servers <= args.users <= args.requests <= STORE_CAPACITY:
        parser.error(f"need 1 <= servers <= users <= requests <= {STORE_CAPACITY} (the pictures the emulator keeps)")
    if not (1 <= args.max_concurrent <= 100 and 1 <= args.per_server <= 100 and args.picture_delay >= 0):
        parser.error("the limits are 1..100 (as the settings allow) and the delay not negative")
    return Options(
        args.requests,
        args.users,
        args.servers,
        args.max_concurrent,
        args.per_server,
        args.picture_delay,
        args.one_process,
    )


def main() -> None:
    options = parse_options()
    warnings = WarningCounter()
    logging.getLogger().addHandler(warnings)
    logging.getLogger().setLevel(logging.WARNING)
    print(
        f"## Picture queue benchmark: {options.requests} requests from {options.users} users in {options.servers}"
        f" servers, at most {options.max_concurrent} at once and {options.per_server} per server,"
        f" {options.picture_delay:g} s a picture ({os.cpu_count()} CPUs)\n"
    )
    result = runtime.run(run(options))
    table = report(options, result)
    print(table.render("Results"))
    print_notes(result, warnings)
    if table.failed:
        print("\nFAILED: " + "; ".join(table.failed))
    sys.exit(1 if table.failed else 0)


if __name__ == "__main__":
    main()
