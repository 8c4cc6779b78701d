"""Set Customer Image, Get Customer Image (embed=CUSTOMERIMAGE) and the image bytes route, on
both engines; the image store interface and its configuration (engagement/images.py,
engagement/image_store.py, docs/engagement.md)."""

from __future__ import annotations

import asyncio
import hashlib
import io
import os
import re
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image, PngImagePlugin

from patron.engagement.image_store import (
    FileImageStore,
    ImageStoreError,
    S3ImageStore,
    S3Location,
    open_store,
    parse_s3_url,
)
from patron.security.ratelimit import GET_IMAGE, SET_IMAGE
from tests.api.seedtext import SEED_003, assert_shape, seed_json, seed_line
from tests.conftest import CONFIG, Harness, OrgClient, make_org
from tests.loyalty.test_partners import merged_customer
from tests.support import codes, register_body, rows

SECRETS = (b"SpyCam Maker", b"SECRET-XMP", b"SECRET-TEXT", b"Exif")
XMP = '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF>SECRET-XMP</rdf:RDF></x:xmpmeta>'
HANDLE = "[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"


def exif(orientation: int = 1) -> bytes:
    """EXIF with a camera maker, an orientation and a GPS position."""
    data = Image.Exif()
    data[0x010F] = "SpyCam Maker"
    data[0x0112] = orientation
    gps = data.get_ifd(0x8825)
    gps[1], gps[2], gps[3], gps[4] = "N", (51.0, 30.0, 12.5), "W", (0.0, 7.0, 39.0)
    return data.tobytes()


def picture(fmt: str, size: tuple[int, int] = (64, 48), *, orientation: int = 1, mode: str = "RGB") -> bytes:
    """An image in `fmt` carrying EXIF (with GPS), XMP and, for PNG, a text chunk."""
    image = Image.new(mode, size, (200, 30, 30) if mode == "RGB" else 0)
    out = io.BytesIO()
    options: dict[str, Any] = {"exif": exif(orientation)}
    if fmt == "PNG":
        info = PngImagePlugin.PngInfo()
        info.add_text("Comment", "SECRET-TEXT")
        info.add_itxt("XML:com.adobe.xmp", XMP)
        options["pnginfo"] = info
    else:
        options["xmp"] = XMP.encode()
    image.save(out, fmt, **options)
    data = out.getvalue()
    assert all(secret in data for secret in SECRETS[:2]), "the upload carries its metadata"
    return data


def noise(size: int) -> bytes:
    """A PNG of about `size` bytes that does not compress (random pixels)."""
    side = int((size / 3) ** 0.5) + 1
    out = io.BytesIO()
    Image.frombytes("RGB", (side, side), os.urandom(side * side * 3)).save(out, "PNG")
    return out.getvalue()


async def new_customer(client: OrgClient) -> int:
    r = await client.post("/v2/customers", json=register_body())
    assert r.status_code == 200, r.text
    return int(r.json()["createdId"])


async def upload(
    client: OrgClient,
    cid: int | str,
    data: bytes,
    name: str = "photo.jpg",
    content_type: str = "image/jpeg",
    **kwargs: Any,
) -> Any:
    return await client.post(
        f"/v2/customers/{cid}/setImage", files={"file": (name, data, content_type)}, **kwargs
    )


def store_root(harness: Harness) -> Path:
    return Path(harness.settings.image_store)


def stored_files(harness: Harness, org_id: int, cid: int) -> list[Path]:
    folder = store_root(harness) / "customerImage" / str(org_id) / str(cid)
    return sorted(p for p in folder.glob("*") if p.is_file()) if folder.exists() else []


async def image_rows(client: OrgClient, cid: int) -> list[Any]:
    return await rows(
        client.harness.app.state.db,
        "SELECT version, file_handle, storage_key, content_type, byte_size, sha256, width, height"
        " FROM customer_image WHERE org_id = :o AND customer_id = :c ORDER BY version",
        o=client.org_id,
        c=cid,
    )


def bytes_path(cid: int, handle: str) -> str:
    return f"/v2/customers/{cid}/images/{handle}"


