"""The reference every staleness figure is printed next to: the best fixed-pace editor on the same send times.

A fixed-pace editor edits every answer at `phase + k * interval` after its first SSE event, whatever happens, and
is told the rate limits in advance: the best one (the interval and phase with the lowest mean staleness that never
exceeds a limit) is what a well-tuned fixed delay could do at best on these very answers, known in hindsight.

Each tick with new text costs one request per message part it touches: the first creates the reply's first message
(a /chat fills its deferred response instead), later ones edit it, and text that crosses a 2,000-character part
edits the full part and creates the next. Each request is counted in its bucket, simulated as the fake Discord
does it: fixed windows of `per` seconds opened by the first request, `limit` requests each (`tests/fake_discord/
ratelimit.py`). A /chat's requests all fall in its interaction token's bucket, exempt from the global limit; a
channel reply's creations and edits fall in the channel's `message_create` and `message_edit` buckets and, with
every other answer's, in the bot's global limit (50 requests a second), the one bucket answers share.
"""

from __future__ import annotations

import bisect
import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from bench.harness.streams.answers import Answer
from bot.app.streaming import GENERATING_MARKER
from bot.core.chunking import DISCORD_MESSAGE_LIMIT, split_spans

EPSILON = 1e-9
INTERVAL_STEPS = 41  # intervals tried, spread evenly (on a log scale) between the two ends of `Buckets.intervals`
PHASE_STEPS = 20  # phases tried per interval: 0, P/20, ..., 19P/20


@dataclass(frozen=True)
class Limit:
    limit: int
    per: float

    @property
    def steady(self) -> float:
        """The interval that spends exactly the limit, window after window."""
        return self.per / self.limit


@dataclass(frozen=True)
class Buckets:
    """The buckets of one kind of reply: its first request's, its edits', a new part's, with their limits, and the
    global limit (None: exempt), shared by every answer; `room` requests of each window are left unused."""

    first: str
    edit: str
    create: str
    limits: dict[str, Limit]
    global_limit: Limit | None = None
    room: int = 0

    def capacity(self, limit: Limit) -> Limit:
        return Limit(max(1, limit.limit - self.room), limit.per)

    @property
    def intervals(self) -> tuple[float, float]:
        """Intervals worth trying: from well below the edit bucket's steady interval (an answer shorter than a
        window can spend it faster) when its window is long, else from that interval, up to twice it."""
        steady = self.capacity(self.limits[self.edit]).steady
        return (min(steady, 0.1), 2 * steady) if self.global_limit is not None else (steady, 2 * steady)

    def within(self, answers: Sequence[Answer], interval: float, phase: float) -> bool:
        """Whether the fixed-pace editor at `interval` and `phase` keeps every limit on these answers."""
        shared: list[float] = []
        for answer in answers:
            requests = ticks(answer, interval, phase, self)
            by_bucket: dict[str, list[float]] = defaultdict(list)
            for at, bucket in requests:
                by_bucket[bucket].append(at)
            if not all(fits(times, self.capacity(self.limits[b])) for b, times in by_bucket.items()):
                return False
            shared.extend(answer.first_sent + at for at, _ in requests)
        return self.global_limit is None or fits(sorted(shared), self.capacity(self.global_limit))


def chat_buckets(limit: int, per: float) -> Buckets:
    webhook = "interaction_webhook"
    return Buckets(webhook, webhook, webhook, {webhook: Limit(limit, per)})


def channel_buckets(limits: dict[str, Limit], room: int = 0) -> Buckets:
    return Buckets("message_create", "message_edit", "message_create", limits, limits["global"], room)


@dataclass(frozen=True)
class FixedPace:
    interval: float
    phase: float
    mean_staleness: float  # with `latency` added
    latency: float
    edits: float  # requests per answer


