"""What the metrics cost: the streaming benchmark's bot CPU per 1,000 chunks with METRICS_PORT unset and set, in one
run, on the same fake Discord and emulator processes (those of `bench/stream.py`, whose measurement this reuses).

Each run starts a bot of its own in this process, warms it up, measures its idle CPU, runs one scenario (by default
300 concurrent streams) and closes it; runs alternate off, on, on, off, ... so that a drift of the machine falls on
both alike. With metrics on the bot records every metric and serves its endpoint, which a child process scrapes
every second (Prometheus's default is every 15 s), and its watchdog thread probes the event loop; off, it records
nothing and serves nothing. Prints each run's figure, the medians and their ratio against the target (within 5%).

    python bench/metrics_cost.py [--streams 300] [--repeat 3]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:  # `python bench/metrics_cost.py` from a clone that is not pip-installed
    sys.path.insert(0, str(REPO_ROOT))

import aiohttp  # noqa: E402

from bench.harness.botrun import RestTrace, bench_settings, running_bot  # noqa: E402
from bench.harness.lag import LagMonitor  # noqa: E402
from bench.harness.servers import running_servers  # noqa: E402
from bench.harness.streams.measure import IDLE_SECONDS, Bench  # noqa: E402
from bench.harness.streams.scenarios import SCENARIOS, WARM_UP, Scenario  # noqa: E402
from bench.harness.tables import runs_and_median, verdict  # noqa: E402
from bot.runtime import run  # noqa: E402

TARGET_RATIO = 1.05
SCRAPE_INTERVAL = 1.0
# A scraper in a process of its own, so that its CPU is not counted as the bot's: GET the URL every interval until
# its standard input closes.
SCRAPER = """
import sys, threading, time, urllib.request
stop = threading.Event()
threading.Thread(target=lambda: (sys.stdin.read(), stop.set()), daemon=True).start()
while not stop.wait(float(sys.argv[2])):
    urllib.request.urlopen(sys.argv[1], timeout=10).read()
"""


async def one_run(servers: dict[str, Any], scenario: Scenario, metrics: bool, data_dir: str) -> float:
    """A fresh bot, warmed up, running `scenario` once; its CPU per 1,000 chunks in ms, net of its idle CPU."""
    settings = bench_settings(servers, data_dir, metrics_port=0 if metrics else None)
    trace, monitor = RestTrace(), LagMonitor()
    scraper = None
    async with running_bot(settings, trace) as bot, aiohttp.ClientSession() as session:
        bench = Bench(servers, bot, monitor, trace)
        bench.session = session
        try:
            if bot.health is not None:
                url = f"http://127.0.0.1:{bot.health.port}/metrics"
                scraper = await asyncio.create_subprocess_exec(
                    sys.executable, "-c", SCRAPER, url, str(SCRAPE_INTERVAL), stdin=asyncio.subprocess.PIPE
                )
            monitor.start()
            await bench.run(WARM_UP)
            await bench.measure_idle(IDLE_SECONDS)
            measured = await bench.run(scenario)
            await monitor.stop()
        finally:
            if scraper is not None:
                assert scraper.stdin is not None
                scraper.stdin.close()
                await asyncio.wait_for(scraper.wait(), timeout=15)
    servers["fake"]["channels"] = bench.channels  # what this run left for the next
    chunks = sum(answer.chunks for answer in measured.answers)
    if measured.unfinished or not chunks:
        raise RuntimeError(f"{measured.unfinished} answers unfinished, {chunks} chunks")
    return max(measured.cpu - measured.idle_cpu, 0.0) / chunks * 1e6


async def run_all(servers: dict[str, Any], scenario: Scenario, repeat: int, data_dir: str) -> dict[bool, list[float]]:
    figures: dict[bool, list[float]] = {False: [], True: []}
    order = [metrics for index in range(repeat) for metrics in ((False, True) if index % 2 == 0 else (True, False))]
    for metrics in order:
        figure = await one_run(servers, scenario, metrics, data_dir)
        figures[metrics].append(figure)
        print(f"- metrics {'on ' if metrics else 'off'}: {figure:.1f} ms of bot CPU per 1,000 chunks", flush=True)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--streams", default="300", choices=sorted(SCENARIOS), help="the scenario of bench/stream.py")
    parser.add_argument("--repeat", type=int, default=3, help="runs with metrics off, and as many with them on")
    args = parser.parse_args()
    scenario = SCENARIOS[args.streams]
    started = time.monotonic()
    channels = 2 * args.repeat * (WARM_UP.streams + scenario.streams)
    print(f"## Metrics cost: {scenario.title}, {args.repeat} runs each, off and on alternating\n")
    with running_servers(channels) as (servers, _), tempfile.TemporaryDirectory(prefix="fusionbot-bench-") as data_dir:
        figures = run(run_all(servers, scenario, max(1, args.repeat), data_dir))
    off, on = statistics.median(figures[False]), statistics.median(figures[True])
    ratio = on / off
    print(f"\nmetrics off: {runs_and_median(figures[False])} per 1,000 chunks")
    print(f"metrics on: {runs_and_median(figures[True])} per 1,000 chunks")
    print(f"on / off: {ratio:.3f} (target <= {TARGET_RATIO}) {verdict(ratio <= TARGET_RATIO)}")
    print(f"Total runtime: {time.monotonic() - started:.1f} s")


if __name__ == "__main__":
    main()
