"""Client for SenseTime's fusion API: request model, SSE reading, typed events and errors. No Discord here."""

from bot.core.fusion.client import FusionClient, RetryPolicy, Timeouts
from bot.core.fusion.errors import (
    BadKeyError,
    BadRequestError,
    FusionError,
    FusionTimeoutError,
    ModerationError,
    RateLimitedError,
    ServiceUnreachableError,
    StreamInterruptedError,
    UnsupportedModelError,
    UpstreamError,
)
from bot.core.fusion.models import ChatRequest, FinalResult, Message, StreamEvent, StreamFailed, TextPiece, Usage

__all__ = [
    "BadKeyError",
    "BadRequestError",
    "ChatRequest",
    "FinalResult",
    "FusionClient",
    "FusionError",
    "FusionTimeoutError",
    "Message",
    "ModerationError",
    "RateLimitedError",
    "RetryPolicy",
    "ServiceUnreachableError",
    "StreamEvent",
    "StreamFailed",
    "StreamInterruptedError",
    "TextPiece",
    "Timeouts",
    "UnsupportedModelError",
    "UpstreamError",
    "Usage",
]
