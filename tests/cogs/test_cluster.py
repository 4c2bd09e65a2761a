"""Cluster mode: two `python -m bot` processes, shards 0 and 1 of 2, sharing one PostgreSQL, against a fake
Discord that shards like Discord and the fusion emulator.

Each test gets a PostgreSQL schema of its own (`tests.postgres`); without a server the tests skip, unless
FUSIONBOT_REQUIRE_POSTGRES=1 (CI).
"""

from __future__ import annotations

import asyncio
import signal
import sys
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot.app.sharding import IDENTIFY_INTERVAL
from bot.app.streaming import GENERATING_MARKER
from bot.config import Settings
from bot.emulator import most_drawing_at_once, received_requests
from tests.cogs.test_chat import buttons, finished
from tests.cogs.test_crash_repair import has_button
from tests.cogs.test_draw import is_final
from tests.cogs.test_process import environment
from tests.emulator_server import EmulatorServer
from tests.fake_discord import FakeDiscord, FakeMessage

SHARDS = 2


@pytest.fixture
async def fake() -> AsyncIterator[FakeDiscord]:
    async with FakeDiscord(shard_count=SHARDS) as sharded:
        yield sharded


@dataclass
class BotProcess:
    shard: int
    process: asyncio.subprocess.Process
    log: Path

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)

    async def stop(self) -> None:
        """SIGTERM, and a clean exit within 30 s."""
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
        await asyncio.wait_for(self.process.wait(), timeout=30)
        assert self.process.returncode in (0, -signal.SIGKILL), self.log.read_text()[-3000:]


@pytest.fixture
async def cluster(
    fake: FakeDiscord,
    emulator: EmulatorServer,
    dsn: str,
    tmp_path: Path,
) -> AsyncIterator[Cluster]:
    async with Cluster(fake, emulator, dsn, tmp_path) as running:
        yield running


class Cluster:
    """Bot processes of one deployment: the same token, fusion API and database, each on its own shard."""

    def __init__(self, fake: FakeDiscord, emulator: EmulatorServer, dsn: str, folder: Path) -> None:
        self.fake, self.emulator, self.dsn, self.folder = fake, emulator, dsn, folder
        self.settings = Settings(
            discord_token=fake.token,
            discord_api_base=fake.api_base,
            discord_gateway_url=fake.gateway_url,
            fusion_api_url=emulator.url,
            fusion_api_key="test-key",
            database_url=dsn,
        )
        self._stack = AsyncExitStack()
        self._started = 0

    async def __aenter__(self) -> Cluster:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self._stack.aclose()

    async def start(self, *shards: int, **settings: str) -> list[BotProcess]:
        """Start one process per shard at the same moment; return once each has identified (its start-up repair
        and command sync are done by then)."""
        identified = len(self.fake.identifies)
        processes = [await self._stack.enter_async_context(self._process(shard, settings)) for shard in shards]
        await self.fake.wait_until(
            lambda: {r.shard_id for r in self.fake.identifies[identified:] if r.accepted} >= set(shards),
            timeout=30 + IDENTIFY_INTERVAL * len(shards),
        )
        return processes

    @asynccontextmanager
    async def _process(self, shard: int, settings: dict[str, str]) -> AsyncIterator[BotProcess]:
        self._started += 1
        log = self.folder / f"bot-{shard}-{self._started}.log"
        env = environment(self.settings) | {
            "SHARD_COUNT": str(SHARDS),
            "SHARD_IDS": str(shard),
            "IMAGE_FETCH_ALLOW_PRIVATE": "true",
            "FUSION_RETRY_BACKOFF": "0.01",
            "LOG_LEVEL": "INFO",
        }
        with log.open("wb") as output:
            process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bot", env=env | settings, stdout=output, stderr=output
            )
        running = BotProcess(shard, process, log)
        try:
            yield running
        finally:
            if process.returncode is None:
                process.kill()
            await process.wait()
            assert "Traceback" not in log.read_text(), log.read_text()[-3000:]


async def ask(fake: FakeDiscord, prompt: str, channel_id: int, user_id: int | None = None) -> FakeMessage:
    interaction = await fake.slash_command("chat", {"prompt": prompt}, channel_id=channel_id, user_id=user_id)
    return await interaction.original_message()


async def private_answer_in(fake: FakeDiscord, channel_id: int, count: int = 1) -> str:
    """The text of the `count`-th private answer in the channel."""
    answers = await fake.wait_until(
        lambda: (found := [m for m in fake.messages_in(channel_id) if m.ephemeral])[count - 1 :] and found
    )
    return answers[count - 1].content


