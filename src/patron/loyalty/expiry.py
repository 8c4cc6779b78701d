"""The scheduled jobs that make time pass in loyalty: points that expire and tiers that
lapse (scheduler.py runs them in the delivery worker).

Points expiry. Every credit carries the moment its points expire (`expires_at`). Per org a
mark (`scheduler_mark`, job `points-expiry`) says up to when the job has looked; a run at
`now` finds the accounts with credits due in (mark - LAG, now], and those holding a credit
written already due (a stated expiry in the past, which no later run would otherwise
reach: found by when it was written, through a small partial index). Each account is then
expired in a transaction of its own: the customer held, its entries folded oldest first
(ledger.lots), and what is due by `now` written as one `expire` entry with the summary.
An account expired once has nothing due left, and two runs serialise on the customer, so
however many workers run the job, and however often a crashed run is repeated, each due
point expires once. The mark moves to `now` after the org's accounts are done; LAG covers
credits committed after a run had looked (a slow transaction, clocks a little apart).

Tier lapses. A summary whose `tier_expires_at` has passed is re-evaluated (loyalty/tiers.py)
under the customer's lock, re-read and re-checked there, so a lapse is applied once.

Both read what is due in pages (`BATCH` rows), so memory stays bounded however much falls
due at once (the first run over years of history).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from patron.customers.erasure import SYSTEM
from patron.db.engine import Database
from patron.db.sql import Q
from patron.db.tx import Row, Tx
from patron.db.uow import UnitOfWork
from patron.loyalty import ledger, service, tiers
from patron.loyalty.ledger import Entry
from patron.orgs.config import LoyaltyProgram, OrgConfig
from patron.scheduler import org_ids

POINTS_EXPIRY = "points-expiry"
BATCH = 200
LAG = timedelta(minutes=10)
BEGINNING = datetime(1, 1, 1, tzinfo=UTC)
_LAST_ID = 2**63 - 1

_MARK = Q("SELECT done_until FROM scheduler_mark WHERE org_id = :org_id AND job = :job")
# The mark never moves back (a concurrent run that started earlier finishes later).
_ADVANCE_MARK = Q(
    sqlite="INSERT INTO scheduler_mark (org_id, job, done_until) VALUES (:org_id, :job, :done_until)"
    " ON CONFLICT (org_id, job) DO UPDATE"
    " SET done_until = max(scheduler_mark.done_until, excluded.done_until)",
    postgresql="INSERT INTO scheduler_mark (org_id, job, done_until) VALUES (:org_id, :job, :done_until)"
    " ON CONFLICT (org_id, job) DO UPDATE"
    " SET done_until = GREATEST(scheduler_mark.done_until, excluded.done_until)",
)
# Credits falling due in (after, now], in pages by (expires_at, entry_id).
_DUE_BY_EXPIRY = Q(
    "SELECT expires_at, entry_id, customer_id, program_id FROM points_ledger"
    " WHERE org_id = :org_id AND expires_at <= :now AND expires_at >= :after_at"
    " AND (expires_at > :after_at OR entry_id > :after_id) AND points > 0 AND group_id IS NULL"
    " ORDER BY expires_at, entry_id LIMIT :limit"
)
# Credits written already due (the partial index ix_points_ledger_org_id_created_at holds
# only these), written after :after_at, in pages by (created_at, entry_id).
_DUE_WHEN_WRITTEN = Q(
    "SELECT created_at, entry_id, customer_id, program_id FROM points_ledger"
    " WHERE org_id = :org_id AND expires_at <= created_at AND created_at >= :after_at"
    " AND (created_at > :after_at OR entry_id > :after_id) AND expires_at <= :now"
    " AND points > 0 AND group_id IS NULL ORDER BY created_at, entry_id LIMIT :limit"
)
# The entries of some customers' accounts (the check before any lock is taken).
_ENTRIES_OF = Q(
    "SELECT customer_id, program_id, points, expires_at, created_at, entry_id FROM points_ledger"
    " WHERE org_id = :org_id AND customer_id IN (:customer_ids*) AND group_id IS NULL"
)
# One account's entries in the order they were written.
_ENTRIES = Q(
    "SELECT points, expires_at FROM points_ledger WHERE org_id = :org_id AND customer_id = :customer_id"
    " AND program_id = :program_id AND group_id IS NULL ORDER BY created_at, entry_id"
)
# Summaries whose tier has lapsed by :now, in pages by (tier_expires_at, customer, program).
_LAPSED_TIERS = Q(
    "SELECT tier_expires_at, customer_id, program_id FROM loyalty_enrollment"
    " WHERE org_id = :org_id AND tier_expires_at <= :now AND tier_expires_at >= :after_at"
    " AND (tier_expires_at > :after_at OR customer_id > :after_customer"
    " OR (customer_id = :after_customer AND program_id > :after_program))"
    " ORDER BY tier_expires_at, customer_id, program_id LIMIT :limit"
)
_QUALIFYING_KINDS = ", ".join(f"'{k}'" for k in sorted(ledger.EARNED | {ledger.RETURN}))
# What moved an account's lifetime points since a moment.
_EARNED_SINCE = Q(
    "SELECT created_at, points FROM points_ledger WHERE org_id = :org_id AND customer_id = :customer_id"
    f" AND program_id = :program_id AND group_id IS NULL AND kind IN ({_QUALIFYING_KINDS})"
    " AND created_at >= :since"
)


class ExpiryRepository:
    """The statements of the two jobs."""

    __slots__ = ("tx",)

    def __init__(self, tx: Tx) -> None:
        self.tx = tx

    async def mark(self, org_id: int, job: str) -> datetime | None:
        value: datetime | None = await self.tx.val(_MARK, org_id=org_id, job=job)
        return value

    async def advance_mark(self, org_id: int, job: str, done_until: datetime) -> None:
        await self.tx.later(_ADVANCE_MARK, org_id=org_id, job=job, done_until=done_until)

    async def due_page(
        self, org_id: int, written: bool, now: datetime, after: tuple[datetime, int]
    ) -> list[Row]:
        """A page of due credits: (key moment, entry_id, customer_id, program_id)."""
        q = _DUE_WHEN_WRITTEN if written else _DUE_BY_EXPIRY
        return await self.tx.all(q, org_id=org_id, now=now, after_at=after[0], after_id=after[1], limit=BATCH)

    async def entries_of(self, org_id: int, customer_ids: Sequence[int]) -> list[Row]:
        return await self.tx.all(_ENTRIES_OF, org_id=org_id, customer_ids=list(customer_ids))

    async def entries(
        self, org_id: int, customer_id: int, program_id: int
    ) -> list[tuple[int, datetime | None]]:
        rows = await self.tx.all(_ENTRIES, org_id=org_id, customer_id=customer_id, program_id=program_id)
        return [(int(r[0]), r[1]) for r in rows]

    async def lapsed_page(self, org_id: int, now: datetime, after: tuple[datetime, int, int]) -> list[Row]:
        return await self.tx.all(
            _LAPSED_TIERS,
            org_id=org_id,
            now=now,
            after_at=after[0],
            after_customer=after[1],
            after_program=after[2],
            limit=BATCH,
        )

    async def earned_since(
        self, org_id: int, customer_id: int, program_id: int, since: datetime
    ) -> list[tuple[datetime, int]]:
        rows = await self.tx.all(
            _EARNED_SINCE, org_id=org_id, customer_id=customer_id, program_id=program_id, since=since
        )
        return [(r[0], int(r[1])) for r in rows]


# Points expiry ----------------------------------------------------------------------------


async def expire_due_points(db: Database, now: datetime) -> int:
    """Expire the points due by `now` in every org; the expiry entries written."""
    written = 0
    for org_id in await org_ids(db):
        written += await expire_org_points(db, org_id, now)
    return written


async def expire_org_points(db: Database, org_id: int, now: datetime) -> int:
    """Expire the points due by `now` in one org; the expiry entries written."""
    mark = await db.read(_read_mark, org_id)
    since = BEGINNING if mark is None or mark - BEGINNING <= LAG else mark - LAG
    written, found = 0, False
    for by_writing in (False, True):
        after = (since, _LAST_ID)
        while True:
            page = await db.read(_due_page, org_id, by_writing, now, after)
            if not page:
                break
            found = True
            accounts = list(dict.fromkeys((int(r[2]), int(r[3])) for r in page))
            for customer_id, program_id in await db.read(_expiring, org_id, accounts, now):
                written += await db.write(expire_account, org_id, customer_id, program_id, now)
            if len(page) < BATCH:
                break
            after = (page[-1][0], int(page[-1][1]))
    if mark is None or found:
        await db.write(_advance_mark, org_id, now)
    return written


async def _read_mark(uow: UnitOfWork, org_id: int) -> datetime | None:
    return await ExpiryRepository(uow.tx).mark(org_id, POINTS_EXPIRY)


async def _advance_mark(uow: UnitOfWork, org_id: int, now: datetime) -> None:
    await ExpiryRepository(uow.tx).advance_mark(org_id, POINTS_EXPIRY, now)


async def _due_page(
    uow: UnitOfWork, org_id: int, by_writing: bool, now: datetime, after: tuple[datetime, int]
) -> list[Row]:
    return await ExpiryRepository(uow.tx).due_page(org_id, by_writing, now, after)


async def _expiring(
    uow: UnitOfWork, org_id: int, accounts: list[tuple[int, int]], now: datetime
) -> list[tuple[int, int]]:
    """The accounts among `accounts` with points due by `now`, read without a lock (each
    is checked again under its lock), so accounts expired already cost no write."""
    rows = await ExpiryRepository(uow.tx).entries_of(org_id, sorted({c for c, _ in accounts}))
    wanted = set(accounts)
    by_account: dict[tuple[int, int], list[Any]] = {}
    for r in rows:
        key = (int(r[0]), int(r[1]))
        if key in wanted:
            by_account.setdefault(key, []).append((r[4], int(r[5]), int(r[2]), r[3]))
    due = []
    for key in accounts:
        written = sorted(by_account.get(key, []), key=lambda e: (e[0], e[1]))
        if ledger.due(ledger.lots((points, expires) for _, _, points, expires in written), now) > 0:
            due.append(key)
    return due


async def expire_account(
    uow: UnitOfWork, org_id: int, customer_id: int, program_id: int, now: datetime
) -> int:
    """Expire what of one account is due by `now` (1 if an entry was written, else 0)."""
    held = await uow.loyalty.hold(org_id, customer_id, program_id, now)
    if held is None or not held[1].exists:
        return 0
    account = held[1]
    entries = await ExpiryRepository(uow.tx).entries(org_id, customer_id, program_id)
    points = min(ledger.due(ledger.lots(entries), now), account.balances.loyalty_points)
    if points <= 0:
        return 0
    entry = Entry(customer_id, program_id, ledger.EXPIRE, -points, ref_kind="scheduler")
    service.post(account, None, [entry], now)
    await uow.loyalty.append(org_id, [entry], SYSTEM.till_id, "", now)
    await uow.loyalty.save(org_id, [account], now)
    return 1


# Tier lapses ------------------------------------------------------------------------------


async def lapse_due_tiers(db: Database, now: datetime) -> int:
    """Re-evaluate every tier lapsed by `now` in every org; the summaries re-evaluated."""
    done = 0
    for org_id in await org_ids(db):
        done += await lapse_org_tiers(db, org_id, now)
    return done


async def lapse_org_tiers(db: Database, org_id: int, now: datetime) -> int:
    """Re-evaluate the tiers lapsed by `now` in one org; the summaries re-evaluated."""
    done = 0
    config: OrgConfig | None = None
    after = (BEGINNING, 0, 0)
    while True:
        page = await db.read(_lapsed_page, org_id, now, after)
        if not page:
            break
        if config is None:
            config = await db.read(_config, org_id)
            if config is None:
                return done
        for r in page:
            program = config.program(int(r[2])) if config.loyalty_programs else None
            if program is None:
                continue  # a program the org does not configure has no tiers to apply
            done += await db.write(lapse_tier, org_id, int(r[1]), program, now)
        if len(page) < BATCH:
            break
        after = (page[-1][0], int(page[-1][1]), int(page[-1][2]))
    return done


async def _lapsed_page(
    uow: UnitOfWork, org_id: int, now: datetime, after: tuple[datetime, int, int]
) -> list[Row]:
    return await ExpiryRepository(uow.tx).lapsed_page(org_id, now, after)


async def _config(uow: UnitOfWork, org_id: int) -> OrgConfig | None:
    org = await uow.orgs.get(org_id)
    return None if org is None else OrgConfig.model_validate(org.config)


async def lapse_tier(
    uow: UnitOfWork, org_id: int, customer_id: int, program: LoyaltyProgram, now: datetime
) -> int:
    """Re-evaluate one summary's lapsed tier (1 if it was still due, else 0)."""
    held = await uow.loyalty.hold(org_id, customer_id, program.program_id, now)
    if held is None or not held[1].exists:
        return 0
    account = held[1]
    if account.tier_expires_at is None or account.tier_expires_at > now:
        return 0  # another run re-evaluated it first
    state = tiers.TierState(account.tier_number, account.tier_expires_at, account.tier_base)
    earned = await ExpiryRepository(uow.tx).earned_since(
        org_id, customer_id, program.program_id, tiers.window_start(program, state)
    )
    lapsed = tiers.reevaluate(program, state, earned, account.balances.lifetime_points, now)
    account.tier_number = lapsed.state.tier_number
    account.tier_expires_at = lapsed.state.tier_expires_at
    account.tier_base = lapsed.state.tier_base
    if lapsed.dropped:
        # Points earned since the lapse count from the new base.
        service.upgrade_tier(account, program, now)
    await uow.loyalty.save(org_id, [account], now)
    return 1
