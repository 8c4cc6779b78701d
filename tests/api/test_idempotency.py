"""`Idempotency-Key` on writes, on both engines: a repeat gets the first answer and writes
nothing; a key reused for another request is refused; concurrent repeats write once."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from patron.db.base import utcnow
from patron.idempotency.service import prune_expired
from tests.conftest import OrgClient
from tests.support import codes, execute, mobile, outbox, register_body, rows


def _key(name: str) -> dict[str, str]:
    return {"Idempotency-Key": f"{name}-{mobile()}"}


async def _customers_with(client: OrgClient, number: str) -> list[int]:
    found = await rows(
        client.harness.app.state.db,
        "SELECT customer_id FROM customer_identifier WHERE org_id = :org_id AND id_type = 'mobile'"
        " AND value = :value",
        org_id=client.org_id,
        value=number,
    )
    return sorted({r.customer_id for r in found})


async def _added_events(client: OrgClient) -> int:
    return sum(
        1 for e in await outbox(client.harness, client.org_id) if e.get("eventType") == "customerAdded"
    )


async def test_a_repeated_registration_gets_the_first_answer_and_writes_nothing(client: OrgClient) -> None:
    number = mobile()
    headers = _key("reg")
    first = await client.post("/v2/customers", json=register_body(number), headers=headers)
    assert first.status_code == 200, first.text
    assert "idempotent-replayed" not in first.headers
    events = await _added_events(client)
    again = await client.post("/v2/customers", json=register_body(number), headers=headers)
    assert again.status_code == 200
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    assert await _customers_with(client, number) == [first.json()["createdId"]]
    assert await _added_events(client) == events
    # Without the key the same body is a new request, refused as a duplicate.
    plain = await client.post("/v2/customers", json=register_body(number))
    assert plain.status_code == 409 and codes(plain.json()) == [1032]


async def test_a_key_reused_for_another_request_is_refused_and_writes_nothing(client: OrgClient) -> None:
    headers = _key("reuse")
    first = await client.post("/v2/customers", json=register_body(), headers=headers)
    assert first.status_code == 200
    other = mobile()
    refused = await client.post("/v2/customers", json=register_body(other), headers=headers)
    assert refused.status_code == 409
    assert codes(refused.json()) == [409]
    assert "Idempotency-Key" in refused.json()["errors"][0]["message"]
    assert await _customers_with(client, other) == []
    # Another path with the same key is another request too.
    moved = await client.put(
        f"/v2/customers/{first.json()['createdId']}",
        json={"profiles": [{"firstName": "Ann", "source": "INSTORE"}]},
        headers=headers,
    )
    assert moved.status_code == 409


async def test_concurrent_repeats_write_once_and_all_get_the_same_answer(client: OrgClient) -> None:
    number = mobile()
    headers = _key("race")
    events = await _added_events(client)
    answers = await asyncio.gather(
        *(client.post("/v2/customers", json=register_body(number), headers=headers) for _ in range(8))
    )
    assert {a.status_code for a in answers} == {200}
    created = {a.json()["createdId"] for a in answers}
    assert len(created) == 1
    assert await _customers_with(client, number) == sorted(created)
    assert await _added_events(client) == events + 1
    assert sum(1 for a in answers if "idempotent-replayed" not in a.headers) == 1


async def test_keys_belong_to_their_org(client: OrgClient, other_client: OrgClient) -> None:
    headers = {"Idempotency-Key": f"shared-{mobile()}"}
    mine = await client.post("/v2/customers", json=register_body(), headers=headers)
    theirs = await other_client.post("/v2/customers", json=register_body(), headers=headers)
    assert mine.status_code == theirs.status_code == 200
    assert "idempotent-replayed" not in theirs.headers
    assert mine.json()["createdId"] != theirs.json()["createdId"]


async def test_updates_and_status_changes_are_idempotent_too(client: OrgClient) -> None:
    created = (await client.post("/v2/customers", json=register_body())).json()["createdId"]
    body = {"profiles": [{"firstName": "Ann", "source": "INSTORE"}]}
    headers = _key("upd")
    first = await client.put(f"/v2/customers/{created}?source=INSTORE", json=body, headers=headers)
    assert first.status_code == 200, first.text
    changes = await rows(
        client.harness.app.state.db,
        "SELECT change_id FROM customer_change WHERE org_id = :org_id AND customer_id = :cid",
        org_id=client.org_id,
        cid=created,
    )
    again = await client.put(f"/v2/customers/{created}?source=INSTORE", json=body, headers=headers)
    assert again.json() == first.json() and again.headers["idempotent-replayed"] == "true"
    after = await rows(
        client.harness.app.state.db,
        "SELECT change_id FROM customer_change WHERE org_id = :org_id AND customer_id = :cid",
        org_id=client.org_id,
        cid=created,
    )
    assert len(after) == len(changes)


async def test_a_refused_write_is_not_remembered(client: OrgClient) -> None:
    headers = _key("bad")
    bad = await client.post("/v2/customers", json={"profiles": []}, headers=headers)
    assert bad.status_code == 400
    good = await client.post("/v2/customers", json=register_body(), headers=headers)
    assert good.status_code == 200 and "idempotent-replayed" not in good.headers


@pytest.mark.parametrize("key", ["", "x" * 256, "caf\u00e9", "two words"])
async def test_a_malformed_key_is_refused(client: OrgClient, key: str) -> None:
    response = await client.post(
        "/v2/customers", json=register_body(), headers={"Idempotency-Key": key.encode()}
    )
    assert response.status_code == 400
    assert "Idempotency-Key" in response.json()["errors"][0]["message"]


async def test_a_key_past_its_day_is_new_again_and_pruned(client: OrgClient) -> None:
    db = client.harness.app.state.db
    headers = _key("old")
    first = await client.post("/v2/customers", json=register_body(), headers=headers)
    assert first.status_code == 200
    await execute(
        db,
        "UPDATE idempotency_key SET expires_at = :past WHERE org_id = :org_id AND idem_key = :key",
        past=utcnow() - timedelta(seconds=1),
        org_id=client.org_id,
        key=headers["Idempotency-Key"],
    )
    fresh = await client.post("/v2/customers", json=register_body(), headers=headers)
    assert fresh.status_code == 200 and "idempotent-replayed" not in fresh.headers
    assert fresh.json()["createdId"] != first.json()["createdId"]
    await execute(
        db,
        "UPDATE idempotency_key SET expires_at = :past WHERE org_id = :org_id AND idem_key = :key",
        past=utcnow() - timedelta(seconds=1),
        org_id=client.org_id,
        key=headers["Idempotency-Key"],
    )
    # The in-process worker prunes too (every erasure pass): whichever gets there first, the
    # key is gone, and a prune finds nothing more of it.
    await db.write(prune_expired, utcnow())
    left = await rows(
        db,
        "SELECT idem_key FROM idempotency_key WHERE org_id = :org_id AND idem_key = :key",
        org_id=client.org_id,
        key=headers["Idempotency-Key"],
    )
    assert left == []


async def test_an_answer_holding_a_secret_is_stored_sealed(client: OrgClient) -> None:
    headers = _key("hook")
    body = {"url": f"http://127.0.0.1:9/idem-{mobile()}", "events": ["customerAdded"]}
    first = await client.post("/v2/webhooks", json=body, headers=headers)
    assert first.status_code == 201, first.text
    secret = first.json()["secret"]
    again = await client.post("/v2/webhooks", json=body, headers=headers)
    assert again.status_code == 201 and again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    stored = await rows(
        client.harness.app.state.db,
        "SELECT response FROM idempotency_key WHERE org_id = :org_id AND idem_key = :key",
        org_id=client.org_id,
        key=headers["Idempotency-Key"],
    )
    assert len(stored) == 1 and secret not in str(stored[0].response)
    listed = (await client.get("/v2/webhooks")).json()["data"]
    assert sum(1 for e in listed if e["url"] == body["url"]) == 1