async def test_two_processes_starting_at_once_sync_once_and_answer_each_guild_on_its_shard(
    fake: FakeDiscord, emulator: EmulatorServer, cluster: Cluster
) -> None:
    await cluster.start(0, 1)  # on an empty database: both migrate, one syncs
    assert len(fake.command_syncs) == 1
    first, second = (r for r in fake.identifies if r.accepted)
    assert second.at - first.at >= IDENTIFY_INTERVAL * 0.9, "max_concurrency 1: one IDENTIFY per 5 s in all"

    other_guild = fake.add_guild("On shard 1", shard=1)
    answers = [
        await ask(fake, "hello from shard 0", fake.channel_id),
        await ask(fake, "hello from shard 1", fake.default_channel_of(other_guild)),
    ]
    await fake.wait_until(lambda: all(finished(answer) for answer in answers), timeout=30)

    assert [i.shard_id for i in fake.interactions[-2:]] == [0, 1]
    assert sorted(r.body["messages"][-1]["content"] for r in received_requests(emulator.app)) == [
        "tester: hello from shard 0",
        "tester: hello from shard 1",
    ], "each question asked once, by the process of its shard"
    assert all(len(answer.content) > 0 and GENERATING_MARKER not in answer.content for answer in answers)


async def test_the_picture_limit_and_order_hold_across_processes(
    fake: FakeDiscord, emulator: EmulatorServer, cluster: Cluster
) -> None:
    other_guild = fake.add_guild("On shard 1", shard=1)
    channels = [fake.channel_id, fake.default_channel_of(other_guild)]
    members = [fake.add_member(f"artist {n}", guild_id=fake.guild_id if n % 2 == 0 else other_guild) for n in range(10)]
    await cluster.start(0, 1, DRAW_MAX_CONCURRENT="3", DRAW_MAX_CONCURRENT_PER_SERVER="3", DRAW_COOLDOWN_SECONDS="0")

    replies = []
    for n, member in enumerate(members):
        draw = await fake.slash_command(
            "draw", {"prompt": f"picture {n} [emu:picture-delay=0.6]"}, channel_id=channels[n % 2], user_id=member
        )
        replies.append(await draw.original_message())
    await fake.wait_until(lambda: all(is_final(reply) for reply in replies), timeout=60)

    assert all(reply.files for reply in replies), "none lost"
    assert most_drawing_at_once(emulator.app) == 3
    drawn = [int(r.body["messages"][-1]["content"].split()[1]) for r in received_requests(emulator.app)]
    assert sorted(drawn) == list(range(10))
    assert all(n <= place + 2 for place, n in enumerate(drawn)), f"first come, first served: {drawn}"


async def test_one_member_in_two_shards_has_one_waiting_picture_and_one_cooldown(
    fake: FakeDiscord, cluster: Cluster
) -> None:
    other_guild = fake.add_guild("On shard 1", shard=1)
    elsewhere = fake.default_channel_of(other_guild)
    member = fake.add_member("in both servers")
    fake.join_guild(member, other_guild)
    await cluster.start(0, 1, DRAW_MAX_CONCURRENT="1", DRAW_COOLDOWN_SECONDS="600")

    blocker = await (await fake.slash_command("draw", {"prompt": "slow [emu:picture-delay=30]"})).original_message()
    await fake.wait_until(lambda: "Drawing" in blocker.content, timeout=20)
    mine = await (await fake.slash_command("draw", {"prompt": "mine"}, user_id=member)).original_message()
    await fake.wait_until(lambda: "Waiting" in mine.content or "next in line" in mine.content, timeout=20)
    await fake.slash_command("draw", {"prompt": "again"}, channel_id=elsewhere, user_id=member)
    assert "already have a picture waiting" in await private_answer_in(fake, elsewhere), "the other shard knows"

    cancel = next(c for c in buttons(mine) if c.startswith("draw:cancel:"))
    await fake.click_button(mine.id, cancel, user_id=member)
    await fake.wait_until(lambda: is_final(mine), timeout=20)
    cancel = next(c for c in buttons(blocker) if c.startswith("draw:cancel:"))
    await fake.click_button(blocker.id, cancel)
    await fake.wait_until(lambda: is_final(blocker), timeout=20)
    # Cancelled requests cost nothing; a drawn one puts off the next on every shard.
    drawn = await (await fake.slash_command("draw", {"prompt": "drawn"}, user_id=member)).original_message()
    await fake.wait_until(lambda: is_final(drawn), timeout=30)
    assert drawn.files
    await fake.slash_command("draw", {"prompt": "too soon"}, channel_id=elsewhere, user_id=member)
    assert "Please wait" in await private_answer_in(fake, elsewhere, 2)


async def test_a_killed_process_is_repaired_by_the_next_owner_of_its_shard_only(
    fake: FakeDiscord, cluster: Cluster
) -> None:
    other_guild = fake.add_guild("On shard 1", shard=1)
    first, second = await cluster.start(0, 1)

    story = await ask(fake, "a long story [emu:length=6000][emu:delay=0.05]", fake.default_channel_of(other_guild))
    await fake.wait_until(lambda: GENERATING_MARKER in story.content and has_button(story, "chat:stop:"))
    second.kill()
    await second.process.wait()

    still_served = await ask(fake, "are you there?", fake.channel_id)
    await fake.wait_until(lambda: finished(still_served), timeout=30)
    await first.stop()
    await cluster.start(0)  # shard 0's next process repairs shard 0's work only
    assert GENERATING_MARKER in story.content and "the bot restarted" not in story.content

    await cluster.start(1)
    await fake.wait_until(lambda: "the bot restarted" in story.content, timeout=30)
    assert has_button(story, "chat:regen:") and not has_button(story, "chat:stop:")
