"""Chat with the fusion API in the terminal, streamed, through the same client and settings as the bot.

`python -m bot console --emulator` starts the built-in emulator in-process, so it needs no account and no key.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, aclosing
from typing import TextIO

from bot.config import Settings
from bot.fusion import FinalResult, FusionClient, Message, StreamFailed, TextPiece
from bot.runtime import fusion_client, http_session

CONSOLE_USER_ID = "console"
MAX_CONTEXT_MESSAGES = 40
HELP = "Type a message and press Enter. Commands: /reset forgets the conversation, /quit leaves (or Ctrl-D)."

ReadLine = Callable[[str], Awaitable[str | None]]


async def read_stdin_line(prompt: str) -> str | None:
    """One line typed by the user, or None at end of input."""
    try:
        return await asyncio.to_thread(input, prompt)
    except EOFError:
        return None


class Conversation:
    """The console's context, oldest first, kept to the latest whole exchanges."""

    def __init__(self, max_messages: int = MAX_CONTEXT_MESSAGES) -> None:
        self._messages: list[Message] = []
        self._max_messages = max_messages

    def with_user_turn(self, text: str) -> list[Message]:
        """The messages for a request that adds `text` as the user's next turn."""
        return [*self._messages, Message(role="user", content=text)]

    def record_exchange(self, question: str, answer: str) -> None:
        self._messages += [Message(role="user", content=question), Message(role="assistant", content=answer)]
        excess = len(self._messages) - self._max_messages
        if excess > 0:
            del self._messages[: excess + excess % 2]

    def reset(self) -> None:
        self._messages.clear()


class Console:
    """The read-answer loop; input and output are injectable for tests."""

    def __init__(self, client: FusionClient, *, read_line: ReadLine = read_stdin_line, out: TextIO = sys.stdout):
        self._client = client
        self._read_line = read_line
        self._out = out
        self._conversation = Conversation()

    async def run(self) -> None:
        self._write(HELP + "\n")
        while (line := await self._read_line("you> ")) is not None:
            text = line.strip()
            if text in ("/quit", "/exit"):
                break
            if text == "/reset":
                self._conversation.reset()
                self._write("(conversation forgotten)\n")
            elif text == "/help":
                self._write(HELP + "\n")
            elif text:
                await self._answer(text)
        self._write("bye\n")

    async def _answer(self, question: str) -> None:
        request = self._client.new_request(self._conversation.with_user_turn(question), user_id=CONSOLE_USER_ID)
        self._write("bot> ")
        async with aclosing(self._client.stream(request)) as events:
            await self._render(question, events)

    async def _render(self, question: str, events: AsyncIterator[TextPiece | FinalResult | StreamFailed]) -> None:
        async for event in events:
            if isinstance(event, TextPiece):
                self._write(event.text)
            elif isinstance(event, FinalResult):
                if event.picture_url:
                    self._write(f"[picture] {event.picture_url}")
                elif event.truncated:
                    self._write(" [answer cut at the token limit]")
                self._write("\n")
                self._conversation.record_exchange(question, event.text)
            else:
                # An unfinished answer is not kept as context: the model would take it for a complete one.
                marker = " [incomplete]" if event.partial_text else ""
                self._write(f"{marker}\n[error] {event.error.user_message}\n")

    def _write(self, text: str) -> None:
        self._out.write(text)
        self._out.flush()


async def run_console(
    settings: Settings, *, use_emulator: bool, read_line: ReadLine = read_stdin_line, out: TextIO = sys.stdout
) -> None:
    """Run the console until the user quits; with `use_emulator`, against an in-process emulator."""
    async with AsyncExitStack() as stack:
        url = None
        if use_emulator:
            from bot.emulator import run_emulator  # only the console's --emulator needs it

            logging.getLogger("bot.emulator").setLevel(logging.WARNING)  # its request log would interleave
            url = await stack.enter_async_context(run_emulator())
            out.write(f"(using the built-in emulator at {url})\n")
        else:
            settings.require("FUSION_API_KEY")
        session = await stack.enter_async_context(http_session())
        await Console(fusion_client(session, settings, url=url), read_line=read_line, out=out).run()
