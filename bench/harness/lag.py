"""How responsive an event loop is while a benchmark runs, and what pauses it: a task sleeping 10 ms over and over
records how late it wakes (`LagMonitor`), and the garbage collector's full collections are timed (`GcWatch`).

Times are `time.monotonic()`, on Linux one clock for every process of the machine (the event loop's own time is
cached per loop step on uvloop, and would hide part of the lateness).
"""

from __future__ import annotations

import asyncio
import gc
import time
from dataclasses import dataclass

from bench.harness.tables import quantile

LAG_INTERVAL = 0.01  # seconds


@dataclass(frozen=True, slots=True)
class Wake:
    at: float  # when the sleep began
    lag: float  # how late it woke
    own: float  # the part of `lag` the event-loop thread's own CPU time explains (the rest: other processes ran)


class LagMonitor:
    """Sleeps `interval` over and over and records each wake-up's lateness.

    The own part of a lateness is min(lateness, the thread's CPU time over the same sleep): on a machine shared with
    the benchmark's servers, the rest is time the operating system ran them instead.
    """

    def __init__(self, interval: float = LAG_INTERVAL) -> None:
        self.interval = interval
        self.wakes: list[Wake] = []
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="lag-monitor")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def _run(self) -> None:
        while True:
            before, cpu = time.monotonic(), time.thread_time()
            await asyncio.sleep(self.interval)
            after, cpu = time.monotonic(), time.thread_time() - cpu
            lag = max(0.0, after - before - self.interval)
            self.wakes.append(Wake(before, lag, min(lag, cpu)))

    @property
    def lags(self) -> list[float]:
        return [wake.lag for wake in self.wakes]

    def between(self, start: float, end: float) -> tuple[list[float], list[float]]:
        """Lateness, and its own part, of the wake-ups whose sleep began between `start` and `end` (a wake-up
        delayed by the report of the previous scenario belongs to that one, not to the next)."""
        window = [(w.lag, w.own) for w in self.wakes if start <= w.at <= end] or [(0.0, 0.0)]
        return [lag for lag, _ in window], [own for _, own in window]

    def summary(self, start: float, end: float) -> dict[str, float]:
        """{"max", "p99"} of the lateness between `start` and `end`, as a server reports it to the benchmark."""
        lags, _ = self.between(start, end)
        return {"max": max(lags), "p99": quantile(lags, 0.99)}

    def forget_before(self, start: float) -> None:
        self.wakes = [wake for wake in self.wakes if wake.at >= start]


class GcWatch:
    """Times the garbage collector's full (generation 2) collections while installed: they pause everything in the
    process."""

    def __init__(self) -> None:
        self.pauses: list[float] = []
        self._started = 0.0

    def __enter__(self) -> GcWatch:
        gc.callbacks.append(self._callback)
        return self

    def __exit__(self, *exc_info: object) -> None:
        gc.callbacks.remove(self._callback)

    def _callback(self, phase: str, info: dict[str, int]) -> None:
        if info.get("generation") != 2:
            return
        if phase == "start":
            self._started = time.perf_counter()
        else:
            self.pauses.append(time.perf_counter() - self._started)
