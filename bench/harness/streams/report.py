"""The streaming benchmarks' report: a table per scenario run (figures against their targets), the figures over
repeated runs with their medians, and the notes that say how each figure was measured.
"""

from __future__ import annotations

import statistics
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from bench.harness.cpu import REFERENCE_STATEMENT
from bench.harness.lag import LAG_INTERVAL
from bench.harness.streams.answers import peak_concurrency, staleness
from bench.harness.streams.fixed_pace import EPSILON, Buckets, FixedPace, Limit, best_fixed_pace
from bench.harness.streams.fixed_pace import channel_buckets as channel_limits
from bench.harness.streams.fixed_pace import chat_buckets as chat_limits
from bench.harness.streams.measure import IDLE_SECONDS, Bench, Measured
from bench.harness.tables import Table, median, ms, quantile, runs_and_median
from bot.runtime import FUSION_CONNECTION_LIMIT

TARGET_429 = 0
TARGET_STALENESS_RATIO = 1.1
TARGET_FIRST_VISIBLE = 0.1  # seconds from the first SSE event
TARGET_CPU_MS_PER_1000 = 50.0
TARGET_LAG = 0.1  # seconds


@dataclass
class Figures:
    """What one run of a scenario gives the summary over runs."""

    ratio: float = float("nan")  # staleness, bot / the best fixed-pace editor under the limits that apply
    cpu_ms_per_1000: float = float("nan")
    rate_limited: int = 0
    lag_max: float = float("nan")
    peak_rss: float = float("nan")
    reference_us: float = float("nan")
    mismatched: int = 0
    notes: list[str] = field(default_factory=list)


def scenario_buckets(kind: str, limits: dict[str, list[float]], room: int = 0) -> Buckets:
    """The buckets a reply of this kind is limited by, from the fake's rate limits (kind -> [limit, per])."""
    parsed = {name: Limit(int(limit), per) for name, (limit, per) in limits.items()}
    if kind == "conversation":
        return channel_limits(parsed, room)
    webhook = parsed["interaction_webhook"]
    return chat_limits(webhook.limit, webhook.per)


def report(measured: Measured, limits: dict[str, list[float]], reference_us: float) -> tuple[str, Figures]:
    answers, scenario = measured.answers, measured.scenario
    table, figures = Table(), Figures(reference_us=reference_us, peak_rss=measured.peak_rss)
    finished = scenario.streams - measured.unfinished
    table.add("answers finished", f"{finished}/{scenario.streams}", "all", measured.unfinished == 0)
    if not answers:
        return render(measured, table), figures
    at_once = peak_concurrency(answers)
    table.add("streams at once (peak)", f"{at_once}", f"{scenario.streams}", at_once == scenario.streams)
    edits = [answer.edits for answer in answers]
    seconds = [max(answer.last_sent - answer.first_sent, EPSILON) for answer in answers]
    per_second = statistics.mean(e / s for e, s in zip(edits, seconds, strict=True))
    table.add("edits per answer (mean / max)", f"{statistics.mean(edits):.1f} / {max(edits)} ({per_second:.2f} per s)")
    figures.rate_limited = limited = measured.stats["rate_limited"]
    buckets = ", ".join(measured.stats["rate_limited_buckets"]) or "none"
    table.add("429 responses", f"{limited} (buckets: {buckets})", "0", limited == TARGET_429)
    add_first_text(table, measured)
    figures.ratio = add_staleness(table, measured, limits)
    figures.cpu_ms_per_1000 = add_cpu(table, measured, reference_us)
    lags, own = measured.lags, measured.own_lags
    figures.lag_max = max(lags)
    table.add(
        "event-loop lag (max / p99)",
        f"{ms(max(lags))} / {ms(quantile(lags, 0.99))}",
        "<= 100 ms",
        max(lags) <= TARGET_LAG,
    )
    table.add(
        "of which the bot's own work (max / p99; the rest: the CPU was running the servers)",
        f"{ms(max(own))} / {ms(quantile(own, 0.99))}",
        "<= 100 ms",
        max(own) <= TARGET_LAG,
    )
    table.add("peak memory (max RSS of the bot process)", f"{measured.peak_rss:.0f} MiB")
    add_explaining_rows(table, measured)
    figures.mismatched = sum(not answer.text_matches for answer in answers)
    return render(measured, table), figures


def add_first_text(table: Table, measured: Measured) -> None:
    answers = measured.answers
    firsts = [answer.first_visible for answer in answers if answer.first_visible is not None]
    shown = f"{ms(quantile(firsts, 0.5))} / {ms(quantile(firsts, 0.95))} / {ms(max(firsts))}" if firsts else "never"
    first_ok = len(firsts) == len(answers) and max(firsts) <= TARGET_FIRST_VISIBLE
    table.add("first chunk -> first visible text (p50 / p95 / max)", shown, "<= 100 ms", first_ok)
    steps = [
        (call.start - answer.first_sent, call.written - call.start, shown_at - call.written)
        for answer in answers
        if answer.key in measured.first_edits
        for call, shown_at in [measured.first_edits[answer.key]]
    ]
    if steps:
        labels = ("request begun", "request written", "fake applied it")
        text = ", ".join(
            f"{label} {ms(quantile(values, 0.5))} / {ms(max(values))}"
            for label, values in zip(labels, zip(*steps, strict=True), strict=True)
        )
        table.add("first visible, step by step (p50 / max of each step)", text)


