"""Benchmark of streamed answers in Discord: the whole bot against the fake Discord and the fusion emulator.

The fake Discord and the emulator run in two child processes (`bench/_stream_servers.py`); this process runs only the
bot (unmodified: `FusionBot`, discord.py, the fusion client, the store) and a thin driver, so its CPU time and
memory are the bot's. All processes stamp events with `time.monotonic()`, one clock system-wide on Linux: the
emulator records when it sent each SSE event (`EmulatorConfig(record_sends=True)`), the fake records every version of
every message.

Scenarios (`SCENARIOS`, after a short warm-up): 1 stream, 1 long stream (5,000 characters, so follow-ups past
2,000), 30 and 300 concurrent streams, each /chat in its own channel. The bot's fusion session allows
`bot.runtime.FUSION_CONNECTION_LIMIT` connections, more than any scenario's streams, so all of them run at once. Per
scenario it prints, against the targets:

- edits per answer (requests that changed the reply: edits of the original response and follow-ups created);
- 429 responses from the fake;
- first visible text: first SSE event sent -> first version of the reply that shows answer text;
- mean staleness: per character of the answer, (first time it is visible) - (time the emulator sent it), next to
  the best fixed-pace editor simulated on the same send times under the same rate limit (see `best_fixed_pace`);
- bot CPU per 1,000 SSE events, net of the process's idle CPU (lag monitor, heartbeats);
- event-loop lag (a task sleeping 10 ms, how late it wakes), and the part of it the bot's own work explains;
- peak memory (`ru_maxrss`), and figures that explain the others (the steps to the first visible text, REST round
  trips, the age of the text each edit shows, the servers' own CPU and lag).

    python bench/stream.py [--profile] [--streams 1,1-long,30,300] [--repeat N] [--no-conversations]

The bot runs as shipped: on the application's event loop (`bot.runtime.run`, uvloop) and with channel conversations
on, so it also receives a message event for each of its own edits (read off the socket, then dropped unparsed);
`--no-conversations` runs it as a slash-command-only bot (CONVERSATIONS_ENABLED=false). `--profile` runs the
300-stream scenario once more under cProfile and prints the bot's top 15 functions. About two minutes on 2 CPUs (two
and a half with `--profile`).
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import cProfile
import io
import json
import logging
import math
import os
import pstats
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import timeit
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:  # `python bench/stream.py` from a clone that is not pip-installed
    sys.path.insert(0, str(REPO_ROOT))

import aiohttp  # noqa: E402

from bench._warnings import WarningCounter  # noqa: E402
from bot.app.client import FusionBot, point_discord_at  # noqa: E402
from bot.app.streaming import GENERATING_MARKER  # noqa: E402
from bot.config import Settings, load_settings  # noqa: E402
from bot.core.chunking import DISCORD_MESSAGE_LIMIT, join_parts, split_spans  # noqa: E402
from bot.runtime import FUSION_CONNECTION_LIMIT, run  # noqa: E402

SERVERS_SCRIPT = Path(__file__).with_name("_stream_servers.py")

TARGET_429 = 0
TARGET_STALENESS_RATIO = 1.1
TARGET_FIRST_VISIBLE = 0.1  # seconds from the first SSE event
TARGET_CPU_MS_PER_1000 = 50.0
TARGET_LAG = 0.1  # seconds

LAG_INTERVAL = 0.01
IDLE_SECONDS = 3.0
FINISH_TIMEOUT = 150.0
EPSILON = 1e-9
INTERVAL_STEPS = 41  # fixed-pace intervals tried: W/L x (1, 1.025, ..., 2)
PHASE_STEPS = 20  # phases tried per interval: 0, P/20, ..., 19P/20


@dataclass(frozen=True)
class Scenario:
    key: str
    title: str
    streams: int
    length: int
    delay: float

    def prompt(self, index: int) -> str:
        return f"{self.tag(index)} [emu:length={self.length}][emu:delay={self.delay}]"

    def tag(self, index: int) -> str:
        return f"bench {self.key} answer {index}"


WARM_UP = Scenario("warm", "warm-up", 2, 300, 0.005)
SCENARIOS = {
    "1": Scenario("s1", "1 stream", 1, 1800, 0.03),
    "1-long": Scenario("s1long", "1 stream, 5,000 characters (follow-ups)", 1, 5000, 0.02),
    "30": Scenario("s30", "30 concurrent streams", 30, 1800, 0.03),
    "300": Scenario("s300", "300 concurrent streams", 300, 1800, 0.03),
}
PROFILED = Scenario("prof", "300 concurrent streams, under cProfile", 300, 1800, 0.03)


# --- measuring the bot process ---------------------------------------------------------------------------------------


class LagMonitor:
    """Sleeps `interval` over and over and records how late it woke: (monotonic time it began, lateness, own part).

    The own part is the lateness that the event-loop thread's own CPU time over the same interval can explain,
    min(lateness, thread CPU): the rest is time the operating system ran something else (on this 2-CPU machine,
    mostly the fake Discord and the emulator), which would not happen with the servers elsewhere.
    """

    def __init__(self, interval: float = LAG_INTERVAL) -> None:
        self.interval = interval
        self.samples: list[tuple[float, float, float]] = []
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="lag-monitor")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def _run(self) -> None:
        # The monotonic clock, as the scenarios' times: uvloop's loop.time() is cached per loop step.
        while True:
            before, cpu = time.monotonic(), time.thread_time()
            await asyncio.sleep(self.interval)
            after, cpu = time.monotonic(), time.thread_time() - cpu
            lag = max(0.0, after - before - self.interval)
            self.samples.append((before, lag, min(lag, cpu)))

    def between(self, start: float, end: float) -> tuple[list[float], list[float]]:
        """Lateness, and its own part, of the wake-ups whose sleep began between `start` and `end` (a wake-up
        delayed by the report of the previous scenario belongs to that one, not to the next)."""
        window = [(lag, own) for at, lag, own in self.samples if start <= at <= end] or [(0.0, 0.0)]
        return [lag for lag, _ in window], [own for _, own in window]


@dataclass(frozen=True)
class RestCall:
    method: str
    path: str
    start: float  # aiohttp began the request (discord.py's own rate-limit waits are before this)
    written: float  # its headers were written to the socket
    end: float
    status: int


class RestTrace:
    """discord.py's REST calls as aiohttp saw them (after discord.py's own rate-limit waits)."""

    def __init__(self) -> None:
        self.calls: list[RestCall] = []
        self.config = aiohttp.TraceConfig()
        self.config.on_request_start.append(self._on_start)
        self.config.on_request_headers_sent.append(self._on_written)
        self.config.on_request_end.append(self._on_end)

    async def _on_start(self, session: Any, context: Any, params: Any) -> None:
        context.bench_start = time.monotonic()

    async def _on_written(self, session: Any, context: Any, params: Any) -> None:
        context.bench_written = time.monotonic()

    async def _on_end(self, session: Any, context: Any, params: aiohttp.TraceRequestEndParams) -> None:
        end = time.monotonic()
        start = getattr(context, "bench_start", end)
        written = getattr(context, "bench_written", start)
        self.calls.append(RestCall(params.method, params.url.path, start, written, end, params.response.status))


def current_rss_mib() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


# --- analysis of one answer ------------------------------------------------------------------------------------------


@dataclass
class Answer:
    """One answer: what the emulator sent when, and what the fake showed when."""

    token: str
    text: str
    events: list[tuple[float, int]]  # (sent at, characters of text in the event), the final empty event included
    char_sent: list[float]
    chunks: int
    dispatched_at: float
    edits: int
    parts: int
    text_matches: bool
    first_visible: float | None = None
    char_visible: list[float | None] = field(default_factory=list)
    edit_ages: list[float] = field(default_factory=list)

    @property
    def first_sent(self) -> float:
        return self.events[0][0]

    @property
    def last_sent(self) -> float:
        return self.events[-1][0]


def common_prefix_length(text: str, shown: str) -> int:
    if text.startswith(shown):
        return len(shown)
    low, high = 0, min(len(text), len(shown))  # text[:low] == shown[:low]; text[:high+1] != shown[:high+1]
    while low < high:
        middle = (low + high + 1) // 2
        if text.startswith(shown[:middle]):
            low = middle
        else:
            high = middle - 1
    return low


def analyse_answer(sends: list[tuple[float, str]], record: dict[str, Any]) -> Answer:
    text = "".join(delta for _, delta in sends)
    char_sent = [at for at, delta in sends for _ in delta]
    messages = record["messages"]
    finals = [message["versions"][-1][1] for message in messages]
    answer = Answer(
        token=record["token"],
        text=text,
        events=[(at, len(delta)) for at, delta in sends],
        char_sent=char_sent,
        chunks=len(sends),
        dispatched_at=record["dispatched_at"],
        edits=sum(len(message["versions"]) for message in messages) - 1,  # the first is the deferred placeholder
        parts=len(messages),
        text_matches=join_parts(finals) == text,
    )
    versions = sorted(
        (at, index, content) for index, message in enumerate(messages) for at, content in message["versions"]
    )
    current: list[str | None] = [None] * len(messages)
    visible: list[float | None] = [None] * len(text)
    shown = 0
    for at, index, content in versions:
        current[index] = content
        joined = join_parts([part for part in current if part is not None])
        length = common_prefix_length(text, joined.removesuffix(GENERATING_MARKER))
        if length > shown:
            for position in range(shown, length):
                visible[position] = at
            if answer.first_visible is None:
                answer.first_visible = at - answer.first_sent
            answer.edit_ages.append(at - char_sent[length - 1])  # how old the newest text of this edit was
            shown = length
    answer.char_visible = visible
    return answer


def staleness(answers: Sequence[Answer]) -> tuple[float, int, int]:
    """Sum of (visible - sent) over characters that became visible, their count, and those never visible."""
    total, counted, missing = 0.0, 0, 0
    for answer in answers:
        for sent, seen in zip(answer.char_sent, answer.char_visible, strict=True):
            if seen is None:
                missing += 1
            else:
                total += seen - sent
                counted += 1
    return total, counted, missing


# --- the best fixed-pace editor --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FixedPace:
    interval: float
    phase: float
    mean_staleness: float  # with `latency` added
    latency: float
    edits: float  # per answer


def best_fixed_pace(answers: Sequence[Answer], limit: int, per: float, latency: float) -> FixedPace | None:
    """The fixed-interval editor with the lowest mean staleness that never exceeds the rate limit, on these sends.

    Edit k of every answer is sent at `phase + k * interval` after that answer's first SSE event (one policy for the
    whole scenario) and shows every character sent by then; it becomes visible `latency` later (the measured median
    from a request leaving discord.py to the fake applying it). A tick with nothing new is skipped. An edit that
    crosses a 2,000-character part costs one request per part touched (edit the full part, create the next), all
    in the answer's interaction-webhook bucket, simulated as the fake does it: fixed windows of `per` seconds opened
    by the first request, `limit` requests each. Intervals from `per / limit` up to twice that, 20 phases each.
    """
    pooled = sorted((at - answer.first_sent, count) for answer in answers for at, count in answer.events if count)
    if not pooled:
        return None
    offsets = [offset for offset, _ in pooled]
    chars, weighted = [0], [0.0]
    for offset, count in pooled:
        chars.append(chars[-1] + count)
        weighted.append(weighted[-1] + offset * count)
    multi_part = [answer for answer in answers if len(part_starts(answer.text)) > 1]
    best: FixedPace | None = None
    for step in range(INTERVAL_STEPS):
        interval = per / limit * (1 + step / (INTERVAL_STEPS - 1))
        for phase_step in range(PHASE_STEPS):
            phase = interval * phase_step / PHASE_STEPS
            if not all(within_limit(answer, interval, phase, limit, per) for answer in multi_part):
                continue
            total, done, tick = 0.0, 0, 0
            while done < len(offsets):
                edit_at = phase + tick * interval
                upto = bisect.bisect_right(offsets, edit_at + EPSILON)
                if upto > done:
                    total += edit_at * (chars[upto] - chars[done]) - (weighted[upto] - weighted[done])
                    done = upto
                tick += 1
            mean = total / chars[-1] + latency
            if best is None or mean < best.mean_staleness:
                best = FixedPace(interval, phase, mean, latency, mean_edits(answers, interval, phase))
    return best


def mean_edits(answers: Sequence[Answer], interval: float, phase: float) -> float:
    """Requests per answer of the fixed-pace editor (ticks with new text, one more per part it starts)."""
    total = 0
    for answer in answers:
        offsets = sorted({at - answer.first_sent for at, count in answer.events if count})
        if not offsets:
            continue
        ticks = {math.ceil((offset - phase) / interval - EPSILON) for offset in offsets}
        total += len(ticks) + len(part_starts(answer.text)) - 1
    return total / len(answers)


def part_starts(text: str) -> list[int]:
    return [start for start, _ in split_spans(text, DISCORD_MESSAGE_LIMIT - len(GENERATING_MARKER))]


def within_limit(answer: Answer, interval: float, phase: float, limit: int, per: float) -> bool:
    starts = part_starts(answer.text)
    arrived = [0]
    for _, count in answer.events:
        arrived.append(arrived[-1] + count)
    offsets = [at - answer.first_sent for at, _ in answer.events]
    remaining, reset_at = limit, None
    shown, tick = 0, 0
    while shown < len(answer.text):
        edit_at = phase + tick * interval
        tick += 1
        now = arrived[bisect.bisect_right(offsets, edit_at + EPSILON)]
        if now == shown:
            continue
        first_part = bisect.bisect_right(starts, max(shown - 1, 0)) - 1
        requests = bisect.bisect_right(starts, now - 1) - first_part
        for _ in range(requests):
            if reset_at is not None and edit_at >= reset_at - EPSILON:
                remaining, reset_at = limit, None
            if remaining == 0:
                return False
            if reset_at is None:
                reset_at = edit_at + per
            remaining -= 1
        shown = now
    return True


# --- running a scenario ----------------------------------------------------------------------------------------------


@dataclass
class Measured:
    scenario: Scenario
    answers: list[Answer]
    unfinished: int
    unmatched: int
    stats: dict[str, Any]
    wall: float
    cpu: float
    idle_cpu: float
    lags: list[float]
    own_lags: list[float]
    peak_rss: float
    rss_after: float
    fake: dict[str, Any]  # the fake's process during the run: cpu, wall, lag {max, p99}
    emulator: dict[str, Any]  # the emulator's process, likewise
    rest_rtt: list[float]
    apply_latency: list[float]
    first_edits: dict[str, tuple[RestCall, float]]  # token -> first edit of the original response, when shown
    warnings: Counter[str]


class Bench:
    def __init__(self, servers: dict[str, Any], bot: FusionBot, monitor: LagMonitor, trace: RestTrace) -> None:
        self.servers = servers
        self.bot = bot
        self.monitor = monitor
        self.trace = trace
        self.channels: list[int] = list(servers["fake"]["channels"])
        self.idle_cpu_rate = 0.0
        self.reference_us = min(timeit.repeat("sum(range(1000))", number=2000, repeat=5)) / 2000 * 1e6
        self.warnings = WarningCounter()
        self.session: aiohttp.ClientSession | None = None

    async def measure_idle(self, seconds: float) -> None:
        cpu, wall = time.process_time(), time.monotonic()
        await asyncio.sleep(seconds)
        self.idle_cpu_rate = (time.process_time() - cpu) / (time.monotonic() - wall)

    async def run(self, scenario: Scenario, profiler: cProfile.Profile | None = None) -> Measured:
        assert self.session is not None
        control, emulator = self.servers["fake"]["control_url"], self.servers["emulator"]["control_url"]
        channels, self.channels = self.channels[: scenario.streams], self.channels[scenario.streams :]
        prompts = [scenario.prompt(i) for i in range(scenario.streams)]
        warnings_before = Counter(self.warnings.counts)
        calls_before = len(self.trace.calls)
        cpu, wall = time.process_time(), time.monotonic()
        async with self.session.post(f"{emulator}/bench/clear") as r:
            r.raise_for_status()
        if profiler is not None:
            profiler.enable()
        async with self.session.post(f"{control}/bench/start", json={"prompts": prompts, "channels": channels}) as r:
            run = (await r.json())["run"]
        wait = {"run": str(run), "timeout": str(FINISH_TIMEOUT)}
        async with self.session.get(f"{control}/bench/wait", params=wait) as r:
            waited = await r.json()
        if profiler is not None:
            profiler.disable()
        cpu, wall_end = time.process_time() - cpu, time.monotonic()
        peak, rss = peak_rss_mib(), current_rss_mib()
        async with self.session.get(f"{control}/bench/results", params={"run": str(run)}) as r:
            results = await r.json()
        async with self.session.get(f"{emulator}/bench/sends", params={"until": str(wall_end)}) as r:
            emulated = await r.json()
        results["sends"] = emulated.pop("sends")
        answers, unmatched = match_answers(scenario, results)
        lags, own_lags = self.monitor.between(wall, wall_end)
        rtt, apply, first_edits = rest_latencies(results["answers"], self.trace.calls[calls_before:])
        return Measured(
            scenario=scenario,
            answers=answers,
            unfinished=waited["unfinished"],
            unmatched=unmatched,
            stats=results["stats"],
            wall=wall_end - wall,
            cpu=cpu,
            idle_cpu=self.idle_cpu_rate * (wall_end - wall),
            lags=lags,
            own_lags=own_lags,
            peak_rss=peak,
            rss_after=rss,
            fake={key: results[key] for key in ("cpu", "wall", "lag")},
            emulator=emulated,
            rest_rtt=rtt,
            apply_latency=apply,
            first_edits=first_edits,
            warnings=self.warnings.counts - warnings_before,
        )


def match_answers(scenario: Scenario, results: dict[str, Any]) -> tuple[list[Answer], int]:
    """Pair each reply with the emulator's answer that quotes its prompt."""
    by_tag: dict[str, list[tuple[float, str]]] = {}
    for sends in results["sends"].values():
        head = "".join(delta for _, delta in sends[:40])
        start = head.find('You said: "')
        if start >= 0:
            quoted = head[start + 11 : head.find('"', start + 11)]
            tag = quoted[quoted.find("bench ") :]  # in a server the question carries its speaker's name first
            by_tag[tag] = [(at, delta) for at, delta in sends]
    answers, unmatched = [], 0
    for index, record in enumerate(results["answers"]):
        sends = by_tag.get(scenario.tag(index))
        if sends is None or not record["messages"]:
            unmatched += 1
            continue
        answers.append(analyse_answer(sends, record))
    return answers, unmatched


