"""The ten later events (patron.events.later) against the seeds' samples, key for key.

The samples are read from the seed files at test time, by the line numbers that
shared/spec/seed-003-rules.md section 4 cites, so a seed that moves fails here loudly.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any, TypedDict

import pytest

from patron.context import Actor
from patron.customers.views import CardView, CustomerView, IdentifierView, ProfileView, TillRef
from patron.events.later import (
    CustomerSubscriptionChanged,
    GroupCreated,
    GroupMember,
    GroupMemberAdded,
    GroupMemberRemoved,
    GroupUpdated,
    LaterEvent,
    LoyaltyProgram,
    PartnerProgramDelinked,
    PartnerProgramLinked,
    PartnerProgramUpdated,
    PointsContributedToGroup,
    SubscriptionChange,
    SupplementaryMembershipExpiryReminder,
    Tier,
    TriggeringActivity,
    later_envelope,
)
from patron.events.payloads import epoch_ms, source_key

SEEDS = Path(__file__).resolve().parents[2].parent / "shared" / "seeds"
SEED_000 = "000_05f42ed73f24fc62.txt"  # markdown: samples in ```json fences
SEED_002 = "002_79a0b211cb9292ff.txt"  # plain text: unindented JSON between title lines

# --- reading the seeds ---------------------------------------------------------------------


@cache
def _lines(name: str) -> tuple[str, ...]:
    return tuple((SEEDS / name).read_text(encoding="utf-8").splitlines())


def fenced_json(lines: tuple[str, ...], fence: int) -> Any:
    """The JSON of the ```json block opening at line `fence` (1-based) of a markdown seed.

    The block ends at the next ``` line or, when the fence is never closed, at the end of
    the file: seed-003-rules.md 4.7 says 000's last block (pointsContributionToGroup) is
    left open at L2264; the file does hold a closing fence at L2265, without a final newline,
    which `wc -l` does not count. Either way the block is read whole.
    """
    assert lines[fence - 1].startswith("```json"), f"L{fence} is not a ```json fence: {lines[fence - 1]!r}"
    body: list[str] = []
    for line in lines[fence:]:
        if line.startswith("```"):
            break
        body.append(line)
    return json.loads("\n".join(body))


def plain_json(lines: tuple[str, ...], first: int, last: int) -> Any:
    """Lines first..last (1-based, inclusive) of the plain-text seed 002.

    Seed 002 has no fences and no indentation: each sample is a `{` line, unindented JSON
    and a `}` line, followed by the next sample's `{` or by the next event's title line (or
    "Updated 18 days ago" at the end). Since nested braces sit in column 0 too, a block is
    found by its cited range, checked at both ends, and must parse whole.
    """
    assert lines[first - 1] == "{", f"L{first} does not open a sample"
    assert lines[last - 1] == "}", f"L{last} does not close a sample"
    following = lines[last] if last < len(lines) else ""
    assert following == "{" or not following.startswith(('"', "}", "]", "{")), f"L{last} ends mid-sample"
    return json.loads("\n".join(lines[first - 1 : last]))


def normalise(value: Any) -> Any:
    """Keys with stray whitespace are read without it: `"orgId "` (002:L462, the delinked
    enriched sample) and `"apiRequestId "` (000:L70, customerAdded, not among these ten).
    Values are left alone (`"Drivers "`, refId `"151197_C3zPfmvsZL "`): only their JSON type
    is compared. The ten events' blocks hold no comments, so none are stripped (json.loads
    would refuse one)."""
    if isinstance(value, dict):
        out = {k.strip(): normalise(v) for k, v in value.items()}
        assert len(out) == len(value), f"keys collide once stripped: {list(value)}"
        return out
    if isinstance(value, list):
        return [normalise(v) for v in value]
    return value


# The attributes of the enriched envelope and their raw/flat counterparts (seed-003-rules 4.1:
# same names). Raw-only keys (eventLogId, loyaltyEventId, traceAttributes) have no place in
# the enriched envelope Patron sends, so they are dropped before comparing.
ATTRIBUTES = ("createdAt", "data", "eventName", "refId", "apiRequestId", "orgId")


def as_enriched(sample: dict[str, Any]) -> dict[str, Any]:
    if "attributes" in sample:
        return sample
    return {"eventId": sample["eventId"], "attributes": {k: sample[k] for k in ATTRIBUTES}}


# Where each event's samples are: 000 by the line of the opening fence (the blocks of
# seed-003-rules 4.5-4.7: 000:L855-1032, L1044-1201, L1209-1368, L1376-1656, L1664-1946,
# L1954-2264), 002 by the ranges of 4.8.
SAMPLES: dict[str, list[tuple[str, int, int]]] = {
    "customerSubscription": [(SEED_000, 854, 0)],
    "groupCreated": [(SEED_000, 1043, 0)],
    "groupUpdated": [(SEED_000, 1208, 0)],
    "groupMemberRemoved": [(SEED_000, 1375, 0)],
    "groupMemberAdded": [(SEED_000, 1663, 0)],
    "pointsContributionToGroup": [(SEED_000, 1953, 0)],
    "partnerProgramLinked": [(SEED_002, 5, 38), (SEED_002, 39, 219)],
    "partnerProgramUpdated": [(SEED_002, 222, 250), (SEED_002, 251, 431)],
    "partnerProgramDelinked": [(SEED_002, 434, 464), (SEED_002, 465, 635)],
    "supplementaryMembershipExpiryReminder": [(SEED_002, 638, 660), (SEED_002, 661, 831)],
}


def samples(name: str) -> list[dict[str, Any]]:
    out = []
    for seed, first, last in SAMPLES[name]:
        raw = fenced_json(_lines(seed), first) if seed == SEED_000 else plain_json(_lines(seed), first, last)
        sample = as_enriched(normalise(raw))
        assert sample["attributes"]["eventName"] == name, f"{seed}:L{first} is not a {name} sample"
        out.append(sample)
    return out


# --- the shape comparison ------------------------------------------------------------------


def json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"  # one JSON number type; floats that must be floats are asserted apart
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    assert isinstance(value, dict), f"not a JSON value: {value!r}"
    return "object"


# customerIdentifiers keys our full form always has; source keys come from the customer.
IDENTITY_KEYS = frozenset({"customerId", "firstName", "lastName", "loyaltyType"})


def promised_identifier_keys(customer_id: int) -> frozenset[str]:
    """What our full form promises for one customer: the identity keys and one key per
    source the customer has a profile in. The samples list every source, with placeholder
    identifiers, so only these keys are compared."""
    view = CUSTOMERS[customer_id]
    return IDENTITY_KEYS | {
        "instore" if p.source == "INSTORE" else source_key(p.source) for p in view.profiles
    }


def key_shape(ours: Any, sample: Any, path: str = "$") -> None:
    """Every key path of the sample is in ours with a compatible JSON type: null in the sample
    matches anything; lists compare their first elements; extra keys of ours are allowed,
    except in customerIdentifiers, which must be exactly the promised keys."""
    if sample is None:
        return
    assert json_type(ours) == json_type(sample), f"{path}: {json_type(ours)}, sample has {json_type(sample)}"
    if isinstance(sample, dict):
        keys: Any = sample.keys()
        if path.endswith(".customerIdentifiers"):
            promised = promised_identifier_keys(ours["customerId"])
            assert set(ours) == promised, f"{path}: {sorted(ours)} != {sorted(promised)}"
            keys = [k for k in sample if k in promised]
        for key in keys:
            assert key in ours, f"{path}.{key}: missing (ours has {sorted(ours)})"
            key_shape(ours[key], sample[key], f"{path}.{key}")
    elif isinstance(sample, list) and sample and ours:
        key_shape(ours[0], sample[0], f"{path}[0]")


def all_keys(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [k for k, v in value.items() for k in [k, *all_keys(v)]]
    if isinstance(value, list):
        return [k for v in value for k in all_keys(v)]
    return []


def find(value: Any, key: str) -> list[Any]:
    """Every value held under `key`, at any depth."""
    if isinstance(value, dict):
        return [v for k, item in value.items() for v in ([item] if k == key else []) + find(item, key)]
    if isinstance(value, list):
        return [v for item in value for v in find(item, key)]
    return []


# --- example events ------------------------------------------------------------------------

ORG = 151197
TILL = TillRef(11, "till.one", "Till One")
ACTOR = Actor(till_id=11, code="till.one", name="Till One", store_code="store.one", store_name="Store One")
OCCURRED = datetime(2023, 5, 12, 6, 6, 45, tzinfo=UTC)
CREATED = datetime(2023, 5, 12, 6, 6, 45, 603000, tzinfo=UTC)
CREATED_MS = 1683871605603  # 002:L12, the linked sample's createdAt
EVENT_UUID = "1b049b7f-9363-464c-beaf-0c7c2f1f8a12"
REQUEST_ID = "5ba71b8f55574a6886b98e597722ce16"


def _profile(
    customer_id: int, source: str, account: str, first: str, last: str, ids: dict[str, str]
) -> ProfileView:
    return ProfileView(
        source=source,
        account_id=account,
        first_name=first,
        last_name=last,
        comm_channels=[],
        identifiers=[IdentifierView(t, v, source, account) for t, v in ids.items()],
        created_at=OCCURRED,
        updated_at=OCCURRED,
        created_by=TILL,
        updated_by=TILL,
    )


def make_customer(
    customer_id: int, first: str, last: str, others: dict[str, tuple[str, str, str]]
) -> CustomerView:
    """A customer with a full INSTORE profile and a card, plus one profile per other source
    (source -> (account, identifier type, value))."""
    card = f"CARD{customer_id}"
    instore = {"mobile": f"9190000{customer_id}", "email": f"c{customer_id}@example.com"}
    instore |= {"externalId": f"EXT{customer_id}", "cardnumber": card}
    profiles = [_profile(customer_id, "INSTORE", "", first, last, instore)]
    for source, (account, id_type, value) in others.items():
        profiles.append(_profile(customer_id, source, account, first, last, {id_type: value}))
    return CustomerView(
        org_id=ORG,
        customer_id=customer_id,
        loyalty_type="loyalty",
        status_label="Active",
        extended_fields={},
        custom_fields={},
        associated_with=None,
        created_from_source="INSTORE",
        fraud_status="NONE",
        lifetime_purchases=Decimal("0"),
        registered_at=OCCURRED,
        created_at=OCCURRED,
        updated_at=OCCURRED,
        created_by=TILL,
        updated_by=TILL,
        profiles=profiles,
        cards=[
            CardView(
                card_id=1,
                card_number=card,
                series_id=1,
                series_code="DEFAULT",
                series_name=None,
                status_label="ACTIVE",
                card_external_id=f"X{card}",
                extended_fields={},
                custom_fields={},
                issued_at=OCCURRED,
                created_at=OCCURRED,
                status_changed_at=OCCURRED,
                created_by_till_id=TILL.till_id,
                customer_id=customer_id,
            )
        ],
    )


ASHA = make_customer(
    6809254,
    "Asha",
    "Rao",
    {"FACEBOOK": ("FB-1", "fbId", "fb-6809254"), "TAOBAO": ("TB-1", "ali_uname", "asha")},
)
BALA = make_customer(6809255, "Bala", "Iyer", {"WECHAT": ("WECHAT-CM", "wechat", "wx-6809255")})
CUSTOMERS = {c.customer_id: c for c in (ASHA, BALA)}
PRIMARY = GroupMember(ASHA, "FA")
MEMBER = GroupMember(BALA, "FC")


class _Group(TypedDict):
    org_id: int
    group_id: int
    group_name: str
    primary: GroupMember


class _At(TypedDict):
    occurred_at: datetime
    request_id: str


class _Partner(TypedDict):
    customer: CustomerView
    loyalty_program_id: int
    partner_program_id: int
    partner_program_name: str


class _Details(TypedDict):
    membership_number: str | None
    membership_expiry_date: date | None
    tier_number: int | None
    tier_expiry_date: date | None


GROUP: _Group = {"org_id": ORG, "group_id": 6454, "group_name": "Rao family", "primary": PRIMARY}
AT: _At = {"occurred_at": OCCURRED, "request_id": REQUEST_ID}
PARTNER: _Partner = {
    "customer": ASHA,
    "loyalty_program_id": 1115,
    "partner_program_id": 45,
    "partner_program_name": "Drivers",
}
DETAILS: _Details = {
    "membership_number": "123-asa3",
    "membership_expiry_date": date(2123, 5, 12),
    "tier_number": 2,
    "tier_expiry_date": date(2021, 6, 29),
}

EVENTS: dict[str, LaterEvent] = {
    "customerSubscription": CustomerSubscriptionChanged(
        customer=ASHA,
        changes=(SubscriptionChange("SMS", "TRANS", "OPTIN", "OPTOUT", "INSTORE", "", 5905, "store.one"),),
        **AT,
    ),
    "groupCreated": GroupCreated(**GROUP, actor=ACTOR, **AT),
    "groupUpdated": GroupUpdated(**GROUP, actor=ACTOR, **AT),
    "groupMemberAdded": GroupMemberAdded(**GROUP, member=MEMBER, actor=ACTOR, **AT),
    "groupMemberRemoved": GroupMemberRemoved(**GROUP, member=MEMBER, actor=ACTOR, **AT),
    "pointsContributionToGroup": PointsContributedToGroup(
        **GROUP,
        contributor=MEMBER,
        activity=TriggeringActivity(
            activity="TRANSACTION_ADD",
            actor=ACTOR,
            entity_type="TRANSACTION",
            entity_id=4348,
            identifiers=(("billNumber", "B-17"),),
            additional_attributes=(("channel", "store"),),
        ),
        program=LoyaltyProgram(1115, "Main", True, 0.25, (Tier(1, "Silver"), Tier(2, "Gold"))),
        points=446,  # an int on purpose: the payload must still say 446.0
        **AT,
    ),
    "partnerProgramLinked": PartnerProgramLinked(
        **PARTNER, partner_program_type="SUPPLEMENTARY", **DETAILS, **AT
    ),
    "partnerProgramUpdated": PartnerProgramUpdated(
        **PARTNER, partner_program_type="EXTERNAL", update_type="UPGRADE", **DETAILS, **AT
    ),
    "partnerProgramDelinked": PartnerProgramDelinked(**PARTNER, partner_program_type="SUPPLEMENTARY", **AT),
    "supplementaryMembershipExpiryReminder": SupplementaryMembershipExpiryReminder(
        **PARTNER, scheduled_expiry_date=date(2021, 6, 1), **AT
    ),
}
GROUP_EVENTS = {
    "groupCreated",
    "groupUpdated",
    "groupMemberAdded",
    "groupMemberRemoved",
    "pointsContributionToGroup",
}
PARTNER_EVENTS = ("partnerProgramLinked", "partnerProgramUpdated", "partnerProgramDelinked")


def built(name: str) -> dict[str, Any]:
    return later_envelope(EVENTS[name], event_uuid=EVENT_UUID, created_at=CREATED)


# --- tests ---------------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(SAMPLES))
def test_envelope_has_every_key_of_the_samples(name: str) -> None:
    ours = built(name)
    for sample in samples(name):
        key_shape(ours, sample)
    # ...and the data holds no key beyond the union of the samples' data keys.
    union = {k for s in samples(name) for k in s["attributes"]["data"]}
    assert set(ours["attributes"]["data"]) == union


@pytest.mark.parametrize("name", list(SAMPLES))
def test_envelope_values_that_carry_meaning(name: str) -> None:
    event, ours = EVENTS[name], built(name)
    attributes = ours["attributes"]
    assert event.name == name
    assert ours["eventType"] == attributes["eventName"] == name
    assert ours["eventId"] == EVENT_UUID
    assert (ours["consumerGroupId"], ours["actionType"]) == (None, "START")
    assert ours["timeStamp"] == attributes["createdAt"] == CREATED_MS == epoch_ms(CREATED)
    assert attributes["orgId"] == ORG
    assert attributes["apiRequestId"] == REQUEST_ID
    expected_ref = f"{ORG}_{GROUP['group_id']}" if name in GROUP_EVENTS else f"{ORG}_{ASHA.customer_id}"
    assert attributes["refId"] == expected_ref
    assert all(k == k.strip() for k in all_keys(ours))
    assert set(find(ours, "loyaltyType")) == {"LOYALTY"}
    assert json.loads(json.dumps(ours)) == ours  # plain JSON, nothing that needs an encoder


@pytest.mark.parametrize("name", sorted(GROUP_EVENTS - {"pointsContributionToGroup"}))
def test_group_events_report_when_and_by_whom(name: str) -> None:
    data = built(name)["attributes"]["data"]
    assert data["enteredAt"] == epoch_ms(OCCURRED) == 1683871605000
    assert data["enteredBy"]["user"] == {"username": f"till.one@{ORG}"}
    assert data["enteredBy"]["id"] == ACTOR.till_id
    assert data["primaryMember"]["role"] == "FA"
    assert data["primaryMember"]["firstName"] == "Asha"
    assert data["primaryMember"]["customerIdentifiers"]["customerId"] == ASHA.customer_id
    member = data.get("memberAdded") or data.get("memberRemoved")
    if member is not None:
        assert (member["role"], member["customerIdentifiers"]["customerId"]) == ("FC", BALA.customer_id)


def test_points_contribution_carries_floats_and_its_program() -> None:
    data = built("pointsContributionToGroup")["attributes"]["data"]
    assert isinstance(data["pointsContributedToGroup"], float)
    assert data["pointsContributedToGroup"] == 446.0
    assert isinstance(data["loyaltyProgramDetails"]["pointsToCurrencyRatio"], float)
    assert data["loyaltyProgramId"] == data["loyaltyProgramDetails"]["id"] == 1115
    assert data["contributingMember"]["customerIdentifiers"]["customerId"] == BALA.customer_id
    activity = data["triggeringActivity"]
    assert "user" not in activity["enteredBy"]  # as its sample (000:L2209-2222)
    assert activity["identifiers"] == [{"key": "billNumber", "value": "B-17"}]
    assert "enteredAt" not in data and "enteredBy" not in data


DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@pytest.mark.parametrize("name", ["partnerProgramLinked", "partnerProgramUpdated"])
def test_partner_dates_are_days(name: str) -> None:
    details = built(name)["attributes"]["data"]["customerPartnerProgramDetails"]
    assert details == {
        "partnerTierExpiryDate": "2021-06-29",
        "partnerTierNumber": 2,
        "membershipNumber": "123-asa3",
        "membershipExpiryDate": "2123-05-12",
    }
    assert DAY.match(details["partnerTierExpiryDate"]) and DAY.match(details["membershipExpiryDate"])


def test_reminder_date_is_a_day() -> None:
    data = built("supplementaryMembershipExpiryReminder")["attributes"]["data"]
    assert data["scheduledExpiryDate"] == "2021-06-01"
    assert DAY.match(data["scheduledExpiryDate"])


@pytest.mark.parametrize("name", PARTNER_EVENTS)
def test_partner_entity_is_the_customer(name: str) -> None:
    data = built(name)["attributes"]["data"]
    assert data["entityInformation"] == {"entityType": "USER", "entityId": ASHA.customer_id}


def test_unknown_partner_details_are_null_not_missing() -> None:
    event = PartnerProgramLinked(
        **PARTNER,
        partner_program_type="SUPPLEMENTARY",
        membership_number=None,
        membership_expiry_date=date(2123, 5, 12),
        tier_number=None,
        tier_expiry_date=None,
        **AT,
    )
    details = later_envelope(event, event_uuid=EVENT_UUID, created_at=CREATED)["attributes"]["data"]
    assert details["customerPartnerProgramDetails"] == {
        "partnerTierExpiryDate": None,
        "partnerTierNumber": None,
        "membershipNumber": None,
        "membershipExpiryDate": "2123-05-12",
    }


def test_subscription_lists_each_change_and_needs_one() -> None:
    data = built("customerSubscription")["attributes"]["data"]
    assert data["subscriptions"] == [
        {
            "sourceAccountId": "",
            "previousStatus": "OPTIN",
            "currentStatus": "OPTOUT",
            "channel": "SMS",
            "sourceName": "INSTORE",
            "priority": "TRANS",
            "ouId": 5905,
            "ouCode": "store.one",
        }
    ]
    with pytest.raises(ValueError):
        CustomerSubscriptionChanged(customer=ASHA, changes=(), **AT)


def test_source_keys_are_spelled_as_the_samples_spell_them() -> None:
    ours = built("customerSubscription")["attributes"]["data"]["customerIdentifiers"]
    sample = samples("customerSubscription")[0]["attributes"]["data"]["customerIdentifiers"]
    assert set(ours) - IDENTITY_KEYS == {"instore", "facebook", "toabao"}
    assert set(ours) <= set(sample)


def test_key_shape_is_not_vacuous() -> None:
    key_shape({"a": 1, "b": [{"c": "x"}], "extra": 1}, {"a": 2.5, "b": [{"c": None}]})
    with pytest.raises(AssertionError, match=r"\$\.d: missing"):
        key_shape({"a": 1}, {"a": 1, "d": 1})
    with pytest.raises(AssertionError, match=r"\$\.b\[0\]\.c: number, sample has string"):
        key_shape({"b": [{"c": 1}]}, {"b": [{"c": "x"}]})
    with pytest.raises(AssertionError, match=r"customerIdentifiers"):
        key_shape({"customerIdentifiers": {"customerId": ASHA.customer_id}}, {"customerIdentifiers": {}})


def test_an_unclosed_fence_is_read_to_the_end_of_the_file() -> None:
    lines = ("text", "```json Raw payload", "{", '  "a": 1', "}")
    assert fenced_json(lines, 2) == {"a": 1}
    assert fenced_json((*lines, "```"), 2) == {"a": 1}
