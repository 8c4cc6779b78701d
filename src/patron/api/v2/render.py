"""Customer read models to the v2 wire shapes of seed 003."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, time
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from patron.customers import catalog
from patron.customers.queries import Details
from patron.customers.views import CardView, CustomerView, EnrollmentView, ProfileView, SearchPage, TillRef
from patron.engagement.subscriptions import Subscription
from patron.errors import Warning_
from patron.loyalty import programs
from patron.loyalty.partners_repository import Membership
from patron.loyalty.reads import Embedded, Expiry, LoyaltyDetails
from patron.orgs.config import LoyaltyProgram, OrgConfig, PartnerProgram, TierSpec


@lru_cache(maxsize=64)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def stamp(moment: datetime | None, tz: str) -> str | None:
    """ISO 8601 with the org's offset, as the seed writes times: 2016-06-23T19:11:18+08:00."""
    if moment is None:
        return None
    return moment.astimezone(_zone(tz)).isoformat(timespec="seconds")


def warning_items(warnings: list[Warning_]) -> list[dict[str, Any]]:
    return [{"status": False, "code": w.code, "message": w.message} for w in warnings]


def _till(ref: TillRef) -> dict[str, Any]:
    return {"id": ref.till_id, "code": ref.code, "description": "", "name": ref.name, "type": "TILL"}


def _identifier_items(view: CustomerView, profile: ProfileView) -> list[dict[str, Any]]:
    cards = {c.card_number: c for c in view.cards}
    items = []
    for ident in profile.identifiers:
        item: dict[str, Any] = {"type": ident.type, "value": ident.value}
        card = cards.get(ident.value) if ident.type == catalog.CARD else None
        if card is not None:
            item.update(seriesId=card.series_id, seriesCode=card.series_code, statusLabel=card.status_label)
            if card.card_external_id:
                item["cardExternalId"] = card.card_external_id
        items.append(item)
    return items


def profile_json(view: CustomerView, profile: ProfileView, tz: str) -> dict[str, Any]:
    seen: dict[tuple[str, str], dict[str, str]] = {}
    for ident in view.identifiers():
        seen.setdefault((ident.type, ident.value), {"type": ident.type, "value": ident.value})
    return {
        "firstName": profile.first_name,
        "lastName": profile.last_name,
        "attribution": {
            "createDate": stamp(profile.created_at, tz),
            "createdBy": _till(profile.created_by),
            "modifiedBy": _till(profile.updated_by),
            "modifiedDate": stamp(profile.updated_at, tz),
        },
        "fields": dict(view.custom_fields),
        "identifiers": _identifier_items(view, profile),
        "commChannels": profile.comm_channels,
        "source": profile.source,
        "userId": view.customer_id,
        "accountId": profile.account_id,
        "conflictingProfileList": [],
        "autoUpdateTime": stamp(profile.updated_at, tz),
        "identifiersAll": list(seen.values()),
    }


def card_json(view: CustomerView, card: CardView, config: OrgConfig) -> dict[str, Any]:
    tz = config.timezone
    series = config.series_by_id(card.series_id)
    labels = series.status_labels if series else [card.status_label]
    active = card.status_label.upper() == "ACTIVE"
    return {
        "cardId": card.card_id,
        "issuedDate": stamp(card.issued_at, tz),
        "createdDate": card.created_at.astimezone(_zone(tz)).date().isoformat(),
        "expiryDays": 0,
        "seriesName": card.series_name,
        "customerId": view.customer_id,
        "maxActiveCards": series.max_active_cards if series else 1,
        "cardExternalId": card.card_external_id,
        "extendedFields": card.extended_fields,
        "customFields": card.custom_fields,
        "type": series.card_type if series else "DIGITAL",
        "cardNumber": card.card_number,
        "seriesId": card.series_id,
        "seriesCode": card.series_code,
        "orgId": view.org_id,
        "entityId": view.customer_id,
        "statusInfo": {
            "reason": "",
            "createdBy": card.created_by_till_id,
            "actions": [],
            "autoUpdateTime": stamp(card.status_changed_at, tz),
            "createdOn": stamp(card.status_changed_at, tz),
            "entityId": card.card_id,
            "id": card.card_id,
            "isActive": active,
            "labelId": labels.index(card.status_label) + 1 if card.status_label in labels else 0,
            "label": card.status_label,
            "status": card.status_label.upper(),
        },
        "id": card.card_id,
        "transactionNotAllowed": not active,
    }