# Set Customer Image --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fmt", "media"), [("JPEG", "image/jpeg"), ("PNG", "image/png"), ("WEBP", "image/webp")]
)
async def test_jpeg_png_and_webp_are_stored_without_their_metadata(
    client: OrgClient, fmt: str, media: str
) -> None:
    cid = await new_customer(client)
    sent = picture(fmt)
    r = await upload(client, cid, sent, name=f"me.{fmt.lower()}", content_type=media)
    assert r.status_code == 200, r.text
    body = r.json()
    assert_shape(body, seed_json(SEED_003, 3782, 3802))
    assert set(body) == {"data", "warnings", "errors"} and body["warnings"] == body["errors"] == []
    (item,) = body["data"]
    assert {k: item[k] for k in ("code", "message", "status")} == {
        "code": 200,
        "message": "Successfully uploaded file",
        "status": "true",
    }
    file = item["file"]
    assert set(file) == set(seed_json(SEED_003, 3782, 3802)["data"][0]["file"])
    assert file["acl"] == "PRIVATE" and file["namespace"] == "customerImage"
    assert file["name"] == f"{client.org_id}/{cid}/0"
    assert file["version"] == file["latestVersion"] == 1
    assert file["s3Token"].startswith(f"customerImage/{client.org_id}/{cid}/")
    assert re.fullmatch(HANDLE, file["fileHandle"])
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", file["lastModified"])
    (row,) = await image_rows(client, cid)
    assert (row.version, row.file_handle, row.storage_key, row.content_type) == (
        1,
        file["fileHandle"],
        file["s3Token"],
        media,
    )
    (path,) = stored_files(client.harness, client.org_id, cid)
    kept = path.read_bytes()
    assert path.relative_to(store_root(client.harness)).as_posix() == file["s3Token"]
    assert row.byte_size == len(kept) and row.sha256 == hashlib.sha256(kept).hexdigest()
    for secret in SECRETS:
        assert secret not in kept, secret
    with Image.open(io.BytesIO(kept)) as image:
        assert image.format == fmt and image.size == (64, 48) == (row.width, row.height)
        assert dict(image.getexif()) == {}
        assert not {"exif", "xmp", "Comment", "XML:com.adobe.xmp"} & set(image.info)
        assert image.convert("RGB").getpixel((10, 10)) == pytest.approx((200, 30, 30), abs=8)


async def test_the_exif_orientation_is_applied_before_it_is_dropped(client: OrgClient) -> None:
    cid = await new_customer(client)
    r = await upload(client, cid, picture("JPEG", (64, 48), orientation=6))
    assert r.status_code == 200, r.text
    (path,) = stored_files(client.harness, client.org_id, cid)
    with Image.open(path) as image:
        assert image.size == (48, 64) and dict(image.getexif()) == {}


async def test_the_type_comes_from_the_bytes_not_the_name_or_content_type(client: OrgClient) -> None:
    cid = await new_customer(client)
    png = picture("PNG")
    r = await upload(client, cid, png, name="photo.gif", content_type="text/plain")
    assert r.status_code == 200, r.text
    assert r.json()["data"][0]["file"]["version"] == 1
    (row,) = await image_rows(client, cid)
    assert row.content_type == "image/png"
    got = await client.get(bytes_path(cid, row.file_handle))
    assert got.headers["content-type"] == "image/png"


def _gif() -> bytes:
    out = io.BytesIO()
    Image.new("P", (8, 8)).save(out, "GIF")
    return out.getvalue()


