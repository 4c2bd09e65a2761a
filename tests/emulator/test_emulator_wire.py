"""Wire-level tests of the fusion emulator, over real sockets with a raw aiohttp client."""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image

from bot.emulator import CHAT_PATHS, EmulatorConfig, create_app, received_requests, run_emulator
from bot.emulator.answers import CHINESE_LINE, MODERATION_REFUSAL, pad_to_length, split_pieces

Emulator = tuple[web.Application, str]


@pytest.fixture
async def emulator() -> AsyncIterator[Emulator]:
    app = create_app()
    async with run_emulator(app=app) as url:
        yield app, url


def make_body(content: str, *, stream: bool = False, history: list[str] | None = None, **fields: Any) -> dict[str, Any]:
    roles = ["user", "assistant"]
    earlier = [{"role": roles[index % 2], "content": text} for index, text in enumerate(history or [])]
    body = {
        "messages": [*earlier, {"role": "user", "content": content}],
        "stream": stream,
        "user_id": "tester",
        "mh_key": "",
        "mh_model_name": "Artist_V0.1.3",
        "mh_output_size": "960x960",
        "mh_scale": 7,
    }
    body.update(fields)
    return body


async def post(
    session: aiohttp.ClientSession, url: str, body: dict, headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], bytes]:
    async with session.post(url, json=body, headers=headers) as response:
        return response.status, dict(response.headers), await response.read()


def sse_data(raw: bytes) -> list[str]:
    """The data payloads of a data-only SSE body, ignoring comments."""
    text = raw.decode("utf-8").replace("\r\n", "\n")
    payloads = []
    for block in text.split("\n\n"):
        for line in block.split("\n"):
            if line.startswith("data:"):
                payloads.append(line[5:].removeprefix(" "))
    return payloads


def sse_events(raw: bytes) -> list[dict]:
    return [json.loads(data) for data in sse_data(raw) if data != "[DONE]"]


def joined_deltas(events: list[dict]) -> str:
    return "".join(event["data"]["choices"][0].get("delta", "") for event in events)


# --- success shapes ----------------------------------------------------------------------


async def test_plain_answer_new_envelope(emulator: Emulator, session: aiohttp.ClientSession) -> None:
    _, url = emulator
    status, headers, raw = await post(session, url, make_body("hello there"))
    assert status == 200
    assert headers["Content-Type"].startswith("application/json")
    assert CHINESE_LINE.encode() in raw  # real UTF-8 on the wire, not \u escapes
    payload = json.loads(raw)
    assert (payload["code"], payload["msg"], payload["data"]["status"]) == (0, "OK", 0)
    choice = payload["data"]["choices"][0]
    assert choice["finish_reason"] == "stop"
    assert 'You said: "hello there"' in choice["content"]
    assert "**" in choice["content"]
    assert "- " in choice["content"]
    usage = payload["data"]["usage"]
    assert usage["picture"] is False
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"] > 0


async def test_plain_answer_old_envelope(emulator: Emulator, session: aiohttp.ClientSession) -> None:
    _, url = emulator
    _, _, raw = await post(session, url, make_body("hello [emu:envelope=old]"))
    payload = json.loads(raw)
    assert (payload["code"], payload["msg"]) == (200, "ok")
    assert 'You said: "hello"' in payload["data"]["choices"][0]["content"]


async def test_stream_new_envelope(emulator: Emulator, session: aiohttp.ClientSession) -> None:
    _, url = emulator
    status, headers, raw = await post(session, url, make_body("hello", stream=True))
    assert status == 200
    assert headers["Content-Type"] == "text/event-stream"
    assert raw.startswith(b"data: {")
    assert raw.endswith(b"\n\ndata: [DONE]\n\n")
    events = sse_events(raw)
    *pieces, last = events
    assert all(event["data"]["choices"][0]["finish_reason"] == "" for event in pieces)
    assert all(event["data"]["choices"][0]["delta"] for event in pieces)
    assert last["data"]["choices"][0] == {"finish_reason": "stop", "delta": ""}
    assert last["code"] == 0
    usage = last["data"]["usage"]
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]
    _, _, plain = await post(session, url, make_body("hello"))
    assert joined_deltas(events) == json.loads(plain)["data"]["choices"][0]["content"]


