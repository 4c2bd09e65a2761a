"""Rate limits of the fake Discord: fixed-window token buckets that announce themselves in Discord's headers.

Each REST route belongs to a *kind* of bucket (``message_create``, ``message_edit``, ...). A bucket instance is the
kind plus the route's major parameters (the channel, the interaction token, ...), exactly as Discord and
discord.py key them. A window opens at the first request it admits and closes ``per`` seconds later; the headers
sent with every admitted request tell the truth about it (``Reset-After`` is rounded *up* to the millisecond), so a
client that waits for the reset when ``Remaining`` reaches 0 never sees a 429. Windows run on the monotonic clock
(``loop.time()``), as discord.py's own bucket does.
"""

from __future__ import annotations

import hashlib
import math
import time
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

GLOBAL = "global"
DEFAULT = "default"


@dataclass(frozen=True)
class RateLimit:
    """At most ``limit`` requests per window of ``per`` seconds."""

    limit: int
    per: float

    def __post_init__(self) -> None:
        if self.limit < 1 or self.per <= 0:
            raise ValueError(f"a rate limit needs limit >= 1 and per > 0, not {self.limit}/{self.per}")


# Close to what Discord really sends for a bot (Discord asks clients to follow the headers, not to hard-code these).
DEFAULT_RATE_LIMITS: Mapping[str, RateLimit] = MappingProxyType(
    {
        GLOBAL: RateLimit(50, 1.0),  # every bot-authenticated request, interaction routes excepted
        "message_create": RateLimit(5, 5.0),  # POST /channels/{c}/messages, per channel
        "message_edit": RateLimit(5, 5.0),  # PATCH /channels/{c}/messages/{m}, per channel (all messages share it)
        "message_delete": RateLimit(5, 1.0),  # DELETE /channels/{c}/messages/{m}, per channel
        "typing": RateLimit(5, 5.0),  # POST /channels/{c}/typing, per channel
        "thread_create": RateLimit(5, 5.0),  # POST /channels/{c}/threads and .../messages/{m}/threads, per channel
        "interaction_callback": RateLimit(5, 1.0),  # POST /interactions/{id}/{token}/callback, per interaction
        "interaction_webhook": RateLimit(5, 2.0),  # /webhooks/{app}/{token}/...: edits, followups, per token
        DEFAULT: RateLimit(10, 1.0),  # any other route, per route and major parameters
    }
)


def merge_rate_limits(overrides: Mapping[str, RateLimit] | None) -> dict[str, RateLimit]:
    """The default rules with ``overrides`` applied; an unknown kind is a mistake in the test, so it raises."""
    merged = dict(DEFAULT_RATE_LIMITS)
    for kind, rule in (overrides or {}).items():
        if kind not in merged:
            raise ValueError(f"unknown rate-limit kind {kind!r}; known: {sorted(merged)}")
        merged[kind] = rule
    return merged


def bucket_hash(name: str) -> str:
    """A stable opaque hash like Discord's ``X-RateLimit-Bucket``."""
    return hashlib.sha256(name.encode()).hexdigest()[:32]


def ceil_to_millisecond(seconds: float) -> float:
    return math.ceil(max(seconds, 0.0) * 1000) / 1000


class Bucket:
    """One fixed window of ``rule.limit`` tokens that refills ``rule.per`` seconds after its first use."""

    def __init__(self, rule: RateLimit, hash_: str) -> None:
        self.rule = rule
        self.hash = hash_
        self.remaining = rule.limit
        self.reset_at: float | None = None

    def _roll(self, now: float) -> None:
        if self.reset_at is not None and now >= self.reset_at:
            self.reset_at = None
            self.remaining = self.rule.limit

    def can_take(self, now: float) -> bool:
        self._roll(now)
        return self.remaining > 0

    def take(self, now: float) -> None:
        self._roll(now)
        if self.reset_at is None:
            self.reset_at = now + self.rule.per
        self.remaining -= 1

    def reset_after(self, now: float) -> float:
        if self.reset_at is None:
            return self.rule.per
        return ceil_to_millisecond(self.reset_at - now)


@dataclass(frozen=True)
class Admission:
    """What the limiter decided: ``rejection`` is None when the request may go on; headers go on the response."""

    headers: dict[str, str]
    rejection: Rejection | None = None


@dataclass(frozen=True)
class Rejection:
    bucket_key: str
    retry_after: float
    is_global: bool

    def body(self) -> dict[str, object]:
        return {"message": "You are being rate limited.", "retry_after": self.retry_after, "global": self.is_global}


class RateLimiter:
    """All buckets of one fake Discord, created on first use."""

    def __init__(self, rules: Mapping[str, RateLimit]) -> None:
        self.rules = dict(rules)
        self._buckets: dict[str, Bucket] = {}
        self._global = Bucket(self.rules[GLOBAL], bucket_hash(GLOBAL))

    def admit(self, kind: str, route: str, major: tuple[str, ...], *, global_limited: bool, now: float) -> Admission:
        """Take a token from the route's bucket (and the global one), or say why not."""
        key, bucket = self._bucket_for(kind, route, major)
        if global_limited and not self._global.can_take(now):
            retry = self._global.reset_after(now)
            return Admission(global_headers(), Rejection(GLOBAL, retry, is_global=True))
        if not bucket.can_take(now):
            retry = bucket.reset_after(now)
            return Admission(bucket_headers(bucket, now) | {"X-RateLimit-Scope": "user"}, Rejection(key, retry, False))
        if global_limited:
            self._global.take(now)
        bucket.take(now)
        return Admission(bucket_headers(bucket, now))

    def _bucket_for(self, kind: str, route: str, major: tuple[str, ...]) -> tuple[str, Bucket]:
        name = f"{kind}:{route}" if kind == DEFAULT else kind
        key = ":".join((name, *major))
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = Bucket(self.rules[kind], bucket_hash(name))
        return key, bucket


def bucket_headers(bucket: Bucket, now: float) -> dict[str, str]:
    reset_after = bucket.reset_after(now)
    return {
        "X-RateLimit-Limit": str(bucket.rule.limit),
        "X-RateLimit-Remaining": str(max(bucket.remaining, 0)),
        "X-RateLimit-Reset": f"{time.time() + reset_after:.3f}",
        "X-RateLimit-Reset-After": f"{reset_after:.3f}",
        "X-RateLimit-Bucket": bucket.hash,
    }


def global_headers() -> dict[str, str]:
    return {"X-RateLimit-Global": "true", "X-RateLimit-Scope": "global"}


def rejection_headers(rejection: Rejection) -> dict[str, str]:
    return {"Retry-After": str(math.ceil(rejection.retry_after)), "Via": "1.1 google"}
