"""Relationships and external logins (users/relations.py): Create / Update / Delete / Get User
Relationship and Add / Update / Delete / Get User External Auth."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Harness, OrgClient, make_org
from tests.support import rows, token
from tests.users.secrets_scan import assert_no_secrets
from tests.users.seed004 import assert_same_keys, request_of, response_of
from tests.users.test_users_core import USER_CONFIG, create


@pytest.fixture
async def client(harness: Harness) -> OrgClient:
    return await make_org(harness, USER_CONFIG)


@pytest.fixture
async def other_client(harness: Harness) -> OrgClient:
    return await make_org(harness, USER_CONFIG)


async def records(client: OrgClient, uid: int, kind: str) -> list[Any]:
    sql = (
        "SELECT record_id, status, data, sealed FROM user_record WHERE org_id = :org_id"
        " AND customer_id = :customer_id AND kind = :kind"
    )
    return await rows(client.harness.app.state.db, sql, org_id=client.org_id, customer_id=uid, kind=kind)


async def history(client: OrgClient, uid: int) -> list[Any]:
    sql = (
        "SELECT field_name, previous_value, current_value FROM customer_change WHERE org_id = :org_id"
        " AND customer_id = :customer_id AND kind = 'USER_RECORD' ORDER BY change_id"
    )
    return await rows(client.harness.app.state.db, sql, org_id=client.org_id, customer_id=uid)


async def delete(client: OrgClient, url: str, body: dict[str, Any]) -> Any:
    return await client.request("DELETE", url, json=body)


async def test_relationships_replay_the_seed(client: OrgClient, other_client: OrgClient) -> None:
    me = await create(client)
    uid = me["info"]["id"]
    friend = (await create(client))["info"]["id"]
    body = request_of("Create User Relationship")  # on_entity 75 (an organization), kept as given
    body["relationship"][0]["entity_id"] = str(uid)
    body["relationship"].append({"entity": 7, "on_entity": 7, "on_entity_id": friend, "type": 4})
    r = await client.post(f"/user/relationship/{uid}", json=body)
    assert r.status_code == 200, r.text
    made = r.json()
    assert_same_keys(made, response_of("Create User Relationship"))
    org, person = made["relationship"]
    assert (org["on_entity"], org["on_entity_id"], org["type"], org["status"]) == (75, 15, 3, 1)
    assert org["entity_id"] == uid and org["entity_name"] == "Marcos Collier"
    assert org["entity_email"] == me["email"][0]["address"] and org["on_entity_name"] == ""
    assert person["on_entity_name"] == "Marcos Collier" and person["on_entity_email"].endswith("@example.com")
    update = request_of("Update User Relationship")
    update["relationship"][0]["id"] = person["id"]
    r = await client.put(f"/user/relationship/{uid}", json=update)
    assert r.status_code == 200, r.text
    changed = r.json()
    assert_same_keys(changed, response_of("Update User Relationship"))
    assert (changed["relationship"][0]["type"], changed["relationship"][0]["verification_status"]) == (7, 1)
    got = await client.get(f"/user/relationship/{uid}")
    assert got.status_code == 200
    assert_same_keys(got.json(), response_of("Get User Relationship"))
    assert [x["id"] for x in got.json()["relationship"]] == [org["id"], person["id"]]
    gone = request_of("Delete User Relationship")
    gone["relationship"][0]["id"] = org["id"]
    r = await delete(client, f"/user/relationship/{uid}", gone)
    assert r.status_code == 200, r.text
    assert_same_keys(r.json(), response_of("Delete User Relationship"))
    assert r.json()["relationship"][0] == {**dict.fromkeys(person), "id": org["id"]}
    assert [x.record_id for x in await records(client, uid, "relationship")] == [person["id"]]
    logged = [h.field_name for h in await history(client, uid)]
    # Created, created, updated, deleted.
    assert logged == [f"relationship:{i}" for i in (org["id"], person["id"], person["id"], org["id"])]
    # Another org: neither the user nor its relationship ids.
    assert (await other_client.get(f"/user/relationship/{uid}")).status_code == 404
    r = await other_client.put(f"/user/relationship/{uid}", json=update)
    assert r.status_code == 404 and r.json()["result"]["code"] == "3005"


async def test_relationship_rules(client: OrgClient, other_client: OrgClient) -> None:
    uid = (await create(client))["info"]["id"]
    stranger = (await create(other_client))["info"]["id"]
    friend = (await create(client))["info"]["id"]
    url = f"/user/relationship/{uid}"
    cases: list[tuple[dict[str, Any], int, str]] = [
        ({"relationship": [{"on_entity": 7, "on_entity_id": stranger, "type": 1}]}, 404, "3005"),
        ({"relationship": [{"on_entity": 7, "on_entity_id": uid, "type": 1}]}, 400, "3001"),
        ({"relationship": [{"on_entity": 7, "type": 1}]}, 400, "3002"),
        ({"relationship": [{"on_entity": 7, "on_entity_id": friend, "type": 12}]}, 400, "3001"),
        (
            {"relationship": [{"entity_id": friend, "on_entity": 7, "on_entity_id": friend, "type": 1}]},
            400,
            "3001",
        ),
        (
            {
                "relationship": [
                    {"on_entity": 7, "on_entity_id": friend, "type": 1},
                    {"on_entity": 7, "on_entity_id": friend, "type": 1},
                ]
            },
            409,
            "3009",
        ),
        ({"relationship": []}, 400, "3001"),
    ]
    for body, status, code in cases:
        r = await client.post(url, json=body)
        assert r.status_code == status, (body, r.text)
        assert r.json()["result"]["code"] == code, r.text
    assert await records(client, uid, "relationship") == [] and await history(client, uid) == []
    r = await client.put(url, json={"relationship": [{"id": 1, "type": 2}]})
    assert r.status_code == 404 and r.json()["result"]["code"] == "3005"


async def test_external_auth_replays_the_seed(client: OrgClient, other_client: OrgClient) -> None:
    uid = (await create(client))["info"]["id"]
    url = f"/user/external_auth/{uid}"
    login = "16447222423" + token("")[-5:].rjust(5, "0")
    # The seed's sample is validate "1": checked, nothing written, id 0.
    body = request_of("Add User External Auth")
    body["external_auth"][0]["login_id"] = login
    r = await client.post(url, json=body)
    assert r.status_code == 200, r.text
    dry = r.json()
    assert_same_keys(dry, response_of("Add User External Auth"))
    assert dry["external_auth"][0]["id"] == 0 and dry["validate"] == "1"
    assert dry["external_auth"][0]["server_date"] is None
    assert await records(client, uid, "external_auth") == [] and await history(client, uid) == []
    secret = "oauth-token-" + token("t")
    body["validate"] = "0"
    body["external_auth"][0]["token"] = secret
    r = await client.post(url, json=body)
    assert r.status_code == 200, r.text
    added = r.json()["external_auth"][0]
    assert added["id"] > 0 and added["login_id"] == login and (added["type"], added["status"]) == (3, 1)
    assert_no_secrets(r.text, [secret])
    stored = await records(client, uid, "external_auth")
    assert len(stored) == 1 and stored[0].sealed and secret not in stored[0].sealed
    assert secret not in str(await history(client, uid))
    # One (type, login_id) per org: refused for this user and for another; fine elsewhere.
    again = await client.post(url, json=body)
    assert again.status_code == 409 and again.json()["result"]["code"] == "3009"
    other_uid = (await create(client))["info"]["id"]
    r = await client.post(f"/user/external_auth/{other_uid}", json=body)
    assert r.status_code == 409
    elsewhere = (await create(other_client))["info"]["id"]
    assert (await other_client.post(f"/user/external_auth/{elsewhere}", json=body)).status_code == 200
    # Update and delete (the seed's samples), a dry run of each first.
    update = request_of("Update User External Auth")
    update["external_auth"][0]["id"] = added["id"]
    r = await client.put(url, json={**update, "validate": "1"})
    assert r.status_code == 200 and r.json()["external_auth"][0]["status"] == 2
    assert (await records(client, uid, "external_auth"))[0].status == 1
    r = await client.put(url, json=update)
    assert r.status_code == 200, r.text
    assert_same_keys(r.json(), response_of("Update User External Auth"))
    assert r.json()["external_auth"][0]["status"] == 2 and r.json()["validate"] == "0"
    got = await client.get(url)
    assert_same_keys(got.json(), response_of("Get User External Auth"))
    assert [x["login_id"] for x in got.json()["external_auth"]] == [login]
    assert_no_secrets(got.text, [secret])
    assert (await other_client.get(url)).status_code == 404
    r = await other_client.put(f"/user/external_auth/{elsewhere}", json=update)
    assert r.status_code == 404  # another org's record id
    gone = request_of("Delete User External Auth")
    gone["external_auth"][0]["id"] = added["id"]
    r = await delete(client, url, {**gone, "validate": 1})
    assert r.status_code == 200 and len(await records(client, uid, "external_auth")) == 1
    r = await delete(client, url, gone)
    assert r.status_code == 200, r.text
    assert_same_keys(r.json(), response_of("Delete User External Auth"))
    assert await records(client, uid, "external_auth") == []
    assert [h.field_name for h in await history(client, uid)] == [f"external_auth:{added['id']}"] * 3


async def test_external_auth_input_is_checked(client: OrgClient) -> None:
    uid = (await create(client))["info"]["id"]
    url = f"/user/external_auth/{uid}"
    cases: list[tuple[dict[str, Any], str]] = [
        ({"external_auth": [{"login_id": "abc", "type": 3}]}, "3001"),
        ({"external_auth": [{"login_id": "123", "type": 33}]}, "3001"),
        ({"external_auth": [{"type": 3}]}, "3002"),
        ({"external_auth": [{"login_id": "123", "type": 3}], "validate": "2"}, "3001"),
    ]
    for body, code in cases:
        r = await client.post(url, json=body)
        assert r.status_code == 400, r.text
        assert r.json()["result"]["code"] == code, r.text
    assert await records(client, uid, "external_auth") == []
