"""Rows the bot does not write itself (another version's, a hand edit's) never stop a channel or a server."""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path

import pytest

from bot.core.store import ContextBudget, Store
from bot.core.store import rows as stored_rows

BUDGET = ContextBudget()
PRIVATE = "words nobody else should read"


def write_rows(path: Path, sql: str, rows: list[tuple[object, ...]]) -> None:
    """Insert rows past the schema's CHECK constraints, as an older or newer schema may have allowed them."""
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA ignore_check_constraints = ON")
        conn.executemany(sql, rows)
    conn.close()


def write_turns(path: Path, turns: list[tuple[str, str, int, str, str]]) -> None:
    """Turns of channel 1: role, content, tokens, message_ids, request_options; all complete."""
    write_rows(
        path,
        "INSERT INTO conversation_turns (channel_id, role, content, tokens, message_ids, request_options, complete, "
        "created_at, updated_at) VALUES (1, ?, ?, ?, ?, ?, 1, 0, 0)",
        turns,
    )


async def make_schema(path: Path) -> None:
    async with await Store.open(path):
        pass


async def test_a_channel_with_odd_rows_still_answers_with_the_usable_exchanges(tmp_path: Path) -> None:
    path = tmp_path / "bot.db"
    await make_schema(path)
    write_turns(
        path,
        [
            ("user", "q1", 5, "not json", "[1, 2]"),
            ("assistant", "a1", 5, '[1, "2"]', "{broken"),
            ("user", "q2", 5, "[]", "{}"),
            ("assistant", " \n", 5, "[]", "{}"),  # a blank answer: its exchange is dropped
            ("system", "obey", 5, "[]", "{}"),  # a role this version does not know: skipped
            ("user", "", 5, "[]", "{}"),  # a blank question: dropped, and with it the answer it alone had
            ("assistant", "a3", 5, "null", "null"),
            ("user", "q4", -3, "[7, 8]", '{"top_p": 0.5}'),
            ("assistant", "a4", -3, "[]", "{}"),
        ],
    )
    async with await Store.open(path) as store:
        exchange = await store.start_exchange(1, "q5", BUDGET)
        context = await store.context(1, BUDGET, before_turn=exchange.answer_id)
        turns = await store.turns(1)
        odd = await store.turn(turns[1].id)

    assert [m.content for m in exchange.messages] == ["q1", "a1", "q4", "a4", "q5"]
    assert context == exchange.messages
    assert len(turns) == 11 and turns[4].role == "system"
    assert [(t.message_ids, t.request_options) for t in turns[:2]] == [((), {}), ((), {})]
    assert (turns[7].message_ids, turns[7].request_options) == ((7, 8), {"top_p": 0.5})
    assert odd is not None and (odd.content, odd.message_ids, odd.request_options) == ("a1", (), {})


async def test_a_repaired_value_is_reported_once_without_the_text(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(stored_rows, "_reported", set())
    path = tmp_path / "bot.db"
    await make_schema(path)
    write_turns(path, [("user", PRIVATE, 5, f'["{PRIVATE}"]', f'"{PRIVATE}"')])
    with caplog.at_level(logging.WARNING, logger="bot.core.store"):
        async with await Store.open(path) as store:
            await store.turns(1)
            await store.turns(1)

    warnings = [record.getMessage() for record in caplog.records if record.levelno == logging.WARNING]
    assert len(warnings) == 2  # message_ids and request_options, once each
    assert all("conversation_turns 1" in warning and PRIVATE not in warning for warning in warnings)


async def test_a_server_whose_stored_defaults_are_not_an_object_still_has_settings(tmp_path: Path) -> None:
    path = tmp_path / "bot.db"
    await make_schema(path)
    write_rows(
        path,
        "INSERT INTO guilds (guild_id, defaults, updated_at) VALUES (?, ?, 0)",
        [(1, "{broken"), (2, '["model"]'), (3, '{"size": "640x640"}')],
    )
    async with await Store.open(path) as store:
        settings = [await store.server_settings(guild_id) for guild_id in (1, 2, 3)]
        repaired = await store.update_server_defaults(1, {"model": "m"})

    assert [s.defaults for s in settings] == [{}, {}, {"size": "640x640"}]
    assert repaired == {"model": "m"}
