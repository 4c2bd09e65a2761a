"""What a store backend promises, and what each consumer needs of it: one `Protocol` per consumer, so each
depends on the few methods it calls and any backend (SQLite today, PostgreSQL later) can stand behind it.

Every backend keeps these rules, whatever its database:
- a write has returned only once it is durable (it survives the process being killed);
- `start_exchange` stores the question and its answer's placeholder in one transaction, so nothing else stored
  in the channel comes between them, and reads the context in the same one;
- the context is chosen by `bot.core.store.context` from the turns since the channel's last reset, and a stored
  row this version cannot use is skipped or read as empty (`bot.core.store.rows`), never an error;
- `reset` keeps the earlier turns (for audit) unless asked to delete them;
- a database it cannot use raises `StoreError` (or `MigrationError`) with a message saying what to do.

`StoreBackend` is all of it, what the code that opens and closes a store holds. `tests/store/test_contract.py`
checks that the SQLite store (`bot.core.store.sqlite`) has every method here, with the same signature. What no
store holds, the work each process owns in memory, is named in `bot.core.process_state`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any, Protocol

from bot.core.fusion import Message
from bot.core.store.context import ContextBudget
from bot.core.store.records import (
    AllowList,
    DrawUsage,
    Exchange,
    GenerationStatus,
    ImageGeneration,
    Personas,
    Role,
    ServerSettings,
    Shards,
    Turn,
    UsageKind,
)
from bot.core.store.usage import ChatQuota, ChatSpending, MemberUsage, SpentTokens, UsageTotals

LOCK_TIMEOUT = 60.0  # seconds to wait for a lock another process holds


class StoreError(Exception):
    """The database cannot be used; the message says why and what to do."""


class MigrationError(StoreError):
    """A migration file is malformed or failed to apply."""


class AccessRecords(Protocol):
    """What the access rules (`bot.core.access.Access`) read and write: a server's controls, the chat cooldown."""

    async def server_settings(self, guild_id: int) -> ServerSettings: ...

    async def record_usage(
        self, user_id: int, kind: UsageKind, *, guild_id: int | None = None, tokens: int = 0, at: float | None = None
    ) -> None: ...

    async def latest_use(self, user_id: int, kind: UsageKind, *, guild_id: int | None) -> float | None: ...


class AnswerRecords(Protocol):
    """What recording an answer as it is written needs: its text, completeness, messages and `writing` mark."""

    async def update_turn(
        self,
        turn_id: int,
        *,
        content: str | None = None,
        complete: bool | None = None,
        message_ids: Sequence[int] | None = None,
        writing: bool | None = None,
    ) -> None: ...


class ExchangeRecords(AnswerRecords, Protocol):
    """Asking a question: it and its answer's placeholder stored together, then the answer recorded."""

    async def start_exchange(
        self,
        channel_id: int,
        content: str,
        budget: ContextBudget,
        *,
        author_id: int | None = None,
        author_name: str | None = None,
        name_speakers: bool = False,
        request_options: Mapping[str, Any] | None = None,
        guild_id: int | None = None,
        persona: str | None = None,
    ) -> Exchange: ...


class PersonaLookup(Protocol):
    """What finding the persona of an answer (`bot.core.personas.persona_for`) reads."""

    async def personas(
        self, channel_id: int, *, guild_id: int | None = None, parent_id: int | None = None
    ) -> Personas: ...


class ChatRecords(ExchangeRecords, PersonaLookup, Protocol):
    """What the chat service (`bot.core.chat.ChatService`) uses: asking in a channel's persona, and for Regenerate a
    stored answer and the context it was given in."""

    async def turn(self, turn_id: int) -> Turn | None: ...

    async def context(
        self,
        channel_id: int,
        budget: ContextBudget,
        *,
        name_speakers: bool = False,
        before_turn: int | None = None,
        persona: str | None = None,
    ) -> list[Message]: ...


class ConsoleRecords(ExchangeRecords, Protocol):
    """What the console (`bot.console.Console`) uses: asking, and starting its conversation afresh."""

    async def reset(self, channel_id: int, *, delete: bool = False) -> None: ...


class ConversationRecords(Protocol):
    """What `/chat`'s buttons and `/reset` (`cogs.chat`) use: an answer, who asked it, a channel started afresh."""

    async def turn(self, turn_id: int) -> Turn | None: ...

    async def asker_of(self, answer_turn_id: int) -> int | None: ...

    async def reset(self, channel_id: int, *, delete: bool = False) -> None: ...


class ChannelSwitch(Protocol):
    """What channel conversations (`cogs.chat.conversations`) use: whether the bot answers every message there."""

    async def set_conversations_enabled(
        self, channel_id: int, enabled: bool, *, guild_id: int | None = None
    ) -> None: ...

    async def conversations_enabled(self, channel_id: int) -> bool: ...


