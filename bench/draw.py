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

The emulator (`bench/harness/draws/processes.py`, timing its pictures) runs in a child process: in this one its PNG
rendering (about 15 ms of CPU a picture, 8 at a time) was 40-50% of the process's CPU and raised the one-process median
overhead from about 9 ms to about 13 ms, which is the service's work, not the bot's. `--one-process` runs it here
anyway, to compare.

    python bench/draw.py [--requests 100] [--users 20] [--servers 5] [--max-concurrent 8] [--per-server 3]
                         [--picture-delay 2.0] [--one-process] [--processes 2 --database-url postgresql://...]

Exit status 1 when, in either run, a picture was lost, refused or failed, a limit or the order was broken, or the
fake answered a 429 or another 4xx. About 30 s a run with the defaults (100 / 8 x 2 s of drawing, plus start-up).
"""

from __future__ import annotations

import argparse
import logging
import os
import re
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:  # `python bench/draw.py` from a clone that is not pip-installed
    sys.path.insert(0, str(REPO_ROOT))

from bench.harness.cpu import reference_line  # noqa: E402
from bench.harness.draws.processes import (  # noqa: E402
    Bots,
    Emulator,
    bot_settings,
    child_emulator,
    in_process_emulator,
    note_draws,
    running_cluster,
    settle,
)
from bench.harness.draws.records import DrawRecord, instrument  # noqa: E402
from bench.harness.draws.report import Run, notes, report  # noqa: E402
from bench.harness.draws.world import Options, build_world, drive, make_records  # noqa: E402
from bench.harness.lag import GcWatch, LagMonitor  # noqa: E402
from bench.harness.logs import WarningCounter  # noqa: E402
from bench.harness.tables import Table  # noqa: E402
from bot import runtime  # noqa: E402
from bot.app.client import FusionBot  # noqa: E402
from bot.config import load_settings  # noqa: E402
from bot.emulator.pictures import STORE_CAPACITY  # noqa: E402
from tests.fake_discord import FakeDiscord, running_client  # noqa: E402


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
        f" {options.picture_delay:g} s a picture ({os.cpu_count()} CPUs; {reference_line()})\n\n`{options.command}`\n"
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
