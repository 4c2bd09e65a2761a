"""Running an unmodified discord.py client against a `FakeDiscord`: point it there, log in, connect, wait for ready.

``Route.BASE`` and ``DiscordWebSocket.DEFAULT_GATEWAY`` are class attributes (process-wide), so they are set for the
duration of the context and restored after it. `running_client` fails the test if the client's ``connect()`` task
ended early (a payload the client could not parse kills it), and always closes the client.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass

import discord
import yarl
from discord.gateway import DiscordWebSocket
from discord.http import Route

from .fake import FakeDiscord

SETTLE_TIMEOUT = 5.0


@contextlib.contextmanager
def discord_py_pointed_at(fake: FakeDiscord) -> Iterator[None]:
    old_base, old_gateway = Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY
    Route.BASE = fake.api_base
    DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(fake.gateway_url)
    try:
        yield
    finally:
        Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY = old_base, old_gateway


@dataclass
class RunningClient:
    client: discord.Client
    connect_task: asyncio.Task[None]

    def assert_connected(self) -> None:
        """Fail if ``connect()`` has ended (it only ends on close or on an error it could not handle)."""
        if self.connect_task.done():
            error = None if self.connect_task.cancelled() else self.connect_task.exception()
            raise AssertionError(f"the client's connect() task ended: {error!r}") from error


@contextlib.asynccontextmanager
async def running_client(
    fake: FakeDiscord, client: discord.Client, *, ready_timeout: float = 10.0
) -> AsyncIterator[RunningClient]:
    """Log ``client`` in to ``fake``, connect it, wait for ``on_ready``; close it afterwards."""
    with discord_py_pointed_at(fake):
        connect_task: asyncio.Task[None] | None = None
        try:
            await client.login(fake.token)
            connect_task = asyncio.create_task(client.connect(), name="discord.py connect()")
            await wait_until_ready(client, connect_task, ready_timeout)
            running = RunningClient(client, connect_task)
            yield running
            running.assert_connected()
        finally:
            await client.close()
            if connect_task is not None:
                await settle(connect_task)


async def wait_until_ready(
    client: discord.Client,
    connect_task: asyncio.Task[None],
    timeout: float,  # noqa: ASYNC109
) -> None:
    ready = asyncio.create_task(client.wait_until_ready())
    try:
        done, _ = await asyncio.wait({ready, connect_task}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    finally:
        ready.cancel()
        await asyncio.wait([ready])
    if ready in done and not ready.cancelled():
        return
    if connect_task.done():
        raise RuntimeError("the client's connect() ended before it was ready") from connect_task.exception()
    raise TimeoutError(f"the client was not ready after {timeout}s")


async def settle(task: asyncio.Task[None]) -> None:
    """Let a finishing ``connect()`` end (cancel it if it does not) and consume its outcome."""
    await asyncio.wait([task], timeout=SETTLE_TIMEOUT)
    if not task.done():
        task.cancel()
        await asyncio.wait([task])
    if not task.cancelled():
        task.exception()
