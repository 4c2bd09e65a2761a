"""Splitting a long answer into Discord messages without breaking words, characters or code blocks.

A part is (markup) + a span of the text + (markup), the spans in order and covering the text. The invariants:

- Progress: every part holds at least one character of the text, so splitting ends on any input (a fence line
  longer than a message, thousands of characters without a space, CRLF, any Unicode).
- Graphemes: a cut never falls inside an extended grapheme cluster (an emoji ZWJ sequence, a flag, a skin tone,
  "e" and its accent, "\\r\\n"); only one cluster longer than a whole part is cut, by code point.
- Words: a cut falls at the last paragraph break, else line break, else sentence end, else space in the last tenth
  or so of the part, so an ASCII word is cut only when no such boundary is within reach.
- Markdown: a code block that a split cuts is closed at the end of the part and reopened at the start of the next,
  with its language when that is a short simple word (else a plain fence), so every part is balanced.
- Size: that markup is at most 20 characters (a reopened fence of at most 16, a closing one of at most 4), and
  every part but the last holds at least 90% of `limit - 20` characters of the text, so an answer of up to ten
  parts' worth takes at most ceil(len(text) / (limit - 20)) + 1 parts.
- Stability: the splitting is greedy, and where a part ends depends only on the text up to one character past
  the most it could hold; once the text runs past a part, later text never changes that part, so a growing
  answer can be re-split on every update without rewriting the messages already full.

`split_message` is the unbounded form; `split_bounded` stops at a number of parts, without looking at the rest.
"""

from __future__ import annotations

import re
from typing import NamedTuple

import regex

DISCORD_MESSAGE_LIMIT = 2000
FENCE = "```"
_MARKUP = 20  # the most a part adds around its own text: a reopened fence (<= 16) and a closing one (<= 4)
_CLOSE = f"\n{FENCE}"  # on a line of its own; after a line break too, so that join_parts can tell it apart
_LANGUAGE = re.compile(r"[\w+#.-]{1,12}", re.ASCII)  # reopened with the fence; anything else is dropped there
_GRAPHEME = regex.compile(r"\X")
_SENTENCE_STOP = re.compile(r"[.!?\u3002\uff01\uff1f]")  # a sentence ends after a space unless in CJK


class _Span(NamedTuple):
    """One part: the text[start:end] it holds and the markup around it."""

    start: int
    end: int
    reopen: str
    close: str

    def render(self, text: str) -> str:
        return self.reopen + text[self.start : self.end] + self.close


def split_message(text: str, limit: int = DISCORD_MESSAGE_LIMIT) -> list[str]:
    """`text` as parts of at most `limit` (more than 20) characters, each part valid Markdown on its own."""
    spans, _ = _split(text, limit, None, 0)
    return [span.render(text) for span in spans]


def split_bounded(text: str, limit: int, max_parts: int, reserve: int) -> tuple[list[str], bool]:
    """At most `max_parts` parts of `text`. When the text needs more, the last part is cut `reserve` characters
    shorter than `limit` (room for the caller's note) and splitting stops there; the bool says whether it did."""
    if max_parts < 1 or reserve < 0:
        raise ValueError(f"max_parts must be at least 1 and reserve not negative, not {max_parts} and {reserve}")
    spans, overflowed = _split(text, limit, max_parts, reserve)
    return [span.render(text) for span in spans], overflowed


def split_spans(text: str, limit: int = DISCORD_MESSAGE_LIMIT) -> list[tuple[int, int]]:
    """Where `split_message` cuts `text`: the (start, end) of each part's own text."""
    spans, _ = _split(text, limit, None, 0)
    return [(span.start, span.end) for span in spans]


def join_parts(parts: list[str]) -> str:
    """The text `split_message` split: its inverse, removing the fences it added at each split.

    Exact unless the text itself looks like that markup at a split (a closing fence and, right after it, a
    fence like the one a part reopens with).
    """
    text = ""
    fence = None
    for index, part in enumerate(parts):
        part = part.removeprefix(_reopening(fence))
        body = part.removesuffix(_CLOSE)
        reopened = fence_after(body, fence)
        if body != part and reopened and index + 1 < len(parts) and parts[index + 1].startswith(_reopening(reopened)):
            part = body  # the fence was added to close the block at the split; the next part reopens it
        fence = fence_after(part, fence)
        text += part
    return text


def fence_after(segment: str, fence: str | None) -> str | None:
    """The code block open after `segment`, given the one open before it (its opening line, or None)."""
    at = segment.find(FENCE)
    while at >= 0:  # only lines with a fence cost anything
        line_start = segment.rfind("\n", 0, at) + 1
        line_end = segment.find("\n", at)
        if line_end < 0:
            line_end = len(segment)
        if at - line_start <= 3 and not segment[line_start:at].strip(" "):
            fence = None if fence else segment[at:line_end].rstrip()
        at = segment.find(FENCE, line_end)
    return fence


