"""Partner programs: a loyalty customer's links to the org's partner programs, and the
reminder sent before a SUPPLEMENTARY membership expires.

    link(...)                       POST   /v2/customers/{id}/partnerPrograms
    update(...)                     PUT    /v2/customers/{id}/partnerPrograms/{partnerProgramId}
    delink(...)                     DELETE /v2/customers/{id}/partnerPrograms/{partnerProgramId}
    send_membership_reminders(...)  the scheduled job (scheduler.py)

Each write holds the customer row, reads the membership, changes it and records its event
(loyalty/partner_events.py) in one unit of work. Input is checked before anything is read:

- `partnerProgramId` must be a configured partner program (2040).
- `partnerTierNumber` and `partnerTierExpiryDate` belong to tier-based programs only (2041);
  the tier must be one of the program's (2042). A tier-based link that names no tier starts
  in the program's lowest tier.
- Dates are calendar dates written YYYY-MM-DD (2043); `membershipNumber` is 1 to 100
  characters (2046).
- Only loyalty customers are linked (1013); a customer is linked to a program once (2044,
  409); an update or delink of a program the customer is not linked to is 2045 (404).

An update's `updateType`: UPGRADE when the tier number rises, DOWNGRADE when it falls,
RENEWAL when the tier stays and the membership expiry date moves later, UPDATE for any
other change. An update that changes nothing writes nothing and raises no event.

The reminder: every scheduler pass, for each org, the memberships of its SUPPLEMENTARY
programs whose expiry date lies between today (in the org's time zone) and today plus the
program's `expiryReminderDays`, and whose reminder for that date was not sent, get one:
the `partner_reminder` row and the event in one transaction, the row's key making it once
per customer, program and expiry date (loyalty/partners_repository.py). A membership
that already expired gets none; a renewal to a new date makes the next reminder due.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import TypeVar
from zoneinfo import ZoneInfo

from patron.context import RequestContext
from patron.customers import catalog
from patron.customers.cards import series_names
from patron.customers.erasure import SYSTEM
from patron.customers.views import CustomerView
from patron.db.base import utcnow
from patron.db.engine import Database
from patron.db.uow import UnitOfWork
from patron.errors import Conflict, InvalidInput, NotFound, RuleViolation
from patron.loyalty.partner_events import (
    DOWNGRADE,
    RENEWAL,
    UPDATE,
    UPGRADE,
    PartnerProgramDelinked,
    PartnerProgramLinked,
    PartnerProgramUpdated,
    SupplementaryMembershipExpiryReminder,
)
from patron.loyalty.partners_repository import DueReminder, Membership
from patron.orgs.config import OrgConfig, PartnerProgram
from patron.scheduler import org_ids

SUPPLEMENTARY = "SUPPLEMENTARY"
_T = TypeVar("_T")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
MAX_MEMBERSHIP_NUMBER = 100


@dataclass(frozen=True, slots=True)
class PartnerFields:
    """The optional fields of a link or an update, as the request gave them (None: not given)."""

    membership_number: str | None = None
    membership_expiry_date: str | None = None
    partner_tier_number: int | None = None
    partner_tier_expiry_date: str | None = None


@dataclass(frozen=True, slots=True)
class LinkPartnerProgram:
    customer_id: int
    partner_program_id: int
    fields: PartnerFields = PartnerFields()


@dataclass(frozen=True, slots=True)
class UpdatePartnerProgram:
    customer_id: int
    partner_program_id: int
    fields: PartnerFields = PartnerFields()


@dataclass(frozen=True, slots=True)
class DelinkPartnerProgram:
    customer_id: int
    partner_program_id: int


@dataclass(frozen=True, slots=True)
class PartnerWritten:
    """What a partner write answers: the customer, and the update's kind (None when an
    update changed nothing, or for a link or delink)."""

    customer_id: int
    update_type: str | None = None


# Rules --------------------------------------------------------------------------------------


def partner_program(config: OrgConfig, partner_program_id: int, *, in_path: bool) -> PartnerProgram:
    """The configured partner program; unknown is 404 when the path names it, else 400."""
    program = config.partner_program(partner_program_id)
    if program is None:
        raise (NotFound if in_path else InvalidInput)(2040, x=partner_program_id)
    return program


def calendar_date(raw: str | None, name: str) -> str | None:
    if raw is None:
        return None
    if not _DATE.fullmatch(raw):
        raise InvalidInput(2043, x=name)
    try:
        date.fromisoformat(raw)
    except ValueError:
        raise InvalidInput(2043, x=name) from None
    return raw


def checked(program: PartnerProgram, fields: PartnerFields) -> PartnerFields:
    """The fields after the program's rules, dates and lengths (raises on the first problem)."""
    number = fields.membership_number
    if number is not None:
        number = number.strip()
        if not 1 <= len(number) <= MAX_MEMBERSHIP_NUMBER:
            raise InvalidInput(2046)
    tier = fields.partner_tier_number
    if not program.tier_based and (tier is not None or fields.partner_tier_expiry_date is not None):
        raise InvalidInput(2041, x=program.partner_program_id)
    if tier is not None and all(t.number != tier for t in program.tiers):
        raise InvalidInput(2042, x=tier)
    return PartnerFields(
        number,
        calendar_date(fields.membership_expiry_date, "membershipExpiryDate"),
        tier,
        calendar_date(fields.partner_tier_expiry_date, "partnerTierExpiryDate"),
    )


