"""A backend's operations, the methods its class decorators wrap (`failures.raising_store_errors`,
`timing.timed_operations`): every public `async def` of the class but `open`, which makes the store."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any, TypeVar

Store = TypeVar("Store", bound=type)
Operation = Callable[..., Any]


def wrap_operations(cls: Store, wrap: Callable[[Operation], Operation]) -> Store:
    """Replace each operation of `cls` by `wrap(operation)`; return the class."""
    for name, method in inspect.getmembers(cls, inspect.iscoroutinefunction):
        if not name.startswith("_") and name != "open":
            setattr(cls, name, wrap(method))
    return cls
