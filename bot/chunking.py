"""Splitting a long answer into Discord messages without breaking words or code blocks.

Splits fall at the last paragraph break, else line break, else sentence end, else space within the limit, so a
word is never cut (only a single "word" longer than a whole message is). A fenced code block that a split cuts
is closed at the end of one part and reopened, with its language, at the start of the next. The splitting is
greedy and so stable: once the text runs past a part, later text never changes that part, which lets a growing
answer be re-split on every update without rewriting the messages already full.
"""

from __future__ import annotations

import re

DISCORD_MESSAGE_LIMIT = 2000
FENCE = "```"
_SENTENCE_END = re.compile(r"[.!?](?:\s|$)|[\u3002\uff01\uff1f]")  # CJK full stops need no space after
_SEPARATORS = ("\n\n", "\n")


def split_message(text: str, limit: int = DISCORD_MESSAGE_LIMIT) -> list[str]:
    """`text` as parts of at most `limit` characters, each part valid Markdown on its own."""
    parts = []
    fence = None  # the opening line of the code block open where the part starts, if any
    for start, end in split_spans(text, limit):
        reopen = f"{fence}\n" if fence else ""
        fence = fence_after(text[start:end], fence)
        close = _closing_fence(text[start:end]) if fence and end < len(text) else ""
        parts.append(reopen + text[start:end] + close)
    return parts


def split_spans(text: str, limit: int = DISCORD_MESSAGE_LIMIT) -> list[tuple[int, int]]:
    """Where `split_message` cuts `text`: the (start, end) of each part's own text."""
    spans: list[tuple[int, int]] = []
    start, fence = 0, None
    while True:
        reopen = len(fence) + 1 if fence else 0
        if reopen + len(text) - start <= limit:
            spans.append((start, len(text)))
            return spans
        cut, fence = _cut_point(text, start, limit - reopen, fence)
        spans.append((start, cut))
        start = cut


def join_parts(parts: list[str]) -> str:
    """The text `split_message` split: its inverse, removing the fences it added at each split.

    Exact unless one line of code was longer than a whole message (then a line break was added to close it).
    """
    text = ""
    fence = None
    for index, part in enumerate(parts):
        if fence and part.startswith(f"{fence}\n"):
            part = part[len(fence) + 1 :]
        body = part.removesuffix(FENCE)
        reopened = fence_after(body, fence)
        if body != part and reopened and index + 1 < len(parts) and parts[index + 1].startswith(f"{reopened}\n"):
            part = body  # the fence was added to close the block at the split; the next part reopens it
        fence = fence_after(part, fence)
        text += part
    return text


def fence_after(segment: str, fence: str | None) -> str | None:
    """The code block open after `segment`, given the one open before it (its opening line, or None)."""
    for line in segment.split("\n"):
        stripped = line.lstrip(" ")
        if len(line) - len(stripped) <= 3 and stripped.startswith(FENCE):
            fence = None if fence else stripped.rstrip()
    return fence


def _cut_point(text: str, start: int, budget: int, fence: str | None) -> tuple[int, str | None]:
    """Where to end the part beginning at `start`, and the code block open there."""
    for room in (0, len(FENCE) + 1):  # the second pass leaves room for a closing fence
        cut = _best_boundary(text, start, start + budget - room)
        fence_at_cut = fence_after(text[start:cut], fence)
        if fence_at_cut:
            cut = _line_end_before(text, start, cut)
            fence_at_cut = fence_after(text[start:cut], fence)
        if not fence_at_cut or cut - start + len(_closing_fence(text[start:cut])) <= budget:
            return cut, fence_at_cut
    return cut, fence_at_cut


def _line_end_before(text: str, start: int, cut: int) -> int:
    """Inside code, cut after a whole line when there is one, so that closing the block adds nothing to it."""
    if text[cut - 1] == "\n":
        return cut
    newline = text.rfind("\n", start, cut)
    return newline + 1 if newline >= start else cut


def _best_boundary(text: str, start: int, end: int) -> int:
    """The latest good place to cut text[start:end]: paragraph, line, sentence, space; else a hard cut."""
    window = text[start:end]
    least = len(window) // 2  # a cut earlier than this would make tiny parts; try a weaker boundary first
    for separator in _SEPARATORS:
        index = window.rfind(separator)
        if index >= least:
            return start + index + len(separator)
    sentence_ends = [match.end() for match in _SENTENCE_END.finditer(window)]
    if sentence_ends and sentence_ends[-1] >= least:
        return start + sentence_ends[-1]
    space = max(window.rfind(" "), window.rfind("\n"))
    if space > 0:
        return start + space + 1
    return end  # one word longer than a message, or unspaced text such as CJK: nothing better exists


def _closing_fence(segment: str) -> str:
    return FENCE if segment.endswith("\n") else f"\n{FENCE}"
