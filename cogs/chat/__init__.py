"""Chat: `/chat` and `/reset` with the Stop and Regenerate buttons (`chat_cog`), channel conversations with
`/channel enable|disable` (`conversations`, `conversations_cog`), and the Ask Fusionbot message command (`ask_cog`).
This module only registers them."""

from __future__ import annotations

from typing import TYPE_CHECKING

from cogs.chat.ask_cog import AskCog
from cogs.chat.buttons import RegenerateButton, StopButton
from cogs.chat.chat_cog import ChatCog
from cogs.chat.conversations_cog import ChannelCommands, ConversationsCog

if TYPE_CHECKING:
    from bot.app.client import FusionBot


async def setup(bot: FusionBot) -> None:
    bot.add_dynamic_items(StopButton, RegenerateButton)
    await bot.add_cog(ChatCog(bot, bot.services))
    await bot.add_cog(ConversationsCog(bot, bot.services))
    await bot.add_cog(AskCog(bot, bot.services))
    bot.tree.add_command(ChannelCommands(bot))
