"""Customer read models to the v2 wire shapes of seed 003."""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from patron.customers import catalog
from patron.customers.queries import Details
from patron.customers.views import CardView, CustomerView, ProfileView, SearchPage, TillRef
from patron.errors import Warning_
from patron.orgs.config import OrgConfig


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


def _program_details(view: CustomerView, tz: str) -> list[dict[str, Any]]:
    return [
        {
            "programId": e.program_id,
            "loyaltyPoints": e.loyalty_points,
            "lifetimePoints": e.loyalty_points,
            "redeemed": 0,
            "expired": 0,
            "returned": 0,
            "adjusted": 0,
            "slabSNo": e.tier_number,
            "slabExpiryDate": stamp(e.tier_expires_at, tz),
            "pointsExpiryDate": stamp(e.points_expire_at, tz),
            "loyaltyId": view.customer_id,
            # No ledger runs yet (decisions, "Embeds"): nothing delayed or returned, all
            # credited points available, no partner programs (003:L5146-5152).
            "delayedPoints": 0,
            "delayedReturnedPoints": 0,
            "totalAvailablePoints": e.loyalty_points,
            "totalReturnedPoints": 0,
            "linkedPartnerPrograms": [],
        }
        for e in view.enrollments
    ]


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
    if "mlp" in details.embeds:
        body["loyaltyProgramDetails"] = _program_details(view, tz)
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
