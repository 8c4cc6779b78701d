"""Referrals: a customer (the referrer) invites people by mobile or email under a referral
campaign of the org, shares a referral code, and is credited when they register.

    add(...)                   POST /v2/customers/referrals          Add Customer Referrals
    read(...), issue_code(...) GET  /v2/customers/{id}/referrals     Get Customer Referrals
    before_registration(...), after_registration(...)   Register Customer (single and batch)

Campaigns are in the org configuration (`referralCampaigns`, orgs/config.py): a token, what
the referee (the new customer) and the referrer earn in points (in the campaign's program,
the default program when it names none) and a coupon series for the referee.

Referral codes: every customer has one, made on first need (an invitation, a read of the
customer's referrals), drawn from a CSPRNG over an alphabet without look-alike characters,
unique in the org and never changed after. Codes are read in any case.

Invitations are stored once per referrer and identifier (the first invitation stands; a
repeat is accepted and changes nothing). Registration links a new customer to a referrer
as a referee (eventType REGISTRATION), in the registration's transaction:

- with `referralCode`: the code's owner is the referrer, under the campaign of the owner's
  invitation of one of the new customer's mobiles or emails, else the org's default
  campaign (marked `default`, else the first);
- without one: when the new customer's mobile or email was invited, the earliest inviter is
  the referrer, under the invitation's campaign.

An unknown code registers the customer without a referrer, with warning 2156. A
registration that merges into an existing customer is no referral (warning 2157 when it
sent a code). A referrer that is not eligible (not a loyalty customer, or in the pending
deletion or deleted status) is not linked (2157). Incentives are granted only under an
active campaign: points as ledger credits (kind earn, ref_kind referral) and the referee's
coupon through engagement/coupons.py; each is a `referral_incentive` row and the
referee's show in the registration's sideEffects.

Lock order: the referrer's row is held before the new customer is created, so the two
customers are held in ascending id order (a new customer's id is always the higher).
"""

from __future__ import annotations

import re
import secrets
import zoneinfo
from dataclasses import dataclass, field
from datetime import datetime

from patron.context import RequestContext
from patron.customers import catalog
from patron.customers.cards import series_names
from patron.customers.domain import InvalidIdentifier, normalise_identifier
from patron.customers.repository import CustomerCore
from patron.customers.views import CustomerView, TillRef
from patron.db.base import utcnow
from patron.db.uow import UnitOfWork
from patron.engagement.coupons import ISSUED_FOR_REFERRAL, coupon_effect, issue_in
from patron.engagement.referrals_repository import Incentive, Invitee, Referee
from patron.errors import InvalidInput, NotFound, PatronError, RuleViolation, Warning_
from patron.loyalty import ledger, programs
from patron.loyalty.ledger import Entry
from patron.loyalty.service import SideEffect, open_account, post, write
from patron.orgs.config import OrgConfig, ReferralCampaign

MOBILE = "MOBILE"
EMAIL = "EMAIL"
TYPES = {MOBILE: "mobile", EMAIL: "email"}
REGISTRATION = "REGISTRATION"
REFEREE = "REFEREE"
REFERRER = "REFERRER"
POINTS = "POINTS"
COUPON = "COUPON"
REF_KIND = "referral"
# Code alphabet: digits and capitals without 0/O, 1/I/L and U (look-alikes, and no words).
ALPHABET = "23456789ABCDEFGHJKMNPQRSTVWXYZ"
CODE_LENGTH = 10  # 30^10, about 5.9e14 codes: a clash in an org is rare and drawn again
CODE_ATTEMPTS = 5
_CODE = re.compile(r"^[A-Za-z0-9]{1,20}$")
MAX_REFERRERS = 10
MAX_INVITATIONS = 100
MAX_PAGE = 100
DEFAULT_PAGE = 10
_NAIVE = re.compile(r"^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?$")


# Commands -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ReferrerRef:
    """The referrer as the request names it: by id, or by mobile, email or externalId."""

    customer_id: int | None = None
    mobile: str | None = None
    email: str | None = None
    external_id: str | None = None


@dataclass(frozen=True, slots=True)
class Invitation:
    name: str | None
    identifier: str | None
    invited_on: str | None = None


