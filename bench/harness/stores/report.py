"""The store benchmark's records and report: each backend under test with its runs' latencies (`Subject`, `Run`), a
table per backend (medians over the runs), and the targets of issue 14 side by side."""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import random
import shlex
import statistics
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from bench.harness.cpu import reference_line
from bot.core.store import StoreBackend
from bot.core.store.postgresql import redacted_dsn

TARGET_P99_MS = 2.0
TARGET_CONCURRENT_P99_MS = 15.0
TARGET_THROUGHPUT_RATIO = 3.0
CONCURRENT_TASKS = 50
CALLS_PER_TASK = 20
SEED = 20240611


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
    print(reference_line())
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
