"""Durability of the conversation store, on each backend: turns survive SIGKILL, and concurrent channels never mix.

The kill tests run `durability_writer.py` in child processes that acknowledge each turn on stdout only after
`append_turn` returned, kill them with SIGKILL mid-stream, and check that every acknowledged turn is in a
database that opens cleanly (and, on SQLite, passes SQLite's integrity check of the file).
"""

from __future__ import annotations

import asyncio
import itertools
import os
import signal
import sqlite3
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import pytest

from bot.core.fusion import Message
from bot.core.store import ContextBudget, StoreBackend, Turn
from bot.core.store.backends import sqlite_path
from tests.store.conftest import BackendDatabase

REPO_ROOT = Path(__file__).resolve().parents[2]
WRITER = Path(__file__).with_name("durability_writer.py")
ACKS_BEFORE_KILL = 300
READ_TIMEOUT_S = 30


@dataclass(frozen=True, slots=True)
class Ack:
    """A turn the writer reported as stored: `append_turn` had returned its id."""

    channel: int
    turn_id: int
    seq: int


def written_content(channel: int, seq: int) -> str:
    return f"c{channel} #{seq}"  # the format durability_writer.py writes


async def start_writer(database_url: str, channels: list[int]) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        str(WRITER),
        database_url,
        *(str(channel) for channel in channels),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        cwd=REPO_ROOT,
        env=os.environ | {"PYTHONPATH": str(REPO_ROOT)},
    )


def parse_acks(output: bytes) -> list[Ack]:
    """The acknowledgements in `output`; a line cut short by the kill is not one."""
    lines = output.splitlines(keepends=True)
    return [Ack(*map(int, line.split())) for line in lines if line.endswith(b"\n")]


async def read_acks(writer: asyncio.subprocess.Process, count: int) -> list[Ack]:
    assert writer.stdout is not None and writer.stderr is not None
    acks: list[Ack] = []
    while len(acks) < count:
        line = await writer.stdout.readline()
        if not line:
            stderr = (await writer.stderr.read()).decode(errors="replace")
            pytest.fail(f"the writer stopped after {len(acks)} turns:\n{stderr}")
        acks += parse_acks(line)
    return acks


async def kill(writer: asyncio.subprocess.Process) -> list[Ack]:
    """SIGKILL the writer; return the acknowledgements it printed that were not read yet."""
    assert writer.stdout is not None
    if writer.returncode is None:
        writer.kill()
    unread = await writer.stdout.read()
    await writer.wait()
    return parse_acks(unread)


async def acks_until_killed(database_url: str, channel_groups: list[list[int]]) -> list[Ack]:
    """Run one writer per channel group until each acknowledged `ACKS_BEFORE_KILL` turns, then SIGKILL them all."""
    writers = [await start_writer(database_url, channels) for channels in channel_groups]
    try:
        acks_read = await asyncio.wait_for(
            asyncio.gather(*(read_acks(writer, ACKS_BEFORE_KILL) for writer in writers)), READ_TIMEOUT_S
        )
    finally:
        acks_unread = [await kill(writer) for writer in writers]
    assert all(writer.returncode == -signal.SIGKILL for writer in writers), "each writer was still running when killed"
    return [ack for acks in [*acks_read, *acks_unread] for ack in acks]


def integrity_check(database: Path) -> list[str]:
    conn = sqlite3.connect(database)
    try:
        return [row[0] for row in conn.execute("PRAGMA integrity_check")]
    finally:
        conn.close()


def assert_channel_survived(channel: int, stored: list[Turn], acks: list[Ack]) -> None:
    """Every acknowledged turn is stored as written; the stored turns run seq 0, 1, 2... with no gap.

    Only the turn being written at the kill may be stored without an acknowledgement.
    """
    by_id = {turn.id: turn for turn in stored}
    for ack in acks:
        assert ack.turn_id in by_id, f"acknowledged {ack} is missing"
        assert by_id[ack.turn_id].content == written_content(channel, ack.seq)
    assert [turn.content for turn in stored] == [written_content(channel, seq) for seq in range(len(stored))]
    assert [turn.role for turn in stored] == ["user" if seq % 2 == 0 else "assistant" for seq in range(len(stored))]
    last_acknowledged = max(ack.seq for ack in acks)
    assert len(stored) in (last_acknowledged + 1, last_acknowledged + 2)


@pytest.mark.parametrize(
    "channel_groups",
    [pytest.param([[11, 12, 13]], id="one-writer"), pytest.param([[21, 22, 23], [31, 32, 33]], id="two-writers")],
)
async def test_acknowledged_turns_survive_sigkill(backend: BackendDatabase, channel_groups: list[list[int]]) -> None:
    acks = await acks_until_killed(backend.url, channel_groups)

    if backend.name == "sqlite":  # a PostgreSQL server checks its own files
        assert integrity_check(sqlite_path(backend.url)) == ["ok"]
    async with backend.open() as store:
        for channel in itertools.chain.from_iterable(channel_groups):
            channel_acks = [ack for ack in acks if ack.channel == channel]
            assert channel_acks, f"channel {channel} got no acknowledged turn before the kill"
            assert_channel_survived(channel, await store.turns(channel), channel_acks)


def turn_text(channel: int, k: int) -> str:
    return f"channel {channel} turn {k}"


def role_of(k: int) -> Literal["user", "assistant"]:
    return "user" if k % 2 == 0 else "assistant"


async def test_concurrent_appends_keep_each_channel_in_order(store: StoreBackend) -> None:
    channels, turns_each = range(1, 41), 25

    async def converse(channel: int) -> None:
        for k in range(turns_each):
            await store.append_turn(channel, role_of(k), turn_text(channel, k))

    await asyncio.gather(*(converse(channel) for channel in channels))

    first_channel_ids = [turn.id for turn in await store.turns(channels[0])]
    assert any(b - a > 1 for a, b in itertools.pairwise(first_channel_ids)), "the writers never interleaved"
    everything = ContextBudget(max_messages=1000, max_tokens=10**6)
    for channel in channels:
        expected = [(role_of(k), turn_text(channel, k)) for k in range(turns_each)]
        stored = await store.turns(channel)
        assert {turn.channel_id for turn in stored} == {channel}
        assert [(turn.role, turn.content) for turn in stored] == expected
        assert await store.context(channel, everything) == [Message(role=r, content=c) for r, c in expected]


async def test_processes_opening_a_new_database_at_once_all_start(tmp_path: Path) -> None:
    """The console and the bot may first start together: the WAL switch and migration 0001 must not race.

    SQLite only: its file's WAL switch is what it alone has; PostgreSQL's migrations under several processes starting
    at once are `test_postgresql.py`'s `test_four_processes_starting_at_once_apply_each_migration_once`."""
    database = tmp_path / "new" / "bot.sqlite3"
    script = (
        "import asyncio, pathlib, sys\n"
        "from bot.core.store import Store\n"
        "async def main():\n"
        "    await (await Store.open(pathlib.Path(sys.argv[1]))).close()\n"
        "asyncio.run(main())\n"
    )
    openers = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            script,
            str(database),
            stderr=asyncio.subprocess.PIPE,
            cwd=REPO_ROOT,
            env=os.environ | {"PYTHONPATH": str(REPO_ROOT)},
        )
        for _ in range(4)
    ]
    results = await asyncio.wait_for(asyncio.gather(*(opener.communicate() for opener in openers)), READ_TIMEOUT_S)
    assert [opener.returncode for opener in openers] == [0] * 4, [err.decode()[-500:] for _, err in results]
    assert integrity_check(database) == ["ok"]
