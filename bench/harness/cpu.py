"""CPU and memory accounting: a process's CPU net of what it spends idle, other processes' CPU read from /proc, the
resident memory, and the machine's reference speed.

CPU figures of one run vary by a fifth or more on a machine shared with other work; printing a reference speed
measured in the same run beside them lets figures from different runs or machines be compared. The reference is a
fixed pure-Python workload (`sum(range(1000))`, the best of several timings, so other work can only slow a timing,
never speed it up): a figure divided by it is in "reference units", roughly the same on a faster machine. What it
does not capture is the cost of system calls (waking the event loop, socket reads and writes), which the idle CPU
per event-loop wake-up shows instead.
"""

from __future__ import annotations

import asyncio
import os
import resource
import time
import timeit
from dataclasses import dataclass
from pathlib import Path

REFERENCE_STATEMENT = "sum(range(1000))"


def reference_speed_us() -> float:
    """Microseconds this machine takes for `REFERENCE_STATEMENT` now (best of five timings of 2,000 each)."""
    return min(timeit.repeat(REFERENCE_STATEMENT, number=2000, repeat=5)) / 2000 * 1e6


def reference_line() -> str:
    """The reference speed as a benchmark prints it beside its figures."""
    return f"reference speed: `{REFERENCE_STATEMENT}` takes {reference_speed_us():.2f} us"


def in_reference_units(cpu_ms: float, reference_us: float) -> float:
    """A CPU time in thousands of reference workloads: how many `sum(range(1000))` (x 1,000) it equals."""
    return cpu_ms / reference_us


def peak_rss_mib() -> float:
    """The process's peak resident memory so far (it only grows)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def current_rss_mib() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def processes_cpu(pids: list[int]) -> float:
    """User and system seconds the processes `pids` have used so far."""
    ticks = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        ticks += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of the whole line)
    return ticks / os.sysconf("SC_CLK_TCK")


@dataclass
class IdleRate:
    """This process's CPU seconds per second while it waits for nothing but its timers (a lag monitor, heartbeats):
    measured just before a scenario, since it drifts as the process ages, and subtracted from the scenario's CPU."""

    per_second: float = 0.0

    async def measure(self, seconds: float) -> None:
        cpu, wall = time.process_time(), time.monotonic()
        await asyncio.sleep(seconds)
        self.per_second = (time.process_time() - cpu) / (time.monotonic() - wall)

    def net(self, cpu: float, wall: float) -> float:
        """`cpu` seconds used over `wall` seconds, less the idle part (never below 0)."""
        return max(cpu - self.per_second * wall, 0.0)
