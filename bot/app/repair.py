"""Repair at start-up: the answers and picture requests a process that died left half done, made whole.

A killed process (SIGKILL, an out-of-memory kill, a power cut, a SIGTERM whose grace ran out) leaves answers
frozen mid-sentence with their marker and a Stop button, and pictures "Drawing…" with a Cancel button, that nothing
will ever change. Everything needed to finish them is in the store while they are written: the channel, the
messages (stored as each is created) and the text shown so far (saved every few seconds). Before the bot serves,
each of them is edited through the channel endpoint (which works for the bot's own messages once an interaction
token is gone) to the text so far, a note that the bot restarted, and Regenerate or Retry. The store then holds
them as interrupted: never sent back as context, their partial text kept for the record. A repair that fails (the
message deleted, no access) is logged once and does not hold start-up up.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import discord

from bot.core.chunking import DISCORD_MESSAGE_LIMIT, split_bounded
from bot.core.store import RepairRecords, Shards

log = logging.getLogger(__name__)

ANSWER_INTERRUPTED = "\u26a0\ufe0f Interrupted: the bot restarted. Press Regenerate to try again."
PICTURE_INTERRUPTED = "\u26a0\ufe0f Interrupted: the bot restarted. Press Retry to draw it again."
ABANDONED_ERROR = "interrupted: the bot stopped"
REPAIR_CONCURRENCY = 4  # edits at once: start-up should not spend the channels' rate limits in one burst
REPAIR_EDIT_TIMEOUT = 10.0  # seconds for one repair's edits
REPAIR_TOTAL_TIMEOUT = 60.0  # seconds for all of them; what is left is marked all the same
_PLACEHOLDER = "\u2026"

ViewFor = Callable[[int], discord.ui.View]


async def repair_answers(
    client: discord.Client, store: RepairRecords, view_for: ViewFor, shards: Shards | None = None
) -> int:
    """Finish the answers a dead process was writing (with `shards`, those in this process's shards: the others
    are another live process's); `view_for(answer_id)` gives their Regenerate button. Return how many there were."""
    answers = await store.answers_being_written(shards)
    await _run_bounded(
        [
            _MessageRepair(
                turn.channel_id, turn.message_ids, answer_parts(turn.content, len(turn.message_ids)), turn.id
            )
            for turn in answers
            if turn.message_ids
        ],
        client,
        view_for,
        "answer",
    )
    for turn in answers:
        await store.update_turn(turn.id, complete=False, writing=False)
    if answers:
        log.warning("%d answer(s) were left unfinished by the last run; marked interrupted", len(answers))
    return len(answers)


async def repair_pictures(
    client: discord.Client, store: RepairRecords, view_for: ViewFor, shards: Shards | None = None
) -> int:
    """Finish the picture requests a dead process had queued or was drawing (they cost no quota; with `shards`,
    those in this process's shards); `view_for` gives their Retry button. Return how many there were."""
    abandoned = await store.abandon_unfinished_generations(ABANDONED_ERROR, shards)
    await _run_bounded(
        [
            _MessageRepair(request.channel_id, (request.message_id,), [PICTURE_INTERRUPTED], request.id)
            for request in abandoned
            if request.message_id is not None and request.id is not None
        ],
        client,
        view_for,
        "picture request",
    )
    if abandoned:
        log.warning("%d picture request(s) were left unfinished by the last run; marked failed", len(abandoned))
    return len(abandoned)


def answer_parts(text: str, messages: int, limit: int = DISCORD_MESSAGE_LIMIT) -> list[str]:
    """The contents of an interrupted answer's `messages` messages: its text so far, the note at the end."""
    note = f"\n\n{ANSWER_INTERRUPTED}"
    parts, _ = split_bounded(text, limit, max(messages, 1), len(note)) if text.strip() else ([], False)
    parts += [_PLACEHOLDER] * (messages - len(parts))  # messages the saved text no longer reaches
    parts[-1] = (parts[-1] + note).strip() if parts[-1] != _PLACEHOLDER else ANSWER_INTERRUPTED
    return parts


@dataclass(frozen=True, slots=True)
class _MessageRepair:
    """The messages of one record (answer or picture request), and what each should say now."""

    channel_id: int
    message_ids: Sequence[int]
    contents: Sequence[str]
    record_id: int


async def _run_bounded(repairs: Sequence[_MessageRepair], client: discord.Client, view_for: ViewFor, what: str) -> None:
    """Run the repairs a few at a time, within `REPAIR_TOTAL_TIMEOUT` in all."""
    gate = asyncio.Semaphore(REPAIR_CONCURRENCY)

    async def gated(repair: _MessageRepair) -> None:
        async with gate:
            await _edit_messages(client, repair, view_for(repair.record_id), f"{what} {repair.record_id}")

    tasks = [asyncio.create_task(gated(repair), name=f"repair-{what}") for repair in repairs]
    if not tasks:
        return
    _, late = await asyncio.wait(tasks, timeout=REPAIR_TOTAL_TIMEOUT)
    for task in late:
        task.cancel()
    if late:
        log.warning("%d repair(s) did not finish within %.0f s; left as they were", len(late), REPAIR_TOTAL_TIMEOUT)


async def _edit_messages(client: discord.Client, repair: _MessageRepair, view: discord.ui.View, what: str) -> None:
    """Edit each message to its content, the last one with `view`; the others lose their buttons, and a picture
    request's message its embed."""
    channel = client.get_partial_messageable(repair.channel_id)
    try:
        async with asyncio.timeout(REPAIR_EDIT_TIMEOUT):
            for index, (message_id, content) in enumerate(zip(repair.message_ids, repair.contents, strict=True)):
                last = index == len(repair.message_ids) - 1
                message = channel.get_partial_message(message_id)
                await message.edit(content=content, view=view if last else None, embeds=[])
    except (discord.HTTPException, TimeoutError, OSError) as error:
        log.warning("could not repair the messages of %s in channel %d: %r", what, repair.channel_id, error)
