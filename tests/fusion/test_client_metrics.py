"""Each try of a fusion API call is counted by purpose and outcome, with its latency, against the emulator."""

from __future__ import annotations

import aiohttp
from pydantic import SecretStr

from bot.core.fusion import FinalResult, FusionClient, RetryPolicy, StreamFailed
from bot.core.metrics import Metrics
from tests.emulator_server import EmulatorServer
from tests.fusion.test_client import FAST, Sleeps, collect


def measured_client(session: aiohttp.ClientSession, url: str, metrics: Metrics) -> FusionClient:
    return FusionClient(
        session,
        url=url,
        api_key=SecretStr("test-key"),
        timeouts=FAST,
        retry=RetryPolicy(attempts=3, backoff=0.01),
        sleep=Sleeps(),
        metrics=metrics,
    )


def requests(metrics: Metrics, purpose: str, outcome: str) -> float | None:
    return metrics.registry.get_sample_value(
        "fusionbot_fusion_requests_total", {"purpose": purpose, "outcome": outcome}
    )


async def test_each_try_is_counted_with_its_outcome_and_latency(
    session: aiohttp.ClientSession, emulator: EmulatorServer
) -> None:
    metrics = Metrics()
    client = measured_client(session, emulator.url, metrics)

    _, ok = await collect(client, "hello")
    _, failed = await collect(client, "hello [emu:status=503]")
    _, picture = await collect(client, "draw a cat", picture=True)

    assert isinstance(ok, FinalResult) and isinstance(failed, StreamFailed) and isinstance(picture, FinalResult)
    assert requests(metrics, "answer", "ok") == 1.0
    assert requests(metrics, "answer", "upstream") == 3.0, "every try is a request"
    assert requests(metrics, "picture", "ok") == 1.0
    sample = metrics.registry.get_sample_value
    assert sample("fusionbot_fusion_request_seconds_count", {"purpose": "answer"}) == 4.0
    assert sample("fusionbot_fusion_response_seconds_count", {"purpose": "answer"}) == 4.0
    assert sample("fusionbot_fusion_request_seconds_count", {"purpose": "picture"}) == 1.0


async def test_a_service_that_cannot_be_reached_has_no_response_time(
    session: aiohttp.ClientSession, unused_tcp_port: int
) -> None:
    metrics = Metrics()
    client = measured_client(session, f"http://127.0.0.1:{unused_tcp_port}/v1", metrics)

    _, failed = await collect(client, "hello")

    assert isinstance(failed, StreamFailed)
    assert requests(metrics, "answer", "service_unreachable") == 3.0
    assert metrics.registry.get_sample_value("fusionbot_fusion_response_seconds_count", {"purpose": "answer"}) is None
