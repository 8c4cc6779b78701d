"""Domain events in the wire shape of seed 000: the "enriched" envelope.

Choices where the seed's samples disagree (docs/decisions.md, "Event payloads"):
`eventType` is the bare event name; every time is epoch milliseconds; no key carries a
trailing space; `loyaltyType` is LOYALTY or NON_LOYALTY and `source` the API's upper-case
name; `customerIdentifiers` is the full form, INSTORE as an object and every other source
as `accounts[]`, keyed by the lower-case source name (taobao keeps the samples' `toabao`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from patron.context import Actor
from patron.customers.catalog import CARD
from patron.customers.views import CustomerView
from patron.events.domain import CustomerAdded, CustomerEvent, CustomerUpdated

SOURCE_KEYS = {"TAOBAO": "toabao"}
INSTORE_KEYS = {CARD: "cardnumber"}


def epoch_ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def source_key(source: str) -> str:
    return SOURCE_KEYS.get(source, source.lower())


def customer_identifiers(view: CustomerView) -> dict[str, Any]:
    """The customer's identifiers per source, as every customer event carries them."""
    out: dict[str, Any] = {
        "customerId": view.customer_id,
        "firstName": _first_name(view),
        "lastName": _last_name(view),
        "loyaltyType": view.loyalty_type.upper(),
    }
    accounts: dict[str, list[dict[str, Any]]] = {}
    for profile in view.profiles:
        if profile.source == "INSTORE":
            instore: dict[str, Any] = {"id": view.customer_id}
            for ident in profile.identifiers:
                instore.setdefault(INSTORE_KEYS.get(ident.type, ident.type), ident.value)
            cards = [c for c in view.cards if c.card_number in {i.value for i in profile.identifiers}]
            external = next((c.card_external_id for c in cards if c.card_external_id), None)
            if external:
                instore["cardexternalid"] = external
            instore["cardNumbers"] = [c.card_number for c in cards]
            out["instore"] = instore
            continue
        accounts.setdefault(source_key(profile.source), []).append(
            {
                "accountId": profile.account_id,
                "identifiers": [
                    {"identifierType": i.type, "identifierValue": i.value} for i in profile.identifiers
                ],
            }
        )
    for key, items in accounts.items():
        out[key] = {"accounts": items}
    return out


def _first_name(view: CustomerView) -> str:
    return next((p.first_name for p in view.profiles if p.first_name), "")


def _last_name(view: CustomerView) -> str:
    return next((p.last_name for p in view.profiles if p.last_name), "")


def entered_by(actor: Actor, org_id: int | None = None) -> dict[str, Any]:
    """Who made the change: the till and its store, and (given the org) the till's login
    as `user.username`, as the raw samples show; system changes carry no user."""
    till = {
        "id": actor.till_id,
        "till": {"code": actor.code, "name": actor.name},
        "store": {
            "code": actor.store_code,
            "name": actor.store_name,
            "externalId": "",
            "externalId1": "",
            "externalId2": "",
        },
    }
    if org_id is None or actor.till_id == 0:
        return till
    return {"user": {"username": f"{actor.code}@{org_id}"}, **till}


def _key_values(mapping: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"key": k, "value": v} for k, v in mapping.items()]


def _common(event: CustomerAdded | CustomerUpdated) -> dict[str, Any]:
    view = event.customer
    profile = view.profile(event.source, event.account_id)
    return {
        "loyaltyType": view.loyalty_type.upper(),
        "source": event.source,
        "accountId": event.account_id,
        "firstName": profile.first_name if profile else _first_name(view),
        "lastName": profile.last_name if profile else _last_name(view),
        "enteredAt": epoch_ms(event.occurred_at),
        "enteredBy": entered_by(event.actor, view.org_id),
    }


def event_data(event: CustomerEvent) -> dict[str, Any]:
    view = event.customer
    data = _common(event)
    if isinstance(event, CustomerUpdated):
        data["updatedFields"] = [
            {
                "fieldName": c.field_name,
                "previousValue": c.previous_value,
                "currentValue": c.current_value,
                "fieldType": c.field_type,
                "source": c.source,
                "accountId": c.account_id,
            }
            for c in event.updated_fields
        ]
        if event.status is not None:
            status: dict[str, Any] = {}
            if event.status.previous_label is not None:
                status["previousLabel"] = event.status.previous_label
            status["currentLabel"] = event.status.current_label
            status["reason"] = event.status.reason
            data["customerStatus"] = status
        data["triggeringActivity"] = {
            "name": "STATUS_UPDATE" if event.status else "PROFILE_UPDATE",
            "requestId": event.request_id,
        }
    data["customerIdentifiers"] = customer_identifiers(view)
    data["customFields"] = _key_values(view.custom_fields)
    data["extendedFields"] = _key_values(view.extended_fields)
    return data


def wrap(
    *,
    name: str,
    org_id: int,
    ref_id: str,
    request_id: str,
    data: dict[str, Any],
    event_uuid: str,
    created_at: datetime,
) -> dict[str, Any]:
    """The enriched envelope of seed 000 (000:L30-73) around any event's data."""
    created_ms = epoch_ms(created_at)
    return {
        "eventId": event_uuid,
        "eventType": name,
        "consumerGroupId": None,
        "actionType": "START",
        "timeStamp": created_ms,
        "attributes": {
            "createdAt": created_ms,
            "data": data,
            "eventName": name,
            "refId": ref_id,
            "apiRequestId": request_id,
            "orgId": org_id,
        },
    }


def envelope(event: CustomerEvent, *, event_uuid: str, created_at: datetime) -> dict[str, Any]:
    """A customer event, ready to sign and send."""
    org_id = event.customer.org_id
    return wrap(
        name=event.name,
        org_id=org_id,
        ref_id=f"{org_id}_{event.customer.customer_id}",
        request_id=event.request_id,
        data=event_data(event),
        event_uuid=event_uuid,
        created_at=created_at,
    )
