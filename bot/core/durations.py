"""Durations in words a user reads at a glance, for messages that say how long to wait."""

from __future__ import annotations


def describe_wait(seconds: float) -> str:
    """A wait in words a user reads at a glance: 45 s, 3 min, 2 h 5 min."""
    seconds = max(1, round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    minutes = -(-seconds // 60)
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min" if minutes else f"{hours} h"
