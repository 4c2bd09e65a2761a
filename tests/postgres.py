"""PostgreSQL for tests: a real server (`TEST_DATABASE_URL`, by default the local `test` database), each test in a
schema of its own, dropped afterwards. Without a server answering, every test that needs one is skipped, unless
`FUSIONBOT_REQUIRE_POSTGRES=1` (CI), which makes that a failure.

Import the fixtures into a `conftest.py` (`from tests.postgres import dsn, schema, server`) to use them.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
import pytest

TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
NO_SERVER = "no PostgreSQL on 127.0.0.1:5432"


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
        pytest.skip(f"{NO_SERVER} ({why}); FUSIONBOT_REQUIRE_POSTGRES=1 makes this a failure")
    return TEST_DATABASE_URL


@asynccontextmanager
async def fresh_schema(server: str) -> AsyncIterator[str]:
    """A fresh, uniquely named schema, dropped afterwards."""
    name = f"fusionbot_test_{uuid.uuid4().hex[:12]}"
    conn = await asyncpg.connect(server)
    try:
        await conn.execute(f"CREATE SCHEMA {name}")
        yield name
    finally:
        await conn.execute(f"DROP SCHEMA IF EXISTS {name} CASCADE")
        await conn.close()


@pytest.fixture
async def schema(server: str) -> AsyncIterator[str]:
    """A fresh schema for the test, dropped afterwards."""
    async with fresh_schema(server) as name:
        yield name


@pytest.fixture
def dsn(server: str, schema: str) -> str:
    """The test's schema as a URL: asyncpg hands `search_path` in the query to the server as a setting."""
    return f"{server}?search_path={schema}"
