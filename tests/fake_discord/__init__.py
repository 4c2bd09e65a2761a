"""A fake Discord (REST + gateway on 127.0.0.1) to run the unmodified discord.py client end to end in tests.

    from tests.fake_discord import FakeDiscord, RateLimit, running_client

    async with FakeDiscord(rate_limits={"message_edit": RateLimit(5, 5.0)}) as discord:
        async with running_client(discord, bot):
            interaction = await discord.slash_command("chat", {"prompt": "hi"})
            reply = await interaction.original_message()

Modules: `fake` (the `FakeDiscord` facade) with its mixins `world` (guilds, channels, members, DMs) and `driving`
(interactions, user messages), `server` (aiohttp app and runner), `gateway` (websocket protocol), `rest_core` /
`rest_messages` / `rest_interactions` (routes), `compose` (payload validation, whom a message pings),
`autocomplete` (type-4 interactions and their answers), `message_commands` (message commands, modals and their
submissions), `state` / `entities` (the world, message versions and whom each pinged), `payloads` (JSON shapes),
`ratelimit` (buckets), `stats` (counters), `shards` (which shard a guild is on, IDENTIFY's ``shard``,
``/gateway/bot``), `harness` (client runner).
"""

from .backend import MIB, CommandSync
from .driving import CallbackRefused
from .fake import FakeDiscord
from .harness import RunningClient, discord_py_pointed_at, running_client
from .interactions import (
    AttachmentOption,
    ChannelOption,
    InteractionHandle,
    RoleOption,
    Subcommand,
    SubcommandGroup,
    UserOption,
)
from .ratelimit import DEFAULT_RATE_LIMITS, RateLimit
from .shards import IdentifyRecord, shard_of
from .state import (
    CallbackRecord,
    CallbackRefusal,
    FakeChannel,
    FakeGuild,
    FakeInteraction,
    FakeMessage,
    Pings,
    StoredAttachment,
    Version,
)
from .stats import AckViolation, ErrorRecord, Stats

__all__ = [
    "DEFAULT_RATE_LIMITS",
    "MIB",
    "AckViolation",
    "AttachmentOption",
    "CallbackRecord",
    "CallbackRefusal",
    "CallbackRefused",
    "ChannelOption",
    "CommandSync",
    "ErrorRecord",
    "FakeChannel",
    "FakeDiscord",
    "FakeGuild",
    "FakeInteraction",
    "FakeMessage",
    "IdentifyRecord",
    "InteractionHandle",
    "Pings",
    "RateLimit",
    "RoleOption",
    "RunningClient",
    "Stats",
    "StoredAttachment",
    "Subcommand",
    "SubcommandGroup",
    "UserOption",
    "Version",
    "discord_py_pointed_at",
    "running_client",
    "shard_of",
]
