"""The fusion emulator's aiohttp application: routes, answers, streaming and faults.

It stands in for SenseTime's fusion chat-with-image API on 127.0.0.1. It deliberately
imports nothing from the bot's own client code, so any disagreement between the client
and the wire format stays visible in tests. Drawn pictures are served, with their
scripted URL faults, by ``picture_server``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Literal

from aiohttp import web

from bot.emulator import answers
from bot.emulator.directives import (
    DEFAULT_MODEL,
    ChatRequest,
    Directives,
    RequestError,
    parse_directives,
    validate_chat_request,
    without_directives,
)
from bot.emulator.picture_server import picture_url, setup_pictures
from bot.emulator.pictures import (
    DEFAULT_HUGE_BYTES,
    PictureRequest,
    PictureStore,
    StoredPicture,
    choose_seed,
    render_picture,
)

log = logging.getLogger(__name__)

CHAT_PATH = "/v1/fusion/chat-with-image"
CHAT_PATHS = (CHAT_PATH, "/v1/fusion-new/chat-with-image", "/fusion/v1/chat-with-image")
DEFAULT_MODELS = (DEFAULT_MODEL, "Artist V0.3.0 Beta", "Artist v0.3.5 Beta")
DEFAULT_BLOCKED_WORDS = ("blockedword", "敏感词")
RECORDED_REQUESTS = 1000
RECORDED_SENDS = 500_000


@dataclass(frozen=True)
class EmulatorConfig:
    """How the emulator behaves unless a request's directives say otherwise."""

    api_key: str | None = None  # None: accept any key, including none at all
    miaohua_token: str | None = None  # None: accept any mh_key
    envelope: Literal["new", "old"] = "new"
    framing: Literal["space", "nospace"] = "space"
    crlf: bool = False
    comments: bool = False
    send_done: bool = True
    event_delay: float = 0.0
    picture_delay: float = 0.0
    models: tuple[str, ...] = DEFAULT_MODELS
    blocked_words: tuple[str, ...] = DEFAULT_BLOCKED_WORDS
    record_sends: bool = False  # keep a `SentEvent` per streamed event in `EmulatorState.sent_events` (benchmarks)


@dataclass(frozen=True)
class ReceivedRequest:
    """What a client sent to a chat endpoint."""

    body: dict[str, Any]
    authorization: str | None
    path: str


@dataclass(frozen=True)
class SentEvent:
    """One streamed event as it left the emulator: its answer's id, its text piece, ``time.monotonic()`` after."""

    response_id: str
    delta: str
    at: float


@dataclass
class EmulatorState:
    """Mutable per-app state: recorded requests, scripted failure counters, pictures, sent events (opt-in)."""

    requests: deque[ReceivedRequest] = field(default_factory=lambda: deque(maxlen=RECORDED_REQUESTS))
    sent_events: deque[SentEvent] = field(default_factory=lambda: deque(maxlen=RECORDED_SENDS))
    failures_sent: dict[str, int] = field(default_factory=dict)
    pictures: PictureStore = field(default_factory=PictureStore)
    drawing_now: int = 0  # picture requests being drawn at this moment
    most_drawing_at_once: int = 0  # the most there ever were: what a client's concurrency limit let through


@dataclass(frozen=True)
class WireSettings:
    """The effective stream shape: configured defaults overridden by directives."""

    envelope: str
    framing: str
    eol: str
    comments: bool
    send_done: bool
    event_delay: float
    chunk: int | None

    @classmethod
    def resolve(cls, config: EmulatorConfig, directives: Directives) -> WireSettings:
        crlf = config.crlf if directives.crlf is None else directives.crlf
        return cls(
            envelope=directives.envelope or config.envelope,
            framing=directives.framing or config.framing,
            eol="\r\n" if crlf else "\n",
            comments=config.comments if directives.comments is None else directives.comments,
            send_done=config.send_done if directives.send_done is None else directives.send_done,
            event_delay=config.event_delay if directives.delay is None else directives.delay,
            chunk=directives.chunk,
        )


CONFIG_KEY = web.AppKey("emulator_config", EmulatorConfig)
STATE_KEY = web.AppKey("emulator_state", EmulatorState)


def create_app(config: EmulatorConfig | None = None) -> web.Application:
    """Build the emulator application (``None`` means the default configuration)."""
    app = web.Application(client_max_size=16 * 1024 * 1024)
    app[CONFIG_KEY] = config or EmulatorConfig()
    app[STATE_KEY] = EmulatorState()
    for path in CHAT_PATHS:
        app.router.add_post(path, handle_chat)
    setup_pictures(app, app[STATE_KEY].pictures)
    return app


