"""The gateway websocket of the fake Discord (``/gateway``): HELLO, heartbeats, IDENTIFY/READY, RESUME, dispatches.

The client asks for ``compress=zlib-stream`` but accepts plain JSON text frames, which is what is sent. Each
connection writes through one queue, so events reach the client in the order they were produced, also when a
synchronous helper (``add_channel``) produces them; `GatewayConnection.send` returns a future that resolves with
the monotonic time the frame was written (or None if the connection went away first).

Sharding (see `shards`): a session that identified with ``shard`` gets READY, GUILD_CREATE and every dispatch only
for its shard's guilds (DMs: shard 0); one without ``shard`` gets everything. Every event names its guild for this.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import time
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from aiohttp import WSMsgType, web

from . import payloads
from .shards import INVALID_SHARD, IdentifyRecord, InvalidShard, Shard, parse_shard, requested_shard

if TYPE_CHECKING:
    from .backend import Backend
    from .state import FakeMessage

_log = logging.getLogger(__name__)

DISPATCH, HEARTBEAT, IDENTIFY, PRESENCE, VOICE, RESUME, REQUEST_MEMBERS, INVALID_SESSION, HELLO, ACK = (
    0, 1, 2, 3, 4, 6, 8, 9, 10, 11,
)  # fmt: skip
GUILDS = 1 << 0
GUILD_MEMBERS = 1 << 1
GUILD_PRESENCES = 1 << 8
GUILD_MESSAGES = 1 << 9
DIRECT_MESSAGES = 1 << 12
MESSAGE_CONTENT = 1 << 15
PRIVILEGED_INTENTS = GUILD_MEMBERS | GUILD_PRESENCES | MESSAGE_CONTENT


@dataclass
class GatewaySession:
    """A session outlives its connection: a RESUME on a new connection replays what the client missed."""

    id: str
    intents: int
    shard: Shard | None = None
    seq: int = 0
    log: list[dict[str, Any]] = field(default_factory=list)

    def serves(self, guild_id: int | None) -> bool:
        """Whether the events of ``guild_id`` (None: a DM) are this session's: always, when it is unsharded."""
        return self.shard is None or self.shard.serves(guild_id)