async def test_stream_old_envelope(emulator: Emulator, session: aiohttp.ClientSession) -> None:
    _, url = emulator
    _, _, raw = await post(session, url, make_body("hello [emu:envelope=old]", stream=True))
    *pieces, last = sse_events(raw)
    assert all(event["code"] == 200 and event["msg"] == "ok" for event in pieces)
    assert all(set(event["data"]["choices"][0]) == {"delta"} for event in pieces)
    assert last["data"]["choices"][0] == {"message": joined_deltas(pieces), "finish_reason": "stop"}
    assert sse_data(raw)[-1] == "[DONE]"


async def test_framing_nospace_crlf_and_comments(emulator: Emulator, session: aiohttp.ClientSession) -> None:
    _, url = emulator
    content = "hello [emu:framing=nospace] [emu:crlf] [emu:comments]"
    _, _, raw = await post(session, url, make_body(content, stream=True))
    assert raw.startswith(b"data:{")
    assert b"data: " not in raw
    assert b"\n" not in raw.replace(b"\r\n", b"")
    assert b"\r\n\r\n: ping\r\n\r\ndata:{" in raw
    assert raw.endswith(b"data:[DONE]\r\n\r\n")
    _, _, plain = await post(session, url, make_body("hello"))
    assert joined_deltas(sse_events(raw)) == json.loads(plain)["data"]["choices"][0]["content"]


async def test_no_done(emulator: Emulator, session: aiohttp.ClientSession) -> None:
    _, url = emulator
    _, _, raw = await post(session, url, make_body("hello [emu:no-done]", stream=True))
    assert b"[DONE]" not in raw
    assert sse_events(raw)[-1]["data"]["choices"][0]["finish_reason"] == "stop"


async def test_chunked_stream_arrives_in_several_reads(emulator: Emulator, session: aiohttp.ClientSession) -> None:
    _, url = emulator
    body = make_body("你好 [emu:chunk=7]", stream=True, max_new_tokens=60)
    async with session.post(url, json=body) as response:
        chunks = [chunk async for chunk in response.content.iter_any()]
    assert len(chunks) > 10
    assert any(not is_utf8(chunk) for chunk in chunks)  # some read ends inside a character
    raw = b"".join(chunks)
    _, _, whole = await post(session, url, make_body("你好", stream=True, max_new_tokens=60))
    assert CHINESE_LINE in joined_deltas(sse_events(whole))
    assert joined_deltas(sse_events(raw)) == joined_deltas(sse_events(whole))


def is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


async def test_all_paths_answer(emulator: Emulator, session: aiohttp.ClientSession) -> None:
    _, url = emulator
    base = url.removesuffix(CHAT_PATHS[0])
    for path in CHAT_PATHS:
        status, _, _ = await post(session, base + path, make_body("hello"))
        assert status == 200, path


async def test_requests_are_recorded(session: aiohttp.ClientSession) -> None:
    app = create_app(EmulatorConfig(api_key="secret"))
    async with run_emulator(app=app) as url:
        await post(session, url, make_body("hello"), headers={"Authorization": "secret"})
    [received] = received_requests(app)
    assert received.authorization == "secret"
    assert received.path == CHAT_PATHS[0]
    assert received.body["messages"][-1]["content"] == "hello"


# --- answers -----------------------------------------------------------------------------


async def test_context_quote_and_code_block(emulator: Emulator, session: aiohttp.ClientSession) -> None:
    _, url = emulator
    body = make_body("now write a python function", history=["first question", "an answer", "second"])
    content = json.loads((await post(session, url, body))[2])["data"]["choices"][0]["content"]
    assert 'This conversation has 3 earlier messages; it began with "first question".' in content
    assert "```python\n" in content


async def test_max_new_tokens_cuts_with_length(emulator: Emulator, session: aiohttp.ClientSession) -> None:
    _, url = emulator
    payload = json.loads((await post(session, url, make_body("hello", max_new_tokens=5)))[2])
    assert payload["data"]["choices"][0]["finish_reason"] == "length"
    assert payload["data"]["usage"]["completion_tokens"] == 5
    _, _, raw = await post(session, url, make_body("hello", stream=True, max_new_tokens=5))
    events = sse_events(raw)
    assert len(events) == 6
    assert events[-1]["data"]["choices"][0]["finish_reason"] == "length"


async def test_length_directive_pads_with_code_blocks(emulator: Emulator, session: aiohttp.ClientSession) -> None:
    _, url = emulator
    payload = json.loads((await post(session, url, make_body("hello [emu:length=3000]")))[2])
    content = payload["data"]["choices"][0]["content"]
    assert 3000 <= len(content) < 3500
    assert content.count("```python\n") >= 2
    assert content.count("```") % 2 == 0
    assert content.endswith(".") and content[-2].isalpha()


