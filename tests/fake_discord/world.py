"""Building the fake's world from a test: guilds, channels, threads, roles, members, users, DM channels.

`WorldBuilding` is a mixin of `FakeDiscord`. Every guild-scoped helper takes ``guild_id`` (default: the first guild,
the one ``fake.guild_id`` names), and what it creates is announced on the gateway if the bot is connected
(GUILD_CREATE, CHANNEL_CREATE, THREAD_CREATE, GUILD_ROLE_CREATE, GUILD_MEMBER_ADD), as Discord does: to the
sessions of the guild's shard (`shard_of`).
"""

from __future__ import annotations

from collections.abc import Sequence

from . import payloads, shards
from .backend import Backend
from .gateway import GUILD_MEMBERS, GUILDS
from .state import TEXT_CHANNEL, FakeChannel, FakeGuild, FakeMember


class WorldBuilding:
    """Helpers that add guilds, channels, roles, members, users and DMs (mixed into `FakeDiscord`)."""

    backend: Backend

    def _guild(self, guild_id: int | None) -> FakeGuild:
        return self.backend.state.guild(guild_id or self.backend.identity.guild_id)

    @property
    def guild_ids(self) -> list[int]:
        """Every guild the bot is in, the first (``fake.guild_id``) first."""
        return list(self.backend.state.guilds)

    def guild(self, guild_id: int | None = None) -> FakeGuild:
        """The guild record (name, owner, members by user id, default channel); default: the first guild."""
        return self._guild(guild_id)

    def shard_of(self, guild_id: int | None, shard_count: int | None = None) -> int:
        """The shard the events of ``guild_id`` go to (None, a DM: 0) of ``shard_count`` (default: the fake's)."""
        count = shard_count or self.backend.config.shard_count
        if count is None:
            raise ValueError("shard_of() needs a shard_count: the fake has none")
        return shards.shard_of(guild_id, count)

    def default_channel_of(self, guild_id: int) -> int:
        """The ``#general`` text channel every guild is created with."""
        return self._guild(guild_id).default_channel_id

    def add_guild(self, name: str, *, owner_id: int | None = None, shard: int | None = None) -> int:
        """Another guild with @everyone, ``#general``, the bot (with its role) and the owner (default: ``tester``).

        ``shard`` picks an id on that shard of the fake's ``shard_count`` (which it then needs). The bot learns of it
        by GUILD_CREATE on that shard: now if connected (without ``unavailable``, which is how Discord, and
        discord.py's ``on_guild_join``, tell a join from a guild coming back), else after READY like every guild.
        """
        guild_id = None if shard is None else self.backend.guild_id_on_shard(shard)
        guild = self.backend.build_guild(name, owner_id=owner_id, guild_id=guild_id)
        joined = payloads.guild_create(self.backend, guild.id)
        del joined["unavailable"]
        self.backend.gateway.dispatch("GUILD_CREATE", joined, guild_id=guild.id, intents=GUILDS)
        return guild.id

    def add_channel(self, name: str, *, guild_id: int | None = None, topic: str | None = None) -> int:
        guild = self._guild(guild_id)
        channel = self.backend.state.add_channel(name, guild.id, type=TEXT_CHANNEL, topic=topic)
        self.backend.gateway.dispatch("CHANNEL_CREATE", payloads.channel(channel), guild_id=guild.id, intents=GUILDS)
        return channel.id

    def add_thread(self, parent_id: int, name: str, *, private: bool = False, owner_id: int | None = None) -> int:
        """A thread in guild channel ``parent_id`` (and so in its guild)."""
        parent: FakeChannel = self.backend.state.channels[parent_id]
        if parent.guild_id is None:
            raise ValueError(f"channel {parent_id} is a DM: threads live in guild channels")
        owner = owner_id or self.backend.identity.user_id
        thread = self.backend.state.add_thread(parent, name, private=private, owner_id=owner)
        event = payloads.channel(thread) | {"newly_created": True}
        self.backend.gateway.dispatch("THREAD_CREATE", event, guild_id=thread.guild_id, intents=GUILDS)
        return thread.id

    def add_role(
        self, name: str, *, guild_id: int | None = None, permissions: int = 0, mentionable: bool = False
    ) -> int:
        """A role; ``mentionable`` lets anyone ping it (otherwise only authors with Mention Everyone can)."""
        guild = self._guild(guild_id)
        role = self.backend.state.add_role(name, permissions, guild_id=guild.id, mentionable=mentionable)
        event = {"guild_id": str(guild.id), "role": payloads.role(role)}
        self.backend.gateway.dispatch("GUILD_ROLE_CREATE", event, guild_id=guild.id, intents=GUILDS)
        return role.id

    def add_user(self, name: str) -> int:
        """A user in no guild the bot shares (one who can still DM it: see `open_dm`)."""
        return self.backend.state.add_user(name).id

    def add_member(
        self,
        name: str,
        *,
        guild_id: int | None = None,
        permissions: int | None = None,
        roles: Sequence[int] = (),
    ) -> int:
        """A new user, member of one guild; ``permissions`` overrides what its roles would grant (in interactions)."""
        guild = self._guild(guild_id)
        self._check_roles(guild, roles)
        user = self.backend.state.add_user(name)
        self._announce_member(self.backend.state.add_member(guild.id, user.id, list(roles), permissions))
        return user.id

    def join_guild(
        self, user_id: int, guild_id: int, *, permissions: int | None = None, roles: Sequence[int] = ()
    ) -> None:
        """Make an existing user a member of one more guild (a user may be a member of several)."""
        guild = self._guild(guild_id)
        if user_id not in self.backend.state.users:
            raise LookupError(f"no user {user_id}: create it with add_user() or add_member() first")
        if user_id in guild.members:
            raise ValueError(f"user {user_id} is already a member of guild {guild.id}")
        self._check_roles(guild, roles)
        self._announce_member(self.backend.state.add_member(guild.id, user_id, list(roles), permissions))

    def open_dm(self, user_id: int) -> int:
        """The DM channel (type 1) between the bot and ``user_id``: created on first use, the same one after."""
        if user_id not in self.backend.state.users:
            raise LookupError(f"no user {user_id}: create it with add_user() or add_member() first")
        if user_id == self.backend.identity.bot_user_id:
            raise ValueError("the bot cannot open a DM with itself")
        return self.backend.state.open_dm(user_id).id

    def _check_roles(self, guild: FakeGuild, roles: Sequence[int]) -> None:
        state = self.backend.state
        unknown = [
            role_id for role_id in roles if role_id not in state.roles or state.roles[role_id].guild_id != guild.id
        ]
        if unknown:
            raise LookupError(f"unknown role id(s) {unknown} in guild {guild.id}: create them with add_role() first")

    def _announce_member(self, member: FakeMember) -> None:
        event = payloads.member(self.backend, member) | {"guild_id": str(member.guild_id)}
        self.backend.gateway.dispatch(
            "GUILD_MEMBER_ADD", event, guild_id=member.guild_id, intents=GUILDS | GUILD_MEMBERS
        )