class Refusal(Exception):
    """Why an IDENTIFY is answered by closing the socket."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(f"{code} {reason}")
        self.code = code
        self.reason = reason


@dataclass
class _Outgoing:
    payload: dict[str, Any]
    future: asyncio.Future[float | None]
    event: str | None = None
    close_code: int | None = None


class GatewayConnection:
    def __init__(self, hub: GatewayHub, ws: web.WebSocketResponse) -> None:
        self.hub = hub
        self.ws = ws
        self.session: GatewaySession | None = None
        self.ready = False
        self._outbox: asyncio.Queue[_Outgoing] = asyncio.Queue()
        self._pending: list[_Outgoing] = []

    @property
    def intents(self) -> int:
        return self.session.intents if self.session else 0

    @property
    def shard_id(self) -> int | None:
        """The shard this connection serves (None: unsharded, or not identified yet)."""
        shard = self.session.shard if self.session else None
        return None if shard is None else shard.id

    def serves(self, guild_id: int | None) -> bool:
        return self.session is not None and self.session.serves(guild_id)

    def send(self, payload: dict[str, Any], *, event: str | None = None) -> asyncio.Future[float | None]:
        item = _Outgoing(payload, asyncio.get_running_loop().create_future(), event=event)
        self._enqueue(item)
        return item.future

    def dispatch(self, event: str, data: dict[str, Any]) -> asyncio.Future[float | None]:
        return self.send(data, event=event)

    def close(self, code: int, reason: str) -> asyncio.Future[float | None]:
        self.ready = False
        item = _Outgoing({"reason": reason}, asyncio.get_running_loop().create_future(), close_code=code)
        self._enqueue(item)
        return item.future

    def _enqueue(self, item: _Outgoing) -> None:
        self._pending.append(item)
        self._outbox.put_nowait(item)

    async def write_loop(self) -> None:
        try:
            while await self._write_next():
                pass
        except ConnectionResetError:
            _log.debug("gateway: the client went away while frames were queued")

    async def _write_next(self) -> bool:
        item = await self._outbox.get()
        if item.close_code is not None:
            _log.debug("gateway: closing with %s (%s)", item.close_code, item.payload["reason"])
            await self.ws.close(code=item.close_code, message=item.payload["reason"].encode())
        else:
            await self.ws.send_str(json.dumps(self._frame(item)))
        item.future.set_result(time.monotonic())
        self._pending.remove(item)
        self.hub.backend.state.changed()
        return item.close_code is None

    def _frame(self, item: _Outgoing) -> dict[str, Any]:
        if item.event is None:
            return item.payload
        self.hub.backend.stats.dispatched[item.event] += 1
        if self.session is None:
            return {"op": DISPATCH, "t": item.event, "s": None, "d": item.payload}
        self.session.seq += 1
        frame = {"op": DISPATCH, "t": item.event, "s": self.session.seq, "d": item.payload}
        self.session.log.append(frame)
        return frame

    def drop_pending(self) -> None:
        for item in self._pending:
            if not item.future.done():
                item.future.set_result(None)
        self._pending.clear()


class GatewayHub:
    """All gateway connections and sessions of one fake Discord."""

    def __init__(self, backend: Backend) -> None:
        self.backend = backend
        self.connections: list[GatewayConnection] = []
        self.sessions: dict[str, GatewaySession] = {}
        self.accepting = asyncio.Event()  # cleared while a test holds new connections back (`gateway_held`)
        self.accepting.set()

    @property
    def ready_connections(self) -> list[GatewayConnection]:
        return [connection for connection in self.connections if connection.ready]

    async def handle(self, request: web.Request) -> web.WebSocketResponse:
        await self.accepting.wait()
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        connection = GatewayConnection(self, ws)
        self.connections.append(connection)
        self.backend.stats.gateway_connections += 1
        writer = asyncio.create_task(connection.write_loop(), name="fake-discord-gateway-writer")
        interval_ms = int(self.backend.config.heartbeat_interval * 1000)
        connection.send({"op": HELLO, "d": {"heartbeat_interval": interval_ms}})
        try:
            async for message in ws:
                if message.type is WSMsgType.TEXT:
                    self._on_text(connection, message.data)
        finally:
            connection.ready = False
            self.connections.remove(connection)
            writer.cancel()
            await asyncio.wait([writer])
            connection.drop_pending()
            self.backend.state.changed()
        return ws

    def _on_text(self, connection: GatewayConnection, text: str) -> None:
        try:
            message = json.loads(text)
        except json.JSONDecodeError:
            connection.close(4002, "Error while decoding payload.")
            return
        op, data = message.get("op"), message.get("d")
        if op == HEARTBEAT:
            connection.send({"op": ACK})
        elif op == IDENTIFY:
            self._identify(connection, data)
        elif op == RESUME:
            self._resume(connection, data)
        elif op == REQUEST_MEMBERS:
            self._send_member_chunk(connection, data)
        elif op not in (PRESENCE, VOICE):
            connection.close(4001, "Unknown opcode.")

    def _identify(self, connection: GatewayConnection, data: dict[str, Any]) -> None:
        stats = self.backend.stats
        stats.identify_payloads.append({k: v for k, v in data.items() if k != "token"})
        record = IdentifyRecord(*requested_shard(data.get("shard")), at=self.backend.now())
        try:
            shard = self._admit(connection, data)
        except Refusal as refusal:
            stats.identifies.append(replace(record, close_code=refusal.code))
            connection.close(refusal.code, refusal.reason)
            return
        session = GatewaySession(secrets.token_hex(16), int(data.get("intents", 0)), shard=shard)
        stats.identifies.append(replace(record, session_id=session.id))
        self._start_session(connection, session)

    def _admit(self, connection: GatewayConnection, data: dict[str, Any]) -> Shard | None:
        """The shard the IDENTIFY may serve (None: unsharded); `Refusal` with Discord's close code if it may not."""
        config = self.backend.config
        if connection.session is not None:
            raise Refusal(4005, "Already authenticated.")
        if data.get("token") != config.token:
            raise Refusal(4004, "Authentication failed.")
        try:
            shard = parse_shard(data.get("shard"), config.shard_count)
        except InvalidShard:
            raise Refusal(INVALID_SHARD, "Invalid shard.") from None
        if config.refuse_privileged_intents and int(data.get("intents", 0)) & PRIVILEGED_INTENTS:
            raise Refusal(4014, "Disallowed intent(s).")
        return shard

    def _start_session(self, connection: GatewayConnection, session: GatewaySession) -> None:
        self.sessions[session.id] = session
        connection.session = session
        guild_ids = [guild_id for guild_id in self.backend.state.guilds if session.serves(guild_id)]
        connection.dispatch("READY", self._ready_payload(session, guild_ids))
        for guild_id in guild_ids:
            connection.dispatch("GUILD_CREATE", payloads.guild_create(self.backend, guild_id))
        self._mark_ready(connection)

    def _ready_payload(self, session: GatewaySession, guild_ids: list[int]) -> dict[str, Any]:
        backend, ids = self.backend, self.backend.identity
        ready: dict[str, Any] = {
            "v": 10,
            "user": payloads.client_user(backend.state.users[ids.bot_user_id]),
            "guilds": [{"id": str(guild_id), "unavailable": True} for guild_id in guild_ids],
            "session_id": session.id,
            "session_type": "normal",
            "resume_gateway_url": backend.gateway_url,
            "application": {"id": str(ids.application_id), "flags": 0},
            "private_channels": [],
            "relationships": [],
            "presences": [],
            "guild_join_requests": [],
            "geo_ordered_rtc_regions": [],
            "user_settings": {},
            "_trace": ["fake-discord"],
        }
        if session.shard is not None:
            ready["shard"] = [session.shard.id, session.shard.count]
        return ready

    def _resume(self, connection: GatewayConnection, data: dict[str, Any]) -> None:
        session = self.sessions.get(str(data.get("session_id")))
        if session is None or data.get("token") != self.backend.config.token:
            connection.send({"op": INVALID_SESSION, "d": False})
            return
        connection.session = session
        self.backend.stats.resumes += 1
        seen = int(data.get("seq") or 0)
        for frame in [frame for frame in session.log if frame["s"] > seen]:
            connection.send(frame)
        connection.dispatch("RESUMED", {})
        self._mark_ready(connection)

    def _mark_ready(self, connection: GatewayConnection) -> None:
        connection.ready = True
        self.backend.state.changed()

    def _send_member_chunk(self, connection: GatewayConnection, data: dict[str, Any]) -> None:
        state = self.backend.state
        guild = state.guilds.get(int(data.get("guild_id") or 0))
        if guild is None:
            return
        wanted = {int(i) for i in data.get("user_ids") or []}
        query = (data.get("query") or "").lower()
        members = [
            payloads.member(self.backend, m)
            for m in guild.members.values()
            if (not wanted or m.user_id in wanted) and state.users[m.user_id].username.lower().startswith(query)
        ]
        limit = int(data.get("limit") or 0)
        chunk = {
            "guild_id": str(guild.id),
            "members": members[:limit] if limit else members,
            "chunk_index": 0,
            "chunk_count": 1,
            "not_found": [],
        }
        if data.get("nonce") is not None:
            chunk["nonce"] = data["nonce"]
        connection.dispatch("GUILD_MEMBERS_CHUNK", chunk)

    def dispatch(
        self, event: str, data: dict[str, Any], *, guild_id: int | None, intents: int = 0
    ) -> list[asyncio.Future[float | None]]:
        """Send ``event`` of ``guild_id`` (None: no guild, a DM) to every ready connection that serves it and asked
        for all of ``intents``."""
        return [
            c.dispatch(event, data)
            for c in self.ready_connections
            if c.intents & intents == intents and c.serves(guild_id)
        ]

    def connection_for(self, guild_id: int | None) -> GatewayConnection | None:
        """The first ready connection serving ``guild_id`` (None: DMs), the one an interaction there goes to."""
        return next((c for c in self.ready_connections if c.serves(guild_id)), None)

    def dispatched_on_shard(self, shard_id: int) -> list[tuple[str, dict[str, Any]]]:
        """``(event, data)`` of every dispatch written to the sessions of shard ``shard_id``, in order per session."""
        return [
            (frame["t"], frame["d"])
            for session in self.sessions.values()
            if session.shard is not None and session.shard.id == shard_id
            for frame in session.log
        ]

    def close_all(self, code: int, reason: str) -> list[asyncio.Future[float | None]]:
        return [connection.close(code, reason) for connection in list(self.connections)]

    def publish_message(self, event: str, message: FakeMessage) -> list[asyncio.Future[float | None]]:
        """MESSAGE_CREATE or MESSAGE_UPDATE, to sessions with the guild-messages (in a DM: direct-messages) intent.

        Ephemeral messages stay private. Without the message-content intent a session gets empty content, embeds,
        attachments and components for guild messages that are neither the bot's own nor mention it, as Discord
        does (DMs with the bot always carry their content).
        """
        if message.ephemeral:
            return []
        full = payloads.message(self.backend, message, for_gateway=True)
        return [
            connection.dispatch(event, full if self._may_read_content(connection, message) else without_content(full))
            for connection in self.ready_connections
            if connection.intents & message_intent(message) and connection.serves(message.guild_id)
        ]

    def publish_message_delete(self, message: FakeMessage) -> None:
        if message.ephemeral:
            return
        data = {"id": str(message.id), "channel_id": str(message.channel_id)}
        if message.guild_id is not None:
            data["guild_id"] = str(message.guild_id)
        self.dispatch("MESSAGE_DELETE", data, guild_id=message.guild_id, intents=message_intent(message))

    def _may_read_content(self, connection: GatewayConnection, message: FakeMessage) -> bool:
        bot_id = self.backend.identity.bot_user_id
        return (
            bool(connection.intents & MESSAGE_CONTENT)
            or message.guild_id is None
            or message.author_id == bot_id
            or bot_id in message.mention_ids
        )


def message_intent(message: FakeMessage) -> int:
    return DIRECT_MESSAGES if message.guild_id is None else GUILD_MESSAGES


def without_content(message: dict[str, Any]) -> dict[str, Any]:
    return message | {"content": "", "embeds": [], "attachments": [], "components": []}
