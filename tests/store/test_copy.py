"""`python -m bot store copy`: a whole SQLite store copied into PostgreSQL (each test in a schema of its own: `dsn`
and `admin` of `conftest.py`; skipped without a server unless FUSIONBOT_REQUIRE_POSTGRES=1) is served alike there,
and the command fails in one line that never shows the password."""

from __future__ import annotations

import argparse
import asyncio
import io
import sqlite3
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import asyncpg
import pytest

from bot import store_cli
from bot.core.store import ChatQuota, ContextBudget, ImageGeneration, PostgresStore, SpentTokens, SQLiteStore
from bot.core.store.copy import CopyError, CopyReport, CountsDiffer, TableCount, TargetNotEmpty, copy_store, parse_url
from bot.core.store.migrations import discover_migrations
from bot.store_cli import (
    EXIT_BAD_ARGUMENTS,
    EXIT_COUNTS_DIFFER,
    EXIT_STORE_ERROR,
    EXIT_TARGET_NOT_EMPTY,
    ProgressLine,
    add_store_commands,
    run_store_command,
)

ROOT = Path(__file__).resolve().parents[2]
BUDGET = ContextBudget()
SMALL = ContextBudget(max_messages=4, max_tokens=4000)
DATA_TABLES = {
    *("bot_state", "channels", "conversation_turns", "guilds", "guild_allowed_channels", "guild_allowed_roles"),
    *("image_generations", "usage_events"),
    *("chat_usage", "guild_chat_quotas"),
}
CHANNELS = (1, 2, 3, 0)


async def fill(path: Path) -> None:
    """A store with something in every table, through its own API: three channels and the console, one reset."""
    async with await SQLiteStore.open(path) as store:
        for channel in CHANNELS:
            for n in range(4):
                question = f"question {n} in {channel}"
                options = {"temperature": 0.5}
                exchange = await store.start_exchange(
                    channel, question, BUDGET, author_id=10 + n, author_name=f"user{n}", request_options=options
                )
                await store.update_turn(
                    exchange.answer_id, content=f"answer {n}", complete=n != 2, message_ids=[900 + n], writing=False
                )
        await store.reset(2)
        await store.append_turn(2, "user", "after the reset", author_name="late")
        await store.set_conversations_enabled(1, True, guild_id=7)
        await store.set_allowed(7, "channels", 1, True)
        await store.set_allowed(7, "roles", 70, True)
        await store.update_server_defaults(7, {"model": "m", "temperature": 0.3})
        await store.set_chat_cooldown(7, 2.5)
        picture = await store.add_generation(
            ImageGeneration(channel_id=1, user_id=10, prompt="a cat", model="m", size="512x512", seed=2**40, scale=7)
        )
        await store.start_generation(picture)
        await store.finish_generation(picture, "done", message_id=77)
        await store.add_generation(
            ImageGeneration(channel_id=1, user_id=11, prompt="a dog", model="m", size="512x512", seed=1, scale=7)
        )
        await store.record_usage(10, "chat", guild_id=7, tokens=12, at=100.0)
        await store.record_usage(10, "draw", at=200.0)
        await store.record_chat_tokens(SpentTokens(10, 7, 120, answer_id=2, at=100.0))
        await store.record_chat_tokens(SpentTokens(11, None, 30, estimated=True, at=200.0))
        await store.set_chat_quota(7, ChatQuota(per_member=500, per_server=9000))
        await store.set_state("command_tree_hash", "abc")
    write_raw(
        path,
        "INSERT INTO conversation_turns (channel_id, role, content, tokens, message_ids, request_options, complete, "
        "created_at, updated_at) VALUES (3, 'user', 'hostile', 2, '{broken', 'not json', 1, 0, 0)",
    )
    write_raw(path, "UPDATE guilds SET defaults = '[1,' WHERE guild_id = 7")


def write_raw(path: Path, sql: str) -> None:
    """Write past the store and the schema's checks, as a hand edit or an older version may have."""
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA ignore_check_constraints = ON")
        conn.execute(sql)
    conn.close()


def sqlite_counts(path: Path) -> dict[str, int]:
    with sqlite3.connect(path) as conn:
        return {table: conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0] for table in DATA_TABLES}


