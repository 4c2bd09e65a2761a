"""JSON shapes of Discord objects as discord.py 2.7 parses them (snowflakes as strings, required keys present).

Each builder mirrors the keys discord.py reads with ``data[...]`` (a missing one is a KeyError inside the client's
gateway task) plus the usual optional ones, so the client builds real `Guild`, `Member`, `TextChannel`, `Message`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .state import (
    FakeChannel,
    FakeInteraction,
    FakeMember,
    FakeMessage,
    FakeRole,
    FakeUser,
    StoredAttachment,
    iso_now,
)

if TYPE_CHECKING:
    from .backend import Backend

APPLICATION_COMMAND = 2
MESSAGE_COMPONENT = 3
MODAL_SUBMIT = 5


def user(u: FakeUser) -> dict[str, Any]:
    return {
        "id": str(u.id),
        "username": u.username,
        "discriminator": "0",
        "global_name": u.global_name,
        "avatar": None,
        "bot": u.bot,
        "system": False,
        "public_flags": 0,
        "banner": None,
        "accent_color": None,
        "avatar_decoration_data": None,
    }


def client_user(u: FakeUser) -> dict[str, Any]:
    return user(u) | {"verified": True, "mfa_enabled": False, "flags": 0, "email": None, "locale": "en-US"}


def member(
    backend: Backend, m: FakeMember, *, with_user: bool = True, with_permissions: bool = False
) -> dict[str, Any]:
    data: dict[str, Any] = {
        "roles": [str(role_id) for role_id in m.role_ids],
        "joined_at": m.joined_at,
        "deaf": False,
        "mute": False,
        "flags": 0,
        "nick": None,
        "avatar": None,
        "banner": None,
        "premium_since": None,
        "pending": False,
        "communication_disabled_until": None,
    }
    if with_user:
        data["user"] = user(backend.state.users[m.user_id])
    if with_permissions:
        data["permissions"] = str(backend.permissions_of(m.user_id, m.guild_id))
    return data


def role(r: FakeRole) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": str(r.id),
        "name": r.name,
        "permissions": str(r.permissions),
        "position": r.position,
        "color": 0,
        "colors": {"primary_color": 0, "secondary_color": None, "tertiary_color": None},
        "hoist": False,
        "managed": r.managed,
        "mentionable": r.mentionable,
        "icon": None,
        "unicode_emoji": None,
        "flags": 0,
    }
    if r.bot_id is not None:
        data["tags"] = {"bot_id": str(r.bot_id)}
    return data


def any_channel(backend: Backend, c: FakeChannel) -> dict[str, Any]:
    """A guild channel or thread, or a DM channel (which needs its recipient's user object)."""
    return dm_channel(backend, c) if c.is_dm else channel(c)


def dm_channel(backend: Backend, c: FakeChannel) -> dict[str, Any]:
    recipient = backend.state.users[c.recipient_id or 0]
    return {"id": str(c.id), "type": c.type, "last_message_id": None, "flags": 0, "recipients": [user(recipient)]}


def channel(c: FakeChannel) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": str(c.id),
        "type": c.type,
        "guild_id": str(c.guild_id),
        "name": c.name,
        "position": c.position,
        "flags": 0,
        "last_message_id": None,
        "rate_limit_per_user": 0,
        "parent_id": str(c.parent_id) if c.parent_id else None,
        "nsfw": False,
    }
    if c.is_thread:
        return data | thread_fields(c)
    return data | {"topic": c.topic, "permission_overwrites": [], "default_auto_archive_duration": 1440}


def thread_fields(c: FakeChannel) -> dict[str, Any]:
    return {
        "owner_id": str(c.owner_id),
        "message_count": 0,
        "member_count": 1,
        "total_message_sent": 0,
        "applied_tags": [],
        "thread_metadata": {
            "archived": False,
            "auto_archive_duration": 1440,
            "archive_timestamp": c.created_at,
            "locked": False,
            "invitable": True,
            "create_timestamp": c.created_at,
        },
    }


def guild_create(backend: Backend, guild_id: int) -> dict[str, Any]:
    state = backend.state
    guild = state.guild(guild_id)
    guild_channels = [c for c in state.channels.values() if c.guild_id == guild_id]
    return {
        "id": str(guild.id),
        "name": guild.name,
        "icon": None,
        "owner_id": str(guild.owner_id),
        "unavailable": False,
        "large": False,
        "lazy": True,
        "member_count": len(guild.members),
        "joined_at": iso_now(),
        "roles": [role(r) for r in state.roles_of(guild_id)],
        "channels": [channel(c) for c in guild_channels if not c.is_thread],
        "threads": [channel(c) for c in guild_channels if c.is_thread],
        "members": [member(backend, m) for m in guild.members.values()],
        "emojis": [],
        "stickers": [],
        "features": [],
        "voice_states": [],
        "presences": [],
        "stage_instances": [],
        "guild_scheduled_events": [],
        "soundboard_sounds": [],
        "verification_level": 0,
        "default_message_notifications": 0,
        "explicit_content_filter": 0,
        "mfa_level": 0,
        "nsfw_level": 0,
        "premium_tier": 0,
        "premium_subscription_count": 0,
        "premium_progress_bar_enabled": False,
        "preferred_locale": "en-US",
        "system_channel_id": None,
        "system_channel_flags": 0,
        "rules_channel_id": None,
        "public_updates_channel_id": None,
        "afk_channel_id": None,
        "afk_timeout": 300,
        "application_id": None,
        "description": None,
        "banner": None,
        "splash": None,
        "discovery_splash": None,
        "vanity_url_code": None,
        "max_members": 500_000,
        "widget_enabled": False,
    }


