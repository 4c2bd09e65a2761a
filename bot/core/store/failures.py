"""A backend's own errors become `StoreError`: what the bot catches, whichever database stands behind the store.

`raising_store_errors(errors, describe)` decorates a backend class: each of its public coroutine methods turns an
exception of `errors` (the driver's, and the OS's for a file or socket) into `StoreError` with `describe`'s
message, which must keep secrets out (the PostgreSQL backend scrubs its DSN's password). The original stays as
the cause only where the backend says its messages are safe.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from bot.core.store.contract import StoreError
from bot.core.store.operations import Store, wrap_operations


def raising_store_errors(
    errors: tuple[type[BaseException], ...], describe: Callable[[Any, BaseException], str], *, keep_cause: bool
) -> Callable[[Store], Store]:
    """A class decorator: every public `async def` of the class raises `StoreError` instead of one of `errors`.
    `describe(store, error)` gives the message."""

    def decorate(cls: Store) -> Store:
        return wrap_operations(cls, lambda method: _translated(method, errors, describe, keep_cause))

    return decorate


def _translated(
    method: Callable[..., Any],
    errors: tuple[type[BaseException], ...],
    describe: Callable[[Any, BaseException], str],
    keep_cause: bool,
) -> Callable[..., Any]:
    @functools.wraps(method)
    async def translated(self: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return await method(self, *args, **kwargs)
        except StoreError:
            raise
        except errors as error:
            raise StoreError(f"{method.__name__}: {describe(self, error)}") from (error if keep_cause else None)

    return translated
