"""The few kinds of failure a caller of the fusion API can act on.

Each error carries `user_message`, a short sentence fit to show a Discord user: it never contains the request, a
key or a token. `str(error)` adds the technical detail for logs (status, the service's own message).
"""

from __future__ import annotations

import re

from bot.core.errors import ServiceError

MODERATION_REFUSAL = "我们检测到您的提示词中有敏感词语。请勿使用违反社区条约的提示词。"
UNSUPPORTED_MODEL_PREFIX = "不支持的模型"
MODERATION_FINISH_REASONS = frozenset({"sensitive", "sensetive"})  # the service has used both spellings

_MODEL_SEPARATOR = re.compile("[:\uff1a]")  # ASCII or full-width colon
_RESET_AFTER = re.compile(r"reset after\s*(\d+(?:\.\d+)?)\s*s", re.IGNORECASE)


class FusionError(ServiceError):
    """Base of every failure of a fusion API call."""

    default_message = "The chat service failed to answer. Please try again later."

    def __init__(self, detail: str = "", *, status: int | None = None) -> None:
        super().__init__(detail)
        self.status = status

    def __str__(self) -> str:
        prefix = f"HTTP {self.status}: " if self.status is not None else ""
        return f"{prefix}{self.detail or self.user_message}"


class BadKeyError(FusionError):
    """The API key or the Miaohua token was refused (401/403, Miaohua code 600)."""

    default_message = "The bot's API credentials were refused. An administrator needs to check its keys."


class RateLimitedError(FusionError):
    """Too many requests (429, Miaohua code 603). `retry_after` is the wait in seconds, when the service said."""

    def __init__(self, detail: str = "", *, status: int | None = None, retry_after: float | None = None) -> None:
        super().__init__(detail, status=status)
        self.retry_after = retry_after

    @property
    def user_message(self) -> str:
        if self.retry_after is not None:
            return f"The service is busy. Please try again in {self.retry_after:.0f} seconds."
        return "The service is busy. Please try again in a moment."


class BadRequestError(FusionError):
    """The service refused the request itself (400/404/415): a bug or an option it does not accept."""

    default_message = "The service did not accept this request. Check the options and try again."


class ModerationError(FusionError):
    """The prompt or the answer was stopped by the service's content moderation."""

    default_message = "The service refused this request: its content was flagged by moderation."


class UnsupportedModelError(FusionError):
    """The drawing model named in the request does not exist on the service."""

    def __init__(self, detail: str = "", *, model: str = "", status: int | None = None) -> None:
        super().__init__(detail, status=status)
        self.model = model

    @property
    def user_message(self) -> str:
        name = f" '{self.model}'" if self.model else ""
        return f"The drawing model{name} is not supported by the service. Choose another model."


class UpstreamError(FusionError):
    """The service failed (5xx, an error envelope, a malformed or interrupted answer)."""


class StreamInterruptedError(UpstreamError):
    """The connection closed before the answer was finished."""

    default_message = "The answer was cut off: the connection to the service dropped."


class ServiceUnreachableError(UpstreamError):
    """No connection to the service could be made."""

    default_message = "The chat service cannot be reached right now. Please try again later."


class FusionTimeoutError(FusionError):
    """A time limit ran out. `phase` says which: connect, first byte, silence in the stream, or total."""

    def __init__(self, phase: str, seconds: float) -> None:
        super().__init__(f"{phase} timeout after {seconds:g} s")
        self.phase = phase
        self.seconds = seconds

    @property
    def user_message(self) -> str:
        return f"The service took too long to answer ({self.phase}, {self.seconds:g} s). Please try again."


def retry_after_from(text: str, header: str | None) -> float | None:
    """The wait a 429 asks for: the Retry-After header (seconds) or a 'reset after Ns' in the message."""
    if header:
        try:
            return max(0.0, float(header))
        except ValueError:
            pass
    match = _RESET_AFTER.search(text)
    return float(match.group(1)) if match else None


def error_for_status(status: int, message: str, *, retry_after_header: str | None = None) -> FusionError:
    """Map an HTTP status or an envelope/Miaohua code and the service's message to an error type."""
    if status in (401, 403, 600):
        return BadKeyError(message, status=status)
    if status in (429, 603):
        return RateLimitedError(message, status=status, retry_after=retry_after_from(message, retry_after_header))
    if status in (400, 404, 415, 422):
        return BadRequestError(message, status=status)
    return UpstreamError(message, status=status)


def refusal_in_content(content: str, *, model: str = "") -> FusionError | None:
    """The error hidden in a success-shaped answer whose content is a refusal instead of a picture URL."""
    text = content.strip()
    if text.startswith(UNSUPPORTED_MODEL_PREFIX):
        named = _MODEL_SEPARATOR.split(text, maxsplit=1)[-1].strip()
        return UnsupportedModelError(text, model=named or model)
    if MODERATION_REFUSAL[:12] in text:
        return ModerationError(text)
    return None
