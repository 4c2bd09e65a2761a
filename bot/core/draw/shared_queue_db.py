"""The database side of the shared picture queue (`bot.core.draw.shared_queue`): its statements, on the
`picture_queue` table and its `picture_queue_live` view (migrations/postgresql/0003_picture_queue.sql), and what
becomes of a failure of the database.

Advisory lock keys and the channel carry the schema (`current_schema()`): advisory locks and channels are the
database's, and deployments (or tests) in different schemas of one database must not meet.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, suppress

import asyncpg

from bot.core.draw.queue import DrawRefusedError
from bot.core.draw.service import UNEXPECTED

STATEMENT_TIMEOUT = 30.0  # seconds for one statement (or to get a connection from the pool)
DB_ERRORS = (asyncpg.PostgresError, asyncpg.InterfaceError, OSError, TimeoutError)

OWNER = (
    "SELECT pid, backend_start, 'fusionbot_draw_queue:' || md5(current_schema()) "
    "FROM pg_stat_activity WHERE pid = pg_backend_pid()"
)
QUEUE_LOCK = "SELECT pg_advisory_xact_lock($1, hashtext(current_schema()))"
USER_LOCK = "SELECT pg_advisory_lock($1, hashtext(current_schema() || ':' || $2::bigint::text))"
USER_UNLOCK = "SELECT pg_advisory_unlock($1, hashtext(current_schema() || ':' || $2::bigint::text))"
NOTIFY = "SELECT pg_notify($1, '')"
FORGET_DEAD = (
    "DELETE FROM picture_queue WHERE generation_id NOT IN (SELECT generation_id FROM picture_queue_live) "
    "AND generation_id <> ALL($1::bigint[])"  # never this process's own, which it may be re-owning
)
DELETE = "DELETE FROM picture_queue WHERE generation_id = ANY($1::bigint[])"
ROOM = "SELECT count(*) FILTER (WHERE user_id = $1) > 0, count(*) FROM {table} WHERE state = 'waiting'"
HELD_BY = "SELECT count(*) FROM picture_queue_live WHERE user_id = $1"
# A new row, or an existing one taken over by this owner (its row written back if another process forgot it).
PUT = """
INSERT INTO picture_queue
    (generation_id, user_id, guild_id, server, prompt, user_name, owner_pid, owner_started, state, started_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, CASE WHEN $9 = 'drawing' THEN extract(epoch FROM clock_timestamp()) END)
ON CONFLICT (generation_id) DO UPDATE SET owner_pid = excluded.owner_pid, owner_started = excluded.owner_started
WHERE (picture_queue.owner_pid, picture_queue.owner_started) <> (excluded.owner_pid, excluded.owner_started)
"""
# The waiting rows that fit, in line order: the n-th waiting of a server fits if its server draws fewer than
# `per_server - n + 1`; of those, as many as there are turns free in all. `DrawQueue`'s greedy walk, at once.
GRANT = """
WITH busy AS (
    SELECT server, count(*) AS drawing FROM picture_queue WHERE state = 'drawing' GROUP BY server
), ranked AS (
    SELECT w.generation_id, w.position,
           COALESCE(b.drawing, 0) + row_number() OVER (PARTITION BY w.server ORDER BY w.position) AS nth
    FROM picture_queue AS w LEFT JOIN busy AS b USING (server)
    WHERE w.state = 'waiting'
), fitting AS (
    SELECT generation_id FROM ranked WHERE nth <= $2::int ORDER BY position
    LIMIT GREATEST($1::int - (SELECT count(*) FROM picture_queue WHERE state = 'drawing'), 0)
)
UPDATE picture_queue SET state = 'drawing', started_at = extract(epoch FROM clock_timestamp())
WHERE generation_id IN (SELECT generation_id FROM fitting)
RETURNING generation_id
"""
# Some tickets' states, and for the waiting ones their place in the whole line and its length.
PLACES = """
WITH line AS (
    SELECT generation_id, row_number() OVER (ORDER BY position) AS place FROM picture_queue_live
    WHERE state = 'waiting'
)
SELECT q.generation_id, q.state, l.place, (SELECT count(*) FROM line) AS waiting
FROM picture_queue AS q LEFT JOIN line AS l USING (generation_id)
WHERE q.generation_id = ANY($1::bigint[])
"""
SNAPSHOT = (
    "SELECT generation_id, user_id, guild_id, prompt, user_name, state FROM picture_queue_live "
    "ORDER BY state = 'waiting', started_at, position"
)


class QueueUnavailableError(DrawRefusedError):
    """The shared queue cannot reach its database: the user reads that something went wrong, `str()` says what."""

    @property
    def user_message(self) -> str:
        return UNEXPECTED


@contextmanager
def unavailable(doing: str) -> Iterator[None]:
    """Database failures while `doing` become `QueueUnavailableError`s, shown as "something went wrong"."""
    try:
        yield
    except DB_ERRORS as error:
        raise QueueUnavailableError(f"the shared picture queue failed {doing}: {describe(error)}") from error


def terminate(conn: asyncpg.Connection | None) -> None:
    """Close a connection at once (it goes back to the pool as closed), unless it already is."""
    if conn is not None:
        with suppress(asyncpg.InterfaceError):  # already closed and released
            conn.terminate()


def describe(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
