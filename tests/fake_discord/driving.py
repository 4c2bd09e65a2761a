"""Driving the bot from a test: interactions (slash commands, message commands, modal submissions, autocomplete,
clicks, selects), user messages.

`BotDriving` is a mixin of `FakeDiscord`. Each helper returns once its gateway event is on the wire; interactions
return an `InteractionHandle` to await the bot's answer (autocomplete returns the choices themselves).
"""

from __future__ import annotations

import asyncio
import mimetypes
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from functools import partial
from typing import Any

from .autocomplete import build_autocomplete_interaction
from .backend import Backend
from .compose import channel_writer, pings_of
from .gateway import GatewayConnection
from .interactions import (
    BUTTON,
    CommandOptions,
    InteractionHandle,
    build_command_interaction,
    build_component_interaction,
    default_user,
    find_component,
)
from .message_commands import build_message_command_interaction, build_modal_submit_interaction
from .server import drain
from .state import CallbackRefusal, FakeChannel, FakeInteraction, FakeMessage, MessageEdit, StoredAttachment

SELECT_TYPES = frozenset({3, 5, 6, 7, 8})
USER_MENTION_FORMAT = "<@{}>"


class CallbackRefused(Exception):
    """The bot answered an interaction the way Discord refuses; ``refusal`` has the status and error body."""

    def __init__(self, refusal: CallbackRefusal) -> None:
        super().__init__(f"{refusal.status} {refusal.body}")
        self.refusal = refusal


