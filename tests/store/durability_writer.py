"""Child process for test_durability.py: appends turns to a store forever, acknowledging each one on stdout.

    python durability_writer.py DATABASE_URL CHANNEL [CHANNEL ...]

DATABASE_URL names the store as the bot's setting does (`sqlite:///path` or `postgresql://...`).

Round after round, appends one turn to each channel with the content `c{channel} #{seq}` and, only once
`append_turn` has returned, prints `channel turn_id seq` and flushes. It stops when it is killed.
"""

from __future__ import annotations

import asyncio
import itertools
import sys

from bot.core.store.backends import open_store


def content(channel: int, seq: int) -> str:
    return f"c{channel} #{seq}"


async def write_forever(database_url: str, channels: list[int]) -> None:
    store = await open_store(database_url)
    for seq in itertools.count():
        role = "user" if seq % 2 == 0 else "assistant"
        for channel in channels:
            turn_id = await store.append_turn(channel, role, content(channel, seq))
            print(channel, turn_id, seq, flush=True)


if __name__ == "__main__":
    asyncio.run(write_forever(sys.argv[1], [int(channel) for channel in sys.argv[2:]]))
