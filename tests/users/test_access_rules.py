"""Security access rules through HTTP, on both engines: Add/Update/Get/Delete Security Access
(seed 004) and their enforcement on Update User Security (users/access_rules.py)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from patron.users.access_rules import in_schedule, key_holds, window_of
from tests.conftest import CONFIG, Harness, OrgClient, make_org
from tests.support import email, mobile
from tests.users.seed004 import ENVELOPE_KEYS, assert_same_keys, request_of, response_of

USER_CONFIG = {**CONFIG, "sources": {**CONFIG["sources"], "WEBSITE": []}}
RULES = "/user/security/rule"
# The objects of the access_rule_data table (004:L835-1058) each item carries beside the
# sample's keys, and the table's info.user_id (L740).
EXTRA_OBJECTS = ("action", "rule", "frequency", "schedule", "notification", "excluded")


@pytest.fixture
async def client(harness: Harness) -> OrgClient:
    return await make_org(harness, USER_CONFIG)


@pytest.fixture
async def other_client(harness: Harness) -> OrgClient:
    return await make_org(harness, USER_CONFIG)


async def new_user(client: OrgClient) -> int:
    body = request_of("Create User")
    body.pop("security")
    body.pop("identification")
    body["email"][0]["address"] = email()
    body["phone"][0]["number"] = "+" + mobile()
    r = await client.post("/user", json=body)
    assert r.status_code == 200, r.text
    return int(r.json()["info"]["id"])


def ok(r: Any) -> dict[str, Any]:
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    assert body["result"]["code"] == "0000", body
    assert list(body) == ENVELOPE_KEYS["user"]
    return body


def failed(r: Any, status: int, code: str) -> dict[str, Any]:
    assert r.status_code == status, r.text
    body: dict[str, Any] = r.json()
    assert body["result"]["code"] == code, body
    return body


def expected(name: str) -> dict[str, Any]:
    """The seed's answer with each access_rule item widened by our documented additions."""
    sample: dict[str, Any] = response_of(name)
    items = []
    for item in sample["access_rule"]:
        item["info"]["user_id"] = None
        head = {"result": item.pop("result"), "info": item.pop("info")}
        items.append({**head, **dict.fromkeys(EXTRA_OBJECTS), **item})
    sample["access_rule"] = items
    return sample


async def add(client: OrgClient, *rules: dict[str, Any]) -> list[dict[str, Any]]:
    answer = ok(await client.post(RULES, json={"access_rule": list(rules)}))
    return list(answer["access_rule"])


async def change_security(client: OrgClient, uid: int) -> Any:
    return await client.put(f"/user/security/{uid}", json={"security": {"security_code": "4321"}})


def ip_rule(access_type: int, operator: str, value: str, **info: Any) -> dict[str, Any]:
    return {
        "info": {"type": 1, "access_type": access_type, "status": 1, **info},
        "action": {"action": "5"},
        "rule": {"keys": [{"name": "ip", "expression_operator": operator, "value": value}]},
    }


# --- the four operations -------------------------------------------------------------------


async def test_add_get_update_delete_replay_the_seed(client: OrgClient) -> None:
    added = ok(await client.post(RULES, json=request_of("Add Security Access")))
    assert_same_keys(added, expected("Add Security Access"))
    rule = added["access_rule"][0]
    assert rule["info"] == {
        "id": rule["info"]["id"],
        "type": 7,
        "access_type": 1,
        "status": 3,
        "value": "7775",
        "channel": None,
        "service_domain": 0,
        "notes": "Interchange MCC ",
        "transaction_type": None,
        "expression_operator": 0,
        "user_id": None,
    }
    # An org rule: the answer concerns no user (the seed's paths name none), so info is null.
    assert added["info"] is None
    rid = rule["info"]["id"]

    got = ok(await client.get(RULES))
    assert_same_keys(got, expected("Get Security Access"))
    assert got["access_rule"] == added["access_rule"]

    update = request_of("Update Security Access")
    update["access_rule"][0]["info"]["id"] = rid
    for path in ("/User/security/rule", RULES):  # both spellings are the one operation
        changed = ok(await client.put(path, json=update))
        assert_same_keys(changed, expected("Update Security Access"))
        info = changed["access_rule"][0]["info"]
        assert (info["id"], info["status"], info["value"], info["notes"]) == (
            rid,
            4,
            "101",
            "Interchange MCC Update ",
        )
        assert info["type"] == 7  # not sent: kept

    delete = request_of("Delete Security Access")
    delete["access_rule"][0]["info"]["id"] = rid
    gone = ok(await client.request("DELETE", RULES, json=delete))
    assert_same_keys(gone, expected("Delete Security Access"))
    assert gone["access_rule"][0]["info"]["id"] == rid
    assert gone["access_rule"][0]["info"]["value"] is None
    assert ok(await client.get(RULES))["access_rule"] is None
    failed(await client.request("DELETE", RULES, json=delete), 404, "3013")