class BotDriving:
    """Helpers that act as Discord's users toward the connected bot (mixed into `FakeDiscord`)."""

    backend: Backend

    async def wait_for_gateway(
        self,
        timeout: float = 10.0,  # noqa: ASYNC109
        *,
        shard: int | None = None,
    ) -> GatewayConnection:
        """The first connection that identified (or resumed); with ``shard``, the first that serves that shard."""
        hub = self.backend.gateway

        def found() -> GatewayConnection | None:
            return next((c for c in hub.ready_connections if shard is None or c.shard_id == shard), None)

        return await self.backend.state.wait_until(found, timeout, f"a bot session (shard {shard})")

    async def gateway_for(self, guild_id: int | None, timeout: float = 10.0) -> GatewayConnection:  # noqa: ASYNC109
        """The first connection serving ``guild_id`` (None: DMs, shard 0), where its interactions are sent."""
        hub = self.backend.gateway
        return await self.backend.state.wait_until(
            lambda: hub.connection_for(guild_id), timeout, f"a bot session serving guild {guild_id}"
        )

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
        """Send INTERACTION_CREATE for chat-input command ``name``; returns once it is on the wire.

        In a guild channel it comes from member ``user_id`` (default ``tester``) of that channel's guild; in a DM
        channel (`open_dm`) from its recipient, without guild or member, as Discord sends it.
        """
        channel_id = channel_id or self.backend.identity.channel_id
        build = partial(build_command_interaction, self.backend, name, options, channel_id=channel_id)
        return await self._send_in(channel_id, build, user_id, locale, attachment_size_limit, timeout)

    async def autocomplete(
        self,
        name: str,
        options: CommandOptions | None = None,
        *,
        focused: str | None = None,
        channel_id: int | None = None,
        user_id: int | None = None,
        locale: str = "en-US",
        timeout: float = 10.0,  # noqa: ASYNC109
    ) -> list[dict[str, Any]]:
        """The choices the bot offers while option ``focused`` (default: the last one given) of ``/name`` is typed.

        The focused option's value in ``options`` is the partial text typed so far. Sends an autocomplete
        interaction (type 4) and returns the ``choices`` of the bot's type-8 answer; raises `CallbackRefused` if
        Discord would refuse that answer (too many choices, bad names or values, too late). The interaction is in
        `interactions` (``response_delay`` says how fast it was answered).
        """
        channel_id = channel_id or self.backend.identity.channel_id
        build = partial(build_autocomplete_interaction, self.backend, name, options, focused, channel_id=channel_id)
        handle = await self._send_in(channel_id, build, user_id, locale, None, timeout)
        record = handle.record
        await self._answered(record, timeout)
        if record.callback is None:
            raise CallbackRefused(record.refusals[0])
        return list(record.callback.data.get("choices") or [])

    async def message_command(
        self,
        name: str,
        message_id: int,
        *,
        user_id: int | None = None,
        locale: str = "en-US",
        attachment_size_limit: int | None = None,
        timeout: float = 10.0,  # noqa: ASYNC109
    ) -> InteractionHandle:
        """Message command ``name`` (a context menu, Apps > name) used on stored message ``message_id``, in its
        channel, by ``user_id`` (default as for `slash_command`); returns once it is on the wire."""
        message = self.backend.state.live_message(message_id)
        if message is None:
            raise LookupError(f"no message {message_id}")
        build = partial(build_message_command_interaction, self.backend, name, message)
        return await self._send_in(message.channel_id, build, user_id, locale, attachment_size_limit, timeout)

    async def submit_modal(
        self,
        shown_by: InteractionHandle,
        values: Mapping[str, str] | None = None,
        *,
        locale: str = "en-US",
        timeout: float = 10.0,  # noqa: ASYNC109
    ) -> InteractionHandle:
        """Submit the modal the bot answered ``shown_by`` with (a type-9 callback), with ``values`` typed into its
        text inputs by custom id (the others left empty), as the user it was shown to. Raises ``ValueError`` for
        what a Discord client would not submit (see `message_commands`)."""
        record = shown_by.record
        await self._answered(record, timeout)
        interaction = build_modal_submit_interaction(self.backend, record, values or {}, locale=locale)
        connection = await self.gateway_for(record.guild_id, timeout)
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
        embeds: Sequence[dict[str, Any]] = (),
        files: Sequence[tuple[str, bytes]] = (),
        timeout: float = 10.0,  # noqa: ASYNC109
    ) -> FakeMessage:
        """A message by ``user_id``; each of ``mentions`` not already in ``content`` is prefixed as ``<@id>``.
        ``embeds`` (Discord's JSON) and ``files`` (``(filename, bytes)``, stored as its attachments) come with it.

        It pings as a Discord client's message does by default (every mention the author may make, and the author
        of ``reply_to``).

        In a guild channel the author must be a member of its guild; in a DM channel (`open_dm`), its recipient.
        Returns once MESSAGE_CREATE is on the wire (to sessions with the guild-messages, in a DM the
        direct-messages, intent).
        """
        channel = self.backend.state.channels[channel_id]
        self._check_author(channel, user_id)
        missing = [USER_MENTION_FORMAT.format(i) for i in dict.fromkeys(mentions) if f"<@{i}>" not in content]
        text = " ".join([*missing, content])
        writer = channel_writer(self.backend, channel, user_id)
        reply_target = self.backend.state.live_message(reply_to or 0)
        attachments = [self._stored_file(filename, data) for filename, data in files]
        pings = pings_of(self.backend, text, None, writer, reply_target)
        edit = MessageEdit(content=text, embeds=list(embeds), attachments=attachments, pings=pings)
        message = self.backend.state.create_message(
            channel, user_id, edit, type=19 if reply_to else 0, reference_id=reply_to
        )
        await drain(self.backend.gateway.publish_message("MESSAGE_CREATE", message), timeout)
        return message

    async def close_gateway(self, code: int = 4000, reason: str = "Closed by the test.") -> None:
        """Close every gateway socket with ``code`` (4000 and 1000 make discord.py RESUME)."""
        await drain(self.backend.gateway.close_all(code, reason), timeout=5.0)

    @asynccontextmanager
    async def gateway_held(self) -> AsyncIterator[None]:
        """Within the block, new gateway connections wait before their handshake (a client reconnecting stays
        disconnected); they go on when it ends."""
        self.backend.gateway.accepting.clear()
        try:
            yield
        finally:
            self.backend.gateway.accepting.set()

    def _stored_file(self, filename: str, data: bytes) -> StoredAttachment:
        content_type = mimetypes.guess_type(filename)[0] or "application/octet-stream"
        return self.backend.state.store_attachment(filename, data, content_type, self.backend.base_url)

    def _guild_of_channel(self, channel_id: int) -> int | None:
        channel = self.backend.state.channels.get(channel_id)
        return None if channel is None else channel.guild_id

    def _check_author(self, channel: FakeChannel, user_id: int) -> None:
        if channel.is_dm and user_id != channel.recipient_id:
            raise LookupError(f"user {user_id} is not the recipient of DM channel {channel.id}")
        if not channel.is_dm and self.backend.state.member(channel.guild_id, user_id) is None:
            raise LookupError(f"user {user_id} is not a member of guild {channel.guild_id}")

    def _component(self, message_id: int, custom_id: str) -> dict[str, Any]:
        message = self.backend.state.live_message(message_id)
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
        message = self.backend.state.messages[message_id]
        connection = await self.gateway_for(message.guild_id, timeout)
        interaction = build_component_interaction(
            self.backend,
            message,
            data,
            user_id=user_id or default_user(self.backend, message.channel_id),
            locale=locale,
            size_limit=self.backend.config.attachment_size_limit,
        )
        return await self._dispatch_interaction(connection, interaction, timeout)

    async def _send_in(
        self,
        channel_id: int,
        build: Callable[..., FakeInteraction],
        user_id: int | None,
        locale: str,
        size_limit: int | None,
        timeout: float,  # noqa: ASYNC109
    ) -> InteractionHandle:
        """The interaction ``build`` makes for ``user_id`` (default: who acts in the channel), dispatched to the
        session serving ``channel_id``."""
        connection = await self.gateway_for(self._guild_of_channel(channel_id), timeout)
        interaction = build(
            user_id=user_id or default_user(self.backend, channel_id),
            locale=locale,
            size_limit=size_limit or self.backend.config.attachment_size_limit,
        )
        return await self._dispatch_interaction(connection, interaction, timeout)

    async def _answered(self, record: FakeInteraction, timeout: float) -> None:  # noqa: ASYNC109
        """Until the bot's answer to the interaction was accepted or refused."""
        await self.backend.state.wait_until(
            lambda: record.callback or record.refusals, timeout, f"an answer to interaction {record.id}"
        )

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
        interaction.shard_id = connection.shard_id
        self.backend.state.changed()
        return InteractionHandle(self.backend, interaction)