@dataclass(frozen=True, slots=True)
class InvitationGroup:
    type: str | None
    invitations: tuple[Invitation, ...]


@dataclass(frozen=True, slots=True)
class CustomerReferrals:
    customer: ReferrerRef
    campaign_token: str | None
    groups: tuple[InvitationGroup, ...]


@dataclass(frozen=True, slots=True)
class AddReferrals:
    items: tuple[CustomerReferrals, ...]


@dataclass(frozen=True, slots=True)
class ReadReferrals:
    customer_id: int
    campaign_token: str | None = None
    limit: int = DEFAULT_PAGE
    offset: int = 0


# Results ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ReferralsAdded:
    referrers: tuple[int, ...]
    added: int


@dataclass(frozen=True, slots=True)
class Referrals:
    """What Get Customer Referrals shows of one customer."""

    customer: CustomerView
    code: str | None
    invitees: list[Invitee]
    tills: dict[int, TillRef]
    referees: list[Referee]
    incentives: list[Incentive]
    limit: int
    offset: int
    total: int


@dataclass(frozen=True, slots=True)
class PendingReferral:
    """A registration's referrer, held, and the campaign it registers under."""

    referrer: CustomerCore
    campaign: ReferralCampaign


# Rules --------------------------------------------------------------------------------------


def campaign_of(config: OrgConfig, token: str | None) -> ReferralCampaign:
    """The campaign a request names: 1202 unknown, 1203 paused."""
    text = (token or "").strip()
    campaign = config.referral_campaign(text) if text else None
    if campaign is None:
        raise InvalidInput(1202, detail=f"No referral campaign '{text}' in this org." if text else None)
    if not campaign.active:
        raise RuleViolation(1203, detail=f"Campaign {text} is not active.")
    return campaign


def eligible(core: CustomerCore, config: OrgConfig) -> bool:
    """Loyalty customers refer, unless they are leaving (pending deletion, deleted)."""
    return core.loyalty_type == catalog.LOYALTY and core.status_label not in (
        config.pending_deletion_label,
        config.deleted_label,
    )


def invited_on(raw: str | None, now: datetime, tz: str) -> datetime:
    """invitedOn as the seed writes it (`2021-12-16 13:15:45`, the org's time zone) or ISO 8601
    with an offset; absent, the time of the request."""
    if raw is None or not raw.strip():
        return now
    text = raw.strip()
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as exc:
        raise InvalidInput(2153, detail=f"Got '{text[:40]}'.") from exc
    if moment.tzinfo is None:
        if not _NAIVE.fullmatch(text):
            raise InvalidInput(2153, detail=f"Got '{text[:40]}'.")
        moment = moment.replace(tzinfo=zoneinfo.ZoneInfo(tz))
    return moment


def _identifier(id_type: str, raw: str | None, config: OrgConfig) -> str:
    try:
        return normalise_identifier(id_type, raw or "", config)
    except InvalidIdentifier as exc:
        raise InvalidInput(2150, x=f"{id_type} '{(raw or '')[:60]}'", detail=exc.reason) from exc


def _referrer_pairs(ref: ReferrerRef, config: OrgConfig) -> list[tuple[str, str]]:
    pairs = []
    for id_type, raw in (("mobile", ref.mobile), ("email", ref.email), ("externalId", ref.external_id)):
        if raw is None or not str(raw).strip():
            continue
        try:
            pairs.append((id_type, normalise_identifier(id_type, raw, config)))
        except InvalidIdentifier as exc:
            raise InvalidInput(2155, detail=f"{id_type} '{str(raw)[:60]}': {exc.reason}.") from exc
    if ref.customer_id is None and not pairs:
        raise InvalidInput(2155)
    return pairs


@dataclass
class _Checked:
    item: CustomerReferrals
    campaign: ReferralCampaign
    pairs: list[tuple[str, str]]
    invitations: list[tuple[str, str, str, datetime]] = field(default_factory=list)  # type, value, name, on
    referrer_id: int = 0