async def test_event_delay_still_streams_whole_answer(emulator: Emulator, session: aiohttp.ClientSession) -> None:
    _, url = emulator
    _, _, raw = await post(session, url, make_body("hi [emu:delay=0.01]", stream=True, max_new_tokens=3))
    assert len(sse_events(raw)) == 4
    assert sse_data(raw)[-1] == "[DONE]"


@given(st.text())
def test_pieces_join_back_to_the_text(text: str) -> None:
    assert "".join(split_pieces(text)) == text


@given(st.integers(min_value=1, max_value=6000))
def test_padding_reaches_the_length_and_ends_at_a_word(target: int) -> None:
    padded = pad_to_length("Start.", target)
    assert len(padded) >= target
    assert padded.endswith(".")
    assert padded.count("```") % 2 == 0


async def test_blocked_word_chat_ends_sensitive(emulator: Emulator, session: aiohttp.ClientSession) -> None:
    _, url = emulator
    _, _, raw = await post(session, url, make_body("say blockedword please", stream=True))
    events = sse_events(raw)
    assert 1 < len(events) <= 5
    assert events[-1]["data"]["choices"][0]["finish_reason"] == "sensitive"


async def test_finish_directive(emulator: Emulator, session: aiohttp.ClientSession) -> None:
    _, url = emulator
    _, _, raw = await post(session, url, make_body("hi [emu:finish=sensetive] [emu:envelope=old]", stream=True))
    last = sse_events(raw)[-1]["data"]["choices"][0]
    assert last["finish_reason"] == "sensetive"
    assert last["message"]


def answer_text(raw: bytes, *, stream: bool) -> tuple[str, str]:
    """The answer's whole text and its finish reason, from a plain body or a stream of either envelope."""
    if not stream:
        choice = json.loads(raw)["data"]["choices"][0]
        return choice["content"], choice["finish_reason"]
    *pieces, last = sse_events(raw)
    final = last["data"]["choices"][0]
    assert final.get("delta", "") == ""
    text = joined_deltas(pieces)
    assert final.get("message", text) == text  # the old envelope repeats the whole text at the end
    return text, final["finish_reason"]


@pytest.mark.parametrize("stream", [False, True])
@pytest.mark.parametrize("envelope", ["new", "old"])
@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("@everyone <@&42> draw [emu:echo] this, 好吗?", "@everyone <@&42> draw  this, 好吗?"),
        ("   [emu:echo]", "   "),
        ("[emu:echo]", ""),
        ("  two\n\nlines [emu:delay=0] [emu:echo]  ", "  two\n\nlines    "),
    ],
)
async def test_echo_answers_exactly_the_message_without_its_directives(
    emulator: Emulator, session: aiohttp.ClientSession, stream: bool, envelope: str, content: str, expected: str
) -> None:
    _, url = emulator
    status, _, raw = await post(session, url, make_body(f"{content}[emu:envelope={envelope}]", stream=stream))
    assert status == 200
    assert answer_text(raw, stream=stream) == (expected, "stop")


async def test_an_echoed_long_message_streams_whole_in_pieces(
    emulator: Emulator, session: aiohttp.ClientSession
) -> None:
    _, url = emulator
    long = " ".join(f"word{n}" for n in range(900))
    _, _, raw = await post(session, url, make_body(f"{long} [emu:echo]", stream=True))
    assert len(sse_events(raw)) > 900
    assert answer_text(raw, stream=True) == (f"{long} ", "stop")


# --- pictures ----------------------------------------------------------------------------


async def test_picture_answer_serves_png_of_requested_size(emulator: Emulator, session: aiohttp.ClientSession) -> None:
    _, url = emulator
    body = make_body("draw a cat 画一只猫", mh_output_size="320x192", mh_select_seed=42)
    payload = json.loads((await post(session, url, body))[2])
    assert payload["data"]["usage"]["picture"] is True
    picture_url = payload["data"]["choices"][0]["content"]
    assert picture_url.startswith(url.removesuffix(CHAT_PATHS[0]) + "/pictures/")
    async with session.get(picture_url) as response:
        assert response.status == 200
        assert response.headers["Content-Type"] == "image/png"
        png = await response.read()
    with Image.open(io.BytesIO(png)) as image:
        assert image.format == "PNG"
        assert image.size == (320, 192)
    async with session.get(picture_url.replace(".png", "0.png")) as response:
        assert response.status == 404