async def pg_counts(conn: asyncpg.Connection) -> dict[str, int]:
    return {table: await conn.fetchval(f"SELECT COUNT(*) FROM {table}") for table in DATA_TABLES}


async def served(store: SQLiteStore | PostgresStore) -> dict[str, object]:
    """What the store serves of everything `fill` stored."""
    contexts = [
        await store.context(channel, budget, name_speakers=True) for channel in CHANNELS for budget in (BUDGET, SMALL)
    ]
    return {
        "contexts": contexts,
        "turns": [await store.turns(channel) for channel in CHANNELS],
        "since_reset": await store.turns(2, since_reset=True),
        "switch": [await store.conversations_enabled(channel) for channel in CHANNELS],
        "settings": await store.server_settings(7),
        "pictures": [await store.generation(picture) for picture in (1, 2)],
        "usage": [await store.usage_since(10, kind, 0) for kind in ("chat", "draw")],
        "chat usage": [await store.usage_totals(guild, 0, 150.0) for guild in (7, None)],
        "top members": await store.top_chat_members(7, 0, 150.0),
        "quota": await store.chat_quota(7),
        "state": await store.state("command_tree_hash"),
    }


def with_password(url: str) -> tuple[str, str]:
    """The URL with a password (trust authentication ignores it), and that password."""
    parts = urlsplit(url)
    if parts.password:
        return url, parts.password
    password = "s3cr3t-pw-for-copy"
    netloc = f"{parts.username or 'postgres'}:{password}@{parts.netloc.rpartition('@')[2]}"
    return parts._replace(netloc=netloc).geturl(), password


def command(*argv: str) -> argparse.Namespace:
    """The arguments as `python -m bot` parses them, `store` added as `bot/__main__.py` adds it."""
    parser = argparse.ArgumentParser(prog="python -m bot")
    add_store_commands(parser.add_subparsers(dest="command"))
    return parser.parse_args(["store", "copy", *argv])


async def run_command(*argv: str) -> int:
    """The command run as `main` runs it, on an event loop of its own (in a thread, beside the test's loop)."""
    return await asyncio.to_thread(run_store_command, command(*argv))


@pytest.fixture
async def source(tmp_path: Path) -> Path:
    path = tmp_path / "fusionbot.sqlite3"
    await fill(path)
    return path


# --- the copy ---------------------------------------------------------------------------------------------------


async def test_everything_is_copied_and_served_alike(
    source: Path, dsn: str, admin: asyncpg.Connection, capsys: pytest.CaptureFixture[str]
) -> None:
    async with await SQLiteStore.open(source) as sqlite:
        expected = await served(sqlite)
    url, password = with_password(dsn)
    assert await run_command("--from", f"sqlite:///{source}", "--to", url) == 0
    out, err = capsys.readouterr()
    assert password not in out + err and ":***@" in out
    assert "conversation_turns: 34 rows copied" in err and "every table holds as many rows" in out
    assert "conversation_turns.message_ids: 1 value(s) not valid JSON, stored as []" in out
    assert "conversation_turns.request_options: 1 value(s) not valid JSON, stored as {}" in out
    assert "guilds.defaults: 1 value(s) not valid JSON, stored as {}" in out

    counts = sqlite_counts(source)
    assert await pg_counts(admin) == counts and all(counts.values())
    with sqlite3.connect(source) as conn:
        query = "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
        tables = {row[0] for row in conn.execute(query)}
    conn.close()
    assert tables - {"schema_migrations"} == DATA_TABLES  # a new table: fill it in `fill`, name it in DATA_TABLES
    async with await PostgresStore.open(dsn) as postgres:
        assert await served(postgres) == expected
        largest = await admin.fetchval("SELECT MAX(id) FROM conversation_turns")
        assert largest == max(turn.id for turns in expected["turns"] for turn in turns)  # type: ignore[attr-defined]
        assert await postgres.append_turn(1, "user", "new in PostgreSQL") == largest + 1
        picture = ImageGeneration(channel_id=1, user_id=2, prompt="p", model="m", size="1x1", seed=1, scale=1)
        assert await postgres.add_generation(picture) == 3
        estimated = await admin.fetch("SELECT user_id, estimated FROM chat_usage ORDER BY id")
        assert [tuple(row) for row in estimated] == [(10, False), (11, True)]


