"""A lean load generator for benchmarks of many streams at once: the fusion emulator's streamed answers (its answers
and envelopes, `bot.emulator.answers`, in the same SSE frames), served by a bare asyncio protocol.

The emulator is an aiohttp application with a task and a timer per answer; at 300 answers at once it spent half a
core and fell a second behind. Here a request is parsed by hand, its answer is framed whole when it arrives, and one
timer per process writes every answer's due events (a heap by due time), each event a chunk of the chunked body as
the emulator writes it. Several processes can share the port (`SO_REUSEPORT`: the kernel spreads the connections),
each with its own control routes. Only what the streaming benchmarks ask is served: a streamed chat answer, with
`[emu:length=N]` and `[emu:delay=S]`; anything else gets a 400.

    python -m bench.harness.sse_server [--port P] [--tick S]   # one JSON line when ready, then until stdin closes
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import heapq
import json
import math
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import orjson
from aiohttp import web

from bench.harness.children import serve_control
from bench.harness.lag import LagMonitor
from bot.emulator import answers
from bot.emulator.directives import RequestError, parse_directives, validate_chat_request

ACCEPT_BACKLOG = 2048  # connections waiting to be accepted (asyncio's default is 100)
MAX_REQUEST = 4 * 1024 * 1024
HEADERS = (
    b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n"
    b"Transfer-Encoding: chunked\r\n\r\n"
)
END = b"0\r\n\r\n"


def chunk(data: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(data), data)


@dataclass
class Answer:
    """One streamed answer: its frames (each a chunk), the text each carries, the first's time and the delay."""

    protocol: SseProtocol
    response_id: str
    frames: list[bytes]
    deltas: list[str]
    delay: float
    started: float
    sent: int = 0

    def due(self, index: int) -> float:
        return self.started + index * self.delay


@dataclass
class Sends:
    """The events sent since the benchmark last cleared them: (monotonic time, text) per answer."""

    by_answer: dict[str, list[tuple[float, str]]] = field(default_factory=dict)
    cpu_since: float = field(default_factory=time.process_time)
    since: float = field(default_factory=time.monotonic)


class Ticker:
    """Writes every answer's events when they are due, one timer for all of them; with `tick`, the events of an
    answer due within one tick go in one write, at its end (fewer system calls, which dominate at 1,000 streams)."""

    def __init__(self, sends: Sends, tick: float = 0.0) -> None:
        self.sends = sends
        self.tick = tick
        self._due: list[tuple[float, int, Answer]] = []
        self._count = 0  # a tie-breaker: answers are not ordered
        self._wake = asyncio.Event()

    def add(self, answer: Answer) -> None:
        self._push(answer)
        self._wake.set()

    def _push(self, answer: Answer) -> None:
        self._count += 1
        due = answer.due(answer.sent)
        if self.tick:
            due = math.ceil(due / self.tick) * self.tick
        heapq.heappush(self._due, (due, self._count, answer))

    async def run(self) -> None:
        while True:
            now = time.monotonic()
            while self._due and self._due[0][0] <= now:
                _, _, answer = heapq.heappop(self._due)
                if self._write(answer, now):
                    self._push(answer)
            self._wake.clear()
            timeout = self._due[0][0] - time.monotonic() if self._due else None
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(timeout):
                    await self._wake.wait()

    def _write(self, answer: Answer, now: float) -> bool:
        """Send the answer's frames due by now; say whether more are left."""
        transport = answer.protocol.transport
        if transport is None or transport.is_closing():
            return False
        first = answer.sent
        while answer.sent < len(answer.frames) and (answer.sent == first or answer.due(answer.sent) <= now):
            answer.sent += 1
        transport.write(b"".join(answer.frames[first : answer.sent]))
        sent = self.sends.by_answer.setdefault(answer.response_id, [])
        sent += [(now, delta) for delta in answer.deltas[first : answer.sent]]
        if answer.sent < len(answer.frames):
            return True
        transport.write(END)
        answer.protocol.answered()
        return False


