"""The schema distributes by org_id: org_id is on every table and leads every key and index."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect
from sqlalchemy.ext.asyncio import create_async_engine

from patron.db.base import Base
from tests.support import execute, rows

# Tables of the tools, not of Patron's data: Alembic's version row, and the id counter
# that only the embedded SQLite engine has (PostgreSQL uses sequences).
NOT_DISTRIBUTED = {"alembic_version", "id_sequence"}
# Tables of the installation, not of an org (Citus reference tables): marked in their info.
REFERENCE = {t.name for t in Base.metadata.tables.values() if t.info.get("citus") == "reference"}


def test_every_model_table_leads_every_key_with_org_id() -> None:
    for table in Base.metadata.sorted_tables:
        if table.name in REFERENCE:
            assert "org_id" not in table.c and not table.foreign_keys, table.name
            continue
        assert list(table.primary_key.columns)[0].name == "org_id", table.name
        for index in table.indexes:
            assert list(index.columns)[0].name == "org_id", (table.name, index.name)
        for constraint in table.constraints:
            columns = [c.name for c in getattr(constraint, "columns", [])]
            if columns:
                assert columns[0] == "org_id", (table.name, constraint.name)
        for fk in table.foreign_keys:
            assert fk.parent.table is table
            assert list(fk.constraint.columns)[0].name == "org_id", (table.name, fk.constraint.name)


async def test_migrated_database_distributes_by_org(harness: Any) -> None:
    def check(sync_conn: Any) -> None:
        inspector = inspect(sync_conn)
        tables = set(inspector.get_table_names()) - NOT_DISTRIBUTED
        assert tables == set(Base.metadata.tables)
        for name in tables - REFERENCE:
            pk = inspector.get_pk_constraint(name)["constrained_columns"]
            assert pk[0] == "org_id", name
            for index in inspector.get_indexes(name):
                assert index["column_names"][0] == "org_id", (name, index["name"])
            for unique in inspector.get_unique_constraints(name):
                assert unique["column_names"][0] == "org_id", (name, unique["name"])
            for fk in inspector.get_foreign_keys(name):
                assert fk["constrained_columns"][0] == "org_id", (name, fk["name"])
                assert fk["referred_columns"][0] == "org_id", (name, fk["name"])

    engine = create_async_engine(harness.settings.database_url)
    try:
        async with engine.connect() as conn:
            await conn.run_sync(check)
    finally:
        await engine.dispose()


async def test_migrations_build_exactly_the_models(harness: Any) -> None:
    def diff(sync_conn: Any) -> list[Any]:
        context = MigrationContext.configure(sync_conn, opts={"compare_type": False})
        return [d for d in compare_metadata(context, Base.metadata) if not _is_tool_table(d)]

    engine = create_async_engine(harness.settings.database_url)
    try:
        async with engine.connect() as conn:
            assert await conn.run_sync(diff) == []
    finally:
        await engine.dispose()


def _is_tool_table(change: Any) -> bool:
    return isinstance(change, tuple) and change[0] == "remove_table" and change[1].name in NOT_DISTRIBUTED


async def test_search_is_served_by_an_index_not_a_table_scan(harness: Any, client: Any) -> None:
    from patron.db.sql import Q
    from patron.db.uow import UnitOfWork
    from tests.support import register_body

    for n in range(40):
        await client.post("/v2/customers", json=register_body(first=f"Scan{n}"))
    params = {"o": client.org_id, "lo": "scan1", "hi": "scan1\U0010ffff"}
    query = "SELECT customer_id FROM search_term WHERE org_id = :o AND term >= :lo AND term < :hi"
    db = harness.app.state.db
    if harness.engine == "sqlite":
        await execute(db, "ANALYZE")
        plan = await rows(db, "EXPLAIN QUERY PLAN " + query, **params)
        detail = " ".join(str(r.detail) for r in plan)
        assert "USING" in detail and "term>" in detail.replace(" ", ""), detail
        assert "SCAN search_term" not in detail or "USING" in detail, detail
    else:

        async def explain(uow: UnitOfWork) -> str:
            await uow.tx.run(Q("ANALYZE search_term"))
            # A table this small is cheaper to scan; forbid that to see the index that serves it.
            await uow.tx.run(Q("SET LOCAL enable_seqscan = off"))
            return " ".join(r[0] for r in await uow.tx.all(Q("EXPLAIN " + query), **params))

        detail = await db.write(explain)
        assert "Seq Scan" not in detail, detail
        assert "Index Cond" in detail and "term" in detail.split("Index Cond", 1)[1], detail
