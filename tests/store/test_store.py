"""The store as the bot uses it, on each backend: context across restarts, reset and deletion, answers growing,
pictures, usage, server controls, later features."""

from __future__ import annotations

import asyncio
import re
import uuid
from dataclasses import replace

import pytest

from bot.core.fusion import Message
from bot.core.store import (
    ContextBudget,
    DrawUsage,
    GenerationStatus,
    ImageGeneration,
    Shards,
    StoreBackend,
    StoreError,
)
from bot.core.store.postgresql import pictures as postgresql_pictures
from bot.core.store.sqlite import pictures as sqlite_pictures
from tests.store.conftest import BackendDatabase

BUDGET = ContextBudget(max_messages=40, max_tokens=4000)


async def converse(store: StoreBackend, channel: int, question: str, answer: str) -> list[Message]:
    exchange = await store.start_exchange(channel, question, BUDGET, author_id=7, author_name="Ana")
    await store.update_turn(exchange.answer_id, content=answer, complete=True)
    return exchange.messages


async def test_context_ends_with_the_new_question_and_survives_a_restart(backend: BackendDatabase) -> None:
    async with backend.open() as store:
        await converse(store, 1, "q1", "a1")
    async with backend.open() as reopened:
        exchange = await reopened.start_exchange(1, "q2", BUDGET)
    assert exchange.messages == [
        Message(role="user", content="q1"),
        Message(role="assistant", content="a1"),
        Message(role="user", content="q2"),
    ]


async def test_channels_and_threads_keep_separate_conversations(store: StoreBackend) -> None:
    await converse(store, 1, "in the channel", "a")
    exchange = await store.start_exchange(2, "in a thread", BUDGET)
    assert [m.content for m in exchange.messages] == ["in a thread"]


async def test_reset_clears_the_context_but_keeps_the_history(store: StoreBackend) -> None:
    await converse(store, 1, "q1", "a1")
    await store.reset(1)
    exchange = await store.start_exchange(1, "q2", BUDGET)
    assert [m.content for m in exchange.messages] == ["q2"]
    assert [t.content for t in await store.turns(1)] == ["q1", "a1", "q2", ""]
    assert [t.content for t in await store.turns(1, since_reset=True)] == ["q2", ""]


async def test_reset_with_deletion_erases_the_history(store: StoreBackend) -> None:
    await converse(store, 1, "q1", "a1")
    await converse(store, 2, "other", "kept")
    await store.reset(1, delete=True)
    assert await store.turns(1) == []
    assert len(await store.turns(2)) == 2


async def test_answer_grows_then_completes_with_its_messages(store: StoreBackend) -> None:
    answer = (await store.start_exchange(1, "q", BUDGET)).answer_id
    await store.update_turn(answer, content="par")
    assert [m.content for m in await store.context(1, BUDGET)] == []  # an unfinished exchange is not context
    await store.update_turn(answer, content="partial and whole", complete=True, message_ids=[111, 222])
    turn = (await store.turns(1))[-1]
    assert (turn.content, turn.complete, turn.message_ids) == ("partial and whole", True, (111, 222))
    assert turn.updated_at >= turn.created_at
    assert [m.content for m in await store.context(1, BUDGET)] == ["q", "partial and whole"]


async def test_turns_record_who_said_what(store: StoreBackend) -> None:
    await converse(store, 1, "hello", "hi")
    question, answer = await store.turns(1)
    assert (question.role, question.author_id, question.author_name) == ("user", 7, "Ana")
    assert (answer.role, answer.author_id) == ("assistant", None)


async def test_picture_parameters_are_kept_for_buttons(store: StoreBackend) -> None:
    generation_id = await store.add_generation(
        ImageGeneration(
            channel_id=1, user_id=7, prompt="a fox", model="Artist_V0.1.3", size="640x640", seed=42, scale=7
        )
    )
    await store.finish_generation(generation_id, "done", message_id=99)
    stored = await store.generation(generation_id)
    assert stored is not None
    assert (stored.prompt, stored.seed, stored.status, stored.message_id) == ("a fox", 42, "done", 99)
    assert stored.finished_at is not None
    assert await store.generation(generation_id + 1) is None


def picture_request(user_id: int, at: float) -> ImageGeneration:
    return ImageGeneration(
        channel_id=1, user_id=user_id, prompt="p", model="m", size="640x640", seed=1, scale=7, created_at=at
    )


