"""The fusion client's tests: an emulator on 127.0.0.1 and an HTTP session for each test."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest

from tests.emulator_server import EmulatorServer, serve_emulator


@pytest.fixture
async def emulator() -> AsyncIterator[EmulatorServer]:
    async with serve_emulator() as server:
        yield server


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as client:
        yield client
