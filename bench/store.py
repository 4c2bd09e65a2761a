"""Benchmark of the conversation store: how long loading a channel's context and appending a turn take.

Populates a fresh database (10,000 channels of 50 turns by default) with the real schema, then times, over random
channels, `context` ("load"), `append_turn` ("append"), load then append, and `start_exchange` (the real
per-message step: append and load under one lock), and finally many concurrent `start_exchange` calls. Prints a
markdown table per backend; each figure is the median of `--runs` runs. Runs on the bot's event loop (uvloop).

SQLite is always measured (a temporary file, or the fresh file a `sqlite:///PATH` URL names, which is kept). With a
PostgreSQL URL, the PostgreSQL store is measured in the same run, on the same data and the same operations, in a
schema of its own (`fusionbot_bench_<random>`, filled by COPY, dropped at the end unless `--keep`), runs of the two
backends taking turns; a last table compares them with the targets of issue 14: p99 load+append (`start_exchange`)
under 2 ms single; at 50 concurrent tasks PostgreSQL at least 3x SQLite's throughput, and p99 under 15 ms.

    python bench/store.py [--database-url postgresql://user@host:5432/db] [--pool-size 10] [--runs 3]
        [--channels 10000] [--turns 50] [--samples 2000] [--keep]
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import random
import shlex
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:  # `python bench/store.py` from a clone that is not pip-installed
    sys.path.insert(0, str(REPO_ROOT))

import asyncpg  # noqa: E402

from bench import _store_data as data  # noqa: E402
from bot import runtime  # noqa: E402
from bot.core.store import ContextBudget, StoreBackend  # noqa: E402
from bot.core.store.backends import backend_of, open_store, sqlite_path  # noqa: E402
from bot.core.store.postgresql import redacted_dsn  # noqa: E402

TARGET_P99_MS = 2.0
TARGET_CONCURRENT_P99_MS = 15.0
TARGET_THROUGHPUT_RATIO = 3.0
WARMUP_OPERATIONS = 100
CONCURRENT_TASKS = 50
CALLS_PER_TASK = 20
SEED = 20240611
FOLLOW_UP = "And what about the second case? 第二种呢?"
NEW_QUESTION = "请再详细说明一下, thanks!"
SUMMARY_REQUEST = "Can you summarise that? 总结一下。"


async def elapsed_ms(operation: Awaitable[object]) -> float:
    start = time.perf_counter_ns()
    await operation
    return (time.perf_counter_ns() - start) / 1e6


@dataclass
class Run:
    """One run's latencies (ms) of each operation, and the concurrent part's throughput."""

    load: list[float] = field(default_factory=list)
    append: list[float] = field(default_factory=list)
    load_then_append: list[float] = field(default_factory=list)
    start_exchange: list[float] = field(default_factory=list)
    concurrent: list[float] = field(default_factory=list)
    concurrent_ops_per_s: float = 0.0


@dataclass
class Subject:
    """One backend under test: its filled store, the same random draws as the other's, and what each run measured."""

    name: str
    version: str
    store: StoreBackend
    rows: int
    populate_s: float
    size_mb: Callable[[], Awaitable[float]]
    rng: random.Random = field(default_factory=lambda: random.Random(SEED))
    runs: list[Run] = field(default_factory=list)


async def measure_sequential(subject: Subject, channel_ids: list[int], samples: int, run: Run) -> None:
    """Each sample: load then append on one random channel, and start_exchange on another."""
    store, rng, budget = subject.store, subject.rng, ContextBudget()
    for _ in range(samples):
        channel = rng.choice(channel_ids)
        load = await elapsed_ms(store.context(channel, budget))
        append = await elapsed_ms(store.append_turn(channel, "user", FOLLOW_UP))
        exchange = await elapsed_ms(store.start_exchange(rng.choice(channel_ids), NEW_QUESTION, budget))
        run.load.append(load)
        run.append.append(append)
        run.load_then_append.append(load + append)
        run.start_exchange.append(exchange)


