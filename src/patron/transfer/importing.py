"""`patron import customers`: registrations from a file, by the API's rules, in batches.

Every line is read by the API's wire model and planned by `plan_registration` (the
validation and codes of Register Customer). Then, per batch of lines, in one transaction:

1. every identifier of the batch is looked up in one statement (transfer/repository.py);
2. each line, in file order, is
   - *skipped* when one customer holds every identifier of each of its profiles in that
     profile's own source account: it was imported before (resume, re-run);
   - *batched* when none of its identifiers is held, none appears in an earlier line of the
     batch, and storing it reads nothing (`stores_without_reads`: no card, referral or
     associated till): the very code of a registration (`create_registered`) runs for
     each such line against a unit of work that gathers its inserts, and the batch's rows
     go out as one multi-row insert per table (executemany on SQLite, one statement of
     array inserts on PostgreSQL), with its events in the outbox;
   - *registered one by one* otherwise (held identifiers: a merge, warning 8050, or a
     conflict; a repeat within the batch; cards, referrals, associated tills): the API's
     own use case, `apply_registration`, in a transaction of its own, after the batch and
     in file order.

A batch that breaks a unique key (a concurrent writer took an identifier after the
lookup) is rolled back and its lines are registered one by one. A kill loses at most the
batch in flight; running the file again skips what was stored.
"""

from __future__ import annotations

import asyncio
import codecs
import csv
import gc
import os
import secrets
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field, replace
from multiprocessing import get_context
from pathlib import Path
from typing import IO, Any, TextIO

import orjson

from patron.context import Actor, RequestContext
from patron.customers.register import (
    Registered,
    RegistrationPlan,
    apply_registration,
    create_registered,
    plan_registration,
    stores_without_reads,
)
from patron.db.engine import Database, PostgresDatabase, SqliteDatabase
from patron.db.sql import Q
from patron.db.tx import IntegrityError, Row, Table, Tx
from patron.db.uow import UnitOfWork
from patron.errors import PatronError
from patron.events.domain import DomainEvent
from patron.orgs import service as orgs
from patron.orgs.config import OrgConfig
from patron.transfer import mapping
from patron.transfer.progress import Progress
from patron.transfer.repository import Held, TransferRepository

FORMATS = ("jsonl", "csv")
BATCH = 1000
SURFACE = "import"  # the change log's surface of what an import wrote
MERGED = 8050


class TransferFailed(Exception):
    """An import or export cannot start or go on: an unreadable file, an unknown org or till, a bad
    CSV header. Nothing of the file was stored past the last committed batch."""


def format_of(path: Path, given: str | None) -> str:
    if given:
        if given not in FORMATS:
            raise TransferFailed(f"--format is one of {', '.join(FORMATS)}, not {given!r}")
        return given
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".ndjson", ".json"):
        return "jsonl"
    if suffix in (".csv", ".txt"):
        return "csv"
    raise TransferFailed(f"cannot tell the format of {path.name} by its extension: give --format jsonl|csv")


def refused_path(path: Path) -> Path:
    return path.with_name(path.name + ".refused.jsonl")


@dataclass
class Summary:
    file: str
    org_id: int
    format: str
    events: bool
    read: int = 0
    imported: int = 0
    merged: int = 0
    skipped: int = 0
    refused: int = 0
    batches: int = 0
    seconds: float = 0.0
    refused_file: str | None = None

    @property
    def rate(self) -> float:
        return self.read / self.seconds if self.seconds > 0 else 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "orgId": self.org_id,
            "format": self.format,
            "events": self.events,
            "read": self.read,
            "imported": self.imported,
            "merged": self.merged,
            "skipped": self.skipped,
            "refused": self.refused,
            "refusedFile": self.refused_file,
            "seconds": round(self.seconds, 3),
            "rate": round(self.rate, 1),
        }

    def text(self) -> str:
        lines = [
            f"read {self.read:,}  imported {self.imported:,}  merged {self.merged:,}"
            f"  skipped {self.skipped:,}  refused {self.refused:,}",
            f"{self.seconds:.1f} s, {self.rate:,.0f} lines/s",
        ]
        if self.refused_file:
            lines.append(f"refused lines: {self.refused_file}")
        if not self.events:
            lines.append("events: none raised (--no-events): no customerAdded/customerUpdated, no webhooks")
        return "\n".join(lines)


# Reading -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Record:
    """One registration of the file: its first line, its body or why it cannot be read,
    and how many bytes of the file were read once it was."""

    line: int
    body: Any
    error: PatronError | None
    done_bytes: int


