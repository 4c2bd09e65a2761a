"""The world the fake Discord holds: guilds, users, roles, channels, threads, DMs, messages, interactions.

Every mutation goes through `FakeState` so that `ChangeSignal` wakes whoever waits for a condition: tests wait with
`FakeState.wait_until(predicate)`, which re-checks the predicate after each change instead of polling.
Times are ``time.monotonic()`` (the clock ``loop.time()`` reads on the default event loop). The entity classes live
in `entities` and are re-exported here.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Callable
from typing import Any, TypeVar

from .entities import (
    DM_CHANNEL,
    EPHEMERAL,
    LOADING,
    PRIVATE_THREAD,
    PUBLIC_THREAD,
    TEXT_CHANNEL,
    THREAD_TYPES,
    CallbackRecord,
    CallbackRefusal,
    FakeChannel,
    FakeGuild,
    FakeInteraction,
    FakeMember,
    FakeMessage,
    FakeRole,
    FakeUser,
    MessageEdit,
    Pings,
    StoredAttachment,
    Version,
    iso_now,
)
from .shards import snowflake_on_shard

__all__ = [
    "DM_CHANNEL",
    "EPHEMERAL",
    "LOADING",
    "PRIVATE_THREAD",
    "PUBLIC_THREAD",
    "TEXT_CHANNEL",
    "THREAD_TYPES",
    "CallbackRecord",
    "CallbackRefusal",
    "ChangeSignal",
    "FakeChannel",
    "FakeGuild",
    "FakeInteraction",
    "FakeMember",
    "FakeMessage",
    "FakeRole",
    "FakeState",
    "FakeUser",
    "MessageEdit",
    "Pings",
    "StoredAttachment",
    "Version",
    "iso_now",
]

T = TypeVar("T")

DISCORD_EPOCH_MS = 1_420_070_400_000
ADMINISTRATOR = 1 << 3
ALL_PERMISSIONS = (1 << 51) - 1
# @everyone in a new guild: view, send, embed, attach, history, reactions, external emoji, app commands, threads.
DEFAULT_EVERYONE_PERMISSIONS = sum(1 << bit for bit in (6, 10, 11, 14, 15, 16, 18, 31, 35, 36, 38))
MENTION_EVERYONE = 1 << 17
# The bot's own role adds managing messages and threads.
DEFAULT_BOT_PERMISSIONS = DEFAULT_EVERYONE_PERMISSIONS | (1 << 13) | (1 << 34)
# What Discord reports as ``app_permissions`` in a DM with the bot: embed links, attach files, mention everyone,
# external emojis.
DM_APP_PERMISSIONS = (1 << 14) | (1 << 15) | (1 << 17) | (1 << 18)


class SnowflakeFactory:
    """Real-looking snowflakes (discord.py derives ``created_at`` from them), strictly increasing."""

    def __init__(self) -> None:
        self._last = 0

    def next(self) -> int:
        candidate = (int(time.time() * 1000) - DISCORD_EPOCH_MS) << 22
        self._last = max(candidate, self._last + 1)
        return self._last

    def next_on_shard(self, shard_id: int, shard_count: int) -> int:
        """The next snowflake whose timestamp puts it (a guild) on shard ``shard_id`` of ``shard_count``."""
        self._last = snowflake_on_shard(self.next(), shard_id, shard_count)
        return self._last


class ChangeSignal:
    """A condition variable without a lock: `notify()` is synchronous, waiters re-check their predicate."""

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def notify(self) -> None:
        self._event.set()
        self._event = asyncio.Event()

    async def wait_until(self, predicate: Callable[[], T], timeout: float, what: str = "") -> T:  # noqa: ASYNC109
        try:
            async with asyncio.timeout(timeout):
                while not (result := predicate()):
                    await self._event.wait()
        except TimeoutError:
            raise TimeoutError(f"fake Discord: gave up after {timeout}s waiting for {what or predicate!r}") from None
        return result


class FakeState:
    """All entities, indexed by id, and the signal that announces every change."""

    def __init__(self) -> None:
        self.snowflakes = SnowflakeFactory()
        self.signal = ChangeSignal()
        self.guilds: dict[int, FakeGuild] = {}
        self.users: dict[int, FakeUser] = {}
        self.roles: dict[int, FakeRole] = {}
        self.channels: dict[int, FakeChannel] = {}
        self.messages: dict[int, FakeMessage] = {}
        self.attachments: dict[int, StoredAttachment] = {}
        self.interactions: dict[int, FakeInteraction] = {}
        self.typing: list[tuple[int, float]] = []
        self._positions = itertools.count()

    def changed(self) -> None:
        self.signal.notify()

    async def wait_until(self, predicate: Callable[[], T], timeout: float, what: str = "") -> T:  # noqa: ASYNC109
        return await self.signal.wait_until(predicate, timeout, what)

    def new_id(self) -> int:
        return self.snowflakes.next()

    def add_user(self, username: str, *, bot: bool = False, user_id: int | None = None) -> FakeUser:
        user = FakeUser(user_id or self.new_id(), username, bot=bot, global_name=None if bot else username)
        self.users[user.id] = user
        self.changed()
        return user

    def add_guild(self, name: str, owner_id: int, *, guild_id: int | None = None) -> FakeGuild:
        guild = FakeGuild(guild_id or self.new_id(), name, owner_id)
        self.guilds[guild.id] = guild
        self.changed()
        return guild

    def guild(self, guild_id: int) -> FakeGuild:
        guild = self.guilds.get(guild_id)
        if guild is None:
            raise LookupError(f"no guild {guild_id}: create it with add_guild() first")
        return guild

    def add_role(
        self,
        name: str,
        permissions: int,
        *,
        guild_id: int,
        role_id: int | None = None,
        bot_id: int | None = None,
        mentionable: bool = False,
    ) -> FakeRole:
        position = sum(1 for role in self.roles.values() if role.guild_id == guild_id)
        role = FakeRole(
            role_id or self.new_id(), name, permissions, guild_id, position=position, mentionable=mentionable
        )
        role.managed, role.bot_id = bot_id is not None, bot_id
        self.roles[role.id] = role
        self.changed()
        return role

    def roles_of(self, guild_id: int) -> list[FakeRole]:
        return [role for role in self.roles.values() if role.guild_id == guild_id]

    def add_member(
        self, guild_id: int, user_id: int, role_ids: list[int], permissions: int | None = None
    ) -> FakeMember:
        member = FakeMember(user_id, guild_id, role_ids, permissions=permissions)
        self.guild(guild_id).members[user_id] = member
        self.changed()
        return member

    def member(self, guild_id: int | None, user_id: int) -> FakeMember | None:
        guild = self.guilds.get(guild_id or 0)
        return None if guild is None else guild.members.get(user_id)

    def add_channel(self, name: str, guild_id: int, **fields: Any) -> FakeChannel:
        channel = FakeChannel(self.new_id(), name, guild_id=guild_id, position=next(self._positions), **fields)
        self.channels[channel.id] = channel
        self.changed()
        return channel

    def dm_channel_with(self, user_id: int) -> FakeChannel | None:
        return next((c for c in self.channels.values() if c.is_dm and c.recipient_id == user_id), None)

    def open_dm(self, user_id: int) -> FakeChannel:
        """The DM channel between the bot and ``user_id``, created on first use (one per user, as on Discord)."""
        channel = self.dm_channel_with(user_id)
        if channel is None:
            channel = FakeChannel(self.new_id(), "", DM_CHANNEL, guild_id=None, recipient_id=user_id)
            self.channels[channel.id] = channel
            self.changed()
        return channel

    def add_thread(
        self, parent: FakeChannel, name: str, *, private: bool, owner_id: int, thread_id: int | None = None
    ) -> FakeChannel:
        thread = FakeChannel(
            thread_id or self.new_id(),
            name,
            PRIVATE_THREAD if private else PUBLIC_THREAD,
            parent.guild_id,
            parent_id=parent.id,
            owner_id=owner_id,
        )
        self.channels[thread.id] = thread
        self.changed()
        return thread

    def store_attachment(
        self, filename: str, data: bytes, content_type: str, base_url: str, **extra: Any
    ) -> StoredAttachment:
        attachment_id = self.new_id()
        url = f"{base_url}/attachments/{attachment_id}/{filename}"
        attachment = StoredAttachment(attachment_id, filename, data, content_type, url, **extra)
        self.attachments[attachment_id] = attachment
        return attachment

    def create_message(self, channel: FakeChannel, author_id: int, edit: MessageEdit, **fields: Any) -> FakeMessage:
        message = FakeMessage(self.new_id(), channel.id, channel.guild_id, author_id, **fields)
        message.apply(edit, at=time.monotonic(), is_edit=False)
        self.messages[message.id] = message
        self.changed()
        return message

    def edit_message(self, message: FakeMessage, edit: MessageEdit) -> FakeMessage:
        message.apply(edit, at=time.monotonic(), is_edit=True)
        self.changed()
        return message

    def delete_message(self, message: FakeMessage) -> None:
        message.deleted_at = time.monotonic()
        self.changed()

    def live_message(self, message_id: int) -> FakeMessage | None:
        message = self.messages.get(message_id)
        return None if message is None or message.deleted else message

    def messages_in(self, channel_id: int, *, include_deleted: bool = False) -> list[FakeMessage]:
        return [
            message
            for message in self.messages.values()
            if message.channel_id == channel_id and (include_deleted or not message.deleted)
        ]

    def interaction_by_token(self, token: str) -> FakeInteraction | None:
        return next((i for i in self.interactions.values() if i.token == token), None)

    def member_permissions(self, guild_id: int, user_id: int) -> int:
        """What ``user_id`` may do in guild ``guild_id``: its override, or @everyone's and its roles' (admin: all)."""
        member = self.guild(guild_id).members[user_id]
        if member.permissions is not None:
            return member.permissions
        permissions = self.roles[guild_id].permissions
        for role_id in member.role_ids:
            permissions |= self.roles[role_id].permissions
        return ALL_PERMISSIONS if permissions & ADMINISTRATOR else permissions