def rest_latencies(
    records: list[dict[str, Any]], calls: list[RestCall]
) -> tuple[list[float], list[float], dict[str, tuple[RestCall, float]]]:
    """Round trips of the edits of original responses, (the fake applied it) - (aiohttp began the request), and
    each token's first edit with the time the fake applied it.

    The n-th successful PATCH of a token's `@original` made the (n+1)-th version of that original response.
    """
    patches: dict[str, list[RestCall]] = {}
    for call in calls:
        if call.method == "PATCH" and call.path.endswith("/messages/@original") and 200 <= call.status < 300:
            patches.setdefault(call.path.split("/")[-3], []).append(call)
    rtt = [call.end - call.start for group in patches.values() for call in group]
    apply, first_edits = [], {}
    for record in records:
        group = patches.get(record["token"], [])
        versions = record["messages"][0]["versions"][1:] if record["messages"] else []
        if group and len(group) == len(versions):
            apply.extend(version[0] - call.start for call, version in zip(group, versions, strict=True))
            first_edits[record["token"]] = (group[0], versions[0][0])
    return rtt, apply, first_edits


# --- report ----------------------------------------------------------------------------------------------------------


def ms(seconds: float) -> str:
    return "n/a" if math.isnan(seconds) else f"{round(seconds * 1000)} ms"  # round: no "-0 ms"


