"""Chat with the fusion API in the terminal, streamed, through the same client, settings, store and picture
downloader as the bot.

The conversation lives in the store under its own channel id, so it survives a restart until `/reset`. On a
terminal, lines are read with `input`, so they have line editing and a history (in memory, for this run) where
`readline` exists; on Windows the console window's own editing applies. Ctrl-C stops the answer being written,
which is kept for the record and never sent back as context; Ctrl-C at the prompt leaves, like Ctrl-D and `/quit`.
Log records go to standard error at WARNING and up unless LOG_LEVEL is set, held back while an answer is printed
so they never land inside it. A picture answer is downloaded and saved under `pictures/` next to the database, and
its path printed. DEFAULT_PERSONA (or `--persona`) leads every request's context.

`python -m bot console --emulator` starts the built-in emulator in-process, so it needs no account and no key.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import logging
import os
import re
import signal
import sys
import threading
from collections.abc import Awaitable, Callable, Iterator
from contextlib import AsyncExitStack, aclosing, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO, TypeVar

from bot.config import Settings
from bot.core.downloads import DownloadError, PictureDownloader
from bot.core.fusion import FinalResult, FusionClient, TextPiece
from bot.core.store import CONSOLE_CHANNEL_ID, ConsoleRecords, ContextBudget, Exchange
from bot.runtime import context_budget
from bot.services import open_services

T = TypeVar("T")

CONSOLE_USER_ID = "console"
PROMPT = "you> "
PICTURE_MAX_BYTES = 50 * 1024 * 1024
COMMANDS = {
    "/help": "lists these commands",
    "/reset": "forgets the conversation (it stays in the database)",
    "/quit": "leaves, like Ctrl-D or Ctrl-C at the prompt",
}
ALIASES = {"/exit": "/quit"}
COMMAND_WORD = re.compile(r"/[A-Za-z][\w-]*")
GREETING = "Type a message and press Enter; Ctrl-C stops an answer. /help lists the commands.\n"
HELP = "".join(f"  {name:<7} {what}\n" for name, what in COMMANDS.items())

ReadLine = Callable[[str], Awaitable[str | None]]


async def read_stdin_line(prompt: str) -> str | None:
    """One line typed by the user, or None at end of input.

    It is read in a daemon thread of its own rather than `asyncio.to_thread`: a Ctrl-C at the prompt leaves while
    the read still waits, and the default executor's shutdown would wait for it.
    """
    loop = asyncio.get_running_loop()
    line: asyncio.Future[str | None] = loop.create_future()

    def read() -> None:
        outcome: str | Exception | None
        try:
            outcome = _input_line(prompt)
        except Exception as error:
            outcome = error
        with contextlib.suppress(RuntimeError):  # the loop is closed: the console left meanwhile
            loop.call_soon_threadsafe(_settle, line, outcome)

    threading.Thread(target=read, name="console-input", daemon=True).start()
    return await line


def _input_line(prompt: str) -> str | None:
    """`input` on a terminal, where it edits lines; elsewhere (a pipe, or output redirected) a line read from the
    file descriptor: `input` would hold `sys.stdin`'s lock, and a read abandoned with it makes the interpreter
    abort at exit."""
    if sys.stdin.isatty() and sys.stdout.isatty():
        try:
            return input(prompt)
        except EOFError:
            return None
    sys.stdout.write(prompt)
    sys.stdout.flush()
    read = bytearray()
    while not read.endswith(b"\n") and (byte := os.read(sys.stdin.fileno(), 1)):
        read += byte
    return read.decode(sys.stdin.encoding or "utf-8", errors="replace").removesuffix("\n") if read else None


def _settle(line: asyncio.Future[str | None], outcome: str | Exception | None) -> None:
    if line.done():  # cancelled by a Ctrl-C
        return
    if isinstance(outcome, Exception):
        line.set_exception(outcome)
    else:
        line.set_result(outcome)


def enable_line_editing() -> None:
    """Give `input` line editing and history, where the platform has `readline` (importing it is enough)."""
    with contextlib.suppress(ImportError):
        importlib.import_module("readline")


@contextmanager
def terminal_restored(stream: TextIO) -> Iterator[None]:
    """Put the terminal's mode back on leaving: leaving at the prompt abandons `input`, and readline's
    no-echo mode with it, in its thread."""
    try:
        import termios
    except ImportError:  # Windows
        yield
        return
    try:
        fd = stream.fileno()
        saved = termios.tcgetattr(fd)
    except (OSError, ValueError, termios.error):  # not a terminal
        yield
        return
    try:
        yield
    finally:
        with contextlib.suppress(termios.error):
            termios.tcsetattr(fd, termios.TCSADRAIN, saved)


@contextmanager
def ctrl_c_calls(callback: Callable[[], None]) -> Iterator[None]:
    """Make Ctrl-C (SIGINT) call `callback` in the running event loop instead of raising KeyboardInterrupt.

    Where the loop cannot watch signals (Windows), a plain signal handler hands the call to the loop; outside
    the main thread neither is possible and Ctrl-C stays a KeyboardInterrupt.
    """
    loop = asyncio.get_running_loop()
    previous = signal.getsignal(signal.SIGINT)
    try:
        loop.add_signal_handler(signal.SIGINT, callback)
        watched = True
    except (NotImplementedError, RuntimeError, ValueError):
        watched = False
        try:
            signal.signal(signal.SIGINT, lambda signum, frame: loop.call_soon_threadsafe(callback))
        except ValueError:  # not the main thread
            yield
            return
    try:
        yield
    finally:
        if watched:
            loop.remove_signal_handler(signal.SIGINT)
        signal.signal(signal.SIGINT, previous)  # asyncio.Runner's own handler, under `python -m bot`


class HeldLogs(logging.Handler):
    """Stands in for the root logger's handlers, holding records back while an answer is being printed."""

    def __init__(self, handlers: list[logging.Handler]) -> None:
        super().__init__()
        self._handlers = handlers
        self._held: list[logging.LogRecord] | None = None

    def emit(self, record: logging.LogRecord) -> None:
        if self._held is not None:
            self._held.append(record)
        else:
            self._pass_on(record)

    @contextmanager
    def held(self) -> Iterator[None]:
        self._held = []
        try:
            yield
        finally:
            self.acquire()  # a record logged meanwhile from another thread is either held or passed on
            try:
                records, self._held = self._held, None
            finally:
                self.release()
            for record in records:
                self._pass_on(record)

    def _pass_on(self, record: logging.LogRecord) -> None:
        for handler in self._handlers:
            if record.levelno >= handler.level:
                handler.handle(record)


