"""Pictures: `/draw` and `/draw-queue` (`draw_cog`), the Draw this message command (`draw_this`), the Cancel,
Re-roll, Variations and Retry buttons, and the reply that shows a request (`reply`). This module only registers
them."""

from __future__ import annotations

from typing import TYPE_CHECKING

from cogs.draw.buttons import CancelButton, RerollButton, RetryButton, VariationsButton
from cogs.draw.draw_cog import DrawCog
from cogs.draw.draw_this import DrawThisCog

if TYPE_CHECKING:
    from bot.app.client import FusionBot


async def setup(bot: FusionBot) -> None:
    bot.add_dynamic_items(CancelButton, RerollButton, VariationsButton, RetryButton)
    await bot.add_cog(DrawCog(bot, bot.services))
    await bot.add_cog(DrawThisCog(bot, bot.services))