async def test_streamed_picture(emulator: Emulator, session: aiohttp.ClientSession) -> None:
    _, url = emulator
    _, _, raw = await post(session, url, make_body("paint a tree", stream=True, mh_output_size="64x64"))
    first, last = sse_events(raw)
    assert first["data"]["choices"][0]["delta"].endswith(".png")
    assert first["data"]["usage"]["picture"] is True
    assert last["data"]["choices"][0] == {"finish_reason": "stop", "delta": ""}
    assert last["data"]["usage"]["picture"] is True


@pytest.mark.parametrize(
    ("content", "model", "expected"),
    [
        ("draw a cat [emu:refuse=model]", "Artist_V0.1.3", "不支持的模型: Artist_V0.1.3"),
        ("draw a cat", "Nope", "不支持的模型: Nope"),
        ("hello [emu:refuse=moderation]", "Artist_V0.1.3", MODERATION_REFUSAL),
        ("draw a 敏感词", "Artist_V0.1.3", MODERATION_REFUSAL),
    ],
)
async def test_picture_refusals_are_in_band(
    emulator: Emulator, session: aiohttp.ClientSession, content: str, model: str, expected: str
) -> None:
    _, url = emulator
    status, _, raw = await post(session, url, make_body(content, mh_model_name=model))
    payload = json.loads(raw)
    assert (status, payload["code"]) == (200, 0)
    assert payload["data"]["choices"][0] == {"content": expected, "finish_reason": "stop"}
    assert payload["data"]["usage"]["picture"] is True


# --- faults ------------------------------------------------------------------------------


@pytest.mark.parametrize("stream", [False, True])
@pytest.mark.parametrize(
    ("status", "message"), [(429, "rate limit exceeded, reset after 2s"), (503, "service unavailable")]
)
async def test_status_directive(
    emulator: Emulator, session: aiohttp.ClientSession, stream: bool, status: int, message: str
) -> None:
    _, url = emulator
    body = make_body(f"hi [emu:status={status}] [emu:retry-after=2]", stream=stream)
    got_status, headers, raw = await post(session, url, body)
    assert got_status == status
    assert headers["Content-Type"].startswith("application/json")
    assert headers["Retry-After"] == "2"
    assert json.loads(raw) == {"error": {"code": status, "message": message}}


async def test_fail_then_succeed(emulator: Emulator, session: aiohttp.ClientSession) -> None:
    _, url = emulator
    body = make_body("retry me [emu:fail=2x503]")
    statuses = [(await post(session, url, body))[0] for _ in range(3)]
    assert statuses == [503, 503, 200]
    assert (await post(session, url, make_body("other [emu:fail=1x500]")))[0] == 500


async def test_envelope_error_code(emulator: Emulator, session: aiohttp.ClientSession) -> None:
    _, url = emulator
    status, _, raw = await post(session, url, make_body("hi [emu:code=603]", stream=True))
    assert status == 200
    assert json.loads(raw) == {"code": 603, "msg": "too many tasks", "data": None}


async def test_miaohua_token_mismatch_is_600(session: aiohttp.ClientSession) -> None:
    async with run_emulator(EmulatorConfig(miaohua_token="token")) as url:
        _, _, raw = await post(session, url, make_body("hi", mh_key="wrong"))
        assert json.loads(raw)["code"] == 600
        _, _, raw = await post(session, url, make_body("hi", mh_key="token"))
        assert json.loads(raw)["code"] == 0


async def test_data_status(emulator: Emulator, session: aiohttp.ClientSession) -> None:
    _, url = emulator
    payload = json.loads((await post(session, url, make_body("hi [emu:data-status=2]")))[2])
    assert (payload["code"], payload["msg"], payload["data"]["status"]) == (0, "task failed", 2)
    _, _, raw = await post(session, url, make_body("hi [emu:data-status=2]", stream=True))
    assert sse_events(raw)[0]["data"]["status"] == 2


async def test_plain_directive_overrides_stream(emulator: Emulator, session: aiohttp.ClientSession) -> None:
    _, url = emulator
    _, headers, raw = await post(session, url, make_body("hi [emu:plain]", stream=True))
    assert headers["Content-Type"].startswith("application/json")
    assert json.loads(raw)["data"]["choices"][0]["finish_reason"] == "stop"


async def test_drop_mid_stream(emulator: Emulator, session: aiohttp.ClientSession) -> None:
    _, url = emulator
    async with session.post(url, json=make_body("hi [emu:drop=3]", stream=True)) as response:
        assert response.status == 200
        with pytest.raises(aiohttp.ClientPayloadError):
            await response.read()


