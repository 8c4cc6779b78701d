"""The org-scope guard (tests/orgscope.py) flags statements that read or change an org's rows
without saying which org, passes the app's real statements, and fails loudly on a statement
it cannot parse."""

from __future__ import annotations

import importlib
import pkgutil

import pytest

import patron
from patron.db.base import Base
from patron.db.sql import Q, compile_sql
from patron.db.tx import Table
from tests import orgscope
from tests.orgscope import CROSS_ORG, ORG_TABLES, OrgScopeGuard, problems, verdict

UNSCOPED = [
    # (statement with :params, the table the guard must name)
    ("SELECT * FROM customer WHERE customer_id = :id", "customer"),
    (
        "SELECT c.customer_id FROM customer c JOIN card k ON k.customer_id = c.customer_id"
        " WHERE c.org_id = :o",
        "card AS k",
    ),
    ("SELECT c.customer_id FROM customer c JOIN card k ON k.org_id = c.org_id", "customer AS c"),
    ("UPDATE customer SET status_label = :s WHERE customer_id = :id", "customer"),
    (
        "SELECT customer_id FROM customer WHERE org_id = :o AND customer_id IN"
        " (SELECT customer_id FROM card WHERE card_number = :n)",
        "card",
    ),
    ("DELETE FROM search_term WHERE customer_id = :id", "search_term"),
    ("SELECT * FROM customer WHERE org_id = :o OR customer_id = :id", "customer"),
    ("SELECT * FROM customer WHERE NOT (org_id = :o)", "customer"),
    ("SELECT * FROM customer WHERE org_id = customer_id", "customer"),
    ("SELECT * FROM customer WHERE org_id <> :o", "customer"),
    ("SELECT * FROM customer WHERE org_id IN (SELECT org_id FROM till WHERE code = :c)", "till"),
    ("SELECT * FROM customer WHERE org_id IN (SELECT org_id FROM org)", "org"),
    ("WITH x AS (SELECT customer_id FROM customer) SELECT * FROM x", "customer"),
    ("SELECT * FROM (SELECT * FROM till) t", "till"),
    (
        "SELECT 1 FROM customer_profile WHERE org_id = :o UNION ALL SELECT 1 FROM customer_identifier"
        " WHERE value = :v",
        "customer_identifier",
    ),
    ("SELECT (SELECT count(*) FROM card k WHERE k.org_id = c.org_id) FROM customer c", "card AS k"),
    (
        "SELECT * FROM customer c WHERE c.org_id = :o AND EXISTS"
        " (SELECT 1 FROM loyalty_enrollment e WHERE e.customer_id = c.customer_id)",
        "loyalty_enrollment AS e",
    ),
    ("SELECT * FROM customer c LEFT JOIN card k ON k.org_id = c.org_id AND c.org_id = :o", "customer AS c"),
    ("SELECT * FROM customer c JOIN card k ON k.customer_id = c.customer_id WHERE org_id = :o", "card AS k"),
    ("UPDATE customer SET version = (SELECT max(version) FROM customer) WHERE org_id = :o", "customer"),
    (
        "INSERT INTO webhook_delivery (org_id, endpoint_id, event_id, order_key, status)"
        " SELECT e.org_id, e.endpoint_id, :ev, :k, 'pending' FROM webhook_endpoint e WHERE e.enabled = :t",
        "webhook_endpoint AS e",
    ),
    ("SELECT * FROM outbox_event WHERE event_id = :e", "outbox_event"),
    ("UPDATE webhook_delivery SET status = 'dead' WHERE endpoint_id = :e", "webhook_delivery"),
    ("DELETE FROM erasure_request WHERE customer_id = :c", "erasure_request"),
    (
        "SELECT * FROM webhook_attempt a JOIN outbox_event o ON o.event_id = a.event_id WHERE a.org_id = :o",
        "outbox_event AS o",
    ),
    ("SELECT org_id FROM idempotency_key WHERE idem_key = :k", "idempotency_key"),
    # A cross-org scan that is not one of the listed ones word for word.
    ("SELECT org_id, endpoint_id, url FROM webhook_endpoint WHERE enabled = :t", "webhook_endpoint"),
]