def add_staleness(table: Table, measured: Measured, limits: dict[str, list[float]]) -> float:
    """The bot's staleness next to the best fixed-pace editor under the limits that apply; the ratio."""
    answers, kind = measured.answers, measured.scenario.kind
    total, counted, missing = staleness(answers)
    ours = total / counted if counted else float("nan")
    latency = statistics.median(measured.apply_latency) if measured.apply_latency else 0.0
    never = f", {missing} characters never visible" if missing else ""
    table.add("mean staleness of visible text (bot)", f"{ms(ours)}{never}")
    fixed = best_fixed_pace(answers, scenario_buckets(kind, limits), latency)
    if fixed is None:
        return float("nan")
    what = "its channel's buckets and the global limit" if kind == "conversation" else "its bucket"
    table.add(f"best fixed-pace editor, same sends, {what}", describe(fixed))
    ratio = ours / fixed.mean_staleness
    table.add("staleness, bot / fixed-pace", f"{ratio:.2f}x", "<= 1.1x", ratio <= TARGET_STALENESS_RATIO)
    if kind == "conversation":
        alone = best_fixed_pace(answers, scenario_buckets(kind, {**limits, "global": [10**6, 1.0]}), latency)
        if alone is not None:
            table.add(
                "  for comparison: the same, the global limit ignored (bot / it)",
                f"{describe(alone)}; {ours / alone.mean_staleness:.2f}x",
            )
    return ratio


def describe(fixed: FixedPace) -> str:
    return (
        f"{ms(fixed.mean_staleness)} (every {ms(fixed.interval)}, first at +{ms(fixed.phase)}, {ms(fixed.latency)}"
        f" latency, {ms(fixed.mean_staleness - fixed.latency)} without; {fixed.edits:.1f} requests)"
    )


def add_cpu(table: Table, measured: Measured, reference_us: float) -> float:
    chunks = sum(answer.chunks for answer in measured.answers)
    net = max(measured.cpu - measured.idle_cpu, 0.0)
    per_1000 = net / chunks * 1e6
    table.add(
        "bot CPU per 1,000 chunks",
        f"{per_1000:.1f} ms = {per_1000 / reference_us * 1000:,.0f} x `{REFERENCE_STATEMENT}` ({net:.2f} s net"
        f" of {measured.idle_cpu:.2f} s idle, {chunks} chunks; raw {measured.cpu / chunks * 1e6:.1f} ms)",
        "< 50 ms",
        per_1000 < TARGET_CPU_MS_PER_1000,
    )
    return per_1000


def add_explaining_rows(table: Table, measured: Measured) -> None:
    answers = measured.answers
    to_first = [answer.first_sent - answer.dispatched_at for answer in answers]
    asked = "/chat" if measured.scenario.kind == "chat" else "message"
    table.add(f"{asked} sent -> first chunk (p50 / max)", f"{ms(quantile(to_first, 0.5))} / {ms(max(to_first))}")
    ages = [age for answer in answers for age in answer.edit_ages]
    if ages:
        shown = f"{ms(quantile(ages, 0.5))} / {ms(quantile(ages, 0.9))} / {ms(max(ages))}"
        table.add("age of the newest text in each edit (p50 / p90 / max)", shown)
    if measured.rest_rtt:
        latency = statistics.median(measured.apply_latency) if measured.apply_latency else 0.0
        table.add(
            "edit round trip / request sent -> shown (median)",
            f"{ms(statistics.median(measured.rest_rtt))} / {ms(latency)}",
        )
    table.add(
        "harness: wall time; fake's / emulator's CPU and event-loop lag max",
        f"{measured.wall:.1f} s; fake {server_health(measured.fake)}; emulator {server_health(measured.emulator)}",
    )


def server_health(figures: dict[str, Any]) -> str:
    share = figures["cpu"] / max(figures["wall"], EPSILON)
    return f"{figures['cpu']:.1f} s CPU ({share:.0%} of a core), lag {ms(figures['lag']['max'])}"


def render(measured: Measured, table: Table) -> str:
    scenario = measured.scenario
    return table.render(f"{scenario.title} ([emu:length={scenario.length}][emu:delay={scenario.delay}])")


