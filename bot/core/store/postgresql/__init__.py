"""The PostgreSQL backend of the store (asyncpg): one database shared by several processes.

`pool.py` holds its connection policy (a pool, a command timeout, a lock per channel, the DSN's password kept out of
messages); `turns.py`, `pictures.py` and `servers.py` the parts of `PostgresStore` (`store.py`) on that pool;
`migrate.py` applies `migrations/postgresql/` under an advisory lock. The types and rules it shares with the SQLite
backend are in `bot.core.store.contract`, `records`, `context` and `rows`.
"""

from bot.core.store.postgresql.pool import COMMAND_TIMEOUT, dsn_passwords, redacted_dsn
from bot.core.store.postgresql.store import PostgresStore

__all__ = ["COMMAND_TIMEOUT", "PostgresStore", "dsn_passwords", "redacted_dsn"]
