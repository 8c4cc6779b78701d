"""`patron loyalty rebuild --org ID`: every summary of an org recomputed from the ledger.

The summaries (a customer's row per program, a group's pool) are kept by the live writes in
the transaction of each entry; this folds the ledger again through the same rule
(`ledger.apply`), compares, reports every figure that differs and, unless asked for a dry
run, writes the ledger's figure back.

- Customers are walked in id order, `batch` at a time; a batch covers the ids after the
  previous batch's last up to its own last (the final batch: every id after), so entries
  and bills of an id with no customer row are found too. Each batch is one transaction that
  first holds its customers (PostgreSQL `FOR UPDATE`, in ascending id order, as every live
  points write holds its customer; SQLite's single writer holds the database), so the
  summaries, entries and bills it reads are one state even while tills keep writing.
- Entries are read in pages of `page` rows in (customer, program, entry) order, so memory
  stays bounded by the batch's accounts, whatever the size of the ledger or of one account.
- `cumulativePurchases` follows the bills, as the live path does: REGULAR amounts less
  RETURN amounts, never below zero. (A return counts at most what is left of its bill, so
  the live running total never needs the floor; both agree.)
- Tiers are not derived from the ledger (they also move with time, and with thresholds the
  configuration may change): they are left as they are. A summary the ledger has but the
  table lacks is inserted with the tier its lifetime points reach, as a first entry would.
- Group pools (`customer_group.loyalty_points`, `lifetime_points`) are the fold of the
  entries carrying the group's id, walked the same way by group id.

An entry `apply` refuses (unknown kind, wrong sign) stops the rebuild with an error: the
ledger itself is then damaged and no figure can be trusted from it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

from patron.customers.commands import INT64_MAX
from patron.db.base import utcnow
from patron.db.engine import Database
from patron.db.sql import Q
from patron.db.tx import Tx
from patron.db.uow import UnitOfWork
from patron.errors import RuleViolation
from patron.loyalty.ledger import Balances, apply
from patron.loyalty.repository import Account, money
from patron.loyalty.service import upgrade_tier
from patron.orgs import service as orgs
from patron.orgs.config import OrgConfig

BATCH = 1000  # customers (or groups) per transaction
PAGE = 10_000  # ledger entries per read

# The summary fields as the v2 surface names them, and the Balances attribute of each.
FIELDS = (
    ("loyaltyPoints", "loyalty_points"),
    ("lifetimePoints", "lifetime_points"),
    ("redeemed", "redeemed"),
    ("expired", "expired"),
    ("returned", "returned"),
    ("adjusted", "adjusted"),
    ("cumulativePurchases", "cumulative_purchases"),
)
POOL_FIELDS = (("loyaltyPoints", "loyalty_points"), ("lifetimePoints", "lifetime_points"))

_CENTS = Decimal(100)

# The batch's customers, held for the transaction in ascending id order on PostgreSQL.
_CUSTOMERS = Q(
    sqlite="SELECT customer_id FROM customer WHERE org_id = :org_id AND customer_id > :after"
    " ORDER BY customer_id LIMIT :n",
    postgresql="SELECT customer_id FROM customer WHERE org_id = :org_id AND customer_id > :after"
    " ORDER BY customer_id LIMIT :n FOR UPDATE",
)
_CUSTOMERS_IN = Q("SELECT customer_id FROM customer WHERE org_id = :org_id AND customer_id IN (:ids*)")
_SUMMARIES = Q(
    "SELECT customer_id, program_id, loyalty_points, lifetime_points, redeemed, expired, returned,"
    " adjusted, cumulative_purchases FROM loyalty_enrollment"
    " WHERE org_id = :org_id AND customer_id > :lo AND customer_id <= :hi"
)
# Net purchases per account in cents (SQLite keeps NUMERIC as REAL: each amount is rounded
# to its cents before the sum, so the sum is exact).
_BILL_CENTS = Q(
    sqlite="SELECT customer_id, program_id,"
    " SUM(CASE type WHEN 'RETURN' THEN -1 ELSE 1 END * CAST(ROUND(bill_amount * 100) AS INTEGER))"
    " FROM loyalty_bill WHERE org_id = :org_id AND customer_id > :lo AND customer_id <= :hi"
    " GROUP BY customer_id, program_id",
    postgresql="SELECT customer_id, program_id,"
    " SUM(CASE type WHEN 'RETURN' THEN -1 ELSE 1 END * bill_amount * 100)::bigint"
    " FROM loyalty_bill WHERE org_id = :org_id AND customer_id > :lo AND customer_id <= :hi"
    " GROUP BY customer_id, program_id",
)
# One page of the batch's entries after a cursor (the index's own order).
_ENTRIES = Q(
    "SELECT customer_id, program_id, entry_id, kind, points FROM points_ledger"
    " WHERE org_id = :org_id AND customer_id <= :hi AND group_id IS NULL"
    " AND (customer_id, program_id, entry_id) > (:c, :p, :e)"
    " ORDER BY customer_id, program_id, entry_id LIMIT :n"
)
_SET_BALANCES = Q(
    "UPDATE loyalty_enrollment SET loyalty_points = :loyalty_points, lifetime_points = :lifetime_points,"
    " redeemed = :redeemed, expired = :expired, returned = :returned, adjusted = :adjusted,"
    " cumulative_purchases = :cumulative_purchases, updated_at = :now"
    " WHERE org_id = :org_id AND customer_id = :customer_id AND program_id = :program_id"
)
_GROUPS = Q(
    sqlite="SELECT group_id, loyalty_points, lifetime_points FROM customer_group"
    " WHERE org_id = :org_id AND group_id > :after ORDER BY group_id LIMIT :n",
    postgresql="SELECT group_id, loyalty_points, lifetime_points FROM customer_group"
    " WHERE org_id = :org_id AND group_id > :after ORDER BY group_id LIMIT :n FOR UPDATE",
)
_GROUPS_IN = Q("SELECT group_id FROM customer_group WHERE org_id = :org_id AND group_id IN (:ids*)")
_GROUP_ENTRIES = Q(
    "SELECT group_id, entry_id, kind, points FROM points_ledger"
    " WHERE org_id = :org_id AND group_id <= :hi AND (group_id, entry_id) > (:g, :e)"
    " ORDER BY group_id, entry_id LIMIT :n"
)
_SET_POOL = Q(
    "UPDATE customer_group SET loyalty_points = :loyalty_points, lifetime_points = :lifetime_points,"
    " updated_at = :now WHERE org_id = :org_id AND group_id = :group_id"
)


@dataclass(frozen=True, slots=True)
class Difference:
    """One figure of one summary that is not what the ledger adds up to. `stored` is None
    when the summary row is missing; `fixed` says whether the ledger's figure was written."""

    field: str
    stored: int | Decimal | None
    ledger: int | Decimal
    customer_id: int | None = None
    program_id: int | None = None
    group_id: int | None = None
    fixed: bool = False


