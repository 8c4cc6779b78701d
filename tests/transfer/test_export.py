"""`patron export customers`: jsonl in Get Customer's shape, csv in the import's mapping,
and an export that imports into another org as the same customers."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import Harness, OrgClient
from tests.support import email, mobile, register_body
from tests.transfer.support import cli, customer_ids, lookup, normalise, run_import, view

CARD = {"type": "cardnumber", "seriesId": 19, "statusLabel": "ACTIVE"}


async def _customers(client: OrgClient) -> list[str]:
    """Three customers through the API (one with two source profiles and a card); their mobiles."""
    mobiles = [mobile() for _ in range(3)]
    first = register_body(
        mobiles[0], extra=[{"type": "email", "value": email()}], extendedFields={"city": "Pune"}
    )
    first["profiles"][0]["fields"] = {"employee": "true"}
    bodies = [
        first,
        register_body(mobiles[0], source="WECHAT", account_id="WECHAT-CM", first="Tommy"),
        register_body(mobiles[1], loyalty="non_loyalty", first="Huck", last="Finn"),
        register_body(
            mobiles[2],
            extra=[
                {"type": "cardnumber", "value": f"GOLD{mobiles[2]}", "seriesId": 19, "statusLabel": "ACTIVE"}
            ],
        ),
    ]
    for body in bodies:
        answer = await client.post("/v2/customers", json=body)
        assert answer.status_code == 200, answer.text
    return mobiles


async def test_jsonl_export_is_get_customer_for_every_customer_in_id_order(
    client: OrgClient, harness: Harness, tmp_path: Path
) -> None:
    await _customers(client)
    out = tmp_path / "export.jsonl"

    done = await cli(harness, "export", "customers", "--org", str(client.org_id), "--output", str(out))

    assert done.returncode == 0, done.stderr
    assert "exported 3 customers" in done.stderr
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    ids = await customer_ids(harness, client.org_id)
    assert [line["id"] for line in lines] == ids
    for line in lines:
        assert line == await view(client, line["id"])


async def test_a_csv_export_imports_into_another_org_as_the_same_customers(
    client: OrgClient, other_client: OrgClient, harness: Harness, tmp_path: Path
) -> None:
    mobiles = await _customers(client)
    out = tmp_path / "export.csv"

    done = await cli(harness, "export", "customers", "--org", str(client.org_id), "--format", "csv")
    assert done.returncode == 0, done.stderr
    out.write_text(done.stdout)
    assert out.read_text().splitlines()[0].startswith("customer,loyaltyType,createDate,")

    summary = await run_import(harness, other_client, out)

    assert (summary.read, summary.imported, summary.refused) == (3, 3, 0)
    for m in mobiles:
        mine = await view(client, await lookup(client, "INSTORE", "mobile", m))
        theirs = await view(other_client, await lookup(other_client, "INSTORE", "mobile", m))
        assert normalise(theirs, other_client.org_id) == normalise(mine, client.org_id)


async def test_a_jsonl_export_imports_too_and_an_unknown_org_exits_2(
    client: OrgClient, other_client: OrgClient, harness: Harness, tmp_path: Path
) -> None:
    mobiles = await _customers(client)
    out = tmp_path / "export.jsonl"
    done = await cli(harness, "export", "customers", "--org", str(client.org_id), "--output", str(out))
    assert done.returncode == 0, done.stderr

    summary = await run_import(harness, other_client, out)

    assert (summary.imported, summary.refused) == (3, 0)
    mine = await view(client, await lookup(client, "WECHAT", "mobile", mobiles[0], "WECHAT-CM"))
    theirs = await view(other_client, await lookup(other_client, "WECHAT", "mobile", mobiles[0], "WECHAT-CM"))
    assert normalise(theirs, other_client.org_id) == normalise(mine, client.org_id)
    missing = await cli(harness, "export", "customers", "--org", "999999999")
    assert missing.returncode == 2 and "org 999999999 does not exist" in missing.stderr
