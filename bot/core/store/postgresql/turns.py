"""Conversations in the PostgreSQL store: each channel's turns, its reset point and its conversation switch.

A part of `PostgresStore`, on its pool (see `pool.py`). Writes that order a channel's turns take the channel's lock
(`_channel_transaction`, or in the statement that stores turns: `_INSERT_TURNS`, since each round trip to the server
costs both processes CPU); the context is chosen by the shared `bot.core.store.context` from the newest rows since
the channel's reset.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

import asyncpg

from bot.core.fusion import Message
from bot.core.store.context import ContextBudget, ContextTurn, estimate_tokens, select_context
from bot.core.store.postgresql.pool import CHANNEL_LOCK_CLASS, Pooled
from bot.core.store.records import Exchange, Role, Shards, Turn
from bot.core.store.rows import TURN_COLUMNS, owned_by_shards, turn_changes, turn_from_row

_NO_TURN_LIMIT = 2**63 - 1


class TurnRecords(Pooled):
    """The store's conversations: turns per channel, resets and the channel's conversation switch."""

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
        guild_id: int | None = None,
    ) -> int:
        """Store a turn at the end of the channel's conversation; return its id once it is durable.

        `request_options` are the options an answer was asked with, kept so that it can be asked again alike.
        """
        turn = _NewTurn(role, content, author_id, author_name, complete, request_options)
        (turn_id,) = await _insert_turns(self._pool, channel_id, guild_id, turn)
        return turn_id

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
        guild_id: int | None = None,
        persona: str | None = None,
    ) -> Exchange:
        """Store a question and the empty, incomplete placeholder of its answer (being written, see
        `answers_being_written`); return them and the context.

        Both are written in one transaction holding the channel's lock, so nothing else stored in the channel comes
        between them, and the context is read in it. The context begins with `persona`'s exchange, if any, and
        ends with the question.
        """
        question = _NewTurn("user", content, author_id, author_name)
        answer = _NewTurn("assistant", "", complete=False, request_options=request_options, writing=True)
        async with self._pool.acquire() as conn, conn.transaction():
            question_id, answer_id = await _insert_turns(conn, channel_id, guild_id, question, answer)
            messages = await _context(conn, channel_id, budget, name_speakers, answer_id, persona=persona)
        return Exchange(question_id, answer_id, messages)

    async def context(
        self,
        channel_id: int,
        budget: ContextBudget,
        *,
        name_speakers: bool = False,
        before_turn: int | None = None,
        persona: str | None = None,
    ) -> list[Message]:
        """The channel's conversation since its last reset, trimmed to `budget`, oldest first.

        With `before_turn`, only the turns before that one: the context an earlier answer was given in. With
        `persona`, its exchange first.
        """
        async with self._pool.acquire() as conn:
            return await _context(conn, channel_id, budget, name_speakers, before_turn, persona=persona)

    async def turn(self, turn_id: int) -> Turn | None:
        row = await self._pool.fetchrow(f"SELECT {TURN_COLUMNS} FROM conversation_turns WHERE id = $1", turn_id)
        return turn_from_row(row) if row is not None else None

    async def asker_of(self, answer_turn_id: int) -> int | None:
        """Who asked the question an answer replies to (the author of the user turn just before it)."""
        return await self._pool.fetchval(
            "SELECT q.author_id FROM conversation_turns AS a JOIN conversation_turns AS q "
            "ON q.channel_id = a.channel_id AND q.id < a.id AND q.role = 'user' "
            "WHERE a.id = $1 ORDER BY q.id DESC LIMIT 1",
            answer_turn_id,
        )

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
        changes = turn_changes(content=content, complete=complete, message_ids=message_ids, writing=writing)
        assignments = ", ".join(f"{column} = ${number}" for number, column in enumerate(changes, start=2))
        await self._pool.execute(
            f"UPDATE conversation_turns SET {assignments} WHERE id = $1", turn_id, *changes.values()
        )

    async def answers_being_written(self, shards: Shards | None = None) -> list[Turn]:
        """Answers whose end was never recorded: at start-up, those a process that died left behind (with
        `shards`, only in the servers on those shards)."""
        rows = await self._pool.fetch(
            f"SELECT {TURN_COLUMNS} FROM conversation_turns "
            f"WHERE writing AND {owned_by_shards('guild_id', shards)} ORDER BY id"
        )
        return [turn_from_row(row) for row in rows]

    async def turns(self, channel_id: int, *, since_reset: bool = False) -> list[Turn]:
        """The channel's stored turns, oldest first: all of them (the audit history) or those since a reset."""
        after = "(SELECT context_after_turn_id FROM channels WHERE channel_id = $1)" if since_reset else "0"
        rows = await self._pool.fetch(
            f"SELECT {TURN_COLUMNS} FROM conversation_turns "
            f"WHERE channel_id = $1 AND id > COALESCE({after}, 0) ORDER BY id",
            channel_id,
        )
        return [turn_from_row(row) for row in rows]

    async def reset(self, channel_id: int, *, delete: bool = False) -> None:
        """Start the channel's context afresh; with `delete`, also erase its stored turns."""
        async with self._channel_transaction(channel_id) as conn:
            await conn.execute(
                "INSERT INTO channels (channel_id, context_after_turn_id, updated_at) "
                "VALUES ($1, (SELECT COALESCE(MAX(id), 0) FROM conversation_turns WHERE channel_id = $1), $2) "
                "ON CONFLICT (channel_id) DO UPDATE SET "
                "context_after_turn_id = excluded.context_after_turn_id, updated_at = excluded.updated_at",
                channel_id,
                time.time(),
            )
            if delete:
                await conn.execute("DELETE FROM conversation_turns WHERE channel_id = $1", channel_id)

    # --- channels ------------------------------------------------------------------------------------------------

    async def set_conversations_enabled(self, channel_id: int, enabled: bool, *, guild_id: int | None = None) -> None:
        """Whether the bot answers every message in the channel, not only mentions."""
        await self._pool.execute(
            "INSERT INTO channels (channel_id, guild_id, conversations_enabled, updated_at) VALUES ($1, $2, $3, $4) "
            "ON CONFLICT (channel_id) DO UPDATE SET conversations_enabled = excluded.conversations_enabled, "
            "guild_id = COALESCE(excluded.guild_id, channels.guild_id), updated_at = excluded.updated_at",
            channel_id,
            guild_id,
            enabled,
            time.time(),
        )

    async def conversations_enabled(self, channel_id: int) -> bool:
        enabled = await self._pool.fetchval(
            "SELECT conversations_enabled FROM channels WHERE channel_id = $1", channel_id
        )
        return bool(enabled)


