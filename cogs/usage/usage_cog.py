"""`/usage`: what a member has spent, privately: their chat tokens and pictures today and over the last 30 days,
on this server (or in direct messages), and the daily chat quotas that hold for them."""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.app.i18n import translate
from bot.app.usage_report import describe_member_usage

if TYPE_CHECKING:
    from bot.services import Services


class UsageCog(commands.Cog):
    """A member's own usage, read from the store (`bot.core.usage.ChatUsage`)."""

    def __init__(self, services: Services) -> None:
        self.usage = services.usage

    @app_commands.command(
        name="usage", description="Your chat tokens and pictures today and over the last 30 days (only you see it)."
    )
    async def usage(self, interaction: discord.Interaction) -> None:
        report = await self.usage.member_report(interaction.user.id, interaction.guild_id)
        text = describe_member_usage(report, in_server=interaction.guild_id is not None)
        await interaction.response.send_message(translate(text, interaction.locale), ephemeral=True)
