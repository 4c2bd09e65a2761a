"""`python -m bot store ...`: work on the bot's database itself, with no Discord and no settings.

`store copy --from URL --to URL [--replace] [--quiet]` copies a whole store (`bot.core.store.copy`), say from the
SQLite file of a single process to the PostgreSQL database of a cluster. Its progress goes to standard error, a
line per table updated in place on a terminal, plain lines otherwise; the table of row counts to standard output.
A failure is one line on standard error, never showing a DSN's password, and an exit status of its own.
"""

from __future__ import annotations

import argparse
import sys
import traceback
from typing import TextIO

from bot.core.store import StoreError
from bot.core.store.copy import (
    BATCH_SIZE,
    CopyReport,
    CountsDiffer,
    InvalidEndpoint,
    TargetNotEmpty,
    copy_store,
    parse_url,
)
from bot.core.store.postgresql.pool import scrubbed
from bot.runtime import run

EXIT_BAD_ARGUMENTS = 2  # a URL of no known kind, a missing source file, the same database at both ends
EXIT_STORE_ERROR = 3  # a database that cannot be opened or used, a copy that failed
EXIT_TARGET_NOT_EMPTY = 10
EXIT_COUNTS_DIFFER = 11
EXIT_INTERRUPTED = 130
EXIT_BUG = 1
PLAIN_PROGRESS_EVERY = 100_000  # rows between progress lines when standard error is not a terminal
_BAR_WIDTH = 24

_EPILOG = f"""\
URLs are written as DATABASE_URL is: sqlite:///relative/path, sqlite:////absolute/path, or
postgresql://user:password@host:5432/database. Both databases are brought to the newest schema first (the source
too: a store does not open read-only). The target must hold no rows unless --replace is given; the copy is one
transaction of the target, committed only once every table's row count matches, so a failure leaves it as it was.

exit status: 0 copied and counts match; {EXIT_BAD_ARGUMENTS} bad URL, missing source, or the same database twice;
{EXIT_STORE_ERROR} a database cannot be opened or the copy failed; {EXIT_TARGET_NOT_EMPTY} the target holds rows \
(see --replace); {EXIT_COUNTS_DIFFER} row counts differ."""


