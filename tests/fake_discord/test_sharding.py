"""Sharding against the real discord.py `AutoShardedBot`: each process gets its shard's guilds and events only.

Two bots with ``shard_ids=[0]`` and ``[1]`` of two shards stand for two processes; they connect to one fake over
127.0.0.1 like any other client. Whether an event wrongly reached the other shard is told without waiting for it
not to happen: events reach one connection in order, so once a later event of the other shard's own has arrived,
a stray earlier one would have arrived before it.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import discord
import pytest
from discord.ext import commands

from tests.fake_discord import FakeDiscord, IdentifyRecord, discord_py_pointed_at, running_client
from tests.fake_discord.checks import Outcome, assert_clean, make_bot

SESSION_EVENTS = frozenset({"READY", "RESUMED"})


class ShardedBot(commands.AutoShardedBot):
    """An auto-sharded bot for the fake: it identifies each shard at once and records what reaches it."""

    def __init__(self, shard_ids: list[int] | None = None, shard_count: int | None = None) -> None:
        super().__init__(
            command_prefix="!",
            intents=discord.Intents.default(),
            shard_ids=shard_ids,
            shard_count=shard_count,
            guild_ready_timeout=0.1,
        )
        self.user_messages: asyncio.Queue[discord.Message] = asyncio.Queue()
        self.tree.command(name="where", description="Which shards answer")(where)

    async def before_identify_hook(self, shard_id: int | None, *, initial: bool = False) -> None:
        """Discord's default waits 5 s between shards; the fake does not limit session starts."""

    async def on_message(self, message: discord.Message) -> None:
        if self.user is not None and message.author.id != self.user.id:
            self.user_messages.put_nowait(message)

    async def next_user_message(self) -> discord.Message:
        return await asyncio.wait_for(self.user_messages.get(), 5.0)


async def where(interaction: discord.Interaction) -> None:
    """``/where``: answers with the shard ids of the bot that got it."""
    assert isinstance(interaction.client, commands.AutoShardedBot)
    await interaction.response.send_message(f"shards {interaction.client.shard_ids}")


@pytest.fixture
async def sharded() -> AsyncIterator[FakeDiscord]:
    """A fake Discord of two shards; its first guild is on shard 0."""
    async with FakeDiscord(shard_count=2) as server:
        yield server
        assert server.stats.internal_errors == []


@contextlib.asynccontextmanager
async def two_processes(fake: FakeDiscord) -> AsyncIterator[tuple[ShardedBot, ShardedBot]]:
    """Shard 0 and shard 1 of two, each in a bot of its own, both ready."""
    zero, one = ShardedBot([0], 2), ShardedBot([1], 2)
    async with running_client(fake, zero), running_client(fake, one):
        yield zero, one


def guild_of_event(event: str, data: dict[str, Any]) -> int | None:
    key = "id" if event == "GUILD_CREATE" else "guild_id"
    return int(data[key]) if data.get(key) else None


def shards_reached(fake: FakeDiscord, shard_id: int) -> set[int]:
    """The shards of the guilds (0 for no guild) of every event but the session's own written to ``shard_id``."""
    events = [(event, data) for event, data in fake.dispatched_on_shard(shard_id) if event not in SESSION_EVENTS]
    return {fake.shard_of(guild_of_event(event, data)) for event, data in events}


def readies_of(fake: FakeDiscord, shard_id: int) -> list[dict[str, Any]]:
    return [data for event, data in fake.dispatched_on_shard(shard_id) if event == "READY"]


async def test_gateway_bot_reports_the_shard_count_and_the_session_start_limit() -> None:
    async with FakeDiscord(shard_count=3, max_concurrency=2) as fake:
        client = discord.AutoShardedClient(intents=discord.Intents.default())
        with discord_py_pointed_at(fake):
            try:
                await client.login(fake.token)
                shards, url, _ = await client.http.get_bot_gateway()
                limits = await client.fetch_session_start_limits()
            finally:
                await client.close()
    assert (shards, url) == (3, fake.gateway_url)
    assert limits.max_concurrency == 2 and limits.remaining == limits.total > 0 and limits.reset_after > 0
    assert_clean(fake)