class PictureLookup(Protocol):
    """What a picture's buttons (`cogs.draw`) use: the stored request, and the message that shows it."""

    async def generation(self, generation_id: int) -> ImageGeneration | None: ...

    async def set_generation_message(self, generation_id: int, message_id: int) -> None: ...


class DrawRecords(PictureLookup, Protocol):
    """What the picture service (`bot.core.draw.DrawService`) uses: requests from taken to ended, the usage its
    quota and cooldown are read from, and a drawn picture noted in the channel's conversation."""

    async def add_generation(self, generation: ImageGeneration) -> int: ...

    async def start_generation(self, generation_id: int) -> None: ...

    async def finish_generation(
        self, generation_id: int, status: GenerationStatus, *, message_id: int | None = None, error: str | None = None
    ) -> None: ...

    async def draw_usage(self, user_id: int, since: float) -> DrawUsage: ...

    async def append_turn(
        self,
        channel_id: int,
        role: Role,
        content: str,
        *,
        author_id: int | None = None,
        author_name: str | None = None,
        complete: bool = True,
        request_options: Mapping[str, Any] | None = None,
        guild_id: int | None = None,
    ) -> int: ...


class RepairRecords(AnswerRecords, Protocol):
    """What the start-up repair (`bot.app.repair`) uses: the answers and pictures a stopped process left open
    (in cluster mode, those on the repairing process's shards)."""

    async def answers_being_written(self, shards: Shards | None = None) -> list[Turn]: ...

    async def abandon_unfinished_generations(
        self, error: str, shards: Shards | None = None
    ) -> list[ImageGeneration]: ...


class ServerControls(Protocol):
    """What `/config` (`cogs.config`) uses: a server's controls, read and changed."""

    async def server_settings(self, guild_id: int) -> ServerSettings: ...

    async def set_allowed(self, guild_id: int, which: AllowList, item_id: int, allowed: bool) -> None: ...

    async def clear_allowed(self, guild_id: int, which: AllowList) -> None: ...

    async def update_server_defaults(self, guild_id: int, changes: dict[str, Any]) -> dict[str, Any]: ...

    async def set_chat_cooldown(self, guild_id: int, seconds: float) -> None: ...


class PersonaRecords(PersonaLookup, Protocol):
    """What `/config persona`, `/channel persona` and `/config show` use: a server's and a channel's persona set
    (None: removed) and read, and which channels of a server have one of their own (at most `limit`)."""

    async def set_server_persona(self, guild_id: int, persona: str | None) -> None: ...

    async def set_channel_persona(
        self, channel_id: int, persona: str | None, *, guild_id: int | None = None
    ) -> None: ...

    async def persona_channels(self, guild_id: int, *, limit: int = 100) -> list[int]: ...


class ChatUsageRecords(Protocol):
    """What chat usage and its daily quotas (`bot.core.usage.ChatUsage`) write and read: each answer's tokens, what
    a member and a server spent, their totals and top members (tokens and pictures), a server's own quotas."""

    async def record_chat_tokens(self, spent: SpentTokens) -> None: ...

    async def chat_spending(self, user_id: int, guild_id: int | None, since: float) -> ChatSpending: ...

    async def usage_totals(
        self, guild_id: int | None, since: float, today: float, *, user_id: int | None = None
    ) -> UsageTotals: ...

    async def top_chat_members(
        self, guild_id: int, since: float, today: float, *, limit: int = 10
    ) -> list[MemberUsage]: ...

    async def chat_quota(self, guild_id: int) -> ChatQuota: ...

    async def set_chat_quota(self, guild_id: int, quota: ChatQuota) -> None: ...


class BotState(Protocol):
    """The bot's own small state by key (the command tree's hash, when each shard last identified), and locks by
    name that one process holds at a time among all that share the store (syncing the commands, identifying)."""

    async def state(self, key: str) -> str | None: ...

    async def set_state(self, key: str, value: str) -> None: ...

    def exclusive(self, name: str, *, max_wait: float = LOCK_TIMEOUT) -> AbstractAsyncContextManager[None]:
        """Hold the lock `name` for the block, waiting at most `max_wait` seconds for it (then `StoreError`). A
        process that dies holding it lets go (SQLite: one process per file; PostgreSQL: an advisory lock of the
        session, ended with its connection)."""
        ...


class StoreBackend(
    AccessRecords,
    ChatRecords,
    ConsoleRecords,
    ConversationRecords,
    ChannelSwitch,
    DrawRecords,
    RepairRecords,
    ServerControls,
    PersonaRecords,
    ChatUsageRecords,
    BotState,
    Protocol,
):
    """A whole store: every consumer's methods, the audit reads, and closing."""

    on_operation: Callable[[str, float], None] | None
    """Called after each operation with its name and the seconds it took (the metrics); None: nobody asked."""

    async def turns(self, channel_id: int, *, since_reset: bool = False) -> list[Turn]: ...

    async def usage_since(self, user_id: int, kind: UsageKind, since: float) -> tuple[int, float | None]: ...

    async def close(self) -> None: ...
