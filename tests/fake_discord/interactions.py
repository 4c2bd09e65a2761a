"""Interactions the fake sends to the bot (INTERACTION_CREATE) and the handle a test keeps to follow each one.

`build_command_interaction` / `build_component_interaction` produce the full object discord.py 2.7 parses
(``attachment_size_limit`` and ``member.flags`` included: without them the client's gateway task dies).
Options are given as a mapping; their type is inferred (str 3, bool 5, int 4, float 10); `UserOption`,
`ChannelOption`, `RoleOption` and `AttachmentOption` give types 6, 7, 8 and 11 with their ``resolved`` data;
`Subcommand` / `SubcommandGroup` nest.
An interaction in a guild channel carries that guild (``guild_id``, ``guild``, ``member`` with its permissions there,
context 0); one in a DM channel carries ``user`` instead, context 1 (BOT_DM) and the DM ``app_permissions``.
"""

from __future__ import annotations

import mimetypes
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from . import payloads
from .state import ALL_PERMISSIONS, DM_APP_PERMISSIONS, CallbackRecord, FakeChannel, FakeInteraction, FakeMessage

if TYPE_CHECKING:
    from .backend import Backend

STRING, INTEGER, BOOLEAN, USER, CHANNEL, ROLE, NUMBER, ATTACHMENT = 3, 4, 5, 6, 7, 8, 10, 11
SUBCOMMAND, SUBCOMMAND_GROUP = 1, 2
CHAT_INPUT = 1
BUTTON = 2


@dataclass(frozen=True)
class UserOption:
    user_id: int


@dataclass(frozen=True)
class ChannelOption:
    channel_id: int


@dataclass(frozen=True)
class RoleOption:
    role_id: int


@dataclass(frozen=True)
class AttachmentOption:
    filename: str
    data: bytes
    content_type: str | None = None


OptionValue = str | int | float | bool | UserOption | ChannelOption | RoleOption | AttachmentOption


@dataclass(frozen=True)
class Subcommand:
    name: str
    options: Mapping[str, OptionValue] = field(default_factory=dict)


@dataclass(frozen=True)
class SubcommandGroup:
    name: str
    subcommand: Subcommand


CommandOptions = Mapping[str, OptionValue] | Subcommand | SubcommandGroup


class OptionBuilder:
    """Turns test-friendly option values into Discord's ``options`` list and ``resolved`` data."""

    def __init__(self, backend: Backend, guild_id: int | None) -> None:
        self.backend = backend
        self.guild_id = guild_id
        self.resolved: dict[str, dict[str, Any]] = {}

    def build(self, options: CommandOptions | None) -> list[dict[str, Any]]:
        if options is None:
            return []
        if isinstance(options, SubcommandGroup):
            inner = self.build(options.subcommand)
            return [{"name": options.name, "type": SUBCOMMAND_GROUP, "options": inner}]
        if isinstance(options, Subcommand):
            return [{"name": options.name, "type": SUBCOMMAND, "options": self.build(options.options)}]
        return [self.option(name, value) for name, value in options.items()]

    def option(self, name: str, value: OptionValue) -> dict[str, Any]:
        if isinstance(value, UserOption):
            return {"name": name, "type": USER, "value": str(self.resolve_user(value.user_id))}
        if isinstance(value, ChannelOption):
            channel = self.backend.state.channels[value.channel_id]
            resolved = payloads.channel(channel) | {"permissions": str(ALL_PERMISSIONS)}
            self.resolved.setdefault("channels", {})[str(channel.id)] = resolved
            return {"name": name, "type": CHANNEL, "value": str(channel.id)}
        if isinstance(value, RoleOption):
            role = self.backend.state.roles[value.role_id]
            self.resolved.setdefault("roles", {})[str(role.id)] = payloads.role(role)
            return {"name": name, "type": ROLE, "value": str(role.id)}
        if isinstance(value, AttachmentOption):
            return {"name": name, "type": ATTACHMENT, "value": str(self.resolve_attachment(value))}
        if isinstance(value, bool):
            return {"name": name, "type": BOOLEAN, "value": value}
        if isinstance(value, int):
            return {"name": name, "type": INTEGER, "value": value}
        if isinstance(value, float):
            return {"name": name, "type": NUMBER, "value": value}
        if isinstance(value, str):
            return {"name": name, "type": STRING, "value": value}
        raise TypeError(f"option {name!r}: cannot infer a Discord option type for {value!r}")

    def resolve_user(self, user_id: int) -> int:
        state = self.backend.state
        self.resolved.setdefault("users", {})[str(user_id)] = payloads.user(state.users[user_id])
        member = state.member(self.guild_id, user_id)
        if member is not None:
            data = payloads.member(self.backend, member, with_user=False, with_permissions=True)
            self.resolved.setdefault("members", {})[str(user_id)] = data
        return user_id

    def resolve_attachment(self, option: AttachmentOption) -> int:
        content_type = option.content_type or mimetypes.guess_type(option.filename)[0] or "application/octet-stream"
        stored = self.backend.state.store_attachment(option.filename, option.data, content_type, self.backend.base_url)
        self.resolved.setdefault("attachments", {})[str(stored.id)] = payloads.attachment(stored)
        return stored.id


