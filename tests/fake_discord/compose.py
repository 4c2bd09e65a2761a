"""Turning a message payload (JSON or multipart) into a `MessageEdit`, with Discord's validation and its errors.

Checks: content at most 2000 characters; at most 10 embeds, each within the field limits, 6000 characters in all;
files within the per-file limit (the interaction's ``attachment_size_limit``) and 25 MiB per request (413, code
40005); no empty message (50006). Attachments follow API v10: a payload that names ``attachments`` keeps exactly the
listed ones (existing ones by their id, new ones by their ``files[n]`` index).
"""

from __future__ import annotations

import mimetypes
import re
from typing import TYPE_CHECKING, Any

from .routing import ApiError, Upload
from .state import FakeMessage, MessageEdit, StoredAttachment

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
    existing: FakeMessage | None = None,
    prefix: tuple[str, ...] = (),
) -> MessageEdit:
    """Validate ``payload`` and say what it sets on a new message (``existing`` None) or on ``existing``."""
    validate_payload(payload, prefix)
    edit = MessageEdit(
        content=(payload["content"] or "") if "content" in payload else None,
        embeds=(payload["embeds"] or []) if "embeds" in payload else None,
        components=(payload["components"] or []) if "components" in payload else None,
        flags=int(payload["flags"]) if payload.get("flags") is not None else None,
        attachments=resolve_attachments(backend, payload, uploads, existing, prefix),
    )
    if edit.content is not None:
        add_mentions(backend, edit, payload.get("allowed_mentions"))
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


def add_mentions(backend: Backend, edit: MessageEdit, allowed: dict[str, Any] | None) -> None:
    content = edit.content or ""
    parse = set(allowed.get("parse", [])) if allowed is not None else {"users", "roles", "everyone"}
    allowed_users = {int(i) for i in (allowed or {}).get("users", [])}
    allowed_roles = {int(i) for i in (allowed or {}).get("roles", [])}
    users = [int(i) for i in USER_MENTION.findall(content) if int(i) in backend.state.users]
    roles = [int(i) for i in ROLE_MENTION.findall(content) if int(i) in backend.state.roles]
    edit.mention_ids = [i for i in dict.fromkeys(users) if "users" in parse or i in allowed_users]
    edit.mention_role_ids = [i for i in dict.fromkeys(roles) if "roles" in parse or i in allowed_roles]
    edit.mention_everyone = "everyone" in parse and ("@everyone" in content or "@here" in content)


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
