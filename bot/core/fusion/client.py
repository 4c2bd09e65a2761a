"""The fusion API client: one aiohttp session, bounded waits, safe retries, typed results.

It knows nothing of Discord. `complete` returns the finished answer or raises a `FusionError`; `stream` yields
`TextPiece`s as they arrive and ends with exactly one `FinalResult` or `StreamFailed`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping
from contextlib import aclosing
from dataclasses import dataclass
from typing import Any

import aiohttp
from pydantic import SecretStr

from bot.core.fusion.envelope import AnswerAssembler, StreamingAnswer, error_in_body
from bot.core.fusion.errors import (
    FusionError,
    FusionTimeoutError,
    RateLimitedError,
    ServiceUnreachableError,
    StreamInterruptedError,
    UpstreamError,
)
from bot.core.fusion.models import ChatRequest, FinalResult, Message, StreamEvent, StreamFailed, TextPiece
from bot.core.metrics import NO_METRICS, Metrics, error_kind

log = logging.getLogger(__name__)

MAX_PLAIN_BODY = 4 * 1024 * 1024
# How often a stream is read while its reader wants no text (`wants_text` clear): how late its end can be noticed.
UNWANTED_TEXT_READ_INTERVAL = 0.5


@dataclass(frozen=True, slots=True)
class Timeouts:
    """Seconds allowed for each phase of a call. `first_byte` runs from sending the request."""

    connect: float = 10.0
    first_byte: float = 60.0
    stream_idle: float = 60.0
    answer_total: float = 300.0
    picture_total: float = 180.0


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """At most `attempts` tries; waits double from `backoff` and never exceed `max_delay`."""

    attempts: int = 3
    backoff: float = 1.0
    max_delay: float = 20.0

    def delay(self, error: FusionError, attempt: int) -> float | None:
        """Seconds to wait before the next try, or None when waiting is pointless."""
        if isinstance(error, RateLimitedError) and error.retry_after is not None:
            return error.retry_after if error.retry_after <= self.max_delay else None
        return min(self.max_delay, self.backoff * 2 ** (attempt - 1) * random.uniform(0.75, 1.0))


def is_safe_to_retry(error: FusionError) -> bool:
    """Rate limits, 409/5xx and lost connections: the request had no effect a retry could repeat."""
    if isinstance(error, RateLimitedError | StreamInterruptedError | ServiceUnreachableError):
        return True
    status = error.status
    return isinstance(error, UpstreamError) and status is not None and (status == 409 or 500 <= status <= 599)


class FusionClient:
    """Calls the fusion API. Share one instance (and its session) across the application."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        *,
        url: str,
        api_key: SecretStr,
        defaults: Mapping[str, Any] | None = None,
        timeouts: Timeouts = Timeouts(),
        retry: RetryPolicy = RetryPolicy(),
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        metrics: Metrics = NO_METRICS,
    ) -> None:
        self._session = session
        self._url = url
        self._api_key = api_key
        self._defaults = dict(defaults or {})
        self._timeouts = timeouts
        self._retry = retry
        self._sleep = sleep
        self._metrics = metrics

    def new_request(self, messages: list[Message], *, user_id: str, **overrides: Any) -> ChatRequest:
        """A validated request with the configured defaults; `overrides` win (None means 'use the default')."""
        fields = self._defaults | {key: value for key, value in overrides.items() if value is not None}
        return ChatRequest(messages=messages, user_id=user_id, **fields)

    async def complete(self, request: ChatRequest, *, picture: bool = False) -> FinalResult:
        """The whole answer at once. Raises `FusionError`. `picture` applies the picture time limit."""
        async for event in self._attempts(request.model_copy(update={"stream": False}), picture, None):
            if isinstance(event, FinalResult):
                return event
        raise UpstreamError("the answer ended without a result")  # _attempts always ends with a result

    async def stream(
        self, request: ChatRequest, *, picture: bool = False, wants_text: asyncio.Event | None = None
    ) -> AsyncIterator[StreamEvent]:
        """Text pieces as they arrive, then one `FinalResult` or `StreamFailed`. Close it to cancel the call.

        `wants_text`, when given, is set while the caller can use more text (back-pressure). While it is clear the
        connection is read only every `UNWANTED_TEXT_READ_INTERVAL` seconds (or as soon as it is set), so the events
        sent meanwhile wait in the socket and arrive together, as one piece: one read instead of one per event, for
        a reply that can only be edited a few times a second anyway. Each read has the time limits of the call; the
        silence limit does not count the time left unread.
        """
        received: list[str] = []
        try:
            async for event in self._attempts(request.model_copy(update={"stream": True}), picture, wants_text):
                if isinstance(event, TextPiece):
                    received.append(event.text)
                yield event
        except FusionError as error:
            log.warning("fusion stream failed: %s", error)
            yield StreamFailed(error, "".join(received))

    async def _attempts(
        self, request: ChatRequest, picture: bool, wants_text: asyncio.Event | None
    ) -> AsyncIterator[TextPiece | FinalResult]:
        """Run the call, retrying while nothing has been received and the failure is safe to retry."""
        for attempt in range(1, self._retry.attempts + 1):
            assembler = AnswerAssembler(model=request.mh_model_name)
            try:
                async for piece in self._one_call(request, assembler, picture, wants_text):
                    yield piece
                yield assembler.result()
                return
            except FusionError as error:
                delay = self._retry.delay(error, attempt)
                if assembler.text or not is_safe_to_retry(error) or attempt == self._retry.attempts or delay is None:
                    raise
                log.warning(
                    "fusion call failed (%s); try %d of %d in %.1f s", error, attempt + 1, self._retry.attempts, delay
                )
                await self._sleep(delay)

    async def _one_call(
        self, request: ChatRequest, assembler: AnswerAssembler, picture: bool, wants_text: asyncio.Event | None
    ) -> AsyncIterator[TextPiece]:
        """One request, recorded in the metrics with its outcome (ok, the error's kind, or cancelled)."""
        clock = _Deadlines(self._timeouts, picture)
        call = _CallRecord(self._metrics, "picture" if picture else "answer")
        try:
            response = await self._post(request, clock)
            call.responded()
            plain = response.status >= 400 or not _is_event_stream(response)  # one JSON body, read whole
            async with response, aclosing(_read_chunks(response, clock, None if plain else wants_text)) as chunks:
                if plain:
                    if text := assembler.accept(await _plain_body(response, chunks)):
                        yield TextPiece(text)
                    return
                stream = StreamingAnswer(assembler)
                async for chunk in chunks:
                    if text := stream.feed(chunk):
                        yield TextPiece(text)
                    if assembler.finished:
                        return  # the service may never send [DONE]; the answer is complete without it
                if text := stream.close():
                    yield TextPiece(text)
        except FusionError as error:
            call.outcome = error_kind(error)
            raise
        except BaseException:  # cancelled (Stop, shutdown), or the reader closed the stream early
            call.outcome = "cancelled"
            raise
        finally:
            call.ended()

    async def _post(self, request: ChatRequest, clock: _Deadlines) -> aiohttp.ClientResponse:
        try:
            async with clock.first_byte():
                return await self._session.post(
                    self._url,
                    data=json.dumps(request.to_payload(), ensure_ascii=False).encode(),
                    headers=self._headers(request.stream),
                    timeout=aiohttp.ClientTimeout(sock_connect=self._timeouts.connect),
                )
        except aiohttp.ServerTimeoutError as exc:
            raise FusionTimeoutError("connect", self._timeouts.connect) from exc
        except aiohttp.ClientError as exc:
            raise ServiceUnreachableError(f"{type(exc).__name__}: {exc}") from exc

    def _headers(self, stream: bool) -> dict[str, str]:
        return {
            "Authorization": self._api_key.get_secret_value(),
            "Content-Type": "application/json",
            "Accept": "text/event-stream" if stream else "application/json",
        }