def quantile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def report(measured: Measured, limit: int, per: float) -> tuple[str, dict[str, Any]]:
    answers, scenario = measured.answers, measured.scenario
    rows: list[tuple[str, str, str, str]] = []
    finished = scenario.streams - measured.unfinished
    rows.append(("answers finished", f"{finished}/{scenario.streams}", "all", verdict(measured.unfinished == 0)))
    if not answers:
        return table(scenario, rows), {}
    at_once = peak_concurrency(answers)
    rows.append(("streams at once (peak)", f"{at_once}", f"{scenario.streams}", verdict(at_once == scenario.streams)))
    edits = [answer.edits for answer in answers]
    seconds = [max(answer.last_sent - answer.first_sent, EPSILON) for answer in answers]
    rows.append(
        (
            "edits per answer (mean / max)",
            f"{statistics.mean(edits):.1f} / {max(edits)}"
            f" ({statistics.mean(e / s for e, s in zip(edits, seconds, strict=True)):.2f} per s of stream)",
            "",
            "",
        )
    )
    limited = measured.stats["rate_limited"]
    buckets = ", ".join(measured.stats["rate_limited_buckets"]) or "none"
    rows.append(("429 responses", f"{limited} (buckets: {buckets})", "0", verdict(limited == TARGET_429)))
    firsts = [answer.first_visible for answer in answers if answer.first_visible is not None]
    first_text = (
        f"{ms(quantile(firsts, 0.5))} / {ms(quantile(firsts, 0.95))} / {ms(max(firsts))}" if firsts else "never"
    )
    first_ok = len(firsts) == len(answers) and max(firsts) <= TARGET_FIRST_VISIBLE
    rows.append(("first chunk -> first visible text (p50 / p95 / max)", first_text, "<= 100 ms", verdict(first_ok)))
    firsts_split = [
        (call.start - answer.first_sent, call.written - call.start, shown - call.written)
        for answer in answers
        if answer.token in measured.first_edits
        for call, shown in [measured.first_edits[answer.token]]
    ]
    if firsts_split:
        spans = list(zip(*firsts_split, strict=True))
        text = ", ".join(
            f"{label} {ms(quantile(values, 0.5))} / {ms(max(values))}"
            for label, values in zip(("edit begun", "request written", "fake applied it"), spans, strict=True)
        )
        rows.append(
            (
                "first visible, step by step (p50 / max of each step)",
                text,
                "",
                "",
            )
        )
    total, counted, missing = staleness(answers)
    ours = total / counted if counted else float("nan")
    latency = statistics.median(measured.apply_latency) if measured.apply_latency else 0.0
    fixed = best_fixed_pace(answers, limit, per, latency)
    never = f", {missing} characters never visible" if missing else ""
    rows.append(("mean staleness of visible text (bot)", f"{ms(ours)}{never}", "", ""))
    ratio = ours / fixed.mean_staleness if fixed else float("nan")
    if fixed:
        rows.append(
            (
                "best fixed-pace editor, same sends and limit",
                f"{ms(fixed.mean_staleness)} (every {ms(fixed.interval)}, first at +{ms(fixed.phase)},"
                f" {ms(latency)} latency, {ms(fixed.mean_staleness - latency)} without; {fixed.edits:.1f} edits)",
                "",
                "",
            )
        )
        rows.append(
            ("staleness, bot / fixed-pace", f"{ratio:.2f}x", "<= 1.1x", verdict(ratio <= TARGET_STALENESS_RATIO))
        )
    chunks = sum(answer.chunks for answer in answers)
    net = max(measured.cpu - measured.idle_cpu, 0.0)
    per_1000 = net / chunks * 1000
    rows.append(
        (
            "bot CPU per 1,000 chunks",
            f"{per_1000 * 1000:.1f} ms ({net:.2f} s net of {measured.idle_cpu:.2f} s idle, {chunks} chunks;"
            f" raw {measured.cpu / chunks * 1e6:.1f} ms)",
            "< 50 ms",
            verdict(per_1000 * 1000 < TARGET_CPU_MS_PER_1000),
        )
    )
    lags, own = measured.lags, measured.own_lags
    rows.append(
        (
            "event-loop lag (max / p99)",
            f"{ms(max(lags))} / {ms(quantile(lags, 0.99))}",
            "<= 100 ms",
            verdict(max(lags) <= TARGET_LAG),
        )
    )
    rows.append(
        (
            "of which the bot's own work (max / p99; the rest: the CPU was running the servers)",
            f"{ms(max(own))} / {ms(quantile(own, 0.99))}",
            "<= 100 ms",
            verdict(max(own) <= TARGET_LAG),
        )
    )
    rows.append(("peak memory (max RSS of the bot process)", f"{measured.peak_rss:.0f} MiB", "", ""))
    to_first = [answer.first_sent - answer.dispatched_at for answer in answers]
    rows.append(
        ("/chat sent -> first chunk (p50 / max)", f"{ms(quantile(to_first, 0.5))} / {ms(max(to_first))}", "", "")
    )
    ages = [age for answer in answers for age in answer.edit_ages]
    if ages:
        rows.append(
            (
                "age of the newest text in each edit (p50 / p90 / max)",
                f"{ms(quantile(ages, 0.5))} / {ms(quantile(ages, 0.9))} / {ms(max(ages))}",
                "",
                "",
            )
        )
    if measured.rest_rtt:
        rows.append(
            (
                "edit round trip / request sent -> shown (median)",
                f"{ms(statistics.median(measured.rest_rtt))} / {ms(latency)}",
                "",
                "",
            )
        )
    rows.append(
        (
            "harness: wall time; fake's / emulator's CPU and event-loop lag max",
            f"{measured.wall:.1f} s; fake {server_health(measured.fake)}; emulator {server_health(measured.emulator)}",
            "",
            "",
        )
    )
    figures = {
        "ratio": ratio,
        "mismatched": sum(not answer.text_matches for answer in answers),
        "parts": max(answer.parts for answer in answers),
        "cpu_ms_per_1000": per_1000 * 1000,
        "rate_limited": limited,
    }
    return table(scenario, rows), figures


