"""Pacing from Discord's rate-limit headers (the remaining requests spread evenly until the window resets, room left
in the bucket channel messages are created in) and the bot's own global limit."""

from __future__ import annotations

import asyncio

import pytest
from multidict import CIMultiDict, CIMultiDictProxy

from bot.app.ratelimits import (
    CLAIM_POLL,
    FIRST_POLL,
    GLOBAL_WINDOW,
    SPENT_WINDOW_MARGIN,
    GlobalLimit,
    RateLimitWatch,
    bucket_key,
    is_globally_limited,
)

EDIT = "PATCH /api/v10/channels/5/messages/9"
CREATE = "POST /api/v10/channels/5/messages"


def headers(remaining: str, reset_after: str, bucket: str | None = None) -> CIMultiDictProxy[str]:
    values = {"X-RateLimit-Remaining": remaining, "X-RateLimit-Reset-After": reset_after}
    return CIMultiDictProxy(CIMultiDict(values | ({"X-RateLimit-Bucket": bucket} if bucket else {})))


def record(watch: RateLimitWatch, request: str, remaining: str, reset_after: str, bucket: str | None = None) -> None:
    method, path = request.split(" ")
    watch.record(method, path, headers(remaining, reset_after, bucket), asyncio.get_running_loop().time())


def key(request: str) -> str:
    return bucket_key(*request.split(" "))


def test_keys_follow_discords_buckets() -> None:
    # Every route of an interaction's webhook shares its token's bucket.
    original = bucket_key("PATCH", "/api/v10/webhooks/1/tok/messages/@original")
    assert (
        original == bucket_key("POST", "/api/v10/webhooks/1/tok") == bucket_key("PATCH", "/webhooks/1/tok/messages/7")
    )
    assert original != bucket_key("PATCH", "/api/v10/webhooks/1/other/messages/@original")
    # A channel's messages are edited in one bucket, created in another, per channel.
    assert key(EDIT) == key("PATCH /api/v10/channels/5/messages/10") != key(CREATE)
    assert key(EDIT) != key("PATCH /api/v10/channels/6/messages/9")
    # Interaction routes are left out of the global limit; every other one counts.
    assert not is_globally_limited(original)
    assert not is_globally_limited(bucket_key("POST", "/api/v10/interactions/3/tok/callback"))
    assert is_globally_limited(key(EDIT)) and is_globally_limited(key(CREATE))


async def test_remaining_requests_are_spread_until_the_reset() -> None:
    watch = RateLimitWatch()
    record(watch, "PATCH /api/v10/webhooks/1/tok/messages/@original", "4", "2.0")
    assert watch.pace(bucket_key("POST", "/webhooks/1/tok")) == pytest.approx(2.0 / 5, abs=0.01)


async def test_a_channels_edits_are_paced_apart_from_its_new_messages() -> None:
    watch = RateLimitWatch()
    record(watch, EDIT, "4", "5.0", bucket="edits")
    record(watch, CREATE, "1", "5.0", bucket="creates")
    record(watch, "POST /api/v10/channels/5/typing", "0", "5.0", bucket="typing")  # a bucket of its own
    assert watch.pace(key(EDIT)) == pytest.approx(5.0 / 5, abs=0.01)
    # One request left in the bucket messages are created in: that one is the room for the bot's other messages.
    assert not watch.has_room(key(CREATE))
    assert watch.pace(key(CREATE)) == pytest.approx(5.0 + SPENT_WINDOW_MARGIN, abs=0.01)
    assert watch.has_room(key(EDIT))


async def test_routes_discord_puts_in_one_bucket_share_its_window_and_its_room() -> None:
    watch = RateLimitWatch()
    record(watch, CREATE, "3", "5.0", bucket="messages")
    record(watch, EDIT, "3", "5.0", bucket="messages")
    # Three left, one of them room: two live edits spread over the five seconds.
    assert watch.pace(key(EDIT)) == pytest.approx(5.0 / 3, abs=0.01)
    record(watch, CREATE, "1", "4.0", bucket="messages")
    assert not watch.has_room(key(EDIT))


async def test_unknown_and_finished_windows_do_not_wait() -> None:
    watch = RateLimitWatch()
    assert watch.pace(bucket_key("PATCH", "/webhooks/1/tok")) == 0
    assert watch.has_room(key(CREATE))
    now = asyncio.get_running_loop().time()
    watch.record("PATCH", "/api/v10/channels/5/messages/1", headers("3", "0"), now - 10)
    assert watch.pace(key(EDIT)) == 0  # the window is over
    watch.record("POST", "/api/v10/channels/5/messages", headers("0", "0"), now - 10)
    assert watch.pace(key(CREATE)) == 0 and watch.has_room(key(CREATE))  # spent, but reset long ago


