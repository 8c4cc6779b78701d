"""Bulk loader for the loyalty benchmark: customers and a points ledger written straight to
the database (not through the API), as Patron itself would have left them.

    .venv/bin/python bench/loyalty_load.py --url URL --org ID --customers N --entries M [--check]

`URL` is Patron's database URL (`sqlite+aiosqlite:///path` or `postgresql+asyncpg://...`),
already migrated, and `ID` an org made with `patron org create NAME --config
bench/loyalty_config.json` (any org with a default loyalty program will do). The loader
brings the org to N loyalty customers and M ledger entries in its default program:

- Customers it lacks are written as a registration writes them: the `customer` row, an
  INSTORE profile with a demo first and last name, a mobile (`9196` and 8 digits from the
  customer id) and an email identifier, their search terms (`term_rows` of
  customers/repository.py, so they fold as Patron's do), and in the default program the
  registration points entry and the summary row (`loyalty_enrollment`). Registrations are
  dated 30 to 300 days ago.
- Then entries until the org holds M, spread over the loyalty customers unevenly (each
  customer's share is drawn with a random weight, so a few hold ten times the mean): after
  the registration, seven purchases in eight (an `earn` entry of floor(amount x earnRate)
  points for an amount from 10.00 to 5,000.00, expiring after the program's
  pointsExpiryDays, with its REGULAR `loyalty_bill`) and one redemption in eight (half the
  points the purchase before it earned, so a balance never goes below zero). A customer's
  entries are dated in order between its last one and now, all within 300 days, so none has
  expired. Amounts and times come from a hash of the entry id: a load is repeatable.
- Every summary is the fold of its entries (loyalty/ledger.py `apply`): points, lifetime
  points, redeemed, cumulative purchases (the bills) and the customer's lifetime purchases,
  so `patron loyalty rebuild` finds nothing to correct. The tier is the highest its lifetime
  points reach (moved up only, as `upgrade_tier` does), dated from the customer's last entry
  of the load (the live path dates it from the entry that crossed the threshold; rebuild
  leaves tiers alone). `--check` adds the ledger and the bills up again and compares.

Run it again with a larger M to grow the ledger: the new entries are added to the summaries
as they stand (the purchases a benchmark made meanwhile included). The benchmark loads 1
million entries, measures, then grows to 10 million. Patron must not write to the org while
it runs. Ids come from Patron's own counters, moved past the ids used (`id_sequence` on
SQLite, the `*_id_seq` sequences on PostgreSQL), so the API carries on after the loaded rows
(bill ids skip the ids of entries that are not purchases, as a rolled-back write skips
them).

Fast and in bounded memory: a batch of customers at a time (about 200,000 entries), one
transaction each, and the entries are made by the database itself from a small plan table
(one row per customer: first entry id, count, first time, spacing), with INSERT ... SELECT
over a numbers table (SQLite) or generate_series (PostgreSQL); only the customers' names
and identifiers cross from Python (SQLite `executemany`, PostgreSQL binary COPY). On
PostgreSQL the loaded tables are then vacuumed and analysed, as autovacuum would have done
on a database in service; on SQLite the WAL is checkpointed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sqlite3
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from pathlib import Path
from typing import Any

import asyncpg

from patron.cli.demo import FIRST, LAST
from patron.customers.repository import IDENTIFIER, PROFILE, TERM, term_rows
from patron.customers.views import IdentifierView, ProfileView, TillRef
from patron.db.sql import POSTGRESQL, SQLITE, Q
from patron.loyalty.repository import ACCOUNT, BILL, LEDGER
from patron.orgs.config import LoyaltyProgram, OrgConfig

DAY_US = 86_400_000_000
HISTORY_DAYS = 300  # everything is dated in the last 300 days (less than a year's expiry)
NEWEST_DAYS = 30  # customers registered at least 30 days ago
BATCH_ENTRIES = 200_000  # entries per batch and transaction (bounds the memory)
REDEEM_EVERY = 8  # one entry in eight (after the registration) is a redemption
MIN_CENTS, MAX_CENTS = 1_000, 500_000  # purchases from 10.00 to 5,000.00
MOBILE_PREFIX = "9196"  # the register scenario's mobiles start 9198
PRIME = 2_147_483_647  # 2^31 - 1: the hash below stays far inside 64-bit integers
EARN_REQUEST = 1 << 62  # request ids of purchases: 32 hex digits of this plus the bill id

# The columns this loader writes, in Patron's order; checked against the tables Patron
# writes, so a new or moved column fails the loader loudly instead of being left out.
PROFILE_COLUMNS = tuple(c for c, _ in PROFILE.columns)
IDENTIFIER_COLUMNS = tuple(c for c, _ in IDENTIFIER.columns)
TERM_COLUMNS = tuple(c for c, _ in TERM.columns)
_EXPECTED = {
    PROFILE.name: "org_id customer_id source account_id first_name last_name comm_channels created_at"
    " updated_at created_by_till_id updated_by_till_id",
    IDENTIFIER.name: "org_id source account_id id_type value customer_id created_at",
    TERM.name: "org_id term customer_id id_type source account_id display_value",
    ACCOUNT.name: "org_id customer_id program_id tier_number loyalty_points tier_expires_at"
    " points_expire_at enrolled_at lifetime_points redeemed expired returned adjusted"
    " cumulative_purchases tier_base updated_at",
    LEDGER.name: "org_id entry_id customer_id program_id group_id kind points expires_at amount"
    " bill_number ref_kind ref_id till_id request_id notes created_at",
    BILL.name: "org_id bill_id customer_id program_id type bill_number bill_amount bill_date points"
    " line_items till_id request_id created_at",
}
for _table in (PROFILE, IDENTIFIER, TERM, ACCOUNT, LEDGER, BILL):
    if " ".join(c for c, _ in _table.columns) != _EXPECTED[_table.name]:
        raise RuntimeError(f"bench/loyalty_load.py: the columns of {_table.name} changed; update the loader")


class LoadError(RuntimeError):
    """The org cannot be loaded as asked; the message says why."""


@dataclass
class Loaded:
    """What a load did, and what the org holds after it."""

    customers_created: int = 0
    entries_written: int = 0
    seconds: float = 0.0
    customers: int = 0  # loyalty customers of the org in the default program
    entries: int = 0  # ledger entries of the org
    first_customer: int = 0  # the lowest and highest id of those customers
    last_customer: int = 0

    def to_json(self) -> dict[str, Any]:
        return {
            "customers_created": self.customers_created,
            "entries_written": self.entries_written,
            "seconds": round(self.seconds, 1),
            "customers": self.customers,
            "entries": self.entries,
            "customer_ids": [self.first_customer, self.last_customer],
        }


@dataclass(frozen=True)
class PlanRow:
    """One customer's part of a batch: its entries are ids first_entry .. + entries - 1, the
    first (the registration, when `registers`) at start_us, the others one `step_us` apart
    with a jitter below it."""

    customer_id: int
    first_entry: int
    entries: int
    start_us: int
    step_us: int
    registers: int  # 1: the first entry is the registration points


# The statements ------------------------------------------------------------------------------


def _time(dialect: str, us: str) -> str:
    """SQL for the stored form of a time given in microseconds since the epoch: Patron's
    SQLite text (naive UTC, 6 decimals), or a PostgreSQL timestamptz."""
    if dialect == SQLITE:
        seconds = f"strftime('%Y-%m-%d %H:%M:%S', ({us}) / 1000000, 'unixepoch')"
        return f"({seconds} || printf('.%06d', ({us}) % 1000000))"
    return f"(TIMESTAMPTZ 'epoch' + ({us}) * INTERVAL '1 microsecond')"


def _plus_days(dialect: str, at: str, days: str) -> str:
    if dialect == SQLITE:
        return f"(datetime(substr({at}, 1, 19), '+' || ({days}) || ' days') || substr({at}, 20))"
    return f"({at} + ({days}) * INTERVAL '86400 seconds')"


def _hex32(dialect: str, value: str) -> str:
    return f"printf('%032x', {value})" if dialect == SQLITE else f"lpad(to_hex({value}), 32, '0')"


def _hash(e: str, seed: int, multiplier: int = 48271) -> str:
    """A pseudo-random number below 2^31 - 1 from an entry id: a quadratic of it, then a
    multiplicative (Lehmer) step, every product far inside 64-bit integers."""
    quadratic = f"((({e}) % {PRIME}) * (({e}) % {PRIME}) % {PRIME} * 7 + ({e}) * 40503 + {seed}) % {PRIME}"
    return f"({quadratic}) * {multiplier} % {PRIME}"


@dataclass(frozen=True)
class Statements:
    """The load's statements for one org's default program on one engine (the program's
    figures are validated configuration integers, written into the text)."""

    dialect: str
    program: LoyaltyProgram
    seed: int

    def _q(self, text: str) -> Q:
        return Q(text)

    @property
    def numbers(self) -> str:
        """Entry offsets 0 .. count - 1 of each plan row."""
        if self.dialect == SQLITE:
            return "loyalty_load_plan p CROSS JOIN loyalty_load_nums n WHERE n.i < p.entries"
        return "loyalty_load_plan p CROSS JOIN LATERAL generate_series(0, p.entries - 1) AS n(i)"

    def entries(self) -> Q:
        """The plan's ledger entries: registration, purchases, one redemption in eight."""
        d, program = self.dialect, self.program
        rate = Fraction(program.earn_rate_exact)
        num, den = rate.numerator, rate.denominator * 100  # points per cent
        span = MAX_CENTS - MIN_CENTS
        days = program.points_expiry_days
        expires = "NULL" if days is None else _time(d, f"x.t + {days * DAY_US}")
        earns = f"x.cents * {num} / {den}"
        half_before = f"-((x.cents_before * {num} / {den} + 1) / 2)"
        amount = "x.cents / 100.0"
        request = _hex32(d, f"CASE WHEN x.kind = 'earn' THEN x.bill + {EARN_REQUEST} ELSE x.e END")
        jitter = f"({_hash('p.first_entry + n.i', self.seed, 16807)}) % p.step_us"
        return self._q(
            "INSERT INTO points_ledger (org_id, entry_id, customer_id, program_id, group_id, kind, points,"
            " expires_at, amount, bill_number, ref_kind, ref_id, till_id, request_id, notes, created_at)"
            f" SELECT CAST(:org_id AS BIGINT), x.e, x.customer_id, {program.program_id}, NULL, x.kind,"
            f" CASE x.kind WHEN 'registration' THEN {program.registration_points} WHEN 'earn' THEN {earns}"
            f" ELSE {half_before} END,"
            f" CASE WHEN x.kind = 'redeem' THEN NULL ELSE {expires} END,"
            f" CASE WHEN x.kind = 'earn' THEN {amount} END,"
            " CASE WHEN x.kind = 'earn' THEN 'L' || x.bill END,"
            " CASE WHEN x.kind = 'earn' THEN 'bill' END,"
            " CASE WHEN x.kind = 'earn' THEN x.bill END,"
            f" CAST(:till_id AS BIGINT), {request}, NULL, {_time(d, 'x.t')}"
            " FROM (SELECT p.customer_id, p.first_entry + n.i AS e,"
            " CAST(:first_bill AS BIGINT) + p.first_entry + n.i - CAST(:first_entry AS BIGINT) AS bill,"
            " CASE WHEN p.registers = 1 AND n.i = 0 THEN 'registration'"
            f" WHEN (n.i - p.registers) % {REDEEM_EVERY} = {REDEEM_EVERY - 1} THEN 'redeem' ELSE 'earn' END"
            " AS kind,"
            " CASE WHEN p.registers = 1 AND n.i = 0 THEN p.start_us"
            f" ELSE p.start_us + n.i * p.step_us + {jitter} END AS t,"
            f" {MIN_CENTS} + ({_hash('p.first_entry + n.i', self.seed)}) % {span} AS cents,"
            f" {MIN_CENTS} + ({_hash('p.first_entry + n.i - 1', self.seed)}) % {span} AS cents_before"
            f" FROM {self.numbers}) x"
        )

    def bills(self) -> Q:
        """The REGULAR bill of each purchase the last statement wrote."""
        line_items = "'[]'" if self.dialect == SQLITE else "'[]'::jsonb"
        return self._q(
            "INSERT INTO loyalty_bill (org_id, bill_id, customer_id, program_id, type, bill_number,"
            " bill_amount,"
            " bill_date, points, line_items, till_id, request_id, created_at)"
            " SELECT org_id, ref_id, customer_id, program_id, 'REGULAR', bill_number, amount, created_at,"
            " points,"
            f" {line_items}, till_id, request_id, created_at FROM points_ledger"
            " WHERE org_id = :org_id AND entry_id >= :first_entry AND entry_id <= :last_entry AND kind ="
            " 'earn'"
        )

    def sums(self) -> Q:
        """The batch's entries added up per customer (a temporary table)."""
        cents = "CAST(ROUND(amount * 100) AS INTEGER)" if self.dialect == SQLITE else "(amount * 100)::bigint"
        return self._q(
            "INSERT INTO loyalty_load_sums (customer_id, points, credits, redeemed, cents, last_at)"
            " SELECT customer_id, SUM(points), SUM(CASE WHEN points > 0 THEN points ELSE 0 END),"
            " -SUM(CASE WHEN kind = 'redeem' THEN points ELSE 0 END),"
            f" SUM(CASE WHEN kind = 'earn' THEN {cents} ELSE 0 END), MAX(created_at)"
            " FROM points_ledger WHERE org_id = :org_id AND entry_id >= :first_entry AND entry_id <="
            " :last_entry"
            " GROUP BY customer_id"
        )

    def _tier(self, qualifying: str) -> str:
        tiers = sorted(self.program.tiers, key=lambda t: t.threshold, reverse=True)
        whens = " ".join(f"WHEN {qualifying} >= {t.threshold} THEN {t.number}" for t in tiers)
        return f"CASE {whens} ELSE {tiers[-1].number} END"

    def _validity_days(self, tier: str) -> str:
        whens = " ".join(
            f"WHEN {t.number} THEN {t.validity_days}"
            for t in self.program.tiers
            if t.validity_days is not None
        )
        return f"CASE {tier} {whens} END" if whens else "NULL"

    def _money(self, cents: str) -> str:
        return f"({cents}) / 100.0"

    def customers(self) -> Q:
        """The plan's new customers, their lifetime purchases what their bills add up to."""
        d = self.dialect
        at = _time(d, "p.start_us")
        json = "'{}'" if d == SQLITE else "'{}'::jsonb"
        return self._q(
            "INSERT INTO customer (org_id, customer_id, loyalty_type, status_label, merged_into_id,"
            " extended_fields, custom_fields, associated_with, created_from_source, fraud_status,"
            " lifetime_purchases, registered_at, created_at, updated_at, created_by_till_id,"
            " updated_by_till_id,"
            " version)"
            " SELECT CAST(:org_id AS BIGINT), p.customer_id, 'loyalty', CAST(:status_label AS TEXT), NULL,"
            f" {json}, {json}, NULL, 'INSTORE',"
            f" 'NOT_FRAUD', {self._money('COALESCE(s.cents, 0)')}, {at}, {at}, {at}, CAST(:till_id AS"
            " BIGINT),"
            " CAST(:till_id AS BIGINT), 1"
            " FROM loyalty_load_plan p LEFT JOIN loyalty_load_sums s ON s.customer_id = p.customer_id"
            " ORDER BY p.customer_id"
        )

    def new_summaries(self) -> Q:
        """The new customers' summaries in the program: the fold of their entries."""
        d = self.dialect
        at = _time(d, "p.start_us")
        lifetime = "COALESCE(s.credits, 0)"
        tier = self._tier(lifetime)
        days = self._validity_days(tier)
        last = f"COALESCE(s.last_at, {at})"
        expires = "NULL" if days == "NULL" else _plus_days(d, last, days)
        return self._q(
            "INSERT INTO loyalty_enrollment (org_id, customer_id, program_id, tier_number, loyalty_points,"
            " tier_expires_at, points_expire_at, enrolled_at, lifetime_points, redeemed, expired, returned,"
            " adjusted, cumulative_purchases, tier_base, updated_at)"
            f" SELECT CAST(:org_id AS BIGINT), p.customer_id, {self.program.program_id}, {tier},"
            " COALESCE(s.points, 0),"
            f" {expires}, NULL, {at}, {lifetime}, COALESCE(s.redeemed, 0), 0, 0, 0,"
            f" {self._money('COALESCE(s.cents, 0)')}, 0, {last}"
            " FROM loyalty_load_plan p LEFT JOIN loyalty_load_sums s ON s.customer_id = p.customer_id"
            " ORDER BY p.customer_id"
        )

    def moved_summaries(self) -> Q:
        """Existing summaries moved on by the batch's entries (tiers only move up)."""
        d = self.dialect
        lifetime = "(e.lifetime_points + s.credits)"
        reached = self._tier(f"{lifetime} - e.tier_base")
        higher = "max" if d == SQLITE else "GREATEST"
        tier = f"{higher}(COALESCE(e.tier_number, 0), {reached})"
        days = self._validity_days(reached)
        new_expiry = "NULL" if days == "NULL" else _plus_days(d, "s.last_at", days)
        cents = (
            "CAST(ROUND(e.cumulative_purchases * 100) AS INTEGER)"
            if d == SQLITE
            else "(e.cumulative_purchases * 100)::bigint"
        )
        return self._q(
            f"UPDATE loyalty_enrollment AS e SET tier_number = {tier},"
            f" tier_expires_at = CASE WHEN {reached} > COALESCE(e.tier_number, 0) THEN {new_expiry}"
            " ELSE e.tier_expires_at END,"
            " loyalty_points = e.loyalty_points + s.points, lifetime_points = e.lifetime_points + s.credits,"
            " redeemed = e.redeemed + s.redeemed, cumulative_purchases ="
            f" {self._money(f'{cents} + s.cents')},"
            " updated_at = s.last_at"
            " FROM loyalty_load_sums s"
            f" WHERE e.org_id = :org_id AND e.program_id = {self.program.program_id}"
            " AND e.customer_id = s.customer_id"
        )

    def moved_customers(self) -> Q:
        cents = (
            "CAST(ROUND(c.lifetime_purchases * 100) AS INTEGER)"
            if self.dialect == SQLITE
            else "(c.lifetime_purchases * 100)::bigint"
        )
        return self._q(
            f"UPDATE customer AS c SET lifetime_purchases = {self._money(f'{cents} + s.cents')}"
            " FROM loyalty_load_sums s WHERE c.org_id = :org_id AND c.customer_id = s.customer_id"
        )

    def summaries(self) -> Q:
        """A page of the program's summaries: the customers a growth spreads entries over."""
        return Q(
            "SELECT customer_id, enrolled_at, updated_at FROM loyalty_enrollment"
            f" WHERE org_id = :org_id AND program_id = {self.program.program_id} AND customer_id > :after"
            " ORDER BY customer_id LIMIT :n"
        )

    def check(self) -> Q:
        """Each summary against its ledger and bills, in cents and points."""
        d = self.dialect

        def cents(column: str) -> str:
            if d == SQLITE:
                return f"CAST(ROUND({column} * 100) AS INTEGER)"
            return f"({column} * 100)::bigint"

        return Q(
            "SELECT e.customer_id, e.loyalty_points, e.lifetime_points, e.redeemed,"
            f" {cents('e.cumulative_purchases')},"
            f" {cents('c.lifetime_purchases')}, l.points, l.lifetime, l.redeemed, b.cents"
            " FROM loyalty_enrollment e JOIN customer c ON c.org_id = e.org_id AND c.customer_id ="
            " e.customer_id"
            " LEFT JOIN (SELECT customer_id, SUM(points) AS points,"
            " SUM(CASE WHEN kind IN ('enrollment', 'registration', 'earn', 'return') THEN points ELSE 0 END)"
            " AS lifetime, -SUM(CASE WHEN kind = 'redeem' THEN points ELSE 0 END) AS redeemed"
            f" FROM points_ledger WHERE org_id = :org_id AND program_id = {self.program.program_id}"
            " AND group_id IS NULL GROUP BY customer_id) l ON l.customer_id = e.customer_id"
            f" LEFT JOIN (SELECT customer_id, SUM(CASE WHEN type = 'REGULAR' THEN 1 ELSE -1 END"
            f" * {cents('bill_amount')}) AS cents FROM loyalty_bill WHERE org_id = :org_id"
            f" AND program_id = {self.program.program_id} GROUP BY customer_id) b ON b.customer_id ="
            " e.customer_id"
            f" WHERE e.org_id = :org_id AND e.program_id = {self.program.program_id}"
        )