def repeat_summary(results: list[tuple[Measured, dict[str, Any]]]) -> str:
    """Each scenario's CPU per 1,000 chunks, 429s and staleness over its runs: one run is at the machine's mercy."""
    by_scenario: dict[str, list[dict[str, Any]]] = {}
    titles: dict[str, str] = {}
    for measured, figures in results:
        if figures:
            by_scenario.setdefault(measured.scenario.key, []).append(figures)
            titles[measured.scenario.key] = measured.scenario.title
    lines = [
        "### Over the runs\n",
        "| scenario | bot CPU per 1,000 chunks, each run (median) | 429s | staleness / fixed-pace (max) |",
        "|---|---|---|---|",
    ]
    for key, runs in by_scenario.items():
        cpu = [run["cpu_ms_per_1000"] for run in runs]
        each = " / ".join(f"{value:.1f}" for value in cpu)
        worst = max((run["ratio"] for run in runs if not math.isnan(run["ratio"])), default=math.nan)
        lines.append(
            f"| {titles[key]} | {each} ms ({statistics.median(cpu):.1f} ms) |"
            f" {sum(run['rate_limited'] for run in runs)} | {worst:.2f}x |"
        )
    return "\n".join(lines) + "\n"


def server_health(figures: dict[str, Any]) -> str:
    share = figures["cpu"] / max(figures["wall"], EPSILON)
    return f"{figures['cpu']:.1f} s CPU ({share:.0%} of a core), lag {ms(figures['lag']['max'])}"


