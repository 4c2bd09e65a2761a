"""REST routes of interactions: the callback (acknowledgement) and the interaction-token webhooks.

Callback rules as on Discord: within ``ack_deadline`` seconds of dispatch (else 404, code 10062 "Unknown
interaction"), once (else 400, code 40060). Types: 4 message, 5 deferred message (an empty LOADING message that the
first edit of ``@original``, or the first followup, fills), 6 deferred update and 7 update (component interactions:
``@original`` is then the message the component is on), 8 autocomplete result (only, and only for, an autocomplete
interaction; its choices are checked, see `autocomplete`) and 9 modal (checked, see `message_commands`). A refused
callback is kept in ``FakeInteraction.refusals``. The token works for ``token_lifetime`` seconds (15 minutes) after
dispatch (then 401, code 50027). A response to a slash command is a message of type 20, to a context menu of 23.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aiohttp import web

from . import payloads
from .autocomplete import require_autocomplete_pairing, validate_autocomplete_result
from .compose import compose, interaction_writer, validate_uploads
from .message_commands import validate_modal
from .rest_messages import SUPPRESS_EMBEDS, SUPPRESS_NOTIFICATIONS, flags_after_edit
from .routing import ApiError, RouteSpec, Upload, json_response, no_content, query_flag, read_body, snowflake_param
from .state import EPHEMERAL, LOADING, CallbackRecord, CallbackRefusal, FakeInteraction, FakeMessage, MessageEdit
from .stats import AckViolation

if TYPE_CHECKING:
    from .backend import Backend

PONG, MESSAGE, DEFERRED_MESSAGE, DEFERRED_UPDATE, UPDATE, AUTOCOMPLETE, MODAL = 1, 4, 5, 6, 7, 8, 9
CHAT_INPUT_COMMAND_MESSAGE, CONTEXT_MENU_COMMAND_MESSAGE = 20, 23
INTERACTION_FLAGS = EPHEMERAL | SUPPRESS_EMBEDS | SUPPRESS_NOTIFICATIONS | (1 << 15)


def require_callback_target(backend: Backend, request: web.Request) -> FakeInteraction:
    interaction = backend.state.interactions.get(snowflake_param(request, "interaction_id"))
    if interaction is None or interaction.token != request.match_info["token"]:
        raise ApiError(404, 10062, "Unknown interaction")
    return interaction


def check_acknowledgement(backend: Backend, interaction: FakeInteraction, arrived: float) -> None:
    delay = arrived - (interaction.dispatched_at or arrived)
    if interaction.acknowledged:
        backend.stats.ack_violations.append(AckViolation(interaction.id, "already_acknowledged", delay))
        raise ApiError(400, 40060, "Interaction has already been acknowledged.")
    if delay > backend.config.ack_deadline:
        backend.stats.ack_violations.append(AckViolation(interaction.id, "late", delay))
        raise ApiError(404, 10062, "Unknown interaction")


async def interaction_callback(backend: Backend, request: web.Request) -> web.Response:
    arrived = backend.now()
    interaction = require_callback_target(backend, request)
    payload, uploads = await read_body(request)
    callback_type = int(payload.get("type", 0))
    data: dict[str, Any] = payload.get("data") or {}
    try:
        check_acknowledgement(backend, interaction, arrived)
        message = apply_callback(backend, interaction, callback_type, data, uploads)
    except ApiError as refused:
        interaction.refusals.append(CallbackRefusal(refused.status, refused.body, arrived))
        backend.state.changed()
        raise
    interaction.callback = CallbackRecord(callback_type, data, arrived)
    backend.state.changed()
    if not query_flag(request, "with_response"):
        return no_content()
    return json_response(payloads.callback_response(backend, interaction, callback_type, message))


def apply_callback(
    backend: Backend, interaction: FakeInteraction, callback_type: int, data: dict[str, Any], uploads: list[Upload]
) -> FakeMessage | None:
    require_autocomplete_pairing(interaction, callback_type, AUTOCOMPLETE)
    if callback_type == AUTOCOMPLETE:
        validate_autocomplete_result(interaction, data)
        return None
    if callback_type == MESSAGE:
        message = new_response_message(backend, interaction, data, uploads, prefix=("data",))
        interaction.original_message_id = message.id
        return message
    if callback_type == DEFERRED_MESSAGE:
        flags = LOADING | (int(data.get("flags") or 0) & EPHEMERAL)
        message = create_interaction_message(backend, interaction, MessageEdit(content="", flags=flags), tts=False)
        interaction.original_message_id = message.id
        return message
    if callback_type in (DEFERRED_UPDATE, UPDATE):
        source = require_source_message(backend, interaction)
        if callback_type == UPDATE:
            edit_response_message(backend, interaction, source, data, uploads, prefix=("data",))
        interaction.original_message_id = source.id
        return source if callback_type == UPDATE else None
    if callback_type == MODAL:
        validate_modal(interaction, data)
        return None
    if callback_type == PONG:
        return None
    choices = {
        "_errors": [{"code": "BASE_TYPE_CHOICES", "message": f"Value must be one of known types, not {callback_type}."}]
    }
    raise ApiError(400, 50035, "Invalid Form Body", {"type": choices})


def require_source_message(backend: Backend, interaction: FakeInteraction) -> FakeMessage:
    source = backend.state.live_message(interaction.source_message_id or 0)
    if source is None:
        raise ApiError(400, 40043, "This interaction response type is only valid for component interactions")
    return source


def new_response_message(
    backend: Backend, interaction: FakeInteraction, data: dict[str, Any], uploads: list[Upload], prefix: tuple[str, ...]
) -> FakeMessage:
    validate_uploads(uploads, interaction.attachment_size_limit, backend.config.request_size_limit)
    edit = compose(backend, data, uploads, writer=interaction_writer(backend, interaction), prefix=prefix)
    edit.flags = (edit.flags or 0) & INTERACTION_FLAGS
    return create_interaction_message(backend, interaction, edit, tts=bool(data.get("tts")))


def create_interaction_message(
    backend: Backend, interaction: FakeInteraction, edit: MessageEdit, *, tts: bool
) -> FakeMessage:
    channel = backend.channel(interaction.channel_id)
    if channel is None:
        raise ApiError(404, 10003, "Unknown Channel")
    message = backend.state.create_message(
        channel,
        backend.identity.bot_user_id,
        edit,
        type=response_message_type(interaction),
        tts=tts,
        interaction_id=interaction.id,
        webhook_id=interaction.application_id,
    )
    backend.gateway.publish_message("MESSAGE_CREATE", message)
    return message


def response_message_type(interaction: FakeInteraction) -> int:
    """20 for a slash command's response, 23 for a context menu's, 0 for any other interaction's."""
    if interaction.type != payloads.APPLICATION_COMMAND:
        return 0
    command_type = (interaction.payload.get("data") or {}).get("type", 1)
    return CHAT_INPUT_COMMAND_MESSAGE if command_type == 1 else CONTEXT_MENU_COMMAND_MESSAGE


