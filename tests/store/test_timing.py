"""Each store operation reports its name and duration to the store's `on_operation` (the metrics), on every
backend, failing ones too; without an observer nothing is reported."""

from __future__ import annotations

import pytest

from bot.core.store import StoreBackend
from tests.store.conftest import BackendDatabase


async def test_each_operation_reports_its_time(store: StoreBackend) -> None:
    seen: list[tuple[str, float]] = []
    store.on_operation = lambda name, seconds: seen.append((name, seconds))

    await store.set_state("key", "value")
    assert await store.state("key") == "value"

    assert [name for name, _ in seen] == ["set_state", "state"]
    assert all(seconds >= 0 for _, seconds in seen)


async def test_a_failing_operation_is_timed_too(backend: BackendDatabase) -> None:
    seen: list[str] = []
    async with backend.open() as store:
        store.on_operation = lambda name, seconds: seen.append(name)
    with pytest.raises(Exception):  # noqa: B017  (whatever the closed backend raises: it is timed)
        await store.state("key")
    assert seen == ["close", "state"]
