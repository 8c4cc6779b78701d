"""Citus readiness without the cluster: the schema distributes by org_id, co-located, and
every statement of the app routes to one shard (tests/citus.py; the check runs on every
statement of every test through the harness, this module proves that it bites)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import inspect
from sqlalchemy.ext.asyncio import create_async_engine

from patron.db.base import Base
from patron.db.tx import Table
from patron.db.uow import UnitOfWork
from tests import citus, orgscope
from tests.citus import MULTI_SHARD, REFERENCE, citus_ddl, schema_problems, shape
from tests.conftest import OrgClient, make_org
from tests.support import register_body, rows

DOC = Path(__file__).resolve().parents[2] / "docs" / "scale.md"


def test_every_table_is_distributed_by_org_or_a_reference_table() -> None:
    assert schema_problems() == []
    for table in Base.metadata.sorted_tables:
        if "org_id" not in table.c:
            assert table.name in REFERENCE, f"{table.name} has no org_id and is not a reference table"
    for name, reason in REFERENCE.items():
        assert reason, f"reference table {name} needs its reason in tests/citus.py REASONS"
        assert "org_id" not in Base.metadata.tables[name].c, f"{name} has org_id: distribute it"


def test_the_schema_check_finds_a_key_without_org_id() -> None:
    from sqlalchemy import BigInteger, Column, Index, MetaData, PrimaryKeyConstraint
    from sqlalchemy import Table as SaTable

    # A throwaway table on a copy of the metadata: a key that does not lead with org_id.
    metadata = MetaData()
    for table in Base.metadata.sorted_tables:
        table.to_metadata(metadata)
    SaTable(
        "bad_table",
        metadata,
        Column("org_id", BigInteger, nullable=False),
        Column("thing_id", BigInteger, nullable=False),
        PrimaryKeyConstraint("thing_id", "org_id"),
        Index("ix_bad", "thing_id"),
    )
    found = schema_problems(metadata)
    assert any("bad_table: primary key" in p for p in found), found
    assert any("bad_table: index ix_bad" in p for p in found), found


async def test_the_migrated_database_holds_exactly_the_planned_tables(harness: Any) -> None:
    def names(sync_conn: Any) -> set[str]:
        return set(inspect(sync_conn).get_table_names())

    engine = create_async_engine(harness.settings.database_url)
    try:
        async with engine.connect() as conn:
            found = await conn.run_sync(names)
    finally:
        await engine.dispose()
    planned = {t.name for t in citus.distributed_tables()} | set(REFERENCE)
    tools = {"alembic_version"} | ({"id_sequence"} if harness.engine == "sqlite" else set())
    assert found == planned | tools
    assert tools <= set(citus.NOT_DISTRIBUTED)


def test_docs_scale_gives_the_statements_for_every_table() -> None:
    text = DOC.read_text()
    assert citus_ddl() in text, "docs/scale.md must quote tests.citus.citus_ddl() as it is"
    named = set(re.findall(r"create_(?:distributed|reference)_table\('(\w+)'", text))
    assert named == set(Base.metadata.tables)


def test_each_multi_shard_statement_is_listed_because_it_is_multi_shard() -> None:
    saved = dict(MULTI_SHARD)
    try:
        MULTI_SHARD.clear()
        for statement, reason in saved.items():
            assert reason
            assert citus._shape("sqlite", statement).problems, statement
    finally:
        MULTI_SHARD.update(saved)


@pytest.mark.parametrize("dialect", ["sqlite", "postgresql"])
def test_statement_shapes(dialect: str) -> None:
    def p(n: int) -> str:
        return "?" if dialect == "sqlite" else f"${n}"

    one_org = [
        f"SELECT customer_id FROM customer WHERE org_id = {p(1)} AND customer_id = {p(2)}",
        f"SELECT c.customer_id FROM customer c JOIN customer_identifier i ON i.org_id = c.org_id"
        f" AND i.customer_id = c.customer_id WHERE c.org_id = {p(1)}",
        f"SELECT 1 FROM customer c WHERE c.org_id = {p(1)} AND EXISTS (SELECT 1 FROM card k"
        f" WHERE k.org_id = c.org_id AND k.customer_id = c.customer_id)",
        f"WITH x AS (SELECT org_id, customer_id FROM customer WHERE org_id = {p(1)})"
        " SELECT l.points FROM points_ledger l"
        " JOIN x ON l.org_id = x.org_id AND l.customer_id = x.customer_id",
        f"INSERT INTO till (org_id, till_id, code) VALUES ({p(1)}, {p(2)}, {p(3)})",
        f"UPDATE customer SET version = version + 1 WHERE org_id IN ({p(1)}) AND customer_id = {p(2)}",
    ]
    several = [
        f"SELECT customer_id FROM customer WHERE org_id IN ({p(1)}, {p(2)})",
        "SELECT customer_id FROM customer WHERE org_id IN (1000, 1001)",
        f"SELECT a.customer_id FROM customer a JOIN customer b ON b.customer_id = a.customer_id"
        f" AND b.org_id IN ({p(1)}, {p(2)}) WHERE a.org_id = {p(3)}",
        "SELECT customer_id FROM customer WHERE org_id = 1000 OR org_id = 1001",
        "SELECT c.customer_id FROM customer c JOIN card k ON k.customer_id = c.customer_id"
        " WHERE c.org_id = 1000 AND k.org_id = 1001",
    ]
    if dialect == "postgresql":
        several.append("SELECT customer_id FROM customer WHERE org_id = ANY($1)")
    else:
        several.append("SELECT customer_id FROM customer WHERE org_id IN (SELECT value FROM json_each(?))")
    for statement in one_org:
        assert shape(dialect, statement).problems == (), statement
    for statement in several:
        assert shape(dialect, statement).problems, statement


async def test_a_cross_org_statement_through_the_app_is_caught(
    client: OrgClient, multi_shard_queries: list[str], unscoped_queries: list[str]
) -> None:
    other = await make_org(client.harness)
    db = client.harness.app.state.db
    for org in (client, other):
        r = await org.post("/v2/customers", json=register_body())
        assert r.status_code == 200, r.text
    assert multi_shard_queries == []  # the app's own statements route to one shard

    # Scoped (the org-scope guard lets each through) but spanning two orgs.
    both = await rows(
        db,
        "SELECT customer_id FROM customer WHERE org_id IN (:a, :b)",
        a=client.org_id,
        b=other.org_id,
    )
    listed = await rows(
        db, "SELECT customer_id FROM customer WHERE org_id IN (:orgs*)", orgs=[client.org_id, other.org_id]
    )
    joined = await rows(
        db,
        "SELECT a.customer_id FROM customer a JOIN customer b ON b.org_id = :b"
        " WHERE a.org_id = :a ORDER BY a.customer_id, b.customer_id",
        a=client.org_id,
        b=other.org_id,
    )
    assert len(both) == len(listed) == 2 and len(joined) == 1
    assert unscoped_queries == []
    caught, multi_shard_queries[:] = list(multi_shard_queries), []  # caught here, not at teardown
    assert len(caught) == 3, caught
    assert all(c.startswith("multi-shard:") for c in caught)
    assert "org_id IN" in caught[0]
    assert "org_id IN" in caught[1] or "ANY" in caught[1]
    assert f"org_id takes [{client.org_id}, {other.org_id}] in one run" in caught[2]
    assert f"[{client.harness.engine}]" in caught[0]

    # The same join within one org routes to one shard: nothing is reported.
    same = await rows(
        db,
        "SELECT a.customer_id FROM customer a"
        " JOIN customer b ON b.org_id = :b AND b.customer_id = a.customer_id WHERE a.org_id = :a",
        a=client.org_id,
        b=client.org_id,
    )
    assert len(same) == 1
    assert multi_shard_queries == []


def test_a_copy_into_an_org_table_carries_its_org_and_anything_else_is_caught() -> None:
    copy = "COPY customer_identifier (org_id, customer_id, id_type, value) FROM STDIN (FORMAT binary)"
    assert orgscope.verdict("postgresql", copy) == ()
    assert shape("postgresql", copy).problems == ()
    no_org = "COPY customer_identifier (customer_id, id_type, value) FROM STDIN (FORMAT binary)"
    assert orgscope.verdict("postgresql", no_org) == ("COPY into customer_identifier without its org_id",)
    unknown = "COPY somewhere (org_id) FROM STDIN (FORMAT binary)"
    assert orgscope.verdict("postgresql", unknown)


async def test_a_copy_of_two_orgs_rows_is_refused_before_anything_is_sent(client: OrgClient) -> None:
    """PgTx.copy enforces one org per COPY at run time (Citus routes rows by org_id)."""
    if client.harness.engine != "postgresql":
        pytest.skip("SQLite has no COPY: Tx.copy is an insert there")
    other = await make_org(client.harness)
    db = client.harness.app.state.db
    table = Table("search_term", (("org_id", "bigint"), ("term", "text"), ("customer_id", "bigint")))
    rows_of_two = [
        {"org_id": client.org_id, "term": "a", "customer_id": 1},
        {"org_id": other.org_id, "term": "b", "customer_id": 2},
    ]

    async def copy(uow: UnitOfWork) -> None:
        await uow.tx.copy(table, rows_of_two)

    with pytest.raises(ValueError, match="one org's rows"):
        await db.write(copy)
