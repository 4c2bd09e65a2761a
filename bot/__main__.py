"""Command line: `python -m bot` runs the Discord bot; `python -m bot console [--emulator] [--persona TEXT]` chats in
the terminal;
`python -m bot store copy --from URL --to URL` copies the database (`bot.store_cli`).

A failure at start-up that an operator can act on (a setting, the database, Discord refusing or unreachable) ends
the program with one readable line naming what to check, and an exit status of its own (the README's table),
never a traceback. Anything else is a bug, and keeps its traceback.
"""

from __future__ import annotations

import argparse
import errno
import getpass
import logging
import os
import re
import sqlite3
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

import aiohttp
import discord
from discord.ext import commands

from bot.config import Settings, SettingsError, load_settings
from bot.core.personas import PersonaError, checked_persona
from bot.core.store import StoreError
from bot.core.store.postgresql import dsn_passwords
from bot.core.store.sqlite import BUSY_TIMEOUT_MS
from bot.logs import setup_logging
from bot.runtime import run
from bot.store_cli import add_store_commands, run_store_command

EXIT_CONFIG_ERROR = 2
EXIT_STORE_ERROR = 3
EXIT_DATABASE_LOCKED = 4
EXIT_DATABASE_READ_ONLY = 5
EXIT_DISK_FULL = 6
EXIT_TOKEN_REFUSED = 7
EXIT_INTENT_REFUSED = 8
EXIT_DISCORD_UNREACHABLE = 9

# SQLite's primary result codes (the low byte of an extended code).
_SQLITE_BUSY, _SQLITE_LOCKED, _SQLITE_READONLY, _SQLITE_CANTOPEN, _SQLITE_FULL, _SQLITE_PERM = 5, 6, 8, 14, 13, 3
_LOCKED_CODES = {_SQLITE_BUSY, _SQLITE_LOCKED}
_READ_ONLY_CODES = {_SQLITE_READONLY, _SQLITE_CANTOPEN, _SQLITE_PERM}
_READ_ONLY_ERRNOS = {errno.EACCES, errno.EPERM, errno.EROFS}
_FULL_ERRNOS = {errno.ENOSPC, errno.EDQUOT}
_UNREACHABLE = (aiohttp.ClientConnectionError, discord.GatewayNotFound, discord.DiscordServerError)
_AUTHENTICATION_FAILED = 4004  # the gateway's close code for a refused token
log = logging.getLogger("bot")


class StartupFailure(Exception):
    """A failure at start-up with the line to print and the exit status to end with."""

    def __init__(self, status: int, line: str) -> None:
        super().__init__(line)
        self.status = status
        self.line = line


@dataclass(frozen=True, slots=True)
class _Cause:
    sqlite_code: int | None
    errno: int | None


class _ArgumentParser(argparse.ArgumentParser):
    """argparse's parser, whose usage errors (which quote the arguments) never show a database URL's password; its
    subcommands' parsers are of this class too."""

    def error(self, message: str) -> NoReturn:
        words = re.findall(r"\S+", message)
        for password in {found for word in words for found in dsn_passwords(word.strip("'\",[]"))}:
            message = message.replace(password, "***")
        super().error(message)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = _ArgumentParser(prog="python -m bot", description="Fusionbot, a Discord bot for the fusion API")
    commands = parser.add_subparsers(dest="command")
    commands.add_parser("run", help="run the Discord bot (the default)")
    console = commands.add_parser("console", help="chat with the fusion API in the terminal")
    console.add_argument(
        "--emulator", action="store_true", help="use the built-in fusion API emulator (no account or key needed)"
    )
    console.add_argument(
        "--persona",
        type=persona_argument,
        help="instructions for the model (tone, language, role) in place of DEFAULT_PERSONA; '' for none",
    )
    add_store_commands(commands)
    return parser.parse_args(argv)


def persona_argument(text: str) -> str:
    """`--persona`'s text checked like `/config persona`'s; blank: no persona, whatever DEFAULT_PERSONA says."""
    try:
        return checked_persona(text) if text.strip() else ""
    except PersonaError as error:
        raise argparse.ArgumentTypeError(error.user_message) from None


def run_bot_command(settings: Settings) -> int:
    settings.require("DISCORD_TOKEN", "FUSION_API_KEY")
    from bot.app.client import run_bot

    try:
        run(run_bot(settings))
    except discord.LoginFailure as error:
        raise token_refused() from error
    except discord.ConnectionClosed as error:
        if error.code != _AUTHENTICATION_FAILED:
            raise
        raise token_refused() from error
    except discord.PrivilegedIntentsRequired as error:
        raise StartupFailure(
            EXIT_INTENT_REFUSED, "Discord refused an intent the bot asked for; see the README's Discord setup."
        ) from error
    except _UNREACHABLE as error:
        raise discord_unreachable(settings, error) from error
    return 0


def token_refused() -> StartupFailure:
    return StartupFailure(
        EXIT_TOKEN_REFUSED,
        "Discord refused DISCORD_TOKEN; copy the token again from the developer portal (your application > Bot > "
        "Reset Token).",
    )


