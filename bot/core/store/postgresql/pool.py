"""PostgreSQL's connection policy, shared by every part of the PostgreSQL store.

A pool of connections (each operation takes one for its length, so operations run side by side), a command
timeout, and PostgreSQL's default durability (`synchronous_commit = on`: a write that returned is on disk). What
SQLite gets from its one lock, the ordering of a channel's turns, comes here from a transaction-scoped advisory lock
per channel (`_channel_transaction`). The DSN's password is a secret: `redacted_dsn` and `scrubbed` keep it out of
every message.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from urllib.parse import unquote, urlsplit

import asyncpg

COMMAND_TIMEOUT = 30.0  # seconds for one statement, then asyncpg raises TimeoutError
CHANNEL_LOCK_CLASS = 0x46420001  # the first key of a channel's advisory lock (two-key space: never a migration's)
NAMED_LOCK_CLASS = 0x46420002  # the first key of `exclusive`'s locks, the second being the name's hashtext
_HIDDEN = "***"


def redacted_dsn(dsn: str) -> str:
    """The DSN with its password (in the user part or a `password=` parameter) replaced by `***`."""
    try:
        parts = urlsplit(dsn)
    except ValueError:
        return "<a malformed PostgreSQL URL>"
    netloc = parts.netloc
    userinfo, at, hostinfo = netloc.rpartition("@")
    if at and ":" in userinfo:
        netloc = f"{userinfo.partition(':')[0]}:{_HIDDEN}@{hostinfo}"
    query = "&".join(
        f"{name}={_HIDDEN}" if sep and unquote(name) == "password" else f"{name}{sep}{value}"
        for name, sep, value in (item.partition("=") for item in parts.query.split("&") if parts.query)
    )
    return parts._replace(netloc=netloc, query=query).geturl()


def scrubbed(text: str, dsn: str) -> str:
    """`text` (say, a driver's error message) with the DSN's password, as written or decoded, taken out."""
    for secret in sorted(dsn_passwords(dsn), key=len, reverse=True):
        text = text.replace(secret, _HIDDEN)
    return text


def dsn_passwords(dsn: str) -> set[str]:
    """The password of a PostgreSQL URL, as written and decoded (none for a URL without one, or not PostgreSQL's),
    for redacting logs."""
    if not dsn.startswith(("postgresql://", "postgres://")):
        return set()
    try:
        parts = urlsplit(dsn)
    except ValueError:
        return {dsn}  # cannot tell where the password is: hide the whole DSN
    found = set()
    userinfo, at, _ = parts.netloc.rpartition("@")
    if at and ":" in userinfo:
        found.add(userinfo.partition(":")[2])
    for name, _, value in (item.partition("=") for item in parts.query.split("&")):
        if unquote(name) == "password":
            found.add(value)
    return {form for secret in found if secret for form in (secret, unquote(secret))}


class Pooled:
    """The pool; the base of every part of the PostgreSQL store."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    @asynccontextmanager
    async def _channel_transaction(self, channel_id: int) -> AsyncIterator[asyncpg.Connection]:
        """A transaction holding the channel's lock until it ends, so that the turns stored and read in it are the
        channel's in id order: nothing else stored in the channel comes between them."""
        async with self._pool.acquire() as conn, conn.transaction():
            await conn.execute(
                "SELECT pg_advisory_xact_lock($1, ($2::bigint % 2147483647)::integer)", CHANNEL_LOCK_CLASS, channel_id
            )
            yield conn
