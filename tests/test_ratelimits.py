"""Pacing from Discord's rate-limit headers: the remaining requests spread evenly until the window resets."""

from __future__ import annotations

import asyncio

import pytest
from multidict import CIMultiDict, CIMultiDictProxy

from bot.app.ratelimits import SPENT_WINDOW_MARGIN, RateLimitWatch, bucket_key


def headers(remaining: str, reset_after: str) -> CIMultiDictProxy[str]:
    return CIMultiDictProxy(CIMultiDict({"X-RateLimit-Remaining": remaining, "X-RateLimit-Reset-After": reset_after}))


@pytest.mark.parametrize(
    ("path", "key"),
    [
        ("/api/v10/webhooks/1/tok/messages/@original", "/webhooks/1/tok"),
        ("/api/v10/webhooks/1/tok", "/webhooks/1/tok"),
        ("/api/v10/channels/5/messages/9", "/channels/5"),
        ("/api/v10/users/@me", "/api/v10/users/@me"),
    ],
)
def test_paths_map_to_their_bucket(path: str, key: str) -> None:
    assert bucket_key(path) == key


async def test_remaining_requests_are_spread_until_the_reset() -> None:
    watch = RateLimitWatch()
    now = asyncio.get_running_loop().time()
    watch.record("/api/v10/webhooks/1/tok/messages/@original", headers("4", "2.0"), now)
    assert watch.pace("/webhooks/1/tok") == pytest.approx(2.0 / 5, abs=0.01)


async def test_unknown_and_finished_windows_do_not_wait() -> None:
    watch = RateLimitWatch()
    now = asyncio.get_running_loop().time()
    assert watch.pace("/webhooks/1/tok") == 0
    watch.record("/api/v10/channels/5/messages", headers("3", "0"), now - 10)
    assert watch.pace("/channels/5") == 0  # the window is over
    watch.record("/api/v10/channels/6/messages", headers("0", "0"), now - 10)
    assert watch.pace("/channels/6") == 0  # spent, but reset long ago


async def test_a_spent_window_is_waited_out_a_little_past_its_reset() -> None:
    # discord.py waits for the reset too, on a timer that under uvloop may fire a millisecond early.
    watch = RateLimitWatch()
    now = asyncio.get_running_loop().time()
    watch.record("/api/v10/webhooks/1/tok", headers("0", "1.5"), now)
    assert watch.pace("/webhooks/1/tok") == pytest.approx(1.5 + SPENT_WINDOW_MARGIN, abs=0.01)
    watch.record("/api/v10/webhooks/1/tok", headers("0", "0.000"), now)
    assert watch.pace("/webhooks/1/tok") >= SPENT_WINDOW_MARGIN / 2  # just reset: still a moment more


async def test_responses_without_rate_limit_headers_are_ignored() -> None:
    watch = RateLimitWatch()
    watch.record("/api/v10/channels/5", CIMultiDictProxy(CIMultiDict()), 0.0)
    assert watch.pace("/channels/5") == 0
