"""The events contract: the seeds' sample payloads (tests/fixtures/events/) against the
events registry (patron.events.registry) and the payloads its builders make.

- Every fixture parses, names its event, cites its seed lines, and has exactly the envelope
  keys its form shows in the seeds (seed-003-rules.md 4.1: enriched, raw, flat, wrapped).
- Every fixture is of a registered event or of one listed in PENDING below, and every
  registered event has a fixture: registering an event without its samples, or a fixture
  whose name is misspelt, fails here.
- For every registered event, payloads built by its builder from real customers (registered
  and changed through the API, read back from the outbox) have every key of every sample,
  with the same JSON types; the few differences are decided (docs/decisions.md, "Events")
  and listed where they are expected.

The fixtures are copies of the seed samples (tests/fixtures/events/README.md); the seeds
themselves are not read here.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from patron.events.registry import REGISTRY
from tests.conftest import OrgClient
from tests.loyalty import partner_support as partners
from tests.loyalty.group_support import group_org
from tests.loyalty.support import loyalty_org
from tests.support import email, mobile, outbox, register_body, token

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "events"
SEEDS = {"000_05f42ed73f24fc62.txt", "002_79a0b211cb9292ff.txt"}

# Events the seeds describe whose triggers come with later issues: their fixtures wait here
# as data. The change that registers one removes it from this list.
PENDING: frozenset[str] = frozenset()
# Events of Patron's own, which no seed shows: no fixture; their payloads are held to the
# enriched envelope and to the data keys their documentation promises (docs/merges.md).
OURS: dict[str, frozenset[str]] = {
    "customersMergeReverted": frozenset(
        {
            "mergeId",
            "mergeKind",
            "survivorId",
            "victimId",
            "splitCustomerId",
            "enteredAt",
            "enteredBy",
            "triggeringActivity",
            "survivorIdentifiers",
            "restoredIdentifiers",
        }
    ),
}

# The envelope keys of each form, as the seeds show them (seed-003-rules.md 4.1).
ENRICHED_TOP = frozenset({"eventId", "eventType", "consumerGroupId", "actionType", "timeStamp", "attributes"})
ATTRIBUTES = ("createdAt", "data", "eventName", "refId", "apiRequestId", "orgId")
RAW_ONLY = frozenset({"eventLogId", "loyaltyEventId", "traceAttributes"})
RAW = frozenset({"eventName", "eventId", "data", "refId", "apiRequestId", "createdAt", "orgId"}) | RAW_ONLY
FLAT = RAW - {"eventLogId", "traceAttributes"}
FORMS = ("enriched", "raw", "flat", "wrapped")


# --- reading the fixtures ------------------------------------------------------------------


@dataclass(frozen=True)
class Sample:
    event: str
    seed: str
    first: int
    last: int
    form: str
    payload: dict[str, Any]

    @property
    def where(self) -> str:
        return f"{self.seed[:3]}:L{self.first}-{self.last}"


@cache
def fixture_names() -> tuple[str, ...]:
    return tuple(sorted(p.stem for p in FIXTURES.glob("*.json")))


@cache
def samples(name: str) -> tuple[Sample, ...]:
    document = json.loads((FIXTURES / f"{name}.json").read_text(encoding="utf-8"))
    assert set(document) == {"eventName", "samples"}, f"{name}.json: {sorted(document)}"
    assert document["eventName"] == name, f"{name}.json names {document['eventName']}"
    assert document["samples"], f"{name}.json holds no sample"
    out = []
    for item in document["samples"]:
        assert set(item) == {"seed", "lines", "form", "payload"}, f"{name}.json: {sorted(item)}"
        first, last = item["lines"]
        assert item["seed"] in SEEDS, f"{name}.json: unknown seed {item['seed']}"
        assert isinstance(first, int) and isinstance(last, int) and 0 < first < last
        assert item["form"] in FORMS, f"{name}.json: unknown form {item['form']}"
        out.append(Sample(name, item["seed"], first, last, item["form"], item["payload"]))
    return tuple(out)


def strip_keys(value: Any) -> Any:
    """Keys read without stray whitespace: `"apiRequestId "` (000:L70), `"orgId "` (002:L462).
    Values are left alone; only their JSON type is compared."""
    if isinstance(value, dict):
        out = {k.strip(): strip_keys(v) for k, v in value.items()}
        assert len(out) == len(value), f"keys collide once stripped: {list(value)}"
        return out
    if isinstance(value, list):
        return [strip_keys(v) for v in value]
    return value


def check_envelope(sample: Sample) -> None:
    """The sample has exactly the envelope keys of its form and names its event."""
    payload = strip_keys(sample.payload)
    where = f"{sample.event} {sample.where} ({sample.form})"
    if sample.form == "enriched":
        assert set(payload) == ENRICHED_TOP, where
        assert set(payload["attributes"]) == set(ATTRIBUTES), where
        assert payload["attributes"]["eventName"] == sample.event, where
        return
    if sample.form == "wrapped":  # an API response around a raw event without eventLogId
        assert set(payload) == {"data", "errors", "warnings"}, where
        payload = payload["data"]
        assert set(payload) == RAW - {"eventLogId"}, where
    elif sample.form == "raw":  # eventLogId is in some raw samples only (4.1)
        assert set(payload) - {"eventLogId"} == RAW - {"eventLogId"}, where
    else:
        assert set(payload) == FLAT, where
    assert payload["eventName"] == sample.event, where
    assert isinstance(payload["data"], dict), where


def as_enriched(sample: Sample) -> dict[str, Any]:
    """The sample in the enriched envelope Patron sends: the raw, flat and wrapped forms carry
    the same attributes at the top level; raw-only keys have no place in it (D-12)."""
    payload = strip_keys(sample.payload)
    if sample.form == "enriched":
        return dict(payload)
    if sample.form == "wrapped":
        payload = payload["data"]
    return {"eventId": payload["eventId"], "attributes": {k: payload[k] for k in ATTRIBUTES}}


# --- the shape comparison ------------------------------------------------------------------


def json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    assert isinstance(value, dict), f"not a JSON value: {value!r}"
    return "object"


IDENTITY_KEYS = frozenset({"customerId", "firstName", "lastName", "loyaltyType"})


def shape(ours: Any, sample: Any, promised: frozenset[str], path: str = "$") -> list[str]:
    """Where ours lacks the sample's structure: every key path of the sample is in ours with
    the same JSON type (null in the sample matches anything; lists compare their first
    elements; extra keys of ours are allowed). customerIdentifiers is the exception: the
    samples list every source with placeholders, ours lists the sources the customer has a
    profile in, so its keys must be exactly `promised` and only those are compared."""
    if sample is None:
        return []
    if json_type(ours) != json_type(sample):
        return [f"{path}: {json_type(ours)} where the sample has {json_type(sample)}"]
    problems: list[str] = []
    if isinstance(sample, dict):
        keys = list(sample)
        if path.endswith(".customerIdentifiers"):
            if set(ours) != promised:
                problems.append(f"{path}: keys {sorted(ours)}, promised {sorted(promised)}")
            keys = [k for k in keys if k in promised]
        for key in keys:
            if key not in ours:
                problems.append(f"{path}.{key}: missing")
            else:
                problems.extend(shape(ours[key], sample[key], promised, f"{path}.{key}"))
    elif isinstance(sample, list) and sample and ours:
        problems.extend(shape(ours[0], sample[0], promised, f"{path}[0]"))
    return problems


# --- payloads built by the registered builders ---------------------------------------------


@dataclass
class Built:
    """One payload of a registered event, made through the API and read from the outbox."""

    label: str
    payload: dict[str, Any]
    promised: frozenset[str]
    known: dict[str, str] = field(default_factory=dict)  # path: problem -> why it is expected


WECHAT = "WECHAT-CM"
PROMISED = IDENTITY_KEYS | {"instore", "wechat"}


async def full_customer(client: OrgClient) -> tuple[int, str]:
    """A customer with every INSTORE identifier the samples show (mobile, email, externalId,
    a card with its external id), a WECHAT profile, a custom and an extended field."""
    number = mobile()
    card = {"type": "cardnumber", "value": token("CARD"), "seriesId": 19, "cardExternalId": token("CX")}
    extra = [{"type": "email", "value": email()}, {"type": "externalId", "value": token("EXT")}, card]
    body = register_body(number, extra=extra, extendedFields={"gender": "Female"})
    body["profiles"][0]["fields"] = {"employee": "true"}
    body["profiles"].append(
        {
            "firstName": "Tom",
            "lastName": "Sawyer",
            "source": "WECHAT",
            "accountId": WECHAT,
            "identifiers": [{"type": "wechat", "value": token("wx")}],
        }
    )
    r = await client.post("/v2/customers", json=body)
    assert r.status_code == 200, r.text
    return int(r.json()["createdId"]), number


async def events_named(client: OrgClient, name: str) -> list[dict[str, Any]]:
    return [e for e in await outbox(client.harness, client.org_id) if e["eventType"] == name]


async def customer_added(client: OrgClient) -> list[Built]:
    await full_customer(client)
    [event] = await events_named(client, "customerAdded")
    return [Built("registration", event, PROMISED)]


async def customer_updated(client: OrgClient) -> list[Built]:
    customer_id, number = await full_customer(client)
    r = await client.put(
        f"/v2/customers/{customer_id}",
        params={"source": "INSTORE"},
        json={"extendedFields": {"gender": "Male"}, "profiles": [{"fields": {"employee": "false"}}]},
    )
    assert r.status_code == 200, r.text
    r = await client.put(
        "/v2/customers/lookup/status",
        params={"source": "INSTORE", "identifierName": "mobile", "identifierValue": number},
        json={"label": "Inactive", "reason": "asked to"},
    )
    assert r.status_code == 200, r.text
    update, status = await events_named(client, "customerUpdated")
    assert update["attributes"]["data"]["updatedFields"] and "customerStatus" in status["attributes"]["data"]
    return [
        # customerStatus is sent on a status change only (docs/decisions.md, "Events").
        Built(
            "field update",
            update,
            PROMISED,
            {"$.attributes.data.customerStatus: missing": "not a status change"},
        ),
        # previousStatus/currentStatus are in the raw sample only (E-8); Patron's status is
        # its label. A status change changes no field, so updatedFields is [] (not compared).
        Built(
            "status change",
            status,
            PROMISED,
            {
                "$.attributes.data.customerStatus.previousStatus: missing": "labels only (E-8)",
                "$.attributes.data.customerStatus.currentStatus: missing": "labels only (E-8)",
            },
        ),
    ]


async def partner_member(client: OrgClient) -> tuple[OrgClient, int]:
    """A full customer of an org with the loyalty issue's partner programs."""
    org = await loyalty_org(client.harness)
    customer_id, _ = await full_customer(org)
    return org, customer_id


