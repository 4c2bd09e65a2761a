"""`/draw`, with its options checked against the bot's menu, and `/draw-queue` for server managers; before
serving, the repair of the picture requests a process that died left (see `buttons` for the buttons)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.app.places import place_of_interaction
from bot.app.repair import repair_pictures
from bot.core.draw.options import MAX_PROMPT_LENGTH
from bot.core.fusion.models import CONTROLNET_MODELS
from cogs.draw.buttons import DRAW_BUTTONS, start_drawing
from cogs.draw.queue_view import QueueView

if TYPE_CHECKING:
    from bot.app.client import FusionBot
    from bot.services import Services

NO_CONTROLNET = "none"


class DrawCog(commands.Cog):
    """Draw pictures with `/draw`; server managers see and trim the queue with `/draw-queue`."""

    def __init__(self, bot: FusionBot, services: Services) -> None:
        self.bot = bot
        self.store = services.store
        self.access = services.access
        self.draws = services.draws
        self.draw_menu = services.draw_menu

    async def cog_load(self) -> None:
        """Before serving: finish the picture requests a process that died had queued or was drawing."""
        await repair_pictures(self.bot, self.store, DRAW_BUTTONS.failed, self.bot.settings.shards)

    @app_commands.command(name="draw", description="Draw a picture. Requests are queued fairly across the server.")
    @app_commands.describe(
        prompt="What to draw",
        model="Drawing model (default set by the bot's administrator)",
        size="Width x height in pixels",
        seed="0 to 9999999 to repeat a picture; -1 for a random one",
        scale="Prompt guidance from 1 to 20: higher follows the prompt more closely",
        controlnet="ControlNet model (none by default)",
    )
    @app_commands.choices(
        controlnet=[app_commands.Choice(name=name, value=name) for name in (NO_CONTROLNET, *CONTROLNET_MODELS)]
    )
    async def draw(
        self,
        interaction: discord.Interaction,
        prompt: app_commands.Range[str, 1, MAX_PROMPT_LENGTH],
        model: app_commands.Range[str, 1, 100] | None = None,
        size: app_commands.Range[str, 3, 20] | None = None,
        seed: app_commands.Range[int, -1, 9_999_999] | None = None,
        scale: app_commands.Range[int, 1, 20] | None = None,
        controlnet: str | None = None,
    ) -> None:
        server = await self.access.check(place_of_interaction(interaction))
        defaults = server.defaults if server is not None else {}
        spec = self.draw_menu.spec(
            prompt,
            model=model or defaults.get("model"),
            size=size or defaults.get("size"),
            seed=seed,
            scale=scale,
            controlnet="" if controlnet == NO_CONTROLNET else controlnet,
        )
        await start_drawing(interaction, spec)

    @draw.autocomplete("model")
    async def _models(self, interaction: discord.Interaction, typed: str) -> list[app_commands.Choice[str]]:
        return [app_commands.Choice(name=name, value=name) for name in self.draw_menu.models_matching(typed)]

    @draw.autocomplete("size")
    async def _sizes(self, interaction: discord.Interaction, typed: str) -> list[app_commands.Choice[str]]:
        return [app_commands.Choice(name=size, value=size) for size in self.draw_menu.sizes_matching(typed)]

    @app_commands.command(name="draw-queue", description="See this server's picture requests and cancel any of them.")
    @app_commands.guild_only()
    @app_commands.default_permissions(manage_guild=True)
    @app_commands.checks.has_permissions(manage_guild=True)
    async def draw_queue(self, interaction: discord.Interaction) -> None:
        assert interaction.guild_id is not None  # guild_only
        view = await QueueView.open(self.draws, interaction.guild_id, interaction.locale.value)
        await interaction.response.send_message(view.describe(), view=view, ephemeral=True)
