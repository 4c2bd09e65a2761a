"""Buttons that outlive the bot: `DynamicItem`s whose custom id names a stored record, `{prefix}:{kind}:{id}`.

Everything a press needs is looked up in the store by that id, so the buttons keep working after a restart. A
press is refused unless the record belongs to the channel (or server) it happens in. An error meant for the user
(`UserFacingError`) raised while a press is handled reaches the presser privately.
"""

from __future__ import annotations

from typing import Any, Self

import discord

from bot.app.client import send_private
from bot.core.errors import UserFacingError

MISPLACED = "This button does not belong to this channel."


class StoredRecordButton:
    """A mixin before `DynamicItem`, which requires each subclass to give its own template, with the group `id`:
    `{prefix}:{kind}:(?P<id>\\d+)`."""

    prefix = ""
    kind = ""
    label = ""
    emoji: str | None = None

    def __init__(self, record_id: int) -> None:
        button = discord.ui.Button[Any](
            label=self.label,
            emoji=self.emoji,
            style=discord.ButtonStyle.secondary,
            custom_id=f"{self.prefix}:{self.kind}:{record_id}",
        )
        super().__init__(button)  # type: ignore[call-arg]
        self.record_id = record_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Button[Any], match: Any, /
    ) -> Self:
        return cls(int(match["id"]))

    async def callback(self, interaction: discord.Interaction) -> None:
        try:
            stored = await self.stored_place(interaction)
            if stored is not None and not pressed_in(interaction, *stored):
                await send_private(interaction, MISPLACED)
                return
            await self.press(interaction)
        except UserFacingError as refusal:
            await send_private(interaction, refusal.user_message)

    async def stored_place(self, interaction: discord.Interaction) -> tuple[int, int | None] | None:
        """The channel and server (None: unknown, or a DM) of the stored record; None when it is not stored."""
        raise NotImplementedError

    async def press(self, interaction: discord.Interaction) -> None:
        raise NotImplementedError


def pressed_in(interaction: discord.Interaction, channel_id: int, guild_id: int | None) -> bool:
    """Whether a button of a record stored for this channel (or server) was pressed there.

    discord.py only checks that the custom id is on the message pressed; this also holds the record to its place,
    so a custom id copied onto another message cannot act on a record from elsewhere.
    """
    here = interaction.channel_id or interaction.user.id  # a DM's conversation is stored under its channel
    return here == channel_id or (guild_id is not None and interaction.guild_id == guild_id)