async def test_a_target_holding_rows_is_refused_unless_replaced_in_one_transaction(
    source: Path, dsn: str, admin: asyncpg.Connection, capsys: pytest.CaptureFixture[str]
) -> None:
    await copy_store(parse_url(f"sqlite:///{source}"), parse_url(dsn))
    async with await SQLiteStore.open(source) as sqlite:
        await sqlite.append_turn(1, "user", "one more")
    url, password = with_password(dsn)
    assert await run_command("--from", f"sqlite:///{source}", "--to", url, "--quiet") == EXIT_TARGET_NOT_EMPTY
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1 and password not in err
    assert (
        "already holds data: bot_state (1 row), channels (2 rows), chat_usage (2 rows), conversation_turns (34 rows),"
        in err
    )
    assert "--replace" in err and await admin.fetchval("SELECT COUNT(*) FROM conversation_turns") == 34

    write_raw(source, "INSERT INTO guilds (guild_id, updated_at) VALUES (8, 0)")
    write_raw(source, "INSERT INTO guild_allowed_roles (guild_id, role_id) VALUES (8, 80)")
    assert await run_command("--from", f"sqlite:///{source}", "--to", url, "--replace", "--batch-size", "7") == 0
    out, err = capsys.readouterr()
    assert "the target's earlier rows were deleted first" in out and password not in out + err
    assert await pg_counts(admin) == sqlite_counts(source)

    write_raw(source, "UPDATE conversation_turns SET role = 'system' WHERE content = 'one more'")
    with pytest.raises(CopyError, match="copying conversation_turns failed, nothing was committed"):
        await copy_store(parse_url(f"sqlite:///{source}"), parse_url(dsn), replace=True)
    assert await pg_counts(admin) == sqlite_counts(source)  # the earlier copy, whole
    with pytest.raises(TargetNotEmpty) as refused:
        await copy_store(parse_url(f"sqlite:///{source}"), parse_url(dsn))
    assert refused.value.counts["guild_allowed_roles"] == 2


async def test_an_older_source_is_migrated_first_and_said_so(
    tmp_path: Path, dsn: str, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "old.sqlite3"
    migrations = discover_migrations(dialect="sqlite")
    async with await SQLiteStore.open(path, migrations=migrations[:3]):
        pass
    write_raw(
        path,
        "INSERT INTO conversation_turns (channel_id, role, content, tokens, created_at, updated_at) "
        "VALUES (5, 'user', 'from long ago', 3, 0, 0)",
    )
    assert await run_command("--from", f"sqlite:///{path}", "--to", dsn) == 0
    out, _ = capsys.readouterr()
    assert f"the source was at schema version 3; it was migrated to version {len(migrations)} first" in out
    async with await PostgresStore.open(dsn) as postgres:
        assert [turn.content for turn in await postgres.turns(5)] == ["from long ago"]


async def test_postgresql_copies_back_to_sqlite(source: Path, dsn: str, tmp_path: Path) -> None:
    await copy_store(parse_url(f"sqlite:///{source}"), parse_url(dsn))
    back = tmp_path / "back" / "fusionbot.sqlite3"
    report = await copy_store(parse_url(dsn), parse_url(f"sqlite:///{back}"))
    assert report.matches and report.repairs == ()
    async with await SQLiteStore.open(source) as original, await SQLiteStore.open(back) as copied:
        assert await served(copied) == await served(original)


# --- failures: one line, no password ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source_url", "target_url", "said"),
    [
        ("mysql://bot:hunter2@db/fusionbot", "sqlite:///t.db", "--from is not a database URL: expected sqlite:///"),
        ("sqlite:///", "sqlite:///t.db", "--from is not a database URL"),
        ("data/fusionbot.sqlite3", "sqlite:///t.db", "--from is not a database URL"),
        ("sqlite:///s.db", "postgresql:hunter2@db", "--to is not a database URL"),
        ("sqlite:///no/such/file.sqlite3", "postgresql://bot:hunter2@db/x", "the source database no/such/file"),
        ("sqlite:///same.db", "sqlite:///./same.db", "both the source and the target"),
    ],
)
def test_bad_urls_are_one_line(source_url: str, target_url: str, said: str, capsys: pytest.CaptureFixture[str]) -> None:
    Path("same.db").touch()
    assert run_store_command(command("--from", source_url, "--to", target_url)) == EXIT_BAD_ARGUMENTS
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1 and said in err and "hunter2" not in err
    assert not Path("t.db").exists()


