"""The user namespace's lookups (docs/users.md, "Lookups"): Get User History and Latest over
the one change log, last_activity in Get User, Inquiry User(s) through indexes, Get User
Group(s) without integration secrets."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from patron.db.sql import Q
from patron.db.uow import UnitOfWork
from patron.users import lookups_repository as statements
from tests.conftest import Harness, OrgClient, make_org
from tests.support import email, execute, register_body, rows, token
from tests.users.secrets_scan import assert_no_secrets
from tests.users.seed004 import ENVELOPE_KEYS, assert_same_keys, response_of
from tests.users.test_users_core import USER_CONFIG, create, create_body

# Sections another part of the namespace fills; here null or the org's own names.
NOT_YET = ("security", "identification", "ticket", "custom_field")


@pytest.fixture
async def client(harness: Harness) -> OrgClient:
    return await make_org(harness, USER_CONFIG)


@pytest.fixture
async def other_client(harness: Harness) -> OrgClient:
    return await make_org(harness, USER_CONFIG)


async def new_user(client: OrgClient, last: str | None = None, currency: str = "USD") -> dict[str, Any]:
    body = create_body()
    if last is not None:
        body["personal_info"]["last_name"] = last
    body["currency"] = [{"code": currency}]
    answer: dict[str, Any] = await create(client, body)
    return answer


async def user_history(
    client: OrgClient, uid: int, headers: dict[str, str] | None = None, **params: Any
) -> dict[str, Any]:
    r = await client.get(f"/user/history/{uid}", params=params, headers=headers or {})
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


# History ---------------------------------------------------------------------------------


async def test_a_v2_name_change_and_an_added_email_show_in_the_users_history(client: OrgClient) -> None:
    uid = (await new_user(client))["info"]["id"]
    r = await client.put(
        f"/v2/customers/{uid}", params={"source": "WEBSITE"}, json={"profiles": [{"firstName": "Renamed"}]}
    )
    assert r.status_code == 200, r.text
    added = email()
    r = await client.post(
        f"/v2/customers/{uid}/changeIdentifier",
        params={"source": "WEBSITE"},
        json={"add": [{"type": "email", "value": added}]},
    )
    assert r.status_code == 200, r.text
    answer = await user_history(client, uid, headers={"time_zone": "UTC +02:00"})
    assert answer["result"]["code"] == "0000"
    assert_same_keys(answer, response_of("Get User History"))
    assert answer["info"]["id"] == uid and answer["info"]["program_id"] == client.org_id
    items = answer["history"]
    ids = [i["id"] for i in items]
    assert ids == sorted(ids, reverse=True), "newest first"
    newest = items[0]
    assert newest["entity"] == 19 and newest["activity_type"] == 4
    assert json.loads(newest["new_data"]) == {"address": added} and newest["old_data"] == ""
    assert newest["by_entity"] == 3 and newest["by_entity_id"] > 0
    renamed = next(i for i in items if i["entity"] == 29 and i["activity_type"] == 2)
    assert json.loads(renamed["old_data"]) == {"first_name": "Marcos"}
    assert json.loads(renamed["new_data"]) == {"first_name": "Renamed"}
    assert renamed["admin_notes"] == "Update User Personal Info"
    created = [i for i in items if i["activity_type"] == 1]
    assert {i["entity"] for i in created} >= {7, 17, 19, 29}, "Create User's fields, as created"
    assert newest["date_utc"] <= datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S")
    assert newest["client_date"] == (
        (datetime.strptime(newest["date_utc"], "%Y-%m-%dT%H:%M:%S") + timedelta(hours=2)).strftime(
            "%Y-%m-%dT%H:%M:%S"
        )
    )

    latest = await client.get(f"/user/history/latest/{uid}")
    assert latest.status_code == 200, latest.text
    assert_same_keys(latest.json(), response_of("Get User History Latest"))
    assert [i["id"] for i in latest.json()["history"]] == [newest["id"]]

    user = await client.get(f"/user/{uid}")
    assert user.status_code == 200, user.text
    assert user.json()["last_activity"] == {
        "entity": 19,
        "entity_id": uid,
        "entity_data": -1,
        "activity_type": 4,
        "notes": {"user_notes": "", "admin_notes": "New User Email Created"},
        "update_date_utc": newest["date_utc"],
    }
    assert_same_keys(user.json()["last_activity"], response_of("Get User")["last_activity"])


async def test_history_pages_newest_first(client: OrgClient) -> None:
    uid = (await new_user(client))["info"]["id"]
    everything = (await user_history(client, uid))["history"]
    assert len(everything) >= 4
    page = (await user_history(client, uid, start_index=2, page_size=2))["history"]
    assert [i["id"] for i in page] == [i["id"] for i in everything[1:3]]
    beyond = (await user_history(client, uid, start_index=len(everything) + 1))["history"]
    assert beyond == []
    for params in ({"page_size": "101"}, {"page_size": "0"}, {"start_index": "0"}, {"start_index": "x"}):
        r = await client.get(f"/user/history/{uid}", params=params)
        assert r.status_code == 400 and r.json()["result"]["code"] == "3001", (params, r.text)
        assert next(iter(params)) in r.json()["result"]["message"]


async def test_history_never_shows_a_secret_or_a_full_number(client: OrgClient) -> None:
    """A user record's change (as the other parts record them, users/lookups.py
    user_record_change) comes out masked and wiped, even if a raw value slipped in."""
    uid = (await new_user(client))["info"]["id"]
    raw = {
        "number": "42247074",
        "iban": "GB17BARC20038446275882",
        "password": "Secret-Passphrase-9",
        "security_code": "482913",
    }
    await execute(
        client.harness.app.state.db,
        "INSERT INTO customer_change (org_id, change_id, customer_id, kind, field_name, field_type,"
        " previous_value, current_value, source, account_id, till_id, request_id, changed_at)"
        " VALUES (:o, :change, :c, 'USER_RECORD', 'bank_account:4242', 'UserRecord', NULL, :v,"
        " 'WEBSITE', '', NULL, 'req-1', :now)",
        o=client.org_id,
        change=999_999_000 + client.org_id,
        c=uid,
        v=json.dumps(raw),
        now=datetime.now(UTC) + timedelta(seconds=5),
    )
    for path in (f"/user/history/{uid}", f"/user/history/latest/{uid}", f"/user/{uid}"):
        r = await client.get(path, headers={"show_sensitive_data": "1"})
        assert r.status_code == 200, r.text
        assert_no_secrets(r.text, list(raw.values()))
    item = (await user_history(client, uid))["history"][0]
    assert item["entity"] == 16 and item["entity_id"] == 4242 and item["activity_type"] == 4
    assert item["by_entity"] == 1 and item["by_entity_id"] == 0
    data = json.loads(item["new_data"])
    assert data["number"] == "42**7074" and data["iban"] == "GB17**************5882"
    assert data["password"] == "____" and data["security_code"] == "____"


async def test_history_of_another_orgs_user_is_not_found(client: OrgClient, other_client: OrgClient) -> None:
    uid = (await new_user(client))["info"]["id"]
    for path in (f"/user/history/{uid}", f"/user/history/latest/{uid}", f"/user/group/{uid}"):
        r = await other_client.get(path)
        assert r.status_code == 404 and r.json()["result"]["code"] == "3005", (path, r.text)
    r = await client.get("/user/history/99999999999")
    assert r.status_code == 404 and r.json()["result"]["code"] == "3005"


# Inquiry User(s) ------------------------------------------------------------------------

SEED_QUERY = {"start_index": "1", "page_size": "10", "from_date": "2021-01-01"}


def today() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%d")


async def inquiry(client: OrgClient, **params: Any) -> dict[str, Any]:
    r = await client.get("/user/inquiry", params=params)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


async def test_inquiry_replays_the_seed_query_narrowed_by_a_name(client: OrgClient) -> None:
    family = token("Inq")
    user = await new_user(client, last=family)
    uid = user["info"]["id"]
    # The seed's query (004:L19487-19490) with a to_date reaching today and a narrowing filter.
    answer = await inquiry(client, **SEED_QUERY, to_date=today().replace("-", "/"), last_name=family)
    assert list(answer) == ENVELOPE_KEYS["inquiry_users"]
    assert_same_keys(answer, response_of("Inquiry User(s)"), ignore=NOT_YET)
    assert answer["result_set"]["total_records"] == 1
    assert answer["result_set"]["start_index"] == 1 and answer["result_set"]["page_size"] == 10
    assert answer["result_set"]["from_date"] == "2021-01-01T00:00:00"
    (item,) = answer["users"]
    assert item["result"] is None and item["info"]["id"] == uid
    assert item["email"][0]["address"] == user["email"][0]["address"]
    assert item["last_activity"] is not None and item["last_activity"]["activity_type"] == 1


async def test_inquiry_requires_the_dates_and_nothing_more(client: OrgClient) -> None:
    for missing in ("from_date", "to_date"):
        params = {"from_date": "2021-01-01", "to_date": today(), "search_term": "x"}
        params.pop(missing)
        r = await client.get("/user/inquiry", params=params)
        assert r.status_code == 400 and r.json()["result"]["code"] == "3002", r.text
        assert missing in r.json()["result"]["message"]
    # Dates alone are enough: a range of the (org_id, created_at) index.
    user = await new_user(client, last=token("Dates"))
    answer = await inquiry(client, **SEED_QUERY, to_date=today().replace("-", "/"))
    assert user["info"]["id"] in [u["info"]["id"] for u in answer["users"]]
    assert answer["result_set"]["total_records"] >= 1
    r = await client.get("/user/inquiry", params={"from_date": "2021-01-01", "to_date": "2020-12-31"})
    assert r.status_code == 400 and r.json()["result"]["code"] == "3001", r.text
    for bad in (
        {"from_date": "2021-02-30"},
        {"from_date": "2021|01|01"},
        {"from_date": "2023-01-01", "to_date": "2022-01-01"},
        {"page_size": "101"},
        {"start_index": "0"},
        {"sort_by": "name"},
        {"sort_flag": "up"},
        {"currency": "XYZ"},
        {"country_code": "QQ"},
        {"status": "7"},
        {"entity": "15"},
        {"email": "not-an-email"},
        {"colour": "red"},
    ):
        params = {"from_date": "2021-01-01", "to_date": today(), "search_term": "x", **bad}
        r = await client.get("/user/inquiry", params=params)
        assert r.status_code == 400 and r.json()["result"]["code"] == "3001", (bad, r.text)


async def test_inquiry_filters_sorts_and_pages(client: OrgClient) -> None:
    family = token("Fam")
    a = await new_user(client, last=family)
    b = await new_user(client, last=family, currency="EUR")
    c = await new_user(client, last=family)
    ids = [u["info"]["id"] for u in (a, b, c)]
    span = {"from_date": "2021-01-01", "to_date": today()}

    async def found(**params: Any) -> list[int]:
        return [u["info"]["id"] for u in (await inquiry(client, **{**span, **params}))["users"]]

    assert await found(last_name=family, sort_by="user_id", sort_flag="asc") == sorted(ids)
    assert await found(search_term=family.lower(), sort_by="user_id", sort_flag="desc") == sorted(ids)[::-1]
    assert await found(last_name=family) == sorted(ids)[::-1], "newest first by default"
    page = await inquiry(
        client, **span, last_name=family, sort_by="user_id", sort_flag="asc", start_index=2, page_size=1
    )
    assert page["result_set"]["total_records"] == 3 and [u["info"]["id"] for u in page["users"]] == [
        sorted(ids)[1]
    ]
    assert await found(last_name=family, currency="eur") == [ids[1]]
    assert await found(email=a["email"][0]["address"].upper()) == [ids[0]]
    assert await found(user_id=str(ids[2]), last_name=family) == [ids[2]]
    assert await found(user_id=str(ids[2]), email=a["email"][0]["address"]) == []
    assert await found(first_name="Marc", last_name=family, sort_by="user_id", sort_flag="asc") == sorted(ids)
    assert await found(first_name="Nobody", last_name=family) == []
    assert await found(last_name=family, program_id=str(client.org_id + 1)) == []
    assert await found(last_name=family, status="1", archive="0", entity="7") != []
    yesterday = (datetime.now(UTC) - timedelta(days=2)).strftime("%Y-%m-%d")
    assert await found(last_name=family, from_date="2020-01-01", to_date=yesterday) == []
    r = await client.request("DELETE", f"/user/{ids[0]}")
    assert r.status_code == 200, r.text
    assert await found(last_name=family, status="-1") == [ids[0]]
    assert await found(last_name=family, archive="0", sort_by="user_id", sort_flag="asc") == sorted(ids[1:])


async def test_inquiry_lists_a_customer_registered_through_v2(client: OrgClient) -> None:
    """Its identifiers get their user records on this first read (a write), as in Get User."""
    address = email()
    body = register_body(source="WEBSITE", last=token("Vtwo"), extra=[{"type": "email", "value": address}])
    r = await client.post("/v2/customers", json=body)
    assert r.status_code == 200, r.text
    cid = r.json()["createdId"]
    answer = await inquiry(client, from_date="2021-01-01", to_date=today(), email=address)
    (item,) = answer["users"]
    assert item["info"]["id"] == cid and [e["address"] for e in item["email"]] == [address]
    again = await inquiry(client, from_date="2021-01-01", to_date=today(), email=address)
    assert again["users"][0]["email"][0]["id"] == item["email"][0]["id"]


async def test_inquiry_sees_only_the_callers_org(client: OrgClient, other_client: OrgClient) -> None:
    family = token("Iso")
    user = await new_user(client, last=family)
    span = {"from_date": "2021-01-01", "to_date": today()}
    for params in (
        {"last_name": family},
        {"email": user["email"][0]["address"]},
        {"user_id": str(user["info"]["id"])},
    ):
        answer = await inquiry(other_client, **span, **params)
        assert answer["users"] == [] and answer["result_set"]["total_records"] == 0, params


# PostgreSQL plans a table of a few rows by cost alone (the org's first index entry and a
# filter is as cheap as any probe); so the plan is read over an org of some thousands of
# rows, written straight into the tables (the test's own statements, unobserved).
_BASE = 900_000_000
_FILL = [
    "INSERT INTO customer (org_id, customer_id, loyalty_type, status_label, merged_into_id,"
    " extended_fields, custom_fields, associated_with, created_from_source, fraud_status,"
    " lifetime_purchases, registered_at, created_at, updated_at, created_by_till_id,"
    " updated_by_till_id, version) SELECT :o, :b + g, 'non_loyalty', 'Active', NULL, '{}', '{}',"
    " NULL, 'WEBSITE', 'NOT_FRAUD', 0, now(), now(), now(), 1, 1, 1 FROM generate_series(1, :n) g",
    "INSERT INTO customer_profile (org_id, customer_id, source, account_id, first_name, last_name,"
    " comm_channels, created_at, updated_at, created_by_till_id, updated_by_till_id)"
    " SELECT :o, :b + g, 'WEBSITE', '', 'F' || g, 'L' || g, '[]', now(), now(), 1, 1"
    " FROM generate_series(1, :n) g",
    "INSERT INTO customer_identifier (org_id, source, account_id, id_type, value, customer_id,"
    " created_at) SELECT :o, 'WEBSITE', '', 'email', 'f' || g || '@example.com', :b + g, now()"
    " FROM generate_series(1, :n) g",
    "INSERT INTO search_term (org_id, term, customer_id, id_type, source, account_id, display_value)"
    " SELECT :o, 'f' || g, :b + g, 'firstName', 'WEBSITE', '', 'F' || g FROM generate_series(1, :n) g",
    "INSERT INTO customer_change (org_id, change_id, customer_id, kind, field_name, field_type,"
    " previous_value, current_value, source, account_id, till_id, request_id, changed_at)"
    " SELECT :o, :b + g, :b + 1 + g % 100, 'PROFILE', 'firstName', 'StandardField', NULL, 'x',"
    " 'WEBSITE', '', NULL, 'r', now() FROM generate_series(1, :n) g",
    "INSERT INTO user_record (org_id, record_id, customer_id, kind, status, verification_status,"
    " is_primary, data, sealed, created_at, updated_at, till_id) SELECT :o, :b + g, :b + g,"
    " 'currency', 1, 0, false, '{}', NULL, now(), now(), 1 FROM generate_series(1, :n) g",
    "INSERT INTO customer_group (org_id, group_id, name, hierarchy_code, group_program_id,"
    " primary_customer_id, primary_role, loyalty_points, lifetime_points, promised_points,"
    " created_at, updated_at) SELECT :o, :b + g, 'G', 'FAMILY', NULL, :b + g, '', 0, 0, 0, now(), now()"
    " FROM generate_series(1, :n) g",
    "INSERT INTO group_member (org_id, group_id, customer_id, role_code, joined_at)"
    " SELECT :o, :b + g, :b + 1 + g % :n, '', now() FROM generate_series(1, :n) g",
]
_TABLES = (
    "customer",
    "customer_profile",
    "customer_identifier",
    "search_term",
    "customer_change",
    "user_record",
    "customer_group",
    "group_member",
)


async def _as_if_large(uow: UnitOfWork) -> None:
    """SQLite plans by the statistics ANALYZE leaves: those of the few rows the tests wrote
    would make a scan the cheapest plan whatever the indexes. The statistics are scaled to an
    org of 100,000 rows among a million (the per-key averages ANALYZE found kept), then
    reloaded (`ANALYZE sqlite_schema`), so the plan is the one a large org gets."""
    for table in _TABLES:
        await uow.tx.run(Q(f"ANALYZE {table}"))
    for table, index, stat in await uow.tx.all(Q("SELECT tbl, idx, stat FROM sqlite_stat1")):
        if table not in _TABLES:
            continue
        numbers = str(stat).split()
        numbers[0] = "1000000"
        if len(numbers) > 1:
            numbers[1] = "100000"
        await uow.tx.run(
            Q("UPDATE sqlite_stat1 SET stat = :stat WHERE tbl = :tbl AND idx IS :idx"),
            stat=" ".join(numbers),
            tbl=table,
            idx=index,
        )
    await uow.tx.run(Q("ANALYZE sqlite_schema"))


async def _fill_and_analyze(uow: UnitOfWork, org_id: int) -> None:
    for statement in _FILL:
        await uow.tx.run(Q(statement), o=org_id, b=_BASE, n=3000)
    for table in _TABLES:
        await uow.tx.run(Q(f"ANALYZE {table}"))


async def _plan(uow: UnitOfWork, q: Q, params: dict[str, Any]) -> str:
    """The plan of a statement with sequential scans forbidden."""
    assert q.postgresql is not None
    await uow.tx.run(Q("SET LOCAL enable_seqscan = off"))
    return " ".join(r[0] for r in await uow.tx.all(Q("EXPLAIN " + q.postgresql), **params))


async def test_the_lookups_statements_are_served_by_indexes(client: OrgClient) -> None:
    """Every statement of the lookups reads through an index: no table is scanned (on
    PostgreSQL with sequential scans forbidden, so a small table shows the index that serves
    it), and the inquiry route issues them."""
    family = token("Idx")
    user = await new_user(client, last=family)
    uid = user["info"]["id"]
    seen: list[str] = []
    db = client.harness.app.state.db
    db.observers.append(lambda dialect, text: seen.append(text))
    try:
        await inquiry(client, from_date="2021-01-01", to_date=today(), last_name=family, currency="USD")
        await inquiry(client, from_date="2021-01-01", to_date=today(), email=user["email"][0]["address"])
        await inquiry(client, from_date="2021-01-01", to_date=today())
    finally:
        db.observers.pop()
    dialect = "sqlite" if client.harness.engine == "sqlite" else "postgresql"
    for q in (
        statements.BY_TERM,
        statements.CUSTOMERS,
        statements.RECORDS_OF_KIND,
        statements.BY_IDENTIFIER,
        statements.BY_CREATED,
    ):
        assert q.compiled(dialect).text in seen
    params = {
        "org_id": client.org_id,
        "customer_id": uid,
        "ids": [uid, uid + 1],
        "low": family.lower(),
        "high": family.lower() + "\U0010ffff",
        "scan": 1001,
        "kind": "currency",
        "id_type": "email",
        "value": "x@example.com",
        "limit": 10,
        "offset": 0,
    }
    every = [
        getattr(statements, name) for name in dir(statements) if isinstance(getattr(statements, name), Q)
    ]
    assert len(every) >= 9
    if client.harness.engine == "sqlite":
        unobserved = list(db.observers)  # the test's own statements
        db.observers.clear()
        try:
            await db.write(_as_if_large)
        finally:
            db.observers.extend(unobserved)
    else:
        unobserved = list(db.observers)  # the test's own statements
        db.observers.clear()
        try:
            await db.write(_fill_and_analyze, client.org_id)
        finally:
            db.observers.extend(unobserved)
    for q in every:
        text = q.compiled(dialect).text
        used = {k: v for k, v in params.items() if f":{k}" in (q.sqlite or "")}
        if q is statements.BY_CREATED:  # a range of times, not of names
            used.update(low=datetime(2021, 1, 1, tzinfo=UTC), high=datetime.now(UTC))
        if client.harness.engine == "sqlite":
            plan = " | ".join(
                str(r.detail) for r in await rows(db, "EXPLAIN QUERY PLAN " + (q.sqlite or ""), **used)
            )
            scans = [p for p in plan.split(" | ") if p.startswith("SCAN ") and "json_each" not in p]
            assert not scans, f"{text}\n{plan}"
            assert "(org_id=?)" not in plan, f"the whole org's rows: {text}\n{plan}"
        else:
            unobserved = list(db.observers)
            db.observers.clear()  # EXPLAIN is the test's
            try:
                plan = await db.write(_plan, q, used)
            finally:
                db.observers.extend(unobserved)
            assert "Seq Scan" not in plan, f"{text}\n{plan}"
            org_only = re.search(r"Index Cond: \(org_id = '\d+'::bigint\)", plan)
            assert not org_only, f"the whole org's rows: {text}\n{plan}"


# Get User Group(s) -----------------------------------------------------------------------


async def _group(client: OrgClient, head: int, members: list[int], code: str) -> int:
    db = client.harness.app.state.db
    gid = head * 10 + len(members)
    now = datetime.now(UTC)
    await execute(
        db,
        "INSERT INTO customer_group (org_id, group_id, name, hierarchy_code, group_program_id,"
        " primary_customer_id, primary_role, loyalty_points, lifetime_points, promised_points,"
        " created_at, updated_at) VALUES (:o, :g, :n, :code, NULL, :head, 'PARENT', 0, 0, 0, :now, :now)",
        o=client.org_id,
        g=gid,
        n=f"Group {code}",
        code=code,
        head=head,
        now=now,
    )
    for m in members:
        await execute(
            db,
            "INSERT INTO group_member (org_id, group_id, customer_id, role_code, joined_at)"
            " VALUES (:o, :g, :c, 'CHILD', :now)",
            o=client.org_id,
            g=gid,
            c=m,
            now=now,
        )
    return gid


async def test_get_user_groups_lists_the_groups_without_integration_secrets(
    client: OrgClient, other_client: OrgClient
) -> None:
    head, child, alone = [await new_user(client) for _ in range(3)]
    hid, cid = head["info"]["id"], child["info"]["id"]
    gid = await _group(client, hid, [cid], "FAMILY")
    r = await client.get(f"/user/group/{cid}")
    assert r.status_code == 200, r.text
    answer = r.json()
    assert_same_keys(answer, response_of("Get User Group(s)"), ignore=NOT_YET)
    (group,) = answer["group"]
    assert group["info"]["id"] == gid and group["info"]["code"] == "FAMILY"
    assert group["info"]["user_id"] == hid and group["info"]["program_id"] == client.org_id
    assert [(m["user_id"], m["role"]) for m in group["group_user"]] == [(hid, "PARENT"), (cid, "CHILD")]
    assert group["group_user"][0]["name"] == "Marcos Collier"
    assert group["setting"]["external_integration"] is None
    for secret in ("access_token", "client_secret", "fortnox"):
        assert secret not in r.text
    heads = (await client.get(f"/user/group/{hid}")).json()["group"]
    assert [g["info"]["id"] for g in heads] == [gid]
    lonely = await client.get(f"/user/group/{alone['info']['id']}")
    assert lonely.status_code == 200 and lonely.json()["group"] == []
    r = await other_client.get(f"/user/group/{cid}")
    assert r.status_code == 404 and r.json()["result"]["code"] == "3005"
