"""The world the fake Discord holds: users, roles, channels, threads, messages with every version, interactions.

Every mutation goes through `FakeState` so that `ChangeSignal` wakes whoever waits for a condition: tests wait with
`FakeState.wait_until(predicate)`, which re-checks the predicate after each change instead of polling.
Times are ``time.monotonic()`` (the clock ``loop.time()`` reads on the default event loop).
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

T = TypeVar("T")

DISCORD_EPOCH_MS = 1_420_070_400_000
TEXT_CHANNEL = 0
PUBLIC_THREAD = 11
PRIVATE_THREAD = 12
THREAD_TYPES = frozenset({PUBLIC_THREAD, PRIVATE_THREAD})
EPHEMERAL = 1 << 6
LOADING = 1 << 7
ADMINISTRATOR = 1 << 3
ALL_PERMISSIONS = (1 << 51) - 1
# @everyone in a new guild: view, send, embed, attach, history, reactions, external emoji, app commands, threads.
DEFAULT_EVERYONE_PERMISSIONS = sum(1 << bit for bit in (6, 10, 11, 14, 15, 16, 18, 31, 35, 36, 38))
# The bot's own role adds managing messages and threads.
DEFAULT_BOT_PERMISSIONS = DEFAULT_EVERYONE_PERMISSIONS | (1 << 13) | (1 << 34)


def iso_now() -> str:
    return datetime.now(UTC).isoformat()


class SnowflakeFactory:
    """Real-looking snowflakes (discord.py derives ``created_at`` from them), strictly increasing."""

    def __init__(self) -> None:
        self._last = 0

    def next(self) -> int:
        candidate = (int(time.time() * 1000) - DISCORD_EPOCH_MS) << 22
        self._last = max(candidate, self._last + 1)
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


@dataclass
class FakeUser:
    id: int
    username: str
    bot: bool = False
    global_name: str | None = None


@dataclass
class FakeRole:
    id: int
    name: str
    permissions: int
    position: int = 0
    managed: bool = False
    bot_id: int | None = None


@dataclass
class FakeMember:
    user_id: int
    role_ids: list[int]
    joined_at: str = field(default_factory=iso_now)
    permissions: int | None = None  # None: computed from the roles


@dataclass
class FakeChannel:
    id: int
    name: str
    type: int
    guild_id: int
    position: int = 0
    parent_id: int | None = None
    owner_id: int | None = None
    topic: str | None = None
    created_at: str = field(default_factory=iso_now)

    @property
    def is_thread(self) -> bool:
        return self.type in THREAD_TYPES


@dataclass(frozen=True)
class StoredAttachment:
    id: int
    filename: str
    data: bytes
    content_type: str
    url: str
    description: str | None = None

    @property
    def size(self) -> int:
        return len(self.data)


@dataclass(frozen=True)
class Version:
    """What a message looked like from ``at`` (monotonic seconds) until the next version."""

    at: float
    content: str
    embeds: list[dict[str, Any]]
    attachments: list[tuple[str, bytes]]
    components: list[dict[str, Any]]
    flags: int


@dataclass
class MessageEdit:
    """The fields a create or an edit sets; None means "left as it is"."""

    content: str | None = None
    embeds: list[dict[str, Any]] | None = None
    components: list[dict[str, Any]] | None = None
    attachments: list[StoredAttachment] | None = None
    flags: int | None = None
    mention_ids: list[int] | None = None
    mention_role_ids: list[int] | None = None
    mention_everyone: bool | None = None


@dataclass
class FakeMessage:
    id: int
    channel_id: int
    guild_id: int | None
    author_id: int
    type: int = 0
    content: str = ""
    embeds: list[dict[str, Any]] = field(default_factory=list)
    components: list[dict[str, Any]] = field(default_factory=list)
    attachments: list[StoredAttachment] = field(default_factory=list)
    flags: int = 0
    tts: bool = False
    mention_ids: list[int] = field(default_factory=list)
    mention_role_ids: list[int] = field(default_factory=list)
    mention_everyone: bool = False
    reference_id: int | None = None
    interaction_id: int | None = None
    webhook_id: int | None = None
    timestamp: str = field(default_factory=iso_now)
    edited_timestamp: str | None = None
    created_at: float = field(default_factory=time.monotonic)
    deleted_at: float | None = None
    versions: list[Version] = field(default_factory=list)

    @property
    def files(self) -> list[tuple[str, bytes]]:
        return [(attachment.filename, attachment.data) for attachment in self.attachments]

    @property
    def ephemeral(self) -> bool:
        return bool(self.flags & EPHEMERAL)

    @property
    def loading(self) -> bool:
        return bool(self.flags & LOADING)

    @property
    def deleted(self) -> bool:
        return self.deleted_at is not None

    def apply(self, edit: MessageEdit, *, at: float, is_edit: bool) -> None:
        for name in ("content", "embeds", "components", "attachments", "flags", "mention_everyone"):
            value = getattr(edit, name)
            if value is not None:
                setattr(self, name, value)
        if edit.mention_ids is not None:
            self.mention_ids = edit.mention_ids
        if edit.mention_role_ids is not None:
            self.mention_role_ids = edit.mention_role_ids
        if is_edit:
            self.edited_timestamp = iso_now()
        self.versions.append(
            Version(at, self.content, list(self.embeds), self.files, list(self.components), self.flags)
        )


@dataclass(frozen=True)
class CallbackRecord:
    """An accepted interaction callback (``type`` 4, 5, 6, 7, 9, ...) with the ``data`` it carried."""

    type: int
    data: dict[str, Any]
    at: float


@dataclass
class FakeInteraction:
    id: int
    token: str
    type: int
    application_id: int
    guild_id: int
    channel_id: int
    user_id: int
    name: str | None
    attachment_size_limit: int
    payload: dict[str, Any]
    source_message_id: int | None = None
    dispatched_at: float | None = None
    callback: CallbackRecord | None = None
    original_message_id: int | None = None
    followup_ids: list[int] = field(default_factory=list)

    @property
    def acknowledged(self) -> bool:
        return self.callback is not None


class FakeState:
    """All entities, indexed by id, and the signal that announces every change."""

    def __init__(self) -> None:
        self.snowflakes = SnowflakeFactory()
        self.signal = ChangeSignal()
        self.users: dict[int, FakeUser] = {}
        self.roles: dict[int, FakeRole] = {}
        self.members: dict[int, FakeMember] = {}
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

    def add_role(
        self, name: str, permissions: int, *, role_id: int | None = None, bot_id: int | None = None
    ) -> FakeRole:
        role = FakeRole(role_id or self.new_id(), name, permissions, position=len(self.roles))
        role.managed, role.bot_id = bot_id is not None, bot_id
        self.roles[role.id] = role
        self.changed()
        return role

    def add_member(self, user_id: int, role_ids: list[int], permissions: int | None = None) -> FakeMember:
        member = FakeMember(user_id, role_ids, permissions=permissions)
        self.members[user_id] = member
        self.changed()
        return member

    def add_channel(self, name: str, guild_id: int, **fields: Any) -> FakeChannel:
        channel = FakeChannel(self.new_id(), name, guild_id=guild_id, position=next(self._positions), **fields)
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

    def member_permissions(self, user_id: int, everyone_role_id: int) -> int:
        member = self.members[user_id]
        if member.permissions is not None:
            return member.permissions
        permissions = self.roles[everyone_role_id].permissions
        for role_id in member.role_ids:
            permissions |= self.roles[role_id].permissions
        return ALL_PERMISSIONS if permissions & ADMINISTRATOR else permissions