async def test_each_process_is_ready_with_its_shards_guilds_only(sharded: FakeDiscord) -> None:
    fake = sharded
    also_zero, one = fake.add_guild("Also zero", shard=0), fake.add_guild("One", shard=1)
    assert [fake.shard_of(g) for g in (fake.guild_id, also_zero, one)] == [0, 0, 1]
    async with two_processes(fake) as (zero_bot, one_bot):
        assert sorted(g.id for g in zero_bot.guilds) == sorted([fake.guild_id, also_zero])
        assert [g.id for g in one_bot.guilds] == [one]
        guild = one_bot.get_guild(one)
        assert guild is not None and guild.shard_id == 1 and guild.name == "One"
    readies = [readies_of(fake, shard) for shard in (0, 1)]
    assert [[(r["shard"], sorted(g["id"] for g in r["guilds"])) for r in ready] for ready in readies] == [
        [([0, 2], sorted([str(fake.guild_id), str(also_zero)]))],
        [([1, 2], [str(one)])],
    ]
    assert shards_reached(fake, 0) == {0} and shards_reached(fake, 1) == {1}
    records = fake.identifies
    assert [(r.shard_id, r.shard_count, r.close_code) for r in records] == [(0, 2, None), (1, 2, None)]
    assert [r.session_id for r in records] == [ready[0]["session_id"] for ready in readies]
    assert records[0].at <= records[1].at
    assert_clean(fake)


async def test_a_guild_joined_later_and_its_channels_reach_only_its_shard(sharded: FakeDiscord) -> None:
    fake = sharded
    async with two_processes(fake) as (zero_bot, one_bot):
        joined = asyncio.ensure_future(one_bot.wait_for("guild_join"))
        channel_in_zero = asyncio.ensure_future(zero_bot.wait_for("guild_channel_create"))
        one = fake.add_guild("One", shard=1)
        art = fake.add_channel("art", guild_id=one)
        fake.add_channel("news")  # in the first guild, on shard 0
        guild = await asyncio.wait_for(joined, 5.0)
        assert guild.id == one and guild.shard_id == 1
        assert (await asyncio.wait_for(channel_in_zero, 5.0)).guild.id == fake.guild_id
        assert zero_bot.get_guild(one) is None and zero_bot.get_channel(art) is None
    assert shards_reached(fake, 0) == {0} and shards_reached(fake, 1) == {1}
    assert_clean(fake)


async def test_an_interaction_and_a_message_reach_only_the_process_of_their_guilds_shard(
    sharded: FakeDiscord,
) -> None:
    fake = sharded
    one = fake.add_guild("One", shard=1)
    in_one = fake.default_channel_of(one)
    async with two_processes(fake) as (zero_bot, one_bot):
        asked_in_one = await fake.slash_command("where", channel_id=in_one)
        asked_in_zero = await fake.slash_command("where")
        assert (await asked_in_one.original_message()).content == "shards [1]"
        assert (await asked_in_zero.original_message()).content == "shards [0]"
        said_in_one = await fake.send_user_message(in_one, fake.user_id, "hello one")
        said_in_zero = await fake.send_user_message(fake.channel_id, fake.user_id, "hello zero")
        assert (await one_bot.next_user_message()).id == said_in_one.id
        assert (await zero_bot.next_user_message()).id == said_in_zero.id
    assert (asked_in_one.record.shard_id, asked_in_zero.record.shard_id) == (1, 0)
    assert zero_bot.user_messages.empty() and one_bot.user_messages.empty()
    assert shards_reached(fake, 0) == {0} and shards_reached(fake, 1) == {1}
    assert_clean(fake)


async def test_a_dm_reaches_only_shard_zero(sharded: FakeDiscord) -> None:
    fake = sharded
    one = fake.add_guild("One", shard=1)
    dora = fake.add_user("dora")
    dm = fake.open_dm(dora)
    async with two_processes(fake) as (zero_bot, one_bot):
        said_in_dm = await fake.send_user_message(dm, dora, "hi bot")
        asked_in_dm = await fake.slash_command("where", channel_id=dm)
        said_in_one = await fake.send_user_message(fake.default_channel_of(one), fake.user_id, "hello one")
        received = await zero_bot.next_user_message()
        assert received.id == said_in_dm.id and isinstance(received.channel, discord.DMChannel)
        assert (await asked_in_dm.original_message()).content == "shards [0]"
        assert (await one_bot.next_user_message()).id == said_in_one.id
    assert asked_in_dm.record.shard_id == 0 and fake.shard_of(None) == 0
    assert one_bot.user_messages.empty()
    assert_clean(fake)


