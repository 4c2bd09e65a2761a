"""The fusion client against the emulator over real sockets: every wire variant, every failure, retries, limits."""

from __future__ import annotations

import asyncio
import io
import socket
from contextlib import aclosing
from dataclasses import replace

import aiohttp
import pytest
from PIL import Image
from pydantic import SecretStr

from bot.core.fusion import (
    BadKeyError,
    BadRequestError,
    ChatRequest,
    FinalResult,
    FusionClient,
    FusionTimeoutError,
    Message,
    ModerationError,
    RateLimitedError,
    RetryPolicy,
    ServiceUnreachableError,
    StreamFailed,
    StreamInterruptedError,
    TextPiece,
    Timeouts,
    UnsupportedModelError,
    UpstreamError,
)
from bot.emulator import EmulatorConfig, received_requests
from tests.emulator_server import EmulatorServer, serve_emulator

SEED_FIELDS = {
    *("messages", "temperature", "top_p", "max_new_tokens", "repetition_penalty", "stream", "user_id"),
    *("mh_key", "mh_model_name", "mh_output_size", "mh_select_seed", "mh_scale", "mh_controlnet_model"),
}
FAST = Timeouts(connect=2, first_byte=2, stream_idle=2, answer_total=10, picture_total=10)


class Sleeps:
    """Records the backoff waits instead of sleeping them."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
def client(session: aiohttp.ClientSession, emulator: EmulatorServer, sleeps: Sleeps) -> FusionClient:
    return make_client(session, emulator.url, sleeps)


def make_client(
    session: aiohttp.ClientSession, url: str, sleeps: Sleeps, *, timeouts: Timeouts = FAST, key: str = "test-key"
) -> FusionClient:
    return FusionClient(
        session,
        url=url,
        api_key=SecretStr(key),
        defaults={"mh_key": SecretStr("mh-token")},
        timeouts=timeouts,
        retry=RetryPolicy(attempts=3, backoff=0.5),
        sleep=sleeps,
    )


def ask_plain(text: str) -> ChatRequest:
    return ChatRequest(messages=[Message(role="user", content=text)], user_id="1")


def ask(client: FusionClient, *turns: str) -> ChatRequest:
    roles = ["user", "assistant"]
    messages = [Message(role=roles[i % 2], content=text) for i, text in enumerate(turns)]  # type: ignore[arg-type]
    return client.new_request(messages, user_id="1234")


async def collect(client: FusionClient, *turns: str, picture: bool = False) -> tuple[str, FinalResult | StreamFailed]:
    pieces: list[str] = []
    async with aclosing(client.stream(ask(client, *turns), picture=picture)) as events:
        async for event in events:
            if isinstance(event, TextPiece):
                pieces.append(event.text)
            else:
                return "".join(pieces), event
    raise AssertionError("the stream ended without a final event")


async def test_plain_answer_quotes_the_prompt_and_reports_usage(client: FusionClient) -> None:
    result = await client.complete(ask(client, "Say this is a test!"))
    assert 'You said: "Say this is a test!"' in result.text
    assert result.finish_reason == "stop"
    assert result.usage.total_tokens > 0
    assert result.picture_url is None


@pytest.mark.parametrize(
    "directives",
    [
        "",
        "[emu:envelope=old]",
        "[emu:framing=nospace]",
        "[emu:crlf]",
        "[emu:comments]",
        "[emu:no-done]",
        "[emu:chunk=1]",
        "[emu:chunk=7][emu:envelope=old][emu:crlf][emu:comments]",
        "[emu:envelope=old][emu:framing=nospace][emu:no-done][emu:chunk=2]",
        "[emu:plain]",
    ],
)
async def test_every_stream_variant_gives_the_same_answer_as_a_plain_call(
    client: FusionClient, directives: str
) -> None:
    expected = (await client.complete(ask(client, "Tell me about SSE"))).text

    streamed, final = await collect(client, f"Tell me about SSE {directives}")

    assert isinstance(final, FinalResult)
    assert streamed == final.text == expected
    assert "你好" in final.text


async def test_long_answer_arrives_whole(client: FusionClient) -> None:
    streamed, final = await collect(client, "write code please [emu:length=6000][emu:chunk=5]")
    assert isinstance(final, FinalResult)
    assert len(streamed) >= 6000
    assert streamed == final.text
    assert "```python" in streamed


async def test_context_reaches_the_service(client: FusionClient, emulator: EmulatorServer) -> None:
    _, final = await collect(client, "first question", "first answer", "second question")
    assert isinstance(final, FinalResult)
    assert 'it began with "first question"' in final.text
    body = received_requests(emulator.app)[-1].body
    assert [m["role"] for m in body["messages"]] == ["user", "assistant", "user"]


async def test_request_carries_every_required_field_and_the_bare_key(
    client: FusionClient, emulator: EmulatorServer
) -> None:
    await client.complete(ask(client, "hello"))
    received = received_requests(emulator.app)[-1]
    assert received.authorization == "test-key"
    assert received.body.keys() >= SEED_FIELDS
    assert received.body["user_id"] == "1234"
    assert received.body["mh_key"] == "mh-token"


async def test_code_request_gets_a_fenced_block(client: FusionClient) -> None:
    result = await client.complete(ask(client, "write a python function"))
    assert "```python" in result.text


async def test_picture_answer_has_a_url_serving_a_png_of_the_asked_size(
    client: FusionClient, session: aiohttp.ClientSession
) -> None:
    request = ask(client, "draw a lighthouse").model_copy(update={"mh_output_size": "640x960"})
    async with aclosing(client.stream(request, picture=True)) as events:
        events_list = [event async for event in events]
    pieces = [event for event in events_list if isinstance(event, TextPiece)]
    final = events_list[-1]
    assert isinstance(final, FinalResult) and final.picture_url
    assert pieces == []  # a picture's URL is not answer text
    async with session.get(final.picture_url) as response:
        picture = Image.open(io.BytesIO(await response.read()))
    assert (picture.format, picture.size) == ("PNG", (640, 960))


@pytest.mark.parametrize(
    ("directives", "error_type"),
    [
        ("[emu:status=401]", BadKeyError),
        ("[emu:status=403]", BadKeyError),
        ("[emu:status=400]", BadRequestError),
        ("[emu:status=415]", BadRequestError),
        ("[emu:code=600]", BadKeyError),
        ("[emu:refuse=moderation]", ModerationError),
        ("[emu:refuse=model]", UnsupportedModelError),
        ("[emu:finish=sensitive]", ModerationError),
        ("[emu:finish=sensetive]", ModerationError),
    ],
)
async def test_refusals_end_the_stream_with_a_typed_error_and_no_retry(
    client: FusionClient, emulator: EmulatorServer, sleeps: Sleeps, directives: str, error_type: type
) -> None:
    before = len(received_requests(emulator.app))
    _, final = await collect(client, f"hello {directives}")
    assert isinstance(final, StreamFailed)
    assert isinstance(final.error, error_type)
    assert final.error.user_message
    assert len(received_requests(emulator.app)) - before == 1
    assert sleeps.waits == []


async def test_unsupported_model_names_the_model(client: FusionClient) -> None:
    request = ask(client, "draw a cat").model_copy(update={"mh_model_name": "Artist_V9"})
    with pytest.raises(UnsupportedModelError) as raised:
        await client.complete(request, picture=True)
    assert "Artist_V9" in raised.value.user_message


async def test_rate_limit_wait_is_read_from_the_message(client: FusionClient, sleeps: Sleeps) -> None:
    with pytest.raises(RateLimitedError) as raised:
        await client.complete(ask(client, "hello [emu:status=429]"))
    assert raised.value.retry_after == 2
    assert sleeps.waits == [2, 2]


async def test_rate_limit_wait_beyond_the_bound_is_not_retried(client: FusionClient, sleeps: Sleeps) -> None:
    _, final = await collect(client, "hello [emu:status=429][emu:retry-after=600]")
    assert isinstance(final, StreamFailed) and isinstance(final.error, RateLimitedError)
    assert final.error.retry_after == 600
    assert "600 seconds" in final.error.user_message
    assert sleeps.waits == []


async def test_transient_failures_are_retried_with_growing_backoff(
    client: FusionClient, emulator: EmulatorServer, sleeps: Sleeps
) -> None:
    streamed, final = await collect(client, "hello [emu:fail=2x503]")
    assert isinstance(final, FinalResult) and streamed == final.text
    assert len(sleeps.waits) == 2
    assert 0.375 <= sleeps.waits[0] <= 0.5 and 0.75 <= sleeps.waits[1] <= 1.0


async def test_retries_are_bounded(client: FusionClient, emulator: EmulatorServer, sleeps: Sleeps) -> None:
    before = len(received_requests(emulator.app))
    with pytest.raises(UpstreamError) as raised:
        await client.complete(ask(client, "hello [emu:status=503]"))
    assert raised.value.status == 503
    assert len(received_requests(emulator.app)) - before == 3


async def test_envelope_error_codes_map_to_types(client: FusionClient) -> None:
    with pytest.raises(RateLimitedError):
        await client.complete(ask(client, "hello [emu:code=603]"))
    with pytest.raises(UpstreamError):
        await client.complete(ask(client, "hello [emu:data-status=1]"))


async def test_json_error_where_a_stream_was_asked(client: FusionClient) -> None:
    _, final = await collect(client, "hello [emu:status=400]")
    assert isinstance(final, StreamFailed) and isinstance(final.error, BadRequestError)
    assert final.error.status == 400


async def test_dropped_stream_keeps_the_partial_text_and_is_not_retried(
    client: FusionClient, emulator: EmulatorServer, sleeps: Sleeps
) -> None:
    before = len(received_requests(emulator.app))
    streamed, final = await collect(client, "hello [emu:drop=3]")
    assert isinstance(final, StreamFailed) and isinstance(final.error, StreamInterruptedError)
    assert streamed and final.partial_text == streamed
    assert len(received_requests(emulator.app)) - before == 1


async def test_drop_before_any_text_is_retried(client: FusionClient, emulator: EmulatorServer) -> None:
    before = len(received_requests(emulator.app))
    _, final = await collect(client, "hello [emu:drop=0]")
    assert isinstance(final, StreamFailed) and isinstance(final.error, StreamInterruptedError)
    assert final.partial_text == ""
    assert len(received_requests(emulator.app)) - before == 3


async def test_silence_before_the_first_byte_times_out(
    session: aiohttp.ClientSession, emulator: EmulatorServer, sleeps: Sleeps
) -> None:
    client = make_client(session, emulator.url, sleeps, timeouts=replace(FAST, first_byte=0.2))
    _, final = await collect(client, "hello [emu:stall-start=5]")
    assert isinstance(final, StreamFailed) and isinstance(final.error, FusionTimeoutError)
    assert final.error.phase == "first byte"


async def test_silence_inside_the_stream_times_out_keeping_the_text(
    session: aiohttp.ClientSession, emulator: EmulatorServer, sleeps: Sleeps
) -> None:
    client = make_client(session, emulator.url, sleeps, timeouts=replace(FAST, stream_idle=0.2))
    streamed, final = await collect(client, "hello [emu:stall=5]")
    assert isinstance(final, StreamFailed) and isinstance(final.error, FusionTimeoutError)
    assert final.error.phase == "silence in the stream"
    assert streamed and final.partial_text == streamed


async def test_picture_total_time_is_bounded(
    session: aiohttp.ClientSession, emulator: EmulatorServer, sleeps: Sleeps
) -> None:
    client = make_client(session, emulator.url, sleeps, timeouts=replace(FAST, picture_total=0.3))
    with pytest.raises(FusionTimeoutError) as raised:
        await client.complete(ask(client, "draw a cat [emu:picture-delay=5]"), picture=True)
    assert raised.value.phase == "total"


async def test_wrong_key_is_refused_by_a_keyed_service(session: aiohttp.ClientSession, sleeps: Sleeps) -> None:
    async with serve_emulator(EmulatorConfig(api_key="right-key")) as server:
        with pytest.raises(BadKeyError) as raised:
            await make_client(session, server.url, sleeps, key="wrong-key").complete(ask_plain("hi"))
        assert "wrong-key" not in str(raised.value) and "wrong-key" not in raised.value.user_message
        result = await make_client(session, server.url, sleeps, key="right-key").complete(ask_plain("hi"))
        assert result.text


async def test_unreachable_service_is_reported(session: aiohttp.ClientSession, sleeps: Sleeps) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    client = make_client(session, f"http://127.0.0.1:{closed_port}/v1/fusion/chat-with-image", sleeps)
    with pytest.raises(ServiceUnreachableError):
        await client.complete(ask(client, "hello"))
    assert len(sleeps.waits) == 2


async def test_a_stream_whose_reader_wants_no_text_is_read_a_few_times_a_second_and_its_end_noticed(
    session: aiohttp.ClientSession, emulator: EmulatorServer, sleeps: Sleeps
) -> None:
    client = make_client(session, emulator.url, sleeps, timeouts=replace(FAST, stream_idle=0.2))
    wants_text = asyncio.Event()
    wants_text.set()
    pieces: list[str] = []
    request = ask(client, "hi [emu:length=200][emu:delay=0.01]")
    async with aclosing(client.stream(request, wants_text=wants_text)) as events:
        async for event in events:
            if isinstance(event, TextPiece):
                pieces.append(event.text)
                if len(pieces) == 1:  # busy for longer than the answer takes, and than the silence limit
                    wants_text.clear()
                    asyncio.get_running_loop().call_later(5.0, wants_text.set)
                continue
            final = event
            break

    assert isinstance(final, FinalResult), final
    assert not wants_text.is_set(), "the end was noticed while the reader was still busy"
    assert "".join(pieces) == final.text and len(final.text) >= 200
    assert len(pieces) <= 6, f"about 40 events came in {len(pieces)} reads, not one read each"


async def test_a_stream_whose_reader_wants_no_text_still_ends_at_the_total_time_limit(
    session: aiohttp.ClientSession, emulator: EmulatorServer, sleeps: Sleeps
) -> None:
    client = make_client(session, emulator.url, sleeps, timeouts=replace(FAST, stream_idle=5, answer_total=0.6))
    wants_text = asyncio.Event()
    wants_text.set()
    async with aclosing(client.stream(ask(client, "hi [emu:stall=5]"), wants_text=wants_text)) as events:
        async for event in events:
            if isinstance(event, TextPiece):
                wants_text.clear()  # and never wants text again
                continue
            final = event
            break

    assert isinstance(final, StreamFailed) and isinstance(final.error, FusionTimeoutError)
    assert final.error.phase == "total"
