"""The values every store backend takes and hands back: turns and exchanges, server settings, picture requests and
usage. Plain data, the same whichever database holds it; how a row becomes one is `bot.core.store.rows`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from bot.core.fusion import Message

CONSOLE_CHANNEL_ID = 0  # Discord ids are positive, so the console's conversation never meets a channel's
Role = Literal["user", "assistant"]
UsageKind = Literal["chat", "draw"]
AllowList = Literal["channels", "roles"]
GenerationStatus = Literal["queued", "drawing", "done", "refused", "failed", "cancelled"]
UNFINISHED: tuple[GenerationStatus, ...] = ("queued", "drawing")  # left so by a process that stopped, repaired


@dataclass(frozen=True, slots=True)
class Turn:
    """One stored turn of a channel's conversation."""

    id: int
    channel_id: int
    role: str  # "user" or "assistant" as this version writes them; a row of another version may say otherwise
    content: str
    author_id: int | None
    author_name: str | None
    message_ids: tuple[int, ...]
    complete: bool
    created_at: float
    updated_at: float
    request_options: dict[str, Any] = field(default_factory=dict)  # an answer's options, for Regenerate
    guild_id: int | None = None  # None: a direct message (or a turn stored before servers were recorded)


@dataclass(frozen=True, slots=True)
class Exchange:
    """A question just stored, the placeholder of its answer, and the context to ask the question in."""

    question_id: int
    answer_id: int
    messages: list[Message]  # the request's context, ending with the question


@dataclass(frozen=True, slots=True)
class ServerSettings:
    """A server's controls. Empty allow lists mean no restriction."""

    guild_id: int
    allowed_channels: frozenset[int] = frozenset()
    allowed_roles: frozenset[int] = frozenset()
    defaults: dict[str, Any] = field(default_factory=dict)  # model, size, temperature
    chat_cooldown_seconds: float = 0.0


@dataclass(frozen=True, slots=True)
class Personas:
    """The personas stored for one place (`bot.core.personas`): its channel's, its parent channel's (a thread's
    channel) and its server's; None where there is none."""

    channel: str | None = None
    parent: str | None = None
    server: str | None = None

    def chosen(self, default: str = "") -> str | None:
        """The one that applies: the channel's, else its parent's, else the server's, else `default` (None: none)."""
        return self.channel or self.parent or self.server or default or None


@dataclass(frozen=True, slots=True)
class ImageGeneration:
    """A picture request with everything needed to draw it again (buttons work after a restart)."""

    channel_id: int
    user_id: int
    prompt: str
    model: str
    size: str
    seed: int
    scale: int
    controlnet: str = ""
    guild_id: int | None = None
    status: GenerationStatus = "queued"
    message_id: int | None = None
    error: str | None = None
    id: int | None = None
    created_at: float | None = None
    finished_at: float | None = None


@dataclass(frozen=True, slots=True)
class DrawUsage:
    """One user's pictures in a window: those drawn (charged), the oldest of them, and the latest request taken."""

    drawn: int
    oldest_drawn_at: float | None
    latest_accepted_at: float | None


@dataclass(frozen=True, slots=True)
class Shards:
    """The gateway shards one process runs, `ids` out of `count`: the servers (and, on shard 0, the direct
    messages) whose unfinished work that process repairs at start-up. Discord puts a server on shard
    `(guild_id >> 22) % count`."""

    count: int
    ids: frozenset[int]

    def __post_init__(self) -> None:
        if self.count < 1 or not self.ids or not all(0 <= shard < self.count for shard in self.ids):
            raise ValueError(f"shards {sorted(self.ids)} are not shards of {self.count}")


def shard_of(guild_id: int | None, shard_count: int) -> int:
    """The shard Discord delivers a server's events on; direct messages arrive on shard 0."""
    return 0 if guild_id is None else (guild_id >> 22) % shard_count
