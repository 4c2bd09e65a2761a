"""The bot's metrics for Prometheus: each one is defined here, once, and recorded by the code that does the work,
through the `Metrics` methods below, into a registry of each bot's own (several bots in one process, as in the
tests, keep theirs apart). `bot.app.health` serves it at `/metrics`; the README's "Monitoring" lists them.

Names follow Prometheus's conventions: the `fusionbot_` prefix, `_total` for counters, base units (`_seconds`).
No label names a user, a channel or a server, and every label's values come from a short fixed list (outcomes,
error kinds, the bot's store operations, Discord's routes with their ids templated), so the number of series stays
bounded however many servers the bot is in.

Off (no METRICS_PORT), `Metrics(enabled=False)` records nothing: each method returns at once, so an answer costs
what it did without metrics.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import NamedTuple

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, Info, ProcessCollector
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from bot import __version__

PREFIX = "fusionbot"
ANSWER_FIRST_TEXT_BUCKETS = (0.25, 0.5, 1, 2, 3, 5, 8, 13, 20, 30, 60)
ANSWER_FINAL_TEXT_BUCKETS = (1, 2, 5, 10, 20, 30, 60, 120, 300, 600)
FUSION_RESPONSE_BUCKETS = (0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 60)
FUSION_REQUEST_BUCKETS = (0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300)
PICTURE_WAIT_BUCKETS = (0.1, 0.5, 1, 5, 10, 30, 60, 120, 300, 600, 1800)
PICTURE_DRAW_BUCKETS = (1, 2, 5, 10, 20, 30, 60, 120, 180)
STORE_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5)
LOOP_LAG_BUCKETS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5, 10)
NO_ERROR = "none"
_WORD_START = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


class ShardState(NamedTuple):
    """One gateway shard of this process, as the Discord layer sees it at a scrape."""

    connected: bool
    latency_seconds: float  # between a heartbeat and its acknowledgement; NaN before the first


def error_kind(error: BaseException) -> str:
    """A metric label for an error: its class's name in snake case without `Error` (`RateLimitedError`:
    `rate_limited`, `FusionTimeoutError`: `timeout`), bounded by the bot's own error classes."""
    name = type(error).__name__.removesuffix("Error").removeprefix("Fusion") or type(error).__name__
    return _WORD_START.sub("_", name).lower()


