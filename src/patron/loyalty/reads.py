"""The read side of loyalty: program-wise details, partner links, the ledger's goodwill
credits, what expires when and what expired, and the group pools a customer belongs to.

    loyalty_details        Fetch Customer Loyalty Details: one statement on PostgreSQL,
                           two on SQLite (the partner links, when partner programs exist)
    loyalty_details_by_identifier
                           Get Customer Loyalty Details: the identifier resolved first
    embedded               what Fetch Customer Details' loyalty embeds need beyond the record

Figures come from the summary rows (loyalty/reads_repository.py); only the embeds that list
entries (promotionalPoints, expirySchedules, expiredPoints) read the customer's ledger.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from patron.context import RequestContext
from patron.customers import catalog
from patron.customers.addressing import customer_id_by_identifier, resolve_account
from patron.customers.commands import INT64_MAX, SourceAccount
from patron.customers.views import CustomerView, EnrollmentView, TillRef
from patron.db.base import utcnow
from patron.db.uow import UnitOfWork
from patron.errors import InvalidInput, NotFound
from patron.loyalty import ledger, programs
from patron.loyalty.partners_repository import Membership
from patron.loyalty.reads_repository import GroupPool
from patron.orgs.config import OrgConfig

# Embeds that read the customer's ledger, and those listing every program it is in.
LEDGER_EMBEDS = frozenset({"promotionalPoints", "expirySchedules", "expiredPoints"})
PROGRAM_EMBEDS = frozenset({"mlp", "expirySchedules", "expiredPoints"})
# identifierName values of Get Customer Loyalty Details (003:L4996): the lookup names and `id`.
ID_NAME = "id"
DETAILS_LOOKUP_NAMES = (*catalog.LOOKUP_NAMES, ID_NAME)


@dataclass(frozen=True, slots=True)
class LoyaltyDetails:
    customer_id: int
    programs: list[EnrollmentView]
    memberships: list[Membership]


@dataclass(frozen=True, slots=True)
class Promotion:
    """A goodwill credit, shown as a promotion entry (003:L2617-2667)."""

    program_id: int
    points: int
    issued_at: datetime
    expires_at: datetime | None
    till: TillRef | None
    source_id: int | None  # the goodwill request


@dataclass(frozen=True, slots=True)
class Expiry:
    """Points of one program that expire (or expired) at a moment."""

    at: datetime
    points: int


@dataclass(frozen=True, slots=True)
class Embedded:
    """What the loyalty embeds of Fetch Customer Details read beyond the customer record."""

    programs: list[EnrollmentView] = field(default_factory=list)
    memberships: list[Membership] = field(default_factory=list)
    promotions: list[Promotion] = field(default_factory=list)
    schedules: dict[int, list[Expiry]] = field(default_factory=dict)
    expired: dict[int, list[Expiry]] = field(default_factory=dict)
    groups: list[GroupPool] = field(default_factory=list)


def held_programs(
    config: OrgConfig,
    loyalty_type: str,
    since: datetime,
    summaries: Sequence[EnrollmentView],
    memberships: Sequence[Membership],
) -> list[EnrollmentView]:
    """The programs a customer is in, by program id: those with a summary, the default
    program of a loyalty customer and the loyalty programs of its partner links. A program
    no entry has moved yet shows zero figures in the tier zero points reach."""
    held = {s.program_id: s for s in summaries}
    implied: list[int] = []
    default = config.program(None)
    if loyalty_type == catalog.LOYALTY and default is not None:
        implied.append(default.program_id)
    for m in memberships:
        partner = config.partner_program(m.partner_program_id)
        if partner is not None:
            implied.append(partner.loyalty_program_id)
    for program_id in implied:
        program = config.program(program_id)
        if program_id not in held and program is not None:
            tier = programs.tier_for(program, 0)
            held[program_id] = EnrollmentView(program_id, tier.number, 0, None, None, since)
    return [held[p] for p in sorted(held)]


def parse_program_id(raw: str | None) -> int | None:
    """The `programId` filter: absent, or a whole number of 1 or more."""
    if raw is None or raw == "":
        return None
    text = raw.strip()
    if not (text.isascii() and text.isdigit()) or len(text) > 19 or not 1 <= int(text) <= INT64_MAX:
        raise InvalidInput(400, detail=f"programId must be a whole number from 1 to {INT64_MAX}.")
    return int(text)


async def loyalty_details(
    uow: UnitOfWork, ctx: RequestContext, customer_id: int, program_id: int | None = None
) -> LoyaltyDetails:
    """One entry per program the customer is in (LOY-1), `program_id` keeping one; partner
    links beside the program they belong to (LOY-2). 8015 unknown, 8069 merged."""
    config = ctx.config
    found = await uow.loyalty_reads.holder(
        ctx.org_id, customer_id, with_memberships=bool(config.partner_programs)
    )
    if found is None:
        raise NotFound(8015)
    if found.merged_into_id is not None:
        raise NotFound(8069, detail=f"Use customer id {found.merged_into_id}.")
    held = held_programs(config, found.loyalty_type, found.registered_at, found.summaries, found.memberships)
    if program_id is not None:
        held = [s for s in held if s.program_id == program_id]
        if not held and config.program(program_id) is None:
            raise InvalidInput(2002, x=program_id)
    return LoyaltyDetails(customer_id, held, found.memberships)


async def loyalty_details_by_identifier(
    uow: UnitOfWork,
    ctx: RequestContext,
    where: SourceAccount,
    name: str,
    value: str,
    program_id: int | None = None,
) -> LoyaltyDetails:
    """The same, for the customer an identifier names in a source account (ALL: any)."""
    source, account = resolve_account(ctx.config, where, allow_all=True)
    if not name:
        raise InvalidInput(8013, detail="identifierName is required.")
    if name != ID_NAME:
        customer_id = await customer_id_by_identifier(
            uow, ctx, name, value, source, account, DETAILS_LOOKUP_NAMES
        )
        return await loyalty_details(uow, ctx, customer_id, program_id)
    # `id` names the customer itself; in a source other than ALL it must have a profile there.
    text = value.strip()
    if not text:
        raise InvalidInput(8013, detail="identifierValue is required.")
    if not (text.isascii() and text.isdigit()) or len(text) > 18:
        raise NotFound(8015)
    found = await loyalty_details(uow, ctx, int(text), program_id)
    if source != catalog.ALL_SOURCES and not await uow.loyalty_reads.has_profile(
        ctx.org_id, found.customer_id, source, account
    ):
        raise NotFound(8065)
    return found


def expiry_schedule(entries: Sequence[tuple[int, datetime | None]], now: datetime) -> list[Expiry]:
    """What of an account's points expires when after `now`, soonest first.

    `entries` are the account's entries as (signed points, a credit's expiry) in the order
    they were written; each debit spent the points held then that expire first, as the
    expiry job folds them (ledger.lots), so the schedule is what the job will take. What is
    due by `now` already is the job's next run's, not scheduled."""
    return [
        Expiry(lot.expires_at, lot.points)
        for lot in ledger.lots(entries)
        if lot.expires_at is not None and lot.expires_at > now
    ]


async def embedded(
    uow: UnitOfWork, ctx: RequestContext, view: CustomerView, embeds: Sequence[str], *, by_identifier: bool
) -> Embedded:
    """Read what the requested loyalty embeds need beyond the customer record: partner
    links (mlp), the ledger (promotionalPoints, expirySchedules, expiredPoints) and, in
    Fetch Customer Details (by Identifier) with mlp, the group pools."""
    wanted = set(embeds)
    config, org_id, customer_id = ctx.config, ctx.org_id, view.customer_id
    reads = uow.loyalty_reads
    memberships: list[Membership] = []
    if wanted & PROGRAM_EMBEDS and config.partner_programs:
        # The partner links show in mlp, and name programs the customer is in.
        memberships = await reads.memberships(org_id, customer_id)
    held = held_programs(config, view.loyalty_type, view.registered_at, view.enrollments, memberships)
    groups = await reads.groups(org_id, customer_id) if "mlp" in wanted and by_identifier else []
    if not wanted & LEDGER_EMBEDS:
        return Embedded(held, memberships, groups=groups)
    rows = await reads.ledger(org_id, customer_id)
    promotions: list[Promotion] = []
    if "promotionalPoints" in wanted:
        goodwill = [r for r in rows if r.kind == ledger.GOODWILL]
        tills = await uow.customers.tills(org_id, {r.till_id for r in goodwill})
        promotions = [
            Promotion(r.program_id, r.points, r.created_at, r.expires_at, tills.get(r.till_id), r.ref_id)
            for r in reversed(goodwill)
        ]
    schedules: dict[int, list[Expiry]] = {}
    if "expirySchedules" in wanted:
        now = utcnow()
        accounts: dict[int, list[tuple[int, datetime | None]]] = {}
        for r in rows:
            accounts.setdefault(r.program_id, []).append((r.points, r.expires_at))
        for s in held:
            schedules[s.program_id] = expiry_schedule(accounts.get(s.program_id, []), now)
    expired: dict[int, list[Expiry]] = {}
    if "expiredPoints" in wanted:
        for r in rows:
            if r.kind == ledger.EXPIRE:
                expired.setdefault(r.program_id, []).append(Expiry(r.created_at, -r.points))
    return Embedded(held, memberships, promotions, schedules, expired, groups)
