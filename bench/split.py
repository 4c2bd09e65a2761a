"""Benchmark of splitting a growing answer into messages, the way the streaming editor re-splits it on every edit.

For three shapes of answer (prose with code blocks, one unbroken line, emoji-heavy), grows the answer by about 40
characters at a time up to 30,000 and re-splits the whole of it after each step, with
`split_bounded(..., max_parts=5, ...)` as the editor does and with the unbounded `split_message`. Prints a
markdown table of the median over several runs of the total time, the time per render and the time of the last
render (the whole answer). The bounded form stays flat once the answer is past five messages; the unbounded one
grows with the answer.

    python bench/split.py [--length 30000] [--step 40] [--runs 5] [--max-parts 5]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:  # `python bench/split.py` from a clone that is not pip-installed
    sys.path.insert(0, str(REPO_ROOT))

from bench.harness.cpu import reference_line  # noqa: E402
from bot.core.chunking import DISCORD_MESSAGE_LIMIT, split_bounded, split_message  # noqa: E402

SEED = 20240611
MARKER_ROOM = 2  # what the editor keeps for its "still writing" marker
NOTE_ROOM = 120  # what it keeps in the last message for its "continued in the attachment" note
PROSE = (
    "The answer depends on the version you are running.",
    "Here is a short example that shows the idea:",
    "In most cases the default settings are good enough, but a busy server may want more.",
    "这里有一个简单的例子。",
    "Remember to restart the service after changing the file!",
)
CODE_LINES = (
    "def handler(event):",
    "    value = compute(event.payload)",
    "    return {'ok': True, 'value': value}",
    "",
)
EMOJI = ("\U0001f468\u200d\U0001f469\u200d\U0001f467", "\U0001f1eb\U0001f1f7", "\U0001f44d\U0001f3fd", "e\u0301", "ok")


def prose_with_code(rng: random.Random, length: int) -> str:
    text = ""
    while len(text) < length:
        if rng.random() < 0.3:
            text += "```python\n" + "\n".join(rng.choice(CODE_LINES) for _ in range(rng.randint(3, 30))) + "\n```\n\n"
        else:
            text += " ".join(rng.choice(PROSE) for _ in range(rng.randint(1, 6))) + "\n\n"
    return text[:length]


def unbroken_line(rng: random.Random, length: int) -> str:
    return "```\n" + "".join(rng.choice("abcdef0123456789") for _ in range(length))[: length - 4]


def emoji_heavy(rng: random.Random, length: int) -> str:
    text = ""
    while len(text) < length:
        text += "".join(rng.choice(EMOJI) for _ in range(rng.randint(1, 60))) + rng.choice([" ", "", "\n"])
    return text[:length]


SHAPES: dict[str, Callable[[random.Random, int], str]] = {
    "prose with code blocks": prose_with_code,
    "one unbroken line": unbroken_line,
    "emoji-heavy": emoji_heavy,
}


def grow(text: str, step: int) -> list[str]:
    """The answer as the editor sees it: a prefix `step` characters longer each time (even mid-cluster)."""
    return [text[:end] for end in range(step, len(text) + step, step)]


def time_renders(prefixes: list[str], render: Callable[[str], object]) -> tuple[float, float]:
    """Seconds to render every prefix in turn, and to render the last (the whole answer)."""
    start = time.perf_counter()
    for prefix in prefixes[:-1]:
        render(prefix)
    before_last = time.perf_counter()
    render(prefixes[-1])
    end = time.perf_counter()
    return end - start, end - before_last


@dataclass(frozen=True, slots=True)
class Row:
    shape: str
    form: str
    total_s: float  # medians over the runs
    per_render_us: float
    last_render_us: float
    parts: int  # of the whole answer, unbounded


def measure(args: argparse.Namespace) -> list[Row]:
    """A row for each shape and form."""
    limit = DISCORD_MESSAGE_LIMIT - MARKER_ROOM
    forms: dict[str, Callable[[str], object]] = {
        f"split_bounded, max_parts={args.max_parts}": lambda text: split_bounded(
            text, limit, args.max_parts, NOTE_ROOM
        ),
        "split_message (unbounded)": lambda text: split_message(text, limit),
    }
    rows = []
    for shape, make in SHAPES.items():
        text = make(random.Random(SEED), args.length)
        prefixes = grow(text, args.step)
        for form, render in forms.items():
            runs = [time_renders(prefixes, render) for _ in range(args.runs)]
            total = statistics.median(total for total, _ in runs)
            last = statistics.median(last for _, last in runs)
            parts = len(split_message(text, limit))
            rows.append(Row(shape, form, total, total / len(prefixes) * 1e6, last * 1e6, parts))
    return rows


def report(args: argparse.Namespace, rows: list[Row]) -> None:
    renders = len(grow("x" * args.length, args.step))
    print(
        f"Split benchmark: answers grown to {args.length} characters by {args.step} at a time ({renders} renders), "
        f"median of {args.runs} runs; Python {sys.version.split()[0]}; {reference_line()}\n"
    )
    print("| shape | form | total ms | µs per render | µs for the last render | parts of the whole answer |")
    print("|---|---|---|---|---|---|")
    for row in rows:
        print(
            f"| {row.shape} | {row.form} | {row.total_s * 1e3:.1f} | {row.per_render_us:.1f} "
            f"| {row.last_render_us:.1f} | {row.parts} |"
        )


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--length", type=int, default=30_000, help="characters of the whole answer")
    parser.add_argument("--step", type=int, default=40, help="characters added between renders")
    parser.add_argument("--runs", type=int, default=5, help="runs per shape and form (the median is printed)")
    parser.add_argument("--max-parts", type=int, default=5, help="max_parts for split_bounded")
    args = parser.parse_args()
    if args.length < 1 or args.step < 1 or args.runs < 1 or args.max_parts < 1:
        parser.error("--length, --step, --runs and --max-parts must be at least 1")
    return args


def main() -> None:
    args = parse_args()
    started = time.perf_counter()
    report(args, measure(args))
    print(f"\ntotal runtime: {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()
