"""The bot's memory in SQLite (aiosqlite): conversations, settings, pictures and usage. No Discord here."""

from bot.store.context import ContextBudget, estimate_tokens
from bot.store.migrations import MigrationError, StoreError
from bot.store.pictures import DrawUsage, GenerationStatus, ImageGeneration
from bot.store.rows import Turn
from bot.store.servers import ServerSettings
from bot.store.store import CONSOLE_CHANNEL_ID, Exchange, Store

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
