"""The streaming editor: one edit at a time, always the newest text, the marker only while generating."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import discord

from bot.app.streaming import FINAL_TEXT_GAP, GENERATING_MARKER, StreamingReply
from bot.core.chunking import join_parts


class SlowTarget:
    """A reply target whose every show waits until the test lets it return, like a rate-limited edit."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.views: list[discord.ui.View | None] = []
        self.shows: list[tuple[int, str]] = []
        self.release = asyncio.Semaphore(0)
        self.showing = asyncio.Event()
        self.started_at: list[float] = []  # event-loop time each show began and returned
        self.returned_at: list[float] = []
        self.files: dict[int, list[discord.File]] = {}  # the files each part was last shown with

    bucket = new_part_bucket = "webhook:1/token"

    @property
    def message_ids(self) -> list[int]:
        return list(range(len(self.parts)))

    async def show(
        self,
        index: int,
        content: str,
        view: discord.ui.View | None,
        files: Sequence[discord.File],
        embeds: Sequence[discord.Embed] = (),
    ) -> None:
        self.started_at.append(asyncio.get_running_loop().time())
        self.showing.set()
        await self.release.acquire()
        self.shows.append((index, content))
        self.files[index] = list(files)
        if index < len(self.parts):
            self.parts[index], self.views[index] = content, view
        else:
            self.parts.append(content)
            self.views.append(view)
        self.returned_at.append(asyncio.get_running_loop().time())

    async def drop_after(self, count: int) -> None:
        del self.parts[count:]


async def test_updates_during_a_pending_edit_collapse_into_the_newest_text() -> None:
    target = SlowTarget()
    reply = StreamingReply(target)
    reply.start()
    reply.update("a")
    await target.showing.wait()  # the first edit is in flight
    for text in ("ab", "abc", "abcd"):
        reply.update(text)
    target.release.release()  # first edit returns
    finishing = asyncio.create_task(reply.finish("abcde"))
    for _ in range(3):
        target.release.release()
    await finishing
    shown = [content for _, content in target.shows]
    assert shown[0] == "a" + GENERATING_MARKER and shown[-1] == "abcde"
    assert set(shown[1:-1]) <= {"abcd" + GENERATING_MARKER}  # never the stale "ab" or "abc"


async def test_final_reply_holds_the_whole_answer_without_the_marker() -> None:
    target = SlowTarget()
    reply = StreamingReply(target)
    reply.start()
    text = "".join(f"Paragraph {i}. " + "word " * 60 + "\n\n" for i in range(20))
    for _ in range(200):
        target.release.release()
    for end in range(0, len(text), 500):
        reply.update(text[:end])
        await asyncio.sleep(0)
    view = discord.ui.View()
    await reply.finish(text, view)

    assert len(target.parts) > 1
    assert all(len(part) <= 2000 for part in target.parts)
    assert join_parts(target.parts) == text
    assert not any(part.endswith(GENERATING_MARKER) for part in target.parts)
    assert target.views[-1] is view and all(v is None for v in target.views[:-1])


async def test_an_answer_past_its_messages_ends_with_the_whole_of_it_attached() -> None:
    target = SlowTarget()
    reply = StreamingReply(target, max_parts=3)
    reply.start()
    text = "".join(f"Paragraph {i}. " + "word " * 60 + "\n\n" for i in range(40))  # about 7 messages
    for _ in range(200):
        target.release.release()
    for end in range(0, len(text), 500):
        reply.update(text[:end])
        await asyncio.sleep(0)
    live_parts = len(target.parts)
    await reply.finish(text + "\n\n*(a note)*", discord.ui.View(), whole_text=text)

    assert live_parts <= 3 and len(target.parts) == 3
    assert all(len(part) <= 2000 for part in target.parts)
    assert target.parts[-1].endswith("the whole answer is attached as answer.md.")
    (document,) = target.files[2]
    assert document.filename == "answer.md"
    assert document.fp.read() == text.encode()
    assert "".join(target.parts).startswith(text[:4000])


async def test_nothing_is_shown_before_the_first_text() -> None:
    target = SlowTarget()
    target.release.release()
    reply = StreamingReply(target)
    reply.start()
    reply.update("")
    await reply.finish("done")
    assert target.shows == [(0, "done")]


async def test_edits_wait_for_the_buckets_pace_but_the_final_text_does_not() -> None:
    target = SlowTarget()
    for _ in range(10):
        target.release.release()
    asked: list[str] = []

    def pace(bucket: str) -> float:
        asked.append(bucket)
        return 3600.0  # far longer than the test may take: only finishing can end the wait

    reply = StreamingReply(target, pace=pace)
    reply.start()
    reply.update("first")
    await target.showing.wait()
    reply.update("second")  # arrives while the editor waits for its turn: not shown on its own
    await asyncio.wait_for(reply.finish("final"), timeout=5)

    assert [content for _, content in target.shows] == ["first" + GENERATING_MARKER, "final"]
    assert asked == ["webhook:1/token"]