def _json_records(stream: IO[bytes]) -> Iterator[Record]:
    done = 0
    for number, raw in enumerate(stream, 1):
        done += len(raw)
        if number == 1 and raw.startswith(codecs.BOM_UTF8):
            raw = raw[len(codecs.BOM_UTF8) :]
        if not raw.strip():
            continue
        try:
            yield Record(number, orjson.loads(raw), None, done)
        except orjson.JSONDecodeError as exc:
            error = PatronError(400, f"Input is invalid. body: not JSON ({exc}).")
            yield Record(number, None, error, done)


_UNREADABLE = "\x00"  # the row of a line the csv module or UTF-8 could not read


class _Lines:
    """The file's lines as text for the csv module, counting bytes and remembering which
    lines were not UTF-8."""

    def __init__(self, stream: IO[bytes]) -> None:
        self.stream = stream
        self.done = 0
        self.number = 0
        self.bad: set[int] = set()

    def __iter__(self) -> Iterator[str]:
        for raw in self.stream:
            self.done += len(raw)
            self.number += 1
            if self.number == 1 and raw.startswith(codecs.BOM_UTF8):
                raw = raw[len(codecs.BOM_UTF8) :]
            try:
                yield raw.decode()
            except UnicodeDecodeError:
                self.bad.add(self.number)
                yield raw.decode(errors="replace")


def _csv_records(stream: IO[bytes]) -> Iterator[Record]:
    lines = _Lines(stream)
    reader = csv.reader(lines)
    try:
        names = next(reader)
    except StopIteration:
        raise TransferFailed("the CSV file is empty: its first line must be the header") from None
    except csv.Error as exc:
        raise TransferFailed(f"the CSV header cannot be read: {exc}") from None
    if lines.bad:
        raise TransferFailed("the CSV header is not UTF-8 text")
    try:
        header = mapping.Header.check(names)
    except mapping.BadHeader as exc:
        raise TransferFailed(f"bad CSV header: {exc}") from None

    unreadable: dict[int, str] = {}

    def rows() -> Iterator[tuple[int, Sequence[str]]]:
        start = reader.line_num + 1
        while True:
            try:
                row: Sequence[str] = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                unreadable[start], row = f"CSV: {exc}", [_UNREADABLE]
            if any(n in lines.bad for n in range(start, reader.line_num + 1)):
                unreadable[start], row = "the line is not UTF-8 text", [_UNREADABLE]
            yield start, row
            start = reader.line_num + 1

    for line, group in mapping.group_rows(header, rows()):
        if line in unreadable:
            error = PatronError(400, f"Input is invalid. {unreadable.pop(line)}.")
            yield Record(line, None, error, lines.done)
        else:
            yield Record(line, mapping.csv_body(header, group), None, lines.done)


def records(stream: IO[bytes], fmt: str) -> Iterator[Record]:
    return _json_records(stream) if fmt == "jsonl" else _csv_records(stream)


# Storing -----------------------------------------------------------------------------------


@dataclass(slots=True)
class Planned:
    line: int
    ctx: RequestContext
    plan: RegistrationPlan


@dataclass(frozen=True, slots=True)
class Refusal:
    line: int
    code: int
    message: str


Outcome = tuple[int, RegistrationPlan | Refusal]  # a line's plan, or why it is refused


@dataclass
class _Sorted:
    """What the batch's transaction did with its lines, and what is left to register."""

    imported: list[int] = field(default_factory=list)
    skipped: list[int] = field(default_factory=list)
    one_by_one: list[Planned] = field(default_factory=list)


