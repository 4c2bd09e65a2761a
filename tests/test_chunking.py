"""Splitting answers into messages: within the limit, never inside a word, code blocks closed and reopened."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.chunking import FENCE, fence_after, join_parts, split_message, split_spans

LIMIT = 80
words = st.text(alphabet="abcdefghij", min_size=1, max_size=12)
cjk = st.text(alphabet="你好世界天气很不错。", min_size=1, max_size=20)
prose_line = st.lists(st.one_of(words, words.map(lambda w: w + "."), cjk), min_size=1, max_size=12).map(" ".join)
code_block = st.builds(
    lambda language, lines: f"{FENCE}{language}\n" + "".join(f"{line}\n" for line in lines) + FENCE,
    st.sampled_from(["", "python", "js"]),
    st.lists(st.text(alphabet="xyz =()+1", max_size=30), max_size=8),
)
blocks = st.lists(st.one_of(prose_line, code_block), min_size=1, max_size=15)
answers = st.tuples(blocks, st.lists(st.sampled_from(["\n", "\n\n"]), min_size=15, max_size=15)).map(
    lambda pair: "".join(block + separator for block, separator in zip(*pair, strict=False))
)


@settings(max_examples=400, deadline=None)
@given(answers)
def test_parts_fit_and_join_back_to_the_answer(text: str) -> None:
    parts = split_message(text, LIMIT)
    assert all(len(part) <= LIMIT for part in parts)
    assert join_parts(parts) == text


@settings(max_examples=400, deadline=None)
@given(answers)
def test_every_part_is_balanced_markdown(text: str) -> None:
    for part in split_message(text, LIMIT)[:-1]:
        assert fence_after(part, None) is None, part


@settings(max_examples=300, deadline=None)
@given(answers)
def test_no_split_inside_a_word(text: str) -> None:
    for _, cut in split_spans(text, LIMIT)[:-1]:
        before, after = text[cut - 1], text[cut]
        assert not (before.isascii() and before.isalpha() and after.isascii() and after.isalpha()), (cut, text)


@settings(max_examples=300, deadline=None)
@given(answers, st.floats(min_value=0, max_value=1))
def test_a_growing_answer_never_rewrites_full_parts(text: str, fraction: float) -> None:
    prefix = text[: int(len(text) * fraction)]
    early, late = split_message(prefix, LIMIT), split_message(text, LIMIT)
    assert late[: len(early) - 1] == early[:-1]


def test_code_block_cut_is_closed_and_reopened_with_its_language() -> None:
    code = "```python\n" + "".join(f"value_{i} = {i}\n" for i in range(300)) + "```\n"
    parts = split_message("Here:\n\n" + code, 2000)
    assert len(parts) > 1
    assert parts[0].endswith("\n```")
    assert all(part.startswith("```python\n") for part in parts[1:])


def test_short_answer_is_one_part() -> None:
    assert split_message("hello", 2000) == ["hello"]


def test_cjk_without_spaces_splits_at_sentence_ends() -> None:
    text = "今天天气很好。" * 400
    parts = split_message(text, 2000)
    assert all(part.endswith("。") for part in parts)
    assert "".join(parts) == text
