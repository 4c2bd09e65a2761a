"""The servers of the streaming benchmarks (`bench/stream.py`), each in a process of its own: the fake Discord, and
the fusion emulator.

Kept apart from the bot so that the bot's process does nothing but run the bot (and the benchmark's driver): its CPU
time and memory are then the bot's own. The fake and the emulator are apart from each other too, so that the
emulator preparing hundreds of answers at once does not hold up the fake applying the bot's edits. Each prints one
JSON line (its URLs, and for the fake the token, channel ids and its rate limits) on stdout,
then serves on 127.0.0.1 until stdin closes or SIGTERM. Each measures its own event-loop lag, so the benchmark can
tell a slow bot from a slow harness. Control API:

    fake      POST /bench/start    {"prompts": [...], "channels": [...], "kind": "chat", "spread": S}: one /chat
                                   per prompt there, or ("kind": "conversation") a member's message mentioning
                                   the bot, evenly over S seconds -> {"run": id}
              GET  /bench/wait     ?run=ID&timeout=S: until every answer of the run is finished
              GET  /bench/results  ?run=ID: every reply message's versions (monotonic `at`, content), what the fake
                                   counted during the run, its CPU time and event-loop lag
    emulator  POST /bench/clear    forget the events sent so far; start counting CPU time and lag afresh
              GET  /bench/sends    the events sent since (monotonic `at`, text piece) per answer, CPU time, lag

    python -m bench.harness.servers fake --channels 400
    python -m bench.harness.servers emulator
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import subprocess
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from bench.harness.children import serve_control, start_child, stop_child
from bench.harness.lag import LagMonitor
from bot.emulator import EmulatorConfig, create_app, run_emulator
from bot.emulator.app import STATE_KEY
from tests.fake_discord import FakeDiscord, FakeMessage
from tests.fake_discord.state import FakeInteraction

POLL_SECONDS = 0.05
FINISHED_BUTTON = '"chat:regen:'  # the Regenerate button is put on the last part by the final render only


# --- the fake Discord ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Asked:
    """One question of a run: a /chat (`interaction`), or a member's message mentioning the bot (None)."""

    prompt: str
    channel_id: int
    dispatched_at: float
    interaction: FakeInteraction | None = None


@dataclass
class Run:
    asked: list[Asked]
    stats_before: dict[str, Any]
    cpu_before: float
    started: float
    cpu_after: float | None = None
    finished_at: float | None = None
    unfinished: set[int] = field(default_factory=set)


def reply_messages(fake: FakeDiscord, asked: Asked) -> list[FakeMessage]:
    """The messages the answer is shown in: the interaction's response and follow-ups, or (each channel being asked
    once) the bot's messages in the channel."""
    interaction = asked.interaction
    if interaction is None:
        return [message for message in fake.messages_in(asked.channel_id) if message.author_id == fake.bot_user_id]
    if interaction.original_message_id is None:
        return []
    ids = [interaction.original_message_id, *interaction.followup_ids]
    return [fake.state.messages[i] for i in ids if i in fake.state.messages]


def is_finished(fake: FakeDiscord, asked: Asked) -> bool:
    messages = reply_messages(fake, asked)
    return bool(messages) and FINISHED_BUTTON in json.dumps(messages[-1].components)


def stats_snapshot(fake: FakeDiscord) -> dict[str, Any]:
    stats = fake.stats
    return {
        "rate_limited": stats.rate_limited,
        "global_rate_limited": stats.global_rate_limited,
        "by_bucket": Counter(stats.rate_limited_by_bucket),
        "requests": Counter(stats.requests),
        "errors": len(stats.errors),
        "internal_errors": len(stats.internal_errors),
        "ack_violations": len(stats.ack_violations),
    }


def stats_delta(fake: FakeDiscord, before: dict[str, Any]) -> dict[str, Any]:
    now = stats_snapshot(fake)
    by_bucket = now["by_bucket"] - before["by_bucket"]
    return {
        "rate_limited": now["rate_limited"] - before["rate_limited"],
        "global_rate_limited": now["global_rate_limited"] - before["global_rate_limited"],
        "rate_limited_buckets": sorted({key.split(":")[0] for key in by_bucket}),
        "requests": dict(now["requests"] - before["requests"]),
        "client_errors": [
            [error.route, error.status, error.message]
            for error in fake.stats.errors[before["errors"] :]
            if 400 <= error.status < 500
        ],
        "internal_errors": now["internal_errors"] - before["internal_errors"],
        "ack_violations": now["ack_violations"] - before["ack_violations"],
    }