# Every value of customerPartnerProgramDetails given, as the raw samples show them all.
PARTNER_FIELDS = {
    "membershipNumber": "123-asa3",
    "membershipExpiryDate": "2031-05-12",
    "partnerTierNumber": 1,
    "partnerTierExpiryDate": "2030-06-29",
}


async def partner_event(org: OrgClient, name: str, label: str) -> list[Built]:
    [event] = await events_named(org, name)
    return [Built(label, event, PROMISED)]


async def partner_program_linked(client: OrgClient) -> list[Built]:
    org, cid = await partner_member(client)
    assert (await partners.link(org, cid, partners.EXTERNAL, **PARTNER_FIELDS)).status_code == 200
    return await partner_event(org, "partnerProgramLinked", "link")


async def partner_program_updated(client: OrgClient) -> list[Built]:
    org, cid = await partner_member(client)
    assert (await partners.link(org, cid, partners.EXTERNAL, **PARTNER_FIELDS)).status_code == 200
    assert (await partners.change(org, cid, partners.EXTERNAL, partnerTierNumber=2)).status_code == 200
    return await partner_event(org, "partnerProgramUpdated", "upgrade")


async def partner_program_delinked(client: OrgClient) -> list[Built]:
    org, cid = await partner_member(client)
    assert (await partners.link(org, cid, partners.SUPPLEMENTARY)).status_code == 200
    assert (await partners.delink(org, cid, partners.SUPPLEMENTARY)).status_code == 200
    return await partner_event(org, "partnerProgramDelinked", "delink")


