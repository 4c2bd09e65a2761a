"""The world of `bench/draw.py` and its users: the run's shape (`Options`), the servers and members made in the fake
Discord, one record per request, and each user sending its requests one after another, each reply followed to its
end."""

from __future__ import annotations

import asyncio
import math
import re
import shlex
import time
from collections.abc import Callable
from dataclasses import dataclass

from bench.harness.draws.records import REFUSED, DrawRecord
from tests.fake_discord import FakeDiscord, FakeMessage, Version

DEFERRED_MESSAGE = 5  # the callback of an accepted /draw; a refusal is answered at once, privately (type 4)
LOADING = 1 << 7  # message flag: "the bot is thinking"
CANCEL_BUTTON = "draw:cancel:"  # a reply still waiting or drawing carries the Cancel button
DRAWING = "Drawing"  # in the reply's text while the picture is being drawn
WAITING = "Waiting to draw"  # ... while it waits, with its place in line


@dataclass(frozen=True)
class Options:
    requests: int
    users: int
    servers: int
    max_concurrent: int
    per_server: int
    picture_delay: float
    one_process: bool
    processes: int
    database_url: str | None

    @property
    def at_once(self) -> int:
        return min(self.max_concurrent, self.servers * self.per_server, self.requests)

    @property
    def ideal_seconds(self) -> float:
        return math.ceil(self.requests / self.at_once) * self.picture_delay

    @property
    def deadline_seconds(self) -> float:
        return 3 * self.ideal_seconds + 60

    @property
    def command(self) -> str:
        """The command line that runs this again (a password in the URL hidden)."""
        words = ["python", "bench/draw.py", "--requests", str(self.requests), "--users", str(self.users)]
        words += ["--servers", str(self.servers), "--max-concurrent", str(self.max_concurrent)]
        words += ["--per-server", str(self.per_server), "--picture-delay", f"{self.picture_delay:g}"]
        words += ["--one-process"] if self.one_process else []
        if self.database_url is not None:
            url = re.sub(r"(//[^/:@]*:)[^/@]*@", r"\1***@", self.database_url)
            words += ["--processes", str(self.processes), "--database-url", url]
        return shlex.join(words)


@dataclass(frozen=True)
class Member:
    index: int
    server: int
    user_id: int
    channel_id: int


# --- the world and its users -----------------------------------------------------------------------------------------


def build_world(fake: FakeDiscord, options: Options, shards: int | None) -> list[Member]:
    """The fake's first guild (on shard 0) and `servers - 1` more, server i on shard i mod `shards`; user i is a
    member of server i mod servers only."""
    guilds = [fake.guild_id] + [
        fake.add_guild(f"Bench Server {index}", shard=None if shards is None else index % shards)
        for index in range(1, options.servers)
    ]
    members = []
    for index in range(options.users):
        server = index % options.servers
        user_id = fake.add_member(f"bench-user-{index}", guild_id=guilds[server])
        members.append(Member(index, server, user_id, fake.default_channel_of(guilds[server])))
    return members


def make_records(options: Options, members: list[Member]) -> list[DrawRecord]:
    """Request k is request number k // users of user k mod users."""
    records = []
    for k in range(options.requests):
        member, number = members[k % options.users], k // options.users
        records.append(DrawRecord(member.index, number, member.server, f"bench picture u{member.index}-r{number}"))
    return records


def version_is_final(version: Version) -> bool:
    """Shows how the request ended: no longer loading, no Cancel button, something shown."""
    buttons = (item.get("custom_id", "") for row in version.components for item in row.get("components", []))
    pending = any(custom_id.startswith(CANCEL_BUTTON) for custom_id in buttons)
    return not version.flags & LOADING and not pending and bool(version.content or version.embeds)


def shows_drawing(version: Version) -> bool:
    """Shows the request being drawn, or how it ended: it is no longer waiting."""
    return DRAWING in version.content or version_is_final(version)


def shows_place(version: Version) -> bool:
    """Shows the request admitted: its place in line, or it drawn (or how it ended)."""
    return WAITING in version.content or shows_drawing(version)


def left_waiting(message: FakeMessage) -> Callable[[], bool]:
    return lambda: bool(message.versions) and shows_drawing(message.versions[-1])


async def wait_for(fake: FakeDiscord, check: Callable[[], bool], deadline: float) -> None:
    await fake.wait_until(check, timeout=max(0.1, deadline - time.monotonic()))


async def user_session(
    fake: FakeDiscord, member: Member, records: list[DrawRecord], deadline: float
) -> list[asyncio.Task[None]]:
    """Send the member's requests one after another, each once the previous one has left the waiting state;
    return the tasks following each reply to its end."""
    followers = []
    for record in records:
        record.sent_at = time.monotonic()
        handle = await fake.slash_command(
            "draw", {"prompt": record.prompt}, channel_id=member.channel_id, user_id=member.user_id
        )
        try:
            callback = await handle.responded(timeout=max(0.1, deadline - time.monotonic()))
            if callback.type != DEFERRED_MESSAGE:
                record.outcome, record.detail = REFUSED, str(callback.data.get("content", ""))[:160]
                continue
            message = await handle.original_message()
            await wait_for(fake, left_waiting(message), deadline)
        except TimeoutError:
            record.detail = "still waiting at the deadline"
            continue
        followers.append(asyncio.create_task(follow(fake, record, message, deadline)))
    return followers


async def follow(fake: FakeDiscord, record: DrawRecord, message: FakeMessage, deadline: float) -> None:
    """Wait until the reply shows how the request ended; keep that version."""
    try:
        await wait_for(fake, lambda: any(map(version_is_final, message.versions)), deadline)
    except TimeoutError:
        record.detail = "no final reply by the deadline"
        return
    record.final = next(version for version in message.versions if version_is_final(version))
    record.shown_drawing_at = next(version.at for version in message.versions if shows_drawing(version))
    record.admitted_at = next(version.at for version in message.versions if shows_place(version))
    record.edits = len(message.versions) - 1


async def drive(fake: FakeDiscord, members: list[Member], records: list[DrawRecord], deadline: float) -> None:
    """All users at once; returns when every reply has ended (or the deadline passed)."""
    sessions = [user_session(fake, m, [r for r in records if r.user == m.index], deadline) for m in members]
    followers = [task for tasks in await asyncio.gather(*sessions) for task in tasks]
    await asyncio.gather(*followers)
