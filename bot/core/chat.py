"""Answering in a channel: context from the store, the fusion stream, the answer shown as it is written.

Shared by `/chat`, Regenerate and channel conversations (`cogs.chat`); how an answer is shown is the caller's
`AnswerDisplay` (in Discord, `bot.app.answers.StreamedAnswer`). Every answer ends in a defined state a user can see:
done, failed with a short reason, stopped by the Stop button (or its message deleted), or interrupted by a
shutdown; the partial text of the last three is kept and marked, and only a finished answer is ever sent back as
context. One stream writes an answer at a time.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from contextlib import aclosing
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from bot.core.answer_display import AnswerDisplay, AnswerEnding, Asker, DisplayFor, Outcome
from bot.core.downloads import DownloadError, Picture, PictureDownloader
from bot.core.errors import UserFacingError
from bot.core.fusion import ChatRequest, FinalResult, FusionClient, Message, StreamFailed, TextPiece
from bot.core.log_context import log_context
from bot.core.metrics import NO_METRICS, Metrics, error_kind
from bot.core.personas import persona_for
from bot.core.store import AnswerRecords, ChatRecords, ContextBudget, StoreError
from bot.core.usage import ChatUsage, answer_tokens

log = logging.getLogger(__name__)

SHUTDOWN_GRACE_SECONDS = 10.0
ANSWER_OPTIONS = frozenset({"temperature", "top_p", "max_new_tokens"})  # what /chat lets an asker choose
RECORDING_WAIT_SECONDS = 10.0  # the longest a Regenerate waits for the answer it replaces to be stored
DEFAULT_UPLOAD_LIMIT = 10 * 1024 * 1024  # Discord's per-file limit when an interaction does not say


class AnswerBusyError(UserFacingError):
    """The answer is being written already (a second Regenerate, or one while Stop is taking effect)."""


@dataclass(frozen=True, slots=True)
class _Asking:
    """One answer asked for: its request and turns, who asked it where (`guild_id` None: a DM), and the event loop's
    time when it was asked."""

    request: ChatRequest
    answer_id: int
    question_id: int | None  # None: a Regenerate, whose question is stored already
    user_id: int
    guild_id: int | None
    asked_at: float


@dataclass
class _Answer:
    """What is known of one answer while it streams."""

    text: str = ""
    outcome: Outcome = Outcome.DONE
    note: str = ""
    result: FinalResult | None = None
    picture: bool = False  # the text is the picture's URL: stored, but the picture is shown instead
    chunks: int = 0  # text pieces read
    error: str | None = None  # the failure's kind (`bot.core.metrics.error_kind`)
    shown_at: float | None = None  # the event loop's time when its end was shown

    def count(self, metrics: Metrics, asked_at: float, first_text_at: float | None) -> None:
        """Record the answer; how long its text took to appear only for one that ended done."""
        done = self.outcome is Outcome.DONE
        first = first_text_at - asked_at if done and first_text_at is not None else None
        final = self.shown_at - asked_at if done and self.shown_at is not None else None
        error = self.error if self.outcome is Outcome.FAILED else None
        metrics.answer_ended(self.outcome.value, error, chunks=self.chunks, first_text=first, final_text=final)


@dataclass
class ChatService:
    client: FusionClient
    store: ChatRecords
    budget: ContextBudget
    downloader: PictureDownloader | None = None
    metrics: Metrics = NO_METRICS
    default_persona: str = ""  # DEFAULT_PERSONA: where neither the channel nor its server has one
    usage: ChatUsage | None = None  # where each answer's tokens are recorded; None: nowhere
    _streams: dict[int, asyncio.Task[None]] = field(default_factory=dict)
    # Answers being written, from their claim until they are stored; set when released. One stream per answer.
    _claims: dict[int, asyncio.Event] = field(default_factory=dict)
    _answers: set[asyncio.Task[Any]] = field(default_factory=set)
    _closing: bool = False

    async def answer(
        self,
        channel_id: int,
        prompt: str,
        asker: Asker,
        display_for: DisplayFor,
        *,
        options: dict[str, Any] | None = None,
        max_picture_bytes: int = DEFAULT_UPLOAD_LIMIT,
        name_speakers: bool = False,
        guild_id: int | None = None,
        parent_id: int | None = None,
    ) -> Outcome:
        """Store the question, stream the answer into its display, store the answer; return how it ended.

        With `name_speakers` (a channel several people talk in), each question in the context carries its
        author's display name, so the model can tell them apart. `guild_id` is the channel's server (None: a
        direct message), stored with both turns so that the process running its shard repairs the answer. The
        channel's persona leads the context (a thread's: its own, or that of its channel `parent_id`).
        """
        self._refuse_if_closing()
        asked_at = asyncio.get_running_loop().time()
        chosen = {name: value for name, value in (options or {}).items() if value is not None}
        # The question and its answer's place are stored together, so two askers in one channel never interleave.
        with log_context(guild=guild_id, channel=channel_id):
            persona = await persona_for(
                self.store, self.default_persona, channel_id, guild_id=guild_id, parent_id=parent_id
            )
            exchange = await self.store.start_exchange(
                channel_id,
                prompt,
                self.budget,
                author_id=asker.user_id,
                author_name=asker.display_name,
                name_speakers=name_speakers,
                request_options=chosen,
                guild_id=guild_id,
                persona=persona,
            )
        request = self.client.new_request(exchange.messages, user_id=str(asker.user_id), **chosen)
        answer_id = exchange.answer_id
        self._claim(answer_id)
        try:
            with log_context(guild=guild_id, channel=channel_id, answer=answer_id):
                display = display_for(answer_id, (), _AnswerJournal(self.store, answer_id))
                asking = _Asking(request, answer_id, exchange.question_id, asker.user_id, guild_id, asked_at)
                return await self._stream_answer(asking, display, max_picture_bytes)
        finally:
            self._release(answer_id)

    async def regenerate(
        self,
        answer_id: int,
        asker_id: int,
        display_for: DisplayFor,
        *,
        name_speakers: bool = False,
        parent_id: int | None = None,
    ) -> Outcome:
        """Replace a stored answer with a new one to the same context and options, in the display made for the
        messages that show it now, in the persona its channel (a thread of `parent_id`) has now.

        Raises `AnswerBusyError` when that answer is being written or regenerated already: the check and the claim
        are one step, so two presses at once run one stream.
        """
        self._refuse_if_closing()
        asked_at = asyncio.get_running_loop().time()
        await self._wait_while_recorded(answer_id)
        self._claim(answer_id)  # no await since the check in it: of two presses, one claims and one is refused
        try:
            with log_context(answer=answer_id):
                turn = await self.store.turn(answer_id)
                if turn is None or turn.role != "assistant":
                    raise LookupError(f"no answer {answer_id}")
                persona = await persona_for(
                    self.store, self.default_persona, turn.channel_id, guild_id=turn.guild_id, parent_id=parent_id
                )
                messages = await self.store.context(
                    turn.channel_id, self.budget, before_turn=answer_id, name_speakers=name_speakers, persona=persona
                )
                await self.store.update_turn(answer_id, complete=False, writing=True)
                request = self._request_again(messages, asker_id, turn.request_options)
                display = display_for(answer_id, turn.message_ids, _AnswerJournal(self.store, answer_id))
                asking = _Asking(request, answer_id, None, asker_id, turn.guild_id, asked_at)
                return await self._stream_answer(asking, display, DEFAULT_UPLOAD_LIMIT)
        finally:
            self._release(answer_id)

    def _request_again(self, messages: list[Message], asker_id: int, stored: dict[str, Any]) -> ChatRequest:
        """The request an answer was asked with; stored options this version cannot use fall back to the defaults."""
        options = {name: value for name, value in stored.items() if name in ANSWER_OPTIONS}
        try:
            return self.client.new_request(messages, user_id=str(asker_id), **options)
        except ValidationError:
            log.warning("stored answer options %s are not valid; regenerating with the defaults", sorted(options))
            return self.client.new_request(messages, user_id=str(asker_id))

    def _refuse_if_closing(self) -> None:
        if self._closing:
            raise UserFacingError("The bot is restarting. Please ask again in a minute.")

    def is_streaming(self, answer_id: int) -> bool:
        """Whether the answer is being written (and not only recorded, its text shown in full)."""
        return answer_id in self._claims and not self._being_recorded(answer_id)

    def _claim(self, answer_id: int) -> None:
        if answer_id in self._claims:
            raise AnswerBusyError("This answer is still being written.")
        self._claims[answer_id] = asyncio.Event()

    def _release(self, answer_id: int) -> None:
        self._claims.pop(answer_id).set()

    def _being_recorded(self, answer_id: int) -> bool:
        stream = self._streams.get(answer_id)
        return stream is not None and stream.done()

    async def _wait_while_recorded(self, answer_id: int) -> None:
        """An answer whose text is complete is still shown and stored for a moment: a press then waits for it."""
        claim = self._claims.get(answer_id)
        if claim is not None and self._being_recorded(answer_id):
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(RECORDING_WAIT_SECONDS):
                    await claim.wait()

    def stop(self, answer_id: int) -> bool:
        """Stop an answer being written; False when it is not (finished, or from before a restart)."""
        stream = self._streams.get(answer_id)
        if stream is None or stream.done():
            return False
        stream.cancel()
        return True

    async def settled(self) -> None:
        """Wait until no answer is being written (as `close` does, without interrupting any)."""
        while self._answers:
            await asyncio.wait(list(self._answers))

    async def close(self) -> None:
        """Interrupt every answer being written and wait (bounded) until each has been marked as such."""
        self._closing = True
        for stream in list(self._streams.values()):
            stream.cancel()
        if self._answers:
            await asyncio.wait(self._answers, timeout=SHUTDOWN_GRACE_SECONDS)

    async def _stream_answer(self, asking: _Asking, reply: AnswerDisplay, max_picture_bytes: int) -> Outcome:
        """Stream the answer into `reply`, store and show how it ended, and count it (its tokens and its metrics)."""
        answer_id = asking.answer_id
        current = asyncio.current_task()
        if current is not None:
            self._answers.add(current)
        reply.start()
        progress = _Answer()
        consumer = asyncio.create_task(self._consume(asking.request, reply, progress), name=f"answer-{answer_id}")
        reply.on_gone = consumer.cancel  # a reply deleted while it streams stops like Stop: nobody reads on
        self._streams[answer_id] = consumer
        try:
            await _wait_for_consumer(consumer, progress, closing=lambda: self._closing)
            picture = await self._picture(progress, max_picture_bytes)
            ending = AnswerEnding(progress.outcome, progress.text, progress.note, picture, progress.picture)
            # The end is stored and counted while the last edit is sent, neither waiting for the other: a slow
            # database does not hold the final text back, nor a slow (retried) edit the record and the quota.
            recording = asyncio.create_task(self._record_ending(asking, progress), name=f"record-{answer_id}")
            self._answers.add(recording)  # a shutdown waits for it too; cancelling this task does not cancel it
            recording.add_done_callback(self._answers.discard)
            shown = await reply.finish(ending)
            await recording
            progress.shown_at = asyncio.get_running_loop().time() if shown else None
            # Not shown (Discord failing past every retry): left as being written, for the repair at start-up.
            await _stored_or_logged(
                self.store.update_turn(answer_id, message_ids=reply.message_ids, writing=not (shown or reply.gone))
            )
        except BaseException as error:  # cancelled past Stop (the bot going away), or a bug: counted all the same
            progress.outcome = Outcome.INTERRUPTED if isinstance(error, asyncio.CancelledError) else Outcome.FAILED
            progress.error = progress.error or error_kind(error)
            raise
        finally:
            await reply.abandon()  # only does something when an error ended the answer before its last edit
            self._streams.pop(answer_id, None)
            if current is not None:
                self._answers.discard(current)
            progress.count(self.metrics, asking.asked_at, reply.first_text_at)
        return progress.outcome

    async def _consume(self, request: ChatRequest, reply: AnswerDisplay, progress: _Answer) -> None:
        async with aclosing(self.client.stream(request, wants_text=reply.wants_text)) as events:
            async for event in events:
                if isinstance(event, TextPiece):
                    progress.text += event.text
                    progress.chunks += 1
                    reply.update(progress.text)
                elif isinstance(event, FinalResult):
                    progress.text, progress.result = event.text, event
                    if event.truncated:
                        progress.note = "*(The answer reached its length limit.)*"
                elif isinstance(event, StreamFailed):
                    progress.outcome = Outcome.FAILED
                    progress.error = error_kind(event.error)
                    progress.note = f"\u26a0\ufe0f {event.error.user_message}"

    async def _picture(self, progress: _Answer, max_bytes: int) -> Picture | None:
        result = progress.result
        if result is None or result.picture_url is None:
            return None
        progress.picture = True
        if self.downloader is None:
            progress.note = "The picture could not be downloaded: downloads are not set up."
            return None
        try:
            return await self.downloader.fetch(result.picture_url, max_bytes=max_bytes)
        except DownloadError as error:
            progress.note = f"\u26a0\ufe0f {error.user_message}"
            return None

    async def _spent(self, asking: _Asking, progress: _Answer) -> None:
        """Record the answer's tokens for its asker (what a stopped or failed one had written, estimated)."""
        spent = answer_tokens(progress.result, asking.request.messages, progress.text)
        if self.usage is not None and spent is not None:
            await self.usage.record(asking.user_id, asking.guild_id, asking.answer_id, spent)

    async def _record_ending(self, asking: _Asking, progress: _Answer) -> None:
        await self._record(asking.answer_id, asking.question_id, progress)
        await _stored_or_logged(self._spent(asking, progress))

    async def _record(self, answer_id: int, question_id: int | None, progress: _Answer) -> None:
        """Store how the answer ended; a database that fails here is logged, and the final text still shown."""
        done = progress.outcome is Outcome.DONE
        usable = done and bool(progress.text.strip())  # a blank answer is kept for the record, never as context
        await _stored_or_logged(self.store.update_turn(answer_id, content=progress.text, complete=usable))
        if not done and question_id is not None and not progress.text:
            await _stored_or_logged(self.store.update_turn(question_id, complete=False))