_ORG = Q("SELECT config FROM org WHERE org_id = :org_id")
_TILL = Q("SELECT till_id, code, name FROM till WHERE org_id = :org_id ORDER BY till_id LIMIT 1")
_CUSTOMERS = Q(
    "SELECT count(*), MIN(customer_id), MAX(customer_id) FROM loyalty_enrollment"
    " WHERE org_id = :org_id AND program_id = :program_id"
)
_ENTRIES = Q("SELECT count(*) FROM points_ledger WHERE org_id = :org_id")
_PLAN_COLUMNS = ("customer_id", "first_entry", "entries", "start_us", "step_us", "registers")
_TEMP_TABLES = (
    "CREATE TEMP TABLE IF NOT EXISTS loyalty_load_plan (customer_id BIGINT PRIMARY KEY, first_entry BIGINT,"
    " entries BIGINT, start_us BIGINT, step_us BIGINT, registers INTEGER)",
    "CREATE TEMP TABLE IF NOT EXISTS loyalty_load_sums (customer_id BIGINT PRIMARY KEY, points BIGINT,"
    " credits BIGINT, redeemed BIGINT, cents BIGINT, last_at {time})",
)


# Engines -------------------------------------------------------------------------------------


class Store:
    """One connection to Patron's database, as the load uses it."""

    dialect: str

    async def one(self, q: Q, **params: Any) -> Any:
        raise NotImplementedError

    async def all(self, q: Q, **params: Any) -> list[Sequence[Any]]:
        raise NotImplementedError

    async def reserve(self, name: str, count: int) -> int:
        """Take `count` ids of Patron's counter `name`; the first."""
        raise NotImplementedError

    async def write_batch(self, work: Callable[[], Any]) -> None:
        raise NotImplementedError

    async def run(self, q: Q, **params: Any) -> None:
        raise NotImplementedError

    async def plan(self, rows: Sequence[PlanRow]) -> None:
        """Replace the plan table's rows (and empty the sums)."""
        raise NotImplementedError

    async def copy(self, table: str, columns: Sequence[str], rows: Sequence[tuple[Any, ...]]) -> None:
        raise NotImplementedError

    async def finish(self, tables: Sequence[str]) -> None:
        """What a database in service would have done by now (statistics, vacuum)."""

    async def close(self) -> None:
        raise NotImplementedError


