"""The store's former module, kept importable for those who still name it (`bot/__main__.py` reads
`BUSY_TIMEOUT_MS` here, `tests/test_layers.py` lists it). The SQLite store now lives in `bot.core.store.sqlite`;
import from there, or what the rest of the bot uses from `bot.core.store`.
"""

from bot.core.store.records import CONSOLE_CHANNEL_ID, Exchange
from bot.core.store.sqlite import BUSY_TIMEOUT_MS, SQLiteStore, connect

Store = SQLiteStore

__all__ = ["BUSY_TIMEOUT_MS", "CONSOLE_CHANNEL_ID", "Exchange", "SQLiteStore", "Store", "connect"]