async def test_draw_usage_counts_only_pictures_drawn_and_remembers_the_latest_request_taken(
    store: StoreBackend,
) -> None:
    done_early, done_late, refused, waiting = [
        await store.add_generation(picture_request(7, at)) for at in (100.0, 200.0, 300.0, 400.0)
    ]
    await store.add_generation(picture_request(8, 500.0))  # someone else
    for generation_id in (done_early, done_late):
        await store.start_generation(generation_id)
        await store.finish_generation(generation_id, "done")
    await store.finish_generation(refused, "refused", error="moderation")

    assert await store.draw_usage(7, since=150.0) == DrawUsage(drawn=1, oldest_drawn_at=200.0, latest_accepted_at=400.0)
    assert await store.draw_usage(7, since=0.0) == DrawUsage(drawn=2, oldest_drawn_at=100.0, latest_accepted_at=400.0)
    assert await store.draw_usage(9, since=0.0) == DrawUsage(0, None, None)
    assert (await store.generation(waiting)).status == "queued"  # type: ignore[union-attr]


async def test_requests_left_unfinished_by_a_crash_are_marked_failed_and_hold_no_quota(store: StoreBackend) -> None:
    queued = await store.add_generation(picture_request(7, 100.0))
    drawing = await store.add_generation(picture_request(7, 200.0))
    done = await store.add_generation(picture_request(7, 300.0))
    await store.start_generation(drawing)
    await store.finish_generation(done, "done")
    await store.set_generation_message(done, 42)

    assert len(await store.abandon_unfinished_generations("interrupted")) == 2
    statuses = [(await store.generation(i)).status for i in (queued, drawing, done)]  # type: ignore[union-attr]
    assert statuses == ["failed", "failed", "done"]
    assert (await store.generation(done)).message_id == 42  # type: ignore[union-attr]
    assert (await store.draw_usage(7, since=0.0)).latest_accepted_at == 300.0


async def test_usage_counts_per_user_and_kind_since_a_time(store: StoreBackend) -> None:
    await store.record_usage(7, "draw", at=100.0)
    await store.record_usage(7, "draw", at=200.0)
    await store.record_usage(7, "chat", at=300.0)
    await store.record_usage(8, "draw", at=300.0)
    assert await store.usage_since(7, "draw", 150.0) == (1, 200.0)
    assert await store.usage_since(7, "draw", 0.0) == (2, 200.0)
    assert await store.usage_since(9, "draw", 0.0) == (0, None)


@pytest.mark.parametrize("unfinished", [("queued",), ("queued", "drawing")])
async def test_abandoning_unfinished_requests_works_for_any_number_of_unfinished_statuses(
    store: StoreBackend, monkeypatch: pytest.MonkeyPatch, unfinished: tuple[GenerationStatus, ...]
) -> None:
    for pictures in (sqlite_pictures, postgresql_pictures):
        monkeypatch.setattr(pictures, "UNFINISHED", unfinished)
    queued = await store.add_generation(picture_request(7, 100.0))
    drawing = await store.add_generation(picture_request(7, 200.0))
    await store.start_generation(drawing)

    assert len(await store.abandon_unfinished_generations("interrupted")) == len(unfinished)
    statuses = [(await store.generation(i)).status for i in (queued, drawing)]  # type: ignore[union-attr]
    assert statuses == ["failed", "failed" if "drawing" in unfinished else "drawing"]


async def test_channel_conversation_switch_persists(backend: BackendDatabase) -> None:
    async with backend.open() as store:
        assert await store.conversations_enabled(5) is False
        await store.set_conversations_enabled(5, True, guild_id=3)
    async with backend.open() as store:
        assert await store.conversations_enabled(5) is True


async def test_an_earlier_answer_is_found_with_its_asker_and_context(store: StoreBackend) -> None:
    await converse(store, 1, "q1", "a1")
    answer = (await store.start_exchange(1, "q2", BUDGET, author_id=8, author_name="Bo")).answer_id
    await store.update_turn(answer, content="a2", complete=True)
    await converse(store, 1, "q3", "a3")

    assert await store.asker_of(answer) == 8
    turn = await store.turn(answer)
    assert turn is not None and turn.content == "a2"
    context = await store.context(1, BUDGET, before_turn=answer)
    assert [m.content for m in context] == ["q1", "a1", "q2"]
    assert await store.turn(answer + 100) is None


