"""Turning a message payload (JSON or multipart) into a `MessageEdit`, with Discord's validation and its errors.

Checks: content at most 2000 characters; at most 10 embeds, each within the field limits, 6000 characters in all;
files within the per-file limit (the interaction's ``attachment_size_limit``) and 25 MiB per request (413, code
40005); no empty message (50006). Attachments follow API v10: a payload that names ``attachments`` keeps exactly the
listed ones (existing ones by their id, new ones by their ``files[n]`` index).

Mentions (`pings_of`) are worked out from the content as Discord does, for who writes where (`Writer`): without
``allowed_mentions`` every ``<@user>``, ``<@&role>``, ``@everyone`` and ``@here`` may ping, and a reply pings the
author of the message it replies to; ``allowed_mentions`` narrows that with ``parse``, ``users``, ``roles`` and
``replied_user``. ``@everyone``/``@here`` ping only in a guild and when the author has Mention Everyone there; a role
only when it is mentionable or the author has Mention Everyone. An edit that sets content works them out afresh from
the edit's own ``allowed_mentions`` (absent: the defaults), as Discord documents. Embeds never ping.
"""

from __future__ import annotations

import mimetypes
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .routing import ApiError, Upload
from .state import MENTION_EVERYONE, FakeChannel, FakeInteraction, FakeMessage, MessageEdit, Pings, StoredAttachment

if TYPE_CHECKING:
    from .backend import Backend

CONTENT_LIMIT = 2000
MAX_EMBEDS = 10
EMBED_TOTAL_LIMIT = 6000
MAX_EMBED_FIELDS = 25
EMBED_TEXT_LIMITS = {("title",): 256, ("description",): 4096, ("footer", "text"): 2048, ("author", "name"): 256}
FIELD_LIMITS = {"name": 256, "value": 1024}
USER_MENTION = re.compile(r"<@!?(\d+)>")
ROLE_MENTION = re.compile(r"<@&(\d+)>")
EVERYONE_MENTION = re.compile(r"@(?:everyone|here)")
PARSE_TYPES = ("roles", "users", "everyone")


@dataclass(frozen=True)
class Writer:
    """Who writes a message, where: whom its mentions may ping depends on both."""

    author_id: int
    guild_id: int | None  # None: a DM
    permissions: int  # the author's there; for an interaction's messages, its ``app_permissions``


def channel_writer(backend: Backend, channel: FakeChannel, author_id: int) -> Writer:
    """``author_id`` writing in ``channel`` with its permissions there (the fake has no channel overwrites)."""
    guild_id = channel.guild_id
    return Writer(author_id, guild_id, 0 if guild_id is None else backend.permissions_of(author_id, guild_id))


def interaction_writer(backend: Backend, interaction: FakeInteraction) -> Writer:
    """The bot answering ``interaction`` (its responses and followups are webhook messages)."""
    permissions = int(interaction.payload.get("app_permissions") or 0)
    return Writer(backend.identity.bot_user_id, interaction.guild_id, permissions)


def max_length(limit: int) -> dict[str, Any]:
    return {"_errors": [{"code": "BASE_TYPE_MAX_LENGTH", "message": f"Must be {limit} or fewer in length."}]}


def invalid_form_body(errors: dict[str, Any], prefix: tuple[str, ...]) -> ApiError:
    for key in reversed(prefix):
        errors = {key: errors}
    return ApiError(400, 50035, "Invalid Form Body", errors)


def validate_uploads(uploads: list[Upload], per_file_limit: int, request_limit: int) -> None:
    too_big = any(len(upload.data) > per_file_limit for upload in uploads)
    if too_big or sum(len(upload.data) for upload in uploads) > request_limit:
        raise ApiError(413, 40005, "Request entity too large")


