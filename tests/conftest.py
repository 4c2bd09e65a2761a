"""Fixtures shared by every test: no test reads the developer's `.env` or environment settings; an emulator on
127.0.0.1 and an HTTP session for the tests that ask for them."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable

import aiohttp
import pytest

from bot.config import Settings
from bot.runtime import new_event_loop
from tests.emulator_server import EmulatorServer, serve_emulator


@pytest.fixture(autouse=True)
def _isolated_settings(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    """Run in an empty directory (no `.env`) with no setting inherited from the environment."""
    for name in Settings.model_fields:
        monkeypatch.delenv(name.upper(), raising=False)
    monkeypatch.chdir(tmp_path_factory.mktemp("cwd"))
    assert not os.path.exists(".env")


def pytest_asyncio_loop_factories(config: pytest.Config, item: pytest.Item) -> dict[str, Callable[[], object]]:
    """Every test runs on the event loop the application runs on."""
    return {"loop": new_event_loop}


@pytest.fixture
async def emulator() -> AsyncIterator[EmulatorServer]:
    async with serve_emulator() as server:
        yield server


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as client:
        yield client