class _Gathering(Tx):
    """A transaction whose inserts are gathered per table and sent together, one COPY each
    on PostgreSQL (one executemany on SQLite), before any other statement and at flush. Whatever the import's
    registrations do besides inserting (reads, updates, ids) still happens in order."""

    def __init__(self, tx: Tx) -> None:
        self.real = tx
        self.dialect = tx.dialect
        self._rows: dict[Table, list[Mapping[str, Any]]] = {}
        self._ids: dict[str, list[int]] = {}

    async def reserve(self, name: str, count: int) -> None:
        """Take `count` ids of a sequence in one call (PostgreSQL: one round trip)."""
        if count:
            self._ids.setdefault(name, []).extend(await self.real.ids(name, count))

    async def send(self) -> None:
        gathered, self._rows = self._rows, {}
        for table, rows in gathered.items():
            await self.real.copy(table, rows)  # COPY on PostgreSQL, executemany on SQLite

    async def insert(self, table: Table, rows: Sequence[Mapping[str, Any]], /) -> None:
        self._rows.setdefault(table, []).extend(rows)

    async def ids(self, name: str, count: int = 1) -> list[int]:
        free = self._ids.get(name)
        if free and len(free) >= count:
            taken, self._ids[name] = free[:count], free[count:]
            return taken
        return await self.real.ids(name, count)

    async def all(self, q: Q, /, **params: Any) -> list[Row]:
        await self.send()
        return await self.real.all(q, **params)

    async def one(self, q: Q, /, **params: Any) -> Row | None:
        await self.send()
        return await self.real.one(q, **params)

    async def val(self, q: Q, /, **params: Any) -> Any:
        await self.send()
        return await self.real.val(q, **params)

    async def run(self, q: Q, /, **params: Any) -> int:
        await self.send()
        return await self.real.run(q, **params)

    async def many(self, q: Q, rows: Sequence[Mapping[str, Any]], /) -> None:
        await self.send()
        await self.real.many(q, rows)

    async def later(self, q: Q, /, **params: Any) -> None:
        await self.send()
        await self.real.later(q, **params)

    async def flush(self) -> None:
        await self.send()
        await self.real.flush()

    async def advisory_locks(self, keys: Sequence[int], /) -> None:
        await self.send()
        await self.real.advisory_locks(keys)

    async def lock_row(self, table: str, org_id: int, column: str, key: int, /) -> bool:
        await self.send()
        return await self.real.lock_row(table, org_id, column, key)

    async def fragment(self, template: str, tables: set[str], params: Mapping[str, Any], /) -> None:
        await self.send()
        await self.real.fragment(template, tables, params)


class _ImportUnit(UnitOfWork):
    """The unit of work of imported registrations: the events they record go to the
    outbox, unless the import runs with --no-events."""

    def __init__(self, tx: Tx, *, events: bool) -> None:
        super().__init__(tx, writable=True)
        self.keep_events = events

    def record(self, event: DomainEvent) -> None:
        if self.keep_events:
            super().record(event)


def _pairs(plan: RegistrationPlan) -> list[tuple[str, str]]:
    return [(i.type, i.value) for p in plan.profiles for i in p.identifiers]


def _imported_before(plan: RegistrationPlan, held: Mapping[tuple[str, str], list[Held]]) -> bool:
    """One customer holds every identifier of each profile in that profile's source account."""
    owners: set[int] = set()
    for p in plan.profiles:
        for i in p.identifiers:
            mine = [
                h.customer_id
                for h in held.get((i.type, i.value), [])
                if (h.source, h.account_id) == (p.source, p.account_id)
            ]
            if not mine:
                return False
            owners.update(mine)
    return len(owners) == 1


async def _store_batch(uow: UnitOfWork, lines: Sequence[Planned], events: bool, batched: bool) -> _Sorted:
    """Sort the batch's lines by their identifiers' holders and store the new ones together
    (the module's docstring); `batched=False` leaves every line not skipped to register
    one by one."""
    out = _Sorted()
    if not lines:
        return out
    org_id = lines[0].ctx.org_id
    found = await TransferRepository(uow.tx).held(org_id, [pair for ln in lines for pair in _pairs(ln.plan)])
    held: dict[tuple[str, str], list[Held]] = {}
    for h in found:
        held.setdefault((h.id_type, h.value), []).append(h)
    seen: set[tuple[str, str]] = set()
    new: list[Planned] = []
    for ln in lines:
        pairs = _pairs(ln.plan)
        if seen.isdisjoint(pairs):
            if not any(pair in held for pair in pairs):
                if batched and stores_without_reads(ln.plan, ln.ctx):
                    new.append(ln)
                else:
                    out.one_by_one.append(ln)
            elif _imported_before(ln.plan, held):
                out.skipped.append(ln.line)
                continue  # it writes nothing: later lines are judged by the holders alone
            else:
                out.one_by_one.append(ln)
        else:
            out.one_by_one.append(ln)
        seen.update(pairs)
    if new:
        tx = _Gathering(uow.tx)
        await tx.reserve("customer", len(new))
        unit = _ImportUnit(tx, events=events)
        for ln in new:
            await create_registered(unit, ln.ctx, ln.plan)
            out.imported.append(ln.line)
        await unit.flush()
    return out


def plan_lines(ctx: RequestContext, lines: list[tuple[int, Any]]) -> list[Outcome]:
    """Plan each line's registration as the API does, or say why it is refused (runs in the
    planning process)."""
    out: list[Outcome] = []
    for line, body in lines:
        try:
            out.append((line, plan_registration(ctx, mapping.parse_body(body))))
        except PatronError as exc:
            out.append((line, Refusal(line, exc.code, exc.message)))
    return out


