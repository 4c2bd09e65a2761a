"""Discord's rate-limit headers, read off every REST response, so that a streaming editor can pace itself.

discord.py already waits when a bucket is spent, but only then: an editor that edits as fast as responses return
spends a whole window's edits in a burst and then shows nothing until the window resets. Spreading the remaining
edits evenly over the time left in the window shows new text steadily instead, at the same number of edits.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from types import SimpleNamespace

import aiohttp
from multidict import CIMultiDictProxy

SPENT_WINDOW_MARGIN = 0.01  # seconds past a spent window's reset before the next request


@dataclass(frozen=True, slots=True)
class _Window:
    remaining: int
    resets_at: float  # event-loop time


def bucket_key(path: str) -> str:
    """The part of a REST path that names its rate-limit bucket: a webhook token or a channel."""
    for root in ("/webhooks/", "/channels/"):
        start = path.find(root)
        if start >= 0:
            segments = path[start:].split("/")
            return "/".join(segments[: 4 if root == "/webhooks/" else 3])
    return path


class RateLimitWatch:
    """Remembers the latest window per bucket; `pace` says how long to wait before the next request."""

    def __init__(self) -> None:
        self._windows: dict[str, _Window] = {}

    def trace_config(self) -> aiohttp.TraceConfig:
        """Hand this to discord.py (`http_trace=`) so that every response's headers are seen."""
        trace = aiohttp.TraceConfig()
        trace.on_request_end.append(self._on_request_end)
        return trace

    def record(self, path: str, headers: CIMultiDictProxy[str], now: float) -> None:
        remaining, reset_after = headers.get("X-RateLimit-Remaining"), headers.get("X-RateLimit-Reset-After")
        if remaining is None or reset_after is None:
            return
        try:
            self._windows[bucket_key(path)] = _Window(int(remaining), now + float(reset_after))
        except ValueError:
            return
        if len(self._windows) > 10_000:  # buckets of finished interactions are never asked about again
            self._forget_expired(now)

    def pace(self, key: str) -> float:
        """Seconds to wait so the window's remaining requests are spread evenly until it resets (0: go now)."""
        window = self._windows.get(key)
        if window is None:
            return 0.0
        time_left = window.resets_at - asyncio.get_running_loop().time()
        if window.remaining <= 0:
            # discord.py waits out a spent window itself, but on the event loop's timer, which under uvloop counts
            # whole milliseconds and may fire a moment early: the next request would land in the old window.
            return max(0.0, time_left) + SPENT_WINDOW_MARGIN if time_left > -SPENT_WINDOW_MARGIN else 0.0
        return max(0.0, time_left / (window.remaining + 1))

    def _forget_expired(self, now: float) -> None:
        self._windows = {key: window for key, window in self._windows.items() if window.resets_at > now}

    async def _on_request_end(
        self, session: aiohttp.ClientSession, context: SimpleNamespace, params: aiohttp.TraceRequestEndParams
    ) -> None:
        self.record(params.url.path, params.response.headers, asyncio.get_running_loop().time())