class _CallRecord:
    """The metrics of one request: its purpose, when it was sent and answered, and how it ended."""

    def __init__(self, metrics: Metrics, purpose: str) -> None:
        self._metrics, self._purpose, self._loop = metrics, purpose, asyncio.get_running_loop()
        self._sent_at = self._loop.time()
        self._responded_at: float | None = None
        self.outcome = "ok"

    def responded(self) -> None:
        self._responded_at = self._loop.time()

    def ended(self) -> None:
        response = None if self._responded_at is None else self._responded_at - self._sent_at
        self._metrics.fusion_request_ended(self._purpose, self.outcome, response, self._loop.time() - self._sent_at)


class _Deadlines:
    """The time limits of one call: first byte from the start, then silence between reads, all within a total."""

    def __init__(self, timeouts: Timeouts, picture: bool) -> None:
        loop = asyncio.get_running_loop()
        self._loop = loop
        self._timeouts = timeouts
        self._total = timeouts.picture_total if picture else timeouts.answer_total
        self._total_at = loop.time() + self._total
        self._first_byte_at = loop.time() + timeouts.first_byte

    def first_byte(self) -> _PhaseTimeout:
        return self._phase("first byte", self._timeouts.first_byte, self._first_byte_at)

    def until(self, seconds: float) -> float:
        """The time `seconds` from now, or the end of the total time allowed if that comes first."""
        return min(self._loop.time() + seconds, self._total_at)

    def next_deadline(self, last_read_at: float | None) -> tuple[str, float, float]:
        """The limit that runs out next while reading: (phase, its length, when), given the last read's time."""
        if last_read_at is None:
            phase, seconds, when = "first byte", self._timeouts.first_byte, self._first_byte_at
        else:
            phase, seconds = "silence in the stream", self._timeouts.stream_idle
            when = last_read_at + seconds
        if self._total_at < when:
            return "total", self._total, self._total_at
        return phase, seconds, when

    def _phase(self, name: str, seconds: float, when: float) -> _PhaseTimeout:
        if self._total_at < when:
            return _PhaseTimeout("total", self._total, self._total_at)
        return _PhaseTimeout(name, seconds, when)