def add_store_commands(subparsers: argparse._SubParsersAction) -> None:
    """Add `store` and its subcommands to the program's commands."""
    store = subparsers.add_parser("store", help="work on the bot's database (copy it to another)")
    commands = store.add_subparsers(dest="store_command", metavar="COMMAND", required=True)
    copy = commands.add_parser(
        "copy",
        help="copy every conversation, setting and picture record to another database",
        description="Copy every table of the bot's database to another database, say from SQLite to PostgreSQL.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    copy.add_argument("--from", dest="source", metavar="URL", required=True, help="the database to copy")
    copy.add_argument("--to", dest="target", metavar="URL", required=True, help="the database to copy it into")
    copy.add_argument(
        "--replace", action="store_true", help="delete the rows the target holds first (in the copy's transaction)"
    )
    copy.add_argument("--quiet", action="store_true", help="no progress on standard error")
    copy.add_argument("--batch-size", type=_positive, default=BATCH_SIZE, metavar="ROWS", help=argparse.SUPPRESS)


def run_store_command(args: argparse.Namespace) -> int:
    """Run the `store` subcommand `args` names; return the exit status."""
    if args.store_command == "copy":
        return copy_command(args.source, args.target, replace=args.replace, quiet=args.quiet, batch=args.batch_size)
    raise ValueError(f"unknown store command {args.store_command!r}")


def copy_command(source: str, target: str, *, replace: bool, quiet: bool, batch: int = BATCH_SIZE) -> int:
    secrets = (source, target)
    progress = ProgressLine(sys.stderr)
    try:
        report = run(
            copy_store(
                parse_url(source, name="--from"),
                parse_url(target, name="--to"),
                replace=replace,
                batch_size=batch,
                progress=None if quiet else progress,
            )
        )
    except InvalidEndpoint as error:
        return _fail(EXIT_BAD_ARGUMENTS, str(error), secrets, progress)
    except TargetNotEmpty as error:
        line = f"{error}; nothing was copied (--replace deletes them first, in the same transaction as the copy)"
        return _fail(EXIT_TARGET_NOT_EMPTY, line, secrets, progress)
    except CountsDiffer as error:
        progress.end_line()
        print(_scrubbed(summary(error.report), secrets))
        return _fail(EXIT_COUNTS_DIFFER, str(error), secrets, progress)
    except StoreError as error:
        return _fail(EXIT_STORE_ERROR, str(error), secrets, progress)
    except KeyboardInterrupt:
        return _fail(EXIT_INTERRUPTED, "interrupted; nothing was committed to the target", secrets, progress)
    except Exception as error:  # a bug: its traceback, without the password
        progress.end_line()
        print(_scrubbed("".join(traceback.format_exception(error)), secrets), file=sys.stderr, end="")
        return EXIT_BUG
    print(_scrubbed(summary(report), secrets))
    return 0


def summary(report: CopyReport) -> str:
    """What was copied: where from and to, a table of row counts in both, and what had to be changed."""
    lines = [f"copied {report.source} to {report.target}"]
    if report.source_migrated:
        before, after = report.source_migrated
        lines.append(f"the source was at schema version {before}; it was migrated to version {after} first")
    if report.replaced:
        lines.append("the target's earlier rows were deleted first (--replace)")
    width = max([len("table"), *(len(count.table) for count in report.counts)])
    lines.append(f"{'table':<{width}}  {'source':>12}  {'target':>12}")
    for count in report.counts:
        mark = "" if count.source == count.target else "  differs"
        lines.append(f"{count.table:<{width}}  {count.source:>12,}  {count.target:>12,}{mark}")
    total_source, total_target = (sum(getattr(count, end) for count in report.counts) for end in ("source", "target"))
    lines.append(f"{'all':<{width}}  {total_source:>12,}  {total_target:>12,}")
    lines += [f"{repair.column}: {repair.count:,} value(s) {repair.how}" for repair in report.repairs]
    if report.left_out:
        lines.append(f"not copied, the target has no such column: {', '.join(report.left_out)}")
    if report.matches:
        lines.append("every table holds as many rows in the target as in the source")
    return "\n".join(lines)


class ProgressLine:
    """The copy's progress on `stream`: on a terminal, a line per table updated in place; otherwise a plain line
    per table, and one every `every` rows of a long one."""

    def __init__(self, stream: TextIO, *, every: int = PLAIN_PROGRESS_EVERY) -> None:
        self._stream = stream
        self._every = every
        self._terminal = stream.isatty()
        self._open = False  # a terminal line not yet ended
        self._shown = 0  # rows of the current table when a plain line was last written

    def __call__(self, table: str, done: int, total: int) -> None:
        finished = done >= total
        if self._terminal:
            filled = _BAR_WIDTH * done // total if total else _BAR_WIDTH
            bar = "#" * filled + "." * (_BAR_WIDTH - filled)
            self._write(f"\r{table:<24} [{bar}] {done:>11,} / {total:,} rows" + ("\n" if finished else ""))
            self._open = not finished
        elif finished:
            self._write(f"{table}: {done:,} row{'s' * (done != 1)} copied\n")
        elif done // self._every > self._shown // self._every:
            self._write(f"{table}: {done:,} of {total:,} rows\n")
        self._shown = 0 if finished else done

    def end_line(self) -> None:
        """End a line left open by a copy that stopped in the middle of a table."""
        if self._open:
            self._write("\n")
            self._open = False

    def _write(self, text: str) -> None:
        self._stream.write(text)
        self._stream.flush()


def _fail(status: int, line: str, secrets: tuple[str, ...], progress: ProgressLine) -> int:
    progress.end_line()
    print(f"fusionbot: {_scrubbed(line, secrets)}", file=sys.stderr)
    return status


def _scrubbed(text: str, urls: tuple[str, ...]) -> str:
    for url in urls:
        text = scrubbed(text, url)
    return text


def _positive(value: str) -> int:
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError("expected a whole number of at least 1")
    return number
