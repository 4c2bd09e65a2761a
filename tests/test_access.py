"""The rules of a server's controls, without Discord: who may use the bot where."""

from __future__ import annotations

from bot.core.access import NO_DMS, Place, refusal
from bot.core.store import ServerSettings

SERVER = ServerSettings(guild_id=1, allowed_channels=frozenset({10}), allowed_roles=frozenset({7}))


def place(**changes: object) -> Place:
    fields: dict[str, object] = {"user_id": 5, "guild_id": 1, "channel_id": 10, "role_ids": frozenset({7})}
    return Place(**(fields | changes))  # type: ignore[arg-type]


def test_an_allowed_member_in_an_allowed_channel_or_its_thread_may_use_the_bot() -> None:
    assert refusal(place(), SERVER, dms_allowed=True) is None
    assert refusal(place(channel_id=99, parent_channel_id=10), SERVER, dms_allowed=True) is None


def test_other_channels_and_roles_are_refused_naming_what_is_allowed() -> None:
    assert "Try: <#10>" in (refusal(place(channel_id=11), SERVER, dms_allowed=True) or "")
    assert "roles: <@&7>" in (refusal(place(role_ids=frozenset({8})), SERVER, dms_allowed=True) or "")


def test_empty_lists_restrict_nothing_and_managers_are_never_refused() -> None:
    assert refusal(place(channel_id=11, role_ids=frozenset()), ServerSettings(1), dms_allowed=True) is None
    assert refusal(place(channel_id=11, role_ids=frozenset(), is_manager=True), SERVER, dms_allowed=True) is None


def test_direct_messages_follow_the_setting() -> None:
    assert refusal(place(guild_id=None), None, dms_allowed=True) is None
    assert refusal(place(guild_id=None), None, dms_allowed=False) == NO_DMS
