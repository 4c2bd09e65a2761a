"""Drawing pictures for anyone in a server: admission (cooldown, daily quota, queue), the request, the download,
the record; each step shown through a `DrawDisplay` the Discord layer provides.

Every request ends in a state a user can see and the store keeps: done (charged against the quota), refused by
the service (moderation, unsupported model: not charged), failed, cancelled, or interrupted by a restart.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from enum import Enum
from typing import Protocol

from bot.config import Settings
from bot.core.downloads import DownloadError, Picture, PictureDownloader
from bot.core.draw.options import DrawSpec
from bot.core.draw.queue import DrawRefusedError, PictureQueue, Ticket
from bot.core.durations import describe_wait
from bot.core.fusion import FusionClient, FusionError, Message, ModerationError, UnsupportedModelError
from bot.core.log_context import log_context
from bot.core.metrics import NO_METRICS, Metrics
from bot.core.store import DrawRecords, GenerationStatus, ImageGeneration

log = logging.getLogger(__name__)
NOT_SHOWN = "the picture could not be shown in Discord"

QUOTA_WINDOW_SECONDS = 24 * 3600.0
SHUTDOWN_GRACE_SECONDS = 10.0
INTERRUPTED = "Interrupted: the bot was restarting. Press Retry to draw it again."
UNEXPECTED = "Something went wrong while drawing. It has been logged; please try again."
TEXT_INSTEAD = "The service answered in words instead of drawing a picture"


class DrawStatus(Enum):
    DONE = "done"
    REFUSED = "refused"
    FAILED = "failed"
    CANCELLED = "cancelled"
    INTERRUPTED = "interrupted"

    @property
    def stored(self) -> GenerationStatus:
        return "failed" if self is DrawStatus.INTERRUPTED else self.value  # type: ignore[return-value]


@dataclass(frozen=True, slots=True)
class Requester:
    user_id: int
    guild_id: int | None
    channel_id: int
    display_name: str = ""


@dataclass(frozen=True, slots=True)
class DrawOutcome:
    """How a picture request ended: the picture, or the reason (fit to show) why there is none."""

    status: DrawStatus
    generation_id: int
    spec: DrawSpec
    picture: Picture | None = None
    reason: str = ""


class DrawDisplay(Protocol):
    """Shows one picture request while it waits, while it is drawn, and when it ended."""

    def waiting(self, place: int, waiting: int) -> None:
        """Its place in the queue changed (1 is next); returns at once."""

    def drawing(self, elapsed_seconds: float) -> None:
        """It is being drawn; called when drawing starts and then every few seconds; returns at once."""

    async def finished(self, outcome: DrawOutcome) -> int | None:
        """Show the outcome; return the id of the message that shows it (None: it could not be shown)."""
        ...


@dataclass(frozen=True, slots=True)
class DrawLimits:
    cooldown_seconds: float = 0.0
    daily_quota: int = 0  # 0: unlimited
    progress_seconds: float = 5.0
    record_in_chat: bool = False  # the prompt and picture join the channel's conversation

    @classmethod
    def from_settings(cls, settings: Settings) -> DrawLimits:
        return cls(
            cooldown_seconds=settings.draw_cooldown_seconds,
            daily_quota=settings.draw_daily_quota,
            progress_seconds=settings.draw_progress_seconds,
            record_in_chat=settings.draw_in_chat_context,
        )


@dataclass
class DrawService:
    client: FusionClient
    store: DrawRecords
    downloader: PictureDownloader
    queue: PictureQueue
    limits: DrawLimits = field(default_factory=DrawLimits)
    clock: Callable[[], float] = time.time
    metrics: Metrics = NO_METRICS
    _work: dict[int, asyncio.Task[DrawOutcome]] = field(default_factory=dict)
    _cancel_reasons: dict[int, str] = field(default_factory=dict)
    _runs: set[asyncio.Task[object]] = field(default_factory=set)
    _closing: bool = False

    async def admit(self, spec: DrawSpec, requester: Requester) -> Ticket:
        """Take the request into the queue, or raise `DrawRefusedError` saying why not (nothing is stored then, or
        the request stored cancelled, costing nothing)."""
        # One of the user's at a time, in every process, so two requests cannot both take their last picture.
        async with self.queue.admission(requester.user_id):
            if self._closing:
                raise DrawRefusedError("The bot is restarting. Please try again in a minute.")
            await self.queue.check_room(requester.user_id)
            refusal = await self._quota_refusal(requester.user_id)
            if refusal is not None:
                raise DrawRefusedError(refusal)
            generation_id = await self.store.add_generation(_generation(spec, requester, self.clock()))
            ticket = Ticket(
                generation_id, requester.user_id, requester.guild_id, spec.prompt, user_name=requester.display_name
            )
            await self._join(ticket)
            return ticket

    async def draw(self, ticket: Ticket, spec: DrawSpec, display: DrawDisplay, *, max_bytes: int) -> DrawOutcome:
        """Wait for the ticket's turn, draw, download, show and record the outcome."""
        current = asyncio.current_task()
        if current is not None:
            self._runs.add(current)  # `close` waits for these, so the outcome is shown before Discord goes away
        try:
            with log_context(guild=ticket.guild_id, picture=ticket.generation_id):
                outcome = await self._run_work(ticket, spec, display, max_bytes)
                await self._record(outcome)
                message_id = await display.finished(outcome)
                if message_id is not None:
                    await self.store.set_generation_message(ticket.generation_id, message_id)
                elif outcome.status is DrawStatus.DONE:  # drawn but never shown: nobody got it, so it costs nothing
                    await self.store.finish_generation(ticket.generation_id, "failed", error=NOT_SHOWN)
                not_shown = message_id is None and outcome.status is DrawStatus.DONE
                self.metrics.picture_ended("not_shown" if not_shown else outcome.status.value)
                return outcome
        finally:
            if current is not None:
                self._runs.discard(current)

    async def withdraw(self, ticket: Ticket) -> None:
        """Give up a request that was admitted but will not be drawn (its reply could not be started)."""
        await self.queue.withdraw(ticket)
        await self.store.finish_generation(ticket.generation_id, "cancelled", error="the reply could not be started")

    async def cancel(self, generation_id: int, reason: str) -> bool:
        """Cancel a request waiting or being drawn, and wait until it has left the queue; False when there is no
        such request in progress."""
        work = self._work.get(generation_id)
        if work is None or work.done():
            return False
        self._cancel_reasons[generation_id] = reason
        work.cancel()
        await asyncio.wait({work})
        return True

    async def settled(self) -> None:
        """Wait until no picture request is waiting, being drawn or being shown."""
        while self._runs:
            await asyncio.wait(list(self._runs))

    async def close(self) -> None:
        """Stop taking requests; interrupt those in progress and wait (bounded) until each has been told so."""
        self._closing = True
        await asyncio.gather(*(self.cancel(generation_id, INTERRUPTED) for generation_id in list(self._work)))
        if self._runs:
            await asyncio.wait(self._runs, timeout=SHUTDOWN_GRACE_SECONDS)

    async def _run_work(self, ticket: Ticket, spec: DrawSpec, display: DrawDisplay, max_bytes: int) -> DrawOutcome:
        """Queue and draw in a task of its own, which `cancel` may cancel without cancelling the caller."""
        work = asyncio.create_task(
            self._queue_and_draw(ticket, spec, display, max_bytes), name=str(ticket.generation_id)
        )
        self._work[ticket.generation_id] = work
        try:
            await asyncio.wait({work})
        except asyncio.CancelledError:
            work.cancel()
            await asyncio.gather(work, return_exceptions=True)
            raise
        finally:
            self._work.pop(ticket.generation_id, None)
        reason = self._cancel_reasons.pop(ticket.generation_id, INTERRUPTED)
        return _cancelled(ticket, spec, reason, self._closing) if work.cancelled() else _result_of(work, spec)

    async def _join(self, ticket: Ticket) -> None:
        """Join the stored request to the queue; if it is not taken (a queue shared with other processes may have
        filled up meanwhile), the stored request is cancelled, costing nothing."""
        try:
            await self.queue.join(ticket)
        except BaseException as error:
            reason = error.user_message if isinstance(error, DrawRefusedError) else "the queue did not take it"
            await self.store.finish_generation(ticket.generation_id, "cancelled", error=reason)
            raise

    async def _quota_refusal(self, user_id: int) -> str | None:
        now = self.clock()
        usage = await self.store.draw_usage(user_id, since=now - QUOTA_WINDOW_SECONDS)
        if self.limits.cooldown_seconds and usage.latest_accepted_at is not None:
            wait = usage.latest_accepted_at + self.limits.cooldown_seconds - now
            if wait > 0:
                return f"Please wait {describe_wait(wait)} before asking for another picture."
        quota = self.limits.daily_quota
        if quota and usage.drawn + await self.queue.held_by(user_id) >= quota:
            if usage.oldest_drawn_at is None:
                return f"You have {quota} picture(s) on the way, your limit for 24 hours. Wait until they are done."
            wait = usage.oldest_drawn_at + QUOTA_WINDOW_SECONDS - now
            return f"You have used your {quota} picture(s) for the last 24 hours. Try again in {describe_wait(wait)}."
        return None

    async def _queue_and_draw(
        self, ticket: Ticket, spec: DrawSpec, display: DrawDisplay, max_bytes: int
    ) -> DrawOutcome:
        async with AsyncExitStack() as turn:
            with self.metrics.picture_waiting():
                await turn.enter_async_context(self.queue.turn(ticket, display.waiting))
            await self.store.start_generation(ticket.generation_id)
            ticker = asyncio.create_task(self._show_elapsed(display))
            try:
                with self.metrics.picture_drawing():
                    url_or_refusal = await self._ask_service(ticket, spec)
            finally:
                ticker.cancel()
        if isinstance(url_or_refusal, DrawOutcome):
            return url_or_refusal
        try:
            picture = await self.downloader.fetch(url_or_refusal, max_bytes=max_bytes)
        except DownloadError as error:
            return DrawOutcome(DrawStatus.FAILED, ticket.generation_id, spec, reason=error.user_message)
        return DrawOutcome(DrawStatus.DONE, ticket.generation_id, spec, picture=picture)

    async def _ask_service(self, ticket: Ticket, spec: DrawSpec) -> str | DrawOutcome:
        """The picture's URL, or the outcome when there is none."""
        request = self.client.new_request(
            [Message(role="user", content=spec.drawing_prompt())], user_id=str(ticket.user_id), **spec.request_fields()
        )
        try:
            result = await self.client.complete(request, picture=True)
        except (ModerationError, UnsupportedModelError) as refusal:
            return DrawOutcome(DrawStatus.REFUSED, ticket.generation_id, spec, reason=refusal.user_message)
        except FusionError as error:
            log.info("picture %d failed: %s", ticket.generation_id, error)
            return DrawOutcome(DrawStatus.FAILED, ticket.generation_id, spec, reason=error.user_message)
        if result.picture_url is None:
            said = result.text.strip()[:300]
            reason = f"{TEXT_INSTEAD}: {said}" if said else f"{TEXT_INSTEAD}."
            return DrawOutcome(DrawStatus.REFUSED, ticket.generation_id, spec, reason=reason)
        return result.picture_url

    async def _show_elapsed(self, display: DrawDisplay) -> None:
        started = asyncio.get_running_loop().time()
        while True:
            display.drawing(asyncio.get_running_loop().time() - started)
            await asyncio.sleep(self.limits.progress_seconds)

    async def _record(self, outcome: DrawOutcome) -> None:
        error = outcome.reason or None
        await self.store.finish_generation(outcome.generation_id, outcome.status.stored, error=error)
        if outcome.status is DrawStatus.DONE and self.limits.record_in_chat:
            await self._record_in_chat(outcome)

    async def _record_in_chat(self, outcome: DrawOutcome) -> None:
        generation = await self.store.generation(outcome.generation_id)
        if generation is None or outcome.picture is None:
            return
        await self.store.append_turn(
            generation.channel_id,
            "user",
            outcome.spec.drawing_prompt(),
            author_id=generation.user_id,
            guild_id=generation.guild_id,
        )
        await self.store.append_turn(
            generation.channel_id,
            "assistant",
            f"[picture: {outcome.picture.filename}]",
            guild_id=generation.guild_id,
        )


