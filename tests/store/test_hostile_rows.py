"""Rows the bot does not write itself (another version's, a hand edit's) never stop a channel or a server, on each
backend. The rows are written past the schema's checks in the backend's own SQL (`BackendDatabase.insert_unchecked`;
on PostgreSQL, whose jsonb holds only JSON, text that is not JSON is stored as a JSON string: not what is expected
either)."""

from __future__ import annotations

import logging

import pytest

from bot.core.store import ContextBudget
from bot.core.store import rows as stored_rows
from tests.store.conftest import BackendDatabase

BUDGET = ContextBudget()
PRIVATE = "words nobody else should read"
TURN_COLUMNS = (
    *("channel_id", "role", "content", "tokens", "message_ids", "request_options", "complete"),
    *("created_at", "updated_at"),
)


async def write_turns(backend: BackendDatabase, turns: list[tuple[str, str, int, str, str]]) -> None:
    """Turns of channel 1: role, content, tokens, message_ids, request_options; all complete."""
    rows = [(1, *turn, True, 0.0, 0.0) for turn in turns]
    await backend.insert_unchecked("conversation_turns", TURN_COLUMNS, rows)


async def make_schema(backend: BackendDatabase) -> None:
    async with backend.open():
        pass


async def test_a_channel_with_odd_rows_still_answers_with_the_usable_exchanges(backend: BackendDatabase) -> None:
    await make_schema(backend)
    await write_turns(
        backend,
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
    async with backend.open() as store:
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
    backend: BackendDatabase, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(stored_rows, "_reported", set())
    await make_schema(backend)
    await write_turns(backend, [("user", PRIVATE, 5, f'["{PRIVATE}"]', f'"{PRIVATE}"')])
    with caplog.at_level(logging.WARNING, logger="bot.core.store"):
        async with backend.open() as store:
            await store.turns(1)
            await store.turns(1)

    warnings = [record.getMessage() for record in caplog.records if record.levelno == logging.WARNING]
    assert len(warnings) == 2  # message_ids and request_options, once each
    assert all("conversation_turns 1" in warning and PRIVATE not in warning for warning in warnings)


async def test_a_server_whose_stored_defaults_are_not_an_object_still_has_settings(backend: BackendDatabase) -> None:
    await make_schema(backend)
    await backend.insert_unchecked(
        "guilds",
        ("guild_id", "defaults", "updated_at"),
        [(1, "{broken", 0.0), (2, '["model"]', 0.0), (3, '{"size": "640x640"}', 0.0)],
    )
    async with backend.open() as store:
        settings = [await store.server_settings(guild_id) for guild_id in (1, 2, 3)]
        repaired = await store.update_server_defaults(1, {"model": "m"})

    assert [s.defaults for s in settings] == [{}, {}, {"size": "640x640"}]
    assert repaired == {"model": "m"}
