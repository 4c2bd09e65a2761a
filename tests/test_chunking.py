"""Splitting answers into messages: within the limit, never inside a word or a character, code blocks closed and
reopened, few parts, always finishing, and the bounded form for the streaming editor."""

from __future__ import annotations

import itertools
import math
import threading
from collections.abc import Callable
from datetime import timedelta

import pytest
import regex
from hypothesis import example, given, settings
from hypothesis import strategies as st

from bot.core.chunking import FENCE, fence_after, join_parts, split_bounded, split_message, split_spans

LIMIT = 80
MARKUP = 20  # the most a part adds: a reopened fence and a closing one
REOPENED = regex.compile(r"```[\w+#.-]{0,12}\n")
CALL_TIME = timedelta(seconds=2)  # generous: only an endless loop or a quadratic blow-up takes this long

LONGEST_WORD = 12
words = st.text(alphabet="abcdefghij", min_size=1, max_size=LONGEST_WORD)
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

# Hostile text: clusters of several code points, CRLF, long fence lines, long lines without a space.
clusters = st.sampled_from(
    [
        "\U0001f468\u200d\U0001f469\u200d\U0001f467",  # family: ZWJ sequence
        "\U0001f469\u200d\U0001f4bb",
        "\U0001f3f3\ufe0f\u200d\U0001f308",  # rainbow flag
        "\U0001f1eb\U0001f1f7",  # FR
        "\U0001f1ef\U0001f1f5\U0001f1e9",  # JP and a lone regional indicator
        "\U0001f44d\U0001f3fd",  # skin tone
        "e\u0301",
        "a\u0308\u0301",
        "\u0915\u094d\u0937",  # Devanagari conjunct
        "\u1100\u1161\u11a8",  # Hangul jamo
        " \u0301",  # a space that is not a boundary
        " \u200d",
        "\r\n",
        "\r",
        "\u3002",
    ]
)
unbroken = st.lists(st.one_of(st.sampled_from("xyz=;"), clusters), min_size=30, max_size=150).map("".join)
long_fence = st.builds(lambda info: FENCE + info, st.one_of(unbroken, st.text(alphabet="ab c+", max_size=40)))
pieces = st.one_of(words, words.map(lambda w: w + "."), cjk, clusters, unbroken, long_fence, code_block)
separators = st.sampled_from(["", " ", "\n", "\n\n", "\r\n", "\r\n\r\n"])
hostile = st.lists(st.tuples(pieces, separators), min_size=1, max_size=12).map(
    lambda pairs: "".join(piece + separator for piece, separator in pairs)
)
texts = st.one_of(answers, hostile)
paragraphs = st.builds(  # paragraphs of one width: a break well before every part's end
    lambda line, width: "\n\n".join(((line + " ") * 600)[i : i + width] for i in range(0, 600, width)),
    prose_line,
    st.integers(min_value=10, max_value=LIMIT),
)


def markup_around(part: str, own: str) -> tuple[str, str]:
    """The (reopening, closing) markup that makes `part` out of its own text, failing if there is none."""
    reopened = REOPENED.match(part)
    for head in ["", reopened.group()] if reopened else [""]:
        for tail in ("", f"\n{FENCE}"):
            if part == head + own + tail:
                return head, tail
    raise AssertionError(f"{part!r} is not markup around {own!r}")


def assert_parts_are_the_text_fences_aside(text: str, parts: list[str], spans: list[tuple[int, int]]) -> None:
    assert len(parts) == len(spans)
    assert spans[0][0] == 0 and all(a[1] == b[0] for a, b in itertools.pairwise(spans))
    fence = None
    for index, (part, (start, end)) in enumerate(zip(parts, spans, strict=True)):
        assert end > start or len(text) == 0, "every part holds some of the text"
        head, tail = markup_around(part, text[start:end])
        assert bool(head) == (fence is not None), "a part reopens exactly the block open before it"
        fence = fence_after(text[start:end], fence)
        if index + 1 < len(parts):
            assert bool(tail) == (fence is not None), "a part closes exactly the block open at its end"


