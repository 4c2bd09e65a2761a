"""Who may use the bot where: a server's allowed channels and roles, whether DMs are served, the chat cooldown,
and the server's defaults for requests.

`Place` is read off a Discord interaction or message by `bot.app.places`; the rules here know nothing of Discord.
Members with Manage Server are never refused: they set the rules and must be able to try them. Only the daily chat
quotas (`bot.core.usage`) hold for them too, since those bound what the bot spends.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from bot.core.durations import describe_wait
from bot.core.errors import UserFacingError
from bot.core.store import AccessRecords, ServerSettings
from bot.core.usage import ChatUsage

MAX_LISTED = 10
NO_DMS = "This bot does not answer direct messages. Please use it in a server."


class AccessRefusedError(UserFacingError):
    """This use of the bot is not allowed here, or not yet; the message says which rule and what to do."""


@dataclass(frozen=True, slots=True)
class Place:
    """Where a use of the bot happens and who is using it."""

    user_id: int
    guild_id: int | None
    channel_id: int
    parent_channel_id: int | None = None  # a thread's channel: a thread is allowed where its channel is
    role_ids: frozenset[int] = frozenset()
    is_manager: bool = False


def refusal(place: Place, server: ServerSettings | None, *, dms_allowed: bool) -> str | None:
    """Why this place may not use the bot, or None when it may."""
    if place.guild_id is None:
        return None if dms_allowed else NO_DMS
    if server is None or place.is_manager:
        return None
    channels = {place.channel_id, place.parent_channel_id}
    if server.allowed_channels and not channels & server.allowed_channels:
        listed = " ".join(f"<#{channel}>" for channel in sorted(server.allowed_channels)[:MAX_LISTED])
        return f"The bot is not used in this channel on this server. Try: {listed}"
    if server.allowed_roles and not place.role_ids & server.allowed_roles:
        listed = " ".join(f"<@&{role}>" for role in sorted(server.allowed_roles)[:MAX_LISTED])
        return f"Using the bot on this server needs one of these roles: {listed}"
    return None


@dataclass
class Access:
    """Applies a server's controls, read from the store at each use (so `/config` takes effect at once)."""

    store: AccessRecords
    dms_allowed: bool = True
    dm_chat_cooldown_seconds: float = 0.0
    clock: Callable[[], float] = time.time
    usage: ChatUsage | None = None  # the daily chat quotas; None: none

    async def check(self, place: Place, *, chat: bool = False) -> ServerSettings | None:
        """Raise `AccessRefusedError` if this use is refused; return the server's settings (None in a DM).

        With `chat` (a question, or a Regenerate), the chat cooldown applies: the server's, or in a DM the bot's; and
        the daily chat quotas.
        """
        server = await self.store.server_settings(place.guild_id) if place.guild_id is not None else None
        reason = refusal(place, server, dms_allowed=self.dms_allowed)
        if reason is None and chat and not place.is_manager:
            reason = await self._chat_cooldown_refusal(place, server)
        if reason is None and chat and self.usage is not None:
            reason = await self.usage.refusal(place.user_id, place.guild_id)
        if reason is not None:
            raise AccessRefusedError(reason)
        return server

    async def record_chat(self, place: Place) -> None:
        """Note a question, for the chat cooldown."""
        await self.store.record_usage(place.user_id, "chat", guild_id=place.guild_id, at=self.clock())

    async def _chat_cooldown_refusal(self, place: Place, server: ServerSettings | None) -> str | None:
        cooldown = self.dm_chat_cooldown_seconds if server is None else server.chat_cooldown_seconds
        if not cooldown:
            return None
        last = await self.store.latest_use(place.user_id, "chat", guild_id=place.guild_id)
        wait = 0.0 if last is None else last + cooldown - self.clock()
        if wait <= 0:
            return None
        where = "in direct messages" if server is None else "on this server"
        return f"Please wait {describe_wait(wait)} before your next question {where}."
