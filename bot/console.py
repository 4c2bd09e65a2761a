"""Chat with the fusion API in the terminal, streamed, through the same client, settings and store as the bot.

The conversation lives in the store under its own channel id, so it survives a restart until `/reset`.

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
from bot.fusion import FinalResult, FusionClient, StreamFailed, TextPiece
from bot.runtime import context_budget, fusion_client, new_http_session
from bot.store import CONSOLE_CHANNEL_ID, ContextBudget, Exchange, Store

CONSOLE_USER_ID = "console"
HELP = "Type a message and press Enter. Commands: /reset forgets the conversation, /quit leaves (or Ctrl-D)."

ReadLine = Callable[[str], Awaitable[str | None]]


async def read_stdin_line(prompt: str) -> str | None:
    """One line typed by the user, or None at end of input."""
    try:
        return await asyncio.to_thread(input, prompt)
    except EOFError:
        return None


class Console:
    """The read-answer loop, its conversation kept in the store; input and output are injectable for tests."""

    def __init__(
        self,
        client: FusionClient,
        store: Store,
        budget: ContextBudget,
        *,
        read_line: ReadLine = read_stdin_line,
        out: TextIO = sys.stdout,
    ) -> None:
        self._client = client
        self._store = store
        self._budget = budget
        self._read_line = read_line
        self._out = out

    async def run(self) -> None:
        self._write(HELP + "\n")
        while (line := await self._read_line("you> ")) is not None:
            text = line.strip()
            if text in ("/quit", "/exit"):
                break
            if text == "/reset":
                await self._store.reset(CONSOLE_CHANNEL_ID)
                self._write("(conversation forgotten)\n")
            elif text == "/help":
                self._write(HELP + "\n")
            elif text:
                await self._answer(text)
        self._write("\nbye\n" if line is None else "bye\n")  # at end of input the prompt line is still open

    async def _answer(self, question: str) -> None:
        exchange = await self._store.start_exchange(
            CONSOLE_CHANNEL_ID, question, self._budget, author_name=CONSOLE_USER_ID
        )
        request = self._client.new_request(exchange.messages, user_id=CONSOLE_USER_ID)
        self._write("bot> ")
        async with aclosing(self._client.stream(request)) as events:
            await self._render(exchange, events)

    async def _render(self, exchange: Exchange, events: AsyncIterator[TextPiece | FinalResult | StreamFailed]) -> None:
        async for event in events:
            if isinstance(event, TextPiece):
                self._write(event.text)
            elif isinstance(event, FinalResult):
                if event.picture_url:
                    self._write(f"[picture] {event.picture_url}")
                elif event.truncated:
                    self._write(" [answer cut at the token limit]")
                self._write("\n")
                usable = bool(event.text.strip())  # a blank answer is kept for the record, never as context
                await self._store.update_turn(exchange.answer_id, content=event.text, complete=usable)
            else:
                await self._keep_failed_answer(exchange, event)
                marker = " [incomplete]" if event.partial_text else ""
                self._write(f"{marker}\n[error] {event.error.user_message}\n")

    async def _keep_failed_answer(self, exchange: Exchange, failure: StreamFailed) -> None:
        """Keep a failed exchange for the record, marked incomplete so it is never sent back as context."""
        await self._store.update_turn(exchange.question_id, complete=False)
        await self._store.update_turn(exchange.answer_id, content=failure.partial_text, complete=False)

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
        store = await stack.enter_async_context(await Store.open(settings.database_path))
        session = await stack.enter_async_context(new_http_session())
        client = fusion_client(session, settings, url=url)
        await Console(client, store, context_budget(settings), read_line=read_line, out=out).run()