SPOOFS = {
    "text": (b"just some text, honestly a jpeg", 2181),
    "html": (b"<!doctype html><html><script>alert(1)</script></html>", 2181),
    "svg": (b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>', 2181),
    "pdf": (b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF", 2181),
    "gif": (_gif(), 2181),
    "empty": (b"", 2181),
    "png header then garbage": (b"\x89PNG\r\n\x1a\n" + b"\x00garbage" * 50, 2182),
    "jpeg header then garbage": (b"\xff\xd8\xff\xe0" + os.urandom(300), 2182),
    "webp header then garbage": (b"RIFF\x40\x00\x00\x00WEBPVP8 " + b"\x01" * 60, 2182),
    "truncated jpeg": (picture("JPEG", (300, 200))[:-400], 2182),
    "truncated png": (noise(3000)[:-200], 2182),
}


@pytest.mark.parametrize("kind", list(SPOOFS))
async def test_a_file_that_only_claims_to_be_an_image_is_refused(client: OrgClient, kind: str) -> None:
    cid = await new_customer(client)
    data, code = SPOOFS[kind]
    r = await upload(client, cid, data, name="photo.jpg", content_type="image/jpeg")
    assert r.status_code == 400, r.text
    assert codes(r.json()) == [code]
    assert await image_rows(client, cid) == []
    assert stored_files(client.harness, client.org_id, cid) == []


@pytest.mark.parametrize("size", [(7000, 6000), (12000, 10000)])
async def test_a_decompression_bomb_is_refused(client: OrgClient, size: tuple[int, int]) -> None:
    cid = await new_customer(client)
    out = io.BytesIO()
    Image.new("1", size).save(out, "PNG")  # tens of megapixels in a few kilobytes
    assert len(out.getvalue()) < 100_000
    r = await upload(client, cid, out.getvalue(), name="bomb.png", content_type="image/png")
    assert r.status_code == 400, r.text
    assert codes(r.json()) == [2183]
    assert "40000000" in r.json()["errors"][0]["message"]
    assert await image_rows(client, cid) == []


async def test_an_animated_image_is_refused(client: OrgClient) -> None:
    cid = await new_customer(client)
    out = io.BytesIO()
    frames = [Image.new("RGB", (16, 16), c) for c in ((255, 0, 0), (0, 255, 0))]
    frames[0].save(out, "WEBP", save_all=True, append_images=frames[1:])
    r = await upload(client, cid, out.getvalue(), content_type="image/webp")
    assert r.status_code == 400 and codes(r.json()) == [2182], r.text


@pytest.fixture
async def small_limit(harness: Harness) -> OrgClient:
    return await make_org(harness, {**CONFIG, "imageMaxBytes": 4096})


async def test_an_image_over_the_limit_is_refused_and_nothing_is_stored(small_limit: OrgClient) -> None:
    client = small_limit
    cid = await new_customer(client)
    big = noise(6000)
    assert len(big) > 4096
    r = await upload(client, cid, big, content_type="image/png")
    assert r.status_code == 413, r.text
    assert codes(r.json()) == [2180] and "4096" in r.json()["errors"][0]["message"]
    assert await image_rows(client, cid) == []
    assert stored_files(client.harness, client.org_id, cid) == []
    fits = picture("PNG")
    assert (await upload(client, cid, fits, content_type="image/png")).status_code == 200


async def test_an_oversized_body_without_a_length_is_cut_off_while_streaming(small_limit: OrgClient) -> None:
    client = small_limit
    cid = await new_customer(client)
    boundary = "b" + uuid.uuid4().hex
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.png"\r\n'
        "Content-Type: image/png\r\n\r\n"
    ).encode()
    sent = []

    async def body() -> AsyncIterator[bytes]:
        yield head
        for _ in range(100):  # 100 KiB offered; the server stops reading past 4 KiB + framing
            sent.append(1)
            yield b"\x89PNG" + b"\x00" * 1020
        yield f"\r\n--{boundary}--\r\n".encode()

    r = await client.post(
        f"/v2/customers/{cid}/setImage",
        content=body(),
        headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
    )
    assert r.status_code == 413, r.text
    assert codes(r.json()) == [2180]
    assert len(sent) < 100
    assert await image_rows(client, cid) == []


async def test_the_file_field_is_required(client: OrgClient) -> None:
    cid = await new_customer(client)
    png = picture("PNG")
    r = await client.post(f"/v2/customers/{cid}/setImage", files={"image": ("a.png", png, "image/png")})
    assert r.status_code == 400 and codes(r.json()) == [2184], r.text
    r = await client.post(f"/v2/customers/{cid}/setImage", data={"file": "not a file"})
    assert r.status_code == 400 and codes(r.json()) == [2184], r.text  # urlencoded, not multipart
    r = await client.post(f"/v2/customers/{cid}/setImage", json={"file": "x"})
    assert r.status_code == 400 and codes(r.json()) == [2184], r.text
    r = await client.post(
        f"/v2/customers/{cid}/setImage",
        content=b'--x\r\nContent-Disposition: form-data; name="file"\r\n\r\nabc',
        headers={"Content-Type": "multipart/form-data; boundary=x"},
    )
    assert r.status_code == 400 and codes(r.json()) == [2184], r.text  # no closing boundary
    two = [("file", ("a.png", png, "image/png")), ("file", ("b.png", png, "image/png"))]
    r = await client.post(f"/v2/customers/{cid}/setImage", files=two)
    assert r.status_code == 400 and codes(r.json()) == [2184], r.text
    assert await image_rows(client, cid) == []


async def test_other_fields_beside_file_are_ignored(client: OrgClient) -> None:
    cid = await new_customer(client)
    r = await client.post(
        f"/v2/customers/{cid}/setImage",
        data={"note": "hello"},
        files={"file": ("a.png", picture("PNG"), "image/png")},
    )
    assert r.status_code == 200, r.text


async def test_each_upload_is_a_new_version(client: OrgClient) -> None:
    cid = await new_customer(client)
    first = (await upload(client, cid, picture("JPEG"))).json()["data"][0]["file"]
    second = (await upload(client, cid, picture("PNG"), content_type="image/png")).json()["data"][0]["file"]
    third = (await upload(client, cid, picture("WEBP"), content_type="image/webp")).json()["data"][0]["file"]
    assert [f["version"] for f in (first, second, third)] == [1, 2, 3]
    assert [f["latestVersion"] for f in (first, second, third)] == [1, 2, 3]
    assert len({f["fileHandle"] for f in (first, second, third)}) == 3
    assert len({f["s3Token"] for f in (first, second, third)}) == 3
    assert {f["name"] for f in (first, second, third)} == {f"{client.org_id}/{cid}/0"}
    assert [r.version for r in await image_rows(client, cid)] == [1, 2, 3]
    assert len(stored_files(client.harness, client.org_id, cid)) == 3
    # An earlier version stays readable by its handle.
    old = await client.get(bytes_path(cid, first["fileHandle"]))
    assert old.status_code == 200 and old.headers["content-type"] == "image/jpeg"


async def test_an_idempotent_replay_answers_the_same_and_keeps_one_version(client: OrgClient) -> None:
    cid = await new_customer(client)
    png = picture("PNG")
    headers = {"Idempotency-Key": f"img-{uuid.uuid4()}"}
    first = await upload(client, cid, png, content_type="image/png", headers=headers)
    again = await upload(client, cid, png, content_type="image/png", headers=headers)
    assert first.status_code == again.status_code == 200, again.text
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert again.json() == first.json()
    assert len(await image_rows(client, cid)) == 1
    assert len(stored_files(client.harness, client.org_id, cid)) == 1  # the replay's bytes deleted


async def test_an_unknown_or_merged_customer_is_not_found_and_nothing_is_stored(client: OrgClient) -> None:
    png = picture("PNG")
    for cid in (99_999_999_999, "abc"):
        r = await upload(client, cid, png, content_type="image/png")
        assert r.status_code == 404 and codes(r.json()) == [8015], r.text
    victim, survivor = await merged_customer(client)
    r = await upload(client, victim, png, content_type="image/png")
    assert r.status_code == 404 and codes(r.json()) == [8069], r.text
    assert stored_files(client.harness, client.org_id, 99_999_999_999) == []
    assert stored_files(client.harness, client.org_id, victim) == []
    assert (await upload(client, survivor, png, content_type="image/png")).status_code == 200


# Get Customer Image (embed=CUSTOMERIMAGE) and the bytes --------------------------------------


async def test_get_customer_image_answers_the_seed_sample_key_for_key(client: OrgClient) -> None:
    cid = await new_customer(client)
    await upload(client, cid, picture("JPEG"))
    latest = (await upload(client, cid, picture("PNG"), content_type="image/png")).json()["data"][0]["file"]
    request = seed_line(SEED_003, 3839)
    assert "?embed=CUSTOMERIMAGE&source=INSTORE&accountId" in request
    r = await client.get(f"/v2/customers/{cid}?embed=CUSTOMERIMAGE&source=INSTORE&accountId")
    assert r.status_code == 200, r.text
    body = r.json()
    sample = seed_json(SEED_003, 3846, 3980)
    # Fetch Customer Details by user id answers associatedWith only by identifier (the
    # rest of the record is Fetch Customer Details', tested with it).
    assert_shape(body, sample, known={"$.associatedWith: missing": "by-identifier field"})
    (item,) = body["customerImage"]
    (seed_item,) = sample["customerImage"]
    assert set(item) == set(seed_item) and set(item["file"]) == set(seed_item["file"])
    assert item["file"] == latest
    assert (item["code"], item["message"], item["status"]) == (200, "Success", "true")
    url = f"http://patron.test{bytes_path(cid, latest['fileHandle'])}"
    assert item["filePath"] == item["secureFilePath"] == url


async def test_the_embed_is_empty_before_an_upload_and_refused_when_unknown(client: OrgClient) -> None:
    cid = await new_customer(client)
    r = await client.get(f"/v2/customers/{cid}", params={"source": "INSTORE", "embed": "CUSTOMERIMAGE"})
    assert r.status_code == 200 and r.json()["customerImage"] == [], r.text
    r = await client.get(f"/v2/customers/{cid}", params={"source": "INSTORE"})
    assert r.status_code == 200 and "customerImage" not in r.json()
    r = await client.get(f"/v2/customers/{cid}", params={"source": "INSTORE", "embed": "customerimage"})
    assert r.status_code == 400 and codes(r.json()) == [400]


async def test_the_embed_is_also_answered_by_identifier(client: OrgClient) -> None:
    number = register_body()["profiles"][0]["identifiers"][0]["value"]
    r = await client.post("/v2/customers", json=register_body(number))
    cid = r.json()["createdId"]
    file = (await upload(client, cid, picture("PNG"), content_type="image/png")).json()["data"][0]["file"]
    r = await client.get(
        "/v2/customers/lookup/customerDetails",
        params={
            "source": "INSTORE",
            "identifierName": "mobile",
            "identifierValue": number,
            "embed": "CUSTOMERIMAGE",
        },
    )
    assert r.status_code == 200, r.text
    assert r.json()["customerImage"][0]["file"] == file


async def test_the_bytes_route_serves_the_stored_bytes_with_safe_headers(client: OrgClient) -> None:
    cid = await new_customer(client)
    file = (await upload(client, cid, picture("WEBP"), content_type="image/webp")).json()["data"][0]["file"]
    (path,) = stored_files(client.harness, client.org_id, cid)
    r = await client.get(bytes_path(cid, file["fileHandle"]))
    assert r.status_code == 200
    assert r.content == path.read_bytes()
    assert r.headers["content-type"] == "image/webp"
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["cache-control"].startswith("private")
    etag = r.headers["etag"]
    assert etag == f'"{hashlib.sha256(r.content).hexdigest()}"'
    again = await client.get(bytes_path(cid, file["fileHandle"]), headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    assert again.headers["etag"] == etag
    unauthenticated = await client.harness.http.get(bytes_path(cid, file["fileHandle"]))
    assert unauthenticated.status_code == 401


async def test_images_are_private_to_their_org(client: OrgClient, other_client: OrgClient) -> None:
    cid = await new_customer(client)
    file = (await upload(client, cid, picture("PNG"), content_type="image/png")).json()["data"][0]["file"]
    unknown = await client.get(bytes_path(cid, str(uuid.uuid4())))
    assert unknown.status_code == 404 and codes(unknown.json()) == [2185]
    # Another org: the handle, the customer and the embed are not found, as if unknown.
    r = await other_client.get(bytes_path(cid, file["fileHandle"]))
    assert r.status_code == 404 and r.json() == unknown.json()
    r = await other_client.get(f"/v2/customers/{cid}", params={"source": "INSTORE", "embed": "CUSTOMERIMAGE"})
    assert r.status_code == 404 and codes(r.json()) == [8015]
    r = await upload(other_client, cid, picture("PNG"), content_type="image/png")
    assert r.status_code == 404 and codes(r.json()) == [8015]
    assert stored_files(client.harness, other_client.org_id, cid) == []
    # The other org's own customer with our handle: not found either.
    theirs = await new_customer(other_client)
    r = await other_client.get(bytes_path(theirs, file["fileHandle"]))
    assert r.status_code == 404 and r.json() == unknown.json()
    # Another customer of the same org, or a handle that is no handle: the same answer.
    mine = await new_customer(client)
    for path in (
        bytes_path(mine, file["fileHandle"]),
        bytes_path(cid, file["s3Token"].rsplit("/", 1)[1]),
        bytes_path(cid, file["fileHandle"].upper()),
        bytes_path("abc", file["fileHandle"]),
    ):
        r = await client.get(path)
        assert r.status_code == 404 and r.json() == unknown.json(), path
    # Encoded slashes never reach the route (the path no longer matches it): 404 all the same.
    for path in (bytes_path(cid, "..%2F..%2F..%2Fsecret.key"), bytes_path(cid, "..") + "%2Fpatron.db"):
        r = await client.get(path)
        assert r.status_code == 404 and r.headers["content-type"].startswith("application/json"), path
    assert (await client.get(bytes_path(cid, file["fileHandle"]))).status_code == 200


# Rate limits ---------------------------------------------------------------------------------


async def test_set_and_get_customer_image_are_rate_limited(harness: Harness) -> None:
    client = await make_org(harness, {**CONFIG, "rateLimitsPerHour": {SET_IMAGE: 2, GET_IMAGE: 1}})
    cid = await new_customer(client)
    png = picture("PNG")
    assert (await upload(client, cid, png, content_type="image/png")).status_code == 200
    assert (await upload(client, 99_999_999_999, png, content_type="image/png")).status_code == 404
    r = await upload(client, cid, png, content_type="image/png")
    assert r.status_code == 429 and codes(r.json()) == [2120], r.text
    assert int(r.headers["Retry-After"]) >= 1
    assert len(await image_rows(client, cid)) == 1
    # Fetch Customer Details without the image embed is not Get Customer Image: not counted.
    for _ in range(3):
        assert (await client.get(f"/v2/customers/{cid}", params={"source": "INSTORE"})).status_code == 200
        assert (
            await client.get(f"/v2/customers/{cid}", params={"source": "INSTORE", "embed": "points"})
        ).status_code == 200
    assert (
        await client.get(f"/v2/customers/{cid}", params={"source": "INSTORE", "embed": "CUSTOMERIMAGE"})
    ).status_code == 200
    r = await client.get(
        f"/v2/customers/{cid}", params={"source": "INSTORE", "embed": "points,CUSTOMERIMAGE"}
    )
    assert r.status_code == 429 and codes(r.json()) == [2120], r.text
    assert (await client.get(f"/v2/customers/{cid}", params={"source": "INSTORE"})).status_code == 200


async def test_the_image_limit_is_an_org_setting_with_bounds(client: OrgClient) -> None:
    r = await client.get("/v2/org/config")
    assert r.status_code == 200 and r.json()["imageMaxBytes"] == 5 * 1024 * 1024
    for bad in (10, 21 * 1024 * 1024, "big"):
        r = await client.put("/v2/org/config", json={**r.json(), "imageMaxBytes": bad})
        assert r.status_code == 400, r.text
        assert "imageMaxBytes" in r.text
        r = await client.get("/v2/org/config")


# The image store -----------------------------------------------------------------------------


async def test_the_file_store_puts_gets_and_deletes_by_key(tmp_path: Path) -> None:
    store = FileImageStore(tmp_path / "images")
    key = f"customerImage/1/2/{uuid.uuid4()}"
    assert await store.get(key) is None
    await store.put(key, b"first", "image/png")
    await store.put(key, b"second", "image/png")  # a put replaces
    assert await store.get(key) == b"second"
    assert (tmp_path / "images" / key).read_bytes() == b"second"
    assert [p.name for p in (tmp_path / "images" / "customerImage/1/2").iterdir()] == [key.rsplit("/")[-1]]
    await store.delete(key)
    await store.delete(key)  # deleting what is not there is no error
    assert await store.get(key) is None


@pytest.mark.parametrize(
    "key",
    ["", "../secret.key", "a/../../b", "/etc/passwd", "a//b", "a/b/", "a\\b", "a/./b", "a b", "é", "a/" * 11],
)
async def test_the_file_store_refuses_keys_that_could_leave_its_directory(tmp_path: Path, key: str) -> None:
    store = FileImageStore(tmp_path / "images")
    with pytest.raises(ImageStoreError):
        await store.put(key, b"x", "image/png")
    with pytest.raises(ImageStoreError):
        await store.get(key)
    assert not (tmp_path / "secret.key").exists()


def test_open_store_chooses_the_implementation_from_the_setting(tmp_path: Path) -> None:
    plain = open_store(str(tmp_path / "a"))
    assert isinstance(plain, FileImageStore) and plain.root == tmp_path / "a"
    url = open_store(f"file://{tmp_path}/b")
    assert isinstance(url, FileImageStore) and url.root == tmp_path / "b"
    env = {"AWS_ACCESS_KEY_ID": "AKIAEXAMPLE", "AWS_SECRET_ACCESS_KEY": "secret"}
    s3 = open_store("s3://patron-images/prod?endpoint=http://127.0.0.1:9000", env)
    assert isinstance(s3, S3ImageStore)
    assert s3.location == S3Location("patron-images", "prod/", "127.0.0.1:9000", False, None)
    for bad in ("", "ftp://host/x", "file://otherhost/x"):
        with pytest.raises(ImageStoreError):
            open_store(bad, env)
    with pytest.raises(ImageStoreError, match="AWS_ACCESS_KEY_ID"):
        open_store("s3://patron-images", {})


def test_s3_urls_name_bucket_prefix_endpoint_and_region() -> None:
    env: dict[str, str] = {}
    assert parse_s3_url("s3://patron-images", env) == S3Location(
        "patron-images", "", "s3.amazonaws.com", True, None
    )
    assert parse_s3_url(
        "s3://media.example/customers/images/?endpoint=https://minio.internal:9000&region=eu-west-1", env
    ) == S3Location("media.example", "customers/images/", "minio.internal:9000", True, "eu-west-1")
    r2 = "s3://photos?endpoint=https://0123abcd.r2.cloudflarestorage.com&region=auto"
    assert parse_s3_url(r2, env).host == "0123abcd.r2.cloudflarestorage.com"
    from_env = {"AWS_ENDPOINT_URL": "http://ceph:7480", "AWS_DEFAULT_REGION": "us-east-1"}
    assert parse_s3_url("s3://photos", from_env) == S3Location("photos", "", "ceph:7480", False, "us-east-1")
    assert parse_s3_url("s3://photos", {**from_env, "AWS_ENDPOINT_URL_S3": "https://s3.x"}).host == "s3.x"
    location = parse_s3_url("s3://photos/p", env)
    assert location.object_name("customerImage/1/2/k") == "p/customerImage/1/2/k"
    with pytest.raises(ImageStoreError):
        location.object_name("../../other-bucket/x")


@pytest.mark.parametrize(
    ("url", "named"),
    [
        ("s3://", "bucket"),
        ("s3://UPPER", "bucket"),
        ("s3://ab", "bucket"),
        ("s3://key:secret@bucket", "credentials"),
        ("s3://bucket?endpoint=ftp://host", "endpoint"),
        ("s3://bucket?endpoint=https://host/path", "endpoint"),
        ("s3://bucket?endpoint=host:9000", "endpoint"),
        ("s3://bucket?region=a&region=b", "twice"),
        ("s3://bucket?secure=false", "unknown"),
        ("s3://bucket/../x", "storage key"),
        ("http://bucket", "s3://"),
    ],
)
def test_a_bad_s3_url_is_refused_with_the_reason(url: str, named: str) -> None:
    with pytest.raises(ImageStoreError, match=named):
        parse_s3_url(url, {})


async def test_the_openapi_document_names_both_seed_operations(client: OrgClient) -> None:
    document = (await client.harness.http.get("/openapi.json")).json()
    details = document["paths"]["/v2/customers/{customerId}"]["get"]
    assert details["x-seed-operations"] == ["Fetch Customer Details (by User ID)", "Get Customer Image"]
    assert document["paths"]["/v2/customers/{userId}/setImage"]["post"]["summary"] == "Set Customer Image"


async def test_erasing_a_customer_forgets_their_images(client: OrgClient) -> None:
    number = register_body()["profiles"][0]["identifiers"][0]["value"]
    cid = (await client.post("/v2/customers", json=register_body(number))).json()["createdId"]
    file = (await upload(client, cid, picture("PNG"), content_type="image/png")).json()["data"][0]["file"]
    r = await client.put(
        "/v2/customers/lookup/status",
        json={"label": "Pending Deletion", "reason": "GDPR art. 17"},
        params={"source": "INSTORE", "identifierName": "mobile", "identifierValue": number},
    )
    assert r.status_code == 200, r.text
    assert stored_files(client.harness, client.org_id, cid)
    for _ in range(100):  # the erasure runs in the worker; the bytes go after its commit
        if await image_rows(client, cid) == [] and not stored_files(client.harness, client.org_id, cid):
            break
        await asyncio.sleep(0.1)
    else:
        raise AssertionError("the customer's images were not erased")
    r = await client.get(f"/v2/customers/{cid}", params={"source": "ALL", "embed": "CUSTOMERIMAGE"})
    assert r.status_code == 200 and r.json()["customerImage"] == [], r.text
    assert (await client.get(bytes_path(cid, file["fileHandle"]))).status_code == 404
