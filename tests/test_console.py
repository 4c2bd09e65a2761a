"""The terminal console, on the built-in emulator: streamed answers, kept context, commands, failures as messages,
saved pictures, and log records kept out of answers. `test_console_terminal.py` types at it in a pseudo-terminal."""

from __future__ import annotations

import io
import logging
import os
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator, Sequence
from pathlib import Path

from bot.config import load_settings
from bot.console import Console, HeldLogs, PictureSaver, run_console
from bot.core.downloads import PictureDownloader
from bot.core.fusion import FinalResult, Message, StreamEvent, TextPiece
from bot.core.store import ContextBudget, Store

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


async def test_picture_is_saved_next_to_the_database_and_shown_as_its_path() -> None:
    answers = await chat(["draw a red fox"])

    shown = answers[0].removeprefix("[picture] ").split("\n", 1)[0]
    assert shown.startswith("data/pictures/")  # DATABASE_URL's default is data/fusionbot.sqlite3
    assert Path(shown).read_bytes().startswith(b"\x89PNG\r\n\x1a\n")  # noqa: ASYNC240 (a test's small file)


async def test_picture_that_cannot_be_downloaded_says_why() -> None:
    answers = await chat(["draw a red fox [emu:picture-fault=not-image]"])
    assert answers[0].startswith("[picture] The download is not a PNG, JPEG, WebP or GIF picture.\n")


async def test_help_lists_the_commands_and_an_unknown_one_is_not_sent_to_the_model() -> None:
    out = io.StringIO()
    lines = ["/help", "/frobnicate now", "hello"]
    await run_console(load_settings(), use_emulator=True, read_line=scripted(lines), out=out)

    text = out.getvalue()
    for command in ("/help", "/reset", "/quit"):
        assert f"  {command} " in text
    assert "unknown command /frobnicate; the commands are /help, /reset, /quit\n" in text
    assert text.count("bot> ") == 1
    assert "This is the first message of the conversation." in text


async def test_a_warning_logged_while_an_answer_is_printed_comes_after_it(tmp_path: Path) -> None:
    screen = io.StringIO()
    handler = logging.StreamHandler(screen)
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    held = HeldLogs([handler])
    logger = logging.getLogger("bot.core.fusion")
    logger.addHandler(held)
    async with await Store.open(tmp_path / "console.sqlite3") as store, PictureDownloader() as downloader:
        console = Console(
            LoggingClient(),
            store,
            ContextBudget(max_messages=10, max_tokens=1000),
            PictureSaver(downloader, tmp_path / "pictures"),
            logs=held,
            read_line=scripted(["hello"]),
            out=screen,
        )
        try:
            await console.run()
        finally:
            logger.removeHandler(held)

    assert "bot> first half, second half\nWARNING the service is slow today\n" in screen.getvalue()


class LoggingClient:
    """A fusion client whose answer logs a warning half way through."""

    def new_request(self, messages: list[Message], *, user_id: str) -> list[Message]:
        return messages

    async def stream(self, request: list[Message]) -> AsyncIterator[StreamEvent]:
        yield TextPiece("first half, ")
        logging.getLogger("bot.core.fusion").warning("the service is slow today")
        yield TextPiece("second half")
        yield FinalResult(text="first half, second half", finish_reason="stop")


def run_console_command(
    typed: str, extra_env: dict[str, str] | None = None, arguments: Sequence[str] = ()
) -> subprocess.CompletedProcess[str]:
    """`python -m bot console --emulator [arguments]`, with no account, given `typed` on a pipe."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(("FUSION_", "DISCORD_"))}
    env |= {"PYTHONPATH": str(PROJECT_ROOT)} | (extra_env or {})
    return subprocess.run(
        [sys.executable, "-m", "bot", "console", "--emulator", *arguments],
        input=typed,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_console_logs_warnings_only_unless_log_level_is_set() -> None:
    assert run_console_command("hello\n/quit\n").stderr == ""
    assert "INFO    bot.core.store" in run_console_command("hello\n/quit\n", {"LOG_LEVEL": "INFO"}).stderr


def test_console_command_runs_on_the_emulator_with_no_account() -> None:
    done = run_console_command("hello from a pipe\n/quit\n")
    assert done.returncode == 0, done.stderr
    assert 'You said: "hello from a pipe"' in done.stdout
    assert done.stdout.rstrip().endswith("bye")


async def test_conversation_survives_a_restart_of_the_console() -> None:
    await chat(["remember the lighthouse"])
    answers = await chat(["what did I say?"])
    assert 'it began with "remember the lighthouse"' in answers[0]


async def test_answers_are_recorded_as_ended_so_the_bots_start_up_repair_leaves_them_alone() -> None:
    await chat(["hello", "hello [emu:drop=3]"])
    async with await Store.open(load_settings().database_path) as store:
        assert await store.answers_being_written() == []


PERSONA_START = 'it began with "Instructions for this conversation. Follow them in every answer:\n\n'


async def test_default_persona_leads_the_consoles_context() -> None:
    out = io.StringIO()
    settings = load_settings(default_persona="Speak like a pirate.")
    await run_console(settings, use_emulator=True, read_line=scripted(["hello"]), out=out)
    assert f'This conversation has 2 earlier messages; {PERSONA_START}Speak like a pirate."' in out.getvalue()


def test_persona_option_replaces_default_persona_and_is_checked() -> None:
    pirate = {"DEFAULT_PERSONA": "Speak like a pirate."}
    done = run_console_command("hello\n/quit\n", pirate, ["--persona", "Answer in French."])
    assert done.returncode == 0, done.stderr
    assert f'{PERSONA_START}Answer in French."' in done.stdout
    without = run_console_command("/reset\nhello\n/quit\n", pirate, ["--persona", ""])  # the same database
    assert "This is the first message of the conversation." in without.stdout
    too_long = run_console_command("", None, ["--persona", "x" * 1501])
    assert too_long.returncode == 2 and too_long.stdout == ""
    assert "argument --persona: A persona can have at most 1,500 characters; this one has 1,501." in too_long.stderr
