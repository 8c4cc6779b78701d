"""What every answer carries at the edge, on both engines: no sniffing, no caching of personal
data, a 405 that lists every method of the path, and errors in the v2 envelope."""

from __future__ import annotations

from tests.conftest import OrgClient
from tests.support import register_body


async def test_personal_data_is_never_cached_or_sniffed(client: OrgClient) -> None:
    created = await client.post("/v2/customers", json=register_body())
    assert created.status_code == 200
    got = await client.get(f"/v2/customers/{created.json()['createdId']}?source=ALL")
    for response in (created, got):
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["cache-control"] == "no-store"
    refused = await client.get("/v2/customers/999999999?source=ALL")
    assert refused.status_code == 404
    assert refused.headers["cache-control"] == "no-store"
    assert refused.headers["x-content-type-options"] == "nosniff"


async def test_405_lists_every_method_the_path_serves(client: OrgClient) -> None:
    response = await client.request("DELETE", "/v2/customers/lookup")
    assert response.status_code == 405
    assert {m.strip() for m in response.headers["allow"].split(",")} >= {"GET", "PUT"}
    error = response.json()["errors"][0]
    assert response.json()["warnings"] == [] and error["code"] == 405 and error["status"] is False


async def test_an_unknown_path_is_a_404_in_the_envelope(client: OrgClient) -> None:
    response = await client.get("/v2/nothing-here")
    assert response.status_code == 404
    assert response.json()["errors"][0]["code"] == 404
