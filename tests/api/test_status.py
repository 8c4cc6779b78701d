"""Update customer status (seed 003, PUT /v2/customers/lookup/status)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.conftest import OrgClient
from tests.support import codes, history, mobile, outbox, register_body


async def register(client: OrgClient) -> tuple[int, str]:
    number = mobile()
    r = await client.post("/v2/customers", json=register_body(number))
    assert r.status_code == 200, r.text
    return r.json()["createdId"], number


async def set_status(client: OrgClient, number: str, body: dict[str, Any]) -> httpx.Response:
    params = {"source": "INSTORE", "identifierName": "mobile", "identifierValue": number}
    return await client.put("/v2/customers/lookup/status", params=params, json=body)


async def status_of(client: OrgClient, cid: int) -> dict[str, Any]:
    r = await client.get(f"/v2/customers/{cid}", params={"source": "INSTORE"})
    assert r.status_code == 200, r.text
    return r.json()["status"]


async def test_status_change_answers_the_seed_body_and_is_stored(client: OrgClient) -> None:
    cid, number = await register(client)
    assert await status_of(client, cid) == {"label": "Active"}
    r = await set_status(
        client,
        number,
        {"reason": "moved abroad", "label": "Inactive", "createdOn": "2021-09-16T12:10:45Z"},
    )
    assert r.status_code == 200, r.text
    assert r.json() == {"warnings": [], "error": []}
    assert await status_of(client, cid) == {"label": "Inactive"}


async def test_status_change_writes_customer_updated_with_the_status(client: OrgClient) -> None:
    cid, number = await register(client)
    before = len(await history(client.harness, client.org_id, cid))
    assert (
        await set_status(client, number, {"reason": "moved abroad", "label": "Inactive"})
    ).status_code == 200
    events = await outbox(client.harness, client.org_id)
    assert [e["eventType"] for e in events] == ["customerAdded", "customerUpdated"]
    data = events[-1]["attributes"]["data"]
    assert data["customerStatus"] == {
        "previousLabel": "Active",
        "currentLabel": "Inactive",
        "reason": "moved abroad",
    }
    assert data["updatedFields"] == []
    assert data["customerIdentifiers"]["customerId"] == cid
    rows = (await history(client.harness, client.org_id, cid))[before:]
    assert [(h.field_name, h.previous_value, h.current_value, h.source) for h in rows] == [
        ("status", "Active", "Inactive", "INSTORE")
    ]


@pytest.mark.parametrize("given", ["inactive", "INACTIVE", " Inactive "])
async def test_label_is_matched_case_insensitively(client: OrgClient, given: str) -> None:
    cid, number = await register(client)
    r = await set_status(client, number, {"reason": "r", "label": given})
    assert r.status_code == 200, r.text
    assert await status_of(client, cid) == {"label": "Inactive"}


@pytest.mark.parametrize(
    "body",
    [
        {"reason": "r", "label": "Suspended"},
        {"reason": "r"},
        {"label": "Inactive"},
        {"reason": "  ", "label": "Inactive"},
    ],
)
async def test_unknown_label_or_missing_reason_is_400_and_changes_nothing(
    client: OrgClient, body: dict[str, Any]
) -> None:
    cid, number = await register(client)
    r = await set_status(client, number, body)
    assert r.status_code == 400 and codes(r.json()) == [400]
    assert await status_of(client, cid) == {"label": "Active"}
    assert len(await outbox(client.harness, client.org_id)) == 1


async def test_setting_the_current_label_again_writes_no_event(client: OrgClient) -> None:
    cid, number = await register(client)
    r = await set_status(client, number, {"reason": "no change", "label": "Active"})
    assert r.status_code == 200 and r.json() == {"warnings": [], "error": []}
    assert len(await outbox(client.harness, client.org_id)) == 1
    assert await status_of(client, cid) == {"label": "Active"}


async def test_unknown_customer_is_8015(client: OrgClient) -> None:
    r = await set_status(client, mobile(), {"reason": "r", "label": "Inactive"})
    assert r.status_code == 404 and codes(r.json()) == [8015]
