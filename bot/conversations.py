"""Talking with the bot like with a member of the channel: which messages it answers, and how.

A message is answered when it mentions the bot, replies to one of the bot's messages, is in a channel where
conversations are enabled (`/channel enable`), or is a direct message. Messages from bots, the bot itself
included, never are. The answer streams into the channel through the same engine as `/chat`, with the channel's
context naming each speaker; answers in one channel are written one at a time, so a burst of messages is answered
in order instead of in parallel into the same context. With `threads`, a conversation started by a mention in a
text channel gets a thread of its own, where every later message is answered.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import discord

from bot.access import Access, AccessRefusedError, Place
from bot.chat import Asker, ChatService, ReplyViews
from bot.i18n import translate
from bot.store import Store
from bot.streaming import ChannelReply

log = logging.getLogger(__name__)

THREAD_NAME_LIMIT = 90  # Discord allows 100
REFUSAL_SHOWN_SECONDS = 20.0  # a refusal in a channel is everyone's to see, so it does not stay


@dataclass(frozen=True, slots=True)
class ChannelMessage:
    """What deciding on and answering a message needs, read off a `discord.Message`."""

    channel_id: int
    guild_id: int | None
    author_id: int
    author_name: str
    author_is_bot: bool
    text: str  # without the mention of the bot
    mentions_bot: bool
    replies_to_bot: bool
    locale: str | None = None  # a message carries no reader's locale: the server's preferred one, if any

    @classmethod
    def read(cls, message: discord.Message, bot_user: discord.abc.User) -> ChannelMessage:
        reference = message.reference.resolved if message.reference is not None else None
        return cls(
            channel_id=message.channel.id,
            guild_id=message.guild.id if message.guild is not None else None,
            author_id=message.author.id,
            author_name=message.author.display_name,
            author_is_bot=message.author.bot,
            text=strip_mention(message.content, bot_user.id),
            mentions_bot=any(user.id == bot_user.id for user in message.mentions),
            replies_to_bot=isinstance(reference, discord.Message) and reference.author.id == bot_user.id,
            locale=_locale_of(message),
        )


def _locale_of(message: discord.Message) -> str | None:
    return message.guild.preferred_locale.value if message.guild is not None else None


def wants_answer(message: ChannelMessage, *, channel_enabled: bool) -> bool:
    """Whether the bot should answer this message."""
    if message.author_is_bot or not message.text:
        return False
    return message.guild_id is None or channel_enabled or message.mentions_bot or message.replies_to_bot


def strip_mention(content: str, user_id: int) -> str:
    """The message's text without mentions of the bot (`<@id>` or `<@!id>`)."""
    return re.sub(rf"<@!?{user_id}>", "", content).strip()


def thread_name(text: str) -> str:
    first_line = text.splitlines()[0] if text else "Conversation"
    return first_line if len(first_line) <= THREAD_NAME_LIMIT else first_line[: THREAD_NAME_LIMIT - 1] + "\u2026"


@dataclass
class ChannelTurns:
    """One answer at a time per channel; later messages wait their turn in arrival order."""

    _locks: dict[int, asyncio.Lock] = field(default_factory=dict)
    _holders: dict[int, int] = field(default_factory=dict)

    @asynccontextmanager
    async def turn(self, channel_id: int) -> AsyncIterator[None]:
        lock = self._locks.setdefault(channel_id, asyncio.Lock())
        self._holders[channel_id] = self._holders.get(channel_id, 0) + 1
        try:
            async with lock:
                yield
        finally:
            self._holders[channel_id] -= 1
            if not self._holders[channel_id]:  # forget idle channels, or the dict grows with every channel
                del self._holders[channel_id], self._locks[channel_id]


@dataclass
class ChannelConversations:
    """Answers the messages that want an answer; `views` gives the answers their buttons."""

    chat: ChatService
    store: Store
    access: Access
    views: ReplyViews
    threads: bool = False
    turns: ChannelTurns = field(default_factory=ChannelTurns)

    async def on_message(self, message: discord.Message, bot_user: discord.abc.User) -> None:
        incoming = ChannelMessage.read(message, bot_user)
        if incoming.author_is_bot:
            return
        enabled = await self.store.conversations_enabled(incoming.channel_id)
        if not wants_answer(incoming, channel_enabled=enabled):
            return
        place = Place.of_message(message)
        try:
            server = await self.access.check(place, chat=True)
        except AccessRefusedError as refused:
            await self._refuse(message, incoming, refused)
            return
        await self.access.record_chat(place)
        options = {"temperature": server.defaults.get("temperature")} if server is not None else {}
        channel: discord.abc.Messageable = message.channel
        reply_to: discord.Message | None = message
        if self.threads and isinstance(message.channel, discord.TextChannel):
            try:
                channel = await self._open_thread(message, incoming)
                reply_to = None  # the thread starts from the message already
            except discord.HTTPException as error:
                log.warning("could not open a thread in channel %d, answering there: %s", incoming.channel_id, error)
        await self.answer(channel, incoming, reply_to, options)

    async def answer(
        self,
        channel: discord.abc.Messageable,
        incoming: ChannelMessage,
        reply_to: discord.Message | None,
        options: dict[str, Any] | None = None,
    ) -> None:
        channel_id = getattr(channel, "id", incoming.channel_id)
        async with self.turns.turn(channel_id):
            target = ChannelReply(channel, reply_to=reply_to, typing=True)
            try:
                await self.chat.answer(
                    channel_id,
                    incoming.text,
                    Asker(incoming.author_id, incoming.author_name),
                    target,
                    self.views,
                    options=options,
                    name_speakers=incoming.guild_id is not None,
                    locale=incoming.locale,
                )
            finally:
                target.close()

    async def _refuse(self, message: discord.Message, incoming: ChannelMessage, refused: AccessRefusedError) -> None:
        """Say why, briefly, to someone who addressed the bot; stay silent in a channel it is not meant to read."""
        log.debug("not answering message %d: %s", message.id, refused)
        if incoming.mentions_bot or incoming.replies_to_bot or incoming.guild_id is None:
            with contextlib.suppress(discord.HTTPException):
                text = translate(refused.user_message, incoming.locale)
                await message.reply(text, mention_author=False, delete_after=REFUSAL_SHOWN_SECONDS)

    async def _open_thread(self, message: discord.Message, incoming: ChannelMessage) -> discord.Thread:
        thread = await message.create_thread(name=thread_name(incoming.text))
        await self.store.set_conversations_enabled(thread.id, True, guild_id=incoming.guild_id)
        return thread