def _attribution_v2(view: CustomerView, tz: str) -> dict[str, Any]:
    return {
        "createDate": stamp(view.registered_at, tz),
        "createdBy": {
            "id": view.created_by.till_id,
            "code": view.created_by.code,
            "name": view.created_by.name,
            "type": "TILL",
        },
        "modifiedBy": {
            "id": view.updated_by.till_id,
            "code": view.updated_by.code,
            "name": view.updated_by.name,
            "type": "TILL",
        },
        "modifiedDate": stamp(view.updated_at, tz),
        "createdFromSource": view.created_from_source.lower(),
    }


def end_of_day(day: str | None, tz: str) -> str | None:
    """A calendar date (YYYY-MM-DD) as the seed writes expiry dates: its last second in the
    org's zone (003:L2771 "2022-12-29T23:59:59+05:30")."""
    if day is None:
        return None
    moment = datetime.combine(date.fromisoformat(day), time(23, 59, 59), tzinfo=_zone(tz))
    return moment.isoformat(timespec="seconds")


def _slabs(program: LoyaltyProgram | None, tier_number: int | None) -> dict[str, Any]:
    """The tier fields of a program entry (003:L2584-2589): the next tier's name, number and
    description (its name when it has none); at the top tier "", -1 and "" (EMB-6)."""
    current: TierSpec | None = None
    following: TierSpec | None = None
    if program is not None:
        progress = programs.progress(program, tier_number)
        current = progress.current
        # A stated tier the configuration does not know has no known next tier either.
        following = progress.next if tier_number is None or current is not None else None
    return {
        "currentSlab": current.name if current else "",
        "nextSlab": following.name if following else "",
        "nextSlabSerialNumber": following.number if following else -1,
        "nextSlabDescription": (following.description or following.name) if following else "",
    }


def _partner_item(m: Membership, partner: PartnerProgram, tz: str) -> dict[str, Any]:
    """A linked partner program (003:L2764-2783); the tier keys only when it is tier-based (LOY-2)."""
    item: dict[str, Any] = {
        "partnerProgramId": partner.partner_program_id,
        "partnerProgramName": partner.name,
        "partnerProgramDescription": partner.description or partner.name,
    }
    if partner.tier_based:
        tier = next((t for t in partner.tiers if t.number == m.partner_tier_number), None)
        item["partnerTierNumber"] = m.partner_tier_number
        item["partnerTierName"] = tier.name if tier else ""
        item["partnerTierExpiryDate"] = end_of_day(m.partner_tier_expiry_date, tz)
    item["partnerMembershipId"] = m.membership_number
    item["partnerMembershipExpiryDate"] = end_of_day(m.membership_expiry_date, tz)
    item["partnerProgramType"] = partner.type
    item["tierBased"] = partner.tier_based
    return item


def linked_partner_programs(
    memberships: Sequence[Membership], program_id: int, config: OrgConfig
) -> list[dict[str, Any]]:
    """The customer's partner links whose partner program belongs to this loyalty program
    (a link to a partner program the configuration no longer names is not shown)."""
    out = []
    for m in memberships:
        partner = config.partner_program(m.partner_program_id)
        if partner is not None and partner.loyalty_program_id == program_id:
            out.append(_partner_item(m, partner, config.timezone))
    return out


def program_entry(
    customer_id: int, s: EnrollmentView, config: OrgConfig, memberships: Sequence[Membership]
) -> dict[str, Any]:
    """One program-wise entry of the loyalty details (003:L2742-2789), from the summary row.

    Points are credited when a purchase is recorded, so nothing is delayed: the delayed
    figures are 0 and every point of the balance is available."""
    program = config.program(s.program_id)
    return {
        "redeemed": s.redeemed,
        "expired": s.expired,
        "returned": s.returned,
        "adjusted": s.adjusted,
        "lifetimePoints": s.lifetime_points,
        "loyaltyPoints": s.loyalty_points,
        "cumulativePurchases": float(s.cumulative_purchases),
        "loyaltyId": customer_id,
        **_slabs(program, s.tier_number),
        "slabSNo": s.tier_number,
        "slabExpiryDate": stamp(s.tier_expires_at, config.timezone),
        "programId": s.program_id,
        "delayedPoints": 0,
        "delayedReturnedPoints": 0,
        "totalAvailablePoints": s.loyalty_points,
        "totalReturnedPoints": s.returned,
        "linkedPartnerPrograms": linked_partner_programs(memberships, s.program_id, config),
    }


