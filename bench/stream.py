"""Benchmark of streamed answers in Discord: the whole bot against the fake Discord and the fusion emulator.

The fake Discord and the emulator run in two child processes (`bench/harness/servers.py`); this process runs only the
bot (unmodified: `FusionBot`, discord.py, the fusion client, the store) and a thin driver, so its CPU time and
memory are the bot's. All processes stamp events with `time.monotonic()`, one clock system-wide on Linux: the
emulator records when it sent each SSE event (`EmulatorConfig(record_sends=True)`), the fake records every version of
every message.

Scenarios (`bench/harness/streams/scenarios.py`, after a short warm-up), each answer in a channel of its own: /chat
with 1 stream, 1 long stream (5,000 characters, so follow-ups past 2,000), 30 and 300 concurrent streams, and 30
short answers at once (80 chunks 20 ms apart: the fixed cost of an answer), and 1,000 streams at once (asked over
5 s, 1,800 characters each, 50 ms apart); channel conversations (a member's message mentioning the bot) with 30 at
once and one answer of 6,000 characters. The 1,000 streams are served by lean load generators
(`bench/harness/sse_server.py`: the emulator's answers from a bare asyncio server, `--generators N` processes
sharing its port, an answer's events due within `--tick` seconds written together), against a fake Discord and a
bot of their own; the emulator, an aiohttp application, fell behind at 300 already. The bot's fusion session allows
`bot.runtime.FUSION_CONNECTION_LIMIT` connections, more than any scenario's streams, so all of them run at once. Per
scenario it prints, against the targets:

- edits per answer (requests that changed the reply after its first message: edits, follow-ups created);
- 429 responses from the fake;
- first visible text: first SSE event sent -> first version of the reply that shows answer text;
- mean staleness: per character of the answer, (first time it is visible) - (time the emulator sent it), next to
  the best fixed-pace editor simulated on the same send times under the same rate limits (for channel replies, the
  channel's buckets and the bot's global limit, and for comparison without it; `bench/harness/streams/fixed_pace.py`);
- bot CPU per 1,000 SSE events, net of the process's idle CPU (lag monitor, heartbeats);
- event-loop lag (a task sleeping 10 ms, how late it wakes), and the part of it the bot's own work explains;
- peak memory (`ru_maxrss`), and figures that explain the others (the steps to the first visible text, REST round
  trips, the age of the text each edit shows, the servers' own CPU and lag).

    python bench/stream.py [--profile] [--streams 1,1-long,30,300,short-30,channels-30,channel-long,1000]
                           [--repeat N] [--no-conversations] [--generators 1] [--tick 0.1]

The bot runs as shipped: on the application's event loop (`bot.runtime.run`, uvloop) and with channel conversations
on, so it also receives a message event for each of its own edits (read off the socket, then dropped unparsed);
`--no-conversations` runs it as a slash-command-only bot (CONVERSATIONS_ENABLED=false; the channel scenarios are then
left out). `--profile` runs the 300-stream scenario once more under cProfile and prints the bot's top 15 functions.
`--repeat N` runs the scenarios N times in turn and ends with each figure's runs and median, and the machine's
reference speed over the runs. About three and a half minutes a repetition on 2 CPUs.
"""

from __future__ import annotations

import argparse
import cProfile
import logging
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:  # `python bench/stream.py` from a clone that is not pip-installed
    sys.path.insert(0, str(REPO_ROOT))

import aiohttp  # noqa: E402

from bench.harness.botrun import RestTrace, bench_settings, running_bot  # noqa: E402
from bench.harness.lag import LagMonitor  # noqa: E402
from bench.harness.servers import running_servers  # noqa: E402
from bench.harness.streams.measure import IDLE_SECONDS, Bench, Measured  # noqa: E402
from bench.harness.streams.profile import profile_text  # noqa: E402
from bench.harness.streams.report import Figures, print_notes, repeat_summary, report  # noqa: E402
from bench.harness.streams.scenarios import PROFILED, SCENARIOS, WARM_UP, Scenario  # noqa: E402
from bot.runtime import run  # noqa: E402