async def test_drop_plain_answer(emulator: Emulator, session: aiohttp.ClientSession) -> None:
    _, url = emulator
    with pytest.raises(aiohttp.ServerDisconnectedError):
        await post(session, url, make_body("hi [emu:drop=0]"))


@pytest.mark.parametrize("directive", ["stall", "stall-start"])
async def test_stall_trips_read_timeout(emulator: Emulator, session: aiohttp.ClientSession, directive: str) -> None:
    _, url = emulator
    timeout = aiohttp.ClientTimeout(sock_read=0.1)
    body = make_body(f"hi [emu:{directive}=0.5]", stream=True)
    with pytest.raises(asyncio.TimeoutError):
        async with session.post(url, json=body, timeout=timeout) as response:
            await response.read()


# --- rejected requests -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"messages": []}, "messages"),
        ({"messages": [{"role": "assistant", "content": "x"}]}, "messages"),
        ({"messages": [{"role": "system", "content": "x"}]}, "messages[0].role"),
        ({"temperature": 0}, "temperature"),
        ({"top_p": 1.5}, "top_p"),
        ({"max_new_tokens": 0}, "max_new_tokens"),
        ({"repetition_penalty": 0}, "repetition_penalty"),
        ({"stream": "yes"}, "stream"),
        ({"user_id": ""}, "user_id"),
        ({"mh_output_size": "32x32"}, "mh_output_size"),
        ({"mh_select_seed": -2}, "mh_select_seed"),
        ({"mh_scale": 21}, "mh_scale"),
        ({"mh_controlnet_model": "sketch"}, "mh_controlnet_model"),
    ],
)
async def test_invalid_field_is_400_naming_it(
    emulator: Emulator, session: aiohttp.ClientSession, changes: dict, field: str
) -> None:
    _, url = emulator
    status, _, raw = await post(session, url, {**make_body("hi"), **changes})
    assert status == 400
    assert field in json.loads(raw)["error"]["message"]


async def test_missing_required_fields(emulator: Emulator, session: aiohttp.ClientSession) -> None:
    _, url = emulator
    for field in ("messages", "user_id"):
        body = make_body("hi")
        del body[field]
        status, _, raw = await post(session, url, body)
        assert status == 400
        assert field in json.loads(raw)["error"]["message"]


async def test_absent_image_fields_use_defaults(emulator: Emulator, session: aiohttp.ClientSession) -> None:
    _, url = emulator
    body = {"messages": [{"role": "user", "content": "hi"}], "user_id": "u", "output_img": True}
    assert (await post(session, url, body))[0] == 200


async def test_unknown_directive_is_400(emulator: Emulator, session: aiohttp.ClientSession) -> None:
    _, url = emulator
    status, _, raw = await post(session, url, make_body("hi [emu:explode]"))
    assert status == 400
    assert "[emu:explode]" in json.loads(raw)["error"]["message"]


async def test_api_key_is_checked(session: aiohttp.ClientSession) -> None:
    async with run_emulator(EmulatorConfig(api_key="secret")) as url:
        for headers in (None, {"Authorization": "Bearer secret"}):
            status, _, raw = await post(session, url, make_body("hi"), headers=headers)
            assert status == 401
            assert json.loads(raw) == {"error": {"code": 401, "message": "invalid api key"}}
        assert (await post(session, url, make_body("hi"), headers={"Authorization": "secret"}))[0] == 200


async def test_non_json_content_type_is_415(emulator: Emulator, session: aiohttp.ClientSession) -> None:
    _, url = emulator
    body = json.dumps(make_body("hi"))
    async with session.post(url, data=body, headers={"Content-Type": "text/plain"}) as response:
        assert response.status == 415
        assert (await response.json())["error"]["code"] == 415


@pytest.mark.parametrize("stream", [False, True])
async def test_usage_can_be_left_out_or_set(emulator: Emulator, session: aiohttp.ClientSession, stream: bool) -> None:
    _, url = emulator

    async def envelopes(directive: str) -> list[dict]:
        _, _, raw = await post(session, url, make_body(f"hello {directive}", stream=stream))
        return sse_events(raw) if stream else [json.loads(raw)]

    assert all("usage" not in envelope["data"] for envelope in await envelopes("[emu:no-usage]"))
    usage = (await envelopes("[emu:tokens=12345]"))[-1]["data"]["usage"]
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"] == 12345
    assert (await envelopes("[emu:tokens=0]"))[-1]["data"]["usage"]["total_tokens"] == 0
