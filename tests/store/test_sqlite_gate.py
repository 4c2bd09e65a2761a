"""The SQLite store's connection gate: single statements go together, a transaction has the connection alone, and
neither kind starves the other."""

from __future__ import annotations

import asyncio
from pathlib import Path

from bot.core.store import ContextBudget
from bot.core.store.sqlite.connection import ConnectionGate
from bot.core.store.sqlite.store import SQLiteStore

BUDGET = ContextBudget(max_messages=10, max_tokens=1000)


async def test_single_statements_are_in_flight_together() -> None:
    gate = ConnectionGate()
    inside = 0
    most = 0
    release = asyncio.Event()

    async def statement() -> None:
        nonlocal inside, most
        async with gate.shared():
            inside += 1
            most = max(most, inside)
            await release.wait()
            inside -= 1

    statements = [asyncio.create_task(statement()) for _ in range(5)]
    await asyncio.sleep(0)
    release.set()
    await asyncio.gather(*statements)
    assert most == 5


async def test_a_transaction_waits_for_the_statements_in_flight_and_holds_new_ones() -> None:
    gate = ConnectionGate()
    events: list[str] = []
    first_done = asyncio.Event()

    async def statement(name: str, wait: asyncio.Event | None = None) -> None:
        async with gate.shared():
            events.append(f"{name} begins")
            if wait is not None:
                await wait.wait()
            events.append(f"{name} ends")

    async def transaction() -> None:
        async with gate:
            events.append("transaction begins")
            await asyncio.sleep(0)
            events.append("transaction ends")

    in_flight = asyncio.create_task(statement("early", first_done))
    await asyncio.sleep(0)
    alone = asyncio.create_task(transaction())
    await asyncio.sleep(0)
    later = asyncio.create_task(statement("later"))
    await asyncio.sleep(0)
    assert events == ["early begins"]  # the transaction waits for it; the later statement waits for the transaction
    first_done.set()
    await asyncio.gather(in_flight, alone, later)
    assert events == [
        "early begins",
        "early ends",
        "transaction begins",
        "transaction ends",
        "later begins",
        "later ends",
    ]


async def test_statements_waiting_go_before_the_next_transaction() -> None:
    gate = ConnectionGate()
    order: list[str] = []
    hold = asyncio.Event()

    async def transaction(name: str, wait: asyncio.Event | None = None) -> None:
        async with gate:
            order.append(name)
            if wait is not None:
                await wait.wait()

    async def statement(name: str) -> None:
        async with gate.shared():
            order.append(name)

    first = asyncio.create_task(transaction("first transaction", hold))
    await asyncio.sleep(0)
    waiting = [asyncio.create_task(statement(f"statement {n}")) for n in range(3)]
    second = asyncio.create_task(transaction("second transaction"))
    await asyncio.sleep(0)
    hold.set()
    await asyncio.gather(first, second, *waiting)
    assert order == ["first transaction", "statement 0", "statement 1", "statement 2", "second transaction"]


async def test_a_cancelled_transaction_leaves_the_gate_open() -> None:
    gate = ConnectionGate()
    blocker = asyncio.Event()

    async def statement() -> None:
        async with gate.shared():
            await blocker.wait()

    in_flight = asyncio.create_task(statement())
    await asyncio.sleep(0)
    waiting = asyncio.create_task(gate.__aenter__())
    await asyncio.sleep(0)
    waiting.cancel()  # gave up while the statement was still in flight
    await asyncio.gather(waiting, return_exceptions=True)
    blocker.set()
    await in_flight
    async with asyncio.timeout(5):
        async with gate:
            pass
        async with gate.shared():
            pass


async def test_many_answers_written_at_once_each_keep_their_own_last_text(tmp_path: Path) -> None:
    store = await SQLiteStore.open(tmp_path / "gate.sqlite3")
    try:
        answers = []
        for channel in range(40):
            exchange = await store.start_exchange(channel, "question", BUDGET, author_id=1)
            answers.append(exchange.answer_id)

        async def write(answer_id: int) -> None:
            for step in range(5):
                await store.update_turn(answer_id, content=f"{answer_id} step {step}")
            await store.update_turn(answer_id, content=f"{answer_id} done", complete=True)

        # Statements of forty answers and new questions (transactions) interleaved.
        await asyncio.gather(
            *(write(answer_id) for answer_id in answers),
            *(store.start_exchange(1000 + n, "more", BUDGET, author_id=1) for n in range(10)),
        )
        for answer_id in answers:
            turn = await store.turn(answer_id)
            assert turn is not None and turn.content == f"{answer_id} done" and turn.complete
    finally:
        await store.close()
