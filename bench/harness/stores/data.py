"""The data of `bench/store.py`: realistic turns, and a fresh database of them for each backend, filled in bulk.

SQLite: a new file, its schema made by the store itself, then one `executemany` in one transaction. PostgreSQL: a
schema of the benchmark's own (`fusionbot_bench_<random>`, named in the URL's `search_path`, so the store's
migrations create their tables there and nothing else in the database is touched), then one binary COPY
(`copy_records_to_table`) and `VACUUM ANALYZE`, as autovacuum would leave a database in use; `drop_schema` removes it.
"""

from __future__ import annotations

import random
import secrets
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, urlsplit

import asyncpg

from bot.core.store import estimate_tokens
from bot.core.store.backends import open_store

FIRST_CHANNEL_ID = 1_100_000_000_000_000_000  # Discord-sized snowflakes
FIRST_AUTHOR_ID = 900_000_000_000_000_000
TURN_COLUMNS = ("channel_id", "role", "content", "tokens", "author_id", "author_name", "created_at", "updated_at")
SCHEMA_PREFIX = "fusionbot_bench_"

ENGLISH = (
    "could you explain how this works",
    "the answer depends on the version you are running",
    "here is a short example that shows the idea",
    "thanks, that fixed the problem for me",
    "what is the difference between these two approaches",
    "in most cases the default settings are good enough",
    "remember to restart the service after changing the file",
    "a faster way is to cache the result and reuse it",
)
CHINESE = (
    "这个问题怎么解决",
    "请用简单的话解释一下",
    "我觉得第二种方法更好",
    "首先需要安装依赖然后再运行",
    "谢谢你的帮助",
    "这里有一个简单的例子",
)


@dataclass(frozen=True, slots=True)
class Text:
    content: str
    tokens: int


def realistic_text(rng: random.Random, target_chars: int) -> Text:
    """Sentences, about one in four of them Chinese, adding up to about `target_chars` characters."""
    length = rng.randint(target_chars * 3 // 4, target_chars * 5 // 4)
    content = ""
    while len(content) < length:
        sentence = rng.choice(CHINESE) + "。" if rng.random() < 0.25 else rng.choice(ENGLISH).capitalize() + "."
        longer = f"{content} {sentence}" if content else sentence
        if content and len(longer) - length > length - len(content):
            break  # stopping short is closer to the drawn length than adding this sentence
        content = longer
    return Text(content, estimate_tokens(content))


def text_pools(rng: random.Random, size: int = 500) -> tuple[list[Text], list[Text]]:
    """Questions (~80 characters) and answers (~400), with tokens estimated once per text, not once per row."""
    return [realistic_text(rng, 80) for _ in range(size)], [realistic_text(rng, 400) for _ in range(size)]


def turn_rows(channels: int, turns: int, rng: random.Random) -> Iterator[tuple[object, ...]]:
    """Rows of `TURN_COLUMNS`, channels interleaved as in a busy bot, so a channel's turns are spread out."""
    questions, answers = text_pools(rng)
    created_at = time.time() - channels * turns
    for index in range(turns):
        for channel in range(channels):
            created_at += 1.0
            if index % 2 == 0:
                text, author_id, author_name = rng.choice(questions), FIRST_AUTHOR_ID + channel, f"user{channel}"
            else:
                text, author_id, author_name = rng.choice(answers), None, None
            role = "user" if index % 2 == 0 else "assistant"
            yield (
                FIRST_CHANNEL_ID + channel,
                role,
                text.content,
                text.tokens,
                author_id,
                author_name,
                created_at,
                created_at,
            )


async def populate_sqlite(path: Path, channels: int, turns: int, rng: random.Random) -> int:
    """Create the schema through the store, then bulk-insert every turn in one transaction; return the row count."""
    store = await open_store(sqlite_url(path))
    await store.close()
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA cache_size = -262144")  # 256 MiB: the index is written in random order
        conn.execute("BEGIN")
        conn.executemany(
            f"INSERT INTO conversation_turns ({', '.join(TURN_COLUMNS)}) VALUES ({', '.join('?' * len(TURN_COLUMNS))})",
            turn_rows(channels, turns, rng),
        )
        conn.execute("COMMIT")
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return conn.execute("SELECT COUNT(*) FROM conversation_turns").fetchone()[0]
    finally:
        conn.close()


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


def sqlite_mb(path: Path) -> float:
    files = [path, path.with_name(path.name + "-wal")]
    return sum(file.stat().st_size for file in files if file.exists()) / 2**20


def new_schema_name() -> str:
    return f"{SCHEMA_PREFIX}{secrets.token_hex(4)}"


def with_search_path(url: str, schema: str) -> str:
    """The URL with `search_path=<schema>` among its parameters (asyncpg sends unknown ones as server settings)."""
    separator = "&" if urlsplit(url).query else "?"
    return f"{url}{separator}search_path={quote(schema)}"


async def create_schema(url: str, schema: str) -> None:
    await _execute(url, f'CREATE SCHEMA "{schema}"')


async def drop_schema(url: str, schema: str) -> None:
    await _execute(url, f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


async def _execute(url: str, statement: str) -> None:
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


async def populate_postgres(schema_url: str, channels: int, turns: int, rng: random.Random) -> int:
    """Create the schema's tables through the store, then COPY every turn in; return the row count."""
    store = await open_store(schema_url, pool_size=1)
    await store.close()
    conn = await asyncpg.connect(schema_url)
    try:
        await conn.copy_records_to_table(
            "conversation_turns", records=turn_rows(channels, turns, rng), columns=TURN_COLUMNS
        )
        await conn.execute("VACUUM ANALYZE conversation_turns")
        return await conn.fetchval("SELECT COUNT(*) FROM conversation_turns")
    finally:
        await conn.close()


async def postgres_info(schema_url: str, schema: str) -> tuple[str, float]:
    """The server's version and the schema's size in MB (tables, their TOAST and their indexes)."""
    conn = await asyncpg.connect(schema_url)
    try:
        version = await conn.fetchval("SHOW server_version")
        size = await conn.fetchval(
            "SELECT COALESCE(SUM(pg_total_relation_size(c.oid)), 0) FROM pg_class AS c "
            "JOIN pg_namespace AS n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relkind = 'r'",
            schema,
        )
        return version.split()[0], size / 2**20
    finally:
        await conn.close()