@dataclass(slots=True)
class Report:
    org_id: int
    accounts: int = 0  # customer summaries checked (customer and program)
    groups: int = 0  # group pools checked
    entries: int = 0  # ledger entries folded
    differences: int = 0
    fixed: int = 0


@dataclass(slots=True)
class _Batch:
    """What one transaction found: its cursor for the next one and its differences."""

    last: int | None
    accounts: int = 0
    entries: int = 0
    differences: list[Difference] = field(default_factory=list)


Sink = Callable[[Difference], None]


def _ignore(_: Difference) -> None:
    return None


async def rebuild(
    db: Database,
    org_id: int,
    *,
    dry_run: bool = False,
    on_difference: Sink = _ignore,
    batch: int = BATCH,
    page: int = PAGE,
) -> Report:
    """Fold the org's ledger into summaries, report each figure that differs (through
    `on_difference`, as each batch commits) and, unless `dry_run`, write the ledger's."""
    if batch < 1 or page < 1:
        raise ValueError("batch and page are 1 or more")
    config = await db.read(orgs.get_config, org_id)  # NotFound for an unknown org
    report = Report(org_id)
    after: int | None = 0
    while after is not None:
        found = await db.write(
            _customers_batch, org_id, after, config=config, batch=batch, page=page, dry_run=dry_run
        )
        _count(report, found, on_difference)
        report.accounts += found.accounts
        after = found.last
    after = 0
    while after is not None:
        found = await db.write(_groups_batch, org_id, after, batch=batch, page=page, dry_run=dry_run)
        _count(report, found, on_difference)
        report.groups += found.accounts
        after = found.last
    return report