class SseProtocol(asyncio.Protocol):
    """One connection: requests one after another (keep-alive), each answered as a stream."""

    def __init__(self, ticker: Ticker) -> None:
        self.ticker = ticker
        self.transport: asyncio.Transport | None = None
        self._buffer = b""
        self._busy = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        if len(self._buffer) > MAX_REQUEST:
            self._refuse("request too large")
        elif not self._busy:
            self._next_request()

    def answered(self) -> None:
        self._busy = False
        self._next_request()

    def _next_request(self) -> None:
        head_end = self._buffer.find(b"\r\n\r\n")
        if head_end < 0:
            return
        head = self._buffer[:head_end].decode("latin-1").split("\r\n")
        length = next((int(line.split(":", 1)[1]) for line in head if line.lower().startswith("content-length:")), 0)
        end = head_end + 4 + length
        if len(self._buffer) < end:
            return
        body, self._buffer = self._buffer[head_end + 4 : end], self._buffer[end:]
        try:
            answer = self._answer(json.loads(body))
        except (ValueError, RequestError) as error:
            self._refuse(str(error))
            return
        self._busy = True
        assert self.transport is not None
        self.transport.write(HEADERS + answer.frames[0])
        answer.sent = 1
        self.ticker.sends.by_answer.setdefault(answer.response_id, []).append((time.monotonic(), answer.deltas[0]))
        self.ticker.add(answer)

    def _answer(self, body: dict[str, Any]) -> Answer:
        chat = validate_chat_request(body)
        prompt, directives = parse_directives(chat.messages[-1]["content"])
        if not chat.stream or directives.delay is None:
            raise RequestError("only streamed answers with [emu:delay=S] are served here")
        settings = answers.ChatSettings(chat.temperature, chat.top_p, chat.max_new_tokens, length=directives.length)
        answer = answers.chat_answer(chat.messages, prompt, settings)
        response_id = uuid.uuid4().hex
        events = answers.stream_events(answer, response_id, "new")
        frames = [chunk(b"data: %s\n\n" % orjson.dumps(event)) for event in events]  # as `answers.sse_frame`
        frames.append(chunk(b"data: [DONE]\n\n"))
        deltas = [*answer.pieces, ""]  # the final event carries no text
        return Answer(self, response_id, frames, deltas, directives.delay, time.monotonic())

    def _refuse(self, message: str) -> None:
        if self.transport is None:
            return
        text = json.dumps(answers.http_error_body(400, message)).encode()
        head = b"HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(text)
        self.transport.write(head + text)
        self.transport.close()


class Control:
    """The benchmark's routes, as the emulator's in `bench.harness.servers`: clear the sends, read them."""

    def __init__(self, sends: Sends, monitor: LagMonitor) -> None:
        self.sends = sends
        self.monitor = monitor

    def routes(self) -> list[web.RouteDef]:
        return [web.post("/bench/clear", self.clear), web.get("/bench/sends", self.read)]

    async def clear(self, request: web.Request) -> web.Response:
        self.sends.by_answer.clear()
        self.sends.cpu_since, self.sends.since = time.process_time(), time.monotonic()
        self.monitor.forget_before(self.sends.since)
        return web.json_response({})

    async def read(self, request: web.Request) -> web.Response:
        now = time.monotonic()
        until = float(request.query.get("until", now))
        body = {
            "sends": self.sends.by_answer,
            "cpu": time.process_time() - self.sends.cpu_since,
            "wall": now - self.sends.since,
            "lag": self.monitor.summary(self.sends.since, until),
        }
        return web.json_response(body)


async def serve(port: int, tick: float) -> None:
    sends, monitor = Sends(), LagMonitor()
    ticker = Ticker(sends, tick)
    loop = asyncio.get_running_loop()
    # 1,000 streams arrive within seconds: asyncio's default backlog of 100 drops connections past it, and their
    # clients retry only after TCP's 1, 3, 7 s... back-off, which the benchmark would count as the bot's delay.
    server = await loop.create_server(
        lambda: SseProtocol(ticker), "127.0.0.1", port, reuse_port=True, backlog=ACCEPT_BACKLOG
    )
    bound = server.sockets[0].getsockname()[1]
    ticking = asyncio.create_task(ticker.run())
    monitor.start()
    try:
        url = f"http://127.0.0.1:{bound}/v1/fusion/chat-with-image"
        await serve_control(Control(sends, monitor).routes(), {"emulator_url": url, "port": bound})
    finally:
        ticking.cancel()
        await monitor.stop()
        server.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, default=0, help="the port to share (0: a free one)")
    parser.add_argument("--tick", type=float, default=0.0, help="write an answer's events due within this together")
    try:
        import uvloop

        runner = uvloop.run
    except ImportError:  # pragma: no cover - Windows
        runner = asyncio.run
    with contextlib.suppress(KeyboardInterrupt):
        args = parser.parse_args()
        runner(serve(args.port, args.tick))


if __name__ == "__main__":
    main()
