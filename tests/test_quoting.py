"""The question about a message: the instruction first, the author and text quoted, bounded by the budget."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.core.quoting import CUT_MARK, DEFAULT_INSTRUCTION, QUOTE_MAX_CHARACTERS, Quote, question_about
from bot.core.store.context import estimate_tokens


def test_the_instruction_comes_first_then_the_author_and_each_line_quoted() -> None:
    question = question_about(Quote("Ana", "First line.\n\nSecond line."), "  summarise ", max_tokens=4000)
    assert question.text == "summarise\n\nAna wrote:\n> First line.\n>\n> Second line."
    assert not question.cut and question.quoted_characters == len("First line.\n\nSecond line.")


def test_a_blank_instruction_asks_for_a_response() -> None:
    question = question_about(Quote("Ana", "hi"), " \n ", max_tokens=4000)
    assert question.text.startswith(f"{DEFAULT_INSTRUCTION}\n\nAna wrote:\n> hi")


def test_a_long_text_is_cut_at_the_character_limit_and_says_so() -> None:
    text = "abcdefghij " * 1000
    question = question_about(Quote("Ana", text), "summarise", max_tokens=1_000_000)
    assert question.cut and question.quoted_characters == QUOTE_MAX_CHARACTERS
    assert question.text.endswith(f"\n{CUT_MARK}")
    assert text[: QUOTE_MAX_CHARACTERS - 1].strip() in question.text


def test_a_text_over_the_token_budget_is_cut_as_little_as_possible() -> None:
    text = "雨" * 3000  # one token each
    question = question_about(Quote("Ana", text), "translate", max_tokens=1000)
    assert question.cut and estimate_tokens(question.text) <= 1000
    one_more = question.text.replace(f"{CUT_MARK}", "").rstrip() + "雨"
    assert estimate_tokens(f"{one_more}\n{CUT_MARK}") > 1000


@settings(max_examples=200, deadline=None)
@given(
    text=st.text(min_size=1, max_size=6000),
    instruction=st.text(max_size=200),
    max_tokens=st.integers(min_value=100, max_value=5000),
)
def test_the_question_never_goes_over_the_budget_unless_nothing_is_quoted(
    text: str, instruction: str, max_tokens: int
) -> None:
    question = question_about(Quote("Ana", text), instruction, max_tokens=max_tokens)
    assert estimate_tokens(question.text) <= max_tokens or question.quoted_characters == 0
    assert question.quoted_characters <= QUOTE_MAX_CHARACTERS
    assert question.cut == (question.text.endswith(CUT_MARK))