def _generation(spec: DrawSpec, requester: Requester, now: float) -> ImageGeneration:
    return ImageGeneration(
        channel_id=requester.channel_id,
        user_id=requester.user_id,
        guild_id=requester.guild_id,
        prompt=spec.prompt,
        model=spec.model,
        size=spec.size,
        seed=spec.seed,
        scale=spec.scale,
        controlnet=spec.controlnet,
        created_at=now,
    )


def _result_of(work: asyncio.Task[DrawOutcome], spec: DrawSpec) -> DrawOutcome:
    """The outcome of finished work; a bug becomes a failure the user is told about (and the log has in full)."""
    error = work.exception()
    if error is None:
        return work.result()
    generation_id = work.get_name()
    if isinstance(error, DrawRefusedError):  # the queue could not go on (a shared queue lost its database)
        log.warning("picture %s failed: %s", generation_id, error)
        return DrawOutcome(DrawStatus.FAILED, int(generation_id), spec, reason=error.user_message)
    log.error("picture %s failed unexpectedly", generation_id, exc_info=error)
    return DrawOutcome(DrawStatus.FAILED, int(generation_id), spec, reason=UNEXPECTED)


def _cancelled(ticket: Ticket, spec: DrawSpec, reason: str, closing: bool) -> DrawOutcome:
    status = DrawStatus.INTERRUPTED if closing and reason == INTERRUPTED else DrawStatus.CANCELLED
    return DrawOutcome(status, ticket.generation_id, spec, reason=reason)