async def measure_concurrent(subject: Subject, channel_ids: list[int], calls_per_task: int, run: Run) -> None:
    """`CONCURRENT_TASKS` tasks, each doing `calls_per_task` start_exchange calls on channels no other task uses:
    the throughput (operations per second) and every call's latency as its task saw it, in ms."""
    chosen = subject.rng.sample(channel_ids, CONCURRENT_TASKS * calls_per_task)
    budget = ContextBudget()

    async def converse(channels: list[int]) -> None:
        for channel in channels:
            run.concurrent.append(await elapsed_ms(subject.store.start_exchange(channel, SUMMARY_REQUEST, budget)))

    start = time.perf_counter()
    async with asyncio.TaskGroup() as group:
        for task in range(CONCURRENT_TASKS):
            group.create_task(converse(chosen[task * calls_per_task : (task + 1) * calls_per_task]))
    run.concurrent_ops_per_s = len(chosen) / (time.perf_counter() - start)


async def warm_up(subject: Subject, channel_ids: list[int]) -> None:
    """Untimed operations, so that first-call costs (the connection, its thread, a pool's connections, the cache of
    prepared statements) are not sampled: some sequential, then one concurrent burst."""
    await measure_sequential(subject, channel_ids, WARMUP_OPERATIONS, Run())
    await measure_concurrent(subject, channel_ids, 2, Run())


async def measure(subject: Subject, channel_ids: list[int], samples: int) -> None:
    run = Run()
    await measure_sequential(subject, channel_ids, samples, run)
    await measure_concurrent(subject, channel_ids, CALLS_PER_TASK, run)
    subject.runs.append(run)


def p99(values: list[float]) -> float:
    """Nearest-rank 99th percentile."""
    ordered = sorted(values)
    return ordered[math.ceil(0.99 * len(ordered)) - 1]


def over_median(subject: Subject, figure: Callable[[Run], float]) -> float:
    """The median over the runs of one figure of a run."""
    return statistics.median(figure(run) for run in subject.runs)


def row(name: str, subject: Subject, latencies: Callable[[Run], list[float]]) -> str:
    cells = (
        f"{over_median(subject, lambda run: statistics.median(latencies(run))):.3f}",
        f"{over_median(subject, lambda run: p99(latencies(run))):.3f}",
        f"{over_median(subject, lambda run: max(latencies(run))):.3f}",
        f"{over_median(subject, lambda run: sum(value >= TARGET_P99_MS for value in latencies(run))):g}",
    )
    return f"| {name} | {' | '.join(cells)} |"


def table(subject: Subject) -> None:
    print(f"| {subject.name}: operation | median ms | p99 ms | max ms | samples >= {TARGET_P99_MS:g} ms |")
    print("|---|---|---|---|---|")
    print(row("load (context)", subject, lambda run: run.load))
    print(row("append (append_turn)", subject, lambda run: run.append))
    print(row("load then append (sum)", subject, lambda run: run.load_then_append))
    print(row("load+append (start_exchange)", subject, lambda run: run.start_exchange))
    print(row(f"start_exchange, {CONCURRENT_TASKS} concurrent tasks", subject, lambda run: run.concurrent))
    print()


def single_p99(subject: Subject) -> float:
    return over_median(subject, lambda run: p99(run.start_exchange))


def concurrent_p99(subject: Subject) -> float:
    return over_median(subject, lambda run: p99(run.concurrent))


def throughput(subject: Subject) -> float:
    return over_median(subject, lambda run: run.concurrent_ops_per_s)


def load() -> float:
    """The 1-minute load average: other work on the machine's CPUs shows in the latencies."""
    return os.getloadavg()[0]


def yes(met: bool) -> str:
    return "yes" if met else "no"