def peak_concurrency(answers: Sequence[Answer]) -> int:
    """Most answers streaming at the same moment (from their first to their last SSE event)."""
    edges = sorted([(answer.first_sent, 1) for answer in answers] + [(answer.last_sent, -1) for answer in answers])
    peak = current = 0
    for _, change in edges:
        current += change
        peak = max(peak, current)
    return peak


def table(scenario: Scenario, rows: list[tuple[str, str, str, str]]) -> str:
    head = f"### {scenario.title} ([emu:length={scenario.length}][emu:delay={scenario.delay}])\n\n"
    lines = ["| figure | measured | target | result |", "|---|---|---|---|"]
    lines += [f"| {a} | {b} | {c} | {d} |" for a, b, c, d in rows]
    return head + "\n".join(lines)


PROFILE_AREAS = (
    ("reading the fusion stream (bot/core/chat.py _consume)", "bot/core/chat.py", "_consume"),
    ("editing the reply (bot/app/streaming.py _edit_until_final)", "bot/app/streaming.py", "_edit_until_final"),
    ("gateway events (discord/gateway.py received_message)", "discord/gateway.py", "received_message"),
    ("  of which MESSAGE_UPDATE (discord/state.py parse_message_update)", "discord/state.py", "parse_message_update"),
    ("/chat set-up (bot/core/chat.py answer)", "bot/core/chat.py", "answer"),
)
WAITING = ("poll", "select", "run_until_complete", "run_forever")  # the loop waiting in epoll (uvloop: in C)