async def test_a_spent_window_is_waited_out_a_little_past_its_reset() -> None:
    # discord.py waits for the reset too, on a timer that under uvloop may fire a millisecond early.
    watch = RateLimitWatch()
    webhook = "PATCH /api/v10/webhooks/1/tok/messages/@original"
    record(watch, webhook, "0", "1.5")
    assert watch.pace(key(webhook)) == pytest.approx(1.5 + SPENT_WINDOW_MARGIN, abs=0.01)
    record(watch, webhook, "0", "0.000")
    assert watch.pace(key(webhook)) >= SPENT_WINDOW_MARGIN / 2  # just reset: still a moment more


async def test_responses_without_rate_limit_headers_are_ignored() -> None:
    watch = RateLimitWatch()
    watch.record("PATCH", "/api/v10/channels/5/messages/1", CIMultiDictProxy(CIMultiDict()), 0.0)
    assert watch.pace(key(EDIT)) == 0


class SteppingClock:
    """Time that moves only when a waiter sleeps."""

    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def time(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


async def test_the_global_limit_holds_a_burst_back_until_the_window_has_room() -> None:
    clock = SteppingClock()
    limit = GlobalLimit(per_second=10, clock=clock.time, sleep=clock.sleep)
    sent: list[float] = []

    async def request(number: int) -> int:
        sent.append(clock.now)
        return number

    limited = limit.limited(request)
    assert await asyncio.gather(*(limited(number) for number in range(20))) == list(range(20))
    # Ten at once, the next ten a window (a second and a margin) later: never more in any window.
    assert sent[:10] == [100.0] * 10
    assert sent[10] == pytest.approx(100.0 + GLOBAL_WINDOW)
    assert all(later - earlier >= GLOBAL_WINDOW - 1e-9 for earlier, later in zip(sent, sent[10:], strict=False))


async def test_live_edits_share_what_the_global_limit_leaves_evenly() -> None:
    clock = SteppingClock()
    limit = GlobalLimit(per_second=10, clock=clock.time, sleep=clock.sleep)
    assert (limit.capacity, limit.live_capacity) == (10, 9)  # the whole limit, nine of it for live edits
    share = GLOBAL_WINDOW / limit.live_capacity
    assert limit.claim_live("a") == pytest.approx(share)  # a new reply's first live edit: after its fair share
    assert limit.claim_live("b") == pytest.approx(2 * share)  # two replies streaming: two shares each
    clock.now += 2 * share
    assert limit.claim_live("a") == 0
    assert limit.claim_live("b") == pytest.approx(limit.live_spacing)  # not in the same instant as "a"
    clock.now += limit.live_spacing
    assert limit.claim_live("b") == 0
    assert limit.claim_live("a") == pytest.approx(2 * share - limit.live_spacing)  # "a" edited: its turn again later


async def test_live_edits_leave_the_rest_of_the_global_limit_to_everything_else() -> None:
    clock = SteppingClock()
    limit = GlobalLimit(per_second=10, clock=clock.time, sleep=clock.sleep)
    replies = [f"reply {number}" for number in range(12)]
    while clock.now < 102.0:  # twelve replies streaming, asking again as told, until each one's fair share is due
        for reply in replies:
            assert limit.claim_live(reply) <= CLAIM_POLL
        clock.now += 0.1
    granted, start = 0, clock.now
    while clock.now < start + GLOBAL_WINDOW * 0.99:  # then live edits as fast as they may go, for one window
        granted += sum(limit.claim_live(reply) == 0 for reply in replies)
        clock.now += 0.01
    assert granted == limit.live_capacity  # the live share of the window, and no more
    before = clock.now
    await limit.acquire()  # a final edit, a note: there is room still
    assert clock.now == before


async def test_a_lone_replys_first_live_edit_waits_its_steady_interval() -> None:
    clock = SteppingClock()
    limit = GlobalLimit(per_second=10, clock=clock.time, sleep=clock.sleep)
    assert limit.claim_live("a", first_interval=1.0) == pytest.approx(FIRST_POLL)  # asked again soon
    clock.now += 1.0
    assert limit.claim_live("a", first_interval=1.0) == 0
