"""Interactions the fake sends to the bot (INTERACTION_CREATE) and the handle a test keeps to follow each one.

`build_command_interaction` / `build_component_interaction` produce the full object discord.py 2.7 parses
(``attachment_size_limit`` and ``member.flags`` included: without them the client's gateway task dies).
Options are given as a mapping; their type is inferred (str 3, bool 5, int 4, float 10), `UserOption` and
`AttachmentOption` give types 6 and 11 with their ``resolved`` data, and `Subcommand` / `SubcommandGroup` nest.
"""

from __future__ import annotations

import mimetypes
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from . import payloads
from .state import CallbackRecord, FakeInteraction, FakeMessage

if TYPE_CHECKING:
    from .backend import Backend

STRING, INTEGER, BOOLEAN, USER, NUMBER, ATTACHMENT = 3, 4, 5, 6, 10, 11
SUBCOMMAND, SUBCOMMAND_GROUP = 1, 2
BUTTON = 2


@dataclass(frozen=True)
class UserOption:
    user_id: int


@dataclass(frozen=True)
class AttachmentOption:
    filename: str
    data: bytes
    content_type: str | None = None


OptionValue = str | int | float | bool | UserOption | AttachmentOption


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

    def __init__(self, backend: Backend) -> None:
        self.backend = backend
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
        if user_id in state.members:
            member = payloads.member(self.backend, state.members[user_id], with_user=False, with_permissions=True)
            self.resolved.setdefault("members", {})[str(user_id)] = member
        return user_id

    def resolve_attachment(self, option: AttachmentOption) -> int:
        content_type = option.content_type or mimetypes.guess_type(option.filename)[0] or "application/octet-stream"
        stored = self.backend.state.store_attachment(option.filename, option.data, content_type, self.backend.base_url)
        self.resolved.setdefault("attachments", {})[str(stored.id)] = payloads.attachment(stored)
        return stored.id


def command_id_for(backend: Backend, name: str) -> tuple[str, int | None]:
    """The registered id of command ``name`` (guild commands first), or a fresh one if it was never synced."""
    for scope in (backend.identity.guild_id, None):
        for command in backend.commands.get(scope, []):
            if command["name"] == name and command["type"] == 1:
                return str(command["id"]), scope
    return str(backend.state.new_id()), None


def base_interaction(
    backend: Backend, kind: int, channel_id: int, user_id: int, *, locale: str, size_limit: int
) -> dict[str, Any]:
    state, ids = backend.state, backend.identity
    channel = state.channels.get(channel_id)
    if channel is None:
        raise LookupError(f"no channel {channel_id}: create it with add_channel() or add_thread() first")
    if user_id not in state.members:
        raise LookupError(f"user {user_id} is not a member of the guild: create it with add_member() first")
    return {
        "id": str(state.new_id()),
        "application_id": str(ids.application_id),
        "type": kind,
        "token": "aW50ZXJhY3Rpb24" + secrets.token_urlsafe(48),
        "version": 1,
        "guild_id": str(ids.guild_id),
        "guild": {"id": str(ids.guild_id), "locale": "en-US", "features": []},
        "channel_id": str(channel_id),
        "channel": payloads.channel(channel) | {"permissions": str(backend.permissions_of(user_id))},
        "member": payloads.member(backend, state.members[user_id], with_permissions=True),
        "app_permissions": str(backend.permissions_of(ids.bot_user_id)),
        "locale": locale,
        "guild_locale": "en-US",
        "entitlements": [],
        "entitlement_sku_ids": [],
        "authorizing_integration_owners": {"0": str(ids.guild_id)},
        "context": 0,
        "attachment_size_limit": size_limit,
    }


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
    builder = OptionBuilder(backend)
    command_id, scope = command_id_for(backend, name)
    data: dict[str, Any] = {"id": command_id, "name": name, "type": 1, "options": builder.build(options)}
    data["resolved"] = builder.resolved
    if scope is not None:
        data["guild_id"] = str(scope)
    payload = base_interaction(
        backend, payloads.APPLICATION_COMMAND, channel_id, user_id, locale=locale, size_limit=size_limit
    )
    payload["data"] = data
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
    interaction = FakeInteraction(
        id=int(payload["id"]),
        token=payload["token"],
        type=payload["type"],
        application_id=int(payload["application_id"]),
        guild_id=int(payload["guild_id"]),
        channel_id=int(payload["channel_id"]),
        user_id=int(payload["member"]["user"]["id"]),
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