def application(backend: Backend) -> dict[str, Any]:
    state, ids = backend.state, backend.identity
    return {
        "id": str(ids.application_id),
        "name": backend.config.bot_name,
        "description": "",
        "icon": None,
        "bot_public": True,
        "bot_require_code_grant": False,
        "owner": user(state.users[ids.user_id]),
        "bot": user(state.users[ids.bot_user_id]),
        "verify_key": "0" * 64,
        "team": None,
        "flags": 0,
        "summary": "",
        "rpc_origins": [],
        "tags": [],
        "redirect_uris": [],
        "approximate_guild_count": len(state.guilds),
        "interactions_endpoint_url": None,
    }


def attachment(a: StoredAttachment) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": str(a.id),
        "filename": a.filename,
        "size": a.size,
        "url": a.url,
        "proxy_url": a.url,
        "content_type": a.content_type,
    }
    if a.description is not None:
        data["description"] = a.description
    return data


def message(backend: Backend, m: FakeMessage, *, for_gateway: bool = False, nested: bool = False) -> dict[str, Any]:
    state = backend.state
    data: dict[str, Any] = {
        "id": str(m.id),
        "type": m.type,
        "channel_id": str(m.channel_id),
        "author": user(state.users[m.author_id]),
        "content": m.content,
        "embeds": m.embeds,
        "components": m.components,
        "attachments": [attachment(a) for a in m.attachments],
        "mentions": [user(state.users[i]) for i in m.mention_ids if i in state.users],
        "mention_roles": [str(role_id) for role_id in m.mention_role_ids],
        "mention_everyone": m.mention_everyone,
        "pinned": False,
        "tts": m.tts,
        "timestamp": m.timestamp,
        "edited_timestamp": m.edited_timestamp,
        "flags": m.flags,
    }
    if m.webhook_id is not None:
        data["webhook_id"] = data["application_id"] = str(m.webhook_id)
    if m.reference_id is not None and not nested:
        data |= reference(backend, m)
    if m.interaction_id is not None:
        data |= interaction_fields(backend, m, state.interactions[m.interaction_id])
    if for_gateway and m.guild_id is not None:
        data["guild_id"] = str(m.guild_id)
        author = state.member(m.guild_id, m.author_id)
        if author is not None:
            data["member"] = member(backend, author, with_user=False)
    return data


def reference(backend: Backend, m: FakeMessage) -> dict[str, Any]:
    referenced = backend.state.live_message(m.reference_id or 0)
    ref: dict[str, Any] = {"type": 0, "message_id": str(m.reference_id), "channel_id": str(m.channel_id)}
    if m.guild_id is not None:
        ref["guild_id"] = str(m.guild_id)
    resolved = None if referenced is None else message(backend, referenced, nested=True)
    return {"message_reference": ref, "referenced_message": resolved}


def interaction_fields(backend: Backend, m: FakeMessage, i: FakeInteraction) -> dict[str, Any]:
    """``interaction_metadata`` (and the deprecated ``interaction``) of a message an interaction produced."""
    invoker = user(backend.state.users[i.user_id])
    metadata: dict[str, Any] = {
        "id": str(i.id),
        "type": i.type,
        "user": invoker,
        "authorizing_integration_owners": {"0": str(i.guild_id or 0)},  # "0": the bot's DM
    }
    if m.id != i.original_message_id and i.original_message_id is not None:
        metadata["original_response_message_id"] = str(i.original_message_id)
    if i.source_message_id is not None:
        metadata["interacted_message_id"] = str(i.source_message_id)
    target_id = (i.payload.get("data") or {}).get("target_id")
    if i.type == APPLICATION_COMMAND and target_id is not None:  # a message command's target
        metadata["target_message_id"] = str(target_id)
    fields: dict[str, Any] = {"interaction_metadata": metadata}
    if i.type == APPLICATION_COMMAND:
        fields["interaction"] = {"id": str(i.id), "type": i.type, "name": i.name or "", "user": invoker}
    return fields


def callback_response(
    backend: Backend, i: FakeInteraction, callback_type: int, m: FakeMessage | None
) -> dict[str, Any]:
    """The body of ``POST /interactions/{id}/{token}/callback?with_response=1``."""
    interaction: dict[str, Any] = {"id": str(i.id), "type": i.type}
    resource: dict[str, Any] = {"type": callback_type}
    if m is not None:
        interaction["response_message_id"] = str(m.id)
        interaction["response_message_loading"] = m.loading
        interaction["response_message_ephemeral"] = m.ephemeral
        resource["message"] = message(backend, m)
    return {"interaction": interaction, "resource": resource}


def error(code: int, message_text: str, errors: dict[str, Any] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"message": message_text, "code": code}
    if errors:
        body["errors"] = errors
    return body
