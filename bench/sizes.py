"""Rows and bytes per customer per table on PostgreSQL (docs/scale.md's sizing).

Starts a throwaway PostgreSQL server (tests/pg.py; or uses PATRON_DATABASE_URL), migrates
it, creates one org with bench/loyalty_config.json and one webhook endpoint taking every
event (the worker is off, so each event's delivery row stays as it was written), then
registers N customers through the API (in process, over ASGI: mobile and email
identifiers, one INSTORE profile) and records P purchases for each (default 1). After
VACUUM ANALYZE it prints, per table, the rows and the bytes (heap, TOAST and indexes:
pg_total_relation_size) added since the endpoint was created, and both per customer.

    .venv/bin/python bench/sizes.py [--customers 2000] [--purchases 1]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import logging
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

import asyncpg
import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests import pg  # noqa: E402

from patron.config import Settings  # noqa: E402
from patron.db.engine import postgres_dsn  # noqa: E402
from patron.db.migrate import upgrade  # noqa: E402
from patron.main import create_app  # noqa: E402
from patron.orgs import service as orgs  # noqa: E402
from patron.orgs.config import OrgConfig  # noqa: E402

WEBHOOKS = "/v2/webhooks"
_SIZES = (
    "SELECT c.relname AS name, pg_total_relation_size(c.oid) AS total FROM pg_class c"
    " JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public' AND c.relkind = 'r'"
)


async def sizes(dsn: str) -> dict[str, tuple[int, int]]:
    """Per table: (rows, total bytes), after VACUUM ANALYZE."""
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("VACUUM ANALYZE")
        found: dict[str, tuple[int, int]] = {}
        for row in await conn.fetch(_SIZES):
            count = await conn.fetchval(f'SELECT count(*) FROM "{row["name"]}"')
            found[row["name"]] = (int(count), int(row["total"]))
        return found
    finally:
        await conn.close()


async def measure(url: str, customers: int, purchases: int) -> None:
    await asyncio.to_thread(upgrade, url)
    tmp = Path(tempfile.mkdtemp(prefix="patron-sizes-"))
    settings = Settings(
        database_url=url,
        secret_key=base64.b64encode(os.urandom(32)).decode(),
        image_store=str(tmp / "images"),
        message_sender="file",
        messages_file=tmp / "messages.jsonl",
        worker_enabled=False,  # deliveries stay owed: their rows are measured, not sent
        webhook_allow_private=True,
    )
    app = create_app(settings)
    for name in ("httpx", "patron.access"):  # one line per request otherwise
        logging.getLogger(name).setLevel(logging.WARNING)
    config = json.loads((ROOT / "bench" / "loyalty_config.json").read_text())
    async with app.router.lifespan_context(app):
        creds = await app.state.db.write(
            orgs.create_org,
            app.state.authenticator.keys,
            name="Sizes",
            config=OrgConfig.model_validate(config),
        )
        token = base64.b64encode(f"{creds.username}:{creds.password}".encode()).decode()
        headers = {"Authorization": f"Basic {token}"}
        dsn = postgres_dsn(url)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://patron.sizes", headers=headers
        ) as http:
            # One endpoint subscribed to every event: each event owes it one delivery row.
            r = await http.post(WEBHOOKS, json={"url": "http://127.0.0.1:9/hooks"})
            r.raise_for_status()
            before = await sizes(dsn)

            async def one(n: int) -> None:
                body: dict[str, Any] = {
                    "loyaltyInfo": {"loyaltyType": "loyalty"},
                    "profiles": [
                        {
                            "firstName": f"First{n}",
                            "lastName": f"Last{n}",
                            "source": "INSTORE",
                            "identifiers": [
                                {"type": "mobile", "value": f"9190{n:08d}"},
                                {"type": "email", "value": f"customer{n}@example.com"},
                            ],
                        }
                    ],
                }
                r = await http.post("/v2/customers", json=body)
                r.raise_for_status()
                customer_id = r.json()["createdId"]
                for k in range(purchases):
                    r = await http.post(
                        "/v2/transactions",
                        json={
                            "type": "REGULAR",
                            "billNumber": f"B{n}-{k}",
                            "billAmount": 1250.0,
                            "customer": {"id": customer_id},
                        },
                    )
                    r.raise_for_status()

            for start in range(0, customers, 50):
                await asyncio.gather(*(one(n) for n in range(start, min(start + 50, customers))))
        after = await sizes(dsn)
    print(f"{customers} customers, each registered with a mobile and an email, {purchases} purchase(s) each:")
    print("| table | rows | rows per customer | bytes | bytes per customer |")
    print("|---|---|---|---|---|")
    total = 0
    for name in sorted(after, key=lambda t: after[t][1] - before.get(t, (0, 0))[1], reverse=True):
        rows = after[name][0] - before.get(name, (0, 0))[0]
        size = after[name][1] - before.get(name, (0, 0))[1]
        if rows <= 0 and size <= 0:
            continue
        total += size
        print(f"| {name} | {rows:,} | {rows / customers:.2f} | {size:,} | {size / customers:,.0f} |")
    print(f"| all | | | {total:,} | {total / customers:,.0f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=2000)
    parser.add_argument("--purchases", type=int, default=1, help="purchases per customer")
    args = parser.parse_args()
    url = os.environ.get("PATRON_DATABASE_URL", "")
    if url.startswith("postgresql"):
        asyncio.run(measure(url, args.customers, args.purchases))
        return
    server = pg.start()
    try:
        asyncio.run(measure(server.url, args.customers, args.purchases))
    finally:
        server.stop()


if __name__ == "__main__":
    main()
