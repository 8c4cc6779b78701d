"""Get Customers (Advanced Customer Search): prefix matches on names and identifiers."""

from __future__ import annotations

from tests.conftest import OrgClient
from tests.support import codes, register_body, token


async def test_search_matches_name_prefixes_case_insensitively(client: OrgClient) -> None:
    first = token("Zed")
    ids = {
        (await client.post("/v2/customers", json=register_body(first=first))).json()["createdId"]
        for _ in range(3)
    }
    r = await client.get("/v2/customers/search", params={"q": first[:6].lower(), "limit": 10})
    assert r.status_code == 200
    body = r.json()
    assert body["pagination"] == {"limit": 10, "offset": 0, "total": 3}
    assert {d["userId"] for d in body["data"]} == ids
    hit = body["data"][0]
    assert hit["matchedIdentifiers"][0] == {
        "idType": "firstName",
        "idValue": first,
        "source": "INSTORE",
        "accountId": "",
    }
    assert hit["profiles"][0]["firstName"] == first and hit["profiles"][0]["source"] == "INSTORE"
    assert body["warnings"] == [] and body["errors"] == []


async def test_search_matches_identifier_prefixes_but_not_substrings(client: OrgClient) -> None:
    body = register_body(extra=[{"type": "externalId", "value": token("QX")}])
    number = body["profiles"][0]["identifiers"][0]["value"]
    cid = (await client.post("/v2/customers", json=body)).json()["createdId"]
    found = (await client.get("/v2/customers/search", params={"q": number[:10]})).json()
    assert cid in {d["userId"] for d in found["data"]}
    assert any(m["idType"] == "mobile" for d in found["data"] for m in d["matchedIdentifiers"])
    inner = (await client.get("/v2/customers/search", params={"q": number[3:]})).json()
    assert cid not in {d["userId"] for d in inner["data"]}


async def test_search_pages_with_limit_and_offset(client: OrgClient) -> None:
    last = token("Pager")
    for _ in range(5):
        await client.post("/v2/customers", json=register_body(last=last))
    pages = []
    for offset in (0, 2, 4):
        page = (
            await client.get("/v2/customers/search", params={"q": last, "limit": 2, "offset": offset})
        ).json()
        assert page["pagination"]["total"] == 5
        pages.extend(d["userId"] for d in page["data"])
    assert len(pages) == len(set(pages)) == 5


async def test_search_follows_renames(client: OrgClient) -> None:
    old, new = token("Oldname"), token("Newname")
    cid = (await client.post("/v2/customers", json=register_body(first=old))).json()["createdId"]
    await client.put(
        f"/v2/customers/{cid}", params={"source": "INSTORE"}, json={"profiles": [{"firstName": new}]}
    )
    assert (await client.get("/v2/customers/search", params={"q": old})).json()["pagination"]["total"] == 0
    assert (await client.get("/v2/customers/search", params={"q": new})).json()["data"][0]["userId"] == cid


async def test_bad_search_parameters_are_400(client: OrgClient) -> None:
    for params in (
        {},
        {"q": ""},
        {"q": "a", "limit": "0"},
        {"q": "a", "limit": "1000"},
        {"q": "a", "limit": "ten"},
        {"q": "a", "offset": "-1"},
    ):
        r = await client.get("/v2/customers/search", params=params)
        assert r.status_code == 400, params
        assert codes(r.json()) == [400]