def new_membership(program: PartnerProgram, fields: PartnerFields) -> Membership:
    """A link's membership; a tier-based one without a tier starts in the lowest tier."""
    tier = fields.partner_tier_number
    if program.tier_based and tier is None:
        tier = min(t.number for t in program.tiers)
    return Membership(
        program.partner_program_id,
        fields.membership_number,
        fields.membership_expiry_date,
        tier,
        fields.partner_tier_expiry_date,
    )


def changed_membership(current: Membership, fields: PartnerFields) -> Membership:
    """The membership with the given fields applied (a field not given stays)."""
    return replace(
        current,
        membership_number=_given(fields.membership_number, current.membership_number),
        membership_expiry_date=_given(fields.membership_expiry_date, current.membership_expiry_date),
        partner_tier_number=_given(fields.partner_tier_number, current.partner_tier_number),
        partner_tier_expiry_date=_given(fields.partner_tier_expiry_date, current.partner_tier_expiry_date),
    )


def _given(value: _T | None, current: _T | None) -> _T | None:
    return current if value is None else value


def update_type(before: Membership, after: Membership) -> str | None:
    """UPGRADE, DOWNGRADE, RENEWAL or UPDATE; None when nothing changed."""
    if before == after:
        return None
    if before.partner_tier_number != after.partner_tier_number:
        return UPGRADE if (after.partner_tier_number or 0) > (before.partner_tier_number or 0) else DOWNGRADE
    was, now = before.membership_expiry_date, after.membership_expiry_date
    if was is not None and now is not None and now > was:
        return RENEWAL
    return UPDATE


# Use cases ----------------------------------------------------------------------------------


async def _hold(uow: UnitOfWork, ctx: RequestContext, customer_id: int) -> CustomerView:
    """The customer, held for the transaction (its memberships' writers take turns)."""
    view = await uow.customers.view(ctx.org_id, customer_id, series_names(ctx.config), lock=True)
    if view is None:
        raise NotFound(8015)
    if view.merged_into_id is not None:
        raise NotFound(8069, detail=f"Use customer id {view.merged_into_id}.")
    return view


async def link(uow: UnitOfWork, ctx: RequestContext, cmd: LinkPartnerProgram) -> PartnerWritten:
    """Link a loyalty customer to a partner program (partnerProgramLinked)."""
    program = partner_program(ctx.config, cmd.partner_program_id, in_path=False)
    membership = new_membership(program, checked(program, cmd.fields))
    view = await _hold(uow, ctx, cmd.customer_id)
    if view.loyalty_type != catalog.LOYALTY:
        raise RuleViolation(1013, detail="Only loyalty customers are linked to partner programs.")
    pid = program.partner_program_id
    if await uow.partners.membership(ctx.org_id, view.customer_id, pid) is not None:
        raise Conflict(2044, x=pid)
    now = utcnow()
    await uow.partners.insert(ctx.org_id, view.customer_id, membership, now)
    uow.record(PartnerProgramLinked(view, ctx.actor, now, ctx.request_id, program, membership))
    return PartnerWritten(view.customer_id)