class _PhaseTimeout:
    """`asyncio.timeout_at` that reports which limit ran out as a `FusionTimeoutError`."""

    def __init__(self, phase: str, seconds: float, when: float) -> None:
        self._phase = phase
        self._seconds = seconds
        self._timeout = asyncio.timeout_at(when)

    async def __aenter__(self) -> None:
        await self._timeout.__aenter__()

    async def __aexit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> None:
        try:
            await self._timeout.__aexit__(exc_type, exc, tb)
        except TimeoutError as timeout:
            raise FusionTimeoutError(self._phase, self._seconds) from timeout


class _ReadWatchdog:
    """Enforces the read limits with one timer per silence rather than one per read.

    A stream delivers an event every few tens of milliseconds; arming a fresh timeout around each read cost more
    CPU than parsing the event. The timer is armed for the current deadline; when it fires, it moves on to the next
    deadline if data came meanwhile, and otherwise fails the pending read with `FusionTimeoutError`. While the
    connection is left unread because the reader wants no text (`text_unwanted`), the service's silence is not
    counted.
    """

    def __init__(self, clock: _Deadlines, content: aiohttp.StreamReader) -> None:
        self._clock = clock
        self._content = content
        self._loop = asyncio.get_running_loop()
        self._last_read_at: float | None = None
        self._text_unwanted = False  # the connection is being left unread, as its reader wants no text
        self._timer = self._arm()

    def saw_data(self) -> None:
        first = self._last_read_at is None
        self._last_read_at = self._loop.time()
        if first:  # from the first-byte limit to the (maybe shorter) silence limit
            self._timer.cancel()
            self._timer = self._arm()

    @contextlib.contextmanager
    def text_unwanted(self) -> Iterator[None]:
        """While the connection is left unread, as the reader wants no text, the service's silence does not count;
        it restarts when reading does."""
        self._text_unwanted = True
        try:
            yield
        finally:
            self._text_unwanted = False
            if self._last_read_at is not None:
                self._last_read_at = self._loop.time()

    def stop(self) -> None:
        self._timer.cancel()

    def _arm(self) -> asyncio.TimerHandle:
        _, _, when = self._clock.next_deadline(self._last_read_at)
        return self._loop.call_at(when, self._check)

    def _check(self) -> None:
        # While the reader wants no text, the silence so far is not counted: it is as if data had come just now.
        counted_since = self._loop.time() if self._text_unwanted else self._last_read_at
        phase, seconds, when = self._clock.next_deadline(counted_since)
        if when > self._loop.time():
            self._timer = self._loop.call_at(when, self._check)
        else:
            self._content.set_exception(FusionTimeoutError(phase, seconds))


async def _read_chunks(
    response: aiohttp.ClientResponse, clock: _Deadlines, wants_text: asyncio.Event | None
) -> AsyncIterator[bytes]:
    """The body as the network delivers it, each wait bounded by the current phase's limit; with `wants_text`, read
    only while it is set, or every `UNWANTED_TEXT_READ_INTERVAL` seconds."""
    watchdog = _ReadWatchdog(clock, response.content)
    try:
        while True:
            if wants_text is not None and not wants_text.is_set():
                with watchdog.text_unwanted(), _socket_unread(response):
                    await _until_set(wants_text, clock.until(UNWANTED_TEXT_READ_INTERVAL))
            try:
                chunk = await response.content.readany()
            except aiohttp.ClientError as exc:
                raise StreamInterruptedError(f"{type(exc).__name__}: {exc}") from exc
            if not chunk:
                return
            watchdog.saw_data()
            yield chunk
    finally:
        watchdog.stop()


async def _until_set(event: asyncio.Event, deadline: float) -> None:
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout_at(deadline):
            await event.wait()


@contextlib.contextmanager
def _socket_unread(response: aiohttp.ClientResponse) -> Iterator[None]:
    """Stop reading the response's socket for a while: what the service sends meanwhile waits in the kernel."""
    connection = response.connection  # None once the whole body has arrived: nothing left to hold back
    transport = connection.transport if connection is not None else None
    if transport is None or not transport.is_reading():  # or paused already, by aiohttp's own flow control
        yield
        return
    transport.pause_reading()
    try:
        yield
    finally:
        transport.resume_reading()


async def _plain_body(response: aiohttp.ClientResponse, chunks: AsyncIterator[bytes]) -> Any:
    """A JSON answer (an error, or a plain answer where a stream was asked), size-capped; raises its error."""
    body = bytearray()
    async for chunk in chunks:
        body += chunk
        if len(body) > MAX_PLAIN_BODY:
            raise UpstreamError(f"answer larger than {MAX_PLAIN_BODY} bytes", status=response.status)
    try:
        parsed = json.loads(body)
    except ValueError:
        parsed = None
    if response.status >= 400:
        raise error_in_body(parsed, response.status, response.headers.get("Retry-After"))
    if parsed is None:
        raise UpstreamError(f"answer is not JSON: {bytes(body[:200])!r}", status=response.status)
    return parsed


def _is_event_stream(response: aiohttp.ClientResponse) -> bool:
    return response.content_type == "text/event-stream"
