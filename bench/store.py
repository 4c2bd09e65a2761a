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
import random
import sqlite3
import sys
import tempfile
import time
from collections.abc import Awaitable
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:  # `python bench/store.py` from a clone that is not pip-installed
    sys.path.insert(0, str(REPO_ROOT))

import asyncpg  # noqa: E402

from bench.harness.stores import data  # noqa: E402
from bench.harness.stores.report import (  # noqa: E402
    CALLS_PER_TASK,
    CONCURRENT_TASKS,
    SEED,
    Run,
    Subject,
    load,
    report,
)
from bot import runtime  # noqa: E402
from bot.core.store import ContextBudget  # noqa: E402
from bot.core.store.backends import backend_of, open_store, sqlite_path  # noqa: E402

WARMUP_OPERATIONS = 100
FOLLOW_UP = "And what about the second case? 第二种呢?"
NEW_QUESTION = "请再详细说明一下, thanks!"
SUMMARY_REQUEST = "Can you summarise that? 总结一下。"


async def elapsed_ms(operation: Awaitable[object]) -> float:
    start = time.perf_counter_ns()
    await operation
    return (time.perf_counter_ns() - start) / 1e6


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