def most_drawing_at_once(app: web.Application) -> int:
    """The most picture requests the app has been drawing at one moment (during their `picture-delay`)."""
    return app[STATE_KEY].most_drawing_at_once


def received_requests(app: web.Application) -> list[ReceivedRequest]:
    """The chat requests the app has received, oldest first (the last 1000)."""
    return list(app[STATE_KEY].requests)


# --- handlers ----------------------------------------------------------------------------


async def handle_chat(request: web.Request) -> web.StreamResponse:
    config, state = request.app[CONFIG_KEY], request.app[STATE_KEY]
    authorization = request.headers.get("Authorization")
    body = _decode_json(await request.read())
    if isinstance(body, dict):
        state.requests.append(ReceivedRequest(body, authorization, request.path))
    if config.api_key is not None and authorization != config.api_key:
        return error_response(401)
    if request.content_type != "application/json":
        return error_response(415)
    if not isinstance(body, dict):
        return error_response(400, "request body must be a JSON object")
    try:
        chat = validate_chat_request(body)
        prompt, directives = parse_directives(chat.messages[-1]["content"])
    except RequestError as error:
        log.info("rejected request on %s: %s", request.path, error)
        return error_response(400, str(error))
    log.info("chat request on %s: %d messages, stream=%s", request.path, len(chat.messages), chat.stream)
    return await _respond(request, chat, prompt, directives)


def _decode_json(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError):
        return None


async def _respond(request: web.Request, chat: ChatRequest, prompt: str, directives: Directives) -> web.StreamResponse:
    config, state = request.app[CONFIG_KEY], request.app[STATE_KEY]
    if directives.stall_start:
        await asyncio.sleep(directives.stall_start)
    failure_status = _scripted_failure(state, chat.messages[-1]["content"], directives)
    if failure_status is not None:
        return error_response(failure_status, retry_after=directives.retry_after)
    if config.miaohua_token is not None and chat.mh_key != config.miaohua_token:
        return web.json_response(answers.envelope_error_body(600), dumps=answers.dumps)
    if directives.code is not None:
        return web.json_response(answers.envelope_error_body(directives.code), dumps=answers.dumps)

    settings = WireSettings.resolve(config, directives)
    response_id = uuid.uuid4().hex
    streamed = chat.stream and not directives.plain
    if directives.data_status is not None:
        failed = answers.task_failed_body(response_id, settings.envelope, directives.data_status)
        if streamed:
            return await _write_stream(request, [failed], settings, directives)
        return await _write_plain(request, failed, directives)

    answer = await _compute_answer(request, chat, prompt, directives, response_id)
    if streamed:
        events = answers.stream_events(answer, response_id, settings.envelope)
    else:
        events = [answers.plain_body(answer, response_id, settings.envelope)]
    answers.script_usage(events, omit=directives.no_usage, tokens=directives.tokens)
    if streamed:
        return await _write_stream(request, events, settings, directives)
    return await _write_plain(request, events[0], directives)


def _scripted_failure(state: EmulatorState, message: str, directives: Directives) -> int | None:
    """The HTTP error status this request must get from ``status`` or ``fail``, if any."""
    if directives.status is not None:
        return directives.status
    if directives.fail is None:
        return None
    times, status = directives.fail
    sent = state.failures_sent.get(message, 0)
    if sent >= times:
        return None
    state.failures_sent[message] = sent + 1
    return status


def error_response(status: int, message: str | None = None, retry_after: str | None = None) -> web.Response:
    headers = {"Retry-After": retry_after} if retry_after else None
    body = answers.http_error_body(status, message)
    return web.json_response(body, status=status, headers=headers, dumps=answers.dumps)


# --- answers -----------------------------------------------------------------------------


async def _compute_answer(
    request: web.Request, chat: ChatRequest, prompt: str, directives: Directives, response_id: str
) -> answers.Answer:
    config = request.app[CONFIG_KEY]
    wants_picture = answers.wants_picture(prompt) and not directives.words and not directives.echo
    if directives.refuse is not None or wants_picture:
        content = _picture_refusal(config, chat, prompt, directives)
        if content is None:
            content = await _draw(request, chat, prompt, directives, response_id)
        return answers.picture_answer(content, chat.messages)
    settings = answers.ChatSettings(
        temperature=chat.temperature,
        top_p=chat.top_p,
        max_new_tokens=chat.max_new_tokens,
        length=directives.length,
        finish=directives.finish,
        sensitive=answers.contains_blocked_word(prompt, config.blocked_words),
        echo=without_directives(chat.messages[-1]["content"]) if directives.echo else None,
    )
    return answers.chat_answer(chat.messages, prompt, settings)


