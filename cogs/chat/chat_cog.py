"""`/chat` and `/reset`, and the Stop and Regenerate buttons of an answer.

The buttons are `DynamicItem`s whose custom id carries the stored answer's id, so they keep working after a
restart: everything they need is looked up in the store, nothing is held in memory.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.app.buttons import StoredRecordButton
from bot.app.client import send_private
from bot.app.i18n import translate
from bot.app.places import place_of_interaction
from bot.app.repair import repair_answers
from bot.app.replies import ChannelReply, InteractionReply, still_editable
from bot.core.chat import Asker

if TYPE_CHECKING:
    from bot.app.client import FusionBot

NOT_ALLOWED = "Only the person who asked, or a member with Manage Messages, can use this button."


def _bot(interaction: discord.Interaction) -> FusionBot:
    return interaction.client  # type: ignore[return-value]


async def may_control_answer(interaction: discord.Interaction, answer_id: int) -> bool:
    """The asker, or a member allowed to manage messages here."""
    if interaction.permissions.manage_messages:
        return True
    if interaction.user.id == await _bot(interaction).store.asker_of(answer_id):
        return True
    await send_private(interaction, NOT_ALLOWED)
    return False


class _AnswerButton(StoredRecordButton):
    """What both buttons of an answer share: the stored answer's id in the custom id, and who may press them."""

    prefix = "chat"

    @property
    def answer_id(self) -> int:
        return self.record_id

    async def stored_place(self, interaction: discord.Interaction) -> tuple[int, int | None] | None:
        turn = await _bot(interaction).store.turn(self.answer_id)
        return None if turn is None else (turn.channel_id, None)

    async def interaction_check(self, interaction: discord.Interaction, /) -> bool:
        return await may_control_answer(interaction, self.answer_id)


class StopButton(_AnswerButton, discord.ui.DynamicItem[discord.ui.Button[Any]], template=r"chat:stop:(?P<id>\d+)"):
    """Stops an answer while it is being written; the partial text stays, marked as stopped."""

    kind, label = "stop", "Stop"

    async def press(self, interaction: discord.Interaction) -> None:
        if _bot(interaction).chat.stop(self.answer_id):
            await interaction.response.defer()  # the reply itself shows that it stopped
        else:
            await send_private(interaction, "This answer is not being written any more.")


class RegenerateButton(
    _AnswerButton, discord.ui.DynamicItem[discord.ui.Button[Any]], template=r"chat:regen:(?P<id>\d+)"
):
    """Replaces a finished answer with a new answer to the same conversation."""

    kind, label = "regen", "Regenerate"

    async def press(self, interaction: discord.Interaction) -> None:
        bot = _bot(interaction)
        channel = interaction.channel
        if channel is None or await bot.store.turn(self.answer_id) is None:
            await send_private(interaction, "This answer is no longer stored, so it cannot be regenerated.")
            return
        if bot.chat.is_streaming(self.answer_id):
            await send_private(interaction, "This answer is still being written.")
            return
        place = place_of_interaction(interaction)
        await bot.access.check(place, chat=True)  # a new answer costs like a question: the cooldown applies
        await interaction.response.defer()
        await bot.access.record_chat(place)

        def target_for(message_ids: Sequence[int]) -> ChannelReply:
            reuse = still_editable(message_ids)
            return ChannelReply(  # type: ignore[arg-type]
                channel,
                message_ids if reuse else (),
                reply_to=None if reuse else interaction.message,  # the bot's own message: no one to ping
            )

        await bot.chat.regenerate(
            self.answer_id,
            interaction.user.id,
            bot.answer_displays(target_for, CHAT_BUTTONS, interaction.locale.value),
            name_speakers=interaction.guild is not None,
        )


class ChatButtons:
    """Stop while an answer is written, Regenerate once it is finished."""

    def generating(self, answer_id: int) -> discord.ui.View:
        return discord.ui.View(timeout=None).add_item(StopButton(answer_id))

    def finished(self, answer_id: int) -> discord.ui.View:
        return discord.ui.View(timeout=None).add_item(RegenerateButton(answer_id))


CHAT_BUTTONS = ChatButtons()


def _manage_messages_in_servers(interaction: discord.Interaction) -> bool:
    if interaction.guild is None or interaction.permissions.manage_messages:
        return True
    raise app_commands.CheckFailure("In a server, only members with Manage Messages can reset the conversation.")


class ChatCog(commands.Cog):
    """Talk to the chat model with `/chat`; forget a channel's conversation with `/reset`."""

    def __init__(self, bot: FusionBot) -> None:
        self.bot = bot

    async def cog_load(self) -> None:
        """Before serving: finish the answers a process that died was writing."""
        await repair_answers(self.bot, self.bot.store, CHAT_BUTTONS.finished)

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
        server = await self.bot.access.check(place, chat=True)
        if temperature is None and server is not None:
            temperature = server.defaults.get("temperature")
        deferred = await interaction.response.defer(thinking=True)
        await self.bot.access.record_chat(place)
        await self.bot.chat.answer(
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
        )

    @app_commands.command(name="reset", description="Forget this channel's conversation; the next /chat starts afresh.")
    @app_commands.check(_manage_messages_in_servers)
    async def reset(self, interaction: discord.Interaction) -> None:
        await self.bot.store.reset(interaction.channel_id or interaction.user.id)
        cleared = translate("Conversation cleared: the next /chat starts afresh.", interaction.locale)
        await interaction.response.send_message(cleared)
