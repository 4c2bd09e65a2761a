"""Showing a growing answer in Discord: one place holds the newest text, one editor pushes it.

The editor sends an edit, waits for it to return, then sends whatever is newest. discord.py already waits when a
rate-limit bucket is spent (it reads Discord's headers), so this paces itself to exactly what Discord allows: no
fixed delay, no 429, and the first text is shown as soon as the bucket has room. Past Discord's length limit the
answer continues in further messages (see `bot.core.chunking`); a marker shows while it is still being written.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import logging
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import aiohttp
import discord

from bot.app.i18n import translate
from bot.core.chunking import DISCORD_MESSAGE_LIMIT, split_bounded

log = logging.getLogger(__name__)

GENERATING_MARKER = " \u258c"  # a block cursor after the text while it grows
_MARKER_ROOM = len(GENERATING_MARKER)
FRESH_TEXT_WAIT = 0.05  # seconds a reader leaving its source unread has, at the editor's turn, to bring newer text
FINAL_TEXT_GAP = 0.01  # seconds of its turn the final text still waits (at most)
DEFAULT_MAX_PARTS = 5  # messages one reply may take; past them the whole text is attached as a file
OVERFLOW_FILENAME = "answer.md"
OVERFLOW_LIVE = "Too long for {count} messages: the whole answer will be attached as answer.md."
OVERFLOW_DONE = "Too long for {count} messages: the whole answer is attached as answer.md."
FINAL_ATTEMPTS = 4  # tries of each request of the final render, waiting EDIT_BACKOFF, then twice as long, ...
EDIT_BACKOFF = 0.5
EDIT_TIMEOUT = 20.0  # seconds one create or edit may take, a rate-limit wait inside discord.py included
MAX_LIVE_BACKOFF = 8.0  # the longest pause after failed live edits before the next one
JOURNAL_SECONDS = 3.0  # how often the text shown so far is saved for a repair after a crash
# Discord's codes for a message or channel that is gone or out of reach: editing it again can only fail.
GONE_CODES = frozenset({10003, 10008, 50001, 50013})


class ReplyTarget(Protocol):
    """The messages one reply is shown in: part 0 is the first message, later parts follow it."""

    @property
    def message_ids(self) -> list[int]: ...

    @property
    def bucket(self) -> str:
        """The rate-limit bucket its edits fall in (see `bot.app.ratelimits.bucket_key`)."""
        ...

    @property
    def new_part_bucket(self) -> str:
        """The rate-limit bucket creating its next part falls in."""
        ...

    async def show(
        self,
        index: int,
        content: str,
        view: discord.ui.View | None,
        files: Sequence[discord.File],
        embeds: Sequence[discord.Embed] = (),
    ) -> None:
        """Create part `index` (the next one) or edit it; `view` None removes its buttons."""
        ...

    async def drop_after(self, count: int) -> None:
        """Delete parts beyond the first `count` (an answer that came out shorter than the one it replaces)."""
        ...


class ReplyJournal(Protocol):
    """Where a reply notes what a repair after a crash needs: its messages as each is created, the text shown."""

    async def messages(self, message_ids: list[int]) -> None: ...

    async def text(self, text: str) -> None: ...


class _ReplyGoneError(Exception):
    """Discord said a message of the reply, or its channel, is gone or out of reach."""


@dataclass
class _Shown:
    content: str
    view: discord.ui.View | None


@dataclass(frozen=True)
class _Render:
    """One state of the reply to show: its text, the buttons of its last part, and what that part carries."""

    text: str
    view: discord.ui.View | None
    files: Sequence[discord.File] = ()
    embeds: Sequence[discord.Embed] = ()
    whole_text: str | None = None  # what a final text too long for the messages attaches as a file (None: text)


@dataclass
class StreamingReply:
    """Renders the newest text into `target`; call `update` as text arrives and `finish` once at the end."""

    target: ReplyTarget
    live_view: discord.ui.View | None = None
    limit: int = DISCORD_MESSAGE_LIMIT
    pace: Callable[[str], float] = lambda bucket: 0.0  # seconds to wait after an edit (see bot.app.ratelimits)
    has_room: Callable[[str], bool] = lambda bucket: True  # whether a live request leaves the bucket's room
    claim: Callable[[str], float] = lambda bucket: (
        0.0
    )  # 0: a live request may go (its place taken), or how long to wait
    marker: str = GENERATING_MARKER
    max_parts: int = DEFAULT_MAX_PARTS
    locale: str | None = None  # of the reader, for the bot's own notes
    journal: ReplyJournal | None = None
    on_gone: Callable[[], None] | None = None  # called once if the reply's message or channel is gone
    on_shown: Callable[[bool], None] | None = None  # called after each message created or edited (final or live)
    gone: bool = False
    first_text_at: float | None = None  # the event loop's time when a message of it was first created or edited
    _text: str = ""
    _journaled_at: float = float("-inf")
    _journaled_ids: list[int] = field(default_factory=list)
    _live_failures: int = 0
    _final: _Render | None = None
    _shown: list[_Shown] = field(default_factory=list)
    _wake: asyncio.Event = field(default_factory=asyncio.Event)
    _finishing: asyncio.Event = field(default_factory=asyncio.Event)
    _editor: asyncio.Task[bool] | None = None
    wants_text: asyncio.Event = field(default_factory=asyncio.Event)
    """Set while newer text would be shown at once; a reader may leave its source unread while it is clear
    (back-pressure: `FusionClient.stream(wants_text=...)` takes this event)."""

    def __post_init__(self) -> None:
        self.wants_text.set()

    def start(self) -> None:
        self._editor = asyncio.create_task(self._edit_until_final(), name="streaming-reply-editor")

    def update(self, text: str) -> None:
        """Make `text` the newest answer to show; returns at once."""
        self._text = text
        self._wake.set()
        self.wants_text.clear()

    async def finish(
        self,
        text: str,
        view: discord.ui.View | None = None,
        files: Sequence[discord.File] = (),
        embeds: Sequence[discord.Embed] = (),
        *,
        whole_text: str | None = None,
    ) -> bool:
        """Show `text` as the final answer, without the marker, with `view` (and files, embeds) on the last part;
        wait until shown, and say whether it was (each request is tried `FINAL_ATTEMPTS` times; never when the reply
        is `gone`). A text longer than `max_parts` messages ends with a note and `whole_text` (by default the text
        itself) attached as `answer.md`."""
        self._final = _Render(text, view, files, embeds, whole_text)
        self._wake.set()
        self._finishing.set()
        if self._editor is None:
            self.start()
        assert self._editor is not None
        return await self._editor

    async def abandon(self) -> None:
        """Stop editing without a final render (the bot is going away)."""
        if self._editor is not None:
            self._editor.cancel()
            await asyncio.gather(self._editor, return_exceptions=True)

    async def _edit_until_final(self) -> bool:
        try:
            if self.target.message_ids:  # a deferred response exists before any text
                await self._journal_messages()
            after_turn = False
            while True:
                await self._next_text(after_turn)
                final = self._final
                if final is None:
                    if self._text:
                        await self._render(_Render(self._text + self.marker, self.live_view))
                        await self._journal_text()
                        await self._wait_for_turn()
                        after_turn = True
                    continue
                return await self._render(final, final=True)
        except _ReplyGoneError as error:
            log.info("a reply's message or channel is gone (%s); it is no longer edited", error)
            self.gone = True
            if self.on_gone is not None:
                self.on_gone()
            return False
        finally:
            self.wants_text.set()  # nothing to wait for any more: never leave a reader waiting for `wants_text`

    async def _next_text(self, after_turn: bool) -> None:
        """Wait for text to show. Text that came while the editor waited for its turn may not be the newest: a reader
        leaving its source unread until `wants_text` is set (`FusionClient.stream`) gets a moment to bring more."""
        if after_turn and self._wake.is_set() and self._final is None:
            self._wake.clear()
            self.wants_text.set()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(FRESH_TEXT_WAIT):
                    await self._wake.wait()
        elif not self._wake.is_set():
            self.wants_text.set()
            await self._wake.wait()
        self._wake.clear()

    async def _wait_for_turn(self) -> None:
        """Pause as the bucket's pace asks, so edits spread over the window, then until the next live edit has its
        place in the bot's global limit; the final text waits at most `FINAL_TEXT_GAP` of it."""
        # A little jitter keeps answers started together from editing in lockstep (one burst of work per window).
        delay = self.pace(self.target.bucket) * random.uniform(0.8, 1.2)
        while True:
            if delay > 0:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(delay):
                        await self._finishing.wait()
                        # A short pace may be the margin past a window the last edit spent (`ratelimits`): keep that.
                        await asyncio.sleep(FINAL_TEXT_GAP)
                        return
            delay = self.claim(self.target.bucket)
            if delay <= 0:
                return

    def _parts(self, render: _Render, *, final: bool) -> tuple[list[str], Sequence[discord.File]]:
        """The messages `render` takes, and the files of the last one (with the whole text, past `max_parts`)."""
        note = (OVERFLOW_DONE if final else OVERFLOW_LIVE).format(count=self.max_parts)
        note = f"\n\n-# \u2026 {translate(note, self.locale)}"
        parts, overflowed = (
            split_bounded(render.text, self.limit - _MARKER_ROOM, self.max_parts, len(note))
            if render.text
            else ([], False)
        )
        if final and not parts:
            parts = ["" if render.embeds else "\u200b"]  # Discord refuses a message with nothing in it
        if not overflowed:
            return parts, render.files
        parts[-1] += note
        if not final:
            return parts, render.files
        whole = render.text if render.whole_text is None else render.whole_text
        document = discord.File(io.BytesIO(whole.encode()), filename=OVERFLOW_FILENAME)
        return parts, [*render.files, document]

    async def _render(self, render: _Render, *, final: bool = False) -> bool:
        """Show `render`; say whether every part was shown. A live render's failure waits for the next one."""
        parts, files = self._parts(render, final=final)
        requests, shown = 0, True
        for index, content in enumerate(parts):
            last = index == len(parts) - 1
            wanted = _Shown(content, render.view if last else None)
            attached = (files, render.embeds) if last else ((), ())
            if index < len(self._shown) and self._shown[index] == wanted and not any(attached):
                continue
            if index > len(self._shown):  # an earlier part could not be created: this one cannot follow it yet
                return False
            if index == len(self._shown) and index and not final and not self.has_room(self.target.new_part_bucket):
                break  # the next part waits for a later render, leaving the bucket's room to the bot's others
            if requests:  # the previous part's request may have spent the window: see `_wait_for_turn`
                await asyncio.sleep(FINAL_TEXT_GAP)
            done = await self._show(index, wanted, *attached, attempts=FINAL_ATTEMPTS if final else 1)
            if done and self.on_shown is not None:
                self.on_shown(final)
            shown, requests = done and shown, requests + 1
        if final and len(self._shown) > len(parts):
            await self.target.drop_after(len(parts))
            del self._shown[len(parts) :]
        if not final:
            await self._back_off(shown)
        return shown

    async def _show(
        self,
        index: int,
        wanted: _Shown,
        files: Sequence[discord.File],
        embeds: Sequence[discord.Embed],
        *,
        attempts: int,
    ) -> bool:
        """Create or edit part `index`, trying `attempts` times through connection errors and Discord's 5xx; raise
        `_ReplyGoneError` at once when its message or channel is gone. Say whether it was shown."""
        for attempt in range(attempts):
            if attempt:
                await asyncio.sleep(EDIT_BACKOFF * 2 ** (attempt - 1))
            for file in files:
                file.reset()  # a failed try may have read it
            try:
                async with asyncio.timeout(EDIT_TIMEOUT):  # discord.py's own requests have none short of minutes
                    await self.target.show(index, wanted.content, wanted.view, files, embeds)
            except discord.HTTPException as error:
                if error.code in GONE_CODES:
                    raise _ReplyGoneError(f"{error.status} {error.code}") from error
                failure: BaseException = error
                if error.status < 500:  # refused as sent: the same request would be refused again
                    break
            except (aiohttp.ClientError, OSError, TimeoutError) as error:  # discord.py retries only some of these
                failure = error
            else:
                await self._record_shown(index, wanted)
                return True
        log.warning("could not show part %d of a reply: %r", index, failure)
        return False

    async def _record_shown(self, index: int, wanted: _Shown) -> None:
        if self.first_text_at is None:
            self.first_text_at = asyncio.get_running_loop().time()
        if index < len(self._shown):
            self._shown[index] = wanted
            return
        self._shown.append(wanted)
        await self._journal_messages()

    async def _back_off(self, shown: bool) -> None:
        """After failed live edits, wait longer each time (bounded) before the next, instead of hammering."""
        self._live_failures = 0 if shown else self._live_failures + 1
        if self._live_failures:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(min(EDIT_BACKOFF * 2**self._live_failures, MAX_LIVE_BACKOFF)):
                    await self._finishing.wait()

    async def _journal_messages(self) -> None:
        ids = self.target.message_ids
        if self.journal is not None and ids != self._journaled_ids:  # a deferred response filled: the same message
            self._journaled_ids = list(ids)
            await self.journal.messages(ids)

    async def _journal_text(self) -> None:
        now = asyncio.get_running_loop().time()
        if self.journal is not None and now - self._journaled_at >= JOURNAL_SECONDS:
            self._journaled_at = now
            await self.journal.text(self._text)
