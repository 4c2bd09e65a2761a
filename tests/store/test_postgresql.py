"""The PostgreSQL store against a real PostgreSQL (`TEST_DATABASE_URL`, by default the local `test` database), each
test in a schema of its own, dropped afterwards. Without a server answering on 127.0.0.1:5432 every test that needs
one is skipped, unless `FUSIONBOT_REQUIRE_POSTGRES=1` (CI), which makes that a failure."""

from __future__ import annotations

import asyncio
import os
import tomllib
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest

from bot.core.store import ContextBudget, DrawUsage, ImageGeneration, MigrationError, StoreError
from bot.core.store.migrations import discover_migrations
from bot.core.store.postgresql import PostgresStore, redacted_dsn
from bot.core.store.sqlite import SQLiteStore

TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
NO_SERVER = "no PostgreSQL on 127.0.0.1:5432"
BUDGET = ContextBudget()


async def _unreachable(url: str) -> str | None:
    """None when the server answers within 2 s, else why not."""
    try:
        conn = await asyncpg.connect(url, timeout=2)
    except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as error:
        return f"{type(error).__name__}: {error}"
    await conn.close()
    return None


@pytest.fixture(scope="module")
def server() -> str:
    """The test database's URL, checked once per module; skips without a server (fails under
    FUSIONBOT_REQUIRE_POSTGRES=1, so that CI cannot pass without these tests)."""
    why = asyncio.run(_unreachable(TEST_DATABASE_URL))
    if why is not None:
        if os.environ.get("FUSIONBOT_REQUIRE_POSTGRES") == "1":
            pytest.fail(f"{NO_SERVER} ({why}), and FUSIONBOT_REQUIRE_POSTGRES=1")
        pytest.skip(NO_SERVER)
    return TEST_DATABASE_URL


@pytest.fixture
async def schema(server: str) -> AsyncIterator[str]:
    """A fresh, uniquely named schema for the test, dropped afterwards."""
    name = f"fusionbot_test_{uuid.uuid4().hex[:12]}"
    conn = await asyncpg.connect(server)
    try:
        await conn.execute(f"CREATE SCHEMA {name}")
        yield name
    finally:
        await conn.execute(f"DROP SCHEMA IF EXISTS {name} CASCADE")
        await conn.close()


@pytest.fixture
def dsn(server: str, schema: str) -> str:
    """The test's schema as a URL: asyncpg hands `search_path` in the query to the server as a setting."""
    return f"{server}?search_path={schema}"


@pytest.fixture
async def admin(dsn: str) -> AsyncIterator[asyncpg.Connection]:
    """A plain connection to the test's schema, for writing what the store would not."""
    conn = await asyncpg.connect(dsn)
    yield conn
    await conn.close()


@pytest.fixture
async def store(dsn: str) -> AsyncIterator[PostgresStore]:
    async with await PostgresStore.open(dsn) as opened:
        yield opened


# --- the password is a secret (no server needed) -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("dsn", "shown"),
    [
        ("postgresql://bot:hunter2@db:5432/fusionbot", "postgresql://bot:***@db:5432/fusionbot"),
        ("postgres://bot:p%40ss@db/fusionbot?sslmode=require", "postgres://bot:***@db/fusionbot?sslmode=require"),
        (
            "postgresql://bot@db/fusionbot?password=hunter2&sslmode=a",
            "postgresql://bot@db/fusionbot?password=***&sslmode=a",
        ),
        ("postgresql://bot@db/fusionbot", "postgresql://bot@db/fusionbot"),
        ("postgresql://db/fusionbot", "postgresql://db/fusionbot"),
    ],
)
def test_the_dsn_is_shown_without_its_password(dsn: str, shown: str) -> None:
    assert redacted_dsn(dsn) == shown


async def test_a_server_that_does_not_answer_is_a_store_error_without_the_password() -> None:
    with pytest.raises(StoreError) as raised:
        await PostgresStore.open("postgresql://bot:s3cr%40t-pw@127.0.0.1:1/fusionbot")
    message = str(raised.value)
    assert "s3cr" not in message and "127.0.0.1:1" in message and "bot:***@" in message
    assert raised.value.__cause__ is None and raised.value.__suppress_context__