def _split(text: str, limit: int, max_parts: int | None, reserve: int) -> tuple[list[_Span], bool]:
    """The one core: the parts greedily, stopping at `max_parts` (the last then `reserve` shorter) if given."""
    if limit - reserve <= _MARKUP:
        raise ValueError(f"a part needs more than {_MARKUP} characters for its text and markup, not {limit - reserve}")
    spans: list[_Span] = []
    start, fence = 0, None
    while True:
        reopen = _reopening(fence)
        if len(reopen) + len(text) - start <= limit:
            spans.append(_Span(start, len(text), reopen, ""))
            return spans, False
        last = len(spans) + 1 == max_parts
        room = limit - (reserve if last else 0)
        cut, fence = _cut_point(text, start, room - len(reopen), fence, start + _least_own_text(room))
        spans.append(_Span(start, cut, reopen, _CLOSE if fence else ""))
        if last:
            return spans, True
        start = cut


def _least_own_text(room: int) -> int:
    """How much of the text a part of `room` characters holds at least (when it is not the last)."""
    most = room - _MARKUP
    return most - most // 10


def _cut_point(text: str, start: int, budget: int, fence: str | None, lowest: int) -> tuple[int, str | None]:
    """Where to end the part beginning at `start` (from `lowest` on, bar long clusters), and the block open there."""
    for room in (0, len(_CLOSE)):  # the second pass leaves room for a closing fence
        cut = _best_boundary(text, start, lowest, start + budget - room)
        fence_at_cut = fence_after(text[start:cut], fence)
        if not fence_at_cut or cut - start + len(_CLOSE) <= budget:
            break
    return cut, fence_at_cut


def _best_boundary(text: str, start: int, lowest: int, end: int) -> int:
    """The latest good cut in [lowest, end]: paragraph, line, sentence, space; else the last cluster boundary."""
    reach = max(lowest - 3, 0)  # where a separator ending at `lowest` or later may begin
    line = _last_end(text, "\n", reach, end)  # a cut after a line break is always a cluster boundary
    if line >= lowest:
        paragraph = max(_last_end(text, "\n\n", reach, end), _last_end(text, "\n\r\n", reach, end))
        return paragraph if paragraph >= lowest else line
    for stop in reversed([match.start() for match in _SENTENCE_STOP.finditer(text, reach, end)]):
        cut = _sentence_end(text, stop)
        if lowest <= cut <= end and _is_boundary(text, cut):
            return cut
    space = text.rfind(" ", reach, end)
    while space + 1 >= lowest:
        if _is_boundary(text, space + 1):
            return space + 1
        space = text.rfind(" ", reach, space)
    return _last_cluster_boundary(text, start, end)


def _sentence_end(text: str, stop: int) -> int:
    """Where the sentence ending in the full stop at `stop` ends: after the stop in CJK, else after a space, or 0."""
    if not text[stop].isascii():
        return stop + 1
    return stop + 2 if text[stop + 1 : stop + 2].isspace() else 0


def _last_end(text: str, separator: str, reach: int, end: int) -> int:
    """Where the last `separator` in text[reach:end] ends, or 0."""
    index = text.rfind(separator, reach, end)
    return index + len(separator) if index >= 0 else 0


def _is_boundary(text: str, cut: int) -> bool:
    """Whether a cut at `cut` falls between two grapheme clusters (it depends on text[:cut + 1] only)."""
    if cut <= 0 or cut >= len(text):
        return True
    pair = text[cut - 1 : cut + 1]
    if pair.isascii():
        return pair != "\r\n"
    return _GRAPHEME.match(text, cut - 1, cut + 1).end() == cut


def _last_cluster_boundary(text: str, start: int, end: int) -> int:
    """The last cluster boundary in (start, end]: a hard cut, or `end` itself inside a cluster longer than that."""
    if _is_boundary(text, end):
        return end
    low = end
    while low > start:  # scan back a little, then more: clusters are short, and `\X` resynchronises anywhere
        low = max(start, 2 * low - end - 32)
        ends = [match.end() for match in _GRAPHEME.finditer(text, low, end)]
        if len(ends) > 1:
            return ends[-2]  # the last match is cut short by `end`
    return end  # one cluster longer than the whole part (zalgo text): progress wins


def _reopening(fence: str | None) -> str:
    """What reopens the block `fence` opened at the start of the next part: short, at most 16 characters."""
    if fence is None:
        return ""
    language = fence[len(FENCE) :].strip()
    return f"{FENCE}{language}\n" if _LANGUAGE.fullmatch(language) else f"{FENCE}\n"
