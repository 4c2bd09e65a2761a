"""Faults a test asks the fake Discord to inject into its next matching requests: a server error, a connection
reset before any answer, or an answer that comes late (past a client's own time limit)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from .routing import RouteSpec

FaultKind = Literal["server-error", "reset", "slow"]


@dataclass
class Fault:
    """`count` requests of route kind `bucket` (e.g. ``message_edit``, ``interaction_webhook``) and `method` fail."""

    bucket: str
    kind: FaultKind
    count: int = 1
    method: str = "PATCH"
    delay: float = 0.0  # for "slow": seconds before the request is handled as usual
    injected: int = 0


@dataclass
class Faults:
    pending: list[Fault] = field(default_factory=list)

    def add(self, fault: Fault) -> Fault:
        self.pending.append(fault)
        return fault

    def take(self, spec: RouteSpec) -> Fault | None:
        """The fault this request gets, if any (each fault applies to its next `count` matching requests)."""
        for fault in self.pending:
            if fault.bucket == spec.bucket and fault.method == spec.method and fault.injected < fault.count:
                fault.injected += 1
                return fault
        return None
