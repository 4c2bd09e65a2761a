"""The report of `bench/draw.py`: one run's figures against the queue's limits and Discord's, and its notes."""

from __future__ import annotations

import math
import statistics
from collections import Counter
from dataclasses import dataclass

from bench.harness.draws.records import (
    DELIVERED,
    FAILED,
    LOST,
    REFUSED,
    WRONG,
    DrawRecord,
    admissions,
    check_order,
    drawing_intervals,
    held_intervals,
    overheads,
    peaks,
    shown_drawing,
    waits,
)
from bench.harness.draws.world import Options
from bench.harness.tables import Table, in_seconds, ms, quantile, spread
from tests.fake_discord import Stats


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
