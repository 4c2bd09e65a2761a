"""Each store operation timed, for the metrics: `timed_operations` decorates a backend class so that every public
coroutine method reports its name and the seconds it took to the store's `on_operation`, when one is set.

Unset (no metrics), an operation costs one attribute read more.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from typing import Any

from bot.core.store.operations import Store, wrap_operations

OperationObserver = Callable[[str, float], None]


def timed_operations(cls: Store) -> Store:
    """A class decorator: every public `async def` of the class (but `open`) is timed into `on_operation`."""
    wrap_operations(cls, _timed)
    cls.on_operation = None  # type: ignore[attr-defined]
    return cls


def _timed(method: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(method)
    async def timed(self: Any, *args: Any, **kwargs: Any) -> Any:
        observe: OperationObserver | None = self.on_operation
        if observe is None:
            return await method(self, *args, **kwargs)
        started = time.perf_counter()
        try:
            return await method(self, *args, **kwargs)
        finally:
            observe(method.__name__, time.perf_counter() - started)

    return timed