async def membership_expiry_reminder(client: OrgClient) -> list[Built]:
    org, cid = await partner_member(client)
    expiry = partners.far_date()
    r = await partners.link(org, cid, partners.SUPPLEMENTARY, membershipExpiryDate=expiry.isoformat())
    assert r.status_code == 200, r.text
    await partners.run_reminders(client.harness, partners.days_before(expiry, 3))
    return await partner_event(org, "supplementaryMembershipExpiryReminder", "scheduled reminder")


async def group_events(client: OrgClient, name: str) -> list[Built]:
    """The group events, made through the API from full customers (reused by the bulk
    operations as known): a FAMILY group around one with a child (groupCreated,
    groupMemberAdded), the primary's new role (groupUpdated), the child moved to another
    parent (groupMemberRemoved, groupMemberAdded) and its points into that pool
    (pointsContributionToGroup)."""
    org = await group_org(client.harness)
    (parent, _), (child, _), (other, _) = people = [await full_customer(org) for _ in range(3)]
    numbers = dict(people)

    def item(customer_id: int) -> dict[str, Any]:
        profile = {"source": "INSTORE", "identifiers": [{"type": "mobile", "value": numbers[customer_id]}]}
        return {"loyaltyInfo": {"loyaltyType": "loyalty"}, "profiles": [profile]}

    details = {"hierarchyCode": "FAMILY", "roleCode": "FA", "childRoleCode": "FC"}
    parent_item = {**item(parent), "associationDetails": {**details, "childCustomers": [item(child)]}}
    r = await org.post("/v2/customers/bulk", json=[parent_item, item(other)])
    assert r.status_code == 200 and r.json()[0]["childSuccessCount"] == 1, r.text
    changes = [
        {**item(parent), "associationDetails": {"hierarchyCode": "FAMILY", "roleCode": "HEAD"}},
        {**item(child), "associationDetails": {"hierarchyCode": "FAMILY", "parentCustomer": item(other)}},
    ]
    r = await org.put("/v2/customers/bulk", params={"source": "INSTORE"}, json=changes)
    assert r.status_code == 200 and all(not c["errors"] for c in r.json()), r.text
    group_id = r.json()[1]["associationDetails"]["groupId"]
    r = await org.post(f"/v2/groups/{group_id}/contributions", json={"customerId": child, "points": 30})
    assert r.status_code == 200, r.text
    events = await events_named(org, name)
    assert events, name
    return [Built(f"{name} {n}", event, PROMISED) for n, event in enumerate(events)]