SCOPED = [
    "SELECT * FROM customer WHERE org_id = :o AND customer_id = :id",
    "SELECT * FROM customer WHERE (org_id = :o) AND customer_id = :id",
    "SELECT * FROM customer c WHERE :o = c.org_id",
    "SELECT * FROM customer WHERE org_id IN (:a, :b)",
    "SELECT * FROM customer WHERE org_id IN (:orgs*) AND customer_id IN (:ids*)",
    "SELECT 1 FROM customer WHERE org_id = 1010 AND customer_id = 1001 FOR UPDATE",
    "SELECT c.customer_id FROM customer c JOIN card k"
    " ON k.org_id = c.org_id AND k.customer_id = c.customer_id WHERE c.org_id = :o",
    "SELECT * FROM customer c LEFT JOIN card k ON k.org_id = c.org_id WHERE c.org_id = :o",
    "SELECT * FROM customer c JOIN card k USING (org_id, customer_id) WHERE c.org_id = :o",
    "SELECT (SELECT count(*) FROM card k WHERE k.org_id = c.org_id) FROM customer c WHERE c.org_id = :o",
    "SELECT 1 FROM customer_profile WHERE org_id = :o UNION ALL"
    " SELECT 1 FROM customer_identifier WHERE org_id = :o AND value = :v",
    "UPDATE customer SET version = version + 1 WHERE org_id = :o AND customer_id = :id",
    "DELETE FROM webhook_attempt WHERE org_id = :o AND endpoint_id = :e",
    "INSERT INTO customer_change (org_id, customer_id, kind) VALUES (:o, :c, :k)",
    "WITH x AS (SELECT customer_id FROM customer WHERE org_id = :o) SELECT * FROM x",
    "BEGIN",
    "COMMIT",
    "SAVEPOINT unit",
    "RELEASE unit",
    "SELECT 1",
]

PG_ONLY_SCOPED = [
    "INSERT INTO idempotency_key (org_id, idem_key, fingerprint) VALUES ($1, $2, $3)"
    " ON CONFLICT (org_id, idem_key) DO UPDATE SET fingerprint = excluded.fingerprint",
    "WITH f0_e AS (INSERT INTO outbox_event (org_id, event_id, event_uuid)"
    " SELECT u.org_id, nextval('event_id_seq'), u.event_uuid"
    " FROM unnest($1::bigint[], $2::text[]) WITH ORDINALITY AS u(org_id, event_uuid, n) ORDER BY u.n"
    " RETURNING org_id, event_id), f0_d AS (INSERT INTO webhook_delivery (org_id, endpoint_id, event_id)"
    " SELECT e.org_id, w.endpoint_id, e.event_id FROM f0_e e JOIN webhook_endpoint w"
    " ON w.org_id = e.org_id AND w.enabled) SELECT 1",
    "BEGIN; SELECT pg_advisory_xact_lock(-1107678830313563015), pg_advisory_xact_lock(52)",
    "BEGIN; SELECT 1 FROM customer WHERE org_id = 1010 AND customer_id = 1001 FOR UPDATE",
    "SET LOCAL enable_seqscan = off",
    "ANALYZE search_term",
    "EXPLAIN SELECT customer_id FROM search_term WHERE org_id = $1 AND term >= $2",
    "SELECT * FROM customer WHERE org_id = ANY($1::bigint[])",
    "SELECT * FROM customer WHERE org_id IN (SELECT unnest($1::bigint[]))",
    "SELECT d.event_id FROM webhook_delivery d WHERE d.org_id = $1 AND NOT EXISTS (SELECT 1 FROM"
    " webhook_delivery e WHERE e.org_id = d.org_id AND e.event_id < d.event_id) FOR UPDATE OF d SKIP LOCKED",
    "SELECT a FROM customer c CROSS JOIN LATERAL (SELECT 1 AS a FROM card k WHERE k.org_id = c.org_id) z"
    " WHERE c.org_id = $1",
]

SQLITE_ONLY_SCOPED = [
    "INSERT OR IGNORE INTO search_term (org_id, term, customer_id) VALUES (?, ?, ?)",
    "SELECT customer_id FROM search_term INDEXED BY ix_search_term_org_id_customer_id"
    " WHERE org_id = ? AND customer_id IN (SELECT value FROM json_each(?))",
    "EXPLAIN QUERY PLAN SELECT customer_id FROM search_term WHERE org_id = ? AND term >= ?",
    "PRAGMA journal_mode=WAL",
    "BEGIN IMMEDIATE",
    "ROLLBACK TO unit",
]

UNPARSABLE = [
    "SELECT FROM WHERE customer (",
    "SELEC * FROM customer WHERE org_id = $1",
    "COPY customer TO STDOUT",
    "LISTEN customer_changes",
]


def _both(sql: str) -> list[tuple[str, str]]:
    return [(d, compile_sql(sql, d).text) for d in ("sqlite", "postgresql")]


@pytest.mark.parametrize(("sql", "table"), UNSCOPED)
def test_unscoped_statements_are_flagged_naming_the_table(sql: str, table: str) -> None:
    for dialect, text in _both(sql):
        found = problems(dialect, text)
        assert f"{table} is read without an org_id predicate" in found, (dialect, text, found)


@pytest.mark.parametrize("sql", SCOPED)
def test_scoped_statements_pass(sql: str) -> None:
    for dialect, text in _both(sql):
        assert problems(dialect, text) == [], (dialect, text)


@pytest.mark.parametrize("sql", PG_ONLY_SCOPED)
def test_scoped_postgresql_forms_pass(sql: str) -> None:
    assert problems("postgresql", sql) == []


@pytest.mark.parametrize("sql", SQLITE_ONLY_SCOPED)
def test_scoped_sqlite_forms_pass(sql: str) -> None:
    assert problems("sqlite", sql) == []