def validate_payload(payload: dict[str, Any], prefix: tuple[str, ...] = ()) -> None:
    content = payload.get("content")
    if isinstance(content, str) and len(content) > CONTENT_LIMIT:
        raise invalid_form_body({"content": max_length(CONTENT_LIMIT)}, prefix)
    embeds = payload.get("embeds") or []
    if len(embeds) > MAX_EMBEDS:
        raise invalid_form_body({"embeds": max_length(MAX_EMBEDS)}, prefix)
    errors = {str(index): problems for index, embed in enumerate(embeds) if (problems := embed_errors(embed))}
    if errors:
        raise invalid_form_body({"embeds": errors}, prefix)
    if sum(embed_size(embed) for embed in embeds) > EMBED_TOTAL_LIMIT:
        too_big = {
            "_errors": [{"code": "MAX_EMBED_SIZE_EXCEEDED", "message": "Embed size exceeds maximum size of 6000"}]
        }
        raise invalid_form_body({"embeds": too_big}, prefix)


def embed_errors(embed: dict[str, Any]) -> dict[str, Any]:
    errors: dict[str, Any] = {}
    for path, limit in EMBED_TEXT_LIMITS.items():
        if len(text_at(embed, path)) > limit:
            errors[path[0]] = max_length(limit) if len(path) == 1 else {path[1]: max_length(limit)}
    fields = embed.get("fields") or []
    if len(fields) > MAX_EMBED_FIELDS:
        errors["fields"] = max_length(MAX_EMBED_FIELDS)
    for index, field in enumerate(fields):
        bad = {key: max_length(limit) for key, limit in FIELD_LIMITS.items() if len(field.get(key) or "") > limit}
        if bad:
            errors.setdefault("fields", {})[str(index)] = bad
    return errors


def text_at(embed: dict[str, Any], path: tuple[str, ...]) -> str:
    value: Any = embed
    for key in path:
        value = value.get(key) if isinstance(value, dict) else None
    return value if isinstance(value, str) else ""


def embed_size(embed: dict[str, Any]) -> int:
    size = sum(len(text_at(embed, path)) for path in EMBED_TEXT_LIMITS)
    return size + sum(len(f.get("name") or "") + len(f.get("value") or "") for f in embed.get("fields") or [])


def compose(
    backend: Backend,
    payload: dict[str, Any],
    uploads: list[Upload],
    *,
    writer: Writer,
    reply_to: FakeMessage | None = None,
    existing: FakeMessage | None = None,
    prefix: tuple[str, ...] = (),
) -> MessageEdit:
    """Validate ``payload`` and say what it sets on a new message (``existing`` None) or on ``existing``.

    ``reply_to``: the message a new message replies to (an edit replies to what ``existing`` replies to).
    """
    validate_payload(payload, prefix)
    allowed = payload.get("allowed_mentions")
    validate_allowed_mentions(allowed, prefix)
    edit = MessageEdit(
        content=(payload["content"] or "") if "content" in payload else None,
        embeds=(payload["embeds"] or []) if "embeds" in payload else None,
        components=(payload["components"] or []) if "components" in payload else None,
        flags=int(payload["flags"]) if payload.get("flags") is not None else None,
        attachments=resolve_attachments(backend, payload, uploads, existing, prefix),
    )
    if edit.content is not None:
        if existing is not None:
            reply_to = backend.state.live_message(existing.reference_id or 0)
        edit.pings = pings_of(backend, edit.content, allowed, writer, reply_to)
    if is_empty(edit, existing, payload):
        raise ApiError(400, 50006, "Cannot send an empty message")
    return edit


def resolve_attachments(
    backend: Backend,
    payload: dict[str, Any],
    uploads: list[Upload],
    existing: FakeMessage | None,
    prefix: tuple[str, ...],
) -> list[StoredAttachment] | None:
    current = existing.attachments if existing is not None else []
    listed = payload.get("attachments")
    if listed is None:
        return current + [store(backend, upload) for upload in uploads] if uploads else None
    kept_by_id = {attachment.id: attachment for attachment in current}
    uploads_by_index = {upload.index: upload for upload in uploads}
    result: list[StoredAttachment] = []
    for position, entry in enumerate(listed):
        ident = int(entry["id"])
        if ident in kept_by_id:
            result.append(kept_by_id[ident])
        elif ident in uploads_by_index:
            result.append(store(backend, uploads_by_index[ident], entry.get("filename"), entry.get("description")))
        else:
            missing = {"_errors": [{"code": "ATTACHMENT_NOT_FOUND", "message": "Attachment data not found"}]}
            raise invalid_form_body({"attachments": {str(position): missing}}, prefix)
    return result


