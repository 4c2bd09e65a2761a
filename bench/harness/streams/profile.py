"""A cProfile of the bot process over a scenario, summed up: the top functions by own time, the event loop's waiting
left out, and the cumulative time of the main areas of a streamed answer."""

from __future__ import annotations

import cProfile
import io
import pstats
import re

from bench.harness.children import REPO_ROOT

PROFILE_AREAS = (
    ("reading the fusion stream (bot/core/chat.py _consume)", "bot/core/chat.py", "_consume"),
    ("editing the reply (bot/app/streaming.py _edit_until_final)", "bot/app/streaming.py", "_edit_until_final"),
    ("gateway events (discord/gateway.py received_message)", "discord/gateway.py", "received_message"),
    ("  of which MESSAGE_UPDATE (discord/state.py parse_message_update)", "discord/state.py", "parse_message_update"),
    ("/chat set-up (bot/core/chat.py answer)", "bot/core/chat.py", "answer"),
)
WAITING = ("poll", "select", "run_until_complete", "run_forever")  # the loop waiting in epoll (uvloop: in C)


def profile_text(profiler: cProfile.Profile) -> str:
    """Top 15 functions by own time, the event loop's waiting left out, and cumulative time of the main areas."""
    stats = pstats.Stats(profiler, stream=io.StringIO()).stats  # type: ignore[attr-defined]
    rows = []
    busy = 0.0
    for (filename, line, function), (_, calls, own, cumulative, _) in stats.items():
        if any(word in function for word in WAITING) and filename == "~":
            continue
        busy += own
        rows.append((own, cumulative, calls, f"{short_path(filename)}:{line}({function})"))
    rows.sort(reverse=True)
    lines = [f"profiled CPU outside the epoll wait: {busy:.2f} s (cProfile roughly doubles it)", ""]
    lines.append(f"{'own s':>7} {'cum s':>7} {'calls':>8}  function")
    lines += [f"{own:7.3f} {cum:7.3f} {calls:8d}  {name}" for own, cum, calls, name in rows[:15]]
    lines += ["", "cumulative time by area (per coroutine step, so nested areas overlap):"]
    for label, path, function in PROFILE_AREAS:
        found = [
            value[3] for (filename, _, name), value in stats.items() if name == function and filename.endswith(path)
        ]
        if found:
            lines.append(f"{sum(found):7.3f} s  {label} ({sum(found) / busy:.0%})")
    return "\n".join(lines)


def short_path(filename: str) -> str:
    for marker in ("site-packages/", f"{REPO_ROOT}/"):
        index = filename.find(marker)
        if index >= 0:
            return filename[index + len(marker) :]
    return re.sub(r"^.*/python3\.\d+/", "", filename)
