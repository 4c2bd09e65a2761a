"""The SSE reader: every framing variant, and any split of the byte stream, give the same events and answer."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.core.fusion.envelope import AnswerAssembler, StreamingAnswer
from bot.core.fusion.errors import ModerationError, StreamInterruptedError
from bot.core.fusion.sse import SSEDecoder

texts = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), min_size=1, max_size=12
)
line_ends = st.sampled_from(["\n", "\r\n", "\r"])


def envelope(delta: str, *, generation: str, finish: str = "", snapshot: str | None = None) -> dict:
    choice: dict = {"delta": delta}
    if generation == "new":
        choice["finish_reason"] = finish
    elif finish:
        choice = {"message": snapshot, "finish_reason": finish}
    code, msg = (0, "OK") if generation == "new" else (200, "ok")
    usage = {"prompt_tokens": 3, "completion_tokens": 5, "total_tokens": 8, "picture": False}
    return {"code": code, "msg": msg, "data": {"id": "a1", "choices": [choice], "usage": usage, "status": 0}}


def event_stream(
    pieces: list[str], *, generation: str, space: bool, line_end: str, comments: bool, done: bool
) -> bytes:
    full_text = "".join(pieces)
    events = [envelope(piece, generation=generation) for piece in pieces]
    events.append(envelope("", generation=generation, finish="stop", snapshot=full_text))
    prefix = "data: " if space else "data:"
    lines: list[str] = []
    for event in events:
        if comments:
            lines += [": keep-alive", ""]
        lines += [prefix + json.dumps(event, ensure_ascii=False), ""]
    if done:
        lines += [prefix + "[DONE]", ""]
    return line_end.join(lines).encode() + line_end.encode()


def split_at(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({cut % (len(data) + 1) for cut in cuts})
    return [data[start:end] for start, end in zip([0, *points], [*points, len(data)], strict=True)]


def read_all(chunks: list[bytes]) -> tuple[str, str]:
    """Feed `chunks`; return the text the pieces add up to and the final result's text."""
    stream = StreamingAnswer(AnswerAssembler())
    pieces = [stream.feed(chunk) for chunk in chunks]
    pieces.append(stream.close())
    return "".join(pieces), stream.answer.result().text


@settings(max_examples=300, deadline=None)
@given(
    pieces=st.lists(texts, min_size=1, max_size=8),
    generation=st.sampled_from(["old", "new"]),
    space=st.booleans(),
    line_end=line_ends,
    comments=st.booleans(),
    done=st.booleans(),
    cuts=st.lists(st.integers(min_value=0), max_size=30),
)
def test_any_chunking_of_any_variant_yields_the_same_text_and_result(
    pieces: list[str], generation: str, space: bool, line_end: str, comments: bool, done: bool, cuts: list[int]
) -> None:
    data = event_stream(pieces, generation=generation, space=space, line_end=line_end, comments=comments, done=done)
    streamed, final = read_all(split_at(data, cuts))
    assert streamed == "".join(pieces)
    assert final == "".join(pieces)


@settings(max_examples=100, deadline=None)
@given(payloads=st.lists(texts.filter(lambda t: "\n" not in t and "\r" not in t), min_size=1, max_size=6))
def test_byte_at_a_time_gives_the_payloads_in_order(payloads: list[str]) -> None:
    data = "".join(f"data: {payload}\r\n\r\n" for payload in payloads).encode()
    decoder = SSEDecoder()
    received = [payload for i in range(len(data)) for payload in decoder.feed(data[i : i + 1])]
    assert received + decoder.close() == payloads


def test_utf8_character_split_between_reads_is_kept_whole() -> None:
    data = 'data: {"x": "你好"}\n\n'.encode()
    cut = data.index("好".encode()) + 1
    decoder = SSEDecoder()
    assert decoder.feed(data[:cut]) == []
    assert decoder.feed(data[cut:]) == ['{"x": "你好"}']


def test_crlf_split_between_reads_does_not_end_the_event_early() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"data: a\r") == []
    assert decoder.feed(b"\ndata: b\r\n\r\n") == ["a\nb"]


def test_comments_and_other_fields_are_ignored() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b": ping\n\nevent: message\nid: 7\nretry: 10\ndata:{}\n\n") == ["{}"]


def test_events_without_blank_lines_between_them_are_still_separate() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b'data: {"a": 1}\ndata: {"b": 2}\n') == ['{"a": 1}']
    assert decoder.close() == ['{"b": 2}']


def test_last_event_without_trailing_blank_line_is_delivered_at_close() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"data: [DONE]") == []
    assert decoder.close() == ["[DONE]"]


def test_old_generation_snapshot_completes_text_the_deltas_missed() -> None:
    stream = StreamingAnswer(AnswerAssembler())
    data = event_stream(["Hello"], generation="old", space=True, line_end="\n", comments=False, done=False)
    data = data.replace(b'"message": "Hello"', b'"message": "Hello, world"')
    assert stream.feed(data) == "Hello, world"
    assert stream.answer.result().text == "Hello, world"


def test_stream_ending_before_the_finish_is_an_interruption() -> None:
    stream = StreamingAnswer(AnswerAssembler())
    stream.feed(b"data: " + json.dumps(envelope("partial", generation="new")).encode() + b"\n\n")
    stream.close()
    with pytest.raises(StreamInterruptedError):
        stream.answer.result()
    assert stream.answer.text == "partial"


@pytest.mark.parametrize("reason", ["sensitive", "sensetive"])
def test_moderation_finish_reason_is_a_refusal(reason: str) -> None:
    stream = StreamingAnswer(AnswerAssembler())
    stream.feed(b"data: " + json.dumps(envelope("", generation="new", finish=reason)).encode() + b"\n\n")
    with pytest.raises(ModerationError):
        stream.answer.result()
