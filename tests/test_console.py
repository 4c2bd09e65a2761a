"""The terminal console, on the built-in emulator: streamed answers, kept context, /reset, failures as messages."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

from bot.config import load_settings
from bot.console import run_console

PROJECT_ROOT = Path(__file__).resolve().parents[1]


def scripted(lines: list[str]):
    """A `read_line` that types `lines`, then ends the input."""
    remaining: Iterator[str] = iter(lines)

    async def read_line(prompt: str) -> str | None:
        return next(remaining, None)

    return read_line


async def chat(lines: list[str]) -> list[str]:
    """The console's answers (one entry per `bot> ` line) to `lines`."""
    out = io.StringIO()
    await run_console(load_settings(), use_emulator=True, read_line=scripted(lines), out=out)
    return out.getvalue().split("bot> ")[1:]


async def test_answers_keep_the_conversation_until_reset() -> None:
    answers = await chat(["hello there", "and then?", "/reset", "fresh start"])

    assert len(answers) == 3
    assert 'You said: "hello there"' in answers[0]
    assert 'it began with "hello there"' in answers[1]
    assert "earlier" not in answers[2]


async def test_failed_answer_is_reported_and_left_out_of_the_context() -> None:
    out = io.StringIO()
    lines = ["hello [emu:drop=3]", "next"]
    await run_console(load_settings(), use_emulator=True, read_line=scripted(lines), out=out)

    text = out.getvalue()
    assert "[incomplete]\n[error] The answer was cut off" in text
    assert "earlier" not in text.split("bot> ")[-1]


async def test_picture_is_shown_as_its_url() -> None:
    answers = await chat(["draw a red fox"])
    assert answers[0].startswith("[picture] http://127.0.0.1:")


def test_console_command_runs_on_the_emulator_with_no_account() -> None:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("FUSION_", "DISCORD_"))}
    env["PYTHONPATH"] = str(PROJECT_ROOT)
    done = subprocess.run(
        [sys.executable, "-m", "bot", "console", "--emulator"],
        input="hello from a pipe\n/quit\n",
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert 'You said: "hello from a pipe"' in done.stdout
    assert done.stdout.rstrip().endswith("bye")


async def test_conversation_survives_a_restart_of_the_console() -> None:
    await chat(["remember the lighthouse"])
    answers = await chat(["what did I say?"])
    assert 'it began with "remember the lighthouse"' in answers[0]
