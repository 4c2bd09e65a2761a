"""Discord's rate limits, read off every REST response and kept on the bot's side, so that a streaming editor paces
itself and the bot is never refused.

**Buckets.** discord.py waits when a bucket is spent, but only then: an editor that edits as fast as responses return
spends a whole window's edits in a burst and then shows nothing until the window resets. Spreading the remaining
edits evenly over the time left in the window shows new text steadily instead, at the same number of edits. Windows
are kept as discord.py keys its own: a route (the method and the path with its ids as placeholders) belongs to the
bucket Discord names in `X-RateLimit-Bucket`, and a window is one bucket's for one major parameter (the channel). All
routes of an interaction's webhook share one window per token.

**Room.** A live request (one showing text that will change again) never takes the last request of a window of the
bucket the bot creates channel messages in, so that a note, a refusal or another reply in the same channel does not
wait for this answer's window. A final edit may take it.

**The global limit.** Discord allows a bot 50 requests a second in all, interaction routes excepted, and announces it
in no header: discord.py learns of it only from a 429. `GlobalLimit` keeps every request through discord.py within
it over any `GLOBAL_WINDOW`, a second and a margin (a sliding window, so Discord's fixed ones are kept too): a burst
waits a moment instead of being refused. Live edits of channel replies first claim their place in the window:
together they get `LIVE_SHARE` of it, shared evenly by the replies streaming, and what the bot sends besides (first
messages, final edits, notes) finds the rest free. The limit is `DISCORD_GLOBAL_RATE_LIMIT` a second.
"""

from __future__ import annotations

import asyncio
import functools
from collections import deque
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any, TypeVar

import aiohttp
from multidict import CIMultiDictProxy

SPENT_WINDOW_MARGIN = 0.01  # seconds past a spent window's reset before the next request
ROOM = 1  # requests of each window of the channel-message bucket that live requests leave to the bot's others
DEFAULT_GLOBAL_LIMIT = 50  # requests a second, Discord's documented limit for a bot
GLOBAL_WINDOW = 1.05  # seconds: Discord's one-second window, and a margin for the requests' travel
LIVE_SHARE = 0.96  # share of it that the live edits of all channel replies together get (48 of 50)
MAX_WINDOWS = 10_000  # windows remembered before the expired ones are forgotten
CLAIM_VALID_FOR = 0.5  # seconds a claimed place in the global window waits for the request it was claimed for
FIRST_POLL = 0.1  # seconds after which a first live edit held back for its steady interval asks again
CLAIM_POLL = 0.5  # the longest a live edit waits before asking again (so that its reply keeps counting as streaming)
STREAM_SEEN_FOR = 1.5  # seconds a reply that asked for a live edit counts as streaming
_ROOTS = ("webhooks", "interactions", "channels", "guilds", "applications", "users", "gateway", "oauth2")
CHANNEL_MESSAGE_CREATE = "POST /channels/{id}/messages"
T = TypeVar("T")
# When the task's next request claimed its place in the global window already (event-loop time of the claim).
_CLAIMED: ContextVar[float | None] = ContextVar("global_limit_claimed", default=None)


@dataclass(frozen=True, slots=True)
class _Window:
    remaining: int
    resets_at: float  # event-loop time


@functools.lru_cache(maxsize=4096)  # every response is keyed, and a reply's requests repeat their paths
def bucket_key(method: str, path: str) -> str:
    """The key of the bucket a request falls in: `webhook:<application>/<token>` for an interaction's webhook (all
    its routes), `interaction:<id>` for its callback, else `<METHOD> <route>:<major parameter>`, e.g.
    `PATCH /channels/{id}/messages/{id}:123` for any message of channel 123 (`path` may carry the API's prefix)."""
    segments = path.split("/")
    start = next((index for index, segment in enumerate(segments) if segment in _ROOTS), None)
    if start is None:
        return f"{method} {path}:"
    segments = segments[start:]
    if segments[0] == "webhooks":
        return "webhook:" + "/".join(segments[1:3])
    if segments[0] == "interactions":
        return f"interaction:{segments[1] if len(segments) > 1 else ''}"
    major = segments[1] if len(segments) > 1 and segments[1].isdigit() else ""
    route = "/".join("{id}" if segment.isdigit() else segment for segment in segments)
    return f"{method} /{route}:{major}"