class FakeControl:
    def __init__(self, fake: FakeDiscord, monitor: LagMonitor) -> None:
        self.fake = fake
        self.monitor = monitor
        self.runs: dict[int, Run] = {}

    def routes(self) -> list[web.RouteDef]:
        return [
            web.post("/bench/start", self.start),
            web.get("/bench/wait", self.wait),
            web.get("/bench/results", self.results),
        ]

    async def start(self, request: web.Request) -> web.Response:
        body = await request.json()
        prompts, channels = body["prompts"], body["channels"]
        ask = self._ask_in_channel if body.get("kind") == "conversation" else self._ask_with_chat
        spread = float(body.get("spread", 0.0)) / max(1, len(prompts))
        before, cpu, started = stats_snapshot(self.fake), time.process_time(), time.monotonic()
        self.monitor.forget_before(started)

        async def ask_in_turn(index: int, prompt: str, channel: int) -> Asked:
            await asyncio.sleep(max(0.0, started + index * spread - time.monotonic()))
            return await ask(prompt, channel)

        pairs = enumerate(zip(prompts, channels, strict=True))
        asked = await asyncio.gather(*(ask_in_turn(index, prompt, channel) for index, (prompt, channel) in pairs))
        run_id = len(self.runs) + 1
        self.runs[run_id] = Run(list(asked), before, cpu, started, unfinished=set(range(len(asked))))
        return web.json_response({"run": run_id})

    async def _ask_with_chat(self, prompt: str, channel: int) -> Asked:
        handle = await self.fake.slash_command("chat", {"prompt": prompt}, channel_id=channel, timeout=30)
        return Asked(prompt, channel, handle.record.dispatched_at or time.monotonic(), handle.record)

    async def _ask_in_channel(self, prompt: str, channel: int) -> Asked:
        sent_at = time.monotonic()
        await self.fake.send_user_message(channel, self.fake.user_id, prompt, mentions=[self.fake.bot_user_id])
        return Asked(prompt, channel, sent_at)

    async def wait(self, request: web.Request) -> web.Response:
        run = self.runs[int(request.query["run"])]
        deadline = time.monotonic() + float(request.query.get("timeout", "120"))
        while run.unfinished and time.monotonic() < deadline:
            run.unfinished = {i for i in run.unfinished if not is_finished(self.fake, run.asked[i])}
            if run.unfinished:
                await asyncio.sleep(POLL_SECONDS)
        if run.cpu_after is None:
            run.cpu_after, run.finished_at = time.process_time(), time.monotonic()
        return web.json_response({"done": not run.unfinished, "unfinished": len(run.unfinished)})

    async def results(self, request: web.Request) -> web.Response:
        run = self.runs[int(request.query["run"])]
        answers = []
        for asked in run.asked:
            messages = [
                {"id": message.id, "versions": [(version.at, version.content) for version in message.versions]}
                for message in reply_messages(self.fake, asked)
            ]
            interaction = asked.interaction
            answers.append(
                {
                    "prompt": asked.prompt,
                    "token": interaction.token if interaction is not None else None,
                    "channel_id": asked.channel_id,
                    "dispatched_at": asked.dispatched_at,
                    "messages": messages,
                }
            )
        cpu_after = run.cpu_after if run.cpu_after is not None else time.process_time()
        finished_at = run.finished_at if run.finished_at is not None else time.monotonic()
        body = {
            "answers": answers,
            "stats": stats_delta(self.fake, run.stats_before),
            "cpu": cpu_after - run.cpu_before,
            "wall": finished_at - run.started,
            "lag": self.monitor.summary(run.started, finished_at),
        }
        return web.json_response(body)