def repeat_summary(results: list[tuple[Measured, Figures]]) -> str:
    """Each scenario's figures over its runs, with their medians: one run is at the machine's mercy."""
    by_scenario: dict[str, list[Figures]] = {}
    titles: dict[str, str] = {}
    for measured, figures in results:
        by_scenario.setdefault(measured.scenario.key, []).append(figures)
        titles[measured.scenario.key] = measured.scenario.title
    lines = [
        "### Over the runs\n",
        "| scenario | bot CPU per 1,000 chunks, each run (median) | staleness / fixed-pace, each run (median) | 429s |"
        " event-loop lag max, worst run |",
        "|---|---|---|---|---|",
    ]
    for key, runs in by_scenario.items():
        ratios = [run.ratio for run in runs if run.ratio == run.ratio]  # NaN: no fixed-pace figure
        lines.append(
            f"| {titles[key]} | {runs_and_median([run.cpu_ms_per_1000 for run in runs])} |"
            f" {runs_and_median(ratios, 'x', 2) if ratios else 'n/a'} | {sum(run.rate_limited for run in runs)} |"
            f" {ms(max(run.lag_max for run in runs))} |"
        )
    references = [run.reference_us for runs in by_scenario.values() for run in runs]
    lines.append(
        f"\nReference speed over the runs: `{REFERENCE_STATEMENT}` took {min(references):.2f} to"
        f" {max(references):.2f} us (median {median(references):.2f} us)."
    )
    return "\n".join(lines) + "\n"


def print_notes(
    bench: Bench, results: list[tuple[Measured, Figures]], limits: dict[str, list[float]], profiled: str | None
) -> None:
    """How each figure was measured, and what went wrong in which run."""
    webhook, edit, create, shared = (
        limits[name] for name in ("interaction_webhook", "message_edit", "message_create", "global")
    )
    print("### Notes\n")
    print(
        "- Rate limits in play. A /chat edits its deferred response (`PATCH /webhooks/{app}/{token}/messages/"
        "@original`) and creates follow-ups (`POST /webhooks/{app}/{token}`): the fake's `interaction_webhook` bucket,"
        f" {webhook[0]:g} requests per {webhook[1]:g} s per interaction token, exempt from the global limit. A channel"
        f" reply creates messages (`message_create`, {create[0]:g} per {create[1]:g} s per channel) and edits them"
        f" (`message_edit`, {edit[0]:g} per {edit[1]:g} s per channel), and every such request counts in the bot's"
        f" global limit, {shared[0]:g} per {shared[1]:g} s, which Discord announces in no header. Fixed windows opened"
        " by the first request, as the fake does it."
    )
    print(
        "- Staleness: per character of the final answer, (time of the first fake version whose visible text, parts"
        " joined with `bot.core.chunking.join_parts` and the marker removed, has that character in place) - (time the"
        " emulator wrote the SSE event carrying it); mean over all characters of the scenario. The fixed-pace editor"
        " is simulated on the same send times under the same limits (`bench/harness/streams/fixed_pace.py`); its"
        " latency is the measured median from an edit leaving discord.py (aiohttp trace) to the fake recording the"
        " version. `age of the newest text`: for each edit that showed new text, (fake recorded it) - (the newest"
        " character in it was sent). The REST figures come from an aiohttp trace on discord.py's session."
    )
    print(
        "- First visible, step by step: SSE event sent -> aiohttp begins the request that shows the first text (the"
        " bot: reading, waking the editor, discord.py) -> its headers are written -> the fake records the version."
    )
    print(
        f"- CPU: `time.process_time()` of the bot process (all its threads: the event loop and aiosqlite's) over the"
        f" scenario, minus the idle rate measured for {IDLE_SECONDS:g} s just before it (the last:"
        f" {bench.idle.per_second * 1000:.1f} ms per s: the 10 ms lag monitor, heartbeats; about"
        f" {bench.idle.per_second * LAG_INTERVAL * 1e6:.0f} us per wake-up of the event loop on this machine)."
        " A lone stream shares its wake-ups with nothing, so it costs more per chunk than many, and its net figure is"
        " small next to the idle CPU subtracted from it: treat it as a rough one. Chunks are the SSE events the"
        f" emulator sent (all were read). Reference speed of this machine: `{REFERENCE_STATEMENT}` takes"
        f" {bench.reference_us:.2f} us (best of five timings just before the last scenario, as before each; the"
        " summary gives it over the runs); a CPU figure is also given in these workloads, which is roughly the same"
        " on a faster machine."
        " Peak memory is `ru_maxrss`, the process's peak so far (so it only grows from one scenario to the next);"
        " tracemalloc was left off because it slows every allocation and would distort the CPU figures."
    )
    print(
        "- `streams at once`: most answers whose SSE streams overlapped. The bot's fusion session allows"
        f" {FUSION_CONNECTION_LIMIT} connections, so every stream of a scenario runs at once."
    )
    for measured, figures in results:
        extra = run_notes(measured, figures)
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


def run_notes(measured: Measured, figures: Figures) -> list[str]:
    extra = []
    if figures.mismatched:
        extra.append(f"{figures.mismatched} answers whose final messages do not join to the sent text")
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
    return extra