def store(
    backend: Backend, upload: Upload, filename: str | None = None, description: str | None = None
) -> StoredAttachment:
    name = filename or upload.filename
    content_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
    return backend.state.store_attachment(name, upload.data, content_type, backend.base_url, description=description)


def validate_allowed_mentions(allowed: Any, prefix: tuple[str, ...]) -> None:
    if allowed is None:
        return
    parse = allowed.get("parse") or []
    bad = {
        str(index): {"_errors": [{"code": "BASE_TYPE_CHOICES", "message": f"Value must be one of {PARSE_TYPES}."}]}
        for index, kind in enumerate(parse)
        if kind not in PARSE_TYPES
    }
    if bad:
        raise invalid_form_body({"allowed_mentions": {"parse": bad}}, prefix)
    for kind in ("users", "roles"):
        if kind in parse and allowed.get(kind):
            message = f'parse:["{kind}"] and {kind}: [ids] are mutually exclusive.'
            exclusive = {"_errors": [{"code": "MESSAGE_ALLOWED_MENTIONS_PARSE_EXCLUSIVE", "message": message}]}
            raise invalid_form_body({"allowed_mentions": exclusive}, prefix)


def pings_of(
    backend: Backend, content: str, allowed: dict[str, Any] | None, writer: Writer, reply_to: FakeMessage | None
) -> Pings:
    """Whom ``content`` pings sent by ``writer`` with ``allowed_mentions`` ``allowed``, replying to ``reply_to``."""
    state = backend.state
    parse = set(PARSE_TYPES) if allowed is None else set(allowed.get("parse") or [])
    listed_users = {int(i) for i in (allowed or {}).get("users") or []}
    listed_roles = {int(i) for i in (allowed or {}).get("roles") or []}
    in_guild = writer.guild_id is not None
    mentions_everyone = in_guild and bool(writer.permissions & MENTION_EVERYONE)

    def pingable_role(role_id: int) -> bool:
        role = state.roles.get(role_id)
        if role is None or role.guild_id != writer.guild_id or role.id == writer.guild_id:  # @everyone's own id
            return False
        return role.mentionable or mentions_everyone

    users = [
        i for i in mentioned(USER_MENTION, content) if i in state.users and ("users" in parse or i in listed_users)
    ]
    roles = [
        i for i in mentioned(ROLE_MENTION, content) if pingable_role(i) and ("roles" in parse or i in listed_roles)
    ]
    pings_replied = allowed is None or bool(allowed.get("replied_user"))
    replied = reply_to.author_id if reply_to is not None else None
    if pings_replied and replied is not None and replied != writer.author_id and replied not in users:
        users.append(replied)
    everyone = "everyone" in parse and mentions_everyone and EVERYONE_MENTION.search(content) is not None
    return Pings(tuple(users), tuple(roles), everyone)


def mentioned(pattern: re.Pattern[str], content: str) -> list[int]:
    return list(dict.fromkeys(int(i) for i in pattern.findall(content)))


def is_empty(edit: MessageEdit, existing: FakeMessage | None, payload: dict[str, Any]) -> bool:
    if payload.get("sticker_ids") or payload.get("poll"):
        return False

    def pick(new: Any, old: Any) -> Any:
        return new if new is not None else old

    has_old = existing is not None
    content = pick(edit.content, existing.content if has_old else "")
    embeds = pick(edit.embeds, existing.embeds if has_old else [])
    attachments = pick(edit.attachments, existing.attachments if has_old else [])
    components = pick(edit.components, existing.components if has_old else [])
    return not (content or embeds or attachments or components)
