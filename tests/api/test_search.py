"""Get Customers (Advanced Customer Search): prefix matches on names and identifiers."""

from __future__ import annotations

import pytest

from patron.customers import repository
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


async def test_a_broad_prefix_reads_part_of_the_index_and_says_the_total_is_a_lower_bound(
    client: OrgClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(repository, "SEARCH_SCAN", 2)
    last = token("Broad")
    ids = [
        (await client.post("/v2/customers", json=register_body(last=last))).json()["createdId"]
        for _ in range(12)
    ]
    first = (await client.get("/v2/customers/search", params={"q": last, "limit": 2})).json()
    # Four index entries per customer on the page are read: eight here, of twelve.
    assert first["pagination"] == {"limit": 2, "offset": 0, "total": 8, "totalIsExact": False}
    # A page deeper than the first read is still found, in the index's order: every
    # customer has the same term here, so by id.
    deep = (await client.get("/v2/customers/search", params={"q": last, "limit": 3, "offset": 9})).json()
    assert [d["userId"] for d in deep["data"]] == sorted(ids)[9:12]
    assert deep["pagination"]["total"] == 12 and "totalIsExact" not in deep["pagination"]


async def test_a_page_behind_many_matching_fields_per_customer_reads_on_until_it_is_found(
    client: OrgClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(repository, "SEARCH_SCAN", 2)
    stem = token("Many")
    ids = []
    for n in range(12):
        name = f"{stem}{n:02d}"
        extra = [
            {"type": "externalId", "value": f"{name}x"},
            {"type": "email", "value": f"{name}@example.com"},
            {"type": "unionId", "value": f"{name}u"},
            {"type": "line", "value": f"{name}l"},
        ]
        body = register_body(first=name, last=name, extra=extra)
        ids.append((await client.post("/v2/customers", json=body)).json()["createdId"])
    # Six matching fields per customer: the first read (4 entries per wanted customer)
    # holds fewer than ten customers, so the search reads further.
    page = (await client.get("/v2/customers/search", params={"q": stem, "limit": 2, "offset": 8})).json()
    assert [d["userId"] for d in page["data"]] == ids[8:10]
    assert len(page["data"][0]["matchedIdentifiers"]) == 6
