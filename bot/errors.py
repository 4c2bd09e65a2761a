"""Errors meant for the person who used a command: shown to them privately, not logged as the bot's failures."""

from __future__ import annotations


class UserFacingError(Exception):
    """The request cannot be done as asked; `str(error)` says why and what to do, in words fit for a user."""

    @property
    def user_message(self) -> str:
        return str(self)
