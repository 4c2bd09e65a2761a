"""Command line: `python -m bot` runs the Discord bot; `python -m bot console [--emulator]` chats in the terminal.

A configuration problem ends the program with one readable message and exit status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import logging
import sys

import discord

from bot.config import Settings, SettingsError, load_settings
from bot.logs import setup_logging
from bot.runtime import run
from bot.store import StoreError

EXIT_CONFIG_ERROR = 2
EXIT_STORE_ERROR = 3
log = logging.getLogger("bot")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bot", description="Fusionbot, a Discord bot for the fusion API")
    commands = parser.add_subparsers(dest="command")
    commands.add_parser("run", help="run the Discord bot (the default)")
    console = commands.add_parser("console", help="chat with the fusion API in the terminal")
    console.add_argument(
        "--emulator", action="store_true", help="use the built-in fusion API emulator (no account or key needed)"
    )
    return parser.parse_args(argv)


def run_bot_command(settings: Settings) -> int:
    settings.require("DISCORD_TOKEN", "FUSION_API_KEY")
    from bot.discord_bot import run_bot

    try:
        run(run_bot(settings))
    except discord.LoginFailure:
        print(
            "fusionbot: Discord refused DISCORD_TOKEN; copy the token again from the developer portal.", file=sys.stderr
        )
        return EXIT_CONFIG_ERROR
    except discord.PrivilegedIntentsRequired:
        print(
            "fusionbot: Discord refused an intent the bot asked for; see the README's Discord setup.", file=sys.stderr
        )
        return EXIT_CONFIG_ERROR
    return 0


def run_console_command(settings: Settings, use_emulator: bool) -> int:
    from bot.console import run_console

    try:
        run(run_console(settings, use_emulator=use_emulator))
    except KeyboardInterrupt:
        print("\nbye")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        settings = load_settings()
        setup_logging(settings.log_level, settings.secrets())
        if args.command == "console":
            return run_console_command(settings, args.emulator)
        return run_bot_command(settings)
    except SettingsError as error:
        print(f"fusionbot: configuration error:\n{error}", file=sys.stderr)
        return EXIT_CONFIG_ERROR
    except StoreError as error:
        print(f"fusionbot: database error: {error}", file=sys.stderr)
        return EXIT_STORE_ERROR


if __name__ == "__main__":
    sys.exit(main())