class SqliteStore(Store):
    dialect = SQLITE

    def __init__(self, path: Path) -> None:
        if not path.exists():
            raise LoadError(f"there is no database at {path}: run `patron migrate` first")
        self.conn = sqlite3.connect(path, isolation_level=None, timeout=60.0)
        self.conn.execute("PRAGMA journal_mode=WAL")  # as Patron keeps it
        self.conn.execute("PRAGMA synchronous=NORMAL")  # fsync at checkpoints, not at each batch
        self.conn.execute("PRAGMA cache_size=-1000000")  # 1 GB: the ledger's indexes stay in memory
        self.conn.execute("PRAGMA temp_store=MEMORY")
        for text in _TEMP_TABLES:
            self.conn.execute(text.format(time="TEXT"))
        self.conn.execute("CREATE TEMP TABLE IF NOT EXISTS loyalty_load_nums (i INTEGER PRIMARY KEY)")
        self.nums = 0

    def _exec(self, q: Q, params: dict[str, Any]) -> sqlite3.Cursor:
        c = q.compiled(SQLITE)
        return self.conn.execute(c.text, c.args(params))

    async def one(self, q: Q, **params: Any) -> Any:
        return self._exec(q, params).fetchone()

    async def all(self, q: Q, **params: Any) -> list[Sequence[Any]]:
        return self._exec(q, params).fetchall()

    async def run(self, q: Q, **params: Any) -> None:
        self._exec(q, params)

    async def reserve(self, name: str, count: int) -> int:
        conn = self.conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            value = int(conn.execute("SELECT value FROM id_sequence WHERE name = ?", (name,)).fetchone()[0])
            conn.execute("UPDATE id_sequence SET value = ? WHERE name = ?", (value + count, name))
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        return value + 1

    async def write_batch(self, work: Callable[[], Any]) -> None:
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            await work()
            self.conn.execute("COMMIT")
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise

    async def plan(self, rows: Sequence[PlanRow]) -> None:
        conn = self.conn
        conn.execute("DELETE FROM loyalty_load_plan")
        conn.execute("DELETE FROM loyalty_load_sums")
        conn.executemany(
            f"INSERT INTO loyalty_load_plan ({', '.join(_PLAN_COLUMNS)}) VALUES (?, ?, ?, ?, ?, ?)",
            [tuple(getattr(r, c) for c in _PLAN_COLUMNS) for r in rows],
        )
        longest = max((r.entries for r in rows), default=0)
        if longest > self.nums:
            conn.execute(
                "INSERT INTO loyalty_load_nums (i) WITH RECURSIVE n(i) AS (SELECT ? UNION ALL"
                " SELECT i + 1 FROM n WHERE i + 1 < ?) SELECT i FROM n",
                (self.nums, longest),
            )
            self.nums = longest

    async def copy(self, table: str, columns: Sequence[str], rows: Sequence[tuple[Any, ...]]) -> None:
        marks = ", ".join("?" for _ in columns)
        self.conn.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", rows)

    async def finish(self, tables: Sequence[str]) -> None:
        self.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    async def close(self) -> None:
        self.conn.close()