@dataclass(frozen=True, slots=True)
class _AnswerJournal:
    """Keeps in the store what a repair after a crash needs."""

    store: AnswerRecords
    answer_id: int

    async def messages(self, message_ids: list[int]) -> None:
        await _stored_or_logged(self.store.update_turn(self.answer_id, message_ids=message_ids))

    async def text(self, text: str) -> None:
        await _stored_or_logged(self.store.update_turn(self.answer_id, content=text))


async def _stored_or_logged(write: Awaitable[None]) -> None:
    """A write the answer can go on without: the reply matters more to its reader than the record."""
    try:
        await write
    except StoreError as error:
        log.error("could not store an answer's progress: %s", error)


async def _wait_for_consumer(consumer: asyncio.Task[None], progress: _Answer, closing: Callable[[], bool]) -> None:
    """Wait for the stream to end; tell a Stop (the consumer cancelled) from our own cancellation."""
    try:
        await asyncio.shield(consumer)
    except asyncio.CancelledError:
        if not consumer.cancelled():
            consumer.cancel()
            await asyncio.gather(consumer, return_exceptions=True)
            raise
        interrupted = closing()
        progress.outcome = Outcome.INTERRUPTED if interrupted else Outcome.STOPPED
        progress.note = (
            "\u26a0\ufe0f Interrupted: the bot was restarting. Press Regenerate to try again."
            if interrupted
            else "\u23f9\ufe0f Stopped."
        )