async def update(uow: UnitOfWork, ctx: RequestContext, cmd: UpdatePartnerProgram) -> PartnerWritten:
    """Change a link's tier or dates (partnerProgramUpdated with its updateType)."""
    program = partner_program(ctx.config, cmd.partner_program_id, in_path=True)
    fields = checked(program, cmd.fields)
    view = await _hold(uow, ctx, cmd.customer_id)
    pid = program.partner_program_id
    current = await uow.partners.membership(ctx.org_id, view.customer_id, pid)
    if current is None:
        raise NotFound(2045, x=pid)
    after = changed_membership(current, fields)
    kind = update_type(current, after)
    if kind is None:
        return PartnerWritten(view.customer_id)
    now = utcnow()
    await uow.partners.update(ctx.org_id, view.customer_id, after, now)
    uow.record(PartnerProgramUpdated(view, ctx.actor, now, ctx.request_id, program, after, kind))
    return PartnerWritten(view.customer_id, kind)


async def delink(uow: UnitOfWork, ctx: RequestContext, cmd: DelinkPartnerProgram) -> PartnerWritten:
    """Remove a link (partnerProgramDelinked). Reminders sent stay recorded."""
    program = partner_program(ctx.config, cmd.partner_program_id, in_path=True)
    view = await _hold(uow, ctx, cmd.customer_id)
    pid = program.partner_program_id
    if not await uow.partners.delete(ctx.org_id, view.customer_id, pid):
        raise NotFound(2045, x=pid)
    uow.record(PartnerProgramDelinked(view, ctx.actor, utcnow(), ctx.request_id, program))
    return PartnerWritten(view.customer_id)


# The reminder job ---------------------------------------------------------------------------

# Parsed configurations, per org, while the org row's updated_at says they are current.
_CONFIGS: dict[int, tuple[datetime, OrgConfig]] = {}


@dataclass(frozen=True, slots=True)
class _OrgDue:
    config: OrgConfig
    programs: dict[int, PartnerProgram]
    due: list[DueReminder]


def reminder_window(program: PartnerProgram, today: date) -> tuple[date, date]:
    """The expiry dates whose reminder is due today: today to today + expiryReminderDays."""
    return today, today + timedelta(days=program.expiry_reminder_days)


def org_today(config: OrgConfig, now: datetime) -> date:
    return now.astimezone(ZoneInfo(config.timezone)).date()


async def _due(uow: UnitOfWork, org_id: int, now: datetime) -> _OrgDue | None:
    org = await uow.orgs.get(org_id)
    if org is None:
        return None
    cached = _CONFIGS.get(org_id)
    if cached is not None and cached[0] == org.updated_at:
        config = cached[1]
    else:
        config = OrgConfig.model_validate(org.config)
        if len(_CONFIGS) > 10_000:
            _CONFIGS.clear()
        _CONFIGS[org_id] = (org.updated_at, config)
    programs = {p.partner_program_id: p for p in config.partner_programs if p.type == SUPPLEMENTARY}
    if not programs:
        return None
    today = org_today(config, now)
    last = max(reminder_window(p, today)[1] for p in programs.values())
    found = await uow.partners.due_reminders(org_id, sorted(programs), today.isoformat(), last.isoformat())
    due = [
        d
        for d in found
        if d.expiry_date <= reminder_window(programs[d.partner_program_id], today)[1].isoformat()
    ]
    return _OrgDue(config, programs, due)


async def _remind(
    uow: UnitOfWork, org_id: int, config: OrgConfig, program: PartnerProgram, item: DueReminder, now: datetime
) -> int:
    """One reminder: its mark and its event together, or nothing when it was sent already
    (by this job's earlier or concurrent run) or the membership changed since the scan."""
    view = await uow.customers.view(org_id, item.customer_id, series_names(config), lock=True)
    if view is None or view.merged_into_id is not None:
        return 0
    if not await uow.partners.mark_reminded(
        org_id, item.customer_id, item.partner_program_id, item.expiry_date, now
    ):
        return 0
    uow.record(SupplementaryMembershipExpiryReminder(view, SYSTEM, now, "", program, item.expiry_date))
    return 1


async def send_membership_reminders(db: Database, now: datetime) -> int:
    """The scheduled job: every reminder due at `now` in every org, each in a transaction of
    its own; how many were sent."""
    sent = 0
    for org_id in await org_ids(db):
        plan = await db.read(_due, org_id, now)
        if plan is None:
            continue
        for item in plan.due:
            program = plan.programs[item.partner_program_id]
            sent += await db.write(_remind, org_id, plan.config, program, item, now)
    return sent
