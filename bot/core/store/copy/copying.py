"""One copy of a whole store: `copy_store` brings both ends to the newest schema, then copies every table both
have, parents first, from one snapshot of the source in one transaction of the target, checking the row counts.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from graphlib import CycleError, TopologicalSorter

from bot.core.store.backends import open_store, sqlite_path
from bot.core.store.copy.databases import DB_ERRORS, Database, describe, opened
from bot.core.store.copy.report import (
    Column,
    CopyError,
    CopyReport,
    CountsDiffer,
    Endpoint,
    InvalidEndpoint,
    Repair,
    TableCount,
    Tables,
    TargetNotEmpty,
)
from bot.core.store.copy.values import Fix, fixed
from bot.core.store.postgresql.pool import scrubbed

BATCH_SIZE = 5000  # rows read, converted and written at a time: what bounds the copy's memory

Progress = Callable[[str, int, int], None]  # a table, its rows copied so far, its rows in all


async def copy_store(
    source: Endpoint,
    target: Endpoint,
    *,
    replace: bool = False,
    batch_size: int = BATCH_SIZE,
    progress: Progress | None = None,
) -> CopyReport:
    """Copy every data table of `source` into `target`; with `replace`, delete the target's rows first (in the
    same transaction), else refuse a target holding any (`TargetNotEmpty`). Raises `CopyError` (or the stores'
    `StoreError`) with a one-line message; on any failure the target is as it was."""
    _refuse_same(source, target)
    if source.backend == "sqlite" and not sqlite_path(source.url).is_file():
        raise InvalidEndpoint(f"the source database {sqlite_path(source.url)} does not exist")
    try:
        return await _migrate_and_copy(source, target, replace, batch_size, progress or _no_progress)
    except DB_ERRORS as error:
        why = scrubbed(describe(error), target.url)
        raise CopyError(f"the copy failed, nothing was committed to the target: {why}") from None


async def _migrate_and_copy(
    source: Endpoint, target: Endpoint, replace: bool, batch_size: int, progress: Progress
) -> CopyReport:
    async with opened(source, read_only=True) as peek:
        before = await peek.version()
    for endpoint in (source, target):  # each brought to the newest schema by its store, then closed again
        await (await open_store(endpoint.url, pool_size=1)).close()
    async with opened(source, read_only=True) as src, opened(target, read_only=False) as dst:
        after = await src.version()
        report = CopyReport(source.shown, target.shown, source_migrated=(before, after) if before != after else None)
        return await _Copying(src, dst, replace, batch_size, progress).run(report)


def _refuse_same(source: Endpoint, target: Endpoint) -> None:
    if source.backend == target.backend == "sqlite":
        same = sqlite_path(source.url).resolve() == sqlite_path(target.url).resolve()
    else:
        same = source.url == target.url
    if same:
        raise InvalidEndpoint(f"{source.shown} is both the source and the target")


@dataclass(slots=True)
class _Copying:
    """One copy from an open source to an open target."""

    src: Database
    dst: Database
    replace: bool
    batch_size: int
    progress: Progress

    async def run(self, report: CopyReport) -> CopyReport:
        """Copy from one snapshot of the source in one transaction of the target, committed only if it matched."""
        sources, targets = await self.src.tables(), await self.dst.tables()
        async with self.src.transaction(write=False), self.dst.transaction(write=True, tables=list(targets)):
            counts = {name: await self.src.count(name) for name in sources}
            lost = [name for name, rows in counts.items() if rows and name not in targets]
            if lost:
                raise CopyError(f"the target has no table for the source's {', '.join(lost)}; nothing was copied")
            held = {name: rows for name in targets if (rows := await self.dst.count(name))}
            if held and not self.replace:
                raise TargetNotEmpty(held)
            references = await self.dst.references()
            if held:
                await self.dst.clear(list(reversed(_parents_first(targets, references))))
            order = _parents_first(set(targets) & set(sources), references)
            report = dataclasses.replace(
                await self._tables(report, sources, targets, order, counts), replaced=bool(held)
            )
            if not report.matches:
                raise CountsDiffer(report)
        return report

    async def _tables(
        self, report: CopyReport, sources: Tables, targets: Tables, order: list[str], counts: dict[str, int]
    ) -> CopyReport:
        repairs: list[Repair] = []
        left_out: list[str] = []
        for name in order:
            shared = {column.name for column in sources[name]} & {column.name for column in targets[name]}
            left_out += [f"{name}.{column.name}" for column in sources[name] if column.name not in shared]
            columns = tuple(column for column in targets[name] if column.name in shared)
            repairs += await self._table(name, columns, counts[name])
        tallies = tuple([TableCount(name, counts[name], await self.dst.count(name)) for name in order])
        return dataclasses.replace(report, counts=tallies, repairs=tuple(repairs), left_out=tuple(left_out))

    async def _table(self, table: str, columns: tuple[Column, ...], total: int) -> list[Repair]:
        names = [column.name for column in columns]
        fixes = [Fix(index, column) for index, column in enumerate(columns) if column.kind != "plain"]
        done = 0
        self.progress(table, done, total)
        try:
            async for rows in self.src.batches(table, names, self.batch_size):
                await self.dst.write(table, names, fixed(rows, fixes) if fixes else rows)
                done += len(rows)
                self.progress(table, done, total)
            await self.dst.advance_ids(table, columns)
        except DB_ERRORS as error:
            raise CopyError(f"copying {table} failed, nothing was committed to the target: {describe(error)}") from None
        return [
            Repair(f"{table}.{fix.column.name}", n, how) for fix in fixes for how, n in sorted(fix.repaired.items())
        ]


def _parents_first(tables: Iterable[str], references: dict[str, set[str]]) -> list[str]:
    names = sorted(tables)
    graph = {name: sorted(references.get(name, set()) & set(names) - {name}) for name in names}
    try:
        return list(TopologicalSorter(graph).static_order())
    except CycleError as error:
        raise CopyError(f"the target's foreign keys form a cycle ({' -> '.join(error.args[1])})") from None


def _no_progress(table: str, done: int, total: int) -> None:
    pass