def command_id_for(backend: Backend, name: str, guild_id: int | None) -> tuple[str, int | None]:
    """The registered id of command ``name`` (the guild's commands first), or a fresh one if it was never synced."""
    command, scope = registered_command(backend, name, guild_id)
    return (str(command["id"]), scope) if command is not None else (str(backend.state.new_id()), None)


def registered_command(
    backend: Backend, name: str, guild_id: int | None, *, kind: int = CHAT_INPUT
) -> tuple[dict[str, Any] | None, int | None]:
    """The synced command ``name`` of type ``kind`` (1 chat input, 3 message) visible in ``guild_id`` (None: a DM)
    and its scope."""
    scopes = (guild_id, None) if guild_id is not None else (None,)
    for scope in scopes:
        for command in backend.commands.get(scope, []):
            if command["name"] == name and command["type"] == kind:
                return command, scope
    return None, None


def channel_of(backend: Backend, channel_id: int) -> FakeChannel:
    channel = backend.state.channels.get(channel_id)
    if channel is None:
        raise LookupError(f"no channel {channel_id}: create it with add_channel(), add_thread() or open_dm() first")
    return channel


def default_user(backend: Backend, channel_id: int) -> int:
    """Who acts in a channel when a test does not say: the DM's recipient, else the default member ``tester``."""
    channel = backend.state.channels.get(channel_id)
    if channel is not None and channel.is_dm and channel.recipient_id is not None:
        return channel.recipient_id
    return backend.identity.user_id


def base_interaction(
    backend: Backend, kind: int, channel_id: int, user_id: int, *, locale: str, size_limit: int
) -> dict[str, Any]:
    state = backend.state
    channel = channel_of(backend, channel_id)
    common: dict[str, Any] = {
        "id": str(state.new_id()),
        "application_id": str(backend.identity.application_id),
        "type": kind,
        "token": "aW50ZXJhY3Rpb24" + secrets.token_urlsafe(48),
        "version": 1,
        "channel_id": str(channel_id),
        "locale": locale,
        "entitlements": [],
        "entitlement_sku_ids": [],
        "attachment_size_limit": size_limit,
    }
    if channel.is_dm:
        return common | dm_fields(backend, channel, user_id)
    return common | guild_fields(backend, channel, user_id)


def dm_fields(backend: Backend, channel: FakeChannel, user_id: int) -> dict[str, Any]:
    if user_id != channel.recipient_id:
        raise LookupError(f"user {user_id} is not the recipient of DM channel {channel.id} ({channel.recipient_id})")
    return {
        "channel": payloads.dm_channel(backend, channel),
        "user": payloads.user(backend.state.users[user_id]),
        "app_permissions": str(DM_APP_PERMISSIONS),
        "authorizing_integration_owners": {"0": "0"},  # a guild-installed app, used in its bot's DM
        "context": 1,
    }


def guild_fields(backend: Backend, channel: FakeChannel, user_id: int) -> dict[str, Any]:
    state, guild_id = backend.state, channel.guild_id or 0
    member = state.member(guild_id, user_id)
    if member is None:
        raise LookupError(f"user {user_id} is not a member of guild {guild_id}: use add_member() or join_guild()")
    return {
        "guild_id": str(guild_id),
        "guild": {"id": str(guild_id), "locale": "en-US", "features": []},
        "channel": payloads.channel(channel) | {"permissions": str(backend.permissions_of(user_id, guild_id))},
        "member": payloads.member(backend, member, with_permissions=True),
        "app_permissions": str(backend.permissions_of(backend.identity.bot_user_id, guild_id)),
        "guild_locale": "en-US",
        "authorizing_integration_owners": {"0": str(guild_id)},
        "context": 0,
    }


