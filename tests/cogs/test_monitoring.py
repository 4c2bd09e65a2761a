"""METRICS_PORT's endpoint end to end: the bot against the fake Discord and the emulator, scraped over HTTP.

`/metrics` moves by exactly what happened (a `/chat` done, one failed with its kind, a `/draw`), `/healthz` fails
while the event loop is blocked past its bound, `/readyz` follows the gateway.
"""

from __future__ import annotations

import asyncio
import re
import threading
import time
import urllib.error
import urllib.request
from collections import Counter

import aiohttp
from prometheus_client.parser import text_string_to_metric_families

from bot import __version__
from bot.app.client import FusionBot
from bot.config import Settings, load_settings
from tests.cogs.conftest import StartBot
from tests.cogs.test_chat import ask
from tests.cogs.test_draw import draw
from tests.fake_discord import FakeDiscord, discord_py_pointed_at

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def url(bot: FusionBot, path: str) -> str:
    assert bot.health is not None, "METRICS_PORT is set"
    return f"http://127.0.0.1:{bot.health.port}{path}"


async def scrape(bot: FusionBot) -> Samples:
    """Every sample of `/metrics`, parsed as Prometheus parses the text format."""
    async with aiohttp.ClientSession() as session, session.get(url(bot, "/metrics")) as response:
        assert response.status == 200 and response.content_type == "text/plain"
        text = await response.text()
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def moved(before: Samples, after: Samples, name: str, **labels: str) -> float:
    return value(after, name, **labels) - value(before, name, **labels)


def total(samples: Samples, name: str) -> float:
    return sum(found for (sample, _), found in samples.items() if sample == name)


def by_route(samples: Samples) -> Counter[str]:
    routes: Counter[str] = Counter()
    for (name, labels), found in samples.items():
        if name == "fusionbot_discord_requests_total":
            routes[dict(labels)["route"]] += int(found)
    return routes


def fake_routes(fake: FakeDiscord) -> Counter[str]:
    """The fake's count of requests by route, its parameter names made `{id}` as the bot's templates have them."""
    return Counter({re.sub(r"\{\w*id\}", "{id}", route): count for route, count in fake.stats.requests.items()})


async def get(bot: FusionBot, path: str) -> tuple[int, dict[str, object]]:
    async with aiohttp.ClientSession() as session, session.get(url(bot, path)) as response:
        return response.status, await response.json()


async def test_metrics_move_by_exactly_what_happened(fake: FakeDiscord, start_bot: StartBot) -> None:
    async with start_bot(metrics_port=0) as bot:
        before, fake_before = await scrape(bot), fake_routes(fake)
        done = await ask(fake, "hello there [emu:delay=0.01]")
        failed = await ask(fake, "hello again [emu:status=401]")
        picture = await draw(fake, {"prompt": "a lighthouse"})
        await bot.chat.settled()
        await bot.draws.settled()
        after = await scrape(bot)

    assert picture.attachments, "the picture was delivered"
    assert moved(before, after, "fusionbot_answers_total", outcome="done", error="none") == 1
    assert moved(before, after, "fusionbot_answers_total", outcome="failed", error="bad_key") == 1
    assert total(after, "fusionbot_answers_total") - total(before, "fusionbot_answers_total") == 2
    assert moved(before, after, "fusionbot_answer_first_text_seconds_count") == 1, "only the answer done"
    assert moved(before, after, "fusionbot_answer_final_text_seconds_count") == 1
    assert moved(before, after, "fusionbot_answer_chunks_total") >= 1
    shown = sum(len(message.versions) - 1 for message in [*done, *failed])  # all but the deferred placeholder
    edits = sum(moved(before, after, "fusionbot_answer_edits_total", phase=phase) for phase in ("live", "final"))
    assert edits == shown
    assert moved(before, after, "fusionbot_fusion_requests_total", purpose="answer", outcome="ok") == 1
    assert moved(before, after, "fusionbot_fusion_requests_total", purpose="answer", outcome="bad_key") == 1
    assert moved(before, after, "fusionbot_fusion_requests_total", purpose="picture", outcome="ok") == 1
    assert moved(before, after, "fusionbot_fusion_request_seconds_count", purpose="answer") == 2
    assert moved(before, after, "fusionbot_pictures_total", outcome="done") == 1
    assert moved(before, after, "fusionbot_picture_queue_wait_seconds_count") == 1
    assert moved(before, after, "fusionbot_picture_draw_seconds_count") == 1
    assert value(after, "fusionbot_pictures_waiting") == value(after, "fusionbot_pictures_drawing") == 0
    assert moved(before, after, "fusionbot_store_operation_seconds_count", operation="start_exchange") == 2
    assert by_route(after) - by_route(before) == fake_routes(fake) - fake_before, "every request, by its route"
    assert moved(before, after, "fusionbot_discord_rate_limited_total") == 0 == fake.stats.rate_limited
    assert value(after, "fusionbot_gateway_connected", shard="0") == 1
    assert value(after, "fusionbot_build_info", version=__version__) == 1
    assert value(after, "process_start_time_seconds") > 0


