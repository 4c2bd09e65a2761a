"""`python -m bot console --emulator` in a pseudo-terminal, typed at as a person would: history, Ctrl-C, pictures."""

from __future__ import annotations

import asyncio
import fcntl
import os
import pty
import re
import select
import struct
import subprocess
import sys
import termios
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.core.store import CONSOLE_CHANNEL_ID, Store, Turn

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DEADLINE = 20.0  # seconds; only a hang takes this long
ENTER = "\r"
UP_ARROW = "\x1b[A"
CTRL_C = "\x03"
PROMPT = "you> "
SLOW_QUESTION = "tell me a long story [emu:delay=0.2][emu:length=2000]"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _take_terminal() -> None:
    """In the child, after `setsid`: make the pty its controlling terminal, so a typed Ctrl-C sends SIGINT."""
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


class Terminal:
    """The console running on a pty: what is typed at it and what it has printed (line ends as `\\n`).

    With `piped_output`, what it prints goes to a pipe instead, as under `python -m bot console | tee`.
    """

    def __init__(self, database: Path, *, piped_output: bool = False) -> None:
        self.master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 50, 200, 0, 0))  # no wrapped echo
        env = {key: value for key, value in os.environ.items() if not key.startswith(("FUSION_", "DISCORD_"))}
        env |= {"PYTHONPATH": str(PROJECT_ROOT), "DATABASE_URL": f"sqlite:///{database}", "TERM": "dumb"}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bot", "console", "--emulator"],
            stdin=slave,
            stdout=subprocess.PIPE if piped_output else slave,
            stderr=subprocess.PIPE,
            env=env,
            start_new_session=True,
            preexec_fn=_take_terminal,
        )
        os.close(slave)
        assert self.process.stdout is not None or not piped_output
        self._screen = self.process.stdout.fileno() if self.process.stdout else self.master
        self.output = ""
        self._seen = 0  # how much of `output` the expectations have consumed

    def type(self, text: str) -> None:
        os.write(self.master, text.encode())

    def expect(self, pattern: str) -> str:
        """Wait for `pattern` (a regex) after what was already expected; return the output up to its end."""
        deadline = time.monotonic() + DEADLINE
        while (found := re.compile(pattern).search(self.output, self._seen)) is None:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not self._read(remaining):
                raise AssertionError(f"{pattern!r} never appeared; the console printed:\n{self.output[self._seen :]}")
        text, self._seen = self.output[self._seen : found.end()], found.end()
        return text

    def answer(self, question: str) -> str:
        """Type `question` at the prompt and return the answer printed after `bot> `."""
        self.type(question + ENTER)
        return self.expect_answer()

    def expect_answer(self) -> str:
        self.expect("bot> ")
        return self.expect(f"\n{PROMPT}").removesuffix(PROMPT)

    def _read(self, timeout: float) -> bool:
        ready, _, _ = select.select([self._screen], [], [], timeout)
        if not ready:
            return False
        try:
            data = os.read(self._screen, 65536)
        except OSError:  # EIO: the console has exited and closed the terminal
            return False
        self.output += data.decode(errors="replace").replace("\r\n", "\n")
        return bool(data)

    def wait(self) -> int:
        return self.process.wait(timeout=DEADLINE)

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(timeout=DEADLINE)
        for stream in (self.process.stdout, self.process.stderr):
            if stream is not None:
                stream.close()
        os.close(self.master)


@pytest.fixture
def database(tmp_path: Path) -> Path:
    return tmp_path / "data" / "fusionbot.sqlite3"


@pytest.fixture
def terminal(database: Path) -> Iterator[Terminal]:
    console = Terminal(database)
    console.expect(PROMPT)
    yield console
    console.close()


def test_a_typed_question_is_answered(terminal: Terminal) -> None:
    answer = terminal.answer("hello from a terminal")
    assert 'You said: "hello from a terminal"' in answer
    assert "This is the first message of the conversation." in answer


def test_the_up_arrow_asks_the_previous_question_again(terminal: Terminal) -> None:
    pytest.importorskip("readline", reason="line editing and history need readline")
    terminal.answer("what is a lighthouse?")

    again = terminal.answer(UP_ARROW)

    assert 'You said: "what is a lighthouse?"' in again
    assert "This conversation has 2 earlier messages" in again


def test_ctrl_c_stops_the_answer_and_it_is_not_sent_as_context(terminal: Terminal, database: Path) -> None:
    terminal.type(SLOW_QUESTION + ENTER)
    terminal.expect("bot> .*Emulated answer")
    terminal.type(CTRL_C)
    terminal.expect(rf"\[stopped\]\n{PROMPT}")

    after = terminal.answer("are you still there?")

    assert 'You said: "are you still there?"' in after
    assert "This is the first message of the conversation." in after
    terminal.type("/quit" + ENTER)
    assert terminal.wait() == 0
    turns, being_written = asyncio.run(_console_record(database))
    stopped_question, stopped_answer = turns[:2]
    assert stopped_question.content == SLOW_QUESTION
    assert not stopped_question.complete
    assert stopped_answer.content.startswith("**Emulated answer**")
    assert not stopped_answer.complete
    assert being_written == []  # so the bot's start-up repair leaves the console's answers alone


def test_ctrl_c_at_the_prompt_leaves_with_the_terminal_as_it_was(terminal: Terminal) -> None:
    terminal.answer("hello")

    terminal.type(CTRL_C)

    terminal.expect("bye")
    assert terminal.wait() == 0
    local_modes = termios.tcgetattr(terminal.master)[3]
    assert local_modes & termios.ECHO and local_modes & termios.ICANON  # what the shell types is seen again


def test_ctrl_c_at_the_prompt_leaves_cleanly_when_the_output_is_not_a_terminal(database: Path) -> None:
    console = Terminal(database, piped_output=True)
    try:
        console.expect(PROMPT)
        assert "This is the first message of the conversation." in console.answer("hello")

        console.type(CTRL_C)

        console.expect("bye")
        assert console.wait() == 0
        assert console.process.stderr is not None
        assert console.process.stderr.read() == b""
    finally:
        console.close()


def test_a_picture_is_saved_under_data_pictures(terminal: Terminal, database: Path) -> None:
    answer = terminal.answer("draw a cat")

    saved = re.fullmatch(r"\[picture\] (\S+)\n", answer)
    assert saved, answer
    path = Path(saved[1])
    assert path.parent == database.parent / "pictures"
    assert path.read_bytes().startswith(PNG_SIGNATURE)


def test_an_unknown_command_is_answered_without_asking_the_model(terminal: Terminal) -> None:
    terminal.type("/frobnicate" + ENTER)

    said = terminal.expect(f"\n{PROMPT}")

    assert "unknown command /frobnicate; the commands are /help, /reset, /quit" in said
    assert "bot>" not in said
    assert "This is the first message of the conversation." in terminal.answer("hello")


async def _console_record(database: Path) -> tuple[list[Turn], list[Turn]]:
    """The console's stored turns, and the answers the store still counts as being written."""
    async with await Store.open(database) as store:
        return await store.turns(CONSOLE_CHANNEL_ID), await store.answers_being_written()
