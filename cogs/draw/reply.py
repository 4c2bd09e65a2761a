"""Showing one picture request in Discord: its place in the queue, the time spent drawing, then the picture with
an embed of its options, or the reason there is none.

The status lines go through the same single paced editor as streamed answers (`bot.app.streaming`), so a queue that
moves quickly costs no more edits than Discord allows.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Protocol

import discord

from bot.app.i18n import translate, translate_label
from bot.app.streaming import ReplyTarget, StreamingReply
from bot.core.draw.service import DrawOutcome, DrawStatus

EMBED_DESCRIPTION_LIMIT = 4096
PICTURE_COLOUR = discord.Colour.blurple()
# Status lines need not change faster than this; edits saved stay in the bucket for the picture, shown at once.
STATUS_EDIT_SECONDS = 1.0


class DrawViews(Protocol):
    """The buttons of a picture reply, made by the Discord layer."""

    def pending(self, generation_id: int) -> discord.ui.View:
        """While waiting or drawing: Cancel."""
        ...

    def finished(self, generation_id: int) -> discord.ui.View:
        """Under a picture: Re-roll and Variations."""
        ...

    def failed(self, generation_id: int) -> discord.ui.View:
        """After a failure or an interruption: Retry."""
        ...


class DrawReply:
    """A `DrawDisplay` that shows the request in `target`."""

    def __init__(
        self,
        target: ReplyTarget,
        views: DrawViews,
        generation_id: int,
        *,
        requested_by: str = "",
        pace: Callable[[str], float] = lambda bucket: 0.0,
        locale: str | None = None,
    ) -> None:
        self._target = target
        self._locale = locale
        self._views = views
        self._requested_by = requested_by
        self._reply = StreamingReply(
            target,
            live_view=views.pending(generation_id),
            pace=lambda bucket: max(STATUS_EDIT_SECONDS, pace(bucket)),
            marker="",
        )
        self._reply.start()

    def waiting(self, place: int, waiting: int) -> None:
        where = "next in line" if place == 1 else f"number {place} in line"
        self._reply.update(translate(f"\u23f3 Waiting to draw: {where} ({waiting} waiting).", self._locale))

    def drawing(self, elapsed_seconds: float) -> None:
        self._reply.update(translate(f"\U0001f3a8 Drawing\u2026 {elapsed_seconds:.0f} s", self._locale))

    async def finished(self, outcome: DrawOutcome) -> int | None:
        if outcome.status is DrawStatus.DONE and outcome.picture is not None:
            picture = outcome.picture
            file = discord.File(io.BytesIO(picture.data), filename=picture.filename)
            embed = picture_embed(outcome, requested_by=self._requested_by, locale=self._locale)
            shown = await self._reply.finish("", self._views.finished(outcome.generation_id), [file], [embed])
        else:
            view = self._views.failed(outcome.generation_id) if _may_retry(outcome.status) else None
            text = translate(f"{_ICONS[outcome.status]} {outcome.reason}", self._locale)
            shown = await self._reply.finish(text, view)
        ids = self._target.message_ids
        return ids[0] if ids and shown else None


def picture_embed(outcome: DrawOutcome, *, requested_by: str = "", locale: str | None = None) -> discord.Embed:
    """The prompt and the options a picture was drawn with, around the attached picture."""
    spec = outcome.spec
    embed = discord.Embed(description=_clipped(spec.prompt, EMBED_DESCRIPTION_LIMIT), colour=PICTURE_COLOUR)
    fields = {"Model": spec.model, "Size": spec.size, "Seed": str(spec.seed), "Scale": str(spec.scale)}
    if spec.controlnet:
        fields["ControlNet"] = spec.controlnet
    for name, value in fields.items():
        embed.add_field(name=translate_label(name, locale), value=value)
    if outcome.picture is not None:
        embed.set_image(url=f"attachment://{outcome.picture.filename}")
    if requested_by:
        embed.set_footer(text=translate(f"Requested by {requested_by}", locale))
    return embed


_ICONS = {
    DrawStatus.REFUSED: "\U0001f6ab",
    DrawStatus.FAILED: "\u26a0\ufe0f",
    DrawStatus.CANCELLED: "\U0001f6ab",
    DrawStatus.INTERRUPTED: "\u26a0\ufe0f",
    DrawStatus.DONE: "\u26a0\ufe0f",  # done, yet no picture: cannot happen, but never show an empty reply
}


def _may_retry(status: DrawStatus) -> bool:
    """A refusal needs another prompt or model, and a cancellation was meant; anything else may go better again."""
    return status in (DrawStatus.FAILED, DrawStatus.INTERRUPTED)


def _clipped(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"