def is_globally_limited(key: str) -> bool:
    """Whether requests in this bucket count in the bot's global limit (interaction routes do not)."""
    return not key.startswith(("webhook:", "interaction:"))


def _route(key: str) -> tuple[str, str]:
    route, _, major = key.rpartition(":")
    return route, major


class RateLimitWatch:
    """Remembers the latest window per bucket; `pace` says how long to wait before the next live request."""

    def __init__(self, global_limit: GlobalLimit | None = None) -> None:
        self._hashes: dict[str, str] = {}  # route -> the bucket Discord named for it
        self._windows: dict[str, _Window] = {}  # "<bucket>:<major>" -> its latest window
        self._room_buckets: set[str] = set()  # the buckets channel messages are created in
        self._global = global_limit

    def trace_config(self) -> aiohttp.TraceConfig:
        """Hand this to discord.py (`http_trace=`) so that every response's headers are seen."""
        trace = aiohttp.TraceConfig()
        trace.on_request_end.append(self._on_request_end)
        return trace

    def record(self, method: str, path: str, headers: CIMultiDictProxy[str], now: float) -> None:
        remaining, reset_after = headers.get("X-RateLimit-Remaining"), headers.get("X-RateLimit-Reset-After")
        if remaining is None or reset_after is None:
            return
        route, major = _route(bucket_key(method, path))
        bucket = self._hashes[route] = headers.get("X-RateLimit-Bucket", route)
        if route == CHANNEL_MESSAGE_CREATE:
            self._room_buckets.add(bucket)
        try:
            self._windows[f"{bucket}:{major}"] = _Window(int(remaining), now + float(reset_after))
        except ValueError:
            return
        if len(self._windows) > MAX_WINDOWS:  # buckets of finished interactions are never asked about again
            self._forget_expired(now)

    def pace(self, key: str) -> float:
        """Seconds to wait before the next live request in bucket `key`, so that the window's remaining requests
        are spread evenly until it resets (0: go now)."""
        return self._spread(key, asyncio.get_running_loop().time())

    def claim(self, key: str) -> float:
        """For the task's next live request in bucket `key`: 0 when it may go now (its place in the global window
        taken), else the seconds to wait before asking again."""
        if self._global is None or not is_globally_limited(key):
            return 0.0
        return self._global.claim_live(key, self._first_edit(key, asyncio.get_running_loop().time()))

    def has_room(self, key: str) -> bool:
        """Whether a live request may go in bucket `key` now without taking the room left to the bot's others."""
        window, room = self._window(key)
        now = asyncio.get_running_loop().time()
        return window is None or window.resets_at <= now or window.remaining > room

    def _spread(self, key: str, now: float) -> float:
        window, room = self._window(key)
        if window is None:
            return 0.0
        time_left = window.resets_at - now
        if window.remaining <= room:
            # discord.py waits out a spent window itself, but on the event loop's timer, which under uvloop counts
            # whole milliseconds and may fire a moment early: the next request would land in the old window.
            return max(0.0, time_left) + SPENT_WINDOW_MARGIN if time_left > -SPENT_WINDOW_MARGIN else 0.0
        return max(0.0, time_left / (window.remaining - room + 1))

    def _first_edit(self, key: str, now: float) -> float:
        """Before a channel's first edit, whose window is not known yet: how far apart its new messages would be
        spread (Discord gives both the same limit); 0 once its edits' window is known."""
        route, major = _route(key)
        if self._window(key)[0] is not None or not route.startswith("PATCH /channels/"):
            return 0.0
        window = self._window(f"{CHANNEL_MESSAGE_CREATE}:{major}")[0]
        if window is None or window.remaining <= 0:
            return 0.0
        return max(0.0, window.resets_at - now) / (window.remaining + 1)

    def _window(self, key: str) -> tuple[_Window | None, int]:
        """The latest window of `key`'s bucket, and the room live requests leave in it."""
        route, major = _route(key)
        bucket = self._hashes.get(route, route)
        return self._windows.get(f"{bucket}:{major}"), ROOM if bucket in self._room_buckets else 0

    def _forget_expired(self, now: float) -> None:
        self._windows = {key: window for key, window in self._windows.items() if window.resets_at > now}

    async def _on_request_end(
        self, session: aiohttp.ClientSession, context: SimpleNamespace, params: aiohttp.TraceRequestEndParams
    ) -> None:
        self.record(params.method, params.url.path, params.response.headers, asyncio.get_running_loop().time())