def profile_text(profiler: cProfile.Profile) -> str:
    """Top 15 functions by own time, the event loop's waiting left out, and cumulative time of the main areas."""
    stats = pstats.Stats(profiler, stream=io.StringIO()).stats  # type: ignore[attr-defined]
    rows = []
    busy = 0.0
    for (filename, line, function), (_, calls, own, cumulative, _) in stats.items():
        if any(word in function for word in WAITING) and filename == "~":
            continue
        busy += own
        rows.append((own, cumulative, calls, f"{short_path(filename)}:{line}({function})"))
    rows.sort(reverse=True)
    lines = [f"profiled CPU outside the epoll wait: {busy:.2f} s (cProfile roughly doubles it)", ""]
    lines.append(f"{'own s':>7} {'cum s':>7} {'calls':>8}  function")
    lines += [f"{own:7.3f} {cum:7.3f} {calls:8d}  {name}" for own, cum, calls, name in rows[:15]]
    lines += ["", "cumulative time by area (per coroutine step, so nested areas overlap):"]
    for label, path, function in PROFILE_AREAS:
        found = [
            value[3] for (filename, _, name), value in stats.items() if name == function and filename.endswith(path)
        ]
        if found:
            lines.append(f"{sum(found):7.3f} s  {label} ({sum(found) / busy:.0%})")
    return "\n".join(lines)