def edit_response_message(
    backend: Backend,
    interaction: FakeInteraction,
    message: FakeMessage,
    data: dict[str, Any],
    uploads: list[Upload],
    prefix: tuple[str, ...] = (),
) -> FakeMessage:
    validate_uploads(uploads, interaction.attachment_size_limit, backend.config.request_size_limit)
    writer = interaction_writer(backend, interaction)
    edit = compose(backend, data, uploads, writer=writer, existing=message, prefix=prefix)
    edit.flags = flags_after_edit(message, edit.flags)
    backend.state.edit_message(message, edit)
    backend.gateway.publish_message("MESSAGE_UPDATE", message)
    return message


def require_webhook_interaction(backend: Backend, request: web.Request) -> FakeInteraction:
    interaction = backend.state.interaction_by_token(request.match_info["token"])
    if interaction is None or str(interaction.application_id) != request.match_info["application_id"]:
        raise ApiError(404, 10015, "Unknown Webhook")
    if backend.now() - (interaction.dispatched_at or backend.now()) > backend.config.token_lifetime:
        raise ApiError(401, 50027, "Invalid Webhook Token")
    if not interaction.acknowledged:
        raise ApiError(404, 10015, "Unknown Webhook")
    return interaction


def require_response_message(backend: Backend, interaction: FakeInteraction, request: web.Request) -> FakeMessage:
    reference = request.match_info.get("message_id", "@original")
    message_id = interaction.original_message_id if reference == "@original" else snowflake_param(request, "message_id")
    owned = message_id is not None and (
        message_id == interaction.original_message_id or message_id in interaction.followup_ids
    )
    message = backend.state.live_message(message_id or 0) if owned else None
    if message is None:
        raise ApiError(404, 10008, "Unknown Message")
    return message


