"""What the Discord side tells the metrics and the logs: each REST response by its route, with the ids and tokens in
its path templated (a trace on discord.py's session), the gateway's shards, and the ids a gateway event is about,
set as the log context of all the work it starts (`bot.core.log_context`).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from types import SimpleNamespace
from typing import Any

import aiohttp
import discord
from yarl import URL

from bot.core.log_context import log_context
from bot.core.metrics import Metrics, ShardState
from bot.core.store import shard_of

_TOKEN_AFTER = frozenset({"webhooks", "interactions"})  # /webhooks/{id}/{token}, /interactions/{id}/{token}
_SNOWFLAKE = re.compile(r"\d+")
OTHER_ROUTE = "other"  # a request outside the REST base (discord.py also fetches attachments from the CDN)
# The gateway events that start the bot's work: slash commands, buttons and menus, and channel messages.
CONTEXT_EVENTS = ("INTERACTION_CREATE", "MESSAGE_CREATE")

Parser = Callable[[dict[str, Any]], None]


def route_template(method: str, path: str, base_path: str) -> str:
    """`method` and the REST path below `base_path` with its ids as `{id}`, a webhook's or interaction's token as
    `{token}` and a reaction's emoji as `{emoji}`: `PATCH /webhooks/{id}/{token}/messages/@original`. A label of
    bounded cardinality: the routes are discord.py's, whatever the ids."""
    if not path.startswith(base_path):
        return f"{method} {OTHER_ROUTE}"
    shown: list[str] = []
    for segment in path.removeprefix(base_path).split("/"):
        if _SNOWFLAKE.fullmatch(segment):
            segment = "{id}"
        elif len(shown) >= 2 and shown[-2] in _TOKEN_AFTER and shown[-1] == "{id}":
            segment = "{token}"
        elif shown and shown[-1] == "reactions":
            segment = "{emoji}"
        shown.append(segment)
    return f"{method} {'/'.join(shown)}"


def count_discord_requests(trace: aiohttp.TraceConfig, metrics: Metrics, api_base: str) -> None:
    """Count every response (and failed request) of the session `trace` is given to, by templated route."""
    base_path = URL(api_base).path.rstrip("/")

    async def on_end(session: aiohttp.ClientSession, context: SimpleNamespace, params: Any) -> None:
        route = route_template(params.method, params.url.path, base_path)
        metrics.discord_response(route, params.response.status, params.response.headers.get("X-RateLimit-Scope"))

    async def on_exception(session: aiohttp.ClientSession, context: SimpleNamespace, params: Any) -> None:
        metrics.discord_response(route_template(params.method, params.url.path, base_path), "error", None)

    if metrics.enabled:
        trace.on_request_end.append(on_end)
        trace.on_request_exception.append(on_exception)


def gateway_shards(client: discord.Client, shard_ids: list[int] | None) -> dict[int, ShardState]:
    """This process's shards (`shard_ids`; None: one unsharded connection, shown as shard 0): connected means the
    first READY was handled and the shard's websocket is open now."""
    ready = client.is_ready() and not client.is_closed()
    if shard_ids is None:
        ws = client.ws
        return {0: ShardState(ready and ws is not None and ws.open, client.latency)}
    running: Mapping[int, discord.ShardInfo] = getattr(client, "shards", {})
    states = {}
    for shard_id in shard_ids:
        info = running.get(shard_id)
        if info is None:
            states[shard_id] = ShardState(False, math.nan)
        else:
            states[shard_id] = ShardState(ready and not info.is_closed(), info.latency)
    return states


def in_log_context(parse: Parser, shard_count: int | None) -> Parser:
    """`parse` with the event's server, channel and shard set as the log context: the tasks discord.py starts for
    it (the command, the button's callback, a listener) keep them."""

    def parse_in_context(data: dict[str, Any]) -> None:
        guild, channel = _snowflake(data.get("guild_id")), _snowflake(data.get("channel_id"))
        shard = None if shard_count is None else shard_of(guild, shard_count)
        with log_context(shard=shard, guild=guild, channel=channel):
            parse(data)

    return parse_in_context


def _snowflake(value: object) -> int | None:
    return int(value) if isinstance(value, str) and value.isdigit() else None
