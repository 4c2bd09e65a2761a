"""The bot's memory in SQLite (aiosqlite): conversations, settings, pictures and usage. No Discord here."""

from bot.core.store.context import ContextBudget, estimate_tokens
from bot.core.store.migrations import MigrationError, StoreError
from bot.core.store.pictures import DrawUsage, GenerationStatus, ImageGeneration
from bot.core.store.rows import Turn
from bot.core.store.servers import ServerSettings
from bot.core.store.store import CONSOLE_CHANNEL_ID, Exchange, Store

__all__ = [
    "CONSOLE_CHANNEL_ID",
    "ContextBudget",
    "DrawUsage",
    "Exchange",
    "GenerationStatus",
    "ImageGeneration",
    "MigrationError",
    "ServerSettings",
    "Store",
    "StoreError",
    "Turn",
    "estimate_tokens",
]
