"""What the fake Discord counted: requests per route, every 4xx, 429s per bucket, acknowledgement mistakes, identifies.

Tests assert on these to prove a bot behaved ("no 429 and no 4xx happened") rather than only that it produced output.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Literal

from .shards import IdentifyRecord

AckMistake = Literal["late", "already_acknowledged"]


@dataclass(frozen=True)
class ErrorRecord:
    """One error response: ``route`` is the template (``PATCH /channels/{channel_id}/messages/{message_id}``)."""

    route: str
    path: str
    status: int
    code: int
    message: str
    at: float


@dataclass(frozen=True)
class AckViolation:
    """An interaction callback that Discord would refuse: too late, or a second acknowledgement."""

    interaction_id: int
    mistake: AckMistake
    delay: float


@dataclass
class Stats:
    requests: Counter[str] = field(default_factory=Counter)
    statuses: Counter[int] = field(default_factory=Counter)
    errors: list[ErrorRecord] = field(default_factory=list)
    rate_limited: int = 0
    rate_limited_by_bucket: Counter[str] = field(default_factory=Counter)
    global_rate_limited: int = 0
    ack_violations: list[AckViolation] = field(default_factory=list)
    internal_errors: list[str] = field(default_factory=list)
    identify_payloads: list[dict[str, Any]] = field(default_factory=list)
    identifies: list[IdentifyRecord] = field(default_factory=list)
    resumes: int = 0
    gateway_connections: int = 0
    dispatched: Counter[str] = field(default_factory=Counter)

    @property
    def client_errors(self) -> list[ErrorRecord]:
        """Every 4xx answer, 429s included."""
        return [error for error in self.errors if 400 <= error.status < 500]

    def requests_to(self, route: str) -> int:
        """How many requests hit ``route``, e.g. ``"PATCH /webhooks/{application_id}/{token}/messages/@original"``."""
        return self.requests[route]

    def record_response(self, route: str, path: str, status: int, body: Any, at: float) -> None:
        self.statuses[status] += 1
        if status < 400:
            return
        code = body.get("code", 0) if isinstance(body, dict) else 0
        message = body.get("message", "") if isinstance(body, dict) else str(body)
        self.errors.append(ErrorRecord(route, path, status, code, message, at))

    def record_rate_limited(self, bucket_key: str, *, is_global: bool) -> None:
        self.rate_limited += 1
        self.rate_limited_by_bucket[bucket_key] += 1
        if is_global:
            self.global_rate_limited += 1