@pytest.mark.parametrize(("shard_id", "shard_count"), [(0, 3), (2, 2)])
async def test_a_shard_the_application_does_not_have_is_refused_with_4010(
    sharded: FakeDiscord, shard_id: int, shard_count: int
) -> None:
    fake = sharded
    bot = ShardedBot([shard_id], shard_count)
    with discord_py_pointed_at(fake):
        try:
            await bot.login(fake.token)
            with pytest.raises(discord.ConnectionClosed) as closed:
                await asyncio.wait_for(bot.connect(), 10.0)
        finally:
            await bot.close()
    assert closed.value.code == 4010
    (record,) = fake.identifies
    assert record == IdentifyRecord(shard_id, shard_count, record.at, close_code=4010) and not record.accepted
    assert fake.dispatched_on_shard(shard_id) == []
    assert_clean(fake)


async def test_one_process_without_a_count_asks_the_gateway_and_runs_every_shard(sharded: FakeDiscord) -> None:
    fake = sharded
    one = fake.add_guild("One", shard=1)
    bot = ShardedBot()
    async with running_client(fake, bot):
        assert bot.shard_count == 2 and sorted(bot.shards) == [0, 1]
        assert {g.id: g.shard_id for g in bot.guilds} == {fake.guild_id: 0, one: 1}
        asked = await fake.slash_command("where", channel_id=fake.default_channel_of(one))
        assert (await asked.original_message()).content == "shards None"
        assert fake.stats.requests_to("GET /gateway/bot") == 1  # asked once, at start-up
        limits = await bot.fetch_session_start_limits()
        assert (limits.remaining, limits.max_concurrency) == (limits.total - 2, 1)
    assert asked.record.shard_id == 1
    assert [(r.shard_id, r.shard_count) for r in fake.identifies] == [(0, 2), (1, 2)]
    assert_clean(fake)


async def test_a_resumed_session_keeps_serving_its_shard(sharded: FakeDiscord) -> None:
    fake = sharded
    one = fake.add_guild("One", shard=1)
    async with two_processes(fake):
        await fake.close_gateway(4000)
        await fake.wait_until(lambda: fake.stats.resumes == 2)
        connection = await fake.wait_for_gateway(shard=1)
        assert connection.shard_id == 1
        asked = await fake.slash_command("where", channel_id=fake.default_channel_of(one))
        assert (await asked.original_message()).content == "shards [1]"
    assert asked.record.shard_id == 1 and len(fake.identifies) == 2
    assert shards_reached(fake, 1) == {1}
    assert_clean(fake)


async def test_an_unsharded_client_of_a_sharded_fake_gets_every_guild_and_event(sharded: FakeDiscord) -> None:
    fake = sharded
    one = fake.add_guild("One", shard=1)
    bot = make_bot()
    answered = Outcome()

    @bot.tree.command(description="Which guild")
    async def where(interaction: discord.Interaction) -> None:
        answered.set(interaction.guild_id)
        await interaction.response.send_message("here")

    async with running_client(fake, bot):
        assert sorted(g.id for g in bot.guilds) == sorted([fake.guild_id, one])
        asked = await fake.slash_command("where", channel_id=fake.default_channel_of(one))
        assert await answered.get() == one
        await asked.original_message()
    assert asked.record.shard_id is None
    assert [(r.shard_id, r.shard_count) for r in fake.identifies] == [(None, None)]
    assert_clean(fake)


async def test_a_guild_can_be_put_on_a_shard_only_of_a_sharded_fake(fake: FakeDiscord, sharded: FakeDiscord) -> None:
    with pytest.raises(ValueError, match="shard_count"):
        fake.add_guild("Nowhere", shard=0)
    with pytest.raises(ValueError, match="not one of the 2 shards"):
        sharded.add_guild("Nowhere", shard=2)
    ids = [sharded.add_guild(f"On {shard}", shard=shard) for shard in (1, 1, 0, 1)]
    assert [sharded.shard_of(guild_id) for guild_id in ids] == [1, 1, 0, 1]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    assert fake.shard_of(fake.guild_id, 1) == 0