def _picture_refusal(config: EmulatorConfig, chat: ChatRequest, prompt: str, directives: Directives) -> str | None:
    """The in-band refusal text for a picture request, or ``None`` when it may be drawn."""
    if directives.refuse == "model" or (directives.refuse is None and chat.model not in config.models):
        return answers.model_refusal(chat.model)
    if directives.refuse == "moderation" or answers.contains_blocked_word(prompt, config.blocked_words):
        return answers.MODERATION_REFUSAL
    return None


async def _draw(request: web.Request, chat: ChatRequest, prompt: str, directives: Directives, picture_id: str) -> str:
    """Render the picture off the event loop, store it, and return its URL."""
    config, state = request.app[CONFIG_KEY], request.app[STATE_KEY]
    delay = config.picture_delay if directives.picture_delay is None else directives.picture_delay
    state.drawing_now += 1
    state.most_drawing_at_once = max(state.most_drawing_at_once, state.drawing_now)
    try:
        if delay:
            await asyncio.sleep(delay)
    finally:
        state.drawing_now -= 1
    picture = PictureRequest(
        prompt=prompt,
        width=chat.width,
        height=chat.height,
        seed=choose_seed(chat.seed),
        scale=chat.scale,
        model=chat.model,
    )
    kind = directives.picture_type or "png"
    stored = StoredPicture(
        data=await asyncio.to_thread(render_picture, picture, kind),
        kind=kind,
        fault=directives.picture_fault,
        redirects=directives.picture_redirects or 0,
        size=directives.picture_bytes or DEFAULT_HUGE_BYTES,
    )
    state.pictures.put(picture_id, stored)
    log.debug("drew picture %s (%dx%d, seed %d, %s)", picture_id, chat.width, chat.height, picture.seed, kind)
    return picture_url(request.host, picture_id, stored)


# --- writing -----------------------------------------------------------------------------


async def _write_plain(request: web.Request, body: dict[str, Any], directives: Directives) -> web.Response:
    if directives.drop is not None:
        _disconnect(request)
    return web.json_response(body, dumps=answers.dumps)


async def _write_stream(
    request: web.Request, events: list[dict[str, Any]], settings: WireSettings, directives: Directives
) -> web.StreamResponse:
    """Send ``events`` as data-only SSE, applying the scripted faults along the way."""
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"})
    writer = _SseWriter(response, settings)
    sent = request.app[STATE_KEY].sent_events if request.app[CONFIG_KEY].record_sends else None
    try:
        await response.prepare(request)
        for index, event in enumerate(events):
            if directives.drop is not None and index >= directives.drop:
                break
            if index:
                await writer.pause()
            await writer.frame(answers.dumps(event))
            if sent is not None:
                sent.append(_sent_event(event))
            if index == 0 and directives.stall:
                await asyncio.sleep(directives.stall)
        if directives.drop is not None:
            _disconnect(request)
        elif settings.send_done:
            await writer.pause()
            await writer.frame("[DONE]")
    except ConnectionError:
        log.debug("client went away during a stream on %s", request.path)
    return response


class _SseWriter:
    """Writes SSE frames and pauses, in ``chunk``-byte slices when asked."""

    def __init__(self, response: web.StreamResponse, settings: WireSettings) -> None:
        self._response = response
        self._settings = settings
        self._written = 0

    async def frame(self, data: str) -> None:
        await self._write(answers.sse_frame(data, self._settings.framing, self._settings.eol))

    async def pause(self) -> None:
        if self._settings.event_delay:
            await asyncio.sleep(self._settings.event_delay)
        if self._settings.comments:
            await self._write(answers.sse_comment(self._settings.eol))

    async def _write(self, data: bytes) -> None:
        chunk = self._settings.chunk
        if chunk is None:
            await self._response.write(data)
            return
        # Slices fall every `chunk` bytes of the whole body rather than of each frame, so
        # they cut frames (and multi-byte characters) at varying places. Separate writes
        # with a yield in between reach the client as separate reads.
        start = 0
        while start < len(data):
            end = start + chunk - self._written % chunk
            await self._response.write(data[start:end])
            self._written += len(data[start:end])
            start = end
            await asyncio.sleep(0)


def _sent_event(event: dict[str, Any]) -> SentEvent:
    data = event.get("data") or {}
    choices = data.get("choices") or [{}]
    return SentEvent(str(data.get("id", "")), str(choices[0].get("delta") or ""), time.monotonic())


def _disconnect(request: web.Request) -> None:
    """Close the connection: already written bytes are flushed, the rest never comes."""
    if request.transport is not None:
        request.transport.close()


def drawn_picture(app: web.Application, picture_id: str) -> bytes | None:
    """The bytes the emulator serves for picture `picture_id` (the stem of its URL), if it still holds them."""
    picture = app[STATE_KEY].pictures.get(picture_id)
    return None if picture is None else picture.data
