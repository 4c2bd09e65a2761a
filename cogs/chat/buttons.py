"""The buttons of an answer: Stop while it is written, Regenerate once it ended.

They are `DynamicItem`s whose custom id carries the stored answer's id, so they keep working after a restart:
everything they need is looked up in the store, nothing is held in memory.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import discord

from bot.app.buttons import StoredRecordButton
from bot.app.client import bot_of, send_private
from bot.app.places import place_of_interaction
from bot.app.replies import ChannelReply, still_editable

if TYPE_CHECKING:
    pass

NOT_ALLOWED = "Only the person who asked, or a member with Manage Messages, can use this button."


async def may_control_answer(interaction: discord.Interaction, answer_id: int) -> bool:
    """The asker, or a member allowed to manage messages here."""
    if interaction.permissions.manage_messages:
        return True
    if interaction.user.id == await bot_of(interaction).store.asker_of(answer_id):
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
        turn = await bot_of(interaction).store.turn(self.answer_id)
        return None if turn is None else (turn.channel_id, None)

    async def interaction_check(self, interaction: discord.Interaction, /) -> bool:
        return await may_control_answer(interaction, self.answer_id)


class StopButton(_AnswerButton, discord.ui.DynamicItem[discord.ui.Button[Any]], template=r"chat:stop:(?P<id>\d+)"):
    """Stops an answer while it is being written; the partial text stays, marked as stopped."""

    kind, label = "stop", "Stop"

    async def press(self, interaction: discord.Interaction) -> None:
        if bot_of(interaction).chat.stop(self.answer_id):
            await interaction.response.defer()  # the reply itself shows that it stopped
        else:
            await send_private(interaction, "This answer is not being written any more.")


class RegenerateButton(
    _AnswerButton, discord.ui.DynamicItem[discord.ui.Button[Any]], template=r"chat:regen:(?P<id>\d+)"
):
    """Replaces a finished answer with a new answer to the same conversation."""

    kind, label = "regen", "Regenerate"

    async def press(self, interaction: discord.Interaction) -> None:
        bot = bot_of(interaction)
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
                client=interaction.client,
            )

        await bot.chat.regenerate(
            self.answer_id,
            interaction.user.id,
            bot.answer_displays(target_for, CHAT_BUTTONS, interaction.locale.value),
            name_speakers=interaction.guild is not None,
            parent_id=place.parent_channel_id,
        )


class ChatButtons:
    """Stop while an answer is written, Regenerate once it is finished."""

    def generating(self, answer_id: int) -> discord.ui.View:
        return discord.ui.View(timeout=None).add_item(StopButton(answer_id))

    def finished(self, answer_id: int) -> discord.ui.View:
        return discord.ui.View(timeout=None).add_item(RegenerateButton(answer_id))


CHAT_BUTTONS = ChatButtons()
