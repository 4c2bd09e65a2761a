"""Usage: `/usage`, a member's own chat tokens and pictures (`usage_cog`). This module only registers it; a
server's usage is `/config usage` (`cogs.config`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from cogs.usage.usage_cog import UsageCog

if TYPE_CHECKING:
    from bot.app.client import FusionBot


async def setup(bot: FusionBot) -> None:
    await bot.add_cog(UsageCog(bot.services))