def _count(report: Report, found: _Batch, sink: Sink) -> None:
    report.entries += found.entries
    for d in found.differences:
        report.differences += 1
        report.fixed += d.fixed
        sink(d)


async def _customers_batch(
    uow: UnitOfWork, org_id: int, after: int, *, config: OrgConfig, batch: int, page: int, dry_run: bool
) -> _Batch:
    tx = uow.tx
    held = [int(r[0]) for r in await tx.all(_CUSTOMERS, org_id=org_id, after=after, n=batch)]
    # The last batch reaches every id after it: ledger rows of an id without a customer too.
    last = held[-1] if len(held) == batch else None
    hi = INT64_MAX if last is None else last
    stored: dict[tuple[int, int], Balances] = {}
    for r in await tx.all(_SUMMARIES, org_id=org_id, lo=after, hi=hi):
        stored[(int(r[0]), int(r[1]))] = Balances(
            int(r[2]), int(r[3]), int(r[4]), int(r[5]), int(r[6]), int(r[7]), money(r[8])
        )
    folded: dict[tuple[int, int], Balances] = {}
    for r in await tx.all(_BILL_CENTS, org_id=org_id, lo=after, hi=hi):
        folded[(int(r[0]), int(r[1]))] = Balances(
            cumulative_purchases=max(Decimal(0), Decimal(int(r[2])) / _CENTS).quantize(Decimal("0.01"))
        )
    entries = await _fold_entries(tx, org_id, after, hi, page, folded)
    customers = set(held)
    keys = stored.keys() | folded.keys()
    strays = {c for c, _ in keys} - customers
    if strays:
        # Ids of the range the batch does not hold: a customer registered since the batch
        # began (PostgreSQL hands out ids in blocks per process) is left to its own writes;
        # an id with no customer at all is reported (its rows cannot be fixed).
        born = {int(r[0]) for r in await tx.all(_CUSTOMERS_IN, org_id=org_id, ids=sorted(strays))}
        keys = {k for k in keys if k[0] not in born}
    now = utcnow()
    result = _Batch(last, len(keys), entries)
    fresh: list[Account] = []
    for key in sorted(keys):
        customer_id, program_id = key
        want = folded.get(key) or Balances()
        have = stored.get(key)
        fixable = not dry_run and customer_id in customers
        found = _compare(FIELDS, have, want, fixable, customer_id=customer_id, program_id=program_id)
        if not found:
            continue
        result.differences.extend(found)
        if not fixable:
            continue
        if have is None:
            account = Account(customer_id, program_id, exists=False, enrolled_at=now, balances=want)
            program = config.program(program_id)
            if program is not None:
                upgrade_tier(account, program, now)
            fresh.append(account)
        else:
            await tx.later(
                _SET_BALANCES,
                org_id=org_id,
                customer_id=customer_id,
                program_id=program_id,
                loyalty_points=want.loyalty_points,
                lifetime_points=want.lifetime_points,
                redeemed=want.redeemed,
                expired=want.expired,
                returned=want.returned,
                adjusted=want.adjusted,
                cumulative_purchases=want.cumulative_purchases,
                now=now,
            )
    if fresh:
        await uow.loyalty.save(org_id, fresh, now)
    return result


