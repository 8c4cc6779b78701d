"""Documents and their attachments (users/documents.py, api/user/documents.py): Create User
Document, Create Proof Of Address (POA) Document, Get User Documents, the attachment bytes
route and Inquiry User Document(s)."""

from __future__ import annotations

import asyncio
import base64
import io
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from tests.conftest import Harness, OrgClient, make_org
from tests.support import rows
from tests.users.seed004 import ENVELOPE_KEYS, assert_same_keys, request_of, response_of
from tests.users.test_users_core import USER_CONFIG, create

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


@pytest.fixture
async def client(harness: Harness) -> OrgClient:
    return await make_org(harness, USER_CONFIG)


@pytest.fixture
async def other_client(harness: Harness) -> OrgClient:
    return await make_org(harness, USER_CONFIG)


def png(colour: tuple[int, int, int] = (200, 30, 30)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 6), colour).save(out, format="PNG")
    return out.getvalue()


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def files_of(client: OrgClient, uid: int) -> list[Path]:
    root = Path(client.harness.settings.image_store) / "userDocument" / str(client.org_id) / str(uid)
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


async def documents_of(client: OrgClient, uid: int) -> list[Any]:
    db = client.harness.app.state.db
    sql = (
        "SELECT record_id FROM user_record WHERE org_id = :org_id AND customer_id = :customer_id"
        " AND kind = 'document'"
    )
    return await rows(db, sql, org_id=client.org_id, customer_id=uid)


def identification_body() -> dict[str, Any]:
    """The seed's Create User Document request (004:L4019-4095), its three JPEGs as sent."""
    return request_of("Create User Document")  # type: ignore[no-any-return]


def poa_body() -> dict[str, Any]:
    """The seed's POA request (004:L4257-4324): its content "Base64" is not base64, so the
    replay sends a real PNG and a real PDF."""
    body: dict[str, Any] = request_of("Create Proof Of Address (POA) Document")
    for index, attachment in enumerate(body["attachment"]):
        attachment["content"] = b64(png((index * 60, 90, 200)))
    body["attachment"][1].update({"file_extension": ".pdf", "content": b64(PDF)})
    return body


async def post_document(client: OrgClient, uid: int, body: dict[str, Any], **headers: str) -> Any:
    return await client.post(f"/user/document/{uid}", json=body, headers=headers)


async def test_create_user_document_replays_the_seed_and_serves_the_bytes(client: OrgClient) -> None:
    uid = (await create(client))["info"]["id"]
    r = await post_document(client, uid, identification_body(), time_zone="UTC -11:00")
    assert r.status_code == 200, r.text
    answer = r.json()
    assert list(answer) == ENVELOPE_KEYS["document"]
    assert_same_keys(answer, response_of("Create User Document"), ignore=("custom_field",))
    info = answer["info"]
    assert info["user_id"] == uid and info["program_id"] == client.org_id
    assert (info["entity"], info["entity_id"], info["type"], info["status"]) == (25, 0, 2, 1)
    assert info["first_name"] == "M." and info["number_of_attachments"] == 3
    assert answer["custom_field"] == {"custom notes": "jpg document"}
    assert all(a["content"] == "____" for a in answer["attachment"])
    assert "/9j/" not in r.text
    first = answer["attachment"][0]
    got = await client.get(first["file_url"])
    assert got.status_code == 200
    assert got.headers["content-type"] == "image/jpeg"
    assert got.headers["x-content-type-options"] == "nosniff"
    assert got.headers["cache-control"].startswith("private")
    assert got.content[:3] == b"\xff\xd8\xff"
    assert len(files_of(client, uid)) == 3
    # History: the one change log has the document (entity 26 by its kind).
    db = client.harness.app.state.db
    changes = await rows(
        db,
        "SELECT field_name FROM customer_change WHERE org_id = :org_id AND customer_id = :customer_id"
        " AND kind = 'USER_RECORD'",
        org_id=client.org_id,
        customer_id=uid,
    )
    assert [c.field_name for c in changes] == [f"document:{info['document_id']}"]


async def test_poa_document_replays_the_seed_and_pdf_bytes_come_back_exact(client: OrgClient) -> None:
    uid = (await create(client))["info"]["id"]
    r = await post_document(client, uid, poa_body())
    assert r.status_code == 200, r.text
    answer = r.json()
    assert_same_keys(answer, response_of("Create Proof Of Address (POA) Document"), ignore=("custom_field",))
    info = answer["info"]
    assert (info["entity"], info["type"]) == (15, 7)
    assert info["entity_id"] > 0  # the user's address record
    assert info["first_name"] == "Marcos"  # the user's, as the seed's POA answer shows
    pdf = await client.get(answer["attachment"][1]["file_url"])
    assert pdf.status_code == 200
    assert pdf.content == PDF and pdf.headers["content-type"] == "application/pdf"
    image = await client.get(answer["attachment"][0]["file_url"])
    assert image.headers["content-type"] == "image/png"
    with Image.open(io.BytesIO(image.content)) as img:
        assert img.size == (8, 6)


