"""Pictures for anyone in a server: options, the fair queue, quotas, drawing and showing them."""

from bot.core.draw.options import DrawMenu, DrawSpec, InvalidDrawOptionError, reroll, variation
from bot.core.draw.queue import (
    DrawQueue,
    DrawRefusedError,
    PictureQueue,
    QueueEntry,
    QueueLimits,
    QueueRecord,
    QueueSnapshot,
    Ticket,
)
from bot.core.draw.service import DrawDisplay, DrawLimits, DrawOutcome, DrawService, DrawStatus, Requester

__all__ = [
    "DrawDisplay",
    "DrawLimits",
    "DrawMenu",
    "DrawOutcome",
    "DrawQueue",
    "DrawRefusedError",
    "DrawService",
    "DrawSpec",
    "DrawStatus",
    "InvalidDrawOptionError",
    "PictureQueue",
    "QueueEntry",
    "QueueLimits",
    "QueueRecord",
    "QueueSnapshot",
    "Requester",
    "Ticket",
    "reroll",
    "variation",
]