async def _register_one(
    uow: UnitOfWork, ctx: RequestContext, plan: RegistrationPlan, events: bool
) -> Registered:
    """One line through the API's own use case (locks, holders, merge or conflict)."""
    unit = _ImportUnit(uow.tx, events=events)
    result = await apply_registration(unit, ctx, plan)
    await unit.flush()
    return result


async def _analyze(uow: UnitOfWork) -> None:
    await TransferRepository(uow.tx).analyze()


# The run -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Target:
    org_id: int
    config: OrgConfig
    actor: Actor


async def _target(uow: UnitOfWork, org_id: int, till_code: str | None) -> Target:
    org = await uow.orgs.get(org_id)
    if org is None:
        raise TransferFailed(f"org {org_id} does not exist")
    config = await orgs.get_config(uow, org_id)
    tills = [t for t in await uow.orgs.tills(org_id) if t.is_active]
    if till_code is not None:
        tills = [t for t in tills if t.code == till_code]
    if not tills:
        which = f"an active till '{till_code}'" if till_code else "an active till"
        raise TransferFailed(f"org {org_id} has no {which} to attribute the import to")
    till = tills[0]
    return Target(org_id, config, Actor(till.till_id, till.code, till.name, till.store_code, till.store_name))


class Importer:
    """One run over one file."""

    def __init__(
        self,
        db: Database,
        *,
        org_id: int,
        path: Path,
        fmt: str | None = None,
        events: bool = True,
        batch_size: int = BATCH,
        limit: int | None = None,
        till_code: str | None = None,
        progress: Callable[[int, int], None] | None = None,
        parallel: bool = True,
    ) -> None:
        self.db = db
        self.org_id = org_id
        self.path = path
        self.fmt = format_of(path, fmt)
        self.events = events
        self.batch_size = max(1, batch_size)
        self.limit = limit
        self.till_code = till_code
        self.progress = progress
        self.parallel = parallel and (os.cpu_count() or 1) > 1
        self.run_id = secrets.token_hex(4)
        self.summary = Summary(str(path), org_id, self.fmt, events)
        self._refused_out: IO[bytes] | None = None
        self._analyze_at = 1

    def size(self) -> int:
        try:
            return self.path.stat().st_size
        except OSError as exc:
            raise TransferFailed(f"cannot read {self.path}: {exc.strerror}") from None

    async def run(self) -> Summary:
        started = time.perf_counter()
        try:
            stream = self.path.open("rb")
        except OSError as exc:
            raise TransferFailed(f"cannot read {self.path}: {exc.strerror}") from None
        target = await self.db.read(_target, self.org_id, self.till_code)
        refused = refused_path(self.path)
        refused.unlink(missing_ok=True)  # a previous run's refusals are this run's to write again
        try:
            with stream:
                await self._run(stream, target)
        finally:
            if self._refused_out is not None:
                self._refused_out.close()
                self.summary.refused_file = str(refused)
            self.summary.seconds = time.perf_counter() - started
        return self.summary

    async def _run(self, stream: IO[bytes], target: Target) -> None:
        ctx = RequestContext(target.org_id, target.actor, "", target.config, SURFACE)
        loop = asyncio.get_running_loop()
        # Planning (the wire model, identifier normalisation) is most of a line's CPU: a
        # second process plans the next batch while this one stores the last. It is spawned,
        # not forked: this process has threads (the SQLite writer, the pool) a fork would copy
        # mid-flight. It starts now (a second of imports) while this process plans the first
        # batch itself.
        pool = ProcessPoolExecutor(1, mp_context=get_context("spawn")) if self.parallel else None
        if pool is not None:
            pool.submit(int)
        pending: tuple[asyncio.Future[list[Outcome]], list[Refusal], int] | None = None
        try:
            for chunk, done_bytes in self._chunks(stream):
                refusals = [Refusal(r.line, r.error.code, r.error.message) for r in chunk if r.error]
                todo = [(r.line, r.body) for r in chunk if r.error is None]
                if pool is not None and pending is not None:
                    planning = loop.run_in_executor(pool, plan_lines, ctx, todo)
                else:
                    planning = loop.create_future()
                    planning.set_result(plan_lines(ctx, todo))
                if pending is not None:
                    await self._finish(ctx, *pending)
                pending = (planning, refusals, done_bytes)
            if pending is not None:
                await self._finish(ctx, *pending)
        finally:
            if pool is not None:
                pool.shutdown(cancel_futures=True)

    def _chunks(self, stream: IO[bytes]) -> Iterator[tuple[list[Record], int]]:
        chunk: list[Record] = []
        done_bytes = 0
        try:
            for record in records(stream, self.fmt):
                if self.limit is not None and self.summary.read >= self.limit:
                    break
                self.summary.read += 1
                done_bytes = record.done_bytes
                chunk.append(record)
                if len(chunk) >= self.batch_size:
                    yield chunk, done_bytes
                    chunk = []
        except OSError as exc:
            raise TransferFailed(f"cannot read {self.path}: {exc.strerror}") from None
        if chunk:
            yield chunk, done_bytes

    async def _finish(
        self,
        ctx: RequestContext,
        planning: asyncio.Future[list[Outcome]],
        refusals: list[Refusal],
        done_bytes: int,
    ) -> None:
        batch: list[Planned] = []
        for line, outcome in await planning:
            if isinstance(outcome, Refusal):
                refusals.append(outcome)
            else:
                batch.append(Planned(line, replace(ctx, request_id=f"import-{self.run_id}-{line}"), outcome))
        # A batch makes some hundred thousand objects that live until it is stored; the
        # cyclic collector, run every 700 of them, would walk them all again and again (a
        # fifth of the import's time). It runs once the batch is done instead.
        collecting = gc.isenabled()
        gc.disable()
        try:
            await self._store(batch, refusals)
        finally:
            if collecting:
                gc.enable()
        if isinstance(self.db, PostgresDatabase) and self.summary.batches >= self._analyze_at:
            # PostgreSQL keeps the plans of its foreign-key checks per connection; planned on
            # the few rows of a young table they scan it, and each batch costs more than the
            # last. Fresh statistics as the run doubles what it wrote keep them index lookups.
            self._analyze_at *= 2
            await self.db.write(_analyze)
        if self.progress is not None:
            self.progress(done_bytes, self.summary.read)

    async def _store(self, batch: list[Planned], refusals: list[Refusal]) -> None:
        if batch:
            try:
                done = await self.db.write(_store_batch, batch, self.events, True)
            except IntegrityError:
                done = await self.db.write(_store_batch, batch, self.events, False)
            self.summary.batches += 1
            self.summary.imported += len(done.imported)
            self.summary.skipped += len(done.skipped)
            for line, outcome in zip(done.one_by_one, await self._one_by_one(done.one_by_one), strict=True):
                if isinstance(outcome, PatronError):
                    refusals.append(Refusal(line.line, outcome.code, outcome.message))
                elif any(w.code == MERGED for w in outcome.warnings):
                    self.summary.merged += 1
                else:
                    self.summary.imported += 1
        self._refuse(sorted(refusals, key=lambda r: r.line))

    async def _one_by_one(self, lines: list[Planned]) -> list[Registered | PatronError]:
        if isinstance(self.db, SqliteDatabase):
            # Queued together, in file order, they share a group commit, each in a savepoint.
            write = self.db.write
            events = self.events
            tasks = [asyncio.ensure_future(write(_register_one, ln.ctx, ln.plan, events)) for ln in lines]
            results = await asyncio.gather(*tasks, return_exceptions=True)
        else:
            results = []
            for ln in lines:
                try:
                    results.append(await self.db.write(_register_one, ln.ctx, ln.plan, self.events))
                except PatronError as exc:
                    results.append(exc)
        out: list[Registered | PatronError] = []
        for r in results:
            if isinstance(r, Registered | PatronError):
                out.append(r)
            elif isinstance(r, BaseException):
                raise r
        return out

    def _refuse(self, refusals: list[Refusal]) -> None:
        if not refusals:
            return
        if self._refused_out is None:
            self._refused_out = refused_path(self.path).open("wb")
        for r in refusals:
            item = {"line": r.line, "code": r.code, "message": r.message}
            self._refused_out.write(orjson.dumps(item) + b"\n")
        self._refused_out.flush()
        self.summary.refused += len(refusals)


async def import_file(db: Database, progress_stream: TextIO | None = None, **options: Any) -> Summary:
    """Run an import (the options of `Importer`), with a progress bar on `progress_stream`."""
    importer = Importer(db, **options)
    bar = Progress(progress_stream, importer.size()) if progress_stream is not None else None
    if bar is not None:
        importer.progress = bar.update
    try:
        return await importer.run()
    finally:
        if bar is not None:
            bar.close()