def _checked(ctx: RequestContext, cmd: AddReferrals, now: datetime) -> list[_Checked]:
    if not 1 <= len(cmd.items) <= MAX_REFERRERS:
        raise InvalidInput(2151, x=MAX_REFERRERS)
    total = sum(len(g.invitations) for item in cmd.items for g in item.groups)
    if not 1 <= total <= MAX_INVITATIONS:
        raise InvalidInput(2152, x=MAX_INVITATIONS)
    config = ctx.config
    out = []
    for item in cmd.items:
        checked = _Checked(
            item, campaign_of(config, item.campaign_token), _referrer_pairs(item.customer, config)
        )
        seen: set[tuple[str, str]] = set()
        for group in item.groups:
            kind = (group.type or "").strip().upper()
            if kind not in TYPES:
                raise InvalidInput(
                    1206, detail=f"type must be MOBILE or EMAIL (got '{(group.type or '')[:20]}')."
                )
            for invitation in group.invitations:
                value = _identifier(TYPES[kind], invitation.identifier, config)
                on = invited_on(invitation.invited_on, now, config.timezone)
                if (kind, value) not in seen:  # the first of two equal invitations stands
                    seen.add((kind, value))
                    checked.invitations.append((kind, value, (invitation.name or "").strip(), on))
        out.append(checked)
    return out


async def _referrer_id(uow: UnitOfWork, ctx: RequestContext, c: _Checked) -> int:
    """The one customer the referrer block names (every identifier given must agree)."""
    holders = await uow.customers.holders(ctx.org_id, c.pairs) if c.pairs else []
    ids = {h.customer_id for h in holders}
    named = c.item.customer.customer_id
    if c.pairs and (not ids or len(ids) > 1 or {t for t, _ in c.pairs} - {h.id_type for h in holders}):
        raise NotFound(1205, detail="The identifiers given name no one customer of this org.")
    if named is not None:
        if ids and ids != {named}:
            raise NotFound(1205, detail=f"The identifiers given are not customer {named}'s.")
        return named
    return ids.pop()


# Use cases ----------------------------------------------------------------------------------


async def add(uow: UnitOfWork, ctx: RequestContext, cmd: AddReferrals) -> ReferralsAdded:
    """Record the invitations of each referrer (Add Customer Referrals)."""
    now = utcnow()
    items = _checked(ctx, cmd, now)
    for c in items:
        c.referrer_id = await _referrer_id(uow, ctx, c)
    cores: dict[int, CustomerCore] = {}
    for referrer_id in sorted({c.referrer_id for c in items}):  # ascending id order
        core = await uow.customers.core(ctx.org_id, referrer_id, lock=True) if referrer_id > 0 else None
        if core is None:
            raise NotFound(1205, detail=f"No customer {referrer_id} in this org.")
        if core.merged_into_id is not None:
            raise NotFound(1205, detail=f"Customer {referrer_id} is merged into {core.merged_into_id}.")
        if not eligible(core, ctx.config):
            raise RuleViolation(1204, detail="Only loyalty customers who are not being deleted refer.")
        cores[referrer_id] = core
    invited = [(t, v) for c in items for t, v, _, _ in c.invitations]
    own = {
        (h.id_type, h.value): h.customer_id
        for h in await uow.customers.holders(ctx.org_id, [(TYPES[t], v) for t, v in invited])
    }
    for c in items:
        for kind, value, _, _ in c.invitations:
            if own.get((TYPES[kind], value)) == c.referrer_id:
                raise InvalidInput(2154, x=value)
    rows = []
    for c in items:
        for kind in TYPES:
            values = [v for t, v, _, _ in c.invitations if t == kind]
            known = await uow.referrals.invited(ctx.org_id, c.referrer_id, kind, values) if values else set()
            for t, value, name, on in c.invitations:
                if t != kind or value in known:
                    continue
                known.add(value)
                rows.append(
                    {
                        "org_id": ctx.org_id,
                        "referrer_id": c.referrer_id,
                        "id_type": kind,
                        "identifier": value,
                        "name": name,
                        "campaign_token": c.campaign.campaign_token,
                        "invited_on": on,
                        "till_id": ctx.actor.till_id,
                        "created_at": now,
                    }
                )
    for referrer_id in cores:
        await code_of(uow, ctx, referrer_id, now)
    await uow.referrals.add_invitations(rows)
    return ReferralsAdded(tuple(cores), len(rows))