async def get_response_message(backend: Backend, request: web.Request) -> web.Response:
    interaction = require_webhook_interaction(backend, request)
    return json_response(payloads.message(backend, require_response_message(backend, interaction, request)))


async def edit_response(backend: Backend, request: web.Request) -> web.Response:
    interaction = require_webhook_interaction(backend, request)
    message = require_response_message(backend, interaction, request)
    payload, uploads = await read_body(request)
    edit_response_message(backend, interaction, message, payload, uploads)
    return json_response(payloads.message(backend, message))


async def delete_response(backend: Backend, request: web.Request) -> web.Response:
    interaction = require_webhook_interaction(backend, request)
    message = require_response_message(backend, interaction, request)
    backend.state.delete_message(message)
    backend.gateway.publish_message_delete(message)
    return no_content()


async def send_followup(backend: Backend, request: web.Request) -> web.Response:
    """A followup; after a deferred message the first one replaces the loading message instead."""
    interaction = require_webhook_interaction(backend, request)
    payload, uploads = await read_body(request)
    original = backend.state.live_message(interaction.original_message_id or 0)
    if original is not None and original.loading:
        message = edit_response_message(backend, interaction, original, payload, uploads)
    else:
        message = new_response_message(backend, interaction, payload, uploads, prefix=())
        interaction.followup_ids.append(message.id)
        backend.state.changed()
    if not query_flag(request, "wait"):
        return no_content()
    return json_response(payloads.message(backend, message))


WEBHOOK = "/webhooks/{application_id}/{token}"
BY_TOKEN = ("token",)
ROUTES = [
    RouteSpec(
        "POST",
        "/interactions/{interaction_id}/{token}/callback",
        interaction_callback,
        "interaction_callback",
        ("interaction_id", "token"),
        auth=False,
    ),
    RouteSpec(
        "GET", f"{WEBHOOK}/messages/@original", get_response_message, "interaction_webhook", BY_TOKEN, auth=False
    ),
    RouteSpec("PATCH", f"{WEBHOOK}/messages/@original", edit_response, "interaction_webhook", BY_TOKEN, auth=False),
    RouteSpec("DELETE", f"{WEBHOOK}/messages/@original", delete_response, "interaction_webhook", BY_TOKEN, auth=False),
    RouteSpec(
        "GET", f"{WEBHOOK}/messages/{{message_id}}", get_response_message, "interaction_webhook", BY_TOKEN, False
    ),
    RouteSpec("PATCH", f"{WEBHOOK}/messages/{{message_id}}", edit_response, "interaction_webhook", BY_TOKEN, False),
    RouteSpec("DELETE", f"{WEBHOOK}/messages/{{message_id}}", delete_response, "interaction_webhook", BY_TOKEN, False),
    RouteSpec("POST", WEBHOOK, send_followup, "interaction_webhook", BY_TOKEN, auth=False),
]
