"""What the fake showed of one streamed answer, and when, against what the emulator sent, and when: each character's
first visible time, the first visible text, the age of the text each edit showed, and the mean staleness.

Staleness, per character of the final answer: (time of the first fake version whose visible text, parts joined with
`bot.core.chunking.join_parts` and the marker removed, has that character in place) - (time the emulator wrote the
SSE event carrying it).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from bot.app.streaming import GENERATING_MARKER
from bot.core.chunking import join_parts


@dataclass
class Answer:
    """One answer: what the emulator sent when, and what the fake showed when."""

    key: str  # the /chat's interaction token, or `channel <id>`
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
        key=record["token"] if record["token"] is not None else f"channel {record['channel_id']}",
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


def peak_concurrency(answers: Sequence[Answer]) -> int:
    """Most answers streaming at the same moment (from their first to their last SSE event)."""
    edges = sorted([(answer.first_sent, 1) for answer in answers] + [(answer.last_sent, -1) for answer in answers])
    peak = current = 0
    for _, change in edges:
        current += change
        peak = max(peak, current)
    return peak
