"""`FakeDiscord`: what a test uses. Starts the fake on 127.0.0.1, builds its world, drives the bot, answers questions.

async with FakeDiscord() as discord:
    ...  # point discord.py at discord.api_base / discord.gateway_url, log in with discord.token
    interaction = await discord.slash_command("chat", {"prompt": "hi"})
    reply = await interaction.original_message()
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Self, TypeVar

from .backend import MIB, Backend, CommandSync, FakeConfig
from .driving import BotDriving
from .faults import Fault, FaultKind
from .ratelimit import RateLimit, merge_rate_limits
from .server import ServerApp
from .shards import IdentifyRecord
from .state import (
    DEFAULT_BOT_PERMISSIONS,
    DEFAULT_EVERYONE_PERMISSIONS,
    FakeChannel,
    FakeInteraction,
    FakeMessage,
    FakeState,
)
from .stats import Stats
from .world import WorldBuilding

T = TypeVar("T")


class FakeDiscord(WorldBuilding, BotDriving):
    """A fake Discord (REST + gateway) for one test; use it as an async context manager.

    Building the world (``add_guild``, ``add_channel``, ``add_member``, ``open_dm``, ...) comes from `WorldBuilding`,
    driving the bot (``slash_command``, ``message_command``, ``submit_modal``, ``autocomplete``, ``click_button``,
    ``send_user_message``, ...) from `BotDriving`.

    ``shard_count`` makes the fake shard like Discord (see `shards`): ``/gateway/bot`` recommends that count (with
    ``max_concurrency``), an IDENTIFY for another count is refused with 4010, each sharded session gets only its
    shard's guilds and events, and the first guild is on shard 0. Without it any count is accepted. A client that
    sends no ``shard`` gets everything either way.
    """

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
        shard_count: int | None = None,
        max_concurrency: int = 1,
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
            shard_count=shard_count,
            max_concurrency=max_concurrency,
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
        """The first guild, ``guild_name`` (see `guild_ids` for all of them)."""
        return self.backend.identity.guild_id

    @property
    def everyone_role_id(self) -> int:
        return self.backend.identity.everyone_role_id

    @property
    def channel_id(self) -> int:
        """The default text channel, ``#general`` of the first guild (see `default_channel_of` for the others)."""
        return self.backend.identity.channel_id

    @property
    def user_id(self) -> int:
        """The default human member, ``tester`` (member and owner of every guild unless told otherwise)."""
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

    @property
    def shard_count(self) -> int | None:
        return self.backend.config.shard_count

    @property
    def identifies(self) -> list[IdentifyRecord]:
        """Every IDENTIFY received, accepted or refused: shard, monotonic arrival time, session id or close code."""
        return list(self.backend.stats.identifies)

    def dispatched_on_shard(self, shard_id: int) -> list[tuple[str, dict[str, Any]]]:
        """``(event, data)`` of every dispatch written to the sessions of shard ``shard_id``."""
        return self.backend.gateway.dispatched_on_shard(shard_id)

    def message(self, message_id: int) -> FakeMessage:
        return self.state.messages[message_id]

    def channel(self, channel_id: int) -> FakeChannel:
        return self.state.channels[channel_id]

    def messages_in(self, channel_id: int | None = None, *, include_deleted: bool = False) -> list[FakeMessage]:
        """Messages of a channel (default: ``#general``) in creation order, interaction responses included."""
        return self.state.messages_in(channel_id or self.channel_id, include_deleted=include_deleted)

    # -- faults ----------------------------------------------------------------------------------------------------

    def inject_fault(
        self, bucket: str, kind: FaultKind, *, count: int = 1, method: str = "PATCH", delay: float = 0.0
    ) -> Fault:
        """Make the next `count` requests of route kind `bucket` (``message_edit``, ``interaction_webhook``, ...)
        fail: ``server-error`` (503), ``reset`` (the connection dropped unanswered) or ``slow`` (`delay` s late)."""
        return self.backend.faults.add(Fault(bucket, kind, count, method, delay))

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
