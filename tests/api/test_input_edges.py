"""Input at the edge (issue 8): what is not a phone number is refused rather than repaired,
names may hold the joiners their scripts need but no controls, and big or odd numbers (in
bodies, paths and query strings) answer 400 or 404 in the envelope, never 500."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import OrgClient
from tests.support import codes, mobile, outbox, register_body, rows

INT32_MAX = 2**31 - 1
INT64_MAX = 2**63 - 1


def envelope(r: Any, status: int) -> list[int]:
    """The codes of an error answer, after checking it is the v2 envelope with `status`."""
    assert r.status_code == status, (r.status_code, r.text)
    body = r.json()
    assert body["warnings"] == [] and body["errors"], body
    assert all(e["status"] is False and e["message"] for e in body["errors"]), body
    return codes(body)


# Mobiles --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "spelling",
    [
        "+91 98{n} x",  # a letter after the digits was dropped
        "+91 98{n}x",
        "-9198{n}",  # a leading '-' was dropped
        "9198{n}\x00",  # a trailing NUL was dropped
        "\x009198{n}",
        "9198{n}\n",  # str.strip() removed line breaks and tabs
        "\t9198{n}",
        "9198{n}\x1f",
        "tel:+9198{n}",
        "+9198{n};ext=5",
        "+9198{n} ext. 5",
        "９１９８{n}",  # fullwidth digits (only the first four: still not ASCII)
        "+91 (98{n}",  # a parenthesis that closes nothing
        "+ 9198{n}",
        "9198{n}-",
    ],
)
async def test_a_mobile_that_is_not_a_phone_number_is_refused(client: OrgClient, spelling: str) -> None:
    digits = mobile()[4:]
    value = spelling.format(n=digits)
    r = await client.post("/v2/customers", json=register_body(value))
    if "\x00" in value:
        # The edge refuses a NUL anywhere in a body before any rule sees it (api/routing.py);
        # tests/unit/test_input_rules.py shows the mobile rule refusing it too.
        assert envelope(r, 400) in ([400], [1001])
    else:
        assert envelope(r, 400) == [1001]
        assert "Invalid mobile number" in r.json()["errors"][0]["message"]
    assert await outbox(client.harness, client.org_id) == []


async def test_a_negative_number_is_not_a_mobile(client: OrgClient) -> None:
    body = register_body()
    body["profiles"][0]["identifiers"] = [{"type": "mobile", "value": -919812345678}]
    r = await client.post("/v2/customers", json=body)
    assert envelope(r, 400) == [1001]


@pytest.mark.parametrize(
    "spelling",
    ["+91 98{a} {b}", "+91-98{a}-{b}", "+91.98{a}.{b}", "+91 (98{a}) {b}", " 9198{a}{b} ", "0 98{a} - {b}"],
)
async def test_a_mobile_written_with_the_usual_separators_is_one_number(
    client: OrgClient, spelling: str
) -> None:
    number = mobile()
    national = number[4:]
    value = spelling.format(a=national[:3], b=national[3:])
    r = await client.post("/v2/customers", json=register_body(value))
    assert r.status_code == 200, r.text
    lookup = {"source": "INSTORE", "identifierName": "mobile", "identifierValue": number}
    found = await client.get("/v2/customers/lookup", params=lookup)
    assert found.status_code == 200 and found.json()["entity"] == r.json()["createdId"]


async def test_a_lookup_does_not_repair_a_mobile_either(client: OrgClient) -> None:
    number = mobile()
    assert (await client.post("/v2/customers", json=register_body(number))).status_code == 200
    for bad in (f"-{number}", f"{number}x", f"+{number} ext. 1"):
        params = {"source": "INSTORE", "identifierName": "mobile", "identifierValue": bad}
        assert envelope(await client.get("/v2/customers/lookup", params=params), 400) == [8013]


async def test_other_identifiers_keep_controls_rather_than_trimming_them(client: OrgClient) -> None:
    for identifier, code in (
        ({"type": "email", "value": "tom.sawyer@example.com\n"}, 1002),
        ({"type": "externalId", "value": "ext-1\t"}, 1003),
        ({"type": "externalId", "value": "ext-1\x1f"}, 1003),
        ({"type": "wechat", "value": "wx_1\x1f"}, 400),
    ):
        r = await client.post("/v2/customers", json=register_body(extra=[identifier]))
        assert envelope(r, 400) == [code], identifier
    # Surrounding spaces are still trimmed.
    r = await client.post(
        "/v2/customers", json=register_body(extra=[{"type": "externalId", "value": "  ext-7  "}])
    )
    assert r.status_code == 200
    stored = await rows(
        client.harness.app.state.db,
        "SELECT value FROM customer_identifier WHERE org_id = :o AND id_type = 'externalId'",
        o=client.org_id,
    )
    assert [s.value for s in stored] == ["ext-7"]


# Names ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "\U0001f469\u200d\U0001f469\u200d\U0001f467",  # a family emoji: ZWJ sequence
        "\U0001f3f3\ufe0f\u200d\U0001f308",  # rainbow flag
        "\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645",  # Persian with ZWNJ
        "\u0915\u094d\u200d\u0937",  # Devanagari with ZWJ
    ],
)
async def test_names_may_hold_the_joiners_their_scripts_need(client: OrgClient, name: str) -> None:
    r = await client.post("/v2/customers", json=register_body(first=name, last=name))
    assert r.status_code == 200, r.text
    cid = r.json()["createdId"]
    profile = (await client.get(f"/v2/customers/{cid}", params={"source": "INSTORE"})).json()["profiles"][0]
    assert profile["firstName"] == profile["lastName"] == name
    # And on update.
    put = await client.put(
        f"/v2/customers/{cid}", params={"source": "INSTORE"}, json={"profiles": [{"firstName": name + "x"}]}
    )
    assert put.status_code == 200, put.text


@pytest.mark.parametrize(
    "name",
    [
        "Tom\x00",
        "To\tm",
        "Tom\n",
        "Tom\u202e",  # right-to-left override
        "\u202aTom",  # left-to-right embedding
        "Tom\u2066x\u2069",  # isolates
        "Tom\u200b",  # zero-width space
        "Tom\ufeff",  # byte order mark
        "Tom\u00ad",  # soft hyphen
        "Tom\U000e0041",  # tag character
        "Tom\ue000",  # private use
        "\u200dTom",  # a joiner that joins nothing
        "Tom\u200c",
        "To\u200d\u200dm",
    ],
)
async def test_names_with_controls_or_other_format_characters_are_refused(
    client: OrgClient, name: str
) -> None:
    r = await client.post("/v2/customers", json=register_body(first=name))
    assert envelope(r, 400) == [400]
    cid = (await client.post("/v2/customers", json=register_body())).json()["createdId"]
    put = await client.put(
        f"/v2/customers/{cid}", params={"source": "INSTORE"}, json={"profiles": [{"lastName": name}]}
    )
    assert envelope(put, 400) == [400]


# Numbers --------------------------------------------------------------------------------


def enrollment(**fields: Any) -> dict[str, Any]:
    return {"programId": 7, "tierNumber": 1, "loyaltyPoints": 10, **fields}


@pytest.mark.parametrize(
    "fields",
    [
        {"programId": 2**63},
        {"programId": 2**64},  # past 64 bits the JSON parser gives a float
        {"programId": 10**30},
        {"programId": -(2**63) - 1},
        {"programId": 0},
        {"loyaltyPoints": 2**63},
        {"loyaltyPoints": INT32_MAX + 1},  # an INTEGER column on PostgreSQL
        {"loyaltyPoints": -1},
        {"tierNumber": 2**63},
        {"tierNumber": INT32_MAX + 1},
        {"programId": 1.5},
        {"programId": "9223372036854775808"},
    ],
)
async def test_integers_out_of_range_in_enrollments_are_400(
    client: OrgClient, fields: dict[str, Any]
) -> None:
    body = register_body(loyaltyProgramEnrollments=[enrollment(**fields)])
    assert envelope(await client.post("/v2/customers", json=body), 400) == [400]
    cid = (await client.post("/v2/customers", json=register_body())).json()["createdId"]
    put = await client.put(
        f"/v2/customers/{cid}",
        params={"source": "INSTORE"},
        json={"loyaltyProgramEnrollments": [enrollment(**fields)]},
    )
    assert envelope(put, 400) == [400]


async def test_the_largest_integers_in_range_are_stored(client: OrgClient) -> None:
    body = register_body(
        loyaltyProgramEnrollments=[
            enrollment(programId=INT64_MAX, tierNumber=INT32_MAX, loyaltyPoints=INT32_MAX)
        ]
    )
    r = await client.post("/v2/customers", json=body)
    assert r.status_code == 200, r.text
    stored = await rows(
        client.harness.app.state.db,
        "SELECT program_id, tier_number, loyalty_points FROM loyalty_enrollment"
        " WHERE org_id = :o AND customer_id = :c",
        o=client.org_id,
        c=r.json()["createdId"],
    )
    assert [(s.program_id, s.tier_number, s.loyalty_points) for s in stored] == [
        (INT64_MAX, INT32_MAX, INT32_MAX)
    ]


async def test_an_out_of_range_card_series_is_400(client: OrgClient) -> None:
    cid = (await client.post("/v2/customers", json=register_body())).json()["createdId"]
    for series in (2**63, 2**64, INT32_MAX + 1):
        body = {"add": [{"type": "cardnumber", "value": "CARD1", "seriesId": series}]}
        r = await client.post(
            f"/v2/customers/{cid}/changeIdentifier", params={"source": "INSTORE"}, json=body
        )
        assert envelope(r, 400) == [400]
    r = await client.post(
        f"/v2/customers/{cid}/changeIdentifier",
        params={"source": "INSTORE", "seriesId": "٢٣"},
        json={"add": [{"type": "cardnumber", "value": "CARD1"}]},
    )
    assert envelope(r, 400) == [400]


ODD_IDS = [
    "%C2%B2",  # '²': str.isdigit() says yes, int() says no
    "%D9%A1%D9%A2%D9%A3",  # Arabic-Indic 123
    "%EF%BC%91%EF%BC%92%EF%BC%93",  # fullwidth 123
    "%E0%A5%A7",  # Devanagari 1
    "9223372036854775808",
    "99999999999999999999999",
    "-1",
    "1e3",
    "%201",
    "0x10",
]


@pytest.mark.parametrize("raw", ODD_IDS)
async def test_a_customer_id_is_ascii_digits_or_not_found(client: OrgClient, raw: str) -> None:
    r = await client.get(f"/v2/customers/{raw}", params={"source": "ALL"})
    assert envelope(r, 404) == [8015]
    r = await client.put(f"/v2/customers/{raw}", params={"source": "INSTORE"}, json={"profiles": []})
    assert envelope(r, 404) == [8009]
    r = await client.post(
        f"/v2/customers/{raw}/changeIdentifier",
        params={"source": "INSTORE"},
        json={"add": [{"type": "email", "value": "x@example.com"}]},
    )
    assert envelope(r, 404) == [8009]


async def test_an_arabic_indic_id_does_not_address_the_customer(client: OrgClient) -> None:
    cid = (await client.post("/v2/customers", json=register_body())).json()["createdId"]
    spelled = str(cid).translate(str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩"))
    assert envelope(await client.get(f"/v2/customers/{spelled}", params={"source": "ALL"}), 404) == [8015]
    assert (await client.get(f"/v2/customers/{cid}", params={"source": "ALL"})).status_code == 200


@pytest.mark.parametrize("raw", ["²", "١٠", "１０", "1e3", "10000000000000000000", "- 1"])
async def test_query_integers_are_ascii_digits(client: OrgClient, raw: str) -> None:
    for name in ("limit", "offset"):
        r = await client.get("/v2/customers/search", params={"q": "a", name: raw})
        assert envelope(r, 400) == [400], (name, raw)
    assert envelope(await client.get(f"/v2/webhooks/{raw}"), 400) == [400]


async def test_a_content_length_in_other_digits_is_not_a_500(client: OrgClient) -> None:
    r = await client.post(
        "/v2/customers",
        content=b'{"profiles": []}',
        headers={"Content-Type": "application/json", "Content-Length": "\u00b2".encode("latin-1")},
    )
    assert r.status_code != 500


async def test_the_document_shows_the_integer_bounds(client: OrgClient) -> None:
    schemas = (await client.harness.http.get("/openapi.json")).json()["components"]["schemas"]
    enrollment = next(s for name, s in schemas.items() if name.startswith("EnrollmentBody"))["properties"]

    def bounds(prop: dict[str, Any]) -> tuple[Any, Any]:
        # FastAPI's OpenAPI models hold bounds as floats: 2**63 - 1 is written 9.223372036854776e18.
        prop = next((p for p in prop.get("anyOf", [prop]) if p.get("type") == "integer"), prop)
        return prop.get("minimum"), prop.get("maximum")

    assert bounds(enrollment["programId"]) == (1, float(INT64_MAX))
    assert bounds(enrollment["tierNumber"]) == (1, INT32_MAX)
    assert bounds(enrollment["loyaltyPoints"]) == (0, INT32_MAX)
    identifier = next(s for name, s in schemas.items() if name.startswith("IdentifierBody"))["properties"]
    assert bounds(identifier["seriesId"]) == (1, INT32_MAX)
