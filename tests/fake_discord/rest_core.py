"""REST routes around messages: users and the bot's application, the gateway (``/gateway/bot``, see `shards`),
application commands, channels, DMs, typing, files.

Application commands: ``PUT`` is a bulk overwrite whose request body is kept in `Backend.command_syncs`; a command
whose name and type were already registered keeps its id, as on Discord. Slash commands (type 1) and context menus
(type 3, message; 2, user) are checked as Discord checks them (`command_errors`).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from aiohttp import web

from . import payloads, shards
from .backend import CommandSync
from .routing import (
    ApiError,
    RouteSpec,
    invalid_snowflake,
    json_response,
    no_content,
    read_body,
    read_list_body,
    snowflake_param,
)

if TYPE_CHECKING:
    from .backend import Backend
    from .state import FakeChannel

COMMAND_NAME_LIMIT = 32
COMMAND_DESCRIPTION_LIMIT = 100
CHAT_INPUT = 1
SLASH_COMMAND_NAME = re.compile(r"[-_'\w]{1,32}")  # letters and digits of any script, `-`, `_` and `'`


async def get_current_user(backend: Backend, request: web.Request) -> web.Response:
    bot = backend.state.users[backend.identity.bot_user_id]
    return json_response(payloads.client_user(bot))


async def get_user(backend: Backend, request: web.Request) -> web.Response:
    found = backend.state.users.get(snowflake_param(request, "user_id"))
    if found is None:
        raise ApiError(404, 10013, "Unknown User")
    return json_response(payloads.user(found))


async def create_dm(backend: Backend, request: web.Request) -> web.Response:
    """``POST /users/@me/channels``: the DM channel with ``recipient_id`` (the same one on every call)."""
    payload, _ = await read_body(request)
    try:
        recipient_id = int(payload.get("recipient_id") or 0)
    except (TypeError, ValueError):
        raise ApiError(400, 50035, "Invalid Form Body", {"recipient_id": invalid_snowflake()}) from None
    if recipient_id not in backend.state.users:
        raise ApiError(404, 10013, "Unknown User")
    if recipient_id == backend.identity.bot_user_id:
        raise ApiError(400, 50007, "Cannot send messages to this user")
    return json_response(payloads.dm_channel(backend, backend.state.open_dm(recipient_id)))


async def get_current_application(backend: Backend, request: web.Request) -> web.Response:
    return json_response(payloads.application(backend))


async def get_gateway_bot(backend: Backend, request: web.Request) -> web.Response:
    """Where to connect, the recommended shard count and the session start limit (`shards.gateway_bot`)."""
    config, accepted = backend.config, [r for r in backend.stats.identifies if r.accepted]
    return json_response(
        shards.gateway_bot(backend.gateway_url, config.shard_count, config.max_concurrency, len(accepted))
    )


def command_scope(backend: Backend, request: web.Request) -> int | None:
    if snowflake_param(request, "application_id") != backend.identity.application_id:
        raise ApiError(403, 20012, "You are not authorized to perform this action on this application")
    if "guild_id" not in request.match_info:
        return None
    guild_id = snowflake_param(request, "guild_id")
    if guild_id not in backend.state.guilds:
        raise ApiError(404, 10004, "Unknown Guild")
    return guild_id


async def get_commands(backend: Backend, request: web.Request) -> web.Response:
    return json_response(backend.commands.get(command_scope(backend, request), []))


async def overwrite_commands(backend: Backend, request: web.Request) -> web.Response:
    scope = command_scope(backend, request)
    received = await read_list_body(request)
    validate_commands(received)
    previous = {(c["name"], c["type"]): c for c in backend.commands.get(scope, [])}
    stored = [registered_command(backend, command, scope, previous) for command in received]
    backend.commands[scope] = stored
    backend.command_syncs.append(CommandSync(received, scope, backend.now()))
    backend.state.changed()
    return json_response(stored)


def validate_commands(commands: list[dict[str, Any]]) -> None:
    errors: dict[str, Any] = {}
    for index, command in enumerate(commands):
        problem = command_errors(command)
        if problem:
            errors[str(index)] = problem
    keys = [(command.get("name"), command.get("type", 1)) for command in commands]
    if len(set(keys)) != len(keys):
        errors["_errors"] = [{"code": "APPLICATION_COMMANDS_DUPLICATE_NAME", "message": "Duplicate name."}]
    if errors:
        raise ApiError(400, 50035, "Invalid Form Body", errors)


def command_errors(command: dict[str, Any]) -> dict[str, Any]:
    """A command's problems as Discord names them (empty: none). A slash command's name is lowercase, without
    spaces, and it has a description; a context menu's (types 2 and 3) may have capitals and spaces, and it has
    neither a description nor options. Translated names follow the same rules."""
    kind = command.get("type", CHAT_INPUT)
    names = [command.get("name") or "", *(command.get("name_localizations") or {}).values()]
    if not all(command_name_ok(name, kind) for name in names):
        return {"name": {"_errors": [{"code": "APPLICATION_COMMAND_INVALID_NAME", "message": "Invalid name."}]}}
    description = command.get("description") or ""
    if kind == CHAT_INPUT and not 1 <= len(description) <= COMMAND_DESCRIPTION_LIMIT:
        return {"description": {"_errors": [{"code": "BASE_TYPE_BAD_LENGTH", "message": "Bad length."}]}}
    if kind != CHAT_INPUT and (description or command.get("options")):
        return {"description": {"_errors": [{"code": "CONTEXT_MENU_TEXT", "message": "Context menus have none."}]}}
    return {}


def command_name_ok(name: str, kind: int) -> bool:
    if kind != CHAT_INPUT:
        return 1 <= len(name) <= COMMAND_NAME_LIMIT and name.strip() == name
    return bool(SLASH_COMMAND_NAME.fullmatch(name)) and name == name.lower()


def registered_command(
    backend: Backend, command: dict[str, Any], scope: int | None, previous: dict[tuple[str, int], dict[str, Any]]
) -> dict[str, Any]:
    kind = command.get("type", 1)
    earlier = previous.get((command["name"], kind))
    stored: dict[str, Any] = {
        "default_member_permissions": None,
        "nsfw": False,
        "options": [],
        "description": "",
        **command,
        "type": kind,
        "id": earlier["id"] if earlier else str(backend.state.new_id()),
        "application_id": str(backend.identity.application_id),
        "version": str(backend.state.new_id()),
    }
    if scope is not None:
        stored["guild_id"] = str(scope)
    return stored


def require_channel(backend: Backend, request: web.Request) -> FakeChannel:
    channel = backend.channel(snowflake_param(request, "channel_id"))
    if channel is None:
        raise ApiError(404, 10003, "Unknown Channel")
    return channel


async def get_channel(backend: Backend, request: web.Request) -> web.Response:
    return json_response(payloads.any_channel(backend, require_channel(backend, request)))


async def trigger_typing(backend: Backend, request: web.Request) -> web.Response:
    channel = require_channel(backend, request)
    backend.state.typing.append((channel.id, backend.now()))
    backend.state.changed()
    return no_content()


async def get_attachment(backend: Backend, request: web.Request) -> web.Response:
    """Files are served by the fake itself, so ``Attachment.read()`` in the client works."""
    attachment = backend.state.attachments.get(snowflake_param(request, "attachment_id"))
    if attachment is None or attachment.filename != request.match_info["filename"]:
        raise ApiError(404, 0, "404: Not Found")
    return web.Response(body=attachment.data, content_type=attachment.content_type)


APPLICATION = "/applications/{application_id}"
ROUTES = [
    RouteSpec("GET", "/users/@me", get_current_user, "default"),
    RouteSpec("POST", "/users/@me/channels", create_dm, "default"),
    RouteSpec("GET", "/users/{user_id}", get_user, "default"),
    RouteSpec("GET", "/oauth2/applications/@me", get_current_application, "default"),
    RouteSpec("GET", "/gateway/bot", get_gateway_bot, "default"),
    RouteSpec("GET", f"{APPLICATION}/commands", get_commands, "default", ("application_id",)),
    RouteSpec("PUT", f"{APPLICATION}/commands", overwrite_commands, "default", ("application_id",)),
    RouteSpec("GET", f"{APPLICATION}/guilds/{{guild_id}}/commands", get_commands, "default", ("guild_id",)),
    RouteSpec("PUT", f"{APPLICATION}/guilds/{{guild_id}}/commands", overwrite_commands, "default", ("guild_id",)),
    RouteSpec("GET", "/channels/{channel_id}", get_channel, "default", ("channel_id",)),
    RouteSpec("POST", "/channels/{channel_id}/typing", trigger_typing, "typing", ("channel_id",)),
]
