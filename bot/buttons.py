"""Buttons that outlive the bot: `DynamicItem`s whose custom id names a stored record, `{prefix}:{kind}:{id}`.

Everything a press needs is looked up in the store by that id, so the buttons keep working after a restart. An
error meant for the user (`UserFacingError`) raised while a press is handled reaches the presser privately.
"""

from __future__ import annotations

from typing import Any, Self

import discord

from bot.discord_bot import send_private
from bot.errors import UserFacingError


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
            await self.press(interaction)
        except UserFacingError as refusal:
            await send_private(interaction, refusal.user_message)

    async def press(self, interaction: discord.Interaction) -> None:
        raise NotImplementedError