def loyalty_details_json(details: LoyaltyDetails, config: OrgConfig) -> dict[str, Any]:
    return {
        "data": [
            program_entry(details.customer_id, s, config, details.memberships) for s in details.programs
        ],
        "warnings": [],
        "errors": [],
    }


def _program_details(
    view: CustomerView, extra: Embedded, config: OrgConfig, by_identifier: bool
) -> list[dict[str, Any]]:
    """embed=mlp: the program entries with the stated points expiry; by identifier also the
    program's title, description and points-to-currency ratio (003:L5153-5155)."""
    out = []
    for s in extra.programs:
        entry = program_entry(view.customer_id, s, config, extra.memberships)
        entry["pointsExpiryDate"] = stamp(s.points_expire_at, config.timezone)
        if by_identifier:
            program = config.program(s.program_id)
            entry["programTitle"] = program.name if program else ""
            entry["programDescription"] = program.description if program else ""
            # A program the configuration does not name has the configuration's default ratio.
            entry["programPointsToCurrencyRatio"] = program.points_to_currency_ratio if program else 1.0
        out.append(entry)
    return out


def _points_summary(view: CustomerView, extra: Embedded, config: OrgConfig) -> dict[str, Any]:
    """embed=points (003:L2500-2515): the default program's entry (without configured
    programs, the customer's first); zeros where the customer is in none."""
    default = config.program(None)
    program_id = default.program_id if default else None
    s = next((e for e in extra.programs if program_id is None or e.program_id == program_id), None)
    if s is not None:
        program_id = s.program_id
    program = config.program(program_id) if program_id is not None else None
    tier_number = s.tier_number if s else None
    slabs = _slabs(program, tier_number)
    return {
        "adjusted": s.adjusted if s else 0,
        "cumulativePurchases": float(s.cumulative_purchases) if s else 0.0,
        "currentSlab": slabs["currentSlab"],
        "expired": s.expired if s else 0,
        "lifetimePoints": s.lifetime_points if s else 0,
        "loyaltyId": view.customer_id,
        "loyaltyPoints": s.loyalty_points if s else 0,
        "nextSlab": slabs["nextSlab"],
        "nextSlabDescription": slabs["nextSlabDescription"],
        "nextSlabSerialNumber": slabs["nextSlabSerialNumber"],
        "redeemed": s.redeemed if s else 0,
        "returned": s.returned if s else 0,
        "slabExpiryDate": stamp(s.tier_expires_at, config.timezone) if s else None,
        "slabSNo": tier_number,
        "programId": program_id,
    }


def _promotional_points(extra: Embedded, tz: str) -> dict[str, Any]:
    """embed=promotionalPoints (003:L2617-2667): the customer's goodwill credits, newest
    first, each a promotion issued at the till that credited it; no transaction or line-item
    promotions exist in Patron."""
    return {
        "customerPromotionType": [
            {
                "points": p.points,
                "issuedAt": {"code": p.till.code if p.till else "", "name": p.till.name if p.till else ""},
                "issuedOn": stamp(p.issued_at, tz),
                "expiryDate": stamp(p.expires_at, tz),
                "promotionSource": {
                    "promotionSourceId": p.source_id if p.source_id is not None else -1,
                    "promotionSourceType": "GOODWILL",
                },
                "programId": p.program_id,
                "promotionName": "Goodwill Promotion",
            }
            for p in extra.promotions
        ],
        "transactionPromotionType": [],
        "lineitemPromotionType": [],
    }


def _expiries(
    held: list[EnrollmentView], by_program: dict[int, list[Expiry]], totals: dict[int, int], tz: str
) -> list[dict[str, Any]]:
    """embed=expirySchedules and embed=expiredPoints (no seed sample; docs/loyalty.md): one
    block per program the customer is in, with its total and its moments, oldest first."""
    return [
        {
            "programId": e.program_id,
            "totalPoints": totals[e.program_id],
            "expiries": [
                {"expiryDate": stamp(x.at, tz), "points": x.points} for x in by_program.get(e.program_id, [])
            ],
        }
        for e in held
    ]


