"""The benchmarks' child processes: started with `python -m <module>`, each announces itself with one JSON line on
its standard output, serves on 127.0.0.1, and stops when its standard input closes (the benchmark is done, or went
away without a word) or on SIGTERM.

Servers run apart from the bot so that the bot's process does nothing but run the bot: its CPU time and memory are
then its own.
"""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

from aiohttp import web

REPO_ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT = 30.0
STOP_TIMEOUT = 15.0


def start_child(module: str, *arguments: str) -> tuple[subprocess.Popen[str], dict[str, Any]]:
    """`python -m module arguments...`, once it has said it is ready: the process and what it said."""
    child = subprocess.Popen(
        [sys.executable, "-m", module, *arguments],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=REPO_ROOT,
    )
    assert child.stdout is not None
    line = child.stdout.readline()
    if not line:
        child.wait(timeout=10)
        raise RuntimeError(f"{module} {' '.join(arguments)}: ended before it was ready (status {child.returncode})")
    return child, json.loads(line)


def stop_child(child: subprocess.Popen[str]) -> None:
    """Close its standard input and wait; terminate it if it does not stop."""
    assert child.stdin is not None
    child.stdin.close()
    try:
        child.wait(timeout=STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        child.terminate()
        child.wait(timeout=5)


async def stop_async_child(child: asyncio.subprocess.Process, how: signal.Signals, grace: float = 30.0) -> None:
    """Send `how`, wait up to `grace` seconds, then kill."""
    if child.returncode is not None:
        return
    child.send_signal(how)
    try:
        await asyncio.wait_for(child.wait(), grace)
    except TimeoutError:
        child.kill()
        await child.wait()


async def serve_control(routes: list[web.RouteDef], ready: dict[str, Any]) -> None:
    """In a child: serve `routes` on a free port, announce `ready` (with `control_url`) on stdout, and run until
    stdin closes or SIGTERM."""
    app = web.Application(client_max_size=64 * 1024 * 1024)
    app.add_routes(routes)
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    host, port = runner.addresses[0][:2]
    print(json.dumps(ready | {"control_url": f"http://{host}:{port}"}), flush=True)
    try:
        await until_told_to_stop()
    finally:
        await runner.cleanup()


async def until_told_to_stop() -> None:
    """Return when stdin closes or SIGTERM arrives."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stop.set)

    def wait_for_eof() -> None:
        sys.stdin.read()
        loop.call_soon_threadsafe(stop.set)

    threading.Thread(target=wait_for_eof, daemon=True).start()
    await stop.wait()