async def test_a_rule_reads_back_with_its_parts(client: OrgClient) -> None:
    uid = await new_user(client)
    rule = {
        "info": {"user_id": uid, "access_type": 1, "expression_operator": 1, "notes": "office"},
        "action": {"action": "validate"},
        "rule": {
            "keys": [{"name": "IP", "expression_operator": "CIDR", "value": "10.1.2.3/8, 192.168.0.0/16"}]
        },
        "schedule": {"days_of_week": "mon,Tuesday", "time": {"start_time": "09:00", "end_time": "17:30"}},
        "notification": {"enabled": "1", "recipient_entity": "7", "delivery_method": "1"},
    }
    answer = ok(await client.post(RULES, json={"access_rule": [rule]}))
    assert answer["info"]["id"] == uid  # a user's rule: the user's info
    item = answer["access_rule"][0]
    assert item["info"]["user_id"] == uid and item["action"] == {"action": "1"}
    assert item["rule"] == {
        "access_type": "1",
        "expression_operator": "1",
        "keys": [{"name": "ip", "expression_operator": "cidr", "value": "10.0.0.0/8,192.168.0.0/16"}],
    }
    assert item["schedule"]["time"] == {"start_time": "09:00", "end_time": "17:30"}
    assert item["notification"]["enabled"] == "1"
    mine = ok(await client.get(RULES, params={"user_id": uid}))
    assert mine["info"]["id"] == uid and mine["access_rule"] == [item]
    # The user's rule is cleared to an org rule by user_id null.
    moved = ok(
        await client.put(RULES, json={"access_rule": [{"info": {"id": item["info"]["id"], "user_id": None}}]})
    )
    assert moved["access_rule"][0]["info"]["user_id"] is None
    assert moved["access_rule"][0]["schedule"] == item["schedule"]


async def test_rules_are_the_orgs_own(client: OrgClient, other_client: OrgClient) -> None:
    uid = await new_user(client)
    rid = (await add(client, ip_rule(0, "equals", "127.0.0.1")))[0]["info"]["id"]
    assert ok(await other_client.get(RULES))["access_rule"] is None
    by_id = {"access_rule": [{"info": {"id": rid, "status": 0}}]}
    failed(await other_client.put(RULES, json=by_id), 404, "3013")
    failed(await other_client.request("DELETE", RULES, json=by_id), 404, "3013")
    # Another org's user cannot be named, in a rule or an exclusion, nor read by.
    failed(await other_client.post(RULES, json={"access_rule": [{"info": {"user_id": uid}}]}), 404, "3005")
    excluded = {"info": {}, "excluded": [{"entity": 7, "entity_id": uid}]}
    failed(await other_client.post(RULES, json={"access_rule": [excluded]}), 404, "3005")
    failed(await other_client.get(RULES, params={"user_id": uid}), 404, "3005")
    # The rule still holds for its own org.
    assert ok(await client.get(RULES))["access_rule"][0]["info"]["status"] == 1


async def test_arrays_are_all_or_nothing(client: OrgClient) -> None:
    good = ip_rule(0, "cidr", "10.0.0.0/8")
    bad = ip_rule(0, "cidr", "10.0.0.300/8")
    body = failed(await client.post(RULES, json={"access_rule": [good, bad]}), 400, "3001")
    assert "access_rule[1].rule.keys[0].value" in body["result"]["message"]
    assert ok(await client.get(RULES))["access_rule"] is None
    rid = (await add(client, good))[0]["info"]["id"]
    update = {"access_rule": [{"info": {"id": rid, "status": 0}}, {"info": {"id": rid + 100000}}]}
    failed(await client.put(RULES, json=update), 404, "3013")
    delete = {"access_rule": [{"info": {"id": rid}}, {"info": {"id": rid + 100000}}]}
    failed(await client.request("DELETE", RULES, json=delete), 404, "3013")
    assert ok(await client.get(RULES))["access_rule"][0]["info"]["status"] == 1