async def test_metrics_off_serve_nothing_and_record_nothing(fake: FakeDiscord, start_bot: StartBot) -> None:
    async with start_bot() as bot:
        await ask(fake, "hello there")
        await bot.chat.settled()
    assert bot.health is None and not bot.metrics.enabled


def healthz_status(address: str) -> int:
    """/healthz's status, asked from outside the event loop (the bot's loop may be blocked)."""
    try:
        with urllib.request.urlopen(address, timeout=30) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


async def test_healthz_fails_when_the_event_loop_is_blocked_past_its_bound(
    fake: FakeDiscord, start_bot: StartBot
) -> None:
    async with start_bot(metrics_port=0, health_max_lag_seconds=1.0) as bot:
        assert bot.health is not None
        assert await get(bot, "/healthz") == (200, {"healthy": True})
        noticed = threading.Event()

        def ask_while_blocked() -> int:
            # The watchdog's thread sees the stall while the loop cannot answer anything...
            deadline = time.monotonic() + 30
            while bot.health is not None and bot.health.healthy() and time.monotonic() < deadline:
                time.sleep(0.05)
            noticed.set()
            return healthz_status(url(bot, "/healthz"))  # ...and the request is answered once the loop is back

        asyncio.get_running_loop().call_soon(time.sleep, 3.0)  # blocks the event loop, as a CPU-bound bug would
        status = await asyncio.to_thread(ask_while_blocked)

        assert noticed.is_set() and status == 503
        await until_status(bot, "/healthz", 200)  # healthy again once the loop has answered in time for a while
        assert (await scrape(bot)).get(("fusionbot_event_loop_lag_seconds_count", frozenset()), 0) > 0


async def until_status(bot: FusionBot, path: str, status: int, *, timeout: float = 20.0) -> dict[str, object]:  # noqa: ASYNC109
    """Ask `path` until it answers `status` (what changes here is the time since a stall, or the gateway)."""
    async with asyncio.timeout(timeout):
        while True:
            found, body = await get(bot, path)
            if found == status:
                return body
            await asyncio.sleep(0.05)


async def test_readyz_follows_the_gateway(fake: FakeDiscord, start_bot: StartBot) -> None:
    async with start_bot(metrics_port=0) as bot:
        assert await get(bot, "/readyz") == (200, {"ready": True, "missing": []})
        async with fake.gateway_held():
            await fake.close_gateway(4000)
            assert await until_status(bot, "/readyz", 503) == {"ready": False, "missing": ["gateway shard 0"]}
            assert value(await scrape(bot), "fusionbot_gateway_connected", shard="0") == 0
        await fake.wait_until(lambda: fake.stats.resumes == 1)
        assert await until_status(bot, "/readyz", 200) == {"ready": True, "missing": []}


async def test_readyz_waits_for_the_gateway(fake: FakeDiscord, settings: Settings) -> None:
    bot = FusionBot(load_settings(**(settings.model_dump() | {"metrics_port": 0})), guild_ready_timeout=0.05)
    with discord_py_pointed_at(fake):
        await bot.login(fake.token)  # runs setup_hook, which starts the endpoint: the gateway is not there yet
        connecting: asyncio.Task[None] | None = None
        try:
            assert await get(bot, "/readyz") == (503, {"ready": False, "missing": ["gateway shard 0"]})
            assert (await get(bot, "/healthz"))[0] == 200, "alive all the same"
            connecting = asyncio.create_task(bot.connect())
            await bot.wait_until_ready()
            assert await until_status(bot, "/readyz", 200) == {"ready": True, "missing": []}
        finally:
            await bot.close()
            if connecting is not None:
                await asyncio.wait([connecting])
