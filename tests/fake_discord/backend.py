"""The shared core of the fake Discord: settings, the ids of the default world, state, counters, limiter, gateway.

REST handlers and the gateway receive the one `Backend` of their server; `FakeDiscord` wraps it for tests.
`Backend.build_guild` makes every guild alike: @everyone, the bot's managed role, the bot and the owner as
members, one text channel ``#general``. With a ``shard_count``, the first guild is on shard 0.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field

from .faults import Faults
from .gateway import GatewayHub
from .ratelimit import RateLimit, RateLimiter
from .state import (
    DEFAULT_BOT_PERMISSIONS,
    DEFAULT_EVERYONE_PERMISSIONS,
    TEXT_CHANNEL,
    FakeChannel,
    FakeGuild,
    FakeState,
)
from .stats import Stats

MIB = 1024 * 1024


@dataclass(frozen=True)
class FakeConfig:
    """How the fake behaves; `FakeDiscord`'s keyword arguments end up here."""

    rate_limits: dict[str, RateLimit]
    token: str = field(default_factory=lambda: f"fake.{secrets.token_urlsafe(24)}")
    ack_deadline: float = 3.0
    token_lifetime: float = 15 * 60.0
    attachment_size_limit: int = 10 * MIB
    request_size_limit: int = 25 * MIB
    refuse_privileged_intents: bool = False
    heartbeat_interval: float = 41.25
    guild_name: str = "Fake Guild"
    bot_name: str = "FakeBot"
    everyone_permissions: int = DEFAULT_EVERYONE_PERMISSIONS
    bot_permissions: int = DEFAULT_BOT_PERMISSIONS
    shard_count: int | None = None
    max_concurrency: int = 1

    def __post_init__(self) -> None:
        if self.shard_count is not None and self.shard_count < 1:
            raise ValueError(f"shard_count must be at least 1, not {self.shard_count}")
        if self.max_concurrency < 1:
            raise ValueError(f"max_concurrency must be at least 1, not {self.max_concurrency}")


@dataclass(frozen=True)
class Identity:
    """The ids of the default world: the first guild, its @everyone role, the bot, one human member, one channel."""

    application_id: int
    bot_user_id: int
    guild_id: int
    everyone_role_id: int
    bot_role_id: int
    user_id: int
    channel_id: int


class Backend:
    def __init__(self, config: FakeConfig) -> None:
        self.config = config
        self.state = FakeState()
        self.stats = Stats()
        self.limiter = RateLimiter(config.rate_limits)
        self.identity = self._build_default_world()
        self.gateway = GatewayHub(self)
        self.base_url = ""
        self.command_syncs: list[CommandSync] = []
        self.commands: dict[int | None, list[dict[str, object]]] = {}
        self.faults = Faults()

    @staticmethod
    def now() -> float:
        return time.monotonic()

    @property
    def api_base(self) -> str:
        return f"{self.base_url}/api/v10"

    @property
    def gateway_url(self) -> str:
        return self.base_url.replace("http://", "ws://", 1) + "/gateway"

    def _build_default_world(self) -> Identity:
        state, config = self.state, self.config
        bot = state.add_user(config.bot_name, bot=True)
        user = state.add_user("tester")
        first_id = self.guild_id_on_shard(0) if config.shard_count else None
        guild = self.build_guild(config.guild_name, bot_id=bot.id, owner_id=user.id, guild_id=first_id)
        return Identity(
            application_id=bot.id,
            bot_user_id=bot.id,
            guild_id=guild.id,
            everyone_role_id=guild.everyone_role_id,
            bot_role_id=guild.bot_role_id,
            user_id=user.id,
            channel_id=guild.default_channel_id,
        )

    def guild_id_on_shard(self, shard_id: int) -> int:
        """A new guild id on shard ``shard_id`` of the configured ``shard_count``."""
        count = self.config.shard_count
        if count is None:
            raise ValueError("a guild can be put on a shard only when the fake has a shard_count")
        if not 0 <= shard_id < count:
            raise ValueError(f"shard {shard_id} is not one of the {count} shards")
        return self.state.snowflakes.next_on_shard(shard_id, count)

    def build_guild(
        self, name: str, *, bot_id: int | None = None, owner_id: int | None = None, guild_id: int | None = None
    ) -> FakeGuild:
        """A guild with @everyone, the bot (with its managed role), the owner (default: ``tester``), ``#general``."""
        state, config = self.state, self.config
        bot_id = bot_id or self.identity.bot_user_id
        owner_id = owner_id or self.identity.user_id
        guild = state.add_guild(name, owner_id, guild_id=guild_id)
        state.add_role("@everyone", config.everyone_permissions, guild_id=guild.id, role_id=guild.id)
        bot_role = state.add_role(config.bot_name, config.bot_permissions, guild_id=guild.id, bot_id=bot_id)
        guild.bot_role_id = bot_role.id
        state.add_member(guild.id, bot_id, [bot_role.id])
        state.add_member(guild.id, owner_id, [])
        guild.default_channel_id = state.add_channel("general", guild.id, type=TEXT_CHANNEL).id
        return guild

    def channel(self, channel_id: int) -> FakeChannel | None:
        return self.state.channels.get(channel_id)

    def permissions_of(self, user_id: int, guild_id: int | None = None) -> int:
        """The guild-wide permissions of member ``user_id`` in ``guild_id`` (default: the first guild)."""
        return self.state.member_permissions(guild_id or self.identity.guild_id, user_id)


class CommandSync(list):  # type: ignore[type-arg]
    """The command list of one bulk overwrite (PUT), as received; ``guild_id`` is None for global commands."""

    def __init__(self, commands: list[dict[str, object]], guild_id: int | None, at: float) -> None:
        super().__init__(commands)
        self.guild_id = guild_id
        self.at = at
