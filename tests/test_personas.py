"""Personas outside Discord: the text a manager gives checked and cleaned, which persona applies where, DEFAULT_PERSONA
validated like the others, and every message about personas in Simplified Chinese."""

from __future__ import annotations

import re

import pytest

from bot.app.i18n import translate, translate_label
from bot.app.personas import (
    CHANNEL_PERSONA,
    DEFAULT_PERSONA,
    PARENT_PERSONA,
    SERVER_PERSONA,
    server_persona_lines,
)
from bot.config import SettingsError, load_settings
from bot.core.personas import PersonaError, checked_persona, persona_change, persona_for
from bot.core.store import Personas
from cogs.chat.conversations_cog import CHANNEL_PERSONA_SET
from cogs.config.config_cog import SERVER_PERSONA_SET


def refusal(text: str | None, clear: bool = False) -> str:
    with pytest.raises(PersonaError) as refused:
        persona_change(text, clear)
    return refused.value.user_message


def test_a_persona_is_kept_as_typed_without_the_space_around_it() -> None:
    assert checked_persona("  Answer in French.\n") == "Answer in French."
    assert checked_persona("用中文回答\x00。") == "用中文回答。"  # PostgreSQL cannot store a NUL
    assert checked_persona("字" * 1500) == "字" * 1500
    assert persona_change("Be brief.", clear=False) == "Be brief."
    assert persona_change(None, clear=True) is None


def test_a_persona_too_long_blank_or_both_set_and_cleared_is_refused_saying_why() -> None:
    assert refusal("x" * 1501) == "A persona can have at most 1,500 characters; this one has 1,501."
    assert refusal(" \n ") == "A persona needs some text. To remove one, use clear:True."
    assert refusal("Be brief.", clear=True) == "Give a persona's text or clear:True, not both."


def test_the_channels_persona_wins_then_its_parents_then_the_servers_then_the_default() -> None:
    assert Personas("channel", "parent", "server").chosen("default") == "channel"
    assert Personas(None, "parent", "server").chosen("default") == "parent"
    assert Personas(None, None, "server").chosen("default") == "server"
    assert Personas().chosen("default") == "default"
    assert Personas().chosen("") is None


class Unreachable:
    async def personas(self, channel_id: int, *, guild_id: int | None = None, parent_id: int | None = None) -> Personas:
        raise AssertionError("a direct message has no stored persona to read")


async def test_a_direct_message_has_only_the_default() -> None:
    assert await persona_for(Unreachable(), "default", 5, guild_id=None) == "default"
    assert await persona_for(Unreachable(), "", 5, guild_id=None) is None


def test_default_persona_is_validated_like_every_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEFAULT_PERSONA", "  Answer in French.  ")
    assert load_settings().default_persona == "Answer in French."
    monkeypatch.setenv("DEFAULT_PERSONA", "secret plans " * 200)
    with pytest.raises(SettingsError) as refused:
        load_settings()
    # One line naming the setting and the limit, without the text itself (it would fill the screen).
    assert str(refused.value) == "DEFAULT_PERSONA: at most 1,500 characters, as for /config persona (got 2,599)"
    monkeypatch.delenv("DEFAULT_PERSONA")
    assert load_settings().default_persona == ""  # none by default


@pytest.mark.parametrize(
    "message",
    [
        refusal("x" * 2000),
        refusal(""),
        refusal("x", clear=True),
        SERVER_PERSONA_SET,
        "Server persona removed.",
        CHANNEL_PERSONA_SET,
        "This channel's persona is removed.",
        "No persona applies here.",
        *server_persona_lines(Personas(), "", []),
        *server_persona_lines(Personas(server="s"), "", [1, 2]),
        *server_persona_lines(Personas(), "default", []),
    ],
)
def test_every_message_about_personas_reads_in_chinese(message: str) -> None:
    chinese = translate(message, "zh-CN")
    assert chinese != message and not re.search(r"[a-z]{3,} [a-z]{3,}", chinese), message


def test_whose_persona_it_is_reads_in_chinese() -> None:
    titles = (CHANNEL_PERSONA, PARENT_PERSONA, SERVER_PERSONA, DEFAULT_PERSONA)
    assert all(translate_label(title, "zh-CN") != title for title in titles)
