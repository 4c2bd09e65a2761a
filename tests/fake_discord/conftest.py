"""Fixtures of the fake's own tests."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.fake_discord import FakeDiscord


@pytest.fixture
async def fake() -> AsyncIterator[FakeDiscord]:
    """A started fake Discord with its default world; the test fails if the fake itself hit a bug."""
    async with FakeDiscord() as server:
        yield server
        assert server.stats.internal_errors == []