class GlobalLimit:
    """The bot's global rate limit kept on its side: `limited` wraps discord.py's request so that at most
    `per_second` requests go in any `GLOBAL_WINDOW`; `claim_live` lets a live edit go only within `LIVE_SHARE` of
    it."""

    def __init__(
        self,
        per_second: int = DEFAULT_GLOBAL_LIMIT,
        *,
        clock: Callable[[], float] | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.capacity = max(1, per_second)  # in any GLOBAL_WINDOW, which has the margin
        self.live_capacity = max(1, int(per_second * LIVE_SHARE))
        self.live_spacing = GLOBAL_WINDOW / self.capacity
        self._clock = clock
        self._sleep = sleep
        self._sent: deque[float] = deque()
        self._turn = asyncio.Lock()
        self._streams: dict[str, tuple[float, float]] = {}  # live-edited replies: when they last asked, were let go
        self._last_live = float("-inf")

    def _now(self) -> float:
        return self._clock() if self._clock is not None else asyncio.get_running_loop().time()

    async def acquire(self) -> None:
        """Wait until one more request keeps the limit, then count it; callers go in the order they came."""
        async with self._turn:
            while True:
                now = self._now()
                self._expire(now)
                if len(self._sent) < self.capacity:
                    self._sent.append(now)
                    return
                await self._sleep(self._sent[0] + GLOBAL_WINDOW - now)

    def claim_live(self, stream: str, first_interval: float = 0.0) -> float:
        """0 when a live edit of `stream` fits the live share of the window now (its place taken, for the calling
        task's next request); else the seconds until it would.

        The streams that asked lately share the live share evenly: each waits `streams / share` windows after its
        last live edit (a new one, after it first asked), and live edits go one `live_spacing` apart at most, so
        that the share is spread over the window rather than spent at once. A stream's first live edit also waits
        `first_interval` (its bucket's steady interval) divided by the streams asking, so that alone it shows more
        than its first message did, and among many it goes by the fair share: asked again within `FIRST_POLL` as
        their number grows. A wait longer than `CLAIM_POLL` is asked again sooner."""
        now = self._now()
        self._expire(now)
        granted = self._streams.get(stream, (now, now))[1]
        self._streams[stream] = (now, granted)
        self._streams = {name: times for name, times in self._streams.items() if times[0] > now - STREAM_SEEN_FOR}
        fair_gap = len(self._streams) * GLOBAL_WINDOW / self.live_capacity
        wait = max(granted + fair_gap, self._last_live + self.live_spacing) - now
        if first_interval and (first := granted + first_interval / len(self._streams) - now) > wait:
            wait = min(first, FIRST_POLL)
        if len(self._sent) >= self.live_capacity:
            wait = max(wait, self._sent[len(self._sent) - self.live_capacity] + GLOBAL_WINDOW - now)
        if wait > 0:
            return min(wait, CLAIM_POLL)
        self._sent.append(now)
        self._last_live = now
        self._streams[stream] = (now, now)
        _CLAIMED.set(now)
        return 0.0

    def _expire(self, now: float) -> None:
        while self._sent and self._sent[0] <= now - GLOBAL_WINDOW:
            self._sent.popleft()

    def limited(self, request: Callable[..., Awaitable[T]]) -> Callable[..., Awaitable[T]]:
        """`request` (discord.py's `HTTPClient.request`: every bot-authenticated route) within the limit."""

        async def within_limit(*args: Any, **kwargs: Any) -> T:
            claimed = _CLAIMED.get()
            if claimed is not None and self._now() - claimed < CLAIM_VALID_FOR:
                _CLAIMED.set(None)  # its place was taken by `claim_live`
            else:
                await self.acquire()
            return await request(*args, **kwargs)

        return within_limit