async def test_a_database_refusing_the_connection_is_a_store_error_without_the_password(server: str) -> None:
    url = server.replace("postgres@", "postgres:s3cr%40t-pw@").rsplit("/", 1)[0] + "/no_such_database_fusionbot"
    with pytest.raises(StoreError) as raised:
        await PostgresStore.open(url)
    message = str(raised.value)
    assert "no_such_database_fusionbot" in message and "s3cr" not in message


def test_the_postgresql_migrations_ship_with_the_package() -> None:
    assert [migration.name for migration in discover_migrations(dialect="postgresql")][:2] == ["initial", "turn_guild"]
    package_data = tomllib.loads((Path(__file__).resolve().parents[2] / "pyproject.toml").read_text())
    assert package_data["tool"]["setuptools"]["package-data"]["migrations.postgresql"] == ["*.sql"]


# --- migrations -------------------------------------------------------------------------------------------------


async def test_four_processes_starting_at_once_apply_each_migration_once(dsn: str, admin: asyncpg.Connection) -> None:
    stores = await asyncio.gather(*(PostgresStore.open(dsn, pool_size=2) for _ in range(4)))
    for opened in stores:
        await opened.close()
    rows = await admin.fetch("SELECT version FROM schema_migrations ORDER BY version")
    assert [row[0] for row in rows] == [migration.version for migration in discover_migrations(dialect="postgresql")]


async def test_a_database_newer_than_the_code_is_refused(dsn: str, admin: asyncpg.Connection) -> None:
    async with await PostgresStore.open(dsn):
        pass
    await admin.execute("INSERT INTO schema_migrations (version, name, applied_at) VALUES (999, 'future', 0)")
    with pytest.raises(StoreError, match="newer than this version"):
        await PostgresStore.open(dsn)


async def test_a_failed_migration_is_rolled_back_whole(dsn: str, admin: asyncpg.Connection, tmp_path: Path) -> None:
    (tmp_path / "0001_initial.sql").write_text("CREATE TABLE kept_out (x INTEGER); SELECT no_such_column;")
    with pytest.raises(MigrationError, match=r"0001_initial\.sql failed and was rolled back"):
        await PostgresStore.open(dsn, migrations=discover_migrations(tmp_path))
    assert await admin.fetchval("SELECT to_regclass('kept_out')") is None
    assert await admin.fetchval("SELECT COUNT(*) FROM schema_migrations") == 0


# --- conversations ----------------------------------------------------------------------------------------------


async def test_questions_asked_at_once_each_keep_their_answer_next_to_them(store: PostgresStore) -> None:
    exchanges = await asyncio.gather(
        *(store.start_exchange(7, f"q{n}", BUDGET, author_id=n, author_name=f"u{n}") for n in range(1, 11))
    )
    turns = await store.turns(7)
    assert [turn.role for turn in turns] == ["user", "assistant"] * 10
    for question, answer in zip(turns[::2], turns[1::2], strict=True):
        assert answer.id == question.id + 1
        assert await store.asker_of(answer.id) == question.author_id
    for exchange in exchanges:
        assert exchange.messages[-1].content == (await store.turn(exchange.question_id)).content  # type: ignore[union-attr]
    assert {turn.id for turn in await store.answers_being_written()} == {exchange.answer_id for exchange in exchanges}


async def test_two_stores_on_one_database_interleave_whole_exchanges(dsn: str) -> None:
    async with await PostgresStore.open(dsn) as first, await PostgresStore.open(dsn) as second:
        await asyncio.gather(first.start_exchange(3, "from one", BUDGET), second.start_exchange(3, "from two", BUDGET))
        roles = [turn.role for turn in await first.turns(3)]
    assert roles == ["user", "assistant", "user", "assistant"]


TURNS = [
    ("user", "hello there, how are you today?"),
    ("assistant", "fine, thanks " * 30),
    ("user", "一二三四五六七八九十"),
    ("assistant", ""),  # an empty answer: the exchange is not sent back
    ("user", "and now?"),
    ("assistant", "now this " * 5),
    ("user", "last one"),
    ("assistant", "ok"),
]


async def _fill(store: SQLiteStore | PostgresStore) -> None:
    for role, content in TURNS:
        await store.append_turn(5, role, content, author_name="Ann" if role == "user" else None)  # type: ignore[arg-type]
    await store.append_turn(5, "assistant", "cut off", complete=False)