class PostgresStore(Store):
    dialect = POSTGRESQL

    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn

    @classmethod
    async def open(cls, url: str) -> PostgresStore:
        conn = await asyncpg.connect(url.replace("+asyncpg", "", 1))
        # The loader's commits need not wait for the disk (the server stays durable: fsync
        # and full-page writes on); VACUUM at the end flushes the last of them.
        await conn.execute("SET synchronous_commit = off")
        await conn.execute("SET TIME ZONE 'UTC'")
        for text in _TEMP_TABLES:
            await conn.execute(text.format(time="TIMESTAMPTZ"))
        return cls(conn)

    async def one(self, q: Q, **params: Any) -> Any:
        c = q.compiled(POSTGRESQL)
        return await self.conn.fetchrow(c.text, *c.args(params))

    async def all(self, q: Q, **params: Any) -> list[Sequence[Any]]:
        c = q.compiled(POSTGRESQL)
        return list(await self.conn.fetch(c.text, *c.args(params)))

    async def run(self, q: Q, **params: Any) -> None:
        c = q.compiled(POSTGRESQL)
        await self.conn.execute(c.text, *c.args(params))

    async def reserve(self, name: str, count: int) -> int:
        # One statement: the block is the loader's even if Patron took ids meanwhile.
        last = await self.conn.fetchval(
            f"SELECT setval('{name}_id_seq', nextval('{name}_id_seq') + $1 - 1)", count
        )
        return int(last) - count + 1

    async def write_batch(self, work: Callable[[], Any]) -> None:
        async with self.conn.transaction():
            await work()

    async def plan(self, rows: Sequence[PlanRow]) -> None:
        await self.conn.execute("TRUNCATE loyalty_load_plan, loyalty_load_sums")
        records = [tuple(getattr(r, c) for c in _PLAN_COLUMNS) for r in rows]
        await self.conn.copy_records_to_table("loyalty_load_plan", records=records, columns=_PLAN_COLUMNS)
        await self.conn.execute("ANALYZE loyalty_load_plan")

    async def copy(self, table: str, columns: Sequence[str], rows: Sequence[tuple[Any, ...]]) -> None:
        await self.conn.copy_records_to_table(table, records=rows, columns=list(columns))

    async def finish(self, tables: Sequence[str]) -> None:
        for table in tables:
            await self.conn.execute(f"VACUUM (ANALYZE) {table}")

    async def close(self) -> None:
        await self.conn.close()


