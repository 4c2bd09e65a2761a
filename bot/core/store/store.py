"""The bot's memory in SQLite: conversation turns per channel, channel and server settings, pictures, usage.

One connection, one policy: WAL (readers never block the writer), `synchronous=NORMAL` (a committed write
survives the process being killed; an OS crash may lose the last moments), a busy timeout, foreign keys on, and
every operation serialized by one lock, so that two coroutines never share a transaction. No Discord here.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sqlite3
import time
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import aiosqlite

from bot.core.fusion import Message
from bot.core.store.context import ContextBudget, ContextTurn, estimate_tokens, select_context
from bot.core.store.migrations import Migration, StoreError, discover_migrations, migrate
from bot.core.store.pictures import PictureRecords
from bot.core.store.rows import TURN_COLUMNS, Turn, turn_from_row
from bot.core.store.servers import ServerRecords

log = logging.getLogger(__name__)

CONSOLE_CHANNEL_ID = 0  # Discord ids are positive, so the console's conversation never meets a channel's
BUSY_TIMEOUT_MS = 5000
WAL_SWITCH_ATTEMPTS = 20  # about 10 s in all
Role = Literal["user", "assistant"]


@dataclass(frozen=True, slots=True)
class Exchange:
    """A question just stored, the placeholder of its answer, and the context to ask the question in."""

    question_id: int
    answer_id: int
    messages: list[Message]  # the request's context, ending with the question


_NO_TURN_LIMIT = 2**63 - 1


async def connect(path: Path) -> aiosqlite.Connection:
    """Open the database file with the store's connection policy (creating its folder if needed)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = await aiosqlite.connect(path, isolation_level=None)  # autocommit; transactions are explicit
    try:
        await conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        await _enable_wal(conn)
        await conn.execute("PRAGMA synchronous = NORMAL")
        await conn.execute("PRAGMA foreign_keys = ON")
    except BaseException:
        await conn.close()  # an open connection's thread would keep the process from exiting
        raise
    return conn


async def _enable_wal(conn: aiosqlite.Connection) -> None:
    """Switch to WAL. The switch needs an exclusive lock and does not wait for it, so retry a bounded while."""
    for attempt in range(WAL_SWITCH_ATTEMPTS):
        try:
            await conn.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or attempt == WAL_SWITCH_ATTEMPTS - 1:
                raise
            await asyncio.sleep(0.05 * (attempt + 1))


