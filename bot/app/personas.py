"""Personas shown in Discord, for `/config persona`, `/config show` and `/channel persona` (`bot.core.personas`).

A persona's text is shown in an embed, as its manager wrote it: never translated (it is the model's instructions,
like the model's answers left as written), and, being an embed, pinging no one whatever it says. The embed's
title, in the reader's language, says whose persona it is.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import discord
from discord import app_commands

from bot.app.i18n import translate_label
from bot.core.personas import MAX_PERSONA_CHARS, persona_change
from bot.core.store import Personas

PERSONA_TEXT_HELP = "Instructions for the model: tone, language, role (up to 1,500 characters)"
MAX_LISTED = 10  # channels named in `/config show`'s list of those with a persona of their own
CHANNEL_PERSONA = "This channel's persona"
PARENT_PERSONA = "Its parent channel's persona"
SERVER_PERSONA = "This server's persona"
DEFAULT_PERSONA = "The bot's default persona"

PersonaText = app_commands.Range[str, 1, MAX_PERSONA_CHARS]  # a `persona` command's `text`, limited in Discord too


async def change_persona(
    text: str | None, clear: bool, store: Callable[[str | None], Awaitable[None]], *, done: str, removed: str
) -> str:
    """Do what a `persona` command's options ask: store the persona (None: removed) and return `done` or
    `removed`; "" when they ask nothing (the command then only shows it). Raises `PersonaError` for a bad one."""
    if text is None and not clear:
        return ""
    persona = persona_change(text, clear)
    await store(persona)
    return done if persona else removed


def persona_embed(title: str, persona: str, locale: discord.Locale | str | None) -> discord.Embed:
    return discord.Embed(title=translate_label(title, locale), description=persona, colour=discord.Colour.blurple())


def persona_in_use(personas: Personas, default: str) -> tuple[str, str] | None:
    """Whose persona applies in a channel, as a title, and its text; None when none does."""
    sources = (
        (CHANNEL_PERSONA, personas.channel),
        (PARENT_PERSONA, personas.parent),
        (SERVER_PERSONA, personas.server),
        (DEFAULT_PERSONA, default),
    )
    return next(((title, text) for title, text in sources if text), None)


def server_persona_lines(personas: Personas, default: str, channel_ids: list[int]) -> list[str]:
    """`/config show`'s lines on personas: the server's (or the default's), and the channels with their own."""
    if personas.server:
        server = "**Server persona:** shown below"
    elif default:
        server = "**Server persona:** none; the bot's default is shown below"
    else:
        server = "**Server persona:** none"
    listed = " ".join(f"<#{channel}>" for channel in channel_ids[:MAX_LISTED])
    more = " \u2026" if len(channel_ids) > MAX_LISTED else ""
    return [server, f"**Channels with their own persona:** {listed + more or 'none'}"]


def server_persona_embeds(personas: Personas, default: str, locale: discord.Locale | str | None) -> list[discord.Embed]:
    """`/config show`'s embeds: the server's persona (or the default), and the one of the channel it is used in."""
    embeds = []
    if personas.server or default:
        title = SERVER_PERSONA if personas.server else DEFAULT_PERSONA
        embeds.append(persona_embed(title, personas.server or default, locale))
    here = persona_in_use(Personas(personas.channel, personas.parent), "")
    if here is not None:
        embeds.append(persona_embed(*here, locale))
    return embeds
