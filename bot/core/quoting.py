"""A question about a message someone wrote (the "Ask Fusionbot" message command): the asker's instruction first,
then the message's author and its text, quoted.

The question alone never goes over the context budget: the quoted text is cut at `QUOTE_MAX_CHARACTERS`, or sooner
when the question would otherwise be estimated (`bot.core.store.context.estimate_tokens`, as the context is) at
more tokens than the budget allows. A cut is said in the question, so that the model knows it reads a part, and in
`Question.cut`, for the asker to be told.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from bot.core.store.context import estimate_tokens

QUOTE_MAX_CHARACTERS = 4000  # as much as a /chat prompt may have
DEFAULT_INSTRUCTION = "Respond to this message."
CUT_MARK = "[\u2026 the message goes on: it was cut here]"


@dataclass(frozen=True, slots=True)
class Quote:
    """A message to ask about: its author's display name and its text."""

    author: str
    text: str


@dataclass(frozen=True, slots=True)
class Question:
    """The question to send, and how much of the message's text it quotes."""

    text: str
    quoted_characters: int
    cut: bool


def question_about(quote: Quote, instruction: str, *, max_tokens: int) -> Question:
    """The question `instruction` (or `DEFAULT_INSTRUCTION`) asks about `quote`, at most `max_tokens` long as
    estimated, unless the instruction alone is longer."""
    instruction = instruction.strip() or DEFAULT_INSTRUCTION
    text = quote.text.strip()

    def question(length: int, *, cut: bool) -> str:
        return _question(instruction, quote.author, text[:length].rstrip(), cut=cut)

    whole = question(len(text), cut=False)
    if len(text) <= QUOTE_MAX_CHARACTERS and estimate_tokens(whole) <= max_tokens:
        return Question(whole, len(text), cut=False)
    length = _longest(
        lambda n: estimate_tokens(question(n, cut=True)) <= max_tokens, min(len(text), QUOTE_MAX_CHARACTERS)
    )
    return Question(question(length, cut=True), length, cut=True)


def _question(instruction: str, author: str, text: str, *, cut: bool) -> str:
    quoted = [f"> {line}" if line.strip() else ">" for line in text.splitlines()]
    return "\n".join([instruction, "", f"{author} wrote:", *quoted, *([CUT_MARK] if cut else [])])


def _longest(fits: Callable[[int], bool], most: int) -> int:
    """The largest n in 0..most for which `fits(n)` (true up to some n, false after it), or 0."""
    low, high = 0, most
    while low < high:
        middle = (low + high + 1) // 2
        if fits(middle):
            low = middle
        else:
            high = middle - 1
    return low
