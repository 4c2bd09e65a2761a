"""Figures as markdown tables: a row per figure, its measurement, target and verdict; and the small formatters
every benchmark prints its figures with (milliseconds, quantiles, spreads, medians over runs)."""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

PASS, MISS = "PASS", "MISS"


def ms(seconds: float) -> str:
    return "n/a" if math.isnan(seconds) else f"{round(seconds * 1000)} ms"  # round: no "-0 ms"


def in_seconds(value: float) -> str:
    return f"{value:.2f} s"


def quantile(values: Sequence[float], q: float) -> float:
    """The nearest-rank quantile `q` (0..1) of `values`."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def spread(values: Sequence[float], unit: Callable[[float], str] = ms) -> str:
    """p50 / p95 / max."""
    if not values:
        return "n/a"
    return f"{unit(statistics.median(values))} / {unit(quantile(values, 0.95))} / {unit(max(values))}"


def median(values: Sequence[float]) -> float:
    """The median, or NaN for no values (a figure no run measured)."""
    return statistics.median(values) if values else math.nan


def runs_and_median(values: Sequence[float], unit: str = " ms", digits: int = 1) -> str:
    """`a / b / c (median m)`: each run's figure, then their median, the figure a benchmark reports."""
    each = " / ".join(f"{value:.{digits}f}" for value in values)
    return f"{each}{unit} (median {median(values):.{digits}f}{unit})"


def verdict(ok: bool) -> str:
    return PASS if ok else MISS


@dataclass
class Table:
    """A markdown table: a row per figure, its measurements (one column per run: `columns`), target and result."""

    columns: Sequence[str] = ("measured",)
    rows: list[tuple[str, ...]] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)

    def add(self, figure: str, measured: str, target: str = "", ok: bool | None = None) -> None:
        self.rows.append((figure, measured, target, "" if ok is None else verdict(ok)))
        if ok is False:
            self.failed.append(figure)

    @classmethod
    def beside(cls, tables: Sequence[Table], columns: Sequence[str]) -> Table:
        """The tables of several runs, of the same rows, as one: measurements side by side, results together."""
        if len(tables) == 1:
            return tables[0]
        merged = cls(columns, failed=[f"{f} ({c})" for c, t in zip(columns, tables, strict=True) for f in t.failed])
        for rows in zip(*(table.rows for table in tables), strict=True):
            results = " / ".join(row[-1] for row in rows if row[-1])
            merged.rows.append((rows[0][0], *(row[1] for row in rows), rows[0][-2], results))
        return merged

    def render(self, title: str) -> str:
        header = ["figure", *self.columns, "target", "result"]
        lines = [f"### {title}", "", f"| {' | '.join(header)} |", "|" + "---|" * len(header)]
        lines += [f"| {' | '.join(row)} |" for row in self.rows]
        return "\n".join(lines)
