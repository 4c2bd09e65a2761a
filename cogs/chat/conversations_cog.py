"""Channel conversations: the bot answers mentions, replies to it and, in enabled channels, every message;
`/channel enable` and `/channel disable` switch a channel's every-message mode, and `/channel persona` sets or
clears its persona (Manage Channels).

The deciding and answering is `cogs.chat.conversations`; this cog only hands it the messages and the switch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.app.i18n import translate
from bot.app.personas import PERSONA_TEXT_HELP, PersonaText, change_persona, persona_embed, persona_in_use
from bot.app.places import place_of_interaction
from cogs.chat.buttons import CHAT_BUTTONS
from cogs.chat.conversations import ChannelConversations, ChannelTurns

if TYPE_CHECKING:
    from bot.app.client import FusionBot
    from bot.services import Services

NO_CONTENT_INTENT = (
    "Channel conversations are off: {reason}. Slash commands work as usual. See the README's Discord setup."
)
CHANNEL_PERSONA_SET = "This channel's persona is set: it is sent with every question here, in place of the server's."


@app_commands.guild_only()
@app_commands.default_permissions(manage_channels=True)
class ChannelCommands(app_commands.Group, name="channel", description="How the bot talks in this channel"):
    """`/channel enable|disable|persona`, for members with Manage Channels."""

    def __init__(self, bot: FusionBot) -> None:
        super().__init__()
        self.bot = bot

    async def interaction_check(self, interaction: discord.Interaction, /) -> bool:
        if not interaction.permissions.manage_channels:
            raise app_commands.MissingPermissions(["manage_channels"])
        return True

    @app_commands.command(name="enable", description="Answer every message in this channel, without a mention.")
    async def enable(self, interaction: discord.Interaction) -> None:
        await self._switch(interaction, enabled=True)

    @app_commands.command(name="disable", description="Answer only mentions and replies to the bot here.")
    async def disable(self, interaction: discord.Interaction) -> None:
        await self._switch(interaction, enabled=False)

    @app_commands.command(
        name="persona", description="Set or clear this channel's persona: instructions for the model."
    )
    @app_commands.describe(text=PERSONA_TEXT_HELP, clear="Remove this channel's persona")
    async def persona(
        self, interaction: discord.Interaction, text: PersonaText | None = None, clear: bool = False
    ) -> None:
        channel, guild = interaction.channel_id or 0, interaction.guild_id  # guild_only: both are set
        done = await change_persona(
            text,
            clear,
            lambda persona: self.bot.store.set_channel_persona(channel, persona, guild_id=guild),
            done=CHANNEL_PERSONA_SET,
            removed="This channel's persona is removed.",
        )
        parent = place_of_interaction(interaction).parent_channel_id
        personas = await self.bot.store.personas(channel, guild_id=guild, parent_id=parent)
        in_use = persona_in_use(personas, self.bot.settings.default_persona)
        lines = [done] if in_use else [done, "No persona applies here."]
        embeds = [persona_embed(*in_use, interaction.locale)] if in_use else []
        shown = translate("\n".join(lines).strip(), interaction.locale)
        await interaction.response.send_message(shown, embeds=embeds, ephemeral=True)

    async def _switch(self, interaction: discord.Interaction, *, enabled: bool) -> None:
        assert interaction.channel_id is not None  # guild_only
        await self.bot.store.set_conversations_enabled(interaction.channel_id, enabled, guild_id=interaction.guild_id)
        if not self.bot.conversations_on:
            reason = "the bot is not allowed to read messages (see its log)"
            if not self.bot.settings.conversations_enabled:
                reason = "CONVERSATIONS_ENABLED is false"
            message = NO_CONTENT_INTENT.format(reason=reason)
        elif enabled:
            message = "I will answer every message in this channel. `/channel disable` stops that."
        else:
            message = "I will answer here only when mentioned or replied to."
        await interaction.response.send_message(
            translate(message, interaction.locale), ephemeral=not self.bot.conversations_on
        )


class ConversationsCog(commands.Cog):
    """Hands every message to the channel conversations."""

    def __init__(self, bot: FusionBot, services: Services) -> None:
        self.bot = bot
        settings = services.settings
        self.conversations = ChannelConversations(
            services.chat,
            services.store,
            services.access,
            lambda target_for, locale: bot.answer_displays(target_for, CHAT_BUTTONS, locale),
            threads=settings.conversation_threads,
            ping_author=settings.reply_pings_author,
            client=bot,
            turns=ChannelTurns(max_waiting=settings.conversation_max_waiting),
        )

    @commands.Cog.listener()
    async def on_message(self, message: discord.Message) -> None:
        if self.bot.user is None or not self.bot.conversations_on:
            return
        await self.conversations.on_message(message, self.bot.user)
