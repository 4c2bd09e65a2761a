"""Copying a whole store to another database (`python -m bot store copy`, in `bot.store_cli`): moving a deployment
from SQLite to PostgreSQL (issue 14), or back. No Discord and no command line here.

Both ends are first opened through their store (`open_store`), which brings each to the newest schema; no store
opens read-only, so an older source is migrated too (the report says so). Every data table both schemas have (all
but `schema_migrations`) is copied with the columns both have, found by introspection, so that a column added
later on both sides needs no change here: parents first (the target's foreign keys), read in batches from one
snapshot of the source and written with COPY (`copy_records_to_table`) or `executemany`, in one transaction of the
target, committed only once each table holds as many rows as in the source. Row ids are kept; each identity
sequence is then set past the largest. Values are converted for the target's column types (0/1 to BOOLEAN, JSON
text to jsonb); one PostgreSQL would refuse (malformed JSON, a NUL) is stored as the column's empty default (or
without its NULs) and counted in the report rather than failing the copy. No message shows a DSN's password.

`report.py` holds what a copy works with and gives back (the errors, `Endpoint`, `CopyReport`, `Column`);
`databases.py` the two dialects, opened by `opened`; `values.py` the conversions of values for the target's
column types; `copying.py` the copy itself (`copy_store`).
"""

from bot.core.store.copy.copying import BATCH_SIZE, Progress, copy_store
from bot.core.store.copy.databases import BOOKKEEPING_TABLE, CONNECT_TIMEOUT
from bot.core.store.copy.report import (
    Column,
    CopyError,
    CopyReport,
    CountsDiffer,
    Endpoint,
    InvalidEndpoint,
    Kind,
    Repair,
    Row,
    TableCount,
    Tables,
    TargetNotEmpty,
    parse_url,
)

__all__ = [
    "BATCH_SIZE",
    "BOOKKEEPING_TABLE",
    "CONNECT_TIMEOUT",
    "Column",
    "CopyError",
    "CopyReport",
    "CountsDiffer",
    "Endpoint",
    "InvalidEndpoint",
    "Kind",
    "Progress",
    "Repair",
    "Row",
    "TableCount",
    "Tables",
    "TargetNotEmpty",
    "copy_store",
    "parse_url",
]
