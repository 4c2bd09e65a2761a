"""Child process for test_durability.py: appends turns to a store forever, acknowledging each one on stdout.

    python durability_writer.py DATABASE CHANNEL [CHANNEL ...]

Round after round, appends one turn to each channel with the content `c{channel} #{seq}` and, only once
`append_turn` has returned, prints `channel turn_id seq` and flushes. It stops when it is killed.
"""

from __future__ import annotations

import asyncio
import itertools
import sys
from pathlib import Path

from bot.core.store import Store


def content(channel: int, seq: int) -> str:
    return f"c{channel} #{seq}"


async def write_forever(database: Path, channels: list[int]) -> None:
    store = await Store.open(database)
    for seq in itertools.count():
        role = "user" if seq % 2 == 0 else "assistant"
        for channel in channels:
            turn_id = await store.append_turn(channel, role, content(channel, seq))
            print(channel, turn_id, seq, flush=True)


if __name__ == "__main__":
    asyncio.run(write_forever(Path(sys.argv[1]), [int(channel) for channel in sys.argv[2:]]))
