"""The reference every staleness figure is printed next to: the best fixed-pace editor on the same send times.

A fixed-pace editor edits every answer at `phase + k * interval` after its first SSE event, whatever happens, and
is told the rate limit in advance: the best one (the interval and phase with the lowest mean staleness that never
exceeds the limit) is what a well-tuned fixed delay could do at best on these very answers, known in hindsight.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Sequence
from dataclasses import dataclass

from bench.harness.streams.answers import Answer
from bot.app.streaming import GENERATING_MARKER
from bot.core.chunking import DISCORD_MESSAGE_LIMIT, split_spans

EPSILON = 1e-9
INTERVAL_STEPS = 41  # fixed-pace intervals tried: W/L x (1, 1.025, ..., 2)
PHASE_STEPS = 20  # phases tried per interval: 0, P/20, ..., 19P/20


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