@pytest.mark.parametrize(
    ("rule", "status", "code", "field"),
    [
        ({"info": {"access_type": 2}}, 400, "3001", "access_rule[0].info.access_type"),
        ({"info": {}, "action": {"action": "8"}}, 400, "3001", "access_rule[0].action.action"),
        ({"info": {}, "action": {"action": "12"}}, 400, "3001", "access_rule[0].action.action"),
        (
            {"info": {}, "rule": {"keys": [{"name": "ip", "value": "1.2.3.4"}]}},
            400,
            "3001",
            "expression_operator",
        ),
        (
            {
                "info": {},
                "rule": {"keys": [{"name": "ip", "expression_operator": "cidr", "value": "1.2.3.4"}]},
            },
            400,
            "3002",
            "access_rule[0].info.access_type",
        ),
        ({"info": {}, "schedule": {"days_of_week": "someday"}}, 400, "3001", "schedule.days_of_week"),
        ({"info": {}, "schedule": {"start_date": "2024-02-30"}}, 400, "3001", "schedule.start_date"),
        (
            {
                "info": {"access_type": 0},
                "schedule": {"start_date": "2024-03-01", "expiry_date": "2024-02-01"},
            },
            400,
            "3001",
            "expiry_date",
        ),
        ({"info": {}, "schedule": {"time": {"start_time": "09:00"}}}, 400, "3002", "schedule.time.end_time"),
        (
            {"info": {}, "frequency": {"frequency_time": {"name": "fortnight", "value": 3}}},
            400,
            "3001",
            "name",
        ),
        ({"info": {}, "frequency": {"frequency_time": {"name": "day"}}}, 400, "3002", "frequency_time.value"),
        ({"info": {}, "excluded": [{"entity": 7}]}, 400, "3002", "excluded[0].entity_id"),
        ({"info": {"account_id": 5}}, 400, "3001", "info.account_id"),
        ({"info": {"user_id": 99999999}}, 404, "3005", "99999999"),
    ],
)
async def test_add_refuses_a_bad_rule_naming_the_field(
    client: OrgClient, rule: dict[str, Any], status: int, code: str, field: str
) -> None:
    body = failed(await client.post(RULES, json={"access_rule": [rule]}), status, code)
    assert field in body["result"]["message"]
    assert ok(await client.get(RULES))["access_rule"] is None


async def test_update_and_delete_need_the_rule_id(client: OrgClient) -> None:
    failed(await client.put(RULES, json={"access_rule": [{"info": {"status": 1}}]}), 400, "3002")
    failed(await client.request("DELETE", RULES, json={"access_rule": [{"info": {}}]}), 400, "3002")
    failed(await client.request("DELETE", RULES, json={"access_rule": []}), 400, "3002")
    failed(await client.post(RULES, json={"access_rule": []}), 400, "3002")


# --- enforcement on Update User Security ---------------------------------------------------


async def test_ip_keys_deny_and_allow(client: OrgClient) -> None:
    uid = await new_user(client)  # the test client's address is 127.0.0.1
    far = (await add(client, ip_rule(0, "cidr", "10.0.0.0/8")))[0]["info"]["id"]
    ok(await change_security(client, uid))  # a deny rule for other addresses
    near = (await add(client, ip_rule(0, "equals", "127.0.0.1")))[0]["info"]["id"]
    body = failed(await change_security(client, uid), 403, "3004")
    assert f"Access rule {near}" in body["result"]["message"] and "4321" not in str(body)
    ok(
        await client.request(
            "DELETE", RULES, json={"access_rule": [{"info": {"id": i}} for i in (far, near)]}
        )
    )
    ok(await change_security(client, uid))
    # Allow rules: the access must come from an address one of them allows.
    await add(client, ip_rule(1, "in", "10.1.2.3, 10.1.2.4"))
    failed(await change_security(client, uid), 403, "3004")
    await add(client, ip_rule(1, "cidr", "127.0.0.0/8"))
    ok(await change_security(client, uid))


