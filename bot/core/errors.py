"""Errors meant for the person who used a command: shown to them privately, not logged as the bot's failures.

`UserFacingError` is the one base: the command tree's error handler and the buttons show any of them as a short
private answer. Refusals (`bot.core.access`, `bot.core.chat`) carry their message; failures of a service the bot
depends on (`bot.core.fusion.errors`, `bot.core.downloads`) are `ServiceError`s, whose message is fixed per kind
and whose `str()` adds the technical detail for logs.
"""

from __future__ import annotations

from typing import ClassVar


class UserFacingError(Exception):
    """The request cannot be done as asked; `user_message` says why and what to do, in words fit for a user."""

    @property
    def user_message(self) -> str:
        return str(self)


class ServiceError(UserFacingError):
    """A failure of an outside service: `user_message` (per kind, never the request, a key or a token) for the
    user, `detail` for logs."""

    default_message: ClassVar[str] = "Something went wrong. Please try again later."

    def __init__(self, detail: str = "") -> None:
        super().__init__(detail)  # not `user_message`: a subclass's may need fields it has not set yet
        self.detail = detail

    @property
    def user_message(self) -> str:
        return self.default_message

    def __str__(self) -> str:
        return self.detail or self.user_message
