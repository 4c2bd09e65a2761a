"""The metrics' definitions: bounded labels, each bot's own registry, and nothing recorded when they are off."""

from __future__ import annotations

import pytest
from prometheus_client import generate_latest

from bot import __version__
from bot.core.fusion import (
    BadKeyError,
    FusionError,
    FusionTimeoutError,
    RateLimitedError,
    ServiceUnreachableError,
    StreamInterruptedError,
)
from bot.core.metrics import NO_METRICS, Metrics, error_kind


@pytest.mark.parametrize(
    ("error", "kind"),
    [
        (BadKeyError(), "bad_key"),
        (RateLimitedError(), "rate_limited"),
        (StreamInterruptedError(), "stream_interrupted"),
        (ServiceUnreachableError(), "service_unreachable"),
        (FusionTimeoutError("total", 1), "timeout"),
        (FusionError(), "fusion_error"),
        (ValueError(), "value"),
    ],
)
def test_an_error_is_labelled_by_its_class(error: BaseException, kind: str) -> None:
    assert error_kind(error) == kind


def test_each_bot_counts_in_a_registry_of_its_own() -> None:
    one, other = Metrics(), Metrics()
    one.answer_ended("done", None, chunks=3, first_text=0.5, final_text=2.0)
    one.answer_ended("failed", "rate_limited", chunks=0, first_text=None, final_text=None)

    def answers(metrics: Metrics, outcome: str, error: str) -> float | None:
        return metrics.registry.get_sample_value("fusionbot_answers_total", {"outcome": outcome, "error": error})

    assert (answers(one, "done", "none"), answers(one, "failed", "rate_limited")) == (1.0, 1.0)
    assert one.registry.get_sample_value("fusionbot_answer_chunks_total") == 3.0
    assert one.registry.get_sample_value("fusionbot_answer_first_text_seconds_count") == 1.0
    assert answers(other, "done", "none") is None
    assert one.registry.get_sample_value("fusionbot_build_info", {"version": __version__}) == 1.0


def test_a_429_is_counted_with_the_requests_and_apart() -> None:
    metrics = Metrics()
    route = "PATCH /webhooks/{id}/{token}/messages/@original"
    metrics.discord_response(route, 200, None)
    metrics.discord_response(route, 429, "user")

    sample = metrics.registry.get_sample_value
    assert sample("fusionbot_discord_requests_total", {"route": route, "status": "429"}) == 1.0
    assert sample("fusionbot_discord_requests_total", {"route": route, "status": "200"}) == 1.0
    assert sample("fusionbot_discord_rate_limited_total", {"route": route, "scope": "user"}) == 1.0


def test_pictures_in_progress_are_counted_until_they_end() -> None:
    metrics = Metrics()
    sample = metrics.registry.get_sample_value
    with metrics.picture_waiting():
        assert sample("fusionbot_pictures_waiting") == 1.0
    with metrics.picture_drawing():
        assert (sample("fusionbot_pictures_waiting"), sample("fusionbot_pictures_drawing")) == (0.0, 1.0)
    assert sample("fusionbot_picture_queue_wait_seconds_count") == 1.0
    assert sample("fusionbot_picture_draw_seconds_count") == 1.0


def test_metrics_off_record_nothing() -> None:
    NO_METRICS.answer_ended("done", None, chunks=3, first_text=0.5, final_text=2.0)
    NO_METRICS.discord_response("GET /gateway/bot", 200, None)
    NO_METRICS.fusion_request_ended("answer", "ok", 0.1, 1.0)
    NO_METRICS.store_operation_ended("state", 0.001)
    NO_METRICS.loop_lag_measured(0.001)
    with NO_METRICS.picture_waiting(), NO_METRICS.picture_drawing():
        NO_METRICS.picture_ended("done")

    assert generate_latest(NO_METRICS.registry) == b""
