"""Start-up failures of `python -m bot` as a real process: one readable line naming what to check, the README's
exit status for each, and no traceback or voice warning on the way."""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import sqlite3
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot.__main__ import (
    EXIT_DATABASE_LOCKED,
    EXIT_DATABASE_READ_ONLY,
    EXIT_DISCORD_UNREACHABLE,
    EXIT_DISK_FULL,
    EXIT_TOKEN_REFUSED,
)
from bot.config import Settings
from bot.core.store import Store
from bot.logs import VOICE_WARNINGS
from tests.fake_discord import FakeDiscord

PROJECT_ROOT = Path(__file__).resolve().parents[1]
START_TIMEOUT = 60


@dataclass(frozen=True)
class Ended:
    status: int
    stderr: str

    @property
    def lines(self) -> list[str]:
        return [line for line in self.stderr.splitlines() if line.startswith("fusionbot: ")]


@pytest.fixture
async def fake() -> AsyncIterator[FakeDiscord]:
    async with FakeDiscord() as fake:
        yield fake


def environment(**settings: str) -> dict[str, str]:
    names = {name.upper() for name in Settings.model_fields}
    env = {key: value for key, value in os.environ.items() if key.upper() not in names}
    return env | {"PYTHONPATH": str(PROJECT_ROOT), "FUSION_API_KEY": "test-key"} | settings


def pointed_at(fake: FakeDiscord, database: Path, token: str | None = None) -> dict[str, str]:
    return environment(
        DISCORD_TOKEN=token or fake.token,
        DISCORD_API_BASE=fake.api_base,
        DISCORD_GATEWAY_URL=fake.gateway_url,
        DATABASE_URL=f"sqlite:///{database}",
    )


async def run_bot(env: dict[str, str], *, prefix: tuple[str, ...] = ()) -> Ended:
    process = await asyncio.create_subprocess_exec(
        *prefix, sys.executable, "-m", "bot", env=env, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE
    )
    try:
        _, stderr = await asyncio.wait_for(process.communicate(), START_TIMEOUT)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert process.returncode is not None
    return Ended(process.returncode, stderr.decode())


def assert_one_clear_line(ended: Ended, status: int, *words: str) -> None:
    assert ended.status == status, ended.stderr
    assert len(ended.lines) == 1, ended.stderr
    assert all(word in ended.lines[0] for word in words), ended.lines[0]
    assert "Traceback" not in ended.stderr, ended.stderr
    assert not [warning for warning in VOICE_WARNINGS if warning in ended.stderr], ended.stderr


def closed_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (bound to find it, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def with_mounted(directory: Path, mount: str) -> tuple[str, ...]:
    """A command prefix that runs the rest in a mount namespace of its own where `mount` (a shell command, with the
    directory as `$0`) has been done: a read-only or a tiny file system without touching the machine's."""
    if shutil.which("unshare") is None:
        pytest.skip("no unshare(1) here to mount a file system for the test")
    prefix = ("unshare", "--mount", "--map-root-user", "sh", "-c", f'{mount} && exec "$@"', str(directory))
    probe = subprocess.run([*prefix, "true"], capture_output=True, text=True, check=False)
    if probe.returncode != 0:
        pytest.skip(f"cannot mount in a namespace of our own here: {probe.stderr.strip()}")
    return prefix


@contextmanager
def held_exclusively(path: Path) -> Iterator[None]:
    """Another connection holding the database in an exclusive transaction, as another process would."""
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("BEGIN EXCLUSIVE")
        yield
    finally:
        conn.close()


async def test_a_refused_token_names_the_token(fake: FakeDiscord, tmp_path: Path) -> None:
    ended = await run_bot(pointed_at(fake, tmp_path / "bot.sqlite3", token="not-the-token"))

    assert_one_clear_line(ended, EXIT_TOKEN_REFUSED, "Discord refused DISCORD_TOKEN", "developer portal")


async def test_an_unreachable_discord_names_the_address(tmp_path: Path) -> None:
    api_base = f"http://127.0.0.1:{closed_port()}/api/v10"
    env = environment(
        DISCORD_TOKEN="some-token",
        DISCORD_API_BASE=api_base,
        DISCORD_GATEWAY_URL=f"ws://127.0.0.1:{closed_port()}/",
        DATABASE_URL=f"sqlite:///{tmp_path / 'bot.sqlite3'}",
    )

    ended = await run_bot(env)

    assert_one_clear_line(ended, EXIT_DISCORD_UNREACHABLE, f"cannot reach Discord at {api_base}", "DISCORD_API_BASE")


async def test_a_locked_database_names_the_file(fake: FakeDiscord, tmp_path: Path) -> None:
    database = tmp_path / "bot.sqlite3"
    await (await Store.open(database)).close()

    with held_exclusively(database):
        ended = await run_bot(pointed_at(fake, database))

    assert_one_clear_line(ended, EXIT_DATABASE_LOCKED, f"the database at {database} is locked by another process")


async def test_a_read_only_database_directory_names_what_to_check(fake: FakeDiscord, tmp_path: Path) -> None:
    folder = tmp_path / "read-only"
    folder.mkdir()
    read_only = with_mounted(folder, 'mount --bind "$0" "$0" && mount -o remount,bind,ro "$0"')

    ended = await run_bot(pointed_at(fake, folder / "bot.sqlite3"), prefix=read_only)

    assert_one_clear_line(
        ended, EXIT_DATABASE_READ_ONLY, f"cannot write the database at {folder / 'bot.sqlite3'}", "read-only"
    )


async def test_a_full_disk_names_the_disk(fake: FakeDiscord, tmp_path: Path) -> None:
    folder = tmp_path / "small"
    folder.mkdir()
    tiny = with_mounted(folder, 'mount -t tmpfs -o size=64k fusionbot-test "$0"')

    ended = await run_bot(pointed_at(fake, folder / "bot.sqlite3"), prefix=tiny)

    assert_one_clear_line(ended, EXIT_DISK_FULL, f"the disk holding the database at {folder / 'bot.sqlite3'} is full")