def cluster_boundaries(text: str) -> set[int]:
    return {0} | {match.end() for match in regex.finditer(r"\X", text)}


@settings(max_examples=400, deadline=CALL_TIME)
@given(texts)
def test_parts_fit_and_are_the_text_with_fences_around(text: str) -> None:
    parts = split_message(text, LIMIT)
    assert all(len(part) <= LIMIT for part in parts)
    spans = split_spans(text, LIMIT)
    assert spans[-1][1] == len(text)
    assert_parts_are_the_text_fences_aside(text, parts, spans)


@settings(max_examples=400, deadline=CALL_TIME)
@given(texts)
def test_join_parts_gives_the_text_back(text: str) -> None:
    assert join_parts(split_message(text, LIMIT)) == text


@settings(max_examples=400, deadline=CALL_TIME)
@given(texts)
def test_every_part_is_balanced_markdown(text: str) -> None:
    for part in split_message(text, LIMIT)[:-1]:
        assert fence_after(part, None) is None, part


def unbroken_run_at(text: str, cut: int) -> int:
    """The length of the run of non-space characters that a cut at `cut` falls in."""
    start = cut
    while start > 0 and not text[start - 1].isspace():
        start -= 1
    end = cut
    while end < len(text) and not text[end].isspace():
        end += 1
    return end - start


@settings(max_examples=300, deadline=CALL_TIME)
@given(answers)
@example("```js\n" + "1111\n" * 12 + "1111111111111111111111yy\n```\n")  # a long code line may be cut
def test_no_split_inside_a_word(text: str) -> None:
    # A part ends in its last tenth or so (it holds at least 90% of what fits, see `_least_own_text`): a word
    # is kept whole when it fits that window, and only a longer run without a space (a code line) is cut.
    for _, cut in split_spans(text, LIMIT)[:-1]:
        before, after = text[cut - 1], text[cut]
        inside_a_word = before.isascii() and before.isalpha() and after.isascii() and after.isalpha()
        assert not inside_a_word or unbroken_run_at(text, cut) > LONGEST_WORD, (cut, text)


@settings(max_examples=400, deadline=CALL_TIME)
@given(texts)
def test_no_split_inside_a_grapheme_cluster(text: str) -> None:
    boundaries = cluster_boundaries(text)
    assert all(cut in boundaries for _, cut in split_spans(text, LIMIT)), text


@settings(max_examples=400, deadline=CALL_TIME)
@given(st.one_of(texts, paragraphs).map(lambda text: text[: 9 * (LIMIT - MARKUP)]))
def test_few_parts(text: str) -> None:
    """The bound holds for answers of up to about ten parts, so they are cut to nine parts' worth."""
    assert len(split_message(text, LIMIT)) <= math.ceil(len(text) / (LIMIT - MARKUP)) + 1


@settings(max_examples=300, deadline=CALL_TIME)
@given(texts, st.floats(min_value=0, max_value=1))
def test_a_growing_answer_never_rewrites_full_parts(text: str, fraction: float) -> None:
    prefix = text[: int(len(text) * fraction)]
    early, late = split_message(prefix, LIMIT), split_message(text, LIMIT)
    assert late[: len(early) - 1] == early[:-1]


@settings(max_examples=400, deadline=CALL_TIME)
@given(texts, st.integers(min_value=1, max_value=6), st.integers(min_value=0, max_value=LIMIT - MARKUP - 1))
def test_bounded_parts_are_the_first_parts_and_leave_room_for_a_note(text: str, max_parts: int, reserve: int) -> None:
    parts, overflowed = split_bounded(text, LIMIT, max_parts, reserve)
    everything, spans = split_message(text, LIMIT), split_spans(text, LIMIT)
    assert overflowed == (len(everything) > max_parts)
    if not overflowed:
        assert parts == everything
        return
    assert len(parts) == max_parts
    assert parts[:-1] == everything[: max_parts - 1]
    assert len(parts[-1]) <= LIMIT - reserve
    start, end = spans[max_parts - 1]
    fence = None
    for before, after in spans[: max_parts - 1]:
        fence = fence_after(text[before:after], fence)
    head, _ = markup_around(everything[max_parts - 1], text[start:end])
    body = parts[-1].removeprefix(head)
    own = body.removesuffix(f"\n{FENCE}")
    assert bool(own != body) == (fence_after(own, fence) is not None), "closed exactly when a block is open"
    assert own and text.startswith(own, start), "the last part holds the text that follows, fences aside"
    assert start + len(own) in cluster_boundaries(text)
    assert fence_after(parts[-1], None) is None, "the last part is balanced too"