def targets(sqlite: Subject, postgres: Subject) -> None:
    """The targets of issue 14, SQLite's figures beside PostgreSQL's."""
    ratio = throughput(postgres) / throughput(sqlite)
    single = (single_p99(sqlite), single_p99(postgres))
    print("| target (median of the runs) | SQLite | PostgreSQL | PostgreSQL met |")
    print("|---|---|---|---|")
    print(
        f"| p99 load+append (start_exchange), single, < {TARGET_P99_MS:g} ms | {single[0]:.3f} ms "
        f"(met: {yes(single[0] < TARGET_P99_MS)}) | {single[1]:.3f} ms | {yes(single[1] < TARGET_P99_MS)} |"
    )
    print(
        f"| {CONCURRENT_TASKS} concurrent tasks: throughput >= {TARGET_THROUGHPUT_RATIO:g}x SQLite's | "
        f"{throughput(sqlite):.0f} ops/s | {throughput(postgres):.0f} ops/s ({ratio:.2f}x) | "
        f"{yes(ratio >= TARGET_THROUGHPUT_RATIO)} |"
    )
    print(
        f"| {CONCURRENT_TASKS} concurrent tasks: p99 < {TARGET_CONCURRENT_P99_MS:g} ms | "
        f"{concurrent_p99(sqlite):.3f} ms | {concurrent_p99(postgres):.3f} ms | "
        f"{yes(concurrent_p99(postgres) < TARGET_CONCURRENT_P99_MS)} |"
    )
    print()


def command(args: argparse.Namespace) -> str:
    """The command that reproduces these figures (the URL's password, if any, redacted)."""
    words = ["python", "bench/store.py"]
    if args.postgres:
        words += ["--database-url", redacted_dsn(args.database_url), "--pool-size", str(args.pool_size)]
    elif args.database_url is not None:
        words += ["--database-url", args.database_url]
    for option in ("channels", "turns", "samples", "runs"):
        words += [f"--{option}", str(getattr(args, option))]
    return shlex.join(words + (["--keep"] if args.keep else []))


async def report(args: argparse.Namespace, subjects: list[Subject]) -> None:
    versions = "; ".join(f"{subject.name} {subject.version}" for subject in subjects)
    print(
        f"Store benchmark: {args.channels} channels x {args.turns} turns, {args.samples} samples per operation, "
        f"{CONCURRENT_TASKS} tasks x {CALLS_PER_TASK} concurrent start_exchange on distinct channels; "
        f"median of {args.runs} run(s)"
    )
    print(f"{versions}; Python {sys.version.split()[0]}, event loop {type(asyncio.get_running_loop()).__module__}")
    print(f"load average (1 min) on the {os.cpu_count()} CPUs: {args.load_before:.2f} before, {load():.2f} after")
    print(f"command: {command(args)}\n")
    for subject in subjects:
        table(subject)
    if len(subjects) == 2:
        targets(*subjects)
    else:
        met = yes(single_p99(subjects[0]) < TARGET_P99_MS)
        print(f"target p99 load+append (start_exchange) < {TARGET_P99_MS:g} ms met: {met}\n")
    for subject in subjects:
        per_run = ", ".join(f"{run.concurrent_ops_per_s:.0f}" for run in subject.runs)
        print(
            f"{subject.name}: {subject.rows} rows populated in {subject.populate_s:.1f} s; "
            f"{await subject.size_mb():.1f} MB after the measurements; concurrent ops/s per run: {per_run}"
        )


async def open_sqlite(args: argparse.Namespace, path: Path) -> Subject:
    started = time.perf_counter()
    rows = await data.populate_sqlite(path, args.channels, args.turns, random.Random(SEED))
    populate_s = time.perf_counter() - started
    store = await open_store(data.sqlite_url(path))

    async def size_mb() -> float:  # with the -wal file, before closing checkpoints it away
        return data.sqlite_mb(path)

    return Subject("SQLite", sqlite3.sqlite_version, store, rows, populate_s, size_mb)


