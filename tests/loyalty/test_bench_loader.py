"""The benchmark's bulk loader (bench/loyalty_load.py) leaves an org as Patron would: the
rebuild finds every summary equal to its ledger, the API reads the loaded customers, and
purchases and registrations carry on after the loaded ids. Both engines."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any

from patron.loyalty.rebuild import Difference, rebuild
from tests.conftest import Harness, make_org
from tests.loyalty.support import purchase
from tests.support import mobile, register_body, rows

BENCH = Path(__file__).resolve().parents[2] / "bench"
sys.path.insert(0, str(BENCH))

import loyalty_load  # noqa: E402

CONFIG: dict[str, Any] = json.loads((BENCH / "loyalty_config.json").read_text())


async def test_a_loaded_org_is_what_patron_would_have_written(harness: Harness) -> None:
    client = await make_org(harness, CONFIG)
    url = harness.settings.database_url
    first = await asyncio.to_thread(
        loyalty_load.load, url, client.org_id, 40, 600, log=lambda _: None, check=True
    )
    assert (first.customers, first.entries, first.customers_created) == (40, 600, 40)
    grown = await asyncio.to_thread(
        loyalty_load.load, url, client.org_id, 40, 1000, log=lambda _: None, check=True
    )
    assert (grown.customers, grown.entries, grown.customers_created) == (40, 1000, 0)
    assert (grown.first_customer, grown.last_customer) == (first.first_customer, first.last_customer)

    found: list[Difference] = []
    db = harness.app.state.db
    report = await rebuild(db, client.org_id, dry_run=True, on_difference=found.append)
    assert (report.accounts, report.entries, found) == (40, 1000, [])

    kinds = {
        r.kind: int(r.n)
        for r in await rows(
            db,
            "SELECT kind, COUNT(*) AS n FROM points_ledger WHERE org_id = :o GROUP BY kind",
            o=client.org_id,
        )
    }
    assert kinds["registration"] == 40 and kinds["earn"] > kinds["redeem"] > 0
    assert set(kinds) == {"registration", "earn", "redeem"}

    cid = grown.first_customer + 7
    summary = (
        await rows(
            db,
            "SELECT loyalty_points, lifetime_points, redeemed, tier_number FROM loyalty_enrollment"
            " WHERE org_id = :o AND customer_id = :c AND program_id = 1016",
            o=client.org_id,
            c=cid,
        )
    )[0]
    r = await client.get(f"/v2/customers/{cid}/loyaltyDetails")
    assert r.status_code == 200, r.text
    details = next(p for p in r.json()["data"] if p["programId"] == 1016)
    shown = (details["loyaltyPoints"], details["lifetimePoints"], details["redeemed"], details["slabSNo"])
    assert shown == (summary.loyalty_points, summary.lifetime_points, summary.redeemed, summary.tier_number)
    assert summary.loyalty_points > 0 and summary.tier_number in (1, 2)
    r = await client.get(
        "/v2/customers/lookup",
        params={"source": "INSTORE", "identifierName": "mobile", "identifierValue": f"9196{cid:08d}"},
    )
    assert r.status_code == 200 and r.json()["entity"] == cid, r.text

    # The API carries on after the loaded ids: a purchase (bill and entry ids), a registration.
    loaded = await rows(
        db, "SELECT MAX(bill_id) AS bill_id FROM loyalty_bill WHERE org_id = :o", o=client.org_id
    )
    r = await purchase(client, cid, 250.0, "after-the-load")
    assert r.status_code == 200, r.text
    # Ids the API hands out never collide with the loaded ones (on PostgreSQL a process may
    # still hold a block of lower ids it reserved before the load: unused, so still free).
    same_id = await rows(
        db,
        "SELECT COUNT(*) AS n FROM loyalty_bill WHERE org_id = :o AND bill_id = :b",
        o=client.org_id,
        b=r.json()["createdId"],
    )
    assert same_id[0].n == 1 and loaded[0].bill_id is not None
    assert r.json()["sideEffects"] == [{"type": "points", "awardedPoints": 25}]
    r = await client.post("/v2/customers", json=register_body(mobile()))
    assert r.status_code == 200, r.text
    assert not grown.first_customer <= r.json()["createdId"] <= grown.last_customer