def finishes(call: Callable[[], object], seconds: float = 30) -> object:
    """The call's result, failing (instead of hanging the run) if it does not return within `seconds`."""
    results: list[object] = []
    worker = threading.Thread(target=lambda: results.append(call()), daemon=True)
    worker.start()
    worker.join(seconds)
    assert results, f"no result within {seconds} s"
    return results[0]


def test_a_long_fence_line_takes_few_parts() -> None:
    parts = finishes(lambda: split_message(FENCE + "x" * 2500, 2000))
    assert len(parts) <= 3 and all(len(part) <= 2000 for part in parts)
    assert join_parts(parts) == FENCE + "x" * 2500


def test_a_3kb_single_line_code_block_shows_in_at_most_3_messages() -> None:
    text = "```python\n" + "x" * 3000 + "\n```"
    parts = finishes(lambda: split_message(text, 2000))
    assert len(parts) <= 3 and all(len(part) <= 2000 for part in parts)
    assert parts[1].startswith("```python\n")
    assert join_parts(parts) == text


def test_a_10000_character_fence_line_finishes() -> None:
    text = FENCE + "x" * 10_000 + "\n" + "y " * 500 + "\n" + FENCE
    parts = finishes(lambda: split_message(text, 2000))
    assert all(len(part) <= 2000 for part in parts) and join_parts(parts) == text
    bounded, overflowed = finishes(lambda: split_bounded(text, 2000, 2, 100))
    assert overflowed and len(bounded) == 2 and len(bounded[1]) <= 1900


def test_a_cluster_longer_than_a_part_is_cut_by_code_point() -> None:
    zalgo = "z" + "\u0301" * 5000
    parts = finishes(lambda: split_message(zalgo, 2000))
    assert all(len(part) <= 2000 for part in parts) and "".join(parts) == zalgo


def test_a_long_language_is_not_reopened() -> None:
    text = FENCE + "a-very-long-language-name\n" + "value = 1\n" * 300 + FENCE
    parts = split_message(text, 2000)
    assert all(part.startswith(FENCE + "\n") for part in parts[1:])
    assert join_parts(parts) == text


def test_code_block_cut_is_closed_and_reopened_with_its_language() -> None:
    code = "```python\n" + "".join(f"value_{i} = {i}\n" for i in range(300)) + "```\n"
    parts = split_message("Here:\n\n" + code, 2000)
    assert len(parts) > 1
    assert parts[0].endswith("\n```")
    assert all(part.startswith("```python\n") for part in parts[1:])


def test_short_answer_is_one_part() -> None:
    assert split_message("hello", 2000) == ["hello"]
    assert split_bounded("hello", 2000, 1, 100) == (["hello"], False)


def test_cjk_without_spaces_splits_at_sentence_ends() -> None:
    text = "今天天气很好。" * 400
    parts = split_message(text, 2000)
    assert all(part.endswith("。") for part in parts)
    assert "".join(parts) == text


def test_crlf_is_never_cut_in_two() -> None:
    text = "word\r\n" * 1000
    assert all(text[cut - 1 : cut + 1] != "\r\n" for _, cut in split_spans(text, 2000))


def test_a_limit_too_small_for_the_markup_is_refused() -> None:
    with pytest.raises(ValueError, match="more than 20"):
        split_message("x" * 100, 20)
    with pytest.raises(ValueError, match="more than 20"):
        split_bounded("x" * 100, 100, 2, 80)
