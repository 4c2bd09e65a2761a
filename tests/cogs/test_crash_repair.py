"""A bot process killed mid-answer and mid-picture, then started again on the same database: it repairs both
replies before serving, and the half answer never comes back as context."""

from __future__ import annotations

import asyncio
import signal
import sqlite3
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from bot.app.streaming import GENERATING_MARKER
from bot.config import Settings
from bot.emulator import received_requests
from tests.cogs.test_chat import buttons
from tests.cogs.test_process import environment
from tests.emulator_server import EmulatorServer
from tests.fake_discord import FakeDiscord, FakeMessage


@asynccontextmanager
async def bot_process(fake: FakeDiscord, settings: Settings) -> AsyncIterator[asyncio.subprocess.Process]:
    """`python -m bot`, connected to the fake Discord; killed at the end unless the block ended it."""
    connections = len(fake.stats.identify_payloads)
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", env=environment(settings), stderr=asyncio.subprocess.DEVNULL
    )
    try:
        await fake.wait_until(lambda: len(fake.stats.identify_payloads) > connections, timeout=30)
        yield process
    finally:
        if process.returncode is None:
            process.kill()
        await process.wait()


def has_button(message: FakeMessage, prefix: str) -> bool:
    return any(custom_id.startswith(prefix) for custom_id in buttons(message))


async def test_a_killed_bot_repairs_its_answer_and_its_picture_when_it_starts_again(
    fake: FakeDiscord, settings: Settings, emulator: EmulatorServer
) -> None:
    async with bot_process(fake, settings) as process:
        chat = await fake.slash_command("chat", {"prompt": "a long story [emu:length=6000][emu:delay=0.05]"})
        answer = await chat.original_message()
        await fake.wait_until(lambda: GENERATING_MARKER in answer.content and has_button(answer, "chat:stop:"))
        draw = await fake.slash_command("draw", {"prompt": "a lighthouse [emu:picture-delay=60]"})
        picture = await draw.original_message()
        await fake.wait_until(lambda: "Drawing" in picture.content and has_button(picture, "draw:cancel:"))
        process.send_signal(signal.SIGKILL)
        await process.wait()
    shown_before_the_kill = answer.content.removesuffix(GENERATING_MARKER)

    async with bot_process(fake, settings) as process:
        await fake.wait_until(lambda: "the bot restarted" in answer.content and "the bot restarted" in picture.content)
        assert has_button(answer, "chat:regen:") and not has_button(answer, "chat:stop:")
        assert has_button(picture, "draw:retry:") and not has_button(picture, "draw:cancel:")
        assert GENERATING_MARKER not in answer.content
        assert answer.content.startswith(shown_before_the_kill[:200])

        asked = len(received_requests(emulator.app))
        versions = len(answer.versions)
        regenerate = next(b for b in buttons(answer) if b.startswith("chat:regen:"))
        await fake.click_button(answer.id, regenerate)
        await fake.wait_until(lambda: len(received_requests(emulator.app)) > asked)
        again = received_requests(emulator.app)[-1].body["messages"]
        await fake.wait_until(lambda: len(answer.versions) > versions + 1, timeout=30)
        process.send_signal(signal.SIGTERM)
        await asyncio.wait_for(process.wait(), timeout=30)

    assert [message["role"] for message in again] == ["user"], "the half answer is not context"
    with sqlite3.connect(settings.database_path) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    conn.close()