class Metrics:
    """Every metric of one bot, in `registry`; recorded only when `enabled` (otherwise the registry is empty)."""

    def __init__(self, *, enabled: bool = True) -> None:
        self.enabled = enabled
        self.registry = CollectorRegistry(auto_describe=True)
        if not enabled:
            return
        self._answers()
        self._discord()
        self._fusion()
        self._pictures()
        self._runtime()

    def _answers(self) -> None:
        self.answers = self._counter(
            "answers", "Answers that ended, by outcome; failed ones by the error's kind", ["outcome", "error"]
        )
        self.answer_first_text = self._histogram(
            "answer_first_text_seconds",
            "Answers done: from the question to its first text visible in Discord",
            ANSWER_FIRST_TEXT_BUCKETS,
        )
        self.answer_final_text = self._histogram(
            "answer_final_text_seconds",
            "Answers done: from the question to its final text shown in Discord",
            ANSWER_FINAL_TEXT_BUCKETS,
        )
        self.answer_chunks = self._counter(
            "answer_chunks", "Pieces of text read from the fusion API's streams, added when each answer ends"
        )
        self.answer_edits = self._counter(
            "answer_edits", "Messages of answers created or edited in Discord, live or final", ["phase"]
        )

    def _discord(self) -> None:
        self.discord_requests = self._counter(
            "discord_requests", "Discord REST responses by route (ids templated) and status", ["route", "status"]
        )
        self.discord_rate_limited = self._counter(
            "discord_rate_limited", "Discord REST responses 429, by route and X-RateLimit-Scope", ["route", "scope"]
        )

    def _fusion(self) -> None:
        self.fusion_requests = self._counter(
            "fusion_requests",
            "Fusion API requests (each try) by purpose (answer or picture) and outcome (ok or the error's kind)",
            ["purpose", "outcome"],
        )
        self.fusion_response = self._histogram(
            "fusion_response_seconds",
            "Fusion API requests: from sending to the response's headers",
            FUSION_RESPONSE_BUCKETS,
            ["purpose"],
        )
        self.fusion_request = self._histogram(
            "fusion_request_seconds",
            "Fusion API requests: from sending to the end of the answer (or the failure)",
            FUSION_REQUEST_BUCKETS,
            ["purpose"],
        )

    def _pictures(self) -> None:
        self.pictures = self._counter("pictures", "Picture requests that ended, by outcome", ["outcome"])
        self.picture_wait = self._histogram(
            "picture_queue_wait_seconds", "Picture requests: time waiting in the queue for a turn", PICTURE_WAIT_BUCKETS
        )
        self.picture_draw = self._histogram(
            "picture_draw_seconds", "Picture requests: time the service took to draw", PICTURE_DRAW_BUCKETS
        )
        self.pictures_waiting = self._gauge("pictures_waiting", "Picture requests of this process waiting now")
        self.pictures_drawing = self._gauge("pictures_drawing", "Picture requests of this process being drawn now")

    def _runtime(self) -> None:
        self.store_operation = self._histogram(
            "store_operation_seconds", "Store operations by name, from call to return", STORE_BUCKETS, ["operation"]
        )
        self.loop_lag = self._histogram(
            "event_loop_lag_seconds", "How late the event loop ran a callback posted to it", LOOP_LAG_BUCKETS
        )
        Info(f"{PREFIX}_build", "The running version", registry=self.registry).info({"version": __version__})
        ProcessCollector(registry=self.registry)  # process_start_time_seconds, CPU, memory (on Linux)

    def _counter(self, name: str, documentation: str, labels: list[str] | None = None) -> Counter:
        return Counter(f"{PREFIX}_{name}", documentation, labels or [], registry=self.registry)

    def _gauge(self, name: str, documentation: str) -> Gauge:
        return Gauge(f"{PREFIX}_{name}", documentation, registry=self.registry)

    def _histogram(
        self, name: str, documentation: str, buckets: tuple[float, ...], labels: list[str] | None = None
    ) -> Histogram:
        return Histogram(f"{PREFIX}_{name}", documentation, labels or [], buckets=buckets, registry=self.registry)

    # --- recording ---------------------------------------------------------------------------------------------------

    def answer_ended(
        self, outcome: str, error: str | None, *, chunks: int, first_text: float | None, final_text: float | None
    ) -> None:
        """An answer ended: how (`error`, the failure's kind), the text pieces read, and for one that ended done,
        the seconds from its question to its first and final text in Discord (None: not shown)."""
        if not self.enabled:
            return
        self.answers.labels(outcome, error or NO_ERROR).inc()
        self.answer_chunks.inc(chunks)
        if first_text is not None:
            self.answer_first_text.observe(first_text)
        if final_text is not None:
            self.answer_final_text.observe(final_text)

    def answer_edit(self, final: bool) -> None:
        if self.enabled:
            self.answer_edits.labels("final" if final else "live").inc()

    def discord_response(self, route: str, status: int | str, scope: str | None) -> None:
        """A Discord REST response (`route` templated: no ids, no tokens; `status` "error" for a request that got
        none); a 429 is counted apart too."""
        if not self.enabled:
            return
        self.discord_requests.labels(route, str(status)).inc()
        if status == 429:
            self.discord_rate_limited.labels(route, scope or "unknown").inc()

    def fusion_request_ended(self, purpose: str, outcome: str, response: float | None, total: float) -> None:
        """One try of a fusion API call ended: `outcome` ok or the error's kind, `response` the seconds to the
        response's headers (None: no response)."""
        if not self.enabled:
            return
        self.fusion_requests.labels(purpose, outcome).inc()
        if response is not None:
            self.fusion_response.labels(purpose).observe(response)
        self.fusion_request.labels(purpose).observe(total)

    def picture_ended(self, outcome: str) -> None:
        if self.enabled:
            self.pictures.labels(outcome).inc()

    @contextmanager
    def picture_waiting(self) -> Iterator[None]:
        """Around a picture request's wait for its turn: counted as waiting, and its wait observed when it ends."""
        with self._in_progress("pictures_waiting", "picture_wait"):
            yield

    @contextmanager
    def picture_drawing(self) -> Iterator[None]:
        """Around the service drawing a picture: counted as drawing, and the time observed when it ends."""
        with self._in_progress("pictures_drawing", "picture_draw"):
            yield

    def watch_gateway(self, shards: Callable[[], Mapping[int, ShardState]]) -> None:
        """At each scrape, ask `shards()` for the gateway's shards (`fusionbot_gateway_connected`,
        `fusionbot_gateway_latency_seconds`, labelled by shard number)."""
        if self.enabled:
            self.registry.register(_GatewayCollector(shards))

    def store_operation_ended(self, operation: str, seconds: float) -> None:
        if self.enabled:
            self.store_operation.labels(operation).observe(seconds)

    def loop_lag_measured(self, seconds: float) -> None:
        """How late the event loop ran a probe (from the watchdog's thread: prometheus_client is thread-safe)."""
        if self.enabled:
            self.loop_lag.observe(seconds)

    @contextmanager
    def _in_progress(self, gauge_name: str, histogram_name: str) -> Iterator[None]:
        if not self.enabled:
            yield
            return
        gauge: Gauge = getattr(self, gauge_name)
        histogram: Histogram = getattr(self, histogram_name)
        started = time.monotonic()
        gauge.inc()
        try:
            yield
        finally:
            gauge.dec()
            histogram.observe(time.monotonic() - started)


NO_METRICS = Metrics(enabled=False)  # what a service records into when nobody asked for metrics


class _GatewayCollector(Collector):
    """The gateway's shards, read when Prometheus scrapes (on the event loop, where the Discord layer's state is)."""

    def __init__(self, shards: Callable[[], Mapping[int, ShardState]]) -> None:
        self._shards = shards

    def collect(self) -> Iterator[Metric]:
        connected = GaugeMetricFamily(
            f"{PREFIX}_gateway_connected", "1 while the shard's gateway connection is up", labels=["shard"]
        )
        latency = GaugeMetricFamily(
            f"{PREFIX}_gateway_latency_seconds", "The shard's last heartbeat round trip", labels=["shard"]
        )
        for shard, state in sorted(self._shards().items()):
            connected.add_metric([str(shard)], 1.0 if state.connected else 0.0)
            if not math.isnan(state.latency_seconds) and not math.isinf(state.latency_seconds):
                latency.add_metric([str(shard)], state.latency_seconds)
        yield connected
        yield latency
