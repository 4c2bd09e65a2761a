"""The streaming benchmarks' report: a table per scenario run (figures against their targets), the figures over
repeated runs with their medians, and the notes that say how each figure was measured.
"""

from __future__ import annotations

import math
import statistics
from collections import Counter
from typing import Any

from bench.harness.lag import LAG_INTERVAL
from bench.harness.streams.answers import peak_concurrency, staleness
from bench.harness.streams.fixed_pace import EPSILON, best_fixed_pace
from bench.harness.streams.measure import IDLE_SECONDS, Bench, Measured
from bench.harness.streams.scenarios import Scenario
from bench.harness.tables import ms, quantile, verdict
from bot.runtime import FUSION_CONNECTION_LIMIT

TARGET_429 = 0
TARGET_STALENESS_RATIO = 1.1
TARGET_FIRST_VISIBLE = 0.1  # seconds from the first SSE event
TARGET_CPU_MS_PER_1000 = 50.0
TARGET_LAG = 0.1  # seconds


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


def table(scenario: Scenario, rows: list[tuple[str, str, str, str]]) -> str:
    head = f"### {scenario.title} ([emu:length={scenario.length}][emu:delay={scenario.delay}])\n\n"
    lines = ["| figure | measured | target | result |", "|---|---|---|---|"]
    lines += [f"| {a} | {b} | {c} | {d} |" for a, b, c, d in rows]
    return head + "\n".join(lines)


def print_notes(
    bench: Bench, results: list[tuple[Measured, dict[str, Any]]], limit: int, per: float, profiled: str | None
) -> None:
    """How each figure was measured, and what went wrong in which run."""
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
        f" {bench.idle.per_second * 1000:.1f} ms per s: the 10 ms lag monitor, heartbeats; about"
        f" {bench.idle.per_second * LAG_INTERVAL * 1e6:.0f} us per wake-up of the event loop on this machine)."
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