async def serve_fake(channel_count: int) -> None:
    monitor = LagMonitor()
    async with FakeDiscord() as fake:
        channels = [fake.add_channel(f"bench-{i}") for i in range(channel_count)]
        control = FakeControl(fake, monitor)
        ready = {
            "token": fake.token,
            "api_base": fake.api_base,
            "gateway_url": fake.gateway_url,
            "channels": channels,
            "rate_limits": {kind: [rule.limit, rule.per] for kind, rule in fake.config.rate_limits.items()},
        }
        monitor.start()
        try:
            await serve_control(control.routes(), ready)
        finally:
            await monitor.stop()


# --- the emulator ----------------------------------------------------------------------------------------------------


class EmulatorControl:
    def __init__(self, emulator: web.Application, monitor: LagMonitor) -> None:
        self.emulator = emulator
        self.monitor = monitor
        self.cpu_before = time.process_time()
        self.started = time.monotonic()

    def routes(self) -> list[web.RouteDef]:
        return [web.post("/bench/clear", self.clear), web.get("/bench/sends", self.sends)]

    async def clear(self, request: web.Request) -> web.Response:
        self.emulator[STATE_KEY].sent_events.clear()
        self.cpu_before, self.started = time.process_time(), time.monotonic()
        self.monitor.forget_before(self.started)
        return web.json_response({})

    async def sends(self, request: web.Request) -> web.Response:
        cpu, now = time.process_time() - self.cpu_before, time.monotonic()
        until = float(request.query.get("until", now))
        sends: dict[str, list[tuple[float, str]]] = {}
        for event in self.emulator[STATE_KEY].sent_events:
            sends.setdefault(event.response_id, []).append((event.at, event.delta))
        body = {
            "sends": sends,
            "cpu": cpu,
            "wall": now - self.started,
            "lag": self.monitor.summary(self.started, until),
        }
        return web.json_response(body)


async def serve_emulator() -> None:
    monitor = LagMonitor()
    emulator = create_app(EmulatorConfig(record_sends=True))
    async with run_emulator(app=emulator) as url:
        monitor.start()
        try:
            await serve_control(EmulatorControl(emulator, monitor).routes(), {"emulator_url": url})
        finally:
            await monitor.stop()


# --- the benchmark's side ------------------------------------------------------------------------------------------


@contextlib.contextmanager
def running_servers(
    channels: int, generators: int = 0, tick: float = 0.0
) -> Iterator[tuple[dict[str, Any], dict[str, int]]]:
    """The fake Discord (with `channels` text channels) and the emulator, each in a child process, or, with
    `generators`, that many lean load generators sharing one port (`bench.harness.sse_server`) in the emulator's
    place (writing an answer's events due within `tick` together): what each said when ready (the emulator's
    `control_urls`: every generator's), and their process ids; all stopped on leaving."""
    children: list[subprocess.Popen[str]] = []
    try:
        fake, fake_ready = start_child("bench.harness.servers", "fake", "--channels", str(channels))
        children.append(fake)
        if generators:
            generator, emulator_ready = start_child("bench.harness.sse_server", "--tick", str(tick))
            children.append(generator)
            port = str(emulator_ready["port"])
            others = [
                start_child("bench.harness.sse_server", "--port", port, "--tick", str(tick))
                for _ in range(generators - 1)
            ]
            children += [child for child, _ in others]
            urls = [emulator_ready["control_url"], *(ready["control_url"] for _, ready in others)]
        else:
            emulator, emulator_ready = start_child("bench.harness.servers", "emulator")
            children.append(emulator)
            urls = [emulator_ready["control_url"]]
        pids = {"fake": fake.pid, "emulator": children[1].pid}
        yield {"fake": fake_ready, "emulator": emulator_ready | {"control_urls": urls}}, pids
    finally:
        for child in reversed(children):
            stop_child(child)


# --- main ------------------------------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("role", choices=("fake", "emulator"))
    parser.add_argument("--channels", type=int, default=400, help="fake: text channels to make before the bot joins")
    args = parser.parse_args()
    serve: Callable[[], Awaitable[None]] = (
        (lambda: serve_fake(args.channels)) if args.role == "fake" else serve_emulator
    )
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve())


if __name__ == "__main__":
    main()