def discord_unreachable(settings: Settings, error: BaseException) -> StartupFailure:
    return StartupFailure(
        EXIT_DISCORD_UNREACHABLE,
        f"cannot reach Discord at {settings.discord_api_base} ({_describe(error)}); check the network, DNS, "
        "firewall or proxy, and DISCORD_API_BASE.",
    )


def database_failure(error: StoreError | sqlite3.Error, path: Path) -> StartupFailure:
    """The line and status for a database that cannot be used, told apart by SQLite's code or the OS's errno."""
    cause = _root_cause(error)
    where = path.resolve().parent
    if cause.sqlite_code in _LOCKED_CODES:
        return StartupFailure(
            EXIT_DATABASE_LOCKED,
            f"the database at {path} is locked by another process; stop whatever else uses that file (another "
            "fusionbot?) or give this one its own DATABASE_URL.",
        )
    if cause.errno in _FULL_ERRNOS or cause.sqlite_code == _SQLITE_FULL:
        return StartupFailure(
            EXIT_DISK_FULL, f"the disk holding the database at {path} is full; free some space in {where} (df -h)."
        )
    if cause.errno in _READ_ONLY_ERRNOS or cause.sqlite_code in _READ_ONLY_CODES:
        return StartupFailure(
            EXIT_DATABASE_READ_ONLY,
            f"cannot write the database at {path}; check that the user {_user()} may write {where} and "
            "the file in it, and that the disk is not mounted read-only (or set DATABASE_URL elsewhere).",
        )
    return StartupFailure(EXIT_STORE_ERROR, f"database error: {_describe(error)}")


def _root_cause(error: BaseException) -> _Cause:
    """SQLite's primary result code and the errno found first along the chain of causes."""
    sqlite_code = os_errno = None
    current: BaseException | None = error
    while current is not None:
        if sqlite_code is None and isinstance(current, sqlite3.Error):
            code = getattr(current, "sqlite_errorcode", None)
            sqlite_code = None if code is None else code & 0xFF
        if os_errno is None and isinstance(current, OSError):
            os_errno = current.errno
        current = current.__cause__
    return _Cause(sqlite_code, os_errno)


def _user() -> str:
    try:
        return repr(getpass.getuser())
    except (KeyError, OSError):  # a uid with no name, as in a container run with --user 1234
        return f"with uid {os.getuid()}"


def _describe(error: BaseException) -> str:
    return str(error) or type(error).__name__


def run_console_command(settings: Settings, use_emulator: bool) -> int:
    from bot.console import run_console

    try:
        run(run_console(settings, use_emulator=use_emulator))
    except KeyboardInterrupt:
        print("\nbye")
    return 0


def check_database(path: Path) -> None:
    """Fail now, before the bot logs in to Discord, if the database file cannot be opened for writing.

    A write transaction is begun and rolled back, which finds a read-only file or folder and a lock held by
    another process. (Left to the store's connection, the same failure is told too, but aiosqlite's worker thread
    outlives it and prints a traceback of its own once the event loop is closed.)
    """
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000)
    except (OSError, sqlite3.Error) as error:
        raise StoreError(f"cannot open the database at {path}: {error}") from error
    try:
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("ROLLBACK")
    except sqlite3.Error as error:
        raise StoreError(f"cannot use the database at {path}: {error}") from error
    finally:
        conn.close()


def run_command(args: argparse.Namespace, settings: Settings) -> int:
    try:
        if settings.database_backend == "sqlite":
            check_database(settings.database_path)
        if args.command == "console":
            if args.persona is not None:  # checked by `persona_argument` as DEFAULT_PERSONA is by its validator
                settings = settings.model_copy(update={"default_persona": args.persona})
            return run_console_command(settings, args.emulator)
        return run_bot_command(settings)
    except (StoreError, sqlite3.Error) as error:
        raise store_failure(error, settings) from error
    except commands.ExtensionFailed as error:  # a cog's set-up (its start-up repair) met the database's failure
        if not isinstance(error.original, StoreError | sqlite3.Error):
            raise
        raise store_failure(error.original, settings) from error


def store_failure(error: StoreError | sqlite3.Error, settings: Settings) -> StartupFailure:
    """SQLite's failures told apart (`database_failure`); PostgreSQL's `StoreError` already says what to check, and
    never shows the password."""
    if settings.database_backend == "sqlite":
        return database_failure(error, settings.database_path)
    return StartupFailure(EXIT_STORE_ERROR, f"database error: {_describe(error)}")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.command == "store":  # works on databases named on its command line, without the bot's settings
        return run_store_command(args)
    try:
        settings = load_settings()
        setup_logging(settings.log_level, settings.secrets(), log_format=settings.log_format)
        return run_command(args, settings)
    except SettingsError as error:
        print(f"fusionbot: configuration error:\n{error}", file=sys.stderr)
        return EXIT_CONFIG_ERROR
    except StartupFailure as failure:
        print(f"fusionbot: {failure.line}", file=sys.stderr)
        return failure.status


if __name__ == "__main__":
    sys.exit(main())