def test_statements_that_carry_another_unscoped_one_are_flagged() -> None:
    assert problems("postgresql", "BEGIN; SELECT 1 FROM customer WHERE customer_id = 7 FOR UPDATE") == [
        "customer is read without an org_id predicate"
    ]
    assert problems("postgresql", "EXPLAIN SELECT * FROM customer WHERE customer_id = $1") == [
        "customer is read without an org_id predicate"
    ]
    assert problems(
        "sqlite", "INSERT OR IGNORE INTO card (org_id, card_number) SELECT org_id, ? FROM till"
    ) == ["till is read without an org_id predicate"]
    assert problems(
        "postgresql",
        "INSERT INTO card (org_id, card_number) VALUES ($1, $2) ON CONFLICT (org_id, card_number)"
        " DO UPDATE SET card_id = (SELECT max(card_id) FROM card)",
    ) == ["card is read without an org_id predicate"]


@pytest.mark.parametrize("sql", UNPARSABLE)
def test_a_statement_that_does_not_parse_into_a_query_fails_loudly(sql: str) -> None:
    for dialect in ("sqlite", "postgresql"):
        found = problems(dialect, sql)
        assert found and (found[0].startswith("cannot parse") or found[0].startswith("not a query")), (
            dialect,
            found,
        )


def test_a_table_the_models_do_not_know_is_flagged() -> None:
    assert problems("postgresql", "SELECT * FROM customers WHERE org_id = $1") == [
        "table 'customers' is not in the models"
    ]
    assert problems("sqlite", "INSERT INTO customer_archive (org_id) VALUES (?)") == [
        "table 'customer_archive' is not in the models"
    ]
    assert problems("sqlite", "SELECT value FROM id_sequence WHERE name = ?") == []


def test_org_owned_tables_come_from_the_models() -> None:
    with_org = {t.name for t in Base.metadata.tables.values() if "org_id" in t.c}
    assert with_org == ORG_TABLES
    assert {
        "org",
        "till",
        "customer",
        "card",
        "outbox_event",
        "webhook_endpoint",
        "webhook_delivery",
        "webhook_attempt",
        "erasure_request",
    } <= ORG_TABLES
    assert "id_sequence" not in ORG_TABLES


def test_the_guard_reports_to_its_sink_and_caches_its_verdict_per_statement() -> None:
    sink: list[str] = []
    guard = OrgScopeGuard(sink)
    guard("postgresql", "SELECT * FROM customer WHERE org_id = $1")
    assert sink == []
    for customer_id in (1, 2, 3):
        guard("postgresql", f"SELECT 1 FROM customer WHERE customer_id = {customer_id} FOR UPDATE")
    assert len(sink) == 3 and "customer is read without an org_id predicate" in sink[0]
    assert "customer_id = 1 FOR UPDATE" in sink[0]
    # Statements differing only in numbers share one verdict: parsed once.
    keys = [k for k in orgscope._verdicts if "FROM customer WHERE customer_id = 0 FOR UPDATE" in k[1]]
    assert len(keys) == 1
    assert (
        verdict("postgresql", "SELECT 1 FROM customer WHERE customer_id = 9 FOR UPDATE")
        is orgscope._verdicts[keys[0]]
    )


def _module_objects() -> list[object]:
    """Everything the app's modules hold at module level, one container deep (statement
    tables such as `_NEXTVAL = {name: Q(...)}`). Not gc.get_objects(): the app freezes what
    exists at start-up (gc.freeze), and frozen objects are not listed."""
    found: list[object] = []
    for info in pkgutil.walk_packages(patron.__path__, "patron."):
        if ".migrations" in info.name or info.name.endswith("__main__"):
            continue
        for value in vars(importlib.import_module(info.name)).values():
            found.append(value)
            if isinstance(value, dict):
                found.extend(value.values())
            elif isinstance(value, list | tuple | set | frozenset):
                found.extend(value)
    return found


def test_every_statement_of_the_app_parses_and_is_scoped_or_a_listed_cross_org_scan() -> None:
    objects = _module_objects()
    statements = list({id(o): o for o in objects if isinstance(o, Q)}.values())
    tables = list({id(o): o for o in objects if isinstance(o, Table)}.values())
    assert len(statements) > 50 and len(tables) >= 5
    texts = [(d, q.text(d)) for q in statements for d in ("sqlite", "postgresql")]
    texts += [("sqlite", t.sqlite_insert.text("sqlite")) for t in tables]
    texts += [
        ("postgresql", compile_sql(f"WITH {t.pg_fragment().format(p='f0_')} SELECT 1", "postgresql").text)
        for t in tables
    ]
    flagged = {(d, text): found for d, text in texts if (found := problems(d, text))}
    assert flagged == {}
    # Each listed cross-org scan is still one of the app's statements.
    normalised = {orgscope.normalise(text) for _, text in texts}
    assert set(CROSS_ORG) <= normalised