@pytest.mark.parametrize(
    "budget", [ContextBudget(), ContextBudget(4, 4000), ContextBudget(40, 60), ContextBudget(3, 30)]
)
async def test_the_context_is_trimmed_as_sqlite_trims_it(
    store: PostgresStore, tmp_path: Path, budget: ContextBudget
) -> None:
    async with await SQLiteStore.open(tmp_path / "bot.sqlite3") as sqlite:
        await _fill(sqlite)
        expected = await sqlite.start_exchange(5, "the question", budget, name_speakers=True)
    await _fill(store)
    exchange = await store.start_exchange(5, "the question", budget, name_speakers=True)
    assert exchange.messages == expected.messages
    assert await store.context(5, budget, name_speakers=True, before_turn=exchange.answer_id) == exchange.messages


async def test_reset_update_and_the_channel_switch(store: PostgresStore) -> None:
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


async def test_hostile_rows_are_read_as_empty_or_skipped(store: PostgresStore, admin: asyncpg.Connection) -> None:
    await admin.execute("ALTER TABLE conversation_turns DROP CONSTRAINT conversation_turns_role_check")
    await admin.execute("ALTER TABLE conversation_turns DROP CONSTRAINT conversation_turns_tokens_check")
    await admin.executemany(
        "INSERT INTO conversation_turns (channel_id, role, content, tokens, message_ids, request_options, complete, "
        "created_at, updated_at) VALUES (1, $1, $2, $3, $4, $5, TRUE, 0, 0)",
        [
            ("user", "q1", 5, '"not a list"', "[1, 2]"),
            ("assistant", "a1", 5, '[1, "2"]', '"text"'),
            ("system", "obey", 5, "[]", "{}"),
            ("user", "q4", -3, "[7, 8]", '{"top_p": 0.5}'),
            ("assistant", "a4", -3, "null", "null"),
        ],
    )
    await admin.execute("INSERT INTO guilds (guild_id, defaults, updated_at) VALUES (2, '[1]', 0)")
    turns = await store.turns(1)
    assert [turn.message_ids for turn in turns] == [(), (), (), (7, 8), ()]
    assert [turn.request_options for turn in turns] == [{}, {}, {}, {"top_p": 0.5}, {}]
    exchange = await store.start_exchange(1, "q5", BUDGET)
    assert [message.content for message in exchange.messages] == ["q1", "a1", "q4", "a4", "q5"]
    assert (await store.server_settings(2)).defaults == {}


# --- servers, pictures and usage ----------------------------------------------------------------------------------


async def test_server_controls(store: PostgresStore) -> None:
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


async def test_picture_records_keep_their_parameters_and_crashes_are_repaired(store: PostgresStore) -> None:
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


async def test_usage_per_user_kind_and_server(store: PostgresStore) -> None:
    await store.record_usage(1, "chat", guild_id=5, at=10.0)
    await store.record_usage(1, "chat", at=20.0)
    await store.record_usage(1, "draw", guild_id=5, tokens=3, at=30.0)
    assert await store.latest_use(1, "chat", guild_id=5) == 10.0
    assert await store.latest_use(1, "chat", guild_id=None) == 20.0
    assert await store.latest_use(2, "chat", guild_id=None) is None
    assert await store.usage_since(1, "chat", 15.0) == (1, 20.0)
    assert await store.usage_since(1, "chat", 0.0) == (2, 20.0)


# --- locks among processes ---------------------------------------------------------------------------------------


async def test_a_named_lock_is_held_by_one_process_and_let_go_when_that_process_dies(dsn: str) -> None:
    name = f"test-lock-{uuid.uuid4().hex}"  # advisory locks belong to the database, not to the test's schema
    holder, other = await PostgresStore.open(dsn), await PostgresStore.open(dsn)
    try:
        held = holder.exclusive(name)
        await held.__aenter__()
        with pytest.raises(StoreError, match="was held for more than 0 s"):
            async with other.exclusive(name, max_wait=0.2):
                pass
        holder.pool.terminate()  # the process dies holding the lock: its connections end
        async with other.exclusive(name, max_wait=5):
            pass
    finally:
        await other.close()
