"""An answer shown in Discord: the core's `AnswerDisplay` (`bot.core.chat`) as a streamed reply with Stop while it
is written and Regenerate once it ends, its final text with the bot's note in the reader's language, and a
picture answer's picture attached."""

from __future__ import annotations

import asyncio
import io
from collections.abc import Callable, Sequence
from typing import Protocol

import discord

from bot.app.i18n import translate
from bot.app.streaming import DEFAULT_MAX_PARTS, ReplyTarget, StreamingReply
from bot.core.answer_display import AnswerEnding, DisplayFor, Journal, Outcome

NO_ANSWER = "(no answer)"


class ReplyViews(Protocol):
    """The buttons of an answer, made by its cog: Stop while generating, Regenerate when finished."""

    def generating(self, answer_id: int) -> discord.ui.View: ...

    def finished(self, answer_id: int) -> discord.ui.View: ...


class StreamedAnswer:
    """Shows one answer in `target` through a `StreamingReply`."""

    def __init__(
        self,
        target: ReplyTarget,
        views: ReplyViews,
        answer_id: int,
        journal: Journal,
        *,
        pace: Callable[[str], float] = lambda bucket: 0.0,
        has_room: Callable[[str], bool] = lambda bucket: True,
        claim: Callable[[str], float] = lambda bucket: 0.0,
        max_parts: int = DEFAULT_MAX_PARTS,
        locale: str | None = None,
        on_shown: Callable[[bool], None] | None = None,
    ) -> None:
        self._target = target
        self._finished_view = views.finished(answer_id)
        self._locale = locale
        self._reply = StreamingReply(
            target,
            live_view=views.generating(answer_id),
            pace=pace,
            has_room=has_room,
            claim=claim,
            max_parts=max_parts,
            locale=locale,
            journal=journal,
            on_shown=on_shown,
        )

    @property
    def wants_text(self) -> asyncio.Event:
        return self._reply.wants_text

    @property
    def gone(self) -> bool:
        return self._reply.gone

    @property
    def on_gone(self) -> Callable[[], None] | None:
        return self._reply.on_gone

    @on_gone.setter
    def on_gone(self, callback: Callable[[], None] | None) -> None:
        self._reply.on_gone = callback

    @property
    def first_text_at(self) -> float | None:
        return self._reply.first_text_at

    @property
    def message_ids(self) -> list[int]:
        return self._target.message_ids

    def start(self) -> None:
        self._reply.start()

    def update(self, text: str) -> None:
        self._reply.update(text)

    async def finish(self, ending: AnswerEnding) -> bool:
        picture = ending.picture
        files = [discord.File(io.BytesIO(picture.data), filename=picture.filename)] if picture is not None else []
        text = final_text(ending, self._locale)
        return await self._reply.finish(text, self._finished_view, files, whole_text=ending.text or None)

    async def abandon(self) -> None:
        await self._reply.abandon()


def final_text(ending: AnswerEnding, locale: str | None) -> str:
    """The answer's text with the bot's note after it, the note (only) in the reader's language."""
    text = "" if ending.is_picture else ending.text
    if not text.strip() and not ending.is_picture and ending.outcome is Outcome.DONE:
        text = translate(NO_ANSWER, locale)  # the store never sends a blank answer back (`bot.core.store.context`)
    if not ending.note:
        return text
    note = translate(ending.note, locale)  # the answer is the model's, in its own language
    return f"{text}\n\n{note}" if text else note


def streamed_answers(
    target_for: Callable[[Sequence[int]], ReplyTarget],
    views: ReplyViews,
    *,
    pace: Callable[[str], float],
    has_room: Callable[[str], bool] = lambda bucket: True,
    claim: Callable[[str], float] = lambda bucket: 0.0,
    max_parts: int,
    locale: str | None,
    on_shown: Callable[[bool], None] | None = None,
) -> DisplayFor:
    """Displays for `ChatService`: each answer in the target made for its messages (none yet, for a new answer);
    `on_shown(final)` is called after each of their messages is created or edited."""

    def display_for(answer_id: int, message_ids: Sequence[int], journal: Journal) -> StreamedAnswer:
        return StreamedAnswer(
            target_for(message_ids),
            views,
            answer_id,
            journal,
            pace=pace,
            has_room=has_room,
            claim=claim,
            max_parts=max_parts,
            locale=locale,
            on_shown=on_shown,
        )

    return display_for
