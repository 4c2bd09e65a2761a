"""Talking with the bot like with a member of the channel: which messages it answers, and how.

A message is answered when it mentions the bot, replies to one of the bot's messages, is in a channel where
conversations are enabled (`/channel enable`), or is a direct message. Messages from bots, the bot itself
included, never are. The answer streams into the channel through the same engine as `/chat`, with the channel's
context naming each speaker; answers in one channel are written one at a time, so a burst of messages is answered
in order instead of in parallel into the same context, and at most `max_waiting` wait: a message beyond them gets a
short note instead. Such notes, and refusals, reach one member at most once a minute. With `threads`, a
conversation started by a mention in a text channel gets a thread of its own, where every later message is
answered.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import discord

from bot.app.i18n import translate
from bot.app.places import place_of_message
from bot.app.replies import ChannelReply
from bot.app.streaming import ReplyTarget
from bot.core.access import Access, AccessRefusedError, Place
from bot.core.answer_display import Asker, DisplayFor
from bot.core.chat import ChatService
from bot.core.errors import UserFacingError
from bot.core.store import ChannelSwitch

log = logging.getLogger(__name__)

THREAD_NAME_LIMIT = 90  # Discord allows 100
REFUSAL_SHOWN_SECONDS = 20.0  # a refusal in a channel is everyone's to see, so it does not stay
DEFAULT_MAX_WAITING = 5  # messages waiting for their answer in one channel
NOTE_INTERVAL_SECONDS = 60.0  # least time between two notes (refusal, busy) to one member
MAX_NOTED_MEMBERS = 10_000
CHANNEL_BUSY = "Too many messages are waiting for an answer in this channel. Please send yours again in a moment."


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


class ChannelBusyError(UserFacingError):
    """As many messages as allowed wait for their answer in this channel already."""


@dataclass
class ChannelTurns:
    """One answer at a time per channel; later messages wait their turn in arrival order, at most `max_waiting`."""

    max_waiting: int = DEFAULT_MAX_WAITING
    _locks: dict[int, asyncio.Lock] = field(default_factory=dict)
    _holders: dict[int, int] = field(default_factory=dict)  # the message being answered and those waiting

    @asynccontextmanager
    async def queued(self, channel_id: int) -> AsyncIterator[asyncio.Lock]:
        """Join the channel's line, or raise `ChannelBusyError` when it is full; yield the lock that is this message's
        turn while held. Leaving the block leaves the line."""
        holders = self._holders.get(channel_id, 0)
        if holders > self.max_waiting:
            raise ChannelBusyError(CHANNEL_BUSY)
        lock = self._locks.setdefault(channel_id, asyncio.Lock())
        self._holders[channel_id] = holders + 1
        try:
            yield lock
        finally:
            self._holders[channel_id] -= 1
            if not self._holders[channel_id]:  # forget idle channels, or the dicts grow with every channel
                del self._holders[channel_id], self._locks[channel_id]


@dataclass
class NoteLimiter:
    """At most one note per member every `interval` seconds, so that a refusal cannot be used to spam a channel."""

    interval: float = NOTE_INTERVAL_SECONDS
    clock: Callable[[], float] = time.monotonic
    _last: dict[int, float] = field(default_factory=dict)

    def allow(self, user_id: int) -> bool:
        now = self.clock()
        last = self._last.get(user_id)
        if last is not None and now - last < self.interval:
            return False
        if len(self._last) >= MAX_NOTED_MEMBERS:  # bounded: forget those whose interval has passed
            self._last = {user: at for user, at in self._last.items() if now - at < self.interval}
        self._last[user_id] = now
        return True


@dataclass
class ChannelConversations:
    """Answers the messages that want an answer; `displays` shows them (with their buttons)."""

    chat: ChatService
    store: ChannelSwitch
    access: Access
    displays: Callable[[Callable[[Sequence[int]], ReplyTarget], str | None], DisplayFor]  # `FusionBot.answer_displays`
    client: discord.Client  # the replies' live edits go through it (see `ChannelReply`)
    threads: bool = False
    ping_author: bool = False  # whether a reply pings the member it answers (nothing else ever pings)
    turns: ChannelTurns = field(default_factory=ChannelTurns)
    notes: NoteLimiter = field(default_factory=NoteLimiter)

    async def on_message(self, message: discord.Message, bot_user: discord.abc.User) -> None:
        incoming = ChannelMessage.read(message, bot_user)
        if incoming.author_is_bot:
            return
        enabled = await self.store.conversations_enabled(incoming.channel_id)
        if not wants_answer(incoming, channel_enabled=enabled):
            return
        place = place_of_message(message)
        try:
            server = await self.access.check(place, chat=True)
        except AccessRefusedError as refused:
            log.debug("not answering message %d: %s", message.id, refused)
            if incoming.mentions_bot or incoming.replies_to_bot or incoming.guild_id is None:
                await self._note(message, incoming, refused.user_message)  # else: a channel it is not meant to read
            return
        options = {"temperature": server.defaults.get("temperature")} if server is not None else {}
        channel: discord.abc.Messageable = message.channel
        reply_to: discord.Message | None = message
        if self.threads and isinstance(message.channel, discord.TextChannel):
            try:
                channel = await self._open_thread(message, incoming)
                reply_to = None  # the thread starts from the message already
            except discord.HTTPException as error:
                log.warning("could not open a thread in channel %d, answering there: %s", incoming.channel_id, error)
        try:
            await self.answer(channel, incoming, reply_to, options, place=place)
        except ChannelBusyError as busy:
            await self._note(message, incoming, busy.user_message)

    async def answer(
        self,
        channel: discord.abc.Messageable,
        incoming: ChannelMessage,
        reply_to: discord.Message | None,
        options: dict[str, Any] | None = None,
        *,
        place: Place | None = None,
    ) -> None:
        """Answer `incoming` in `channel` once the answers before it there are written; raise `ChannelBusyError`
        when too many wait already. With `place`, the question counts for its asker's chat cooldown."""
        channel_id = getattr(channel, "id", incoming.channel_id)
        async with self.turns.queued(channel_id) as turn:
            if place is not None:
                await self.access.record_chat(place)  # on arrival: waiting in line does not put off the cooldown
            async with turn:
                target = ChannelReply(
                    channel, reply_to=reply_to, ping_author=self.ping_author, typing=True, client=self.client
                )
                try:
                    await self.chat.answer(
                        channel_id,
                        incoming.text,
                        Asker(incoming.author_id, incoming.author_name),
                        self.displays(lambda _: target, incoming.locale),
                        options=options,
                        name_speakers=incoming.guild_id is not None,
                        guild_id=incoming.guild_id,
                        parent_id=getattr(channel, "parent_id", None),  # a thread's channel (maybe just opened)
                    )
                finally:
                    target.close()

    async def _note(self, message: discord.Message, incoming: ChannelMessage, text: str) -> None:
        """A short reply that says why there is no answer, deleted after a while; at most one per member and
        interval, so that it cannot be used to flood the channel."""
        if not self.notes.allow(incoming.author_id):
            return
        with contextlib.suppress(discord.HTTPException):
            await message.reply(
                translate(text, incoming.locale),
                delete_after=REFUSAL_SHOWN_SECONDS,
                allowed_mentions=discord.AllowedMentions.none(),  # it may name roles and channels: show, never ping
                mention_author=self.ping_author,
            )

    async def _open_thread(self, message: discord.Message, incoming: ChannelMessage) -> discord.Thread:
        thread = await message.create_thread(name=thread_name(incoming.text))
        await self.store.set_conversations_enabled(thread.id, True, guild_id=incoming.guild_id)
        return thread