async def group_created(client: OrgClient) -> list[Built]:
    return await group_events(client, "groupCreated")


async def group_updated(client: OrgClient) -> list[Built]:
    return await group_events(client, "groupUpdated")


async def group_member_added(client: OrgClient) -> list[Built]:
    return await group_events(client, "groupMemberAdded")


async def group_member_removed(client: OrgClient) -> list[Built]:
    return await group_events(client, "groupMemberRemoved")


async def points_contributed(client: OrgClient) -> list[Built]:
    return await group_events(client, "pointsContributionToGroup")


async def customer_subscription(client: OrgClient) -> list[Built]:
    """An opt-out on the customer's WECHAT account and an opt-in of a default (no event)."""
    customer_id, _ = await full_customer(client)
    entries = [
        {
            "channel": "WECHAT",
            "priority": "BULK",
            "type": "OPTOUT",
            "sourceName": "WECHAT",
            "accountId": WECHAT,
        },
        {"channel": "EMAIL", "priority": "TRANS", "type": "OPTIN", "orgUnitId": 5905},
    ]
    r = await client.post(f"/v2/customers/{customer_id}/subscriptions", json={"subscriptions": entries})
    assert r.status_code == 200, r.text
    [event] = await events_named(client, "customerSubscription")
    return [Built("opt-out", event, PROMISED)]


async def merge_reverted(client: OrgClient) -> list[Built]:
    survivor, _ = await full_customer(client)
    victim = await client.post(
        "/v2/customers",
        json=register_body(
            source="WECHAT", account_id="WECHAT-2", extra=[{"type": "wechat", "value": token("wx")}]
        ),
    )
    assert victim.status_code == 200, victim.text
    body = {"survivorId": survivor, "victimId": victim.json()["createdId"]}
    merged = await client.post("/v2/customers/merge", json=body)
    assert merged.status_code == 200, merged.text
    r = await client.post(f"/v2/customers/merge/{merged.json()['mergeId']}/undo")
    assert r.status_code == 200, r.text
    [event] = await events_named(client, "customersMergeReverted")
    return [Built("undo of an explicit merge", event, frozenset())]


# How each registered event is made for real; a registered event without one fails below.
PRODUCERS: dict[str, Callable[[OrgClient], Awaitable[list[Built]]]] = {
    "customerAdded": customer_added,
    "customerUpdated": customer_updated,
    "partnerProgramLinked": partner_program_linked,
    "partnerProgramUpdated": partner_program_updated,
    "partnerProgramDelinked": partner_program_delinked,
    "supplementaryMembershipExpiryReminder": membership_expiry_reminder,
    "groupCreated": group_created,
    "groupUpdated": group_updated,
    "groupMemberAdded": group_member_added,
    "groupMemberRemoved": group_member_removed,
    "pointsContributionToGroup": points_contributed,
    "customerSubscription": customer_subscription,
    "customersMergeReverted": merge_reverted,
}


