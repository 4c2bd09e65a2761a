"""Where a use of the bot happens and who is using it (`bot.core.access.Place`), read off a Discord interaction or
message, for the access rules to judge."""

from __future__ import annotations

from typing import Any

import discord

from bot.core.access import Place


def place_of_interaction(interaction: discord.Interaction) -> Place:
    return _place(interaction.user, interaction.channel, interaction.guild_id, interaction.permissions)


def place_of_message(message: discord.Message) -> Place:
    guild_id = message.guild.id if message.guild is not None else None
    permissions = message.channel.permissions_for(message.author) if guild_id is not None else None  # type: ignore[arg-type]
    return _place(message.author, message.channel, guild_id, permissions)


def _place(
    user: discord.abc.User, channel: Any, guild_id: int | None, permissions: discord.Permissions | None
) -> Place:
    return Place(
        user_id=user.id,
        guild_id=guild_id,
        channel_id=channel.id if channel is not None else user.id,
        parent_channel_id=getattr(channel, "parent_id", None),
        role_ids=frozenset(role.id for role in getattr(user, "roles", ())),
        is_manager=bool(permissions and permissions.manage_guild),  # managers set the rules: never refused
    )