def short_path(filename: str) -> str:
    for marker in ("site-packages/", f"{REPO_ROOT}/"):
        index = filename.find(marker)
        if index >= 0:
            return filename[index + len(marker) :]
    return re.sub(r"^.*/python3\.\d+/", "", filename)


# --- main ------------------------------------------------------------------------------------------------------------


def start_server(*arguments: str) -> tuple[subprocess.Popen[str], dict[str, Any]]:
    child = subprocess.Popen(
        [sys.executable, str(SERVERS_SCRIPT), *arguments],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=REPO_ROOT,
    )
    assert child.stdout is not None
    line = child.stdout.readline()
    if not line:
        child.wait(timeout=10)
        raise RuntimeError(f"{arguments[0]}: the process ended before it was ready (status {child.returncode})")
    return child, json.loads(line)


def stop_server(child: subprocess.Popen[str]) -> None:
    assert child.stdin is not None
    child.stdin.close()
    try:
        child.wait(timeout=15)
    except subprocess.TimeoutExpired:
        child.terminate()
        child.wait(timeout=5)


def bench_settings(servers: dict[str, Any], data_dir: str, **overrides: Any) -> Settings:
    """The benchmarked bot's settings: the fake Discord and the emulator of `servers`, a SQLite file in
    `data_dir`, warnings only; `overrides` change any other."""
    return load_settings(
        _env_file=None,
        discord_token=servers["fake"]["token"],
        discord_api_base=servers["fake"]["api_base"],
        discord_gateway_url=servers["fake"]["gateway_url"],
        fusion_api_url=servers["emulator"]["emulator_url"],
        fusion_api_key="bench-key",
        database_url=f"sqlite:///{data_dir}/bench.sqlite3",
        log_level="WARNING",
        **overrides,
    )


async def run_all(
    servers: dict[str, Any], scenarios: list[Scenario], profile: bool, data_dir: str, conversations: bool
) -> None:
    monitor, trace = LagMonitor(), RestTrace()
    # Conversations on: message events arrive too, one per edit of every answer.
    settings = bench_settings(servers, data_dir, conversations_enabled=conversations)
    point_discord_at(settings.discord_api_base, settings.discord_gateway_url)
    bot = FusionBot(settings, guild_ready_timeout=0.05)
    # The bot already traces discord.py's requests (for rate-limit pacing); add the benchmark's timings to it.
    assert bot.http.http_trace is not None
    for name in ("on_request_start", "on_request_headers_sent", "on_request_end"):
        getattr(bot.http.http_trace, name).extend(getattr(trace.config, name))
    bench = Bench(servers, bot, monitor, trace)
    logging.getLogger().addHandler(bench.warnings)
    logging.getLogger().setLevel(logging.WARNING)
    limit, per = servers["fake"]["webhook_limit"], servers["fake"]["webhook_per"]
    await bot.login(servers["fake"]["token"])
    connect = asyncio.create_task(bot.connect(), name="discord.py connect()")
    try:
        ready = asyncio.create_task(bot.wait_until_ready())
        await asyncio.wait({ready, connect}, timeout=30, return_when=asyncio.FIRST_COMPLETED)
        if not ready.done():
            raise RuntimeError("the bot did not get ready")
        async with aiohttp.ClientSession() as session:
            bench.session = session
            monitor.start()
            await bench.run(WARM_UP)
            results = []
            for scenario in scenarios:
                await bench.measure_idle(IDLE_SECONDS)  # just before: the idle rate drifts as the process ages
                measured = await bench.run(scenario)
                text, figures = report(measured, limit, per)
                print(text + "\n", flush=True)
                results.append((measured, figures))
            if len(scenarios) > len(set(scenarios)):
                print(repeat_summary(results), flush=True)
            profiler_text = None
            if profile:
                profiler = cProfile.Profile()
                await bench.run(PROFILED, profiler)
                profiler_text = profile_text(profiler)
            await monitor.stop()
        print_notes(bench, results, limit, per, profiler_text)
    finally:
        await bot.close()
        await asyncio.wait([connect], timeout=10)