async def code_of(uow: UnitOfWork, ctx: RequestContext, customer_id: int, now: datetime) -> str:
    """The customer's referral code, made now if it has none (the caller holds the customer)."""
    code = await uow.referrals.code_of(ctx.org_id, customer_id)
    if code is not None:
        return code
    for _ in range(CODE_ATTEMPTS):
        candidate = "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))
        if await uow.referrals.owner_of(ctx.org_id, candidate) is None:
            await uow.referrals.add_code(ctx.org_id, customer_id, candidate, now)
            return candidate
    raise PatronError(1222, status=500, detail="No free referral code was found; try again.")


async def issue_code(uow: UnitOfWork, ctx: RequestContext, customer_id: int) -> str:
    """Give the customer its referral code if it has none yet (a first read of its referrals)."""
    core = await uow.customers.core(ctx.org_id, customer_id, lock=True)
    if core is None:
        raise NotFound(8015)
    return await code_of(uow, ctx, customer_id, utcnow())


async def read(uow: UnitOfWork, ctx: RequestContext, q: ReadReferrals) -> Referrals:
    """The customer's code, invitations, referees and incentives (Get Customer Referrals)."""
    campaign = None
    if q.campaign_token is not None:
        found = ctx.config.referral_campaign(q.campaign_token.strip())
        if found is None:
            raise InvalidInput(
                1202, detail=f"No referral campaign '{q.campaign_token.strip()[:50]}' in this org."
            )
        campaign = found.campaign_token
    if not 1 <= q.limit <= MAX_PAGE or q.offset < 0:
        raise InvalidInput(400, detail=f"limit is 1 to {MAX_PAGE} and offset 0 or more.")
    view = await uow.customers.view(ctx.org_id, q.customer_id, series_names(ctx.config))
    if view is None:
        raise NotFound(8015)
    if view.merged_into_id is not None:
        raise NotFound(8069, detail=f"Use customer id {view.merged_into_id}.")
    repo = uow.referrals
    code = await repo.code_of(ctx.org_id, q.customer_id)
    invitees, invitee_total = await repo.invitees(ctx.org_id, q.customer_id, campaign, q.limit, q.offset)
    referees, referee_total = await repo.referees(ctx.org_id, q.customer_id, campaign, q.limit, q.offset)
    incentives = await repo.incentives(ctx.org_id, q.customer_id, campaign)
    tills = await uow.customers.tills(ctx.org_id, {i.till_id for i in invitees}) if invitees else {}
    return Referrals(
        view,
        code,
        invitees,
        tills,
        referees,
        incentives,
        q.limit,
        q.offset,
        max(invitee_total, referee_total),
    )


# Registration -------------------------------------------------------------------------------


def normal_code(raw: str) -> str | None:
    """A referral code as stored (upper case), or None for text that cannot be one."""
    text = raw.strip()
    return text.upper() if _CODE.fullmatch(text) else None


async def before_registration(
    uow: UnitOfWork,
    ctx: RequestContext,
    code: str | None,
    pairs: list[tuple[str, str]],
    *,
    merging_into: int | None,
    warnings: list[Warning_],
) -> PendingReferral | None:
    """The referrer of a registration, held (before the new customer is created), or None."""
    config = ctx.config
    given = (code or "").strip()
    if not config.referral_campaigns:
        if given:
            warnings.append(Warning_.of(2157, x="the org has no referral campaign."))
        return None
    if merging_into is not None:
        if given:
            warnings.append(
                Warning_.of(2157, x=f"the customer is registered already (customer {merging_into}).")
            )
        return None
    referrer_id = None
    if given:
        normal = normal_code(given)
        referrer_id = await uow.referrals.owner_of(ctx.org_id, normal) if normal else None
        if referrer_id is None:
            warnings.append(Warning_.of(2156, x=given[:40]))
    inviters = []
    for id_type, value in pairs:
        kind = next((k for k, t in TYPES.items() if t == id_type), None)
        if kind is not None:
            inviters.extend(await uow.referrals.inviters(ctx.org_id, kind, value))
    inviters.sort(key=lambda i: (i.invited_on, i.referrer_id))
    if referrer_id is not None:
        token = next((i.campaign_token for i in inviters if i.referrer_id == referrer_id), None)
    elif inviters:
        referrer_id, token = inviters[0].referrer_id, inviters[0].campaign_token
    else:
        return None
    campaign = (config.referral_campaign(token) if token else None) or config.referral_campaign(None)
    assert campaign is not None  # the org has campaigns
    core = await uow.customers.core(ctx.org_id, referrer_id, lock=True)
    if core is not None and core.merged_into_id is not None:
        core = await uow.customers.core(ctx.org_id, core.merged_into_id, lock=True)
    if core is None or not eligible(core, config):
        if given:
            warnings.append(Warning_.of(2157, x="the referrer is not eligible for the referral program."))
        return None
    return PendingReferral(core, campaign)


