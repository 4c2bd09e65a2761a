"""A database that fails mid-operation raises `StoreError`, whichever backend: what the bot catches (an answer
goes on without its record), with a message that never shows the PostgreSQL password."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.core.store import ContextBudget, PostgresStore, SQLiteStore, StoreError
from bot.core.store.records import Shards

BUDGET = ContextBudget(max_messages=40, max_tokens=4000)


async def test_a_sqlite_store_failing_raises_a_store_error_with_its_cause(tmp_path: Path) -> None:
    store = await SQLiteStore.open(tmp_path / "bot.db")
    exchange = await store.start_exchange(1, "q", BUDGET)
    await store._conn.execute("DROP TABLE conversation_turns")  # a failure the next write meets

    with pytest.raises(StoreError, match=r"^update_turn: OperationalError: no such table") as raised:
        await store.update_turn(exchange.answer_id, content="a")
    assert raised.value.__cause__ is not None  # SQLite's code and errno stay readable for start-up's messages
    await store.close()


async def test_a_postgresql_store_failing_raises_a_store_error_without_the_password(dsn: str) -> None:
    with_password = dsn.replace("postgres@", "postgres:s3cr3t-pw@")  # trust authentication ignores it
    store = await PostgresStore.open(with_password)
    exchange = await store.start_exchange(1, "q", BUDGET)
    await store.close()  # the pool is gone: every operation fails

    with pytest.raises(StoreError, match=r"^update_turn: ") as raised:
        await store.update_turn(exchange.answer_id, content="a")
    with pytest.raises(StoreError, match=r"^answers_being_written: "):
        await store.answers_being_written(Shards(1, frozenset({0})))
    assert "s3cr3t" not in str(raised.value) and raised.value.__suppress_context__