def best_fixed_pace(answers: Sequence[Answer], buckets: Buckets, latency: float) -> FixedPace | None:
    """The fixed-pace editor with the lowest mean staleness that keeps every limit, on these sends.

    Its edits become visible `latency` after they are sent (the measured median from a request leaving discord.py to
    the fake applying it). A tick with nothing new is skipped.
    """
    pooled = sorted((at - answer.first_sent, count) for answer in answers for at, count in answer.events if count)
    if not pooled:
        return None
    offsets = [offset for offset, _ in pooled]
    chars, weighted = [0], [0.0]
    for offset, count in pooled:
        chars.append(chars[-1] + count)
        weighted.append(weighted[-1] + offset * count)
    # With no limit shared between answers, one that takes a single part at an interval no faster than its bucket's
    # steady one keeps the limit whatever the phase: only the others need simulating.
    simulated = answers if buckets.global_limit is not None else [a for a in answers if len(part_starts(a.text)) > 1]
    low, high = buckets.intervals
    best: FixedPace | None = None
    for step in range(INTERVAL_STEPS):
        interval = low * (high / low) ** (step / (INTERVAL_STEPS - 1))
        for phase_step in range(PHASE_STEPS):
            phase = interval * phase_step / PHASE_STEPS
            mean = mean_staleness(offsets, chars, weighted, interval, phase) + latency
            if (best is None or mean < best.mean_staleness) and buckets.within(simulated, interval, phase):
                edits = sum(len(ticks(answer, interval, phase, buckets)) for answer in answers) / len(answers)
                best = FixedPace(interval, phase, mean, latency, edits)
    return best


def mean_staleness(
    offsets: list[float], chars: list[int], weighted: list[float], interval: float, phase: float
) -> float:
    """Mean over the pooled characters of (the first tick at or after it was sent) - (when it was sent)."""
    total, done, tick = 0.0, 0, 0
    while done < len(offsets):
        edit_at = phase + tick * interval
        upto = bisect.bisect_right(offsets, edit_at + EPSILON)
        if upto > done:
            total += edit_at * (chars[upto] - chars[done]) - (weighted[upto] - weighted[done])
            done = upto
        if done < len(offsets):  # straight to the first tick that has something new
            tick = max(tick + 1, math.ceil((offsets[done] - phase) / interval - EPSILON))
    return total / chars[-1]


def part_starts(text: str) -> list[int]:
    return [start for start, _ in split_spans(text, DISCORD_MESSAGE_LIMIT - len(GENERATING_MARKER))]


def ticks(answer: Answer, interval: float, phase: float, kinds: Buckets) -> list[tuple[float, str]]:
    """The fixed-pace editor's requests for `answer`: (seconds after its first SSE event, bucket)."""
    starts = part_starts(answer.text)
    arrived = [0]
    for _, count in answer.events:
        arrived.append(arrived[-1] + count)
    offsets = [at - answer.first_sent for at, _ in answer.events]
    requests: list[tuple[float, str]] = []
    shown, tick = 0, 0
    while shown < len(answer.text):
        edit_at = phase + tick * interval
        tick += 1
        now = arrived[bisect.bisect_right(offsets, edit_at + EPSILON)]
        if now == shown:
            continue
        first_part = bisect.bisect_right(starts, max(shown - 1, 0)) - 1
        last_part = bisect.bisect_right(starts, now - 1) - 1
        requests.append((edit_at, kinds.edit if shown else kinds.first))
        requests += [(edit_at, kinds.create)] * (last_part - first_part)
        shown = now
    return requests


def fits(times: Sequence[float], limit: Limit) -> bool:
    """Whether requests at `times` (sorted) keep a fixed-window limit: windows of `per` opened by a request."""
    remaining, reset_at = limit.limit, None
    for at in times:
        if reset_at is not None and at >= reset_at - EPSILON:
            remaining, reset_at = limit.limit, None
        if remaining == 0:
            return False
        if reset_at is None:
            reset_at = at + limit.per
        remaining -= 1
    return True
