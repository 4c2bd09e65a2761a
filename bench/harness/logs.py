"""Counting the warnings a benchmark run logs, to show them in its notes rather than between its tables."""

from __future__ import annotations

import logging
from collections import Counter


class WarningCounter(logging.Handler):
    """Counts warnings by logger and level, and keeps the first message of each."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.counts: Counter[str] = Counter()
        self.examples: dict[str, str] = {}

    def emit(self, record: logging.LogRecord) -> None:
        key = f"{record.name} {record.levelname}"
        self.counts[key] += 1
        self.examples.setdefault(key, record.getMessage()[:160])
