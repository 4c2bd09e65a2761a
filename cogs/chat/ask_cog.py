"""The "Ask Fusionbot" message command (Apps > Ask Fusionbot, on any message): a modal asks what to do with the
message, and the answer streams into the channel as a reply to it, with Stop and Regenerate.

The question is the instruction (optional) with the message's author and text quoted (`bot.core.quoting`), and it
is answered like `/chat`: the same access rules and cooldown (`bot.core.access`), the channel's conversation as
context, `ChatService.answer`. The submission itself gets a private note that the answer is on its way.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.app_commands import locale_str
from discord.ext import commands

from bot.app.client import error_message, send_private
from bot.app.i18n import translate, translate_label
from bot.app.message_text import author_name, message_text
from bot.app.places import place_of_interaction
from bot.app.replies import ChannelReply
from bot.core.answer_display import Asker
from bot.core.quoting import Quote, question_about
from cogs.chat.buttons import CHAT_BUTTONS

if TYPE_CHECKING:
    from bot.app.client import FusionBot
    from bot.services import Services

ASK_NAME = "Ask Fusionbot"
INSTRUCTION_LABEL = "What to do with it (optional)"
INSTRUCTION_PLACEHOLDER = "For example: summarise, or translate to English"
INSTRUCTION_LIMIT = 1000
MODAL_SECONDS = 15 * 60.0  # a modal closed unsubmitted sends nothing: after this it is forgotten
NOTHING_TO_ASK = "This message has no text, embeds or attachments to ask about."
CANNOT_REPLY = "I cannot answer in this channel: I need to see it, send messages and read its history here."
ANSWERING = "Answering in the channel, as a reply to that message."
QUOTE_CUT = "The message is long: only its first {count} characters were quoted."


class AskCog(commands.Cog):
    """Ask the chat model about any message, from its Apps menu."""

    def __init__(self, bot: FusionBot, services: Services) -> None:
        self.bot = bot
        self.access = services.access
        self.chat = services.chat
        self.menu = app_commands.ContextMenu(name=locale_str(ASK_NAME), callback=self.ask)
        bot.tree.add_command(self.menu)

    async def cog_unload(self) -> None:
        self.bot.tree.remove_command(self.menu.name, type=self.menu.type)

    async def ask(self, interaction: discord.Interaction, message: discord.Message) -> None:
        """Refuse at once what the answer would be refused for; else ask what to do with the message."""
        await self.access.check(place_of_interaction(interaction), chat=True)
        quote = Quote(author_name(message), message_text(message))
        if not quote.text:
            await send_private(interaction, NOTHING_TO_ASK)
        elif not may_reply(interaction):
            await send_private(interaction, CANNOT_REPLY)
        else:
            await interaction.response.send_modal(AskModal(self, message, quote, interaction.locale))

    async def answer(
        self, interaction: discord.Interaction, message: discord.Message, quote: Quote, asked: str
    ) -> None:
        """The modal's submission: the question `asked` about `message`, answered in a reply to it."""
        place = place_of_interaction(interaction)
        server = await self.access.check(place, chat=True)  # again: the rules or the cooldown may have changed
        question = question_about(quote, asked, max_tokens=self.chat.budget.max_tokens)
        note = f"{ANSWERING} {QUOTE_CUT.format(count=question.quoted_characters)}" if question.cut else ANSWERING
        await interaction.response.send_message(translate(note, interaction.locale), ephemeral=True)
        await self.access.record_chat(place)
        # Not a reply that fails when the message is deleted meanwhile: the answer is then a message of its own.
        target = ChannelReply(
            message.channel,
            reply_to=message.to_reference(fail_if_not_exists=False),
            typing=True,
            client=interaction.client,
        )
        try:
            await self.chat.answer(
                message.channel.id,
                question.text,
                Asker(interaction.user.id, interaction.user.display_name),
                self.bot.answer_displays(lambda _: target, CHAT_BUTTONS, interaction.locale.value),
                options={"temperature": server.defaults.get("temperature") if server is not None else None},
                max_picture_bytes=interaction.filesize_limit,
                name_speakers=interaction.guild is not None,  # the channel's context is shared by its members
                guild_id=interaction.guild_id,
            )
        finally:
            target.close()


class AskModal(discord.ui.Modal):
    """What to do with the message; submitted once."""

    def __init__(self, cog: AskCog, message: discord.Message, quote: Quote, locale: discord.Locale) -> None:
        super().__init__(title=translate_label(ASK_NAME, locale), timeout=MODAL_SECONDS)
        self.cog, self.message, self.quote = cog, message, quote
        self.instruction: discord.ui.TextInput[AskModal] = discord.ui.TextInput(
            label=translate_label(INSTRUCTION_LABEL, locale),
            placeholder=translate_label(INSTRUCTION_PLACEHOLDER, locale),
            style=discord.TextStyle.long,
            required=False,
            max_length=INSTRUCTION_LIMIT,
            custom_id="ask:instruction",
        )
        self.add_item(self.instruction)

    async def on_submit(self, interaction: discord.Interaction, /) -> None:
        self.stop()  # one answer per modal: a repeated submission finds it no more
        await self.cog.answer(interaction, self.message, self.quote, self.instruction.value)

    async def on_error(self, interaction: discord.Interaction, error: Exception, /) -> None:
        await send_private(interaction, error_message(error, ASK_NAME))


def may_reply(interaction: discord.Interaction) -> bool:
    """Whether the bot can write its reply in the interaction's channel (in a DM with it, always)."""
    if interaction.guild is None:
        return True
    allowed = interaction.app_permissions
    in_thread = isinstance(interaction.channel, discord.Thread)
    sends = allowed.send_messages_in_threads if in_thread else allowed.send_messages
    return allowed.view_channel and allowed.read_message_history and sends