class Store(PictureRecords, ServerRecords):
    """Everything the bot remembers. Open with `Store.open(path)`; close when done."""

    def __init__(self, conn: aiosqlite.Connection) -> None:
        self._conn = conn
        self._lock = asyncio.Lock()

    @classmethod
    async def open(cls, path: Path, *, migrations: list[Migration] | None = None) -> Store:
        """Open (or create) the database and bring its schema up to date."""
        try:
            conn = await connect(path)
        except (OSError, sqlite3.Error) as error:
            raise StoreError(f"cannot open the database at {path}: {error}") from error
        try:
            version = await migrate(conn, discover_migrations() if migrations is None else migrations)
        except sqlite3.DatabaseError as error:
            await conn.close()
            raise StoreError(f"cannot use the database at {path}: {error}") from error
        except BaseException:
            await conn.close()
            raise
        log.info("store open at %s (schema version %d)", path, version)
        return cls(conn)

    async def close(self) -> None:
        async with self._lock:
            await self._conn.execute("PRAGMA optimize")
            await self._conn.close()

    async def __aenter__(self) -> Store:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    # --- conversations ---------------------------------------------------------------------------------------

    async def append_turn(
        self,
        channel_id: int,
        role: Role,
        content: str,
        *,
        author_id: int | None = None,
        author_name: str | None = None,
        complete: bool = True,
        request_options: Mapping[str, Any] | None = None,
    ) -> int:
        """Store a turn at the end of the channel's conversation; return its id once it is durable.

        `request_options` are the options an answer was asked with, kept so that it can be asked again alike.
        """
        async with self._lock:
            return await self._insert_turn(
                channel_id, role, content, author_id, author_name, complete, request_options or {}
            )

    async def start_exchange(
        self,
        channel_id: int,
        content: str,
        budget: ContextBudget,
        *,
        author_id: int | None = None,
        author_name: str | None = None,
        name_speakers: bool = False,
        request_options: Mapping[str, Any] | None = None,
    ) -> Exchange:
        """Store a question and the empty, incomplete placeholder of its answer (being written, see
        `answers_being_written`); return them and the context.

        Both are written in one transaction, so nothing else stored in the channel comes between them: the
        answer's asker is the author of the question just before it. `request_options` are the answer's (see
        `append_turn`). The context ends with the question; the placeholder is not part of it.
        """
        async with self._lock, self._transaction():
            question_id = await self._insert_turn(channel_id, "user", content, author_id, author_name, True)
            answer_id = await self._insert_turn(
                channel_id, "assistant", "", None, None, False, request_options, writing=True
            )
            messages = await self._context(channel_id, budget, name_speakers, before_turn=answer_id)
        return Exchange(question_id, answer_id, messages)

    async def context(
        self, channel_id: int, budget: ContextBudget, *, name_speakers: bool = False, before_turn: int | None = None
    ) -> list[Message]:
        """The channel's conversation since its last reset, trimmed to `budget`, oldest first.

        With `before_turn`, only the turns before that one: the context an earlier answer was given in.
        """
        async with self._lock:
            return await self._context(channel_id, budget, name_speakers, before_turn)

    async def turn(self, turn_id: int) -> Turn | None:
        async with self._lock:
            rows = list(
                await self._conn.execute_fetchall(
                    f"SELECT {TURN_COLUMNS} FROM conversation_turns WHERE id = ?", (turn_id,)
                )
            )
        return turn_from_row(rows[0]) if rows else None

    async def asker_of(self, answer_turn_id: int) -> int | None:
        """Who asked the question an answer replies to (the author of the user turn just before it)."""
        async with self._lock:
            rows = list(
                await self._conn.execute_fetchall(
                    "SELECT q.author_id FROM conversation_turns AS a JOIN conversation_turns AS q "
                    "ON q.channel_id = a.channel_id AND q.id < a.id AND q.role = 'user' "
                    "WHERE a.id = ? ORDER BY q.id DESC LIMIT 1",
                    (answer_turn_id,),
                )
            )
        return rows[0][0] if rows else None

    async def update_turn(
        self,
        turn_id: int,
        *,
        content: str | None = None,
        complete: bool | None = None,
        message_ids: Sequence[int] | None = None,
        writing: bool | None = None,
    ) -> None:
        """Change a stored turn: its text as an answer grows, its completeness, the messages that show it, and
        whether it is being written (until its end is recorded)."""
        changes: dict[str, Any] = {"updated_at": time.time()}
        if writing is not None:
            changes["writing"] = int(writing)
        if content is not None:
            changes |= {"content": content, "tokens": estimate_tokens(content)}
        if complete is not None:
            changes["complete"] = int(complete)
        if message_ids is not None:
            changes["message_ids"] = json.dumps(list(message_ids))
        assignments = ", ".join(f"{column} = :{column}" for column in changes)
        async with self._lock:
            await self._conn.execute(
                f"UPDATE conversation_turns SET {assignments} WHERE id = :id", changes | {"id": turn_id}
            )

    async def answers_being_written(self) -> list[Turn]:
        """Answers whose end was never recorded: at start-up, those a process that died left behind."""
        async with self._lock:
            rows = await self._conn.execute_fetchall(
                f"SELECT {TURN_COLUMNS} FROM conversation_turns WHERE writing = 1 ORDER BY id"
            )
        return [turn_from_row(row) for row in rows]

    async def turns(self, channel_id: int, *, since_reset: bool = False) -> list[Turn]:
        """The channel's stored turns, oldest first: all of them (the audit history) or those since a reset."""
        after = "(SELECT context_after_turn_id FROM channels WHERE channel_id = :c)" if since_reset else "0"
        async with self._lock:
            rows = await self._conn.execute_fetchall(
                f"SELECT {TURN_COLUMNS} FROM conversation_turns "
                f"WHERE channel_id = :c AND id > COALESCE({after}, 0) ORDER BY id",
                {"c": channel_id},
            )
        return [turn_from_row(row) for row in rows]

    async def reset(self, channel_id: int, *, delete: bool = False) -> None:
        """Start the channel's context afresh; with `delete`, also erase its stored turns."""
        async with self._lock, self._transaction():
            await self._conn.execute(
                "INSERT INTO channels (channel_id, context_after_turn_id, updated_at) "
                "VALUES (:c, (SELECT COALESCE(MAX(id), 0) FROM conversation_turns WHERE channel_id = :c), :now) "
                "ON CONFLICT (channel_id) DO UPDATE SET "
                "context_after_turn_id = excluded.context_after_turn_id, updated_at = excluded.updated_at",
                {"c": channel_id, "now": time.time()},
            )
            if delete:
                await self._conn.execute("DELETE FROM conversation_turns WHERE channel_id = ?", (channel_id,))

    async def _insert_turn(
        self,
        channel_id: int,
        role: Role,
        content: str,
        author_id: int | None,
        author_name: str | None,
        complete: bool,
        request_options: Mapping[str, Any] | None = None,
        *,
        writing: bool = False,
    ) -> int:
        now = time.time()
        options = json.dumps(dict(request_options or {}))
        rows = await self._conn.execute_fetchall(
            "INSERT INTO conversation_turns (channel_id, role, content, tokens, author_id, author_name, complete, "
            "created_at, updated_at, request_options, writing) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
            (
                channel_id,
                role,
                content,
                estimate_tokens(content),
                author_id,
                author_name,
                int(complete),
                now,
                now,
                options,
                int(writing),
            ),
        )
        return int(next(iter(rows))[0])

    async def _context(
        self, channel_id: int, budget: ContextBudget, name_speakers: bool, before_turn: int | None = None
    ) -> list[Message]:
        # Skipped incomplete exchanges cost rows, hence reading twice the message budget.
        rows = await self._conn.execute_fetchall(
            "SELECT role, content, tokens, complete, author_name FROM conversation_turns "
            "WHERE channel_id = :c AND id < :before "
            "AND id > COALESCE((SELECT context_after_turn_id FROM channels WHERE channel_id = :c), 0) "
            "ORDER BY id DESC LIMIT :limit",
            {"c": channel_id, "limit": 2 * budget.max_messages, "before": before_turn or _NO_TURN_LIMIT},
        )
        turns = [ContextTurn(row[0], row[1], row[2], bool(row[3]), row[4]) for row in reversed(list(rows))]
        return select_context(turns, budget, name_speakers=name_speakers)

    # --- the bot's own state --------------------------------------------------------------------------------------

    async def state(self, key: str) -> str | None:
        async with self._lock:
            rows = list(await self._conn.execute_fetchall("SELECT value FROM bot_state WHERE key = ?", (key,)))
        return rows[0][0] if rows else None

    async def set_state(self, key: str, value: str) -> None:
        async with self._lock:
            await self._conn.execute(
                "INSERT INTO bot_state (key, value, updated_at) VALUES (?, ?, ?) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
                (key, value, time.time()),
            )

    # --- channels ------------------------------------------------------------------------------------------------

    async def set_conversations_enabled(self, channel_id: int, enabled: bool, *, guild_id: int | None = None) -> None:
        """Whether the bot answers every message in the channel, not only mentions."""
        async with self._lock:
            await self._conn.execute(
                "INSERT INTO channels (channel_id, guild_id, conversations_enabled, updated_at) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (channel_id) DO UPDATE SET conversations_enabled = excluded.conversations_enabled, "
                "guild_id = COALESCE(excluded.guild_id, guild_id), updated_at = excluded.updated_at",
                (channel_id, guild_id, int(enabled), time.time()),
            )

    async def conversations_enabled(self, channel_id: int) -> bool:
        async with self._lock:
            rows = await self._conn.execute_fetchall(
                "SELECT conversations_enabled FROM channels WHERE channel_id = ?", (channel_id,)
            )
        return any(row[0] for row in rows)

    @asynccontextmanager
    async def _transaction(self) -> AsyncIterator[None]:
        """BEGIN IMMEDIATE ... COMMIT, rolled back on any error. Hold `_lock` around it."""
        await self._conn.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            await self._conn.execute("ROLLBACK")
            raise
        await self._conn.execute("COMMIT")
