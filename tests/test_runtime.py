"""The application's runner: its event loop and the garbage collector tuned for it."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from bot.runtime import GC_THRESHOLDS, run

PYTHON_DEFAULT_THRESHOLDS = (700, 10, 10)


@pytest.fixture
def default_collector() -> Iterator[None]:
    """Python's own collector settings for the test (an earlier test in this process may have run the application),
    then those it found."""
    thresholds = gc.get_threshold()
    gc.unfreeze()
    gc.set_threshold(*PYTHON_DEFAULT_THRESHOLDS)
    yield
    gc.set_threshold(*thresholds)


def test_the_application_runs_with_the_collector_tuned_and_its_start_frozen(default_collector: None) -> None:
    assert gc.get_freeze_count() == 0

    async def main() -> tuple[tuple[int, int, int], int]:
        return gc.get_threshold(), gc.get_freeze_count()

    thresholds, frozen = run(main())
    assert thresholds == GC_THRESHOLDS
    assert frozen > 10_000  # the modules and classes loaded before it ran: never scanned again
    gc.unfreeze()
