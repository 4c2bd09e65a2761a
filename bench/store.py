"""Benchmark of the conversation store: how long loading a channel's context and appending a turn take.

Populates a fresh database (10,000 channels of 50 turns by default) with the real schema and pragmas, then times,
over random channels, `context` ("load"), `append_turn` ("append"), load then append, and `start_exchange` (the
real per-message step: append and load under one lock), and finally many concurrent `start_exchange` calls.
Prints a markdown table. Target from the issue: p99 load+append under 2 ms.

    python bench/store.py [--channels 10000] [--turns 50] [--samples 2000] [--keep PATH]
"""

from __future__ import annotations

import argparse
import asyncio
import math
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Iterator
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:  # `python bench/store.py` from a clone that is not pip-installed
    sys.path.insert(0, str(REPO_ROOT))

from bot.core.store import ContextBudget, Store, estimate_tokens  # noqa: E402

TARGET_P99_MS = 2.0
FIRST_CHANNEL_ID = 1_100_000_000_000_000_000  # Discord-sized snowflakes
FIRST_AUTHOR_ID = 900_000_000_000_000_000
WARMUP_OPERATIONS = 100
CONCURRENT_TASKS = 50
CALLS_PER_TASK = 20
SEED = 20240611
FOLLOW_UP = "And what about the second case? 第二种呢?"
NEW_QUESTION = "请再详细说明一下, thanks!"
SUMMARY_REQUEST = "Can you summarise that? 总结一下。"

ENGLISH = (
    "could you explain how this works",
    "the answer depends on the version you are running",
    "here is a short example that shows the idea",
    "thanks, that fixed the problem for me",
    "what is the difference between these two approaches",
    "in most cases the default settings are good enough",
    "remember to restart the service after changing the file",
    "a faster way is to cache the result and reuse it",
)
CHINESE = (
    "这个问题怎么解决",
    "请用简单的话解释一下",
    "我觉得第二种方法更好",
    "首先需要安装依赖然后再运行",
    "谢谢你的帮助",
    "这里有一个简单的例子",
)


@dataclass(frozen=True, slots=True)
class Text:
    content: str
    tokens: int