async def test_get_user_documents_and_the_inquiry(client: OrgClient, other_client: OrgClient) -> None:
    uid = (await create(client))["info"]["id"]
    ids = []
    for _ in range(3):
        r = await post_document(client, uid, poa_body())
        assert r.status_code == 200, r.text
        ids.append(r.json()["info"]["document_id"])
    got = await client.get(f"/user/document/{uid}")
    assert got.status_code == 200, got.text
    body = got.json()
    assert_same_keys(body, response_of("Get User Documents"), ignore=("custom_field",))
    assert [d["info"]["document_id"] for d in body["documents"]] == ids
    assert body["info"]["id"] == uid
    r = await client.get(
        "/user/inquiry_document",
        params={
            "start_index": 2,
            "page_size": 5,
            "user_id": uid,
            "from_date": "2000-05-05",
            "to_date": "2099-02-13",
        },
    )
    assert r.status_code == 200, r.text
    page = r.json()
    assert list(page) == ENVELOPE_KEYS["inquiry_documents"]
    assert_same_keys(page, response_of("Inquiry User Document(s)"), ignore=("custom_field",))
    assert page["result_set"]["total_records"] == 3
    assert page["result_set"]["start_index"] == 2 and page["result_set"]["page_size"] == 5
    assert [d["info"]["document_id"] for d in page["documents"]] == ids[1:]
    desc = (await client.get("/user/inquiry_document", params={"user_id": uid, "sort_flag": "desc"})).json()
    assert [d["info"]["document_id"] for d in desc["documents"]] == ids[::-1]
    one = (await client.get("/user/inquiry_document", params={"document_id": ids[0]})).json()
    assert [d["info"]["document_id"] for d in one["documents"]] == [ids[0]]
    old = (
        await client.get("/user/inquiry_document", params={"user_id": uid, "to_date": "2001/01/01"})
    ).json()
    assert old["result_set"]["total_records"] == 0
    missing = await client.get("/user/inquiry_document", params={"page_size": 5})
    assert missing.status_code == 400 and missing.json()["result"]["code"] == "3002"
    # Another org sees neither the user nor the document.
    assert (await other_client.get("/user/inquiry_document", params={"user_id": uid})).status_code == 404
    theirs = (await other_client.get("/user/inquiry_document", params={"document_id": ids[0]})).json()
    assert theirs["result_set"]["total_records"] == 0 and theirs["documents"] == []
    assert (await other_client.get(f"/user/document/{uid}")).status_code == 404


async def test_the_bytes_route_is_org_and_user_checked(client: OrgClient, other_client: OrgClient) -> None:
    uid = (await create(client))["info"]["id"]
    other_uid = (await create(client))["info"]["id"]
    answer = (await post_document(client, uid, poa_body())).json()
    file_id = answer["attachment"][1]["file_id"]
    for who, path in (
        (other_client, f"/user/document/{uid}/attachment/{file_id}"),
        (client, f"/user/document/{other_uid}/attachment/{file_id}"),
        (client, f"/user/document/{uid}/attachment/{file_id + 1000}"),
        (client, f"/user/document/{uid}/attachment/x{file_id}"),
    ):
        r = await who.get(path)
        assert r.status_code == 404, path
        assert r.json()["result"]["code"] == "3005"
        assert PDF not in r.content


@pytest.mark.parametrize(
    ("name", "extension", "content"),
    [
        ("text named .pdf", ".pdf", b64(b"just some text, not a PDF at all")),
        ("HTML as an image", ".jpg", b64(b"<html><script>alert(1)</script></html>")),
        ("a PNG header on garbage", ".png", b64(b"\x89PNG\r\n\x1a\n" + b"\x00" * 64)),
        ("a PDF with no end", ".pdf", b64(b"%PDF-1.4\n<html></html>")),
        ("the seed's placeholder", ".jpg", "Base64"),
        ("base64 with a line break", ".pdf", b64(PDF)[:8] + "\n" + b64(PDF)[8:]),
        ("base64 without its padding", ".pdf", b64(PDF).rstrip("=")),
    ],
)
async def test_spoofed_and_malformed_files_are_refused_and_nothing_is_stored(
    client: OrgClient, name: str, extension: str, content: str
) -> None:
    uid = (await create(client))["info"]["id"]
    body = poa_body()
    body["attachment"][1].update({"file_extension": extension, "content": content})
    r = await post_document(client, uid, body)
    assert r.status_code == 400, (name, r.text)
    result = r.json()["result"]
    assert result["code"] == "3001" and "attachment[1].content" in result["message"], name
    assert files_of(client, uid) == [] and await documents_of(client, uid) == []


