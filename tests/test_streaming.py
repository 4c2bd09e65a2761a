"""The streaming editor: one edit at a time, always the newest text, the marker only while generating."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import discord

from bot.chunking import join_parts
from bot.streaming import GENERATING_MARKER, StreamingReply


class SlowTarget:
    """A reply target whose every show waits until the test lets it return, like a rate-limited edit."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.views: list[discord.ui.View | None] = []
        self.shows: list[tuple[int, str]] = []
        self.release = asyncio.Semaphore(0)
        self.showing = asyncio.Event()

    bucket = "/webhooks/1/token"

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
        self.showing.set()
        await self.release.acquire()
        self.shows.append((index, content))
        if index < len(self.parts):
            self.parts[index], self.views[index] = content, view
        else:
            self.parts.append(content)
            self.views.append(view)

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
    text = "".join(f"Paragraph {i}. " + "word " * 60 + "\n\n" for i in range(40))
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
    assert asked == ["/webhooks/1/token"]