def realistic_text(rng: random.Random, target_chars: int) -> Text:
    """Sentences, about one in four of them Chinese, adding up to about `target_chars` characters."""
    length = rng.randint(target_chars * 3 // 4, target_chars * 5 // 4)
    content = ""
    while len(content) < length:
        sentence = rng.choice(CHINESE) + "。" if rng.random() < 0.25 else rng.choice(ENGLISH).capitalize() + "."
        longer = f"{content} {sentence}" if content else sentence
        if content and len(longer) - length > length - len(content):
            break  # stopping short is closer to the drawn length than adding this sentence
        content = longer
    return Text(content, estimate_tokens(content))


def text_pools(rng: random.Random, size: int = 500) -> tuple[list[Text], list[Text]]:
    """Questions (~80 characters) and answers (~400), with tokens estimated once per text, not once per row."""
    return [realistic_text(rng, 80) for _ in range(size)], [realistic_text(rng, 400) for _ in range(size)]


def turn_rows(channels: int, turns: int, rng: random.Random) -> Iterator[tuple[object, ...]]:
    """Rows for `conversation_turns`, channels interleaved as in a busy bot, so a channel's turns are spread out."""
    questions, answers = text_pools(rng)
    created_at = time.time() - channels * turns
    for index in range(turns):
        for channel in range(channels):
            created_at += 1.0
            if index % 2 == 0:
                text, author_id, author_name = rng.choice(questions), FIRST_AUTHOR_ID + channel, f"user{channel}"
            else:
                text, author_id, author_name = rng.choice(answers), None, None
            role = "user" if index % 2 == 0 else "assistant"
            yield (
                FIRST_CHANNEL_ID + channel,
                role,
                text.content,
                text.tokens,
                author_id,
                author_name,
                created_at,
                created_at,
            )


async def populate(path: Path, channels: int, turns: int, rng: random.Random) -> int:
    """Create the schema through `Store.open`, then bulk-insert every turn in one transaction; return the row count."""
    store = await Store.open(path)
    await store.close()
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA cache_size = -262144")  # 256 MiB: the index is written in random order
        conn.execute("BEGIN")
        conn.executemany(
            "INSERT INTO conversation_turns (channel_id, role, content, tokens, author_id, author_name, "
            "created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            turn_rows(channels, turns, rng),
        )
        conn.execute("COMMIT")
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return conn.execute("SELECT COUNT(*) FROM conversation_turns").fetchone()[0]
    finally:
        conn.close()


async def elapsed_ms(operation: Awaitable[object]) -> float:
    start = time.perf_counter_ns()
    await operation
    return (time.perf_counter_ns() - start) / 1e6


@dataclass
class Timings:
    load: list[float]
    append: list[float]
    load_then_append: list[float]
    start_exchange: list[float]


async def measure_sequential(store: Store, channel_ids: list[int], samples: int, rng: random.Random) -> Timings:
    """Each sample: load then append on one random channel, and start_exchange on another."""
    timings = Timings([], [], [], [])
    budget = ContextBudget()
    for _ in range(samples):
        channel = rng.choice(channel_ids)
        load = await elapsed_ms(store.context(channel, budget))
        append = await elapsed_ms(store.append_turn(channel, "user", FOLLOW_UP))
        exchange = await elapsed_ms(store.start_exchange(rng.choice(channel_ids), NEW_QUESTION, budget))
        timings.load.append(load)
        timings.append.append(append)
        timings.load_then_append.append(load + append)
        timings.start_exchange.append(exchange)
    return timings


async def measure_concurrent(store: Store, channel_ids: list[int], rng: random.Random) -> tuple[float, list[float]]:
    """`CONCURRENT_TASKS` tasks, each doing `CALLS_PER_TASK` start_exchange calls on channels no other task uses.

    Returns the throughput (operations per second) and every call's latency as its task saw it, in ms.
    """
    chosen = rng.sample(channel_ids, CONCURRENT_TASKS * CALLS_PER_TASK)
    latencies: list[float] = []
    budget = ContextBudget()

    async def converse(channels: list[int]) -> None:
        for channel in channels:
            latencies.append(await elapsed_ms(store.start_exchange(channel, SUMMARY_REQUEST, budget)))

    start = time.perf_counter()
    async with asyncio.TaskGroup() as group:
        for task in range(CONCURRENT_TASKS):
            group.create_task(converse(chosen[task * CALLS_PER_TASK : (task + 1) * CALLS_PER_TASK]))
    return len(chosen) / (time.perf_counter() - start), latencies


async def warm_up(store: Store, channel_ids: list[int], rng: random.Random) -> None:
    """A few untimed operations, so that the first-call costs of the connection and its thread are not sampled."""
    await measure_sequential(store, channel_ids, WARMUP_OPERATIONS, rng)


def p99(values: list[float]) -> float:
    """Nearest-rank 99th percentile."""
    ordered = sorted(values)
    return ordered[math.ceil(0.99 * len(ordered)) - 1]


def row(name: str, values: list[float]) -> str:
    over = sum(value >= TARGET_P99_MS for value in values)
    return f"| {name} | {statistics.median(values):.3f} | {p99(values):.3f} | {max(values):.3f} | {over} |"


def database_mb(path: Path) -> float:
    files = [path, path.with_name(path.name + "-wal")]
    return sum(file.stat().st_size for file in files if file.exists()) / 2**20


@dataclass
class Results:
    rows: int
    populate_s: float
    database_mb: float
    timings: Timings
    concurrent_ops_per_s: float
    concurrent_latencies: list[float]


def report(args: argparse.Namespace, results: Results) -> None:
    timings = results.timings
    met = p99(timings.start_exchange) < TARGET_P99_MS
    print(f"Store benchmark: {args.channels} channels x {args.turns} turns, {args.samples} samples per operation")
    print(f"SQLite {sqlite3.sqlite_version}, Python {sys.version.split()[0]}\n")
    print(f"| operation | median ms | p99 ms | max ms | samples >= {TARGET_P99_MS:g} ms |")
    print("|---|---|---|---|---|")
    print(row("load (context)", timings.load))
    print(row("append (append_turn)", timings.append))
    print(row("load then append (sum)", timings.load_then_append))
    print(row("load+append (start_exchange)", timings.start_exchange))
    print(row(f"start_exchange, {CONCURRENT_TASKS} concurrent tasks", results.concurrent_latencies))
    print()
    print(f"rows populated: {results.rows}; populate time: {results.populate_s:.1f} s")
    print(f"database size: {results.database_mb:.1f} MB (file + -wal, after the measurements)")
    print(
        f"concurrent: {CONCURRENT_TASKS} tasks x {CALLS_PER_TASK} start_exchange on distinct channels, "
        f"{results.concurrent_ops_per_s:.0f} ops/s"
    )
    print(f"target p99 load+append (start_exchange) < {TARGET_P99_MS} ms met: {'yes' if met else 'no'}")


async def run(args: argparse.Namespace, path: Path) -> Results:
    rng = random.Random(SEED)
    started = time.perf_counter()
    rows = await populate(path, args.channels, args.turns, rng)
    populate_s = time.perf_counter() - started
    channel_ids = [FIRST_CHANNEL_ID + channel for channel in range(args.channels)]
    async with await Store.open(path) as store:
        await warm_up(store, channel_ids, rng)
        timings = await measure_sequential(store, channel_ids, args.samples, rng)
        throughput, latencies = await measure_concurrent(store, channel_ids, rng)
        size = database_mb(path)  # before closing, which checkpoints the -wal file away
    return Results(rows, populate_s, size, timings, throughput, latencies)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--channels", type=int, default=10_000)
    parser.add_argument("--turns", type=int, default=50, help="turns per channel")
    parser.add_argument("--samples", type=int, default=2000, help="timed operations of each kind")
    parser.add_argument("--keep", type=Path, help="build the database here and keep it (must not exist yet)")
    args = parser.parse_args()
    if args.channels < CONCURRENT_TASKS * CALLS_PER_TASK:
        parser.error(f"--channels must be at least {CONCURRENT_TASKS * CALLS_PER_TASK} for the concurrent part")
    if args.keep is not None and args.keep.exists():
        parser.error(f"{args.keep} exists; the benchmark needs a fresh database")
    return args


def main() -> None:
    args = parse_args()
    started = time.perf_counter()
    if args.keep is not None:
        results = asyncio.run(run(args, args.keep))
    else:
        with tempfile.TemporaryDirectory(prefix="store-bench-") as directory:
            results = asyncio.run(run(args, Path(directory) / "bench.sqlite3"))
    report(args, results)
    print(f"total runtime: {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()
