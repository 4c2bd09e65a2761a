"""What a log line is about: the shard, server, channel, answer or picture of the work that wrote it.

They are context variables, set where the work starts (a gateway event's handler, `ChatService.answer`,
`DrawService.draw`) with `log_context`: every line logged inside it carries them, and so does every line of the
tasks started inside it, since a task starts with a copy of its creator's context. `bot.logs` writes them as
fields of its JSON lines (LOG_FORMAT=json).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from types import MappingProxyType

FIELDS = ("shard", "guild", "channel", "answer", "picture")
_EMPTY: Mapping[str, int] = MappingProxyType({})
_ids: ContextVar[Mapping[str, int]] = ContextVar("fusionbot_log_context", default=_EMPTY)


@contextmanager
def log_context(
    *,
    shard: int | None = None,
    guild: int | None = None,
    channel: int | None = None,
    answer: int | None = None,
    picture: int | None = None,
) -> Iterator[None]:
    """Within the block, log lines carry these ids as well as those set around it; None leaves one as it was."""
    given = {"shard": shard, "guild": guild, "channel": channel, "answer": answer, "picture": picture}
    ids = MappingProxyType({**_ids.get(), **{name: value for name, value in given.items() if value is not None}})
    token = _ids.set(ids)
    try:
        yield
    finally:
        _ids.reset(token)


def current_log_context() -> Mapping[str, int]:
    """The ids set where the current work started (empty outside any `log_context`)."""
    return _ids.get()
