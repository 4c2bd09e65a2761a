"""The SQLite backend of the store (aiosqlite): the embedded default, for one process.

`connection.py` holds its connection policy (WAL, `synchronous=NORMAL`, busy timeout, foreign keys, one lock);
`turns.py`, `pictures.py` and `servers.py` the parts of `SQLiteStore` (`store.py`) on that connection;
`migrate.py` applies `migrations/sqlite/`. The types and rules it shares with any other backend are in
`bot.core.store.contract`, `records`, `context` and `rows`.
"""

from bot.core.store.sqlite.connection import BUSY_TIMEOUT_MS, connect
from bot.core.store.sqlite.store import SQLiteStore

__all__ = ["BUSY_TIMEOUT_MS", "SQLiteStore", "connect"]
