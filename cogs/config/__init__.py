"""Server controls: `/config` (`config_cog`). This module only registers it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from cogs.config.config_cog import ConfigCommands

if TYPE_CHECKING:
    from bot.app.client import FusionBot


async def setup(bot: FusionBot) -> None:
    bot.tree.add_command(ConfigCommands())
