"""The bot's memory: conversations, settings, pictures and usage, behind one contract. No Discord here.

The shared contract, the same for every backend: `contract` (what a backend promises, and one `Protocol` per
consumer of just the methods it uses), `records` (the values it takes and hands back), `context` (which turns go
into a request), `rows` (stored rows read tolerantly) and `migrations` (each dialect's schema files). The
backends: SQLite (`sqlite/`, on aiosqlite), exported here as `Store`, the name the bot knows it by, and PostgreSQL
(`postgresql/`, on asyncpg) as `PostgresStore`, for several processes sharing one database (not yet chosen by any
setting).
"""

from bot.core.store.context import ContextBudget, estimate_tokens
from bot.core.store.contract import (
    AccessRecords,
    AnswerRecords,
    BotState,
    ChannelSwitch,
    ChatRecords,
    ChatUsageRecords,
    ConsoleRecords,
    ConversationRecords,
    DrawRecords,
    ExchangeRecords,
    MigrationError,
    PersonaLookup,
    PersonaRecords,
    PictureLookup,
    RepairRecords,
    ServerControls,
    StoreBackend,
    StoreError,
)
from bot.core.store.postgresql import PostgresStore
from bot.core.store.records import (
    CONSOLE_CHANNEL_ID,
    DrawUsage,
    Exchange,
    GenerationStatus,
    ImageGeneration,
    Personas,
    ServerSettings,
    Shards,
    Turn,
    shard_of,
)
from bot.core.store.sqlite import SQLiteStore
from bot.core.store.usage import ChatQuota, ChatSpending, MemberUsage, SpentTokens, UsageTotals

Store = SQLiteStore  # the SQLite store, under the name the rest of the bot has always used

__all__ = [
    "CONSOLE_CHANNEL_ID",
    "AccessRecords",
    "AnswerRecords",
    "BotState",
    "ChannelSwitch",
    "ChatQuota",
    "ChatRecords",
    "ChatSpending",
    "ChatUsageRecords",
    "ConsoleRecords",
    "ContextBudget",
    "ConversationRecords",
    "DrawRecords",
    "DrawUsage",
    "Exchange",
    "ExchangeRecords",
    "GenerationStatus",
    "ImageGeneration",
    "MemberUsage",
    "MigrationError",
    "PersonaLookup",
    "PersonaRecords",
    "Personas",
    "PictureLookup",
    "PostgresStore",
    "RepairRecords",
    "SQLiteStore",
    "ServerControls",
    "ServerSettings",
    "Shards",
    "SpentTokens",
    "Store",
    "StoreBackend",
    "StoreError",
    "Turn",
    "UsageTotals",
    "estimate_tokens",
    "shard_of",
]