def test_an_unreachable_target_is_one_line_without_the_password(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "s.sqlite3"
    asyncio.run(fill(path))
    target = "postgresql://bot:s3cr%40t-pw@127.0.0.1:1/fusionbot"
    assert run_store_command(command("--from", f"sqlite:///{path}", "--to", target)) == EXIT_STORE_ERROR
    _, err = capsys.readouterr()
    assert err.count("\n") == 1 and "127.0.0.1:1" in err and "bot:***@" in err
    assert "s3cr" not in err and "Traceback" not in err


def test_the_command_in_its_own_process_fails_in_one_line(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite3"
    asyncio.run(fill(path))
    program = (
        "import argparse, sys; from bot.store_cli import add_store_commands, run_store_command; "
        "p = argparse.ArgumentParser(); add_store_commands(p.add_subparsers(dest='command')); "
        "sys.exit(run_store_command(p.parse_args(sys.argv[1:])))"
    )
    target = "postgresql://bot:s3cr3t-pw@127.0.0.1:1/fusionbot"
    argv = [sys.executable, "-c", program, "store", "copy", "--from", f"sqlite:///{path}", "--to", target]
    result = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == EXIT_STORE_ERROR and result.stdout == ""
    assert result.stderr.count("\n") == 1 and "s3cr3t" not in result.stderr


def test_python_m_bot_offers_the_command() -> None:
    argv = [sys.executable, "-m", "bot", "store", "copy", "--help"]
    result = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=60, check=False)
    if "invalid choice: 'store'" in result.stderr:
        pytest.skip("bot/__main__.py does not offer `store` yet")
    assert result.returncode == 0 and "--replace" in result.stdout


def test_counts_that_differ_are_shown_and_fail(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    counts = (TableCount("guilds", 2, 2), TableCount("conversation_turns", 1200, 1199))
    report = CopyReport("sqlite:///a.db", "postgresql://bot:***@db/x", counts)

    async def differing(*args: object, **kwargs: object) -> CopyReport:
        raise CountsDiffer(report)

    monkeypatch.setattr(store_cli, "copy_store", differing)
    status = run_store_command(command("--from", "sqlite:///a.db", "--to", "postgresql://bot:pw@db/x"))
    out, err = capsys.readouterr()
    assert status == EXIT_COUNTS_DIFFER and err.count("\n") == 1
    assert "conversation_turns         1,200         1,199  differs" in out and "every table" not in out
    assert "row counts differ after the copy (conversation_turns); nothing was committed to the target" in err


# --- progress -------------------------------------------------------------------------------------------------------


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_is_a_line_per_table_updated_in_place_on_a_terminal() -> None:
    terminal = Terminal()
    progress = ProgressLine(terminal)
    for done in (0, 5000, 10000, 12000):
        progress("conversation_turns", done, 12000)
    progress("usage_events", 0, 0)
    lines = terminal.getvalue().split("\n")
    assert lines[0].count("\r") == 4 and lines[0].endswith("12,000 / 12,000 rows")
    assert "[" + "#" * 10 + "." * 14 + "]" in lines[0] and lines[1].startswith("\rusage_events") and lines[2] == ""


def test_progress_is_plain_lines_elsewhere() -> None:
    log = io.StringIO()
    progress = ProgressLine(log, every=10000)
    for done in (0, 5000, 10000, 15000, 20000, 25000, 25001):
        progress("conversation_turns", done, 25001)
    progress("bot_state", 0, 1)
    progress("bot_state", 1, 1)
    assert log.getvalue().splitlines() == [
        "conversation_turns: 10,000 of 25,001 rows",
        "conversation_turns: 20,000 of 25,001 rows",
        "conversation_turns: 25,001 rows copied",
        "bot_state: 1 row copied",
    ]