def print_notes(
    bench: Bench, results: list[tuple[Measured, dict[str, Any]]], limit: int, per: float, profiled: str | None
) -> None:
    print("### Notes\n")
    print(
        f"- Rate limit in play: the bot edits the deferred original response (`PATCH /webhooks/{{app}}/{{token}}/"
        f"messages/@original`) and creates follow-ups (`POST /webhooks/{{app}}/{{token}}`): the fake's"
        f" `interaction_webhook` bucket, {limit} requests per {per:g} s per interaction token, fixed windows opened"
        " by the first request. Interaction routes are exempt from the global limit, so 300 streams do not share one."
    )
    print(
        "- Staleness: per character of the final answer, (time of the first fake version whose visible text, parts"
        " joined with `bot.core.chunking.join_parts` and the marker removed, has that character in place) - (time the"
        " emulator wrote the SSE event carrying it); mean over all characters of the scenario. The fixed-pace editor"
        " is simulated on the same send times (see `best_fixed_pace`); its latency is the measured median from"
        " an edit leaving discord.py (aiohttp trace) to the fake recording the version. `age of the newest text`:"
        " for each edit that showed new text, (fake recorded it) - (the newest character in it was sent)."
        " The REST figures come from an aiohttp trace on discord.py's session (three signals per request, about 2%"
        " of the bot's CPU in the profile)."
    )
    print(
        "- First visible, step by step: SSE event sent -> aiohttp begins the first edit (the bot: reading, waking"
        " the editor, discord.py) -> its headers are written -> the fake records the version (the fake's process)."
    )
    print(
        f"- CPU: `time.process_time()` of the bot process (all its threads: the event loop and aiosqlite's) over the"
        f" scenario, minus the idle rate measured for {IDLE_SECONDS:g} s just before it (the last:"
        f" {bench.idle_cpu_rate * 1000:.1f} ms per s: the 10 ms lag monitor, heartbeats; about"
        f" {bench.idle_cpu_rate / (1 / LAG_INTERVAL) * 1e6:.0f} us per wake-up of the event loop on this machine)."
        " A lone stream shares its wake-ups with nothing, so it costs more per chunk than many, and its net figure is"
        " small next to the idle CPU subtracted from it: treat it as a rough one. Chunks are the SSE events the"
        " emulator sent (all were read)."
        f" Reference speed of this machine: `sum(range(1000))` takes {bench.reference_us:.1f} us."
        " Peak memory is `ru_maxrss`, the process's peak so far (so it only grows from one scenario to the next);"
        " tracemalloc was left off because it slows every allocation and would distort the CPU figures."
    )
    print(
        "- `streams at once`: most answers whose SSE streams overlapped. The bot's fusion session allows"
        f" {FUSION_CONNECTION_LIMIT} connections, so every stream of a scenario runs at once."
    )
    for measured, figures in results:
        extra = []
        if figures.get("mismatched"):
            extra.append(f"{figures['mismatched']} answers whose final messages do not join to the sent text")
        if measured.unmatched:
            extra.append(f"{measured.unmatched} replies without a matching emulator answer")
        stats = measured.stats
        if stats["client_errors"]:
            shown = Counter(f"{route} {status}" for route, status, _ in stats["client_errors"])
            extra.append(f"4xx: {dict(shown)}")
        if stats["internal_errors"] or stats["ack_violations"]:
            extra.append(f"fake internal errors {stats['internal_errors']}, ack violations {stats['ack_violations']}")
        if measured.warnings:
            extra.append("log warnings: " + "; ".join(f"{key} x{count}" for key, count in measured.warnings.items()))
        if extra:
            print(f"- {measured.scenario.title}: " + "; ".join(extra) + ".")
    for key, example in bench.warnings.examples.items():
        print(f"- first `{key}` message: {example!r}")
    if any("discord.gateway" in key for key in bench.warnings.examples):
        print(
            "  (\"Can't keep up ... 41.3s behind\" comes once, about 41 s after connecting: discord.py's heartbeat"
            " thread records the send time only after the loop has sent the heartbeat, and the local fake's ACK can"
            " be handled first; harmless here.)"
        )
    if profiled:
        print("\nProfile of the bot process (event-loop thread) over a 300-stream scenario, top 15 by own time:\n")
        print("```\n" + profiled + "\n```")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--streams", default="1,1-long,30,300", help="scenarios to run: " + ", ".join(SCENARIOS))
    parser.add_argument("--profile", action="store_true", help="also profile a 300-stream run with cProfile")
    parser.add_argument("--repeat", type=int, default=1, help="run the scenarios this many times, in turn")
    parser.add_argument(
        "--no-conversations",
        action="store_true",
        help="run the bot with CONVERSATIONS_ENABLED=false (no message events), as a slash-command-only bot",
    )
    args = parser.parse_args()
    scenarios = [SCENARIOS[key.strip()] for key in args.streams.split(",") if key.strip()] * max(1, args.repeat)
    started = time.monotonic()
    channels = WARM_UP.streams + sum(s.streams for s in scenarios) + (PROFILED.streams if args.profile else 0)
    fake, fake_ready = start_server("fake", "--channels", str(channels))
    try:
        emulator, emulator_ready = start_server("emulator")
    except BaseException:
        stop_server(fake)
        raise
    servers = {"fake": fake_ready, "emulator": emulator_ready}
    print(
        f"## Streaming benchmark (bot: pid {os.getpid()}; fake Discord: pid {fake.pid};"
        f" emulator: pid {emulator.pid}; {os.cpu_count()} CPUs)\n"
    )
    try:
        with tempfile.TemporaryDirectory(prefix="fusionbot-bench-") as data_dir:
            run(run_all(servers, scenarios, args.profile, data_dir, not args.no_conversations))
    finally:
        stop_server(emulator)
        stop_server(fake)
    print(f"\nTotal runtime: {time.monotonic() - started:.1f} s")


if __name__ == "__main__":
    main()
