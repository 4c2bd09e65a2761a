"""Run the fusion emulator from the command line: ``python -m bot.emulator``."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
from collections.abc import Sequence

from bot.emulator import run_emulator
from bot.emulator.app import EmulatorConfig


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bot.emulator",
        description="A local stand-in for SenseTime's fusion chat-with-image API.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default: %(default)s)")
    parser.add_argument("--port", type=int, default=8787, help="port to listen on (default: %(default)s)")
    parser.add_argument("--api-key", help="require this Authorization header (default: accept any)")
    parser.add_argument("--miaohua-token", help="require this mh_key (default: accept any)")
    parser.add_argument("--envelope", choices=("new", "old"), default="new", help="envelope generation")
    parser.add_argument("--framing", choices=("space", "nospace"), default="space", help="'data: ' or 'data:'")
    parser.add_argument("--crlf", action="store_true", help="end SSE lines with CRLF")
    parser.add_argument("--comments", action="store_true", help="send ': ping' comments between events")
    parser.add_argument("--no-done", action="store_true", help="do not end streams with 'data: [DONE]'")
    parser.add_argument("--event-delay", type=float, default=0.0, help="seconds between streamed events")
    parser.add_argument("--picture-delay", type=float, default=0.0, help="seconds spent 'drawing' a picture")
    parser.add_argument("-v", "--verbose", action="store_true", help="log every request")
    return parser.parse_args(argv)


def config_from_args(args: argparse.Namespace) -> EmulatorConfig:
    return EmulatorConfig(
        api_key=args.api_key,
        miaohua_token=args.miaohua_token,
        envelope=args.envelope,
        framing=args.framing,
        crlf=args.crlf,
        comments=args.comments,
        send_done=not args.no_done,
        event_delay=args.event_delay,
        picture_delay=args.picture_delay,
    )


async def serve(config: EmulatorConfig, host: str, port: int) -> None:
    async with run_emulator(config, host=host, port=port) as url:
        print(f"fusion emulator listening on {url}", flush=True)
        await asyncio.Event().wait()


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(config_from_args(args), args.host, args.port))


if __name__ == "__main__":
    main()
