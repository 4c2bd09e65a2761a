"""Personas: instructions for the model (its tone, language, role) that a server manager sets for a server
(`/config persona`) or for one channel (`/channel persona`), and the bot's own default (`DEFAULT_PERSONA`).

The fusion API's `messages` take only `user` and `assistant` turns: there is no system role to carry them. So a
persona is sent as the first exchange of every request, a user turn that introduces the instructions followed by a
short fixed answer accepting them (`persona_messages`). As an exchange of its own it keeps the turns after it
alternating, user then assistant, the shape the model is trained on, and the model reads the instructions as
something it has agreed to, not as a question still to answer. It is put in one place,
`bot.core.store.context.select_context`, which counts it against the context budget and never trims it away.

The persona that applies is the channel's; in a thread that has none of its own, its channel's; else the server's;
else the default (`bot.core.store.records.Personas.chosen`). A direct message has only the default.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.core.errors import UserFacingError
from bot.core.fusion import Message

if TYPE_CHECKING:
    from bot.core.store.contract import PersonaLookup

MAX_PERSONA_CHARS = 1500
PERSONA_HEADING = "Instructions for this conversation. Follow them in every answer:"
PERSONA_ACKNOWLEDGEMENT = "Understood. I will follow these instructions in every answer."


class PersonaError(UserFacingError):
    """A persona that cannot be stored as given; the message says why."""


def checked_persona(text: str) -> str:
    """The persona to store for `text` as typed: without the whitespace around it (nor NUL characters, which
    PostgreSQL cannot store). Raises `PersonaError` when that leaves nothing or more than `MAX_PERSONA_CHARS`."""
    persona = text.replace("\x00", "").strip()
    if not persona:
        raise PersonaError("A persona needs some text. To remove one, use clear:True.")
    if len(persona) > MAX_PERSONA_CHARS:
        raise PersonaError(f"A persona can have at most 1,500 characters; this one has {len(persona):,}.")
    return persona


def persona_change(text: str | None, clear: bool) -> str | None:
    """What a `persona` command's options ask to store: a checked persona, or None to remove it."""
    if clear:
        if text is not None:
            raise PersonaError("Give a persona's text or clear:True, not both.")
        return None
    return checked_persona(text or "")


def persona_messages(persona: str | None) -> list[Message]:
    """The exchange a persona is sent as, first in a request's messages; none without a persona."""
    if not persona:
        return []
    return [
        Message(role="user", content=f"{PERSONA_HEADING}\n\n{persona}"),
        Message(role="assistant", content=PERSONA_ACKNOWLEDGEMENT),
    ]


async def persona_for(
    store: PersonaLookup, default: str, channel_id: int, *, guild_id: int | None, parent_id: int | None = None
) -> str | None:
    """The persona of an answer in `channel_id` (a thread of `parent_id`) on server `guild_id` (None: a direct
    message, which has only `default`); None for none."""
    if guild_id is None:
        return default or None
    personas = await store.personas(channel_id, guild_id=guild_id, parent_id=parent_id)
    return personas.chosen(default)
