"""Running one streaming scenario against the servers of `bench.harness.servers`: the driver asks the fake to start
the answers and waits for them, then gathers what each process recorded (the fake's message versions and counters,
the emulator's send times, the bot's REST calls, CPU time, lag and memory) into a `Measured`.
"""

from __future__ import annotations

import cProfile
import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import Any

import aiohttp

from bench.harness.botrun import RestCall, RestTrace
from bench.harness.cpu import IdleRate, current_rss_mib, peak_rss_mib, reference_speed_us
from bench.harness.lag import LagMonitor
from bench.harness.logs import WarningCounter
from bench.harness.streams.answers import Answer, analyse_answer
from bench.harness.streams.scenarios import Scenario
from bot.app.client import FusionBot

FINISH_TIMEOUT = 150.0
IDLE_SECONDS = 3.0  # measured just before each scenario: the idle rate drifts as the process ages


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
    """Runs scenarios one after another with one bot, on channels of the fake not used before."""

    def __init__(self, servers: dict[str, Any], bot: FusionBot, monitor: LagMonitor, trace: RestTrace) -> None:
        self.servers = servers
        self.bot = bot
        self.monitor = monitor
        self.trace = trace
        self.channels: list[int] = list(servers["fake"]["channels"])
        self.idle = IdleRate()
        self.reference_us = reference_speed_us()
        self.warnings = WarningCounter()
        self.session: aiohttp.ClientSession | None = None

    async def measure_idle(self, seconds: float) -> None:
        """Just before a scenario: the idle rate, and the reference speed (the machine's speed drifts as its other
        work comes and goes, so each scenario's CPU is set beside the speed measured next to it)."""
        self.reference_us = reference_speed_us()
        await self.idle.measure(seconds)

    async def run(self, scenario: Scenario, profiler: cProfile.Profile | None = None) -> Measured:
        assert self.session is not None
        control, generators = self.servers["fake"]["control_url"], self.servers["emulator"]["control_urls"]
        channels, self.channels = self.channels[: scenario.streams], self.channels[scenario.streams :]
        prompts = [scenario.prompt(i) for i in range(scenario.streams)]
        warnings_before = Counter(self.warnings.counts)
        calls_before = len(self.trace.calls)
        cpu, wall = time.process_time(), time.monotonic()
        for generator in generators:
            async with self.session.post(f"{generator}/bench/clear") as r:
                r.raise_for_status()
        if profiler is not None:
            profiler.enable()
        start = {"prompts": prompts, "channels": channels, "kind": scenario.kind, "spread": scenario.spread}
        async with self.session.post(f"{control}/bench/start", json=start) as r:
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
        emulated = await self._sends(generators, wall_end)
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
            idle_cpu=self.idle.per_second * (wall_end - wall),
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

    async def _sends(self, generators: list[str], until: float) -> dict[str, Any]:
        """Every generator's sends since it was cleared, with their CPU in all and their worst lag."""
        assert self.session is not None
        merged: dict[str, Any] = {"sends": {}, "cpu": 0.0, "wall": 0.0, "lag": {"max": 0.0, "p99": 0.0}}
        for generator in generators:
            async with self.session.get(f"{generator}/bench/sends", params={"until": str(until)}) as r:
                part = await r.json()
            merged["sends"].update(part["sends"])
            merged["cpu"] += part["cpu"]
            merged["wall"] = max(merged["wall"], part["wall"])
            merged["lag"] = {key: max(merged["lag"][key], part["lag"][key]) for key in ("max", "p99")}
        return merged


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
    """Round trips of the edits of each reply's first message, (the fake applied it) - (aiohttp began the request),
    and each answer's first request that showed text, with the time the fake applied it (by answer key).

    A /chat's first message is its deferred response: the n-th successful PATCH of its token's `@original` made its
    (n+1)-th version, the first of them its first text. A channel reply's first message is created by a POST to the
    channel's messages (each channel is asked once a run), with its first text, and its n-th PATCH made its
    (n+1)-th version.
    """
    by_key: dict[str, list[RestCall]] = defaultdict(list)
    for call in calls:
        if 200 <= call.status < 300 and (key := call_key(call)) is not None:
            by_key[key].append(call)
    rtt = [call.end - call.start for key, group in by_key.items() if not key.startswith("create") for call in group]
    apply, first_edits = [], {}
    for record in records:
        if not record["messages"]:
            continue
        first = record["messages"][0]
        versions = first["versions"]
        if record["token"] is not None:
            edits, shown_first = by_key.get(f"edit:{record['token']}", []), versions[1:2]
        else:
            edits, shown_first = by_key.get(f"edit:{first['id']}", []), versions[:1]
            creates = by_key.get(f"create:{record['channel_id']}", [])
            if creates and shown_first:
                first_edits[answer_key(record)] = (creates[0], shown_first[0][0])
        if edits and len(edits) == len(versions) - 1:
            apply.extend(version[0] - call.start for call, version in zip(edits, versions[1:], strict=True))
            if record["token"] is not None:
                first_edits[answer_key(record)] = (edits[0], shown_first[0][0])
    return rtt, apply, first_edits


def call_key(call: RestCall) -> str | None:
    """`edit:<token>` for an edit of a /chat's response, `edit:<message id>` for an edit of a channel message,
    `create:<channel id>` for a message sent to a channel; None for any other call."""
    segments = call.path.split("/")
    if call.method == "PATCH" and call.path.endswith("/messages/@original"):
        return f"edit:{segments[-3]}"
    if call.method == "PATCH" and "/channels/" in call.path:
        return f"edit:{segments[-1]}"
    if call.method == "POST" and "/channels/" in call.path and call.path.endswith("/messages"):
        return f"create:{segments[-2]}"
    return None


def answer_key(record: dict[str, Any]) -> str:
    return record["token"] if record["token"] is not None else f"channel {record['channel_id']}"