@contextmanager
def console_logging(settings: Settings) -> Iterator[HeldLogs]:
    """The root logger's handlers behind a `HeldLogs`, at WARNING and up unless LOG_LEVEL was set."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    held = HeldLogs(handlers)
    root.handlers[:] = [held]
    if "log_level" not in settings.model_fields_set:
        root.setLevel(max(level, logging.WARNING))
    try:
        yield held
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)


@dataclass(frozen=True)
class PictureSaver:
    """Downloads a picture answer (its URL dies with its service, the emulator's with the console) into `folder`."""

    downloader: PictureDownloader
    folder: Path

    async def save(self, answer_id: int, url: str) -> str:
        """The line to show for the picture: where it was saved, or why it was not."""
        try:
            picture = await self.downloader.fetch(url, max_bytes=PICTURE_MAX_BYTES)
        except DownloadError as error:
            return f"[picture] {error.user_message}"
        path = self.folder / f"{answer_id}-{picture.filename}"
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(picture.data)
        except OSError as error:
            return f"[picture] could not be saved as {path}: {error.strerror}"
        return f"[picture] {path}"


@dataclass
class _Progress:
    """What an answer has shown so far, and whether its end is already stored."""

    pieces: list[str] = field(default_factory=list)
    recorded: bool = False


class Console:
    """The read-answer loop, its conversation kept in the store; input and output are injectable for tests."""

    def __init__(
        self,
        client: FusionClient,
        store: ConsoleRecords,
        budget: ContextBudget,
        pictures: PictureSaver,
        *,
        logs: HeldLogs | None = None,
        read_line: ReadLine = read_stdin_line,
        out: TextIO = sys.stdout,
        persona: str = "",
    ) -> None:
        self._client = client
        self._persona = persona or None
        self._store = store
        self._budget = budget
        self._pictures = pictures
        self._logs = logs or HeldLogs([])
        self._read_line = read_line
        self._out = out
        self._interruptible: asyncio.Future[object] | None = None

    async def run(self) -> None:
        self._write(GREETING)
        with ctrl_c_calls(self._on_ctrl_c):
            while True:
                reading = await self._until_ctrl_c(self._read_line(PROMPT))
                if reading.cancelled() or (line := reading.result()) is None:
                    self._write("\nbye\n")  # the prompt's line is still open
                    return
                if not await self._act(line.strip()):
                    self._write("bye\n")
                    return

    def _on_ctrl_c(self) -> None:
        if self._interruptible is not None:
            self._interruptible.cancel()

    async def _until_ctrl_c(self, work: Awaitable[T]) -> asyncio.Future[T]:
        """Await `work` as what a Ctrl-C cancels; return it done, or cancelled by a Ctrl-C."""
        task = asyncio.ensure_future(work)
        self._interruptible = task
        try:
            await asyncio.wait([task])
        finally:
            self._interruptible = None
            task.cancel()  # nothing once it is done; if the console itself is cancelled, the work goes too
        return task

    async def _act(self, text: str) -> bool:
        """Answer a typed line, or run the command it starts with; False when it asks to leave."""
        word = text.split(maxsplit=1)[0] if text else ""
        if not COMMAND_WORD.fullmatch(word):
            if text:
                await self._answer(text)
            return True
        command = ALIASES.get(word, word)
        if command == "/quit":
            return False
        if command == "/reset":
            await self._store.reset(CONSOLE_CHANNEL_ID)
            self._write("(conversation forgotten)\n")
        elif command == "/help":
            self._write(GREETING + HELP)
        else:
            self._write(f"unknown command {word}; the commands are {', '.join(COMMANDS)}\n")
        return True

    async def _answer(self, question: str) -> None:
        exchange = await self._store.start_exchange(
            CONSOLE_CHANNEL_ID, question, self._budget, author_name=CONSOLE_USER_ID, persona=self._persona
        )
        progress = _Progress()
        self._write("bot> ")
        with self._logs.held():
            answering = await self._until_ctrl_c(self._stream(exchange, progress))
            if not answering.cancelled():
                answering.result()
                return
            if not progress.recorded:
                await self._keep_unfinished(exchange, "".join(progress.pieces))
            self._write(" [stopped]\n")

    async def _stream(self, exchange: Exchange, progress: _Progress) -> None:
        request = self._client.new_request(exchange.messages, user_id=CONSOLE_USER_ID)
        async with aclosing(self._client.stream(request)) as events:
            async for event in events:
                if isinstance(event, TextPiece):
                    progress.pieces.append(event.text)
                    self._write(event.text)
                elif isinstance(event, FinalResult):
                    progress.recorded = True
                    await self._finish(exchange, event)
                else:
                    progress.recorded = True
                    await self._keep_unfinished(exchange, event.partial_text)
                    marker = " [incomplete]" if event.partial_text else ""
                    self._write(f"{marker}\n[error] {event.error.user_message}\n")

    async def _finish(self, exchange: Exchange, result: FinalResult) -> None:
        usable = bool(result.text.strip())  # a blank answer is kept for the record, never as context
        await self._store.update_turn(exchange.answer_id, content=result.text, complete=usable, writing=False)
        if result.picture_url:
            self._write(await self._pictures.save(exchange.answer_id, result.picture_url))
        elif result.truncated:
            self._write(" [answer cut at the token limit]")
        self._write("\n")

    async def _keep_unfinished(self, exchange: Exchange, partial_text: str) -> None:
        """Keep a failed or stopped exchange for the record, marked incomplete so it is never sent back as context."""
        await self._store.update_turn(exchange.question_id, complete=False)
        await self._store.update_turn(exchange.answer_id, content=partial_text, complete=False, writing=False)

    def _write(self, text: str) -> None:
        self._out.write(text)
        self._out.flush()


async def run_console(
    settings: Settings, *, use_emulator: bool, read_line: ReadLine | None = None, out: TextIO = sys.stdout
) -> None:
    """Run the console until the user leaves; with `use_emulator`, against an in-process emulator.

    Without `read_line`, lines are read from standard input with line editing.
    """
    async with AsyncExitStack() as stack:
        logs = stack.enter_context(console_logging(settings))
        if read_line is None:
            stack.enter_context(terminal_restored(sys.stdin))
            enable_line_editing()
        url = None
        if use_emulator:
            from bot.emulator import run_emulator  # only the console's --emulator needs it

            logging.getLogger("bot.emulator").setLevel(logging.WARNING)  # its request log would interleave
            url = await stack.enter_async_context(run_emulator())
            out.write(f"(using the built-in emulator at {url})\n")
        else:
            settings.require("FUSION_API_KEY")
        services = await stack.enter_async_context(
            # The emulator serves its pictures on 127.0.0.1.
            open_services(
                settings, fusion_url=url, allow_private_downloads=settings.image_fetch_allow_private or use_emulator
            )
        )
        pictures = PictureSaver(services.downloader, settings.data_directory / "pictures")
        console = Console(
            services.fusion,
            services.store,
            context_budget(settings),
            pictures,
            logs=logs,
            read_line=read_line or read_stdin_line,
            out=out,
            persona=settings.default_persona,
        )
        await console.run()
