"""The "Draw this" message command (Apps > Draw this, on any message): the message's text becomes a `/draw` prompt
with the server's defaults, through the same access rules, queue, cooldown and quota (`start_drawing`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.app_commands import locale_str
from discord.ext import commands

from bot.app.client import send_private
from bot.app.message_text import drawing_prompt
from bot.app.places import place_of_interaction
from bot.core.draw.options import MAX_PROMPT_LENGTH
from cogs.draw.buttons import start_drawing

if TYPE_CHECKING:
    from bot.app.client import FusionBot
    from bot.services import Services

DRAW_THIS_NAME = "Draw this"
NOTHING_TO_DRAW = "This message has no text to draw."
TOO_LONG = (
    "This message's text has {length} characters, and a picture's prompt at most {limit}. "
    "Use /draw with a shorter prompt."
)


class DrawThisCog(commands.Cog):
    """Draw any message's text, from its Apps menu."""

    def __init__(self, bot: FusionBot, services: Services) -> None:
        self.bot = bot
        self.access = services.access
        self.draw_menu = services.draw_menu
        self.menu = app_commands.ContextMenu(name=locale_str(DRAW_THIS_NAME), callback=self.draw_this)
        bot.tree.add_command(self.menu)

    async def cog_unload(self) -> None:
        self.bot.tree.remove_command(self.menu.name, type=self.menu.type)

    async def draw_this(self, interaction: discord.Interaction, message: discord.Message) -> None:
        server = await self.access.check(place_of_interaction(interaction))
        prompt = drawing_prompt(message)
        if not prompt:
            await send_private(interaction, NOTHING_TO_DRAW)
            return
        if len(prompt) > MAX_PROMPT_LENGTH:  # as /draw's prompt option allows
            await send_private(interaction, TOO_LONG.format(length=len(prompt), limit=MAX_PROMPT_LENGTH))
            return
        defaults = server.defaults if server is not None else {}
        spec = self.draw_menu.spec(prompt, model=defaults.get("model"), size=defaults.get("size"))
        await start_drawing(interaction, spec)
