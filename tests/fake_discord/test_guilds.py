"""Several guilds against the real discord.py client: READY and GUILD_CREATE, live joins, per-guild interactions."""

from __future__ import annotations

import asyncio

import discord

from tests.fake_discord import FakeDiscord, running_client
from tests.fake_discord.checks import Outcome, assert_clean, make_bot

MANAGE_MESSAGES = 1 << 13


async def test_every_guild_arrives_after_ready_and_a_new_one_joins_live(fake: FakeDiscord) -> None:
    second = fake.add_guild("Second")
    bot = make_bot()
    joined = Outcome()

    @bot.event
    async def on_guild_join(guild: discord.Guild) -> None:
        joined.set(guild.id)

    async with running_client(fake, bot):
        assert sorted(g.id for g in bot.guilds) == sorted([fake.guild_id, second])
        guild = bot.get_guild(second)
        assert guild is not None and guild.name == "Second" and guild.default_role.id == second
        assert [c.id for c in guild.text_channels] == [fake.default_channel_of(second)]
        assert guild.me is not None and [r.name for r in guild.me.roles] == ["@everyone", "FakeBot"]
        assert guild.owner_id == fake.user_id and guild.member_count == 2
        third = fake.add_guild("Third")
        assert await joined.get() == third
        assert bot.get_guild(third) is not None
    assert fake.guild_ids == [fake.guild_id, second, third]
    assert fake.stats.dispatched["GUILD_CREATE"] == 3
    assert_clean(fake)


async def test_interactions_carry_their_channels_guild_member_and_permissions(fake: FakeDiscord) -> None:
    second = fake.add_guild("Second")
    mods = fake.add_role("mods", guild_id=second, permissions=MANAGE_MESSAGES)
    alice = fake.add_member("alice", guild_id=second, roles=[mods])
    fake.join_guild(alice, fake.guild_id)
    bot = make_bot()
    seen: list[tuple[int | None, int, bool, int]] = []
    answered: list[int] = []
    done = Outcome()

    @bot.tree.command(description="Where am I")
    async def where(interaction: discord.Interaction) -> None:
        assert isinstance(interaction.user, discord.Member) and interaction.channel is not None
        user_guild = interaction.user.guild.id
        seen.append((interaction.guild_id, user_guild, interaction.permissions.manage_messages, interaction.channel.id))
        await interaction.response.send_message(f"in {interaction.guild_id}")
        answered.append(interaction.id)
        if len(answered) == 2:  # both replies sent: the two callbacks run concurrently
            done.set(True)

    async with running_client(fake, bot):
        bot.tree.copy_global_to(guild=discord.Object(second))
        synced = await bot.tree.sync(guild=discord.Object(second))
        in_second = await fake.slash_command("where", channel_id=fake.default_channel_of(second), user_id=alice)
        await fake.slash_command("where", user_id=alice)
        await done.get()
        reply = await in_second.original_message()

    second_channel = fake.default_channel_of(second)
    assert seen == [(second, second, True, second_channel), (fake.guild_id, fake.guild_id, False, fake.channel_id)]
    assert in_second.record.payload["data"]["id"] == str(synced[0].id)
    assert fake.messages_in(second_channel) == [reply] and reply.guild_id == second
    assert [m.content for m in fake.messages_in()] == [f"in {fake.guild_id}"]
    assert_clean(fake)


async def test_channels_roles_and_members_created_live_land_in_their_guild(fake: FakeDiscord) -> None:
    second = fake.add_guild("Second")
    bot = make_bot()
    async with running_client(fake, bot):
        channel_created = asyncio.ensure_future(bot.wait_for("guild_channel_create"))
        role_created = asyncio.ensure_future(bot.wait_for("guild_role_create"))
        channel_id = fake.add_channel("art", guild_id=second)
        role_id = fake.add_role("painters", guild_id=second)
        channel = await asyncio.wait_for(channel_created, 5.0)
        role = await asyncio.wait_for(role_created, 5.0)
        assert isinstance(channel, discord.TextChannel) and channel.id == channel_id and channel.guild.id == second
        assert role.id == role_id and role.guild.id == second
        first = bot.get_guild(fake.guild_id)
        assert first is not None and first.get_role(role_id) is None
        sent = await channel.send("hello art")
    assert fake.messages_in(channel_id)[0].id == sent.id and fake.message(sent.id).guild_id == second
    assert_clean(fake)