async def after_registration(
    uow: UnitOfWork,
    ctx: RequestContext,
    pending: PendingReferral,
    customer_id: int,
    loyalty_type: str,
    now: datetime,
    warnings: list[Warning_],
) -> list[SideEffect]:
    """Link the new customer to its referrer and grant the campaign's incentives; the
    referee's side effects."""
    campaign = pending.campaign
    referrer_id = pending.referrer.customer_id
    token = campaign.campaign_token
    effects: list[SideEffect] = []
    incentives = []

    def incentive(beneficiary: int, kind: str, role: str, **more: object) -> dict[str, object]:
        row: dict[str, object] = {
            "org_id": ctx.org_id,
            "referee_id": customer_id,
            "beneficiary_id": beneficiary,
            "kind": kind,
            "role": role,
            "referrer_id": referrer_id,
            "campaign_token": token,
            "points": None,
            "program_id": None,
            "coupon_id": None,
            "coupon_code": None,
            "series_id": None,
            "created_at": now,
        }
        row.update(more)
        return row

    if campaign.active:
        program = ctx.config.program(campaign.program_id)
        grants = []
        if campaign.referrer_points and program is not None:
            grants.append((referrer_id, campaign.referrer_points, REFERRER))
        if campaign.referee_points and program is not None:
            if loyalty_type == catalog.LOYALTY:
                grants.append((customer_id, campaign.referee_points, REFEREE))
            else:
                warnings.append(Warning_.of(2158, x="only loyalty customers earn points."))
        if grants and program is not None:
            accounts, entries = [], []
            for beneficiary, points, role in grants:  # ascending ids: the referrer first
                account = await open_account(uow, ctx, beneficiary, program.program_id, now)
                entry = Entry(
                    beneficiary,
                    program.program_id,
                    ledger.EARN,
                    points,
                    programs.points_expiry(program, now),
                    ref_kind=REF_KIND,
                    ref_id=customer_id,
                    notes=f"Referral campaign {token}",
                )
                post(account, program, [entry], now)
                accounts.append(account)
                entries.append(entry)
                incentives.append(
                    incentive(beneficiary, POINTS, role, points=points, program_id=program.program_id)
                )
                if role == REFEREE:
                    effects.append(SideEffect("awardedPoints", points))
            await write(uow, ctx, accounts, entries, now)
        if campaign.coupon_series_id is not None:
            coupon = await issue_in(
                uow, ctx, customer_id, campaign.coupon_series_id, now, issued_for=ISSUED_FOR_REFERRAL
            )
            incentives.append(
                incentive(
                    customer_id,
                    COUPON,
                    REFEREE,
                    coupon_id=coupon.coupon_id,
                    coupon_code=coupon.code,
                    series_id=coupon.series_id,
                )
            )
            effects.append(coupon_effect(coupon))
    await uow.referrals.add_referral(
        {
            "org_id": ctx.org_id,
            "referee_id": customer_id,
            "referrer_id": referrer_id,
            "campaign_token": token,
            "event_type": REGISTRATION,
            "added_at": now,
            "till_id": ctx.actor.till_id,
        },
        incentives,
    )
    return effects
