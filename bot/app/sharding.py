"""Running on some of the gateway's shards (SHARD_COUNT, SHARD_IDS), as one of several processes sharing a store.

discord.py's `AutoShardedBot` runs the shards (`bot.app.client.ShardedFusionBot`); what several processes must
agree on goes through the store:
IDENTIFY is spaced as Discord requires across all of them (`identify_in_turn`), the commands are synced once
(`FusionBot.sync_commands_if_changed`), and each process repairs only its own shards' work (`bot.app.repair`).
A channel's messages and button presses all arrive on its guild's shard, so "one answer at a time per channel"
stays a rule of one process.
"""

from __future__ import annotations

import asyncio
import logging
import time

from bot.core.store import BotState

log = logging.getLogger(__name__)

# Discord lets `max_concurrency` sessions start per 5 seconds, one per bucket `shard_id % max_concurrency`.
IDENTIFY_INTERVAL = 5.0


async def identify_in_turn(store: BotState, shard_id: int, max_concurrency: int) -> None:
    """Return when the shard may IDENTIFY: once no other process has, in its bucket, for `IDENTIFY_INTERVAL`.

    The bucket's lock is held while waiting and the time is noted before letting go, so processes starting at
    once take turns; the wait is Discord's rate limit, not a poll."""
    bucket = shard_id % max(max_concurrency, 1)
    async with store.exclusive(f"identify-{bucket}"):
        last = await store.state(f"identify-{bucket}-at")
        wait = _seconds_until_next(last)
        if wait > 0:
            log.info("shard %d waits %.1f s to identify (bucket %d)", shard_id, wait, bucket)
            await asyncio.sleep(wait)
        await store.set_state(f"identify-{bucket}-at", repr(time.time()))


def _seconds_until_next(last: str | None) -> float:
    try:
        since = time.time() - float(last) if last is not None else IDENTIFY_INTERVAL
    except ValueError:  # not a time this version wrote
        return 0.0
    return min(IDENTIFY_INTERVAL - since, IDENTIFY_INTERVAL)