async def run_all(
    servers: dict[str, Any], scenarios: list[Scenario], profile: bool, data_dir: str, conversations: bool
) -> list[tuple[Measured, Figures]]:
    """One bot, warmed up, running `scenarios` in turn; prints each one's table, then the notes."""
    monitor, trace = LagMonitor(), RestTrace()
    # Conversations on: message events arrive too, one per edit of every answer.
    settings = bench_settings(servers, data_dir, conversations_enabled=conversations)
    limits = servers["fake"]["rate_limits"]
    async with running_bot(settings, trace) as bot, aiohttp.ClientSession() as session:
        bench = Bench(servers, bot, monitor, trace)
        bench.session = session
        logging.getLogger().addHandler(bench.warnings)
        logging.getLogger().setLevel(logging.WARNING)
        monitor.start()
        await bench.run(WARM_UP)
        results: list[tuple[Measured, Figures]] = []
        for scenario in scenarios:
            await bench.measure_idle(IDLE_SECONDS)
            measured = await bench.run(scenario)
            text, figures = report(measured, limits, bench.reference_us)
            print(text + "\n", flush=True)
            results.append((measured, figures))
        profiler_text = None
        if profile:
            profiler = cProfile.Profile()
            await bench.run(PROFILED, profiler)
            profiler_text = profile_text(profiler)
        await monitor.stop()
    print_notes(bench, results, limits, profiler_text)
    logging.getLogger().removeHandler(bench.warnings)
    return results


def run_group(scenarios: list[Scenario], args: argparse.Namespace, profile: bool) -> list[tuple[Measured, Figures]]:
    """`scenarios` against fresh servers: the emulator, or for those that say so the lean load generators."""
    lean = scenarios[0].lean
    channels = WARM_UP.streams + sum(s.streams for s in scenarios) + (PROFILED.streams if profile else 0)
    with running_servers(channels, args.generators if lean else 0, args.tick) as (servers, pids):
        served = (
            f"{args.generators} lean load generator(s), events within {args.tick:g} s written together"
            if lean
            else "emulator"
        )
        print(
            f"## Streaming benchmark (bot: pid {os.getpid()}; fake Discord: pid {pids['fake']};"
            f" {served}: pid {pids['emulator']}{' and more' if lean and args.generators > 1 else ''};"
            f" {os.cpu_count()} CPUs)\n"
        )
        with tempfile.TemporaryDirectory(prefix="fusionbot-bench-") as data_dir:
            return run(run_all(servers, scenarios, profile, data_dir, not args.no_conversations))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--streams", default=",".join(SCENARIOS), help="scenarios to run: " + ", ".join(SCENARIOS))
    parser.add_argument("--profile", action="store_true", help="also profile a 300-stream run with cProfile")
    parser.add_argument("--repeat", type=int, default=1, help="run the scenarios this many times, in turn")
    parser.add_argument("--generators", type=int, default=1, help="lean load generator processes (1,000 streams)")
    parser.add_argument(
        "--tick", type=float, default=0.1, help="lean generators: an answer's events due within it go in one write"
    )
    parser.add_argument(
        "--no-conversations",
        action="store_true",
        help="run the bot with CONVERSATIONS_ENABLED=false (no message events), as a slash-command-only bot",
    )
    args = parser.parse_args()
    chosen = [SCENARIOS[key.strip()] for key in args.streams.split(",") if key.strip()]
    if args.no_conversations:  # a slash-command-only bot answers no message
        chosen = [scenario for scenario in chosen if scenario.kind == "chat"]
    scenarios = chosen * max(1, args.repeat)
    started = time.monotonic()
    results = []
    for lean in (False, True):
        group = [scenario for scenario in scenarios if scenario.lean == lean]
        if group:
            results += run_group(group, args, args.profile and not lean)
    if len(scenarios) > len(set(scenarios)):
        print(repeat_summary(results), flush=True)
    print(f"\nTotal runtime: {time.monotonic() - started:.1f} s")


if __name__ == "__main__":
    main()
