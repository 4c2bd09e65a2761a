"""Benchmark of the picture queue: many users in several servers drawing at once, the whole bot against the fake
Discord and the fusion emulator; with `--database-url postgresql://...`, also N bot processes sharing that database
(cluster mode, `--processes N`), the two runs side by side.

The unmodified bot (`FusionBot` with its cogs, discord.py, the fusion client, the downloader, the store) runs
against `tests/fake_discord` and the emulator drawing each picture in `--picture-delay` seconds. Cooldown and daily
quota are off; the queue's limits are options. By default 100 /draw requests from 20 users, 4 in each of 5 servers
(the fake's first guild and 4 more). Each user sends its requests one after another, the next as soon as the
previous one has left the waiting state (its reply shows "Drawing", or how it ended), since the bot lets a user have
one request waiting; all users start at once; each prompt is unique ("bench picture u3-r2"), so every request can be
followed. It prints, with targets:

- requests sent; pictures delivered (a final reply with one attachment, named after the picture URL the emulator
  answered with, whose bytes are those it serves there); refused or failed; lost (no final reply);
- the queue's limits: the most pictures drawn at once in all and in one server (from the emulator's times of each
  picture request, and the turns the queue held), against `--max-concurrent` and `--per-server`; and its order,
  first come, first served (the order requests joined the queue against the order their turns came): no request
  given its turn before one that joined earlier in the same server, nor before one that joined earlier in another
  server that had room then;
- admission overhead: the /draw interaction sent -> the reply showing its place in line or "Drawing"; the wait in
  the queue (joined -> its turn), and its turn -> the reply showing it drawing;
- the bot's overhead per picture: the emulator's answer -> the fake recording the reply with the attachment, in one
  process split into the download (time inside `PictureDownloader.fetch`) and the rest (upload and edit);
- 429s and other 4xx answers from the fake and acknowledgement mistakes; wall time against the ideal
  (ceil(requests / pictures at once) x picture delay); edits per reply; event-loop lag, full garbage collections
  and CPU of this process, and of the bot processes.

One process, SQLite (always run): the bot, the fake Discord and the driver share one event loop, as in the tests;
the queue's times are taken inside the bot by wrapping methods of its own instances (`join`, the grant, the end of
the turn). The fake's share of taking in an upload is then in "upload + edit" (as Discord's own time would be), and
a full garbage collection pauses all of them. The pictures start together and take the same time, so they finish
`--max-concurrent` at a time and the last of a batch waits for the others' downloads and uploads: that is the p95.

N processes, PostgreSQL (with `--database-url`): a fresh schema in that database, dropped afterwards; the fake
sharding like Discord (`shard_count=N`, the servers spread over the shards in turn); N `python -m bot` processes
with `SHARD_COUNT=N`, `SHARD_IDS=i`, the schema's URL and the same settings; the queue's times from the database.

The emulator (`bench/_cluster.py`, timing its pictures) runs in a child process: in this one its PNG rendering
(about 15 ms of CPU a picture, 8 at a time) was 40-50% of the process's CPU and raised the one-process median
overhead from about 9 ms to about 13 ms, which is the service's work, not the bot's. `--one-process` runs it here
anyway, to compare.

    python bench/draw.py [--requests 100] [--users 20] [--servers 5] [--max-concurrent 8] [--per-server 3]
                         [--picture-delay 2.0] [--one-process] [--processes 2 --database-url postgresql://...]

Exit status 1 when, in either run, a picture was lost, refused or failed, a limit or the order was broken, or the
fake answered a 429 or another 4xx. About 30 s a run with the defaults (100 / 8 x 2 s of drawing, plus start-up).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import math
import os
import re
import shlex
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

from bench._cluster import (  # noqa: E402
    Bots,
    Emulator,
    bot_settings,
    child_emulator,
    in_process_emulator,
    note_draws,
    running_cluster,
    settle,
)
from bench._draw_helpers import (  # noqa: E402
    DELIVERED,
    FAILED,
    LOST,
    REFUSED,
    WRONG,
    DrawRecord,
    GcWatch,
    LagMonitor,
    Table,
    admissions,
    check_order,
    drawing_intervals,
    held_intervals,
    in_seconds,
    instrument,
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
from bot.config import load_settings  # noqa: E402
from bot.emulator.pictures import STORE_CAPACITY  # noqa: E402
from tests.fake_discord import FakeDiscord, FakeMessage, Stats, Version, running_client  # noqa: E402

DEFERRED_MESSAGE = 5  # the callback of an accepted /draw; a refusal is answered at once, privately (type 4)
LOADING = 1 << 7  # message flag: "the bot is thinking"
CANCEL_BUTTON = "draw:cancel:"  # a reply still waiting or drawing carries the Cancel button
DRAWING = "Drawing"  # in the reply's text while the picture is being drawn
WAITING = "Waiting to draw"  # ... while it waits, with its place in line


@dataclass(frozen=True)
class Options:
    requests: int
    users: int
    servers: int
    max_concurrent: int
    per_server: int
    picture_delay: float
    one_process: bool
    processes: int
    database_url: str | None

    @property
    def at_once(self) -> int:
        return min(self.max_concurrent, self.servers * self.per_server, self.requests)

    @property
    def ideal_seconds(self) -> float:
        return math.ceil(self.requests / self.at_once) * self.picture_delay

    @property
    def deadline_seconds(self) -> float:
        return 3 * self.ideal_seconds + 60

    @property
    def command(self) -> str:
        """The command line that runs this again (a password in the URL hidden)."""
        words = ["python", "bench/draw.py", "--requests", str(self.requests), "--users", str(self.users)]
        words += ["--servers", str(self.servers), "--max-concurrent", str(self.max_concurrent)]
        words += ["--per-server", str(self.per_server), "--picture-delay", f"{self.picture_delay:g}"]
        words += ["--one-process"] if self.one_process else []
        if self.database_url is not None:
            url = re.sub(r"(//[^/:@]*:)[^/@]*@", r"\1***@", self.database_url)
            words += ["--processes", str(self.processes), "--database-url", url]
        return shlex.join(words)


@dataclass(frozen=True)
class Member:
    index: int
    server: int
    user_id: int
    channel_id: int


# --- the world and its users -----------------------------------------------------------------------------------------


def build_world(fake: FakeDiscord, options: Options, shards: int | None) -> list[Member]:
    """The fake's first guild (on shard 0) and `servers - 1` more, server i on shard i mod `shards`; user i is a
    member of server i mod servers only."""
    guilds = [fake.guild_id] + [
        fake.add_guild(f"Bench Server {index}", shard=None if shards is None else index % shards)
        for index in range(1, options.servers)
    ]
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


def shows_place(version: Version) -> bool:
    """Shows the request admitted: its place in line, or it drawn (or how it ended)."""
    return WAITING in version.content or shows_drawing(version)


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
    record.admitted_at = next(version.at for version in message.versions if shows_place(version))
    record.edits = len(message.versions) - 1


# --- running ---------------------------------------------------------------------------------------------------------


@dataclass
class Run:
    label: str
    records: list[DrawRecord]
    wall: float
    cpu: float  # this process's
    bots_cpu: float | None  # the bot processes' (None: the bot ran in this process)
    lags: list[float]
    gc_pauses: list[float]  # full garbage collections
    stats: Stats
    most_at_once: int  # the emulator's own count
    notes: list[str]


@asynccontextmanager
async def running_bot(fake: FakeDiscord, settings: dict[str, str], records: list[DrawRecord]) -> AsyncIterator[Bots]:
    """The bot in this process, its store in a temporary SQLite file."""
    bots = Bots()
    with tempfile.TemporaryDirectory(prefix="fusionbot-bench-draw-") as data_dir:
        values = {key.lower(): value for key, value in settings.items()}
        values["database_url"] = f"sqlite:///{data_dir}/bench.sqlite3"
        bot = FusionBot(load_settings(_env_file=None, **values), guild_ready_timeout=0.05)
        async with running_client(fake, bot):
            instrument(bot, records, bots.fetches)
            yield bots


async def drive(fake: FakeDiscord, members: list[Member], records: list[DrawRecord], deadline: float) -> None:
    """All users at once; returns when every reply has ended (or the deadline passed)."""
    sessions = [user_session(fake, m, [r for r in records if r.user == m.index], deadline) for m in members]
    followers = [task for tasks in await asyncio.gather(*sessions) for task in tasks]
    await asyncio.gather(*followers)


async def run(options: Options, processes: int | None) -> Run:
    """One run: the bot in this process on SQLite (`processes` None), or that many bot processes on PostgreSQL."""
    emulator_context: AbstractAsyncContextManager[Emulator] = (
        in_process_emulator(options.picture_delay) if options.one_process else child_emulator(options.picture_delay)
    )
    warnings = WarningCounter()
    logging.getLogger().addHandler(warnings)
    async with FakeDiscord(shard_count=processes) as fake, emulator_context as emulator:
        members = build_world(fake, options, processes)
        records = make_records(options, members)
        settings = bot_settings(fake, emulator.url, options.max_concurrent, options.per_server)
        bots_context = (
            running_bot(fake, settings, records)
            if processes is None or options.database_url is None
            else running_cluster(fake, settings, options.database_url, processes, records)
        )
        async with bots_context as bots:
            monitor = LagMonitor()
            monitor.start()
            with GcWatch() as collections:
                started, cpu, bots_cpu = time.monotonic(), time.process_time(), bots.cpu()
                await drive(fake, members, records, started + options.deadline_seconds)
                wall, cpu, bots_cpu_after = time.monotonic() - started, time.process_time() - cpu, bots.cpu()
            await monitor.stop()
        drawn, most_at_once = await emulator.drawn()
        note_draws(records, drawn, bots.fetches)
        sizes = await settle(records, emulator)
        shards, where = Counter(interaction.shard_id for interaction in fake.interactions), emulator.where
    logging.getLogger().removeHandler(warnings)
    label = "1 process, SQLite" if processes is None else f"{processes} process{'es' * (processes > 1)}, PostgreSQL"
    bots_cpu = None if bots_cpu is None or bots_cpu_after is None else bots_cpu_after - bots_cpu
    notes = [f"pictures: {statistics.mean(sizes or [0]) / 1024:.0f} KiB on average; the emulator ran {where}"]
    notes += [f"interactions by shard: {dict(sorted(shards.items()))}"] if processes else []
    notes += bots.notes + [f"log: {key} x{n}, first: {warnings.examples[key]!r}" for key, n in warnings.counts.items()]
    return Run(label, records, wall, cpu, bots_cpu, monitor.lags, collections.pauses, fake.stats, most_at_once, notes)


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
    table.add("bot overhead per picture: the emulator's answer -> picture shown (p50 / p95 / max)", spread(total))
    table.add("  of which download (p50 / p95 / max)", spread(download))
    table.add("  of which upload + edit (p50 / p95 / max)", spread(rest))
    api = [r.api_end - r.api_start for r in records if r.api_start is not None and r.api_end is not None]
    table.add("the emulator's time for a picture, drawing included (p50 / p95 / max)", spread(api))
    add_discord_rows(table, result)
    table.add("wall time", f"{result.wall:.1f} s", f"ideal {options.ideal_seconds:g} s")
    lags, pauses = result.lags or [0.0], result.gc_pauses
    table.add(
        "event-loop lag of this process (p99 / max); full garbage collections (count, longest)",
        f"{ms(quantile(lags, 0.99))} / {ms(max(lags))}; {len(pauses)}, {ms(max(pauses, default=0.0))}",
    )
    table.add("CPU of this process (the fake, the driver; in one process the bot)", cpu_share(result.cpu, result.wall))
    bots = "n/a" if result.bots_cpu is None else cpu_share(result.bots_cpu, result.wall)
    table.add("CPU of the bot processes, together", bots)
    return table


def cpu_share(cpu: float, wall: float) -> str:
    return f"{cpu:.1f} s ({cpu / max(wall, 1e-9):.0%} of a core)"


def add_queue_rows(table: Table, options: Options, result: Run) -> None:
    records = result.records
    drawn, held = peaks(drawing_intervals(records)), peaks(held_intervals(records, math.inf))
    overall = max(drawn.overall, held.overall, result.most_at_once)
    per_server = max(drawn.per_server, held.per_server)
    table.add(
        "pictures drawn at once, max (in all / in one server)",
        f"{overall} / {per_server}",
        f"<= {options.max_concurrent} / <= {options.per_server}",
        overall <= options.max_concurrent and per_server <= options.per_server,
    )
    joined, turns = sum(r.accepted_seq is not None for r in records), sum(r.granted_at is not None for r in records)
    asked = sum(r.api_start is not None for r in records)  # every picture the emulator drew joined and had a turn
    table.add(
        "queue times recorded (joined / given a turn)",
        f"{joined} / {turns}",
        f"{asked} / {asked}",
        joined == turns == asked,
    )
    order = check_order(records, options.per_server, math.inf)
    table.add(
        "order violations (same server; overtaken while its server had room)",
        f"{order.violations} ({order.same_server}; {order.without_cause})",
        "0",
        order.violations == 0,
    )
    table.add(
        "admission overhead: /draw sent -> the reply shows its place or Drawing (p50 / p95 / max)",
        spread(admissions(records)),
    )
    table.add("waiting in the queue, joined -> its turn (p50 / p95 / max)", spread(waits(records), in_seconds))
    table.add("its turn -> the reply shows it drawing (p50 / p95 / max)", spread(shown_drawing(records)))


def add_discord_rows(table: Table, result: Run) -> None:
    stats = result.stats
    table.add("429 responses from the fake", str(stats.rate_limited), "0", stats.rate_limited == 0)
    others = len(stats.client_errors) - stats.rate_limited
    mistakes = len(stats.ack_violations) + len(stats.internal_errors)
    table.add("other 4xx; ack mistakes and fake errors", f"{others}; {mistakes}", "0; 0", others == mistakes == 0)
    edits = [r.edits for r in result.records if r.final is not None]
    shown = f"{statistics.mean(edits):.1f} / {max(edits)}" if edits else "n/a"
    table.add("edits per reply until it ended (mean / max)", shown)


def notes(result: Run, options: Options) -> list[str]:
    found = [f"{r.prompt}: {r.outcome}, {r.detail!r}" for r in result.records if r.outcome != DELIVERED][:20]
    found += [f"order: {example}" for example in check_order(result.records, options.per_server, math.inf).examples]
    found += [f"fake answered {e.status} to {e.route}: {e.message[:120]!r}" for e in result.stats.client_errors[:5]]
    return found + result.notes


def parse_options() -> Options:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=100, help="/draw requests in all (default 100)")
    parser.add_argument("--users", type=int, default=20, help="users sending them (default 20)")
    parser.add_argument("--servers", type=int, default=5, help="servers the users are spread over (default 5)")
    parser.add_argument("--max-concurrent", type=int, default=8, help="DRAW_MAX_CONCURRENT (default 8)")
    parser.add_argument("--per-server", type=int, default=3, help="DRAW_MAX_CONCURRENT_PER_SERVER (default 3)")
    parser.add_argument("--picture-delay", type=float, default=2.0, help="seconds the emulator draws (default 2)")
    parser.add_argument("--one-process", action="store_true", help="run the emulator in this process too")
    parser.add_argument("--processes", type=int, default=2, help="bot processes on PostgreSQL (default 2)")
    parser.add_argument("--database-url", help="postgresql://...: also run the bot processes on a schema of it")
    args = parser.parse_args()
    if not 1 <= args.servers <= args.users <= args.requests <= STORE_CAPACITY:
        parser.error(f"need 1 <= servers <= users <= requests <= {STORE_CAPACITY} (the pictures the emulator keeps)")
    if not (1 <= args.max_concurrent <= 100 and 1 <= args.per_server <= 100 and args.picture_delay >= 0):
        parser.error("the limits are 1..100 (as the settings allow) and the delay not negative")
    if args.database_url is not None and not re.match(r"postgres(ql)?://", args.database_url):
        parser.error("--database-url: a postgresql:// URL (the one-process run is always on SQLite)")
    if not 1 <= args.processes <= args.servers:
        parser.error("--processes: 1 to --servers (each shard, one a process, needs a server of its own)")
    return Options(
        args.requests,
        args.users,
        args.servers,
        args.max_concurrent,
        args.per_server,
        args.picture_delay,
        args.one_process,
        args.processes,
        args.database_url,
    )


async def run_all(options: Options) -> list[Run]:
    runs = [await run(options, None)]
    if options.database_url is not None:
        runs.append(await run(options, options.processes))
    return runs


def main() -> None:
    options = parse_options()
    logging.getLogger().setLevel(logging.WARNING)
    print(
        f"## Picture queue benchmark: {options.requests} requests from {options.users} users in {options.servers}"
        f" servers, at most {options.max_concurrent} at once and {options.per_server} per server,"
        f" {options.picture_delay:g} s a picture ({os.cpu_count()} CPUs)\n\n`{options.command}`\n"
    )
    runs = runtime.run(run_all(options))
    table = Table.beside([report(options, result) for result in runs], [result.label for result in runs])
    print(table.render("Results"))
    found = [f"{result.label}: {note}" for result in runs for note in notes(result, options)]
    print("\n### Notes\n\n" + "\n".join(f"- {note}" for note in found))
    if table.failed:
        print("\nFAILED: " + "; ".join(table.failed))
    sys.exit(1 if table.failed else 0)


if __name__ == "__main__":
    main()