async def open_store(url: str) -> Store:
    if url.startswith("sqlite"):
        _, sep, rest = url.partition(":///")
        if not sep or not rest:
            raise LoadError(f"not a SQLite file URL: {url}")
        return SqliteStore(Path(rest.split("?", 1)[0]))
    if url.startswith("postgresql"):
        return await PostgresStore.open(url)
    raise LoadError(f"unknown database URL {url!r}: sqlite+aiosqlite:///... or postgresql+asyncpg://...")


# The load ------------------------------------------------------------------------------------

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _us(value: Any) -> int:
    """A time read back (datetime, or SQLite's text) in microseconds since the epoch."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return int((value - _EPOCH) // timedelta(microseconds=1))


def _spread(total: int, parts: int) -> Iterator[tuple[int, int]]:
    """(start, count) of `parts` nearly equal consecutive slices of `total`."""
    for n in range(parts):
        start, end = total * n // parts, total * (n + 1) // parts
        yield start, end - start


def shares(rng: random.Random, customers: int, total: int) -> list[int]:
    """`total` entries over `customers`, each share in proportion to a random weight
    (exponential: most near the mean, a few up to ten times it)."""
    if customers <= 0:
        return []
    weights = [rng.expovariate(1.0) for _ in range(customers)]
    scale = total / sum(weights)
    out = [int(w * scale) for w in weights]
    for n in rng.sample(range(customers), total - sum(out)) if total > sum(out) else ():
        out[n] += 1
    return out


@dataclass
class Loader:
    store: Store
    sql: Statements
    org_id: int
    till: TillRef
    status_label: str
    rng: random.Random
    now_us: int
    log: Callable[[str], None]
    result: Loaded
    budget: int = 0
    shown: int = 0
    started: float = 0.0

    @property
    def params(self) -> dict[str, Any]:
        return {"org_id": self.org_id, "till_id": self.till.till_id, "status_label": self.status_label}

    async def batch(self, plan: list[PlanRow], new: list[tuple[int, int]] | None) -> None:
        """Write one batch: its entries and bills, then the new customers with their
        summaries, or the existing summaries moved on. `new`: (customer id, registration
        time) of the new customers."""
        entries = sum(r.entries for r in plan)
        first_entry = await self.store.reserve("ledger", entries)
        first_bill = await self.store.reserve("bill", entries)
        shifted = [
            PlanRow(r.customer_id, r.first_entry + first_entry, r.entries, r.start_us, r.step_us, r.registers)
            for r in plan
        ]
        ids = self.params | {
            "first_entry": first_entry,
            "last_entry": first_entry + entries - 1,
            "first_bill": first_bill,
        }
        store, sql = self.store, self.sql

        async def work() -> None:
            await store.plan(shifted)
            await store.run(sql.entries(), **ids)
            await store.run(sql.bills(), **ids)
            await store.run(sql.sums(), **ids)
            if new is not None:
                await store.run(sql.customers(), **ids)
                await self.customer_rows(new)
                await store.run(sql.new_summaries(), **ids)
            else:
                await store.run(sql.moved_summaries(), **ids)
                await store.run(sql.moved_customers(), **ids)

        await store.write_batch(work)
        self.result.entries_written += entries
        self.result.customers_created += len(new or ())
        self.progress()

    async def customer_rows(self, new: list[tuple[int, int]]) -> None:
        """Profiles, identifiers and search terms of new customers, as registration writes them."""
        org_id, till, rng = self.org_id, self.till, self.rng
        sqlite = self.store.dialect == SQLITE
        profiles: list[tuple[Any, ...]] = []
        identifiers: list[tuple[Any, ...]] = []
        terms: list[tuple[Any, ...]] = []
        for customer_id, reg_us in new:
            at = datetime.fromtimestamp(reg_us / 1_000_000, UTC)
            stamp: Any = at.replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds") if sqlite else at
            first, last = rng.choice(FIRST), rng.choice(LAST)
            views = [
                IdentifierView("email", f"{first}.{last}.{customer_id}@example.com".lower(), "INSTORE", ""),
                IdentifierView("mobile", f"{MOBILE_PREFIX}{customer_id % 100_000_000:08d}", "INSTORE", ""),
            ]
            profiles.append(
                (
                    org_id,
                    customer_id,
                    "INSTORE",
                    "",
                    first,
                    last,
                    "[]",
                    stamp,
                    stamp,
                    till.till_id,
                    till.till_id,
                )
            )
            identifiers.extend((org_id, "INSTORE", "", i.type, i.value, customer_id, stamp) for i in views)
            view = ProfileView("INSTORE", "", first, last, [], views, at, at, till, till)
            terms.extend(tuple(r[c] for c in TERM_COLUMNS) for r in term_rows(org_id, customer_id, [view]))
        await self.store.copy(PROFILE.name, PROFILE_COLUMNS, profiles)
        await self.store.copy(IDENTIFIER.name, IDENTIFIER_COLUMNS, identifiers)
        await self.store.copy(TERM.name, TERM_COLUMNS, terms)

    def progress(self) -> None:
        """A line at every tenth of the entries."""
        done = self.result.entries_written
        tenth = done * 10 // max(1, self.budget)
        if tenth > self.shown:
            self.shown = tenth
            elapsed = time.monotonic() - self.started
            rate = done / elapsed if elapsed else 0.0
            self.log(
                f"  {done:,}/{self.budget:,} entries, {self.result.customers_created:,} customers, "
                f"{elapsed:.0f} s ({rate:,.0f} entries/s)"
            )

    async def add_customers(self, count: int, budget: int) -> None:
        """`count` new customers holding `budget` entries (registrations included)."""
        registers = 1 if self.sql.program.registration_points else 0
        counts = shares(self.rng, count, max(0, budget - registers * count))
        first_customer = await self.store.reserve("customer", count)
        oldest = self.now_us - HISTORY_DAYS * DAY_US
        end = self.now_us - 60_000_000
        plan: list[PlanRow] = []
        new: list[tuple[int, int]] = []
        offset = 0
        for n, extra in enumerate(counts):
            reg_us = oldest + self.rng.randrange(0, (HISTORY_DAYS - NEWEST_DAYS) * DAY_US)
            entries = registers + extra
            step = max(1, (end - reg_us) // (entries + 1))
            plan.append(PlanRow(first_customer + n, offset, entries, reg_us, step, registers))
            new.append((first_customer + n, reg_us))
            offset += entries
            if offset >= BATCH_ENTRIES or n == count - 1:
                await self.batch(plan, new)
                plan, new, offset = [], [], 0

    async def add_entries(self, customers: int, budget: int) -> None:
        """`budget` entries over the program's existing customers, after each one's last."""
        counts = iter(shares(self.rng, customers, budget))
        end = self.now_us - 60_000_000
        after = 0
        page = await self.store.all(self.sql.summaries(), org_id=self.org_id, after=after, n=10_000)
        plan: list[PlanRow] = []
        offset = 0
        while page:
            for customer_id, enrolled_at, updated_at in page:
                count = next(counts, 0)
                if not count:
                    continue
                start = max(_us(updated_at or enrolled_at), self.now_us - HISTORY_DAYS * DAY_US) + 1
                step = max(1, (end - start) // (count + 1))
                plan.append(PlanRow(int(customer_id), offset, count, start, step, 0))
                offset += count
                if offset >= BATCH_ENTRIES:
                    await self.batch(plan, None)
                    plan, offset = [], 0
            after = int(page[-1][0])
            page = await self.store.all(self.sql.summaries(), org_id=self.org_id, after=after, n=10_000)
        if plan:
            await self.batch(plan, None)


async def _load(
    url: str,
    org_id: int,
    customers: int,
    entries: int,
    seed: int,
    log: Callable[[str], None],
    check: bool,
) -> Loaded:
    started = time.monotonic()
    store = await open_store(url)
    result = Loaded()
    try:
        row = await store.one(_ORG, org_id=org_id)
        if row is None:
            raise LoadError(f"org {org_id} does not exist")
        document = json.loads(row[0]) if isinstance(row[0], str) else row[0]
        config = OrgConfig.model_validate(document)
        program = config.program(None) if config.loyalty_programs else None
        if program is None:
            raise LoadError(
                f"org {org_id} has no default loyalty program: create it with bench/loyalty_config.json"
            )
        if program.earn_rate_exact * MIN_CENTS / 100 < 1:
            raise LoadError(
                f"program {program.program_id} earns no point on a 10.00 purchase: raise its earnRate"
            )
        till = await store.one(_TILL, org_id=org_id)
        if till is None:
            raise LoadError(f"org {org_id} has no till")
        have_customers = int((await store.one(_CUSTOMERS, org_id=org_id, program_id=program.program_id))[0])
        have_entries = int((await store.one(_ENTRIES, org_id=org_id))[0])
        loader = Loader(
            store,
            Statements(store.dialect, program, seed % 1_000_003),
            org_id,
            TillRef(int(till[0]), str(till[1]), str(till[2])),
            config.initial_status_label,
            random.Random(f"{seed}-{have_customers}-{have_entries}"),
            _us(datetime.now(UTC)),
            log,
            result,
            started=started,
        )
        new_customers = max(0, customers - have_customers)
        budget = max(0, entries - have_entries)
        loader.budget = max(budget, new_customers)
        if new_customers:
            log(
                f"loading {new_customers:,} customers and {budget:,} ledger entries into org {org_id}"
                f" ({store.dialect})"
            )
            await loader.add_customers(new_customers, max(budget, new_customers))
        elif budget:
            log(
                f"growing org {org_id}'s ledger by {budget:,} entries over its {have_customers:,} customers"
                f" ({store.dialect})"
            )
            await loader.add_entries(have_customers, budget)
        if result.entries_written:
            log(
                "finishing: "
                + ("VACUUM ANALYZE of the loaded tables" if store.dialect == POSTGRESQL else "checkpoint")
            )
            tables = ["points_ledger", "loyalty_bill", "loyalty_enrollment", "customer"]
            if new_customers:
                tables += [PROFILE.name, IDENTIFIER.name, TERM.name]
            await store.finish(tables)
        found = await store.one(_CUSTOMERS, org_id=org_id, program_id=program.program_id)
        result.customers, result.first_customer, result.last_customer = (int(v or 0) for v in found)
        result.entries = int((await store.one(_ENTRIES, org_id=org_id))[0])
        if check:
            problems = _differences(await store.all(loader.sql.check(), org_id=org_id))
            if problems:
                raise LoadError("summaries differ from the ledger:\n" + "\n".join(problems))
            log(f"checked: the {result.customers:,} summaries equal their ledger and bills")
    finally:
        await store.close()
    result.seconds = time.monotonic() - started
    return result


def _differences(rows: Sequence[Sequence[Any]]) -> list[str]:
    out = []
    for r in rows:
        got = tuple(int(v) for v in r[1:6])
        bills = int(r[9] or 0)
        want = (int(r[6] or 0), int(r[7] or 0), int(r[8] or 0), bills, bills)
        if got != want:
            out.append(f"customer {r[0]}: summary {got} != ledger and bills {want}")
            if len(out) >= 20:
                break
    return out


def load(
    url: str,
    org_id: int,
    customers: int,
    entries: int,
    *,
    seed: int = 1,
    log: Callable[[str], None] | None = None,
    check: bool = False,
) -> Loaded:
    """Bring org `org_id` to `customers` loyalty customers and `entries` ledger entries
    (new customers first, each registered with its points; then entries spread over the
    org's customers). Patron must not write to the org while it runs."""
    if customers < 1 or entries < 0:
        raise LoadError("need at least one customer and no negative entry count")
    say = log or (lambda message: print(message, file=sys.stderr, flush=True))
    return asyncio.run(_load(url, org_id, customers, entries, seed, say, check))


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="bench/loyalty_load.py",
        description="Load loyalty customers and ledger entries into a Patron org (not through the API).",
    )
    parser.add_argument(
        "--url", required=True, help="database URL (sqlite+aiosqlite:///... or postgresql+asyncpg://...)"
    )
    parser.add_argument(
        "--org", type=int, required=True, help="org id (its default loyalty program is loaded)"
    )
    parser.add_argument(
        "--customers", type=int, default=100_000, help="loyalty customers the org should hold"
    )
    parser.add_argument("--entries", type=int, default=10_000_000, help="ledger entries the org should hold")
    parser.add_argument("--seed", type=int, default=1, help="random seed")
    parser.add_argument(
        "--check", action="store_true", help="compare every summary with its ledger afterwards"
    )
    args = parser.parse_args(argv)
    try:
        result = load(args.url, args.org, args.customers, args.entries, seed=args.seed, check=args.check)
    except LoadError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(result.to_json()))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