async def test_questions_asked_at_once_in_a_channel_each_keep_their_answer_next_to_them(store: StoreBackend) -> None:
    ana, bo = await asyncio.gather(
        store.start_exchange(1, "from Ana", BUDGET, author_id=7, author_name="Ana", request_options={"top_p": 0.5}),
        store.start_exchange(1, "from Bo", BUDGET, author_id=8, author_name="Bo"),
    )
    first, second = sorted([ana, bo], key=lambda exchange: exchange.question_id)

    assert [(t.id, t.role, t.complete) for t in await store.turns(1)] == [
        (first.question_id, "user", True),
        (first.answer_id, "assistant", False),
        (second.question_id, "user", True),
        (second.answer_id, "assistant", False),
    ]
    assert (await store.asker_of(ana.answer_id), await store.asker_of(bo.answer_id)) == (7, 8)
    assert [m.content for m in second.messages] == [(await store.turn(second.question_id)).content]  # type: ignore[union-attr]
    assert (await store.turn(ana.answer_id)).request_options == {"top_p": 0.5}  # type: ignore[union-attr]


async def test_bot_state_is_kept_across_restarts(backend: BackendDatabase) -> None:
    async with backend.open() as store:
        assert await store.state("commands") is None
        await store.set_state("commands", "abc")
        await store.set_state("commands", "def")
    async with backend.open() as store:
        assert await store.state("commands") == "def"


GUILD_ON_SHARD_0 = 0 << 22 | 4  # (guild_id >> 22) % 2 == 0
GUILD_ON_SHARD_1 = 1 << 22 | 4


async def test_each_process_finds_only_its_own_shards_unfinished_answers(store: StoreBackend) -> None:
    in_shard_0 = await store.start_exchange(10, "q", BUDGET, guild_id=GUILD_ON_SHARD_0)
    in_shard_1 = await store.start_exchange(11, "q", BUDGET, guild_id=GUILD_ON_SHARD_1)
    in_a_dm = await store.start_exchange(12, "q", BUDGET)

    first, second = Shards(2, frozenset({0})), Shards(2, frozenset({1}))
    assert [t.id for t in await store.answers_being_written(first)] == [in_shard_0.answer_id, in_a_dm.answer_id]
    assert [t.id for t in await store.answers_being_written(second)] == [in_shard_1.answer_id]
    assert len(await store.answers_being_written()) == 3
    assert (await store.turn(in_shard_1.question_id)).guild_id == GUILD_ON_SHARD_1  # type: ignore[union-attr]


async def test_each_process_abandons_only_its_own_shards_unfinished_pictures(store: StoreBackend) -> None:
    on_shard_1 = await store.add_generation(replace(picture_request(7, 1.0), guild_id=GUILD_ON_SHARD_1))
    in_a_dm = await store.add_generation(picture_request(7, 2.0))

    abandoned = await store.abandon_unfinished_generations("interrupted", Shards(2, frozenset({1})))
    assert [generation.id for generation in abandoned] == [on_shard_1]
    assert (await store.generation(in_a_dm)).status == "queued"  # type: ignore[union-attr]
    assert [g.id for g in await store.abandon_unfinished_generations("x", Shards(2, frozenset({0})))] == [in_a_dm]


def test_shards_refuse_ids_outside_their_count() -> None:
    with pytest.raises(ValueError, match="not shards of 2"):
        Shards(2, frozenset({2}))


async def test_a_named_lock_is_held_by_one_holder_at_a_time(store: StoreBackend) -> None:
    # PostgreSQL's locks are the whole database's, not the test's schema's: names of this test's own. A lock that
    # is free is taken within `free` (PostgreSQL's takes a round trip to the server); one that is held, never.
    sync, identify = (f"{name}-{uuid.uuid4().hex}" for name in ("command-sync", "identify-0"))
    free = 1.0
    async with store.exclusive(sync):
        with pytest.raises(StoreError, match=f"{re.escape(repr(sync))} was held for more than 0 s"):
            async with store.exclusive(sync, max_wait=0.01):
                pass
        async with store.exclusive(identify, max_wait=free):  # another name is another lock
            pass
    async with store.exclusive(sync, max_wait=free):  # let go at the end of the block
        pass


async def test_ten_questions_asked_at_once_each_have_their_answer_right_after_them(store: StoreBackend) -> None:
    everyone = ContextBudget()
    exchanges = await asyncio.gather(
        *(store.start_exchange(7, f"q{n}", everyone, author_id=n, author_name=f"u{n}") for n in range(1, 11))
    )
    turns = await store.turns(7)
    assert [turn.role for turn in turns] == ["user", "assistant"] * 10
    for question, answer in zip(turns[::2], turns[1::2], strict=True):
        assert answer.id == question.id + 1
        assert await store.asker_of(answer.id) == question.author_id
    for exchange in exchanges:
        assert exchange.messages[-1].content == (await store.turn(exchange.question_id)).content  # type: ignore[union-attr]
    assert {turn.id for turn in await store.answers_being_written()} == {exchange.answer_id for exchange in exchanges}


