"""The entities of the fake Discord's world: guilds, users, roles, members, channels, messages, interactions.

Plain dataclasses; `state.FakeState` indexes them and announces every change. Times are ``time.monotonic()``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

TEXT_CHANNEL = 0
DM_CHANNEL = 1
PUBLIC_THREAD = 11
PRIVATE_THREAD = 12
THREAD_TYPES = frozenset({PUBLIC_THREAD, PRIVATE_THREAD})
EPHEMERAL = 1 << 6
LOADING = 1 << 7


def iso_now() -> str:
    return datetime.now(UTC).isoformat()


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
    guild_id: int
    position: int = 0
    managed: bool = False
    bot_id: int | None = None
    mentionable: bool = False  # anyone may ping it; otherwise only authors with Mention Everyone


@dataclass
class FakeMember:
    """A user's membership of one guild (a user may be a member of several)."""

    user_id: int
    guild_id: int
    role_ids: list[int]
    joined_at: str = field(default_factory=iso_now)
    permissions: int | None = None  # None: computed from the roles


@dataclass
class FakeGuild:
    """A guild: its @everyone role has the guild's id; ``members`` is keyed by user id."""

    id: int
    name: str
    owner_id: int
    bot_role_id: int = 0
    default_channel_id: int = 0
    members: dict[int, FakeMember] = field(default_factory=dict)

    @property
    def everyone_role_id(self) -> int:
        return self.id


@dataclass
class FakeChannel:
    """A guild channel or thread, or (``guild_id`` None, type 1) a DM channel with ``recipient_id``."""

    id: int
    name: str
    type: int
    guild_id: int | None
    position: int = 0
    parent_id: int | None = None
    owner_id: int | None = None
    topic: str | None = None
    recipient_id: int | None = None
    created_at: str = field(default_factory=iso_now)

    @property
    def is_thread(self) -> bool:
        return self.type in THREAD_TYPES

    @property
    def is_dm(self) -> bool:
        return self.type == DM_CHANNEL


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
class Pings:
    """Who a message's content pings, as Discord works it out (see `compose.pings_of`); falsy when nobody.

    ``users`` include the author of the message replied to when the reply pings them; ``everyone`` is an
    ``@everyone`` or ``@here`` that pinged.
    """

    users: tuple[int, ...] = ()
    roles: tuple[int, ...] = ()
    everyone: bool = False

    def __bool__(self) -> bool:
        return bool(self.users or self.roles or self.everyone)

    def __or__(self, other: Pings) -> Pings:
        return Pings(
            tuple(dict.fromkeys(self.users + other.users)),
            tuple(dict.fromkeys(self.roles + other.roles)),
            self.everyone or other.everyone,
        )


NOBODY = Pings()


@dataclass(frozen=True)
class Version:
    """What a message looked like from ``at`` (monotonic seconds) until the next version, and whom it pinged.

    An edit recomputes the pings from the new content; Discord notifies nobody again, but ``pinged`` says whom the
    content would ping.
    """

    at: float
    content: str
    embeds: list[dict[str, Any]]
    attachments: list[tuple[str, bytes]]
    components: list[dict[str, Any]]
    flags: int
    pinged: Pings = NOBODY

    @property
    def files(self) -> list[tuple[str, bytes]]:
        """``(filename, bytes)`` of each attachment, as `FakeMessage.files`."""
        return self.attachments

    def file(self, filename: str) -> bytes:
        """The bytes of the attachment named ``filename`` in this version."""
        return _file_named(self.attachments, filename)


def _file_named(files: list[tuple[str, bytes]], filename: str) -> bytes:
    for name, data in files:
        if name == filename:
            return data
    raise LookupError(f"no attachment {filename!r}; there are {[name for name, _ in files]}")


@dataclass
class MessageEdit:
    """The fields a create or an edit sets; None means "left as it is"."""

    content: str | None = None
    embeds: list[dict[str, Any]] | None = None
    components: list[dict[str, Any]] | None = None
    attachments: list[StoredAttachment] | None = None
    flags: int | None = None
    pings: Pings | None = None


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
    pings: Pings = NOBODY  # the current content's: the payload's ``mentions``, ``mention_roles``, ``mention_everyone``
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

    def file(self, filename: str) -> bytes:
        """The bytes of the current attachment named ``filename``."""
        return _file_named(self.files, filename)

    @property
    def ephemeral(self) -> bool:
        return bool(self.flags & EPHEMERAL)

    @property
    def loading(self) -> bool:
        return bool(self.flags & LOADING)

    @property
    def deleted(self) -> bool:
        return self.deleted_at is not None

    @property
    def pinged(self) -> Pings:
        """Everyone any version of this message pinged (falsy when nobody ever was)."""
        pinged = NOBODY
        for version in self.versions:
            pinged |= version.pinged
        return pinged

    @property
    def mention_ids(self) -> list[int]:
        return list(self.pings.users)

    @property
    def mention_role_ids(self) -> list[int]:
        return list(self.pings.roles)

    @property
    def mention_everyone(self) -> bool:
        return self.pings.everyone

    def apply(self, edit: MessageEdit, *, at: float, is_edit: bool) -> None:
        for name in ("content", "embeds", "components", "attachments", "flags", "pings"):
            value = getattr(edit, name)
            if value is not None:
                setattr(self, name, value)
        if is_edit:
            self.edited_timestamp = iso_now()
        version = Version(
            at, self.content, list(self.embeds), self.files, list(self.components), self.flags, self.pings
        )
        self.versions.append(version)


@dataclass(frozen=True)
class CallbackRecord:
    """An accepted interaction callback (``type`` 4, 5, 6, 7, 9, ...) with the ``data`` it carried."""

    type: int
    data: dict[str, Any]
    at: float


@dataclass(frozen=True)
class CallbackRefusal:
    """An interaction callback the fake refused: the HTTP status and Discord's error body."""

    status: int
    body: dict[str, Any]
    at: float

    @property
    def code(self) -> int:
        return int(self.body.get("code", 0))


@dataclass
class FakeInteraction:
    """An interaction sent to the bot; ``guild_id`` is None in a DM, ``shard_id`` the shard of the session it was
    dispatched to (None: an unsharded one)."""

    id: int
    token: str
    type: int
    application_id: int
    guild_id: int | None
    channel_id: int
    user_id: int
    name: str | None
    attachment_size_limit: int
    payload: dict[str, Any]
    source_message_id: int | None = None
    dispatched_at: float | None = None
    shard_id: int | None = None
    callback: CallbackRecord | None = None
    refusals: list[CallbackRefusal] = field(default_factory=list)
    original_message_id: int | None = None
    followup_ids: list[int] = field(default_factory=list)

    @property
    def acknowledged(self) -> bool:
        return self.callback is not None

    @property
    def response_delay(self) -> float | None:
        """Seconds from dispatch to the accepted callback (None while unanswered)."""
        if self.callback is None or self.dispatched_at is None:
            return None
        return self.callback.at - self.dispatched_at