async def open_postgres(args: argparse.Namespace, schema: str) -> Subject:
    url = data.with_search_path(args.database_url, schema)
    started = time.perf_counter()
    rows = await data.populate_postgres(url, args.channels, args.turns, random.Random(SEED))
    populate_s = time.perf_counter() - started
    version, _ = await data.postgres_info(url, schema)
    store = await open_store(url, pool_size=args.pool_size)

    async def size_mb() -> float:
        return (await data.postgres_info(url, schema))[1]

    version = f"{version} (asyncpg {asyncpg.__version__}, pool of {args.pool_size})"
    return Subject("PostgreSQL", version, store, rows, populate_s, size_mb)


async def run(args: argparse.Namespace, path: Path) -> None:
    """Fill each backend, warm each up, then measure them in turn `args.runs` times, report, and clean up."""
    args.load_before = load()
    channel_ids = [data.FIRST_CHANNEL_ID + channel for channel in range(args.channels)]
    schema = data.new_schema_name() if args.postgres else None
    subjects: list[Subject] = []
    try:
        subjects.append(await open_sqlite(args, path))
        if schema is not None:
            await data.create_schema(args.database_url, schema)
            subjects.append(await open_postgres(args, schema))
        for subject in subjects:
            await warm_up(subject, channel_ids)
        for _ in range(args.runs):
            for subject in subjects:
                await measure(subject, channel_ids, args.samples)
        await report(args, subjects)
    finally:
        for subject in subjects:
            await subject.store.close()
        if schema is not None and args.keep:
            print(f"kept the PostgreSQL schema {schema}")
        elif schema is not None:
            await data.drop_schema(args.database_url, schema)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--database-url",
        help="sqlite:///PATH (a fresh file, kept) or postgresql://... (measured beside a temporary SQLite file); "
        "default: a temporary SQLite file only",
    )
    parser.add_argument("--pool-size", type=int, default=10, help="PostgreSQL's most connections")
    parser.add_argument("--runs", type=int, default=3, help="runs of the measurements; figures are their medians")
    parser.add_argument("--channels", type=int, default=10_000)
    parser.add_argument("--turns", type=int, default=50, help="turns per channel")
    parser.add_argument("--samples", type=int, default=2000, help="timed operations of each kind per run")
    parser.add_argument("--keep", action="store_true", help="keep the PostgreSQL schema and the temporary SQLite file")
    args = parser.parse_args()
    if args.channels < CONCURRENT_TASKS * CALLS_PER_TASK:
        parser.error(f"--channels must be at least {CONCURRENT_TASKS * CALLS_PER_TASK} for the concurrent part")
    if args.runs < 1 or args.samples < 1 or args.pool_size < 1:
        parser.error("--runs, --samples and --pool-size must be at least 1")
    try:
        kind = backend_of(args.database_url) if args.database_url is not None else "sqlite"
    except ValueError as error:
        parser.error(f"--database-url: {error}")
    args.postgres = kind == "postgresql"
    args.sqlite_file = sqlite_path(args.database_url) if kind == "sqlite" and args.database_url else None
    if args.sqlite_file is not None and args.sqlite_file.exists():
        parser.error(f"{args.sqlite_file} exists; the benchmark needs a fresh database")
    return args


def main() -> None:
    args = parse_args()
    started = time.perf_counter()
    if args.sqlite_file is not None:
        runtime.run(run(args, args.sqlite_file))
    elif args.keep:
        directory = tempfile.mkdtemp(prefix="store-bench-")
        runtime.run(run(args, Path(directory) / "bench.sqlite3"))
        print(f"kept the SQLite database {directory}/bench.sqlite3")
    else:
        with tempfile.TemporaryDirectory(prefix="store-bench-") as directory:
            runtime.run(run(args, Path(directory) / "bench.sqlite3"))
    print(f"total runtime: {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()