class _NewTurn(NamedTuple):
    role: Role
    content: str
    author_id: int | None = None
    author_name: str | None = None
    complete: bool = True
    request_options: Mapping[str, Any] | None = None
    writing: bool = False


# One statement that takes the channel's lock (`_channel_transaction`'s key) and stores turns at the end of the
# channel: their rows come from the lock's row, so their ids are drawn once the lock is held, in the order unnest
# yields them, the arrays' order. Alone, it is its own transaction, holding the lock until it commits: one round trip
# where BEGIN, the lock, each turn and COMMIT took one each.
_INSERT_TURNS = (
    f"WITH channel_lock AS (SELECT pg_advisory_xact_lock({CHANNEL_LOCK_CLASS}, ($1::bigint % 2147483647)::integer)) "
    "INSERT INTO conversation_turns (channel_id, created_at, updated_at, guild_id, role, content, tokens, author_id, "
    "author_name, complete, request_options, writing) "
    "SELECT $1, $2, $2, $3, turn.* FROM channel_lock, unnest($4::text[], $5::text[], $6::integer[], $7::bigint[], "
    "$8::text[], $9::boolean[], $10::jsonb[], $11::boolean[]) AS turn "
    "RETURNING id"
)


async def _insert_turns(
    conn: asyncpg.Connection | asyncpg.Pool, channel_id: int, guild_id: int | None, *turns: _NewTurn
) -> list[int]:
    """Store `turns` at the end of the channel's conversation, under its lock; return their ids, in order (sorted:
    RETURNING promises no order)."""
    rows = await conn.fetch(
        _INSERT_TURNS,
        channel_id,
        time.time(),
        guild_id,
        [turn.role for turn in turns],
        [turn.content for turn in turns],
        [estimate_tokens(turn.content) for turn in turns],
        [turn.author_id for turn in turns],
        [turn.author_name for turn in turns],
        [turn.complete for turn in turns],
        [json.dumps(dict(turn.request_options or {})) for turn in turns],
        [turn.writing for turn in turns],
    )
    return sorted(row[0] for row in rows)


async def _context(
    conn: asyncpg.Connection,
    channel_id: int,
    budget: ContextBudget,
    name_speakers: bool,
    before_turn: int | None,
    *,
    persona: str | None = None,
) -> list[Message]:
    # Skipped incomplete exchanges cost rows, hence reading twice the message budget.
    rows = await conn.fetch(
        "SELECT role, content, tokens, complete, author_name FROM conversation_turns "
        "WHERE channel_id = $1 AND id < $2 "
        "AND id > COALESCE((SELECT context_after_turn_id FROM channels WHERE channel_id = $1), 0) "
        "ORDER BY id DESC LIMIT $3",
        channel_id,
        before_turn or _NO_TURN_LIMIT,
        2 * budget.max_messages,
    )
    turns = [ContextTurn(row[0], row[1], row[2], bool(row[3]), row[4]) for row in reversed(rows)]
    return select_context(turns, budget, name_speakers=name_speakers, persona=persona)
