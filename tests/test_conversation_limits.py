"""The limits a channel conversation keeps whatever members send: one note a minute per member, a bounded line."""

from __future__ import annotations

import pytest

from cogs.chat.conversations import MAX_NOTED_MEMBERS, ChannelBusyError, ChannelTurns, NoteLimiter


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_member_gets_one_note_per_interval_and_others_theirs() -> None:
    clock = Clock()
    notes = NoteLimiter(interval=60, clock=clock)
    assert notes.allow(1)
    assert not notes.allow(1)
    assert notes.allow(2)
    clock.now += 59
    assert not notes.allow(1)
    clock.now += 1
    assert notes.allow(1)


def test_the_members_remembered_stay_bounded() -> None:
    clock = Clock()
    notes = NoteLimiter(interval=60, clock=clock)
    for user in range(MAX_NOTED_MEMBERS):
        notes.allow(user)
    clock.now += 61
    notes.allow(-1)
    assert len(notes._last) == 1


async def test_a_full_line_refuses_the_next_message_and_forgets_idle_channels() -> None:
    turns = ChannelTurns(max_waiting=1)
    async with turns.queued(7), turns.queued(7):  # one answered, one waiting
        with pytest.raises(ChannelBusyError):
            async with turns.queued(7):
                pass
        async with turns.queued(8):  # another channel has its own line
            pass
    assert not turns._holders and not turns._locks
