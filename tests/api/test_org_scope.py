"""The org-scope guard is wired into the app on both engines: a statement without an org
scope run through the app's own database is caught, whoever runs it."""

from __future__ import annotations

from tests.conftest import OrgClient
from tests.support import register_body, rows


async def test_an_unscoped_statement_through_the_app_is_caught(
    client: OrgClient, unscoped_queries: list[str]
) -> None:
    r = await client.post("/v2/customers", json=register_body())
    assert r.status_code == 200, r.text
    assert unscoped_queries == []  # the app's own statements are scoped
    db = client.harness.app.state.db
    cid = r.json()["createdId"]

    assert await rows(db, "SELECT customer_id FROM customer WHERE customer_id = :id", id=cid)
    assert await rows(
        db,
        "SELECT c.customer_id FROM customer c JOIN customer_identifier i ON i.customer_id = c.customer_id"
        " WHERE c.org_id = :o AND c.customer_id = :id",
        o=client.org_id,
        id=cid,
    )
    caught, unscoped_queries[:] = list(unscoped_queries), []  # caught here, not failed at teardown
    assert len(caught) == 2
    assert "customer is read without an org_id predicate" in caught[0]
    assert "customer_identifier AS i is read without an org_id predicate" in caught[1]
    assert f"[{client.harness.engine}]" in caught[0]

    await rows(
        db,
        "SELECT customer_id FROM customer WHERE org_id = :o AND customer_id = :id",
        o=client.org_id,
        id=cid,
    )
    assert unscoped_queries == []
