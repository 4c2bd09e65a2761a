"""Personas in the store, on each backend: a server's and a channel's set, cleared and kept across a restart, read
in one go with a thread's channel, listed per server, hostile rows read as none, leading the context it stores
questions in; and carried by `python -m bot store copy` both ways."""

from __future__ import annotations

from pathlib import Path

from bot.core.fusion import Message
from bot.core.personas import persona_messages
from bot.core.store import ContextBudget, Personas, PostgresStore, SQLiteStore, StoreBackend
from bot.core.store.copy import copy_store, parse_url
from tests.store.conftest import BackendDatabase

GUILD, OTHER_GUILD = 70, 71
CHANNEL, THREAD, QUIET = 1, 2, 3
BUDGET = ContextBudget()


async def test_server_and_channel_personas_are_set_cleared_and_kept_across_a_restart(backend: BackendDatabase) -> None:
    async with backend.open() as store:
        assert await store.personas(CHANNEL, guild_id=GUILD) == Personas()
        await store.set_server_persona(GUILD, "Speak like a pirate.")
        await store.set_channel_persona(CHANNEL, "Answer in haiku.", guild_id=GUILD)
        await store.set_conversations_enabled(CHANNEL, True)  # another setting of the channel leaves it alone
        await store.set_channel_persona(QUIET, "Be brief.", guild_id=GUILD)
        await store.set_channel_persona(QUIET, None)
    async with backend.open() as reopened:
        assert await reopened.personas(CHANNEL, guild_id=GUILD) == Personas(
            "Answer in haiku.", None, "Speak like a pirate."
        )
        assert await reopened.personas(THREAD, guild_id=GUILD, parent_id=CHANNEL) == Personas(
            None, "Answer in haiku.", "Speak like a pirate."
        )
        assert await reopened.personas(QUIET, guild_id=GUILD) == Personas(server="Speak like a pirate.")
        assert await reopened.personas(CHANNEL, guild_id=OTHER_GUILD) == Personas(channel="Answer in haiku.")
        assert await reopened.conversations_enabled(CHANNEL)
        await reopened.set_server_persona(GUILD, None)
        assert (await reopened.personas(QUIET, guild_id=GUILD)).server is None
        assert (await reopened.server_settings(GUILD)).guild_id == GUILD  # the server's row is still sound


async def test_a_server_lists_its_channels_with_a_persona_of_their_own(store: StoreBackend) -> None:
    for channel in (30, 10, 20):
        await store.set_channel_persona(channel, f"persona {channel}", guild_id=GUILD)
    await store.set_channel_persona(40, "elsewhere", guild_id=OTHER_GUILD)
    await store.set_channel_persona(20, None, guild_id=GUILD)
    await store.set_conversations_enabled(50, True, guild_id=GUILD)  # a channel row without a persona
    assert await store.persona_channels(GUILD) == [10, 30]
    assert await store.persona_channels(GUILD, limit=1) == [10]
    assert await store.persona_channels(99) == []


async def test_a_stored_persona_of_no_use_is_read_as_none(backend: BackendDatabase) -> None:
    async with backend.open() as store:
        await store.set_server_persona(GUILD, "kept")
    await backend.insert_unchecked(
        "channels", ["channel_id", "guild_id", "persona", "updated_at"], [(5, GUILD, " \n", 0)]
    )
    async with backend.open() as store:
        assert await store.personas(5, guild_id=GUILD) == Personas(server="kept")


async def test_the_persona_leads_the_context_of_a_question_and_of_a_regenerate(store: StoreBackend) -> None:
    first = await store.start_exchange(CHANNEL, "q1", BUDGET, persona="Be kind.")
    await store.update_turn(first.answer_id, content="a1", complete=True)
    second = await store.start_exchange(CHANNEL, "q2", BUDGET, persona="Be kind.")
    expected = [
        *persona_messages("Be kind."),
        Message(role="user", content="q1"),
        Message(role="assistant", content="a1"),
        Message(role="user", content="q2"),
    ]
    assert first.messages == [*persona_messages("Be kind."), Message(role="user", content="q1")]
    assert second.messages == expected
    assert await store.context(CHANNEL, BUDGET, before_turn=second.answer_id, persona="Be kind.") == expected
    assert [turn.content for turn in await store.turns(CHANNEL)] == ["q1", "a1", "q2", ""]  # never stored as turns


async def test_the_store_copy_carries_personas_both_ways(tmp_path: Path, dsn: str) -> None:
    source = tmp_path / "source.sqlite3"
    async with await SQLiteStore.open(source) as sqlite:
        await sqlite.set_server_persona(GUILD, "用中文回答。")
        await sqlite.set_channel_persona(CHANNEL, "Answer in haiku.", guild_id=GUILD)
        await sqlite.set_channel_persona(THREAD, "A thread's own.", guild_id=GUILD)
    await copy_store(parse_url(f"sqlite:///{source}"), parse_url(dsn))
    back = tmp_path / "back.sqlite3"
    await copy_store(parse_url(dsn), parse_url(f"sqlite:///{back}"))

    for opened in (PostgresStore.open(dsn), SQLiteStore.open(back)):
        async with await opened as copied:
            assert await copied.personas(THREAD, guild_id=GUILD, parent_id=CHANNEL) == Personas(
                "A thread's own.",
                "Answer in haiku.",
                "用中文回答。",
            )
            assert await copied.persona_channels(GUILD) == [CHANNEL, THREAD]