def group_details(extra: Embedded, config: OrgConfig) -> list[dict[str, Any]]:
    """groupLoyaltyProgramDetails (003:L5266-5338): each group pool the customer shares, with
    its group program (by id, else by the group's hierarchy code)."""
    out = []
    for g in extra.groups:
        gp = next((p for p in config.group_programs if p.group_program_id == g.group_program_id), None)
        gp = gp or config.group_program_for(g.hierarchy_code)
        if gp is None:
            continue
        members = [p for p in (config.program(pid) for pid in gp.program_ids) if p is not None]
        out.append(
            {
                "groupId": g.group_id,
                "groupProgramId": gp.group_program_id,
                "title": gp.title,
                "description": gp.description,
                "programsList": [
                    {"id": p.program_id, "name": p.name, "description": p.description} for p in members
                ],
                "lifetimePoints": g.lifetime_points,
                "loyaltyPoints": g.loyalty_points,
                "promisedPoints": g.promised_points,
                "pointsToCurrencyRatio": gp.points_to_currency_ratio,
            }
        )
    return out


def customer_json(details: Details, config: OrgConfig, *, by_identifier: bool) -> dict[str, Any]:
    view, tz = details.customer, config.timezone
    if details.source == catalog.ALL_SOURCES:
        profiles = view.profiles
    else:
        profiles = [
            p for p in view.profiles if (p.source, p.account_id) == (details.source, details.account_id)
        ]
    body: dict[str, Any] = {
        "id": view.customer_id,
        "profiles": [profile_json(view, p, tz) for p in profiles],
        "loyaltyInfo": {
            "loyaltyType": view.loyalty_type,
            "attributionV2": _attribution_v2(view, tz),
            "lifetimePurchases": float(view.lifetime_purchases),
        },
        "status": {"label": view.status_label},
        "segments": {},
    }
    if by_identifier:
        body["fraudDetails"] = {
            "markedBy": {},
            "modifiedOn": stamp(view.updated_at, tz),
            "status": view.fraud_status,
        }
        body["associatedWith"] = view.associated_with or ""
    body["extendedFields"] = dict(view.extended_fields)
    embeds, extra = details.embeds, details.loyalty
    if "points" in embeds:
        body["pointsSummary"] = _points_summary(view, extra, config)
    if "subscriptions" in embeds:
        body["subscriptionInfo"] = {"subscriptions": subscriptions_json(details.subscriptions)}
    if "mlp" in embeds:
        body["loyaltyProgramDetails"] = _program_details(view, extra, config, by_identifier)
        if by_identifier:
            body["groupLoyaltyProgramDetails"] = group_details(extra, config)
    if "promotionalPoints" in embeds:
        body["promotionalPoints"] = _promotional_points(extra, tz)
    if "expirySchedules" in embeds:
        totals = {
            e.program_id: sum(x.points for x in extra.schedules.get(e.program_id, [])) for e in extra.programs
        }
        body["expirySchedules"] = _expiries(extra.programs, extra.schedules, totals, tz)
    if "expiredPoints" in embeds:
        totals = {e.program_id: e.expired for e in extra.programs}
        body["expiredPoints"] = _expiries(extra.programs, extra.expired, totals, tz)
    body["cardDetails"] = [card_json(view, c, config) for c in view.cards]
    body["warnings"] = []
    return body


def search_json(page: SearchPage, limit: int, offset: int) -> dict[str, Any]:
    return {
        "pagination": {
            "limit": limit,
            "offset": offset,
            "total": page.total,
            **({} if page.exact else {"totalIsExact": False}),
        },
        "data": [
            {
                "userId": hit.customer_id,
                "matchedIdentifiers": [
                    {"idType": m.type, "idValue": m.value, "source": m.source, "accountId": m.account_id}
                    for m in hit.matched
                ],
                "profiles": [
                    {"source": source, "accountId": account, "firstName": first, "lastName": last}
                    for source, account, first, last in hit.profiles
                ],
            }
            for hit in page.hits
        ],
        "warnings": [],
        "errors": [],
    }


def subscriptions_json(items: Sequence[Subscription]) -> list[dict[str, Any]]:
    """Statuses as Retrieve Subscription Details and embed=subscriptions show them."""
    return [{"channel": s.channel, "priority": s.priority, "type": s.status} for s in items]
