"""REST routes of channel messages and threads: create, edit, read, list, delete, start a thread.

Every change is also published on the gateway (MESSAGE_CREATE/UPDATE/DELETE, THREAD_CREATE) as Discord does.
Only the bot's own messages may be edited (403, code 50005, otherwise).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aiohttp import web

from . import payloads
from .compose import channel_writer, compose, validate_uploads
from .rest_core import require_channel
from .routing import ApiError, RouteSpec, json_response, no_content, read_body, snowflake_param
from .state import LOADING, PRIVATE_THREAD, PUBLIC_THREAD, TEXT_CHANNEL, FakeChannel, FakeMessage

if TYPE_CHECKING:
    from .backend import Backend

DEFAULT = 0
REPLY = 19
SUPPRESS_EMBEDS = 1 << 2
SUPPRESS_NOTIFICATIONS = 1 << 12
COMPONENTS_V2 = 1 << 15
CREATE_FLAGS = SUPPRESS_EMBEDS | SUPPRESS_NOTIFICATIONS | COMPONENTS_V2
HISTORY_LIMIT = 100


def require_message(backend: Backend, channel: FakeChannel, request: web.Request) -> FakeMessage:
    message = backend.state.live_message(snowflake_param(request, "message_id"))
    if message is None or message.channel_id != channel.id:
        raise ApiError(404, 10008, "Unknown Message")
    return message


def flags_after_edit(message: FakeMessage, requested: int | None) -> int:
    """An edit may only toggle SUPPRESS_EMBEDS; the first edit of a deferred response also ends its loading state."""
    flags = message.flags & ~LOADING
    if requested is not None:
        flags = (flags & ~SUPPRESS_EMBEDS) | (requested & SUPPRESS_EMBEDS)
    return flags


def referenced_message_id(backend: Backend, channel: FakeChannel, payload: dict[str, Any]) -> int | None:
    reference = payload.get("message_reference")
    if not reference or reference.get("message_id") is None:
        return None
    message_id = int(reference["message_id"])
    target = backend.state.live_message(message_id)
    if target is None or target.channel_id != channel.id:
        if reference.get("fail_if_not_exists", True):
            unknown = {"_errors": [{"code": "MESSAGE_REFERENCE_UNKNOWN_MESSAGE", "message": "Unknown message"}]}
            raise ApiError(400, 50035, "Invalid Form Body", {"message_reference": unknown})
        return None
    return message_id


async def create_message(backend: Backend, request: web.Request) -> web.Response:
    channel = require_channel(backend, request)
    payload, uploads = await read_body(request)
    validate_uploads(uploads, backend.config.attachment_size_limit, backend.config.request_size_limit)
    reference_id = referenced_message_id(backend, channel, payload)
    bot_id = backend.identity.bot_user_id
    reply_to = backend.state.live_message(reference_id or 0)
    edit = compose(backend, payload, uploads, writer=channel_writer(backend, channel, bot_id), reply_to=reply_to)
    edit.flags = (edit.flags or 0) & CREATE_FLAGS
    message = backend.state.create_message(
        channel,
        bot_id,
        edit,
        type=REPLY if reference_id else DEFAULT,
        tts=bool(payload.get("tts")),
        reference_id=reference_id,
    )
    backend.gateway.publish_message("MESSAGE_CREATE", message)
    return json_response(payloads.message(backend, message))


async def edit_message(backend: Backend, request: web.Request) -> web.Response:
    channel = require_channel(backend, request)
    message = require_message(backend, channel, request)
    if message.author_id != backend.identity.bot_user_id:
        raise ApiError(403, 50005, "Cannot edit a message authored by another user")
    payload, uploads = await read_body(request)
    validate_uploads(uploads, backend.config.attachment_size_limit, backend.config.request_size_limit)
    writer = channel_writer(backend, channel, message.author_id)
    edit = compose(backend, payload, uploads, writer=writer, existing=message)
    edit.flags = flags_after_edit(message, edit.flags)
    backend.state.edit_message(message, edit)
    backend.gateway.publish_message("MESSAGE_UPDATE", message)
    return json_response(payloads.message(backend, message))


async def get_message(backend: Backend, request: web.Request) -> web.Response:
    channel = require_channel(backend, request)
    return json_response(payloads.message(backend, require_message(backend, channel, request)))


async def get_messages(backend: Backend, request: web.Request) -> web.Response:
    """History, newest first, with ``limit`` (1-100, default 50) and ``before`` / ``after``."""
    channel = require_channel(backend, request)
    limit = min(max(int(request.query.get("limit", 50)), 1), HISTORY_LIMIT)
    before, after = request.query.get("before"), request.query.get("after")
    messages = backend.state.messages_in(channel.id)
    if before is not None:
        messages = [m for m in messages if m.id < int(before)]
    if after is not None:
        messages = [m for m in messages if m.id > int(after)]
        messages = messages[:limit]
    newest_first = list(reversed(messages))[:limit]
    return json_response([payloads.message(backend, m) for m in newest_first])


async def delete_message(backend: Backend, request: web.Request) -> web.Response:
    channel = require_channel(backend, request)
    message = require_message(backend, channel, request)
    backend.state.delete_message(message)
    backend.gateway.publish_message_delete(message)
    return no_content()


def thread_name(payload: dict[str, Any]) -> str:
    name = payload.get("name") or ""
    if not 1 <= len(name) <= 100:
        bad = {"_errors": [{"code": "BASE_TYPE_BAD_LENGTH", "message": "Must be between 1 and 100 in length."}]}
        raise ApiError(400, 50035, "Invalid Form Body", {"name": bad})
    return name


def require_text_parent(channel: FakeChannel) -> None:
    if channel.type != TEXT_CHANNEL:
        raise ApiError(400, 50024, "Cannot execute action on this channel type")


def publish_thread(backend: Backend, thread: FakeChannel) -> web.Response:
    data = payloads.channel(thread)
    backend.gateway.dispatch("THREAD_CREATE", data | {"newly_created": True}, guild_id=thread.guild_id)
    return json_response(data, status=201)


async def start_thread_from_message(backend: Backend, request: web.Request) -> web.Response:
    """The thread takes the id of the message it starts from, as on Discord."""
    channel = require_channel(backend, request)
    require_text_parent(channel)
    message = require_message(backend, channel, request)
    payload, _ = await read_body(request)
    name = thread_name(payload)
    if message.id in backend.state.channels:
        raise ApiError(400, 160004, "A thread has already been created for this message")
    bot_id = backend.identity.bot_user_id
    thread = backend.state.add_thread(channel, name, private=False, owner_id=bot_id, thread_id=message.id)
    return publish_thread(backend, thread)


async def start_thread(backend: Backend, request: web.Request) -> web.Response:
    channel = require_channel(backend, request)
    require_text_parent(channel)
    payload, _ = await read_body(request)
    name = thread_name(payload)
    private = int(payload.get("type", PRIVATE_THREAD)) != PUBLIC_THREAD
    thread = backend.state.add_thread(channel, name, private=private, owner_id=backend.identity.bot_user_id)
    return publish_thread(backend, thread)


CHANNEL = "/channels/{channel_id}"
MESSAGE = CHANNEL + "/messages/{message_id}"
BY_CHANNEL = ("channel_id",)
ROUTES = [
    RouteSpec("POST", f"{CHANNEL}/messages", create_message, "message_create", BY_CHANNEL),
    RouteSpec("GET", f"{CHANNEL}/messages", get_messages, "default", BY_CHANNEL),
    RouteSpec("GET", MESSAGE, get_message, "default", BY_CHANNEL),
    RouteSpec("PATCH", MESSAGE, edit_message, "message_edit", BY_CHANNEL),
    RouteSpec("DELETE", MESSAGE, delete_message, "message_delete", BY_CHANNEL),
    RouteSpec("POST", f"{MESSAGE}/threads", start_thread_from_message, "thread_create", BY_CHANNEL),
    RouteSpec("POST", f"{CHANNEL}/threads", start_thread, "thread_create", BY_CHANNEL),
]