async def test_the_reply_wants_text_only_when_it_could_show_it_at_once() -> None:
    target = SlowTarget()
    waiting_for_turn = asyncio.Event()

    def pace(bucket: str) -> float:
        waiting_for_turn.set()
        return 3600.0  # far longer than the test may take

    reply = StreamingReply(target, pace=pace)
    assert reply.wants_text.is_set(), "nothing shown yet: the first text is shown at once"
    reply.start()
    reply.update("first")
    assert not reply.wants_text.is_set()
    await target.showing.wait()
    reply.update("second")
    assert not reply.wants_text.is_set(), "the edit is in flight: newer text would wait"
    target.release.release()
    await waiting_for_turn.wait()
    assert not reply.wants_text.is_set(), "waiting for its turn, with text to show"

    finishing = asyncio.create_task(reply.finish("final"))
    target.release.release()
    await asyncio.wait_for(finishing, timeout=5)
    assert reply.wants_text.is_set(), "a finished reply never leaves a reader waiting for wants_text"


async def test_the_reply_wants_text_again_once_its_turn_comes() -> None:
    target = SlowTarget()
    for _ in range(10):
        target.release.release()
    reply = StreamingReply(target, pace=lambda bucket: 0.05)
    reply.start()
    reply.update("first")
    assert not reply.wants_text.is_set()
    await asyncio.wait_for(reply.wants_text.wait(), timeout=5)  # shown, then its turn came
    assert [content for _, content in target.shows] == ["first" + GENERATING_MARKER]
    await reply.finish("first")


async def test_at_its_turn_the_editor_wants_text_and_shows_what_the_reader_brings_rather_than_older_text() -> None:
    target = SlowTarget()
    for _ in range(10):
        target.release.release()
    waiting_for_turn = asyncio.Event()

    def pace(bucket: str) -> float:
        waiting_for_turn.set()
        return 0.05

    reply = StreamingReply(target, pace=pace)
    reply.start()
    reply.update("first")
    await waiting_for_turn.wait()
    reply.update("first, older")  # read while the editor waited: a socket left unread may have newer text
    await asyncio.wait_for(reply.wants_text.wait(), timeout=5)  # its turn: the reader is asked for more
    reply.update("first, older, newest")
    await reply.finish("first, older, newest.")

    shown = [content for _, content in target.shows]
    assert "first, older" + GENERATING_MARKER not in shown, "the older text was not shown once newer text came"
    assert shown[0] == "first" + GENERATING_MARKER and shown[-1] == "first, older, newest."


async def test_the_final_text_waits_only_a_moment_of_its_turn() -> None:
    target = SlowTarget()
    for _ in range(10):
        target.release.release()
    reply = StreamingReply(target, pace=lambda bucket: 3600.0)
    reply.start()
    reply.update("first")
    await target.showing.wait()  # the first edit is in flight when the answer ends
    await asyncio.wait_for(reply.finish("final"), timeout=5)

    first, final = target.returned_at
    assert final - first >= FINAL_TEXT_GAP * 0.9, "a moment past a window the first edit may have spent"
    assert final - first < 1.0, "not the whole turn"


async def test_parts_shown_in_one_render_are_a_moment_apart() -> None:
    target = SlowTarget()
    for _ in range(10):
        target.release.release()
    reply = StreamingReply(target, pace=lambda bucket: 3600.0)
    await reply.finish("word " * 700)  # two messages at once

    assert len(target.parts) == 2
    gap = target.started_at[1] - target.returned_at[0]
    assert gap >= FINAL_TEXT_GAP * 0.9, "the first part's request may have spent the window"


async def test_a_new_part_waits_while_its_bucket_has_only_the_room_left_but_the_final_text_takes_it() -> None:
    target = SlowTarget()
    for _ in range(200):
        target.release.release()
    room = True
    reply = StreamingReply(target, has_room=lambda bucket: room)
    reply.start()
    text = "".join(f"Paragraph {i}. " + "word " * 60 + "\n\n" for i in range(20))  # about 4 messages
    room = False  # the bucket new messages are created in has only the room for the bot's others left
    for end in range(0, len(text), 500):
        reply.update(text[:end])
        await asyncio.sleep(0)
    await asyncio.sleep(0.01)
    assert len(target.parts) == 1  # the first message exists; its continuations wait, its text still grows
    assert len(target.parts[0]) > 1500
    await reply.finish(text)
    assert join_parts(target.parts) == text  # the end is shown whole