def command_data(
    backend: Backend, name: str, options: list[dict[str, Any]], resolved: dict[str, Any], guild_id: int | None
) -> dict[str, Any]:
    command_id, scope = command_id_for(backend, name, guild_id)
    data: dict[str, Any] = {"id": command_id, "name": name, "type": 1, "options": options, "resolved": resolved}
    if scope is not None:
        data["guild_id"] = str(scope)
    return data


def build_command_interaction(
    backend: Backend,
    name: str,
    options: CommandOptions | None,
    *,
    channel_id: int,
    user_id: int,
    locale: str,
    size_limit: int,
) -> FakeInteraction:
    payload = base_interaction(
        backend, payloads.APPLICATION_COMMAND, channel_id, user_id, locale=locale, size_limit=size_limit
    )
    guild_id = channel_of(backend, channel_id).guild_id
    builder = OptionBuilder(backend, guild_id)
    payload["data"] = command_data(backend, name, builder.build(options), builder.resolved, guild_id)
    return record(backend, payload, name=name, source_message_id=None)


def build_component_interaction(
    backend: Backend, message: FakeMessage, data: dict[str, Any], *, user_id: int, locale: str, size_limit: int
) -> FakeInteraction:
    payload = base_interaction(
        backend, payloads.MESSAGE_COMPONENT, message.channel_id, user_id, locale=locale, size_limit=size_limit
    )
    payload["data"] = data
    payload["message"] = payloads.message(backend, message)
    return record(backend, payload, name=None, source_message_id=message.id)


def record(
    backend: Backend, payload: dict[str, Any], *, name: str | None, source_message_id: int | None
) -> FakeInteraction:
    invoker = payload["member"]["user"] if "member" in payload else payload["user"]
    interaction = FakeInteraction(
        id=int(payload["id"]),
        token=payload["token"],
        type=payload["type"],
        application_id=int(payload["application_id"]),
        guild_id=int(payload["guild_id"]) if "guild_id" in payload else None,
        channel_id=int(payload["channel_id"]),
        user_id=int(invoker["id"]),
        name=name,
        attachment_size_limit=payload["attachment_size_limit"],
        payload=payload,
        source_message_id=source_message_id,
    )
    backend.state.interactions[interaction.id] = interaction
    return interaction


def find_component(components: list[dict[str, Any]], custom_id: str) -> dict[str, Any] | None:
    """Depth-first search through action rows and containers (components v2) for ``custom_id``."""
    for component in components:
        if component.get("custom_id") == custom_id:
            return component
        nested = [*component.get("components", []), *([component["accessory"]] if "accessory" in component else [])]
        found = find_component(nested, custom_id)
        if found is not None:
            return found
    return None


class InteractionHandle:
    """What a test holds after sending an interaction: await its acknowledgement and its messages."""

    def __init__(self, backend: Backend, interaction: FakeInteraction) -> None:
        self._backend = backend
        self.record = interaction

    @property
    def id(self) -> int:
        return self.record.id

    @property
    def token(self) -> str:
        return self.record.token

    @property
    def dispatched_at(self) -> float | None:
        return self.record.dispatched_at

    @property
    def callback(self) -> CallbackRecord | None:
        return self.record.callback

    async def responded(self, timeout: float = 5.0) -> CallbackRecord:  # noqa: ASYNC109
        """The accepted callback (a late or refused one does not count)."""
        return await self._backend.state.wait_until(
            lambda: self.record.callback, timeout, f"a callback to interaction {self.id}"
        )

    async def original_message(self, timeout: float = 5.0) -> FakeMessage:  # noqa: ASYNC109
        state = self._backend.state

        def original() -> FakeMessage | None:
            return state.messages.get(self.record.original_message_id or 0)

        return await state.wait_until(original, timeout, f"the original response of interaction {self.id}")

    async def followups(self, count: int = 1, timeout: float = 5.0) -> list[FakeMessage]:  # noqa: ASYNC109
        state = self._backend.state

        def enough() -> list[FakeMessage] | None:
            ids = self.record.followup_ids
            return [state.messages[i] for i in ids] if len(ids) >= count else None

        return await state.wait_until(enough, timeout, f"{count} followup(s) of interaction {self.id}")

    def __repr__(self) -> str:
        return f"<InteractionHandle id={self.id} type={self.record.type} callback={self.callback}>"
