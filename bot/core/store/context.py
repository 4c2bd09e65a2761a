"""Choosing which stored turns go into a request: token estimates and trimming to a budget.

The unit of trimming is the exchange: the user turns up to and including the assistant turn that answered them.
Whole exchanges are dropped, oldest first, so a question is never sent without its answer or an answer without
its question. An incomplete turn (a failed question, an interrupted answer) is never sent back, and neither is
the question of an interrupted answer.

Stored rows are not trusted to be what this version writes: a turn with no text (empty or only whitespace) is
unusable like an incomplete one, a role other than "user" or "assistant" is skipped, and a missing or negative
token count is estimated again, so that no stored row can make a channel's context fail to load.

A persona (`bot.core.personas`) is the one thing put before the turns: its exchange comes first, counted against
the budget like any other, and never dropped.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from bot.core.fusion import Message
from bot.core.personas import persona_messages

MESSAGE_OVERHEAD_TOKENS = 4  # role and separators, as chat models count them
ROLES = frozenset({"user", "assistant"})
_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff\uff66-\uff9f"
_TOKEN_PIECES = re.compile(rf"[{_CJK}]|[^\W\d_{_CJK}]+|\d+|[^\w\s]")


def estimate_tokens(text: str) -> int:
    """A tokenizer-free estimate: one token per CJK character or symbol, one per ~4 letters of a word."""
    pieces = _TOKEN_PIECES.findall(text)
    return MESSAGE_OVERHEAD_TOKENS + sum(math.ceil(len(piece) / 4) if len(piece) > 1 else 1 for piece in pieces)


@dataclass(frozen=True, slots=True)
class ContextBudget:
    """The most messages and estimated tokens one request may carry as context."""

    max_messages: int = 40
    max_tokens: int = 4000


@dataclass(frozen=True, slots=True)
class ContextTurn:
    """What trimming needs to know of a stored turn."""

    role: str
    content: str
    tokens: int | None
    complete: bool
    author_name: str | None = None


def select_context(
    turns: Sequence[ContextTurn], budget: ContextBudget, *, name_speakers: bool = False, persona: str | None = None
) -> list[Message]:
    """The newest exchanges of `turns` (oldest first) that fit `budget`, as API messages, after `persona`'s.

    The persona's exchange and the open exchange at the end (the new question, not yet answered) are always kept,
    even alone over budget; what they take of it is left for the others.
    """
    known = [turn for turn in turns if turn.role in ROLES]
    exchanges = [usable for exchange in _exchanges(known) if (usable := _usable_turns(exchange))]
    open_exchange: list[ContextTurn] = []
    if exchanges and exchanges[-1][-1].role == "user":
        open_exchange = exchanges.pop()
    lead = persona_messages(persona)
    chosen = [open_exchange]
    count = len(lead) + len(open_exchange)
    tokens = sum(estimate_tokens(message.content) for message in lead) + sum(_tokens(t) for t in open_exchange)
    for exchange in reversed(exchanges):
        count += len(exchange)
        tokens += sum(_tokens(turn) for turn in exchange)
        if count > budget.max_messages or tokens > budget.max_tokens:
            break
        chosen.append(exchange)
    return [*lead, *(_as_message(turn, name_speakers) for exchange in reversed(chosen) for turn in exchange)]


def _exchanges(turns: Iterable[ContextTurn]) -> list[list[ContextTurn]]:
    """Split turns (oldest first) after every assistant turn."""
    exchanges: list[list[ContextTurn]] = [[]]
    for turn in turns:
        exchanges[-1].append(turn)
        if turn.role == "assistant":
            exchanges.append([])
    return [exchange for exchange in exchanges if exchange]


def _usable_turns(exchange: list[ContextTurn]) -> list[ContextTurn]:
    """The exchange's usable turns; none when its answer is unusable or no usable question of it is left."""
    questions = [turn for turn in exchange if turn.role == "user" and _usable(turn)]
    answer = exchange[-1] if exchange[-1].role == "assistant" else None
    if not questions or (answer is not None and not _usable(answer)):
        return []
    return [*questions, answer] if answer is not None else questions


def _usable(turn: ContextTurn) -> bool:
    """Complete and with some text: the API refuses an empty message, and a blank one says nothing."""
    return turn.complete and isinstance(turn.content, str) and turn.content.strip() != ""


def _tokens(turn: ContextTurn) -> int:
    if isinstance(turn.tokens, int) and turn.tokens >= 0:
        return turn.tokens
    return estimate_tokens(turn.content)


def _as_message(turn: ContextTurn, name_speakers: bool) -> Message:
    content = turn.content
    if name_speakers and turn.role == "user" and turn.author_name:
        content = f"{turn.author_name}: {content}"
    return Message(role=turn.role, content=content)  # type: ignore[arg-type]