async def test_a_schedule_denies_inside_or_outside_its_window(client: OrgClient) -> None:
    uid = await new_user(client)
    every_day = "mon,tue,wed,thu,fri,sat,sun"
    past = {"info": {"access_type": 0}, "action": {"action": "5"}, "schedule": {"expiry_date": "2001-01-01"}}
    await add(client, past)
    ok(await change_security(client, uid))  # the window excludes now
    now = {
        "info": {"access_type": 0},
        "action": {"action": "5"},
        "schedule": {"start_date": "2001-01-01", "expiry_date": "2099-12-31", "days_of_week": every_day},
    }
    rid = (await add(client, now))[0]["info"]["id"]
    failed(await change_security(client, uid), 403, "3004")  # the window includes now
    # Turned into an allow rule: inside its window, allowed; an allow window in the past denies.
    ok(await client.put(RULES, json={"access_rule": [{"info": {"id": rid, "access_type": 1}}]}))
    ok(await client.put(RULES, json={"access_rule": [{"info": {"id": rid, "status": 0}}]}))
    past["info"]["access_type"] = 1
    await add(client, past)
    failed(await change_security(client, uid), 403, "3004")


async def test_a_frequency_limit_counts_per_user_and_period(client: OrgClient) -> None:
    first, second = await new_user(client), await new_user(client)
    limit = {
        "info": {"notes": "twice a day"},
        "action": {"action": "5"},
        "frequency": {"calc_method": "0", "frequency_time": {"name": "day", "value": 2}},
    }
    await add(client, limit)
    ok(await change_security(client, first))
    ok(await change_security(client, first))
    r = await change_security(client, first)
    failed(r, 429, "3012")
    assert 1 <= int(r.headers["Retry-After"]) <= 86400
    ok(await change_security(client, second))  # counted per user
    # Only accesses that commit are counted (the count is in the access's own write): a
    # change that fails after the rule let it through leaves the count as it was.
    for _ in range(3):
        missing = await client.put("/user/security/99999999", json={"security": {"security_code": "1"}})
        failed(missing, 404, "3005")


async def test_exclusions_user_rules_status_and_actions(client: OrgClient) -> None:
    spared, other = await new_user(client), await new_user(client)
    deny_all = {
        "info": {"access_type": 0},
        "action": {"action": "5"},
        "excluded": [{"entity": 7, "entity_id": spared}],
    }
    await add(client, deny_all)
    ok(await change_security(client, spared))
    failed(await change_security(client, other), 403, "3004")
    held = ok(await client.get(RULES))["access_rule"]
    ids = [{"info": {"id": r["info"]["id"]}} for r in held]
    ok(await client.request("DELETE", RULES, json={"access_rule": ids}))
    # A user's own rule binds that user only.
    await add(client, {"info": {"access_type": 0, "user_id": other}, "action": {"action": "5"}})
    failed(await change_security(client, other), 403, "3004")
    ok(await change_security(client, spared))
    # Not enforced: a rule not active (status other than 1), a rule of another action, a
    # rule with a key we do not know (stored and answered, never half-enforced).
    await add(
        client,
        {"info": {"access_type": 0, "status": 3}, "action": {"action": "5"}},
        {"info": {"access_type": 0}, "action": {"action": "1"}},
        {
            "info": {"access_type": 0},
            "rule": {"keys": [{"name": "mcc", "expression_operator": "in", "value": "7775"}]},
        },
    )
    ok(await change_security(client, spared))


def test_conditions_in_detail() -> None:
    at = datetime(2024, 5, 15, 23, 30, tzinfo=UTC)  # a Wednesday
    assert in_schedule({"days_of_week": "Wednesday", "on_months": "may", "days_of_month": "15"}, at)
    assert not in_schedule({"days_of_week": "mon,tue"}, at)
    assert not in_schedule({"on_months": "01,04"}, at)
    assert in_schedule({"time": {"start_time": "22:00", "end_time": "02:00"}}, at)  # across midnight
    assert not in_schedule({"time": {"start_time": "09:00", "end_time": "17:00"}}, at)
    assert key_holds({"name": "ip", "expression_operator": "cidr", "value": "2001:db8::/32"}, "2001:db8::1")
    assert key_holds({"name": "ip", "expression_operator": "equals", "value": "10.0.0.1"}, "::ffff:10.0.0.1")
    assert not key_holds({"name": "ip", "expression_operator": "in", "value": "10.0.0.1"}, "not an address")
    start, end = window_of("week", at)
    assert (start.day, end.day, start.weekday()) == (13, 20, 0)