async def test_an_oversize_file_is_refused_with_nothing_stored(client: OrgClient) -> None:
    uid = (await create(client))["info"]["id"]
    big = b"%PDF-1.4\n" + b"0" * (5 * 1024 * 1024) + b"\n%%EOF\n"
    body = poa_body()
    body["attachment"][1]["content"] = b64(big)
    r = await post_document(client, uid, body)
    assert r.status_code == 413, r.text
    assert r.json()["result"]["code"] == "3010"
    assert files_of(client, uid) == [] and await documents_of(client, uid) == []
    body["attachment"] = [
        {"file_name": f"f{i}", "file_extension": ".pdf", "content": b64(PDF)} for i in range(11)
    ]
    r = await post_document(client, uid, body)
    assert r.status_code == 400 and r.json()["result"]["code"] == "3001"
    assert files_of(client, uid) == []


async def test_validate_only_and_bad_input_write_nothing(client: OrgClient, other_client: OrgClient) -> None:
    uid = (await create(client))["info"]["id"]
    body = poa_body()
    body["validate"] = "1"
    r = await post_document(client, uid, body)
    assert r.status_code == 200, r.text
    assert r.json()["info"]["document_id"] == 0 and r.json()["validate"] == "1"
    assert files_of(client, uid) == [] and await documents_of(client, uid) == []
    cases: list[tuple[dict[str, Any], int, str]] = [
        ({**poa_body(), "info": {"language": "en", "subject": "Address"}}, 400, "3002"),
        ({**poa_body(), "info": {"type": 7, "subject": "Address", "entity": 16}}, 400, "3001"),
        ({**poa_body(), "attachment": []}, 400, "3001"),
        ({k: v for k, v in poa_body().items() if k != "attachment"}, 400, "3002"),
        (
            {**identification_body(), "info": {**identification_body()["info"], "entity_id": 999999}},
            404,
            "3005",
        ),
    ]
    for case, status, code in cases:
        r = await post_document(client, uid, case)
        assert r.status_code == status, r.text
        assert r.json()["result"]["code"] == code, r.text
    r = await post_document(other_client, uid, poa_body())
    assert r.status_code == 404 and r.json()["result"]["code"] == "3005"
    assert files_of(client, uid) == [] and await documents_of(client, uid) == []


def with_documents(name: str) -> dict[str, Any]:
    """An identification-with-document sample: its "Base64" placeholders made real files."""
    body: dict[str, Any] = request_of(name)
    for doc in body["documents"]:
        for index, attachment in enumerate(doc["attachment"]):
            attachment["content"] = b64(png((index * 70, 10, 10)))
    return body


async def test_identification_with_documents_through_the_identification_route(client: OrgClient) -> None:
    uid = (await create(client))["info"]["id"]
    body = with_documents("Add Identification With Document (Selfie)")
    r = await client.post(f"/user/identification/{uid}", json=body)
    assert r.status_code == 200, r.text
    answer = r.json()
    assert list(answer) == ENVELOPE_KEYS["identification_with_document"]
    ident = answer["identification"][0]
    (doc,) = answer["documents"]
    assert doc["result"]["code"] == "0000"
    assert (doc["info"]["entity"], doc["info"]["entity_id"], doc["info"]["status"]) == (25, ident["id"], 5)
    assert [a["is_selfie"] for a in doc["attachment"]] == [False, False, True]
    assert_same_keys(doc, response_of("Add Identification With Document (Selfie)")["documents"][0])
    assert "R691001515133" not in r.text
    selfie = await client.get(doc["attachment"][2]["file_url"])
    assert selfie.status_code == 200 and selfie.headers["content-type"] == "image/png"
    update = with_documents("Update Identification With Document")
    update["identification"][0]["id"] = ident["id"]
    r = await client.put(f"/user/identification/{uid}", json=update)
    assert r.status_code == 200, r.text
    assert r.json()["documents"][0]["info"]["entity_id"] == ident["id"]
    listed = (await client.get(f"/user/document/{uid}")).json()["documents"]
    assert [d["info"]["type"] for d in listed] == [2, 3]
    # A fake file refuses the whole request: no identification change, nothing stored.
    before = files_of(client, uid)
    bad = with_documents("Add Identification With Document")
    bad["documents"][0]["attachment"][1]["content"] = b64(b"<html></html>")
    r = await client.post(f"/user/identification/{uid}", json=bad)
    assert r.status_code == 400, r.text
    assert "documents[0].attachment[1].content" in r.json()["result"]["message"]
    assert files_of(client, uid) == before
    assert len(await documents_of(client, uid)) == 2


async def test_delete_user_erases_the_document_files(client: OrgClient) -> None:
    uid = (await create(client))["info"]["id"]
    answer = (await post_document(client, uid, poa_body())).json()
    assert len(files_of(client, uid)) == 3
    r = await client.request("DELETE", f"/user/{uid}")
    assert r.status_code == 200, r.text
    for _ in range(100):  # the erasure runs in the worker; the bytes go after its commit
        if not files_of(client, uid) and await documents_of(client, uid) == []:
            break
        await asyncio.sleep(0.1)
    else:
        raise AssertionError("the user's document files were not erased")
    assert (await client.get(answer["attachment"][1]["file_url"])).status_code == 404
