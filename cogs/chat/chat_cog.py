"""`/chat` and `/reset`; before serving, the repair of the answers a process that died left (the answers'
buttons are in `buttons`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.app.i18n import translate
from bot.app.places import place_of_interaction
from bot.app.repair import repair_answers
from bot.app.replies import InteractionReply
from bot.core.answer_display import Asker
from cogs.chat.buttons import CHAT_BUTTONS

if TYPE_CHECKING:
    from bot.app.client import FusionBot
    from bot.services import Services


def _manage_messages_in_servers(interaction: discord.Interaction) -> bool:
    if interaction.guild is None or interaction.permissions.manage_messages:
        return True
    raise app_commands.CheckFailure("In a server, only members with Manage Messages can reset the conversation.")


class ChatCog(commands.Cog):
    """Talk to the chat model with `/chat`; forget a channel's conversation with `/reset`."""

    def __init__(self, bot: FusionBot, services: Services) -> None:
        self.bot = bot
        self.store = services.store
        self.access = services.access
        self.chat = services.chat

    async def cog_load(self) -> None:
        """Before serving: finish the answers a process that died was writing."""
        await repair_answers(self.bot, self.store, CHAT_BUTTONS.finished, self.bot.settings.shards)

    @app_commands.command(name="chat", description="Ask the chat model; the answer streams in here.")
    @app_commands.describe(
        prompt="What to ask or say",
        temperature="Sampling temperature, above 0 up to 2 (higher is more varied)",
        top_p="Nucleus sampling, above 0 up to 1",
        max_new_tokens="Most tokens the answer may have",
    )
    async def chat(
        self,
        interaction: discord.Interaction,
        prompt: app_commands.Range[str, 1, 4000],
        temperature: app_commands.Range[float, 0.01, 2.0] | None = None,
        top_p: app_commands.Range[float, 0.01, 1.0] | None = None,
        max_new_tokens: app_commands.Range[int, 1, 8192] | None = None,
    ) -> None:
        place = place_of_interaction(interaction)
        server = await self.access.check(place, chat=True)
        if temperature is None and server is not None:
            temperature = server.defaults.get("temperature")
        deferred = await interaction.response.defer(thinking=True)
        await self.access.record_chat(place)
        await self.chat.answer(
            interaction.channel_id or interaction.user.id,
            prompt,
            Asker(interaction.user.id, interaction.user.display_name),
            self.bot.answer_displays(
                lambda _: InteractionReply(interaction, deferred_id=deferred and deferred.message_id),
                CHAT_BUTTONS,
                interaction.locale.value,
            ),
            options={"temperature": temperature, "top_p": top_p, "max_new_tokens": max_new_tokens},
            max_picture_bytes=interaction.filesize_limit,
            name_speakers=interaction.guild is not None,  # the channel's context is shared by its members
            guild_id=interaction.guild_id,
            parent_id=place.parent_channel_id,  # a thread takes its channel's persona unless it has its own
        )

    @app_commands.command(name="reset", description="Forget this channel's conversation; the next /chat starts afresh.")
    @app_commands.check(_manage_messages_in_servers)
    async def reset(self, interaction: discord.Interaction) -> None:
        await self.store.reset(interaction.channel_id or interaction.user.id)
        cleared = translate("Conversation cleared: the next /chat starts afresh.", interaction.locale)
        await interaction.response.send_message(cleared)
