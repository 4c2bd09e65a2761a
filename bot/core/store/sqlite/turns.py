"""Conversations in the SQLite store: each channel's turns, its reset point and its conversation switch.

A part of `SQLiteStore`, on its one connection and lock (see `connection.py`). The context is chosen by the shared
`bot.core.store.context` from the newest rows since the channel's reset.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from typing import Any

from bot.core.fusion import Message
from bot.core.store.context import ContextBudget, ContextTurn, estimate_tokens, select_context
from bot.core.store.records import Exchange, Role, Shards, Turn
from bot.core.store.rows import TURN_COLUMNS, owned_by_shards, turn_changes, turn_from_row
from bot.core.store.sqlite.connection import Connected

_NO_TURN_LIMIT = 2**63 - 1


class TurnRecords(Connected):
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
        row = _turn_row(channel_id, role, content, author_id, author_name, complete, request_options, guild_id=guild_id)
        async with self._lock.shared():
            rows = await self._conn.execute_fetchall(f"{_INSERT_TURNS} ({_TURN_PLACES}) RETURNING id", row)
        return int(next(iter(rows))[0])

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

        Both are written in one transaction, so nothing else stored in the channel comes between them: the
        answer's asker is the author of the question just before it. `request_options` are the answer's (see
        `append_turn`). The context begins with `persona`'s exchange, if any, and ends with the question; the
        placeholder is not part of it.
        """
        question = _turn_row(channel_id, "user", content, author_id, author_name, True, guild_id=guild_id)
        answer = _turn_row(
            channel_id, "assistant", "", None, None, False, request_options, writing=True, guild_id=guild_id
        )
        # One statement, its own transaction: the two rows get consecutive ids. Two statements sent together
        # (see `ConnectionGate`) rather than a transaction over several round trips, which is asked at every question.
        async with self._lock.shared():
            rows = await self._conn.execute_fetchall(
                f"{_INSERT_TURNS} ({_TURN_PLACES}), ({_TURN_PLACES}) RETURNING id, role", (*question, *answer)
            )
        ids = {role: int(turn_id) for turn_id, role in rows}
        async with self._lock.shared():
            messages = await self._context(channel_id, budget, name_speakers, ids["assistant"], persona=persona)
        return Exchange(ids["user"], ids["assistant"], messages)

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
        async with self._lock.shared():
            return await self._context(channel_id, budget, name_speakers, before_turn, persona=persona)

    async def turn(self, turn_id: int) -> Turn | None:
        async with self._lock.shared():
            rows = list(
                await self._conn.execute_fetchall(
                    f"SELECT {TURN_COLUMNS} FROM conversation_turns WHERE id = ?", (turn_id,)
                )
            )
        return turn_from_row(rows[0]) if rows else None

    async def asker_of(self, answer_turn_id: int) -> int | None:
        """Who asked the question an answer replies to (the author of the user turn just before it)."""
        async with self._lock.shared():
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
        changes = turn_changes(content=content, complete=complete, message_ids=message_ids, writing=writing)
        assignments = ", ".join(f"{column} = :{column}" for column in changes)
        async with self._lock.shared():
            await self._conn.execute(
                f"UPDATE conversation_turns SET {assignments} WHERE id = :id", changes | {"id": turn_id}
            )

    async def answers_being_written(self, shards: Shards | None = None) -> list[Turn]:
        """Answers whose end was never recorded: at start-up, those a process that died left behind (with
        `shards`, only in the servers on those shards)."""
        async with self._lock:
            rows = await self._conn.execute_fetchall(
                f"SELECT {TURN_COLUMNS} FROM conversation_turns "
                f"WHERE writing = 1 AND {owned_by_shards('guild_id', shards)} ORDER BY id"
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

    async def _context(
        self,
        channel_id: int,
        budget: ContextBudget,
        name_speakers: bool,
        before_turn: int | None = None,
        *,
        persona: str | None = None,
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
        return select_context(turns, budget, name_speakers=name_speakers, persona=persona)

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
        async with self._lock.shared():
            rows = await self._conn.execute_fetchall(
                "SELECT conversations_enabled FROM channels WHERE channel_id = ?", (channel_id,)
            )
        return any(row[0] for row in rows)


_INSERT_TURNS = (
    "INSERT INTO conversation_turns (channel_id, role, content, tokens, author_id, author_name, complete, "
    "created_at, updated_at, request_options, writing, guild_id) VALUES"
)
_TURN_PLACES = ", ".join("?" * 12)


def _turn_row(
    channel_id: int,
    role: Role,
    content: str,
    author_id: int | None,
    author_name: str | None,
    complete: bool,
    request_options: Mapping[str, Any] | None = None,
    *,
    writing: bool = False,
    guild_id: int | None = None,
) -> tuple[Any, ...]:
    """The values of a new `conversation_turns` row, in `_INSERT_TURNS`'s order."""
    now = time.time()
    options = json.dumps(dict(request_options or {}))
    return (
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
        guild_id,
    )