async def test_two_stores_on_one_database_interleave_whole_exchanges(backend: BackendDatabase) -> None:
    async with backend.open() as first, backend.open() as second:
        await asyncio.gather(first.start_exchange(3, "from one", BUDGET), second.start_exchange(3, "from two", BUDGET))
        roles = [turn.role for turn in await first.turns(3)]
    assert roles == ["user", "assistant", "user", "assistant"]


async def test_reset_update_and_the_channel_switch(store: StoreBackend) -> None:
    exchange = await store.start_exchange(9, "q", BUDGET, request_options={"temperature": 0.5})
    await store.update_turn(exchange.answer_id, content="answer", complete=True, message_ids=[11, 12], writing=False)
    answer = await store.turn(exchange.answer_id)
    assert answer is not None and answer.message_ids == (11, 12) and answer.complete
    assert answer.request_options == {"temperature": 0.5} and await store.answers_being_written() == []
    await store.reset(9)
    assert await store.turns(9, since_reset=True) == [] and len(await store.turns(9)) == 2
    await store.reset(9, delete=True)
    assert await store.turns(9) == []
    assert not await store.conversations_enabled(9)
    await store.set_conversations_enabled(9, True, guild_id=4)
    assert await store.conversations_enabled(9)
    await store.set_state("hash", "abc")
    assert await store.state("hash") == "abc" and await store.state("other") is None


async def test_server_controls(store: StoreBackend) -> None:
    assert (await store.server_settings(1)).allowed_channels == frozenset()
    await store.set_allowed(1, "channels", 10, True)
    await store.set_allowed(1, "channels", 10, True)
    await store.set_allowed(1, "roles", 20, True)
    assert await store.update_server_defaults(1, {"model": "m", "size": "512x512"}) == {"model": "m", "size": "512x512"}
    assert await store.update_server_defaults(1, {"model": None}) == {"size": "512x512"}
    await store.set_chat_cooldown(1, 2.5)
    settings = await store.server_settings(1)
    assert settings.allowed_channels == {10} and settings.allowed_roles == {20}
    assert settings.defaults == {"size": "512x512"} and settings.chat_cooldown_seconds == 2.5
    await store.clear_allowed(1, "channels")
    await store.set_allowed(1, "roles", 20, False)
    assert (await store.server_settings(1)).allowed_channels == frozenset()
    assert (await store.server_settings(1)).allowed_roles == frozenset()


def _picture(**changes: object) -> ImageGeneration:
    values: dict = {"channel_id": 1, "user_id": 2, "prompt": "a cat", "model": "m", "size": "1x1", "seed": 2**40}
    return ImageGeneration(scale=7, guild_id=3, **(values | changes))


async def test_picture_records_keep_their_parameters_and_crashes_are_repaired(store: StoreBackend) -> None:
    kept = await store.add_generation(_picture(created_at=100.0))
    drawing = await store.add_generation(_picture(created_at=200.0))
    queued = await store.add_generation(_picture(created_at=300.0, prompt="a dog"))
    await store.start_generation(kept)
    await store.finish_generation(kept, "done", message_id=55)
    await store.start_generation(drawing)
    await store.set_generation_message(drawing, 66)
    stored = await store.generation(kept)
    assert stored == _picture(created_at=100.0, id=kept, status="done", message_id=55, finished_at=stored.finished_at)  # type: ignore[union-attr]
    assert await store.generation(10**9) is None
    assert await store.draw_usage(2, 0) == DrawUsage(1, 100.0, 300.0)
    abandoned = await store.abandon_unfinished_generations("the bot restarted")
    assert [(item.id, item.status, item.message_id, item.error) for item in abandoned] == [
        (drawing, "failed", 66, "the bot restarted"),
        (queued, "failed", None, "the bot restarted"),
    ]
    assert await store.abandon_unfinished_generations("again") == []
    assert await store.draw_usage(2, 0) == DrawUsage(1, 100.0, 100.0)


async def test_usage_per_user_kind_and_server(store: StoreBackend) -> None:
    await store.record_usage(1, "chat", guild_id=5, at=10.0)
    await store.record_usage(1, "chat", at=20.0)
    await store.record_usage(1, "draw", guild_id=5, tokens=3, at=30.0)
    assert await store.latest_use(1, "chat", guild_id=5) == 10.0
    assert await store.latest_use(1, "chat", guild_id=None) == 20.0
    assert await store.latest_use(2, "chat", guild_id=None) is None
    assert await store.usage_since(1, "chat", 15.0) == (1, 20.0)
    assert await store.usage_since(1, "chat", 0.0) == (2, 20.0)