async def _fold_entries(
    tx: Tx, org_id: int, after: int, hi: int, page: int, into: dict[tuple[int, int], Balances]
) -> int:
    """Fold the batch's entries into `into`, a page at a time; how many there were."""
    cursor = (after, INT64_MAX, INT64_MAX)  # every entry of a customer after `after`
    count = 0
    while True:
        rows = await tx.all(_ENTRIES, org_id=org_id, hi=hi, c=cursor[0], p=cursor[1], e=cursor[2], n=page)
        key: tuple[int, int] | None = None
        b = Balances()
        for r in rows:  # rows come grouped by account: look the account up when it changes
            if (r[0], r[1]) != key:
                key = (r[0], r[1])
                b = into.get(key) or into.setdefault(key, Balances())
            try:
                apply(b, r[3], r[4])
            except ValueError as exc:
                raise RuleViolation(2095, x=f"entry {r[2]} of customer {r[0]}: {exc}") from None
        count += len(rows)
        if len(rows) < page:
            return count
        last = rows[-1]
        cursor = (int(last[0]), int(last[1]), int(last[2]))


async def _groups_batch(
    uow: UnitOfWork, org_id: int, after: int, *, batch: int, page: int, dry_run: bool
) -> _Batch:
    tx = uow.tx
    stored: dict[int, Balances] = {}
    for r in await tx.all(_GROUPS, org_id=org_id, after=after, n=batch):
        stored[int(r[0])] = Balances(loyalty_points=int(r[1]), lifetime_points=int(r[2]))
    last = max(stored) if len(stored) == batch else None
    hi = INT64_MAX if last is None else last
    folded: dict[int, Balances] = {}
    cursor = (after, INT64_MAX)
    entries = 0
    while True:
        rows = await tx.all(_GROUP_ENTRIES, org_id=org_id, hi=hi, g=cursor[0], e=cursor[1], n=page)
        for r in rows:
            b = folded.get(r[0]) or folded.setdefault(r[0], Balances())
            try:
                apply(b, r[2], r[3])
            except ValueError as exc:
                raise RuleViolation(2095, x=f"entry {r[1]} of group {r[0]}: {exc}") from None
        entries += len(rows)
        if len(rows) < page:
            break
        cursor = (int(rows[-1][0]), int(rows[-1][1]))
    keys = stored.keys() | folded.keys()
    strays = keys - stored.keys()
    if strays:  # as for customers: a group made since the batch began is left alone
        born = {int(r[0]) for r in await tx.all(_GROUPS_IN, org_id=org_id, ids=sorted(strays))}
        keys -= born
    now = utcnow()
    result = _Batch(last, len(keys), entries)
    for group_id in sorted(keys):
        want = folded.get(group_id) or Balances()
        have = stored.get(group_id)
        # A pool whose group row is missing is reported, not made up.
        fixable = not dry_run and have is not None
        found = _compare(POOL_FIELDS, have, want, fixable, group_id=group_id)
        result.differences.extend(found)
        if found and fixable:
            await tx.later(
                _SET_POOL,
                org_id=org_id,
                group_id=group_id,
                loyalty_points=want.loyalty_points,
                lifetime_points=want.lifetime_points,
                now=now,
            )
    return result


def _compare(
    fields: tuple[tuple[str, str], ...],
    have: Balances | None,
    want: Balances,
    fixable: bool,
    *,
    customer_id: int | None = None,
    program_id: int | None = None,
    group_id: int | None = None,
) -> list[Difference]:
    out = []
    for name, attr in fields:
        ledger_value = getattr(want, attr)
        stored_value = None if have is None else getattr(have, attr)
        if stored_value != ledger_value:
            out.append(
                Difference(name, stored_value, ledger_value, customer_id, program_id, group_id, fixable)
            )
    return out
