"""`FakeDiscord`: what a test uses. Starts the fake on 127.0.0.1, builds its world, drives the bot, answers questions.

async with FakeDiscord() as discord:
    ...  # point discord.py at discord.api_base / discord.gateway_url, log in with discord.token
    interaction = await discord.slash_command("chat", {"prompt": "hi"})
    reply = await interaction.original_message()
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Self, TypeVar

from . import payloads
from .backend import MIB, Backend, CommandSync, FakeConfig
from .compose import add_mentions
from .gateway import GUILD_MEMBERS, GUILDS, GatewayConnection
from .interactions import (
    BUTTON,
    CommandOptions,
    InteractionHandle,
    build_command_interaction,
    build_component_interaction,
    find_component,
)
from .ratelimit import RateLimit, merge_rate_limits
from .server import ServerApp, drain
from .state import (
    DEFAULT_BOT_PERMISSIONS,
    DEFAULT_EVERYONE_PERMISSIONS,
    TEXT_CHANNEL,
    FakeChannel,
    FakeInteraction,
    FakeMessage,
    FakeState,
    MessageEdit,
)
from .stats import Stats

T = TypeVar("T")
SELECT_TYPES = frozenset({3, 5, 6, 7, 8})
USER_MENTION_FORMAT = "<@{}>"


class FakeDiscord:
    """A fake Discord (REST + gateway) for one test; use it as an async context manager."""

    def __init__(
        self,
        *,
        rate_limits: Mapping[str, RateLimit] | None = None,
        ack_deadline: float = 3.0,
        token_lifetime: float = 15 * 60.0,
        attachment_size_limit: int = 10 * MIB,
        request_size_limit: int = 25 * MIB,
        refuse_privileged_intents: bool = False,
        heartbeat_interval: float = 41.25,
        guild_name: str = "Fake Guild",
        bot_name: str = "FakeBot",
        everyone_permissions: int = DEFAULT_EVERYONE_PERMISSIONS,
        bot_permissions: int = DEFAULT_BOT_PERMISSIONS,
    ) -> None:
        config = FakeConfig(
            rate_limits=merge_rate_limits(rate_limits),
            ack_deadline=ack_deadline,
            token_lifetime=token_lifetime,
            attachment_size_limit=attachment_size_limit,
            request_size_limit=request_size_limit,
            refuse_privileged_intents=refuse_privileged_intents,
            heartbeat_interval=heartbeat_interval,
            guild_name=guild_name,
            bot_name=bot_name,
            everyone_permissions=everyone_permissions,
            bot_permissions=bot_permissions,
        )
        self.backend = Backend(config)
        self._server = ServerApp(self.backend)

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def start(self) -> None:
        self.backend.base_url = await self._server.start()

    async def close(self) -> None:
        await self._server.close()

    @property
    def config(self) -> FakeConfig:
        return self.backend.config

    # -- where and who ---------------------------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        return self.backend.base_url

    @property
    def api_base(self) -> str:
        """For ``discord.http.Route.BASE``."""
        return self.backend.api_base

    @property
    def gateway_url(self) -> str:
        """For ``DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(...)``."""
        return self.backend.gateway_url

    @property
    def token(self) -> str:
        return self.backend.config.token

    @property
    def application_id(self) -> int:
        return self.backend.identity.application_id

    @property
    def bot_user_id(self) -> int:
        return self.backend.identity.bot_user_id

    @property
    def guild_id(self) -> int:
        return self.backend.identity.guild_id

    @property
    def everyone_role_id(self) -> int:
        return self.backend.identity.everyone_role_id

    @property
    def channel_id(self) -> int:
        """The default text channel, ``#general``."""
        return self.backend.identity.channel_id

    @property
    def user_id(self) -> int:
        """The default human member, ``tester`` (also the guild's owner)."""
        return self.backend.identity.user_id

    # -- what happened ---------------------------------------------------------------------------------------------

    @property
    def state(self) -> FakeState:
        return self.backend.state

    @property
    def stats(self) -> Stats:
        return self.backend.stats

    @property
    def command_syncs(self) -> list[CommandSync]:
        """Each bulk overwrite (PUT) received: the list of commands sent, with ``.guild_id`` (None: global)."""
        return self.backend.command_syncs

    @property
    def interactions(self) -> list[FakeInteraction]:
        return list(self.state.interactions.values())

    @property
    def typing_events(self) -> list[tuple[int, float]]:
        """``(channel_id, monotonic time)`` of every typing indicator the bot triggered."""
        return list(self.state.typing)

    def message(self, message_id: int) -> FakeMessage:
        return self.state.messages[message_id]

    def channel(self, channel_id: int) -> FakeChannel:
        return self.state.channels[channel_id]

    def messages_in(self, channel_id: int | None = None, *, include_deleted: bool = False) -> list[FakeMessage]:
        """Messages of a channel (default: ``#general``) in creation order, interaction responses included."""
        return self.state.messages_in(channel_id or self.channel_id, include_deleted=include_deleted)

    # -- waiting, without polling ----------------------------------------------------------------------------------

    async def wait_until(self, predicate: Callable[[], T], timeout: float = 10.0) -> T:  # noqa: ASYNC109
        """Return ``predicate()``'s first truthy value; it is re-checked on every change of the fake's state."""
        return await self.state.wait_until(predicate, timeout)

    async def wait_for_message(
        self,
        predicate: Callable[[FakeMessage], bool] | None = None,
        *,
        channel_id: int | None = None,
        timeout: float = 10.0,  # noqa: ASYNC109
    ) -> FakeMessage:
        """The first live message (already there or still to come) in ``channel_id`` (any) that matches."""

        def found() -> FakeMessage | None:
            for message in list(self.state.messages.values()):
                wanted_channel = channel_id is None or message.channel_id == channel_id
                if wanted_channel and not message.deleted and (predicate is None or predicate(message)):
                    return message
            return None

        return await self.state.wait_until(found, timeout, "a matching message")

    async def wait_for_message_edit(
        self,
        message_id: int,
        predicate: Callable[[FakeMessage], bool] | None = None,
        *,
        timeout: float = 10.0,  # noqa: ASYNC109
    ) -> FakeMessage:
        """Until ``predicate(message)`` holds or, without a predicate, until a version newer than the current one."""
        message = self.state.messages[message_id]
        known_versions = len(message.versions)

        def done() -> FakeMessage | None:
            matched = predicate(message) if predicate else len(message.versions) > known_versions
            return message if matched else None

        return await self.state.wait_until(done, timeout, f"an edit of message {message_id}")

    # -- building the world (announced on the gateway if the bot is connected) ------------------------------------

    def add_channel(self, name: str, *, topic: str | None = None) -> int:
        channel = self.state.add_channel(name, self.guild_id, type=TEXT_CHANNEL, topic=topic)
        self.backend.gateway.dispatch("CHANNEL_CREATE", payloads.channel(channel), intents=GUILDS)
        return channel.id

    def add_thread(self, parent_id: int, name: str, *, private: bool = False, owner_id: int | None = None) -> int:
        owner = owner_id or self.user_id
        thread = self.state.add_thread(self.channel(parent_id), name, private=private, owner_id=owner)
        self.backend.gateway.dispatch(
            "THREAD_CREATE", payloads.channel(thread) | {"newly_created": True}, intents=GUILDS
        )
        return thread.id

    def add_role(self, name: str, *, permissions: int = 0) -> int:
        role = self.state.add_role(name, permissions)
        event = {"guild_id": str(self.guild_id), "role": payloads.role(role)}
        self.backend.gateway.dispatch("GUILD_ROLE_CREATE", event, intents=GUILDS)
        return role.id

    def add_member(self, name: str, *, permissions: int | None = None, roles: Sequence[int] = ()) -> int:
        """A human member; ``permissions`` overrides what its roles would grant (in interactions)."""
        unknown = [role_id for role_id in roles if role_id not in self.state.roles]
        if unknown:
            raise LookupError(f"unknown role id(s) {unknown}: create them with add_role() first")
        user = self.state.add_user(name)
        member = self.state.add_member(user.id, list(roles), permissions)
        event = payloads.member(self.backend, member) | {"guild_id": str(self.guild_id)}
        self.backend.gateway.dispatch("GUILD_MEMBER_ADD", event, intents=GUILDS | GUILD_MEMBERS)
        return user.id

    # -- driving the bot -------------------------------------------------------------------------------------------

    async def wait_for_gateway(self, timeout: float = 10.0) -> GatewayConnection:  # noqa: ASYNC109
        """The first connection that identified (or resumed)."""
        hub = self.backend.gateway
        return await self.state.wait_until(lambda: next(iter(hub.ready_connections), None), timeout, "a bot session")

    async def slash_command(
        self,
        name: str,
        options: CommandOptions | None = None,
        *,
        channel_id: int | None = None,
        user_id: int | None = None,
        locale: str = "en-US",
        attachment_size_limit: int | None = None,
        timeout: float = 10.0,  # noqa: ASYNC109
    ) -> InteractionHandle:
        """Send INTERACTION_CREATE for chat-input command ``name``; returns once it is on the wire."""
        connection = await self.wait_for_gateway(timeout)
        interaction = build_command_interaction(
            self.backend,
            name,
            options,
            channel_id=channel_id or self.channel_id,
            user_id=user_id or self.user_id,
            locale=locale,
            size_limit=attachment_size_limit or self.backend.config.attachment_size_limit,
        )
        return await self._dispatch_interaction(connection, interaction, timeout)

    async def click_button(
        self,
        message_id: int,
        custom_id: str,
        *,
        user_id: int | None = None,
        locale: str = "en-US",
        timeout: float = 10.0,  # noqa: ASYNC109
    ) -> InteractionHandle:
        """A click on the button ``custom_id`` of a message (a component interaction, message included)."""
        component = self._component(message_id, custom_id)
        if component["type"] != BUTTON:
            raise ValueError(f"component {custom_id!r} is of type {component['type']}, not a button")
        return await self._component_interaction(
            message_id, {"custom_id": custom_id, "component_type": BUTTON}, user_id, locale, timeout
        )

    async def select_option(
        self,
        message_id: int,
        custom_id: str,
        values: Sequence[str],
        *,
        user_id: int | None = None,
        locale: str = "en-US",
        timeout: float = 10.0,  # noqa: ASYNC109
    ) -> InteractionHandle:
        """A choice in the select menu ``custom_id`` of a message."""
        component = self._component(message_id, custom_id)
        if component["type"] not in SELECT_TYPES:
            raise ValueError(f"component {custom_id!r} is of type {component['type']}, not a select menu")
        data = {"custom_id": custom_id, "component_type": component["type"], "values": list(values)}
        return await self._component_interaction(message_id, data, user_id, locale, timeout)

    async def send_user_message(
        self,
        channel_id: int,
        user_id: int,
        content: str,
        *,
        mentions: Sequence[int] = (),
        reply_to: int | None = None,
        timeout: float = 10.0,  # noqa: ASYNC109
    ) -> FakeMessage:
        """A message by member ``user_id``; each of ``mentions`` not already in ``content`` is prefixed as ``<@id>``.

        Returns once MESSAGE_CREATE is on the wire (to sessions with the guild-messages intent).
        """
        missing = [USER_MENTION_FORMAT.format(i) for i in dict.fromkeys(mentions) if f"<@{i}>" not in content]
        edit = MessageEdit(content=" ".join([*missing, content]))
        add_mentions(self.backend, edit, allowed=None)
        message = self.state.create_message(
            self.channel(channel_id), user_id, edit, type=19 if reply_to else 0, reference_id=reply_to
        )
        await drain(self.backend.gateway.publish_message("MESSAGE_CREATE", message), timeout)
        return message

    async def close_gateway(self, code: int = 4000, reason: str = "Closed by the test.") -> None:
        """Close every gateway socket with ``code`` (4000 and 1000 make discord.py RESUME)."""
        await drain(self.backend.gateway.close_all(code, reason), timeout=5.0)

    def _component(self, message_id: int, custom_id: str) -> dict[str, Any]:
        message = self.state.live_message(message_id)
        if message is None:
            raise LookupError(f"no message {message_id}")
        component = find_component(message.components, custom_id)
        if component is None:
            raise LookupError(f"message {message_id} has no component {custom_id!r}: {message.components}")
        if component.get("disabled"):
            raise ValueError(f"component {custom_id!r} is disabled")
        return component

    async def _component_interaction(
        self,
        message_id: int,
        data: dict[str, Any],
        user_id: int | None,
        locale: str,
        timeout: float,  # noqa: ASYNC109
    ) -> InteractionHandle:
        connection = await self.wait_for_gateway(timeout)
        interaction = build_component_interaction(
            self.backend,
            self.state.messages[message_id],
            data,
            user_id=user_id or self.user_id,
            locale=locale,
            size_limit=self.backend.config.attachment_size_limit,
        )
        return await self._dispatch_interaction(connection, interaction, timeout)

    async def _dispatch_interaction(
        self,
        connection: GatewayConnection,
        interaction: FakeInteraction,
        timeout: float,  # noqa: ASYNC109
    ) -> InteractionHandle:
        sent_at = await asyncio.wait_for(connection.dispatch("INTERACTION_CREATE", interaction.payload), timeout)
        if sent_at is None:
            raise ConnectionError("the gateway connection closed before INTERACTION_CREATE was sent")
        interaction.dispatched_at = sent_at
        self.state.changed()
        return InteractionHandle(self.backend, interaction)