# --- tests ---------------------------------------------------------------------------------


@pytest.mark.parametrize("name", fixture_names())
def test_every_fixture_parses_with_the_envelope_of_its_form(name: str) -> None:
    for sample in samples(name):
        check_envelope(sample)


def test_every_fixture_is_of_a_registered_or_a_pending_event() -> None:
    registered = set(REGISTRY)
    assert not registered & PENDING, f"registered and still pending: {sorted(registered & PENDING)}"
    assert not set(OURS) & set(fixture_names()), "an event of ours has a seed fixture"
    assert set(OURS) <= registered, f"events of ours not registered: {sorted(set(OURS) - registered)}"
    seeded = registered - set(OURS)
    assert set(fixture_names()) == seeded | PENDING, (
        f"fixtures without an event: {sorted(set(fixture_names()) - seeded - PENDING)}; "
        f"events without a fixture: {sorted((seeded | PENDING) - set(fixture_names()))}"
    )
    assert set(PRODUCERS) == registered, "every registered event needs a producer in this file"


def test_the_readme_cites_every_sample() -> None:
    """tests/fixtures/events/README.md lists each fixture's samples by seed lines and form."""
    readme = (FIXTURES / "README.md").read_text(encoding="utf-8")
    listed = {
        m[1]: m[2] for m in re.finditer(r"^\| `(\w+)\.json` \| ([^|]+?) \|", readme, flags=re.MULTILINE)
    }
    assert set(listed) == set(fixture_names())
    for name in fixture_names():
        cited = ", ".join(f"{s.where} {s.form}" for s in samples(name))
        assert listed[name] == cited, f"README row of {name}: {listed[name]!r}, fixture says {cited!r}"


@pytest.mark.parametrize("name", sorted(REGISTRY))
async def test_built_payloads_have_every_key_of_the_samples(client: OrgClient, name: str) -> None:
    for built in await PRODUCERS[name](client):
        payload = built.payload
        assert set(payload) == ENRICHED_TOP and set(payload["attributes"]) == set(ATTRIBUTES)
        assert payload["eventType"] == payload["attributes"]["eventName"] == name
        if name in OURS:
            assert set(payload["attributes"]["data"]) == OURS[name], built.label
            continue
        for sample in samples(name):
            problems = shape(payload, as_enriched(sample), built.promised)
            unexpected = [p for p in problems if p not in built.known]
            assert not unexpected, (
                f"{name} ({built.label}) against {sample.where} {sample.form}:\n" + "\n".join(unexpected)
            )


# --- the checks themselves can fail --------------------------------------------------------


def test_shape_is_not_vacuous() -> None:
    none: frozenset[str] = frozenset()
    assert shape({"a": 1, "b": [{"c": "x"}], "extra": 1}, {"a": 2.5, "b": [{"c": None}]}, none) == []
    assert shape({"a": 1}, {"a": 1, "d": 1}, none) == ["$.d: missing"]
    assert shape({"b": [{"c": 1}]}, {"b": [{"c": "x"}]}, none) == [
        "$.b[0].c: number where the sample has string"
    ]
    ids = {"customerIdentifiers": {"customerId": 1, "instore": {}}}
    sample = {"customerIdentifiers": {"customerId": 2, "instore": {"mobile": "x"}, "jd": {}}}
    assert shape(ids, sample, frozenset({"customerId", "instore"})) == [
        "$.customerIdentifiers.instore.mobile: missing"
    ]
    assert shape(ids, sample, frozenset({"customerId"})) == [
        "$.customerIdentifiers: keys ['customerId', 'instore'], promised ['customerId']"
    ]


def test_envelope_check_is_not_vacuous() -> None:
    good = samples("customerAdded")[0]
    check_envelope(good)
    broken = dict(good.payload)
    del broken["actionType"]
    with pytest.raises(AssertionError):
        check_envelope(Sample(good.event, good.seed, good.first, good.last, good.form, broken))
    with pytest.raises(AssertionError):  # named for another event
        check_envelope(Sample("customerUpdated", good.seed, good.first, good.last, good.form, good.payload))
    raw = samples("customerAdded")[1]
    with pytest.raises(AssertionError):  # a raw sample is not an enriched one
        check_envelope(Sample(raw.event, raw.seed, raw.first, raw.last, "enriched", raw.payload))
