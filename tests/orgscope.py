"""The org-scope guard: every statement the app runs is parsed (sqlglot) and every read or
write of an org-owned table must be constrained to an org.

Org-owned tables are the tables of the models (`patron.db.models`) that have an `org_id`
column. In every SELECT, UPDATE and DELETE, at any depth (CTE bodies, subqueries, derived
tables, the SELECT of an INSERT ... SELECT, each arm of a UNION), each reference to such a
table must be scoped by a conjunct of its WHERE (or of an inner join's ON; a LEFT JOIN's ON
scopes only the table it joins in) that is

- `t.org_id = <value>`, `t.org_id IN (<values>)`, `t.org_id = ANY(<value>)`, or
  `t.org_id IN (SELECT value FROM json_each(<value>))`, where a value is a bind parameter or
  a literal (possibly cast); or
- `t.org_id = u.org_id` where `u` is scoped: another table of the same query, a table of an
  enclosing query (correlated subqueries), or a source whose rows the guard checks where
  they are made (a CTE, a derived table, `unnest(...)` of parameters).

A predicate under OR or NOT scopes nothing. INSERT ... VALUES needs no predicate (the row
carries its org_id); ON CONFLICT ... DO UPDATE acts on the row whose key, led by org_id,
conflicted. Statements that only drive the transaction (BEGIN, COMMIT, SET, ANALYZE ...) are
let through; a statement sqlglot cannot parse into a query is reported, never skipped, and
so is a table the models do not know (only `id_sequence` and `alembic_version` are known to
carry no org).

`CROSS_ORG` lists, by exact text, the statements that scan every org on purpose (the
worker's directory of endpoints, its erasure pass, the expired idempotency keys); any other
statement is judged.
Verdicts are cached per statement text with numbers folded, so a statement is parsed once.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field

import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError
from sqlglot.tokens import TokenType

from patron.db import models  # noqa: F401  (registers the tables on Base.metadata)
from patron.db.base import Base

ORG_TABLES: frozenset[str] = frozenset(t.name for t in Base.metadata.tables.values() if "org_id" in t.c)
# Tables without an org: the SQLite id counters and Alembic's bookkeeping (not in the models),
# and the tables the models define without org_id (none today).
NOT_ORG_TABLES: frozenset[str] = frozenset(
    {"id_sequence", "alembic_version", "sqlite_master", "sqlite_schema"}
    | {t.name for t in Base.metadata.tables.values() if "org_id" not in t.c}
)

# Statements that read across orgs by design, in normalised form (see `normalise`).
CROSS_ORG: dict[str, str] = {
    "SELECT org_id FROM org ORDER BY org_id": "scheduler.py: the orgs a scheduled job walks",
    "SELECT org_id, endpoint_id, url, description, event_types, enabled, disabled_reason,"
    " secret_encrypted, previous_secret_encrypted, previous_secret_expires_at, max_in_flight,"
    " failing_since, last_success_at, created_at, updated_at FROM webhook_endpoint WHERE enabled = ?": (
        "webhooks/repository.py: the delivery worker's directory of every org's enabled endpoints"
    ),
    "SELECT org_id, customer_id, reason FROM erasure_request WHERE due_at <= ? ORDER BY due_at LIMIT ?": (
        "customers/erasure.py: the worker's pass over the erasures due in every org"
    ),
    "SELECT DISTINCT org_id FROM idempotency_key WHERE expires_at <= ? ORDER BY org_id LIMIT ?": (
        "idempotency/repository.py: which orgs hold expired keys (each is then pruned per org)"
    ),
    "SELECT DISTINCT org_id FROM rate_limit_window WHERE window_start < ? ORDER BY org_id LIMIT ?": (
        "security/ratelimit.py: which orgs hold closed rate-limit windows (each is then pruned per org)"
    ),
    "SELECT DISTINCT org_id FROM access_rule_use WHERE period_end <= ? ORDER BY org_id LIMIT ?": (
        "users/access_rules.py: which orgs hold counts of ended periods (each is then pruned per org)"
    ),
    "SELECT DISTINCT org_id FROM credential_failure WHERE updated_at < ? ORDER BY org_id LIMIT ?": (
        "security/attempts.py: which orgs hold stale credential failures (each is then pruned per org)"
    ),
    "SELECT org_id, message_id, customer_id, channel, purpose, sealed, attempts, expires_at, created_at"
    " FROM message_outbox WHERE next_attempt_at <= ? ORDER BY next_attempt_at LIMIT ?": (
        "messages/outbox.py: the worker's pass over the messages due in every org (each then per org)"
    ),
    "SELECT org_id, (SELECT min(d.created_at) FROM webhook_delivery d WHERE d.org_id = org.org_id"
    " AND d.status = 'pending'), (SELECT count(*) FROM webhook_delivery d WHERE d.org_id = org.org_id"
    " AND d.status = 'dead') FROM org": (
        "metrics.py: a /metrics scrape's outbox lag and dead deliveries over every org (per org a"
        " range of the (org_id, status, next_attempt_at) index)"
    ),
}

_DIALECTS = {"sqlite": "sqlite", "postgresql": "postgres"}
_CONTROL = re.compile(
    r"^(BEGIN|COMMIT|END|ROLLBACK|SAVEPOINT|RELEASE|SET|RESET|ANALYZE|VACUUM|PRAGMA)\b", re.I
)
_EXPLAIN = re.compile(r"^EXPLAIN\s+(?:QUERY\s+PLAN\s+|\([^)]*\)\s*|ANALYZE\s+|VERBOSE\s+)*", re.I)
_NUMBER = re.compile(r"(?<![\w$])\d+(?![\w.])")
_PARAM = re.compile(r"\$\d+|\?")


def normalise(statement: str) -> str:
    """Whitespace collapsed, bind parameters written `?` (both engines' forms)."""
    return _PARAM.sub("?", " ".join(statement.split()))


class OrgScopeGuard:
    """`guard(dialect, statement)`: an observer for `Database.observers`; what it finds
    wrong goes to `sink`, one message per statement."""

    def __init__(self, sink: list[str]) -> None:
        self.sink = sink

    def __call__(self, dialect: str, statement: str) -> None:
        problems = verdict(dialect, statement)
        if problems:
            self.sink.append(f"{'; '.join(problems)}\n    in [{dialect}] {statement}")


_verdicts: dict[tuple[str, str], tuple[str, ...]] = {}


def verdict(dialect: str, statement: str) -> tuple[str, ...]:
    """What is wrong with one statement as the app sent it (empty: nothing)."""
    key = (dialect, _NUMBER.sub("0", statement))
    found = _verdicts.get(key)
    if found is None:
        found = _verdicts[key] = tuple(problems(dialect, statement))
    return found


# A bulk load (db/tx.py `PgTx.copy`): each row carries its org_id, like INSERT ... VALUES.
COPY = re.compile(r"^COPY (\w+) \(([^)]*)\) FROM STDIN\b", re.IGNORECASE)


def _copy_problems(copy: re.Match[str]) -> list[str]:
    table, columns = copy.group(1), [c.strip() for c in copy.group(2).split(",")]
    if table not in ORG_TABLES:
        return [f"COPY into {table}, which the models do not know as an org table"]
    if "org_id" not in columns:
        return [f"COPY into {table} without its org_id"]
    return []


def problems(dialect: str, statement: str) -> list[str]:
    if normalise(statement) in CROSS_ORG:
        return []
    read = _DIALECTS.get(dialect)
    if read is None:
        return [f"unknown dialect {dialect!r}"]
    try:
        pieces = _split(statement, read)
    except SqlglotError as exc:
        return [f"cannot tokenize: {exc}"]
    found: list[str] = []
    for piece in pieces:
        if _CONTROL.match(piece):
            continue
        copy = COPY.match(piece)
        if copy is not None:
            found.extend(_copy_problems(copy))
            continue
        text = _EXPLAIN.sub("", piece)
        try:
            tree = sqlglot.parse_one(text, read=read)
        except SqlglotError as exc:
            found.append(f"cannot parse: {str(exc).splitlines()[0]}")
            continue
        if not isinstance(tree, (exp.Query, exp.Insert, exp.Update, exp.Delete)):
            found.append(f"not a query sqlglot understands ({type(tree).__name__})")
            continue
        found.extend(Checker().statement(tree, []))
    return found


def _split(statement: str, read: str) -> list[str]:
    """The statements of a text (`BEGIN; SELECT ...`), split on its `;` tokens."""
    tokens = sqlglot.Dialect.get_or_raise(read).tokenize(statement)
    pieces, start = [], 0
    for token in tokens:
        if token.token_type == TokenType.SEMICOLON:
            pieces.append(statement[start : token.start])
            start = token.end + 1
    pieces.append(statement[start:])
    return [p.strip() for p in pieces if p.strip()]


# The checker ---------------------------------------------------------------------------------


@dataclass
class Source:
    """A name in a FROM: an org-owned table, or rows checked elsewhere (`derived`)."""

    table: str
    derived: bool
    scoped: bool
    may_have_org_id: bool = True


@dataclass
class Frame:
    sources: dict[str, Source] = field(default_factory=dict)


Frames = list[Frame]
_QUERY = (exp.Select, exp.SetOperation, exp.Insert, exp.Update, exp.Delete)


class Checker:
    def __init__(self) -> None:
        self.problems: list[str] = []

    def statement(
        self, node: exp.Expression, frames: Frames, ctes: frozenset[str] = frozenset()
    ) -> list[str]:
        self._query(node, frames, ctes)
        return self.problems

    # Dispatch ---------------------------------------------------------------------------

    def _query(self, node: exp.Expression, frames: Frames, ctes: frozenset[str]) -> None:
        ctes = self._with(node, frames, ctes)
        if isinstance(node, exp.Subquery):
            self._query(node.this, frames, ctes)
        elif isinstance(node, exp.SetOperation):
            self._query(node.this, frames, ctes)
            self._query(node.expression, frames, ctes)
        elif isinstance(node, exp.Select):
            self._select(node, frames, ctes)
        elif isinstance(node, exp.Update):
            self._update(node, frames, ctes)
        elif isinstance(node, exp.Delete):
            self._delete(node, frames, ctes)
        elif isinstance(node, exp.Insert):
            self._insert(node, frames, ctes)
        else:
            self.problems.append(f"unexpected query node {type(node).__name__}")

    def _with(self, node: exp.Expression, frames: Frames, ctes: frozenset[str]) -> frozenset[str]:
        with_ = node.args.get("with_")
        if with_ is None:
            return ctes
        for cte in with_.expressions:
            # A recursive CTE may name itself; others see the CTEs before them.
            self._query(cte.this, frames, ctes | {cte.alias_or_name} if with_.args.get("recursive") else ctes)
            ctes = ctes | {cte.alias_or_name}
        return ctes

    # Statements ---------------------------------------------------------------------------

    def _select(self, node: exp.Select, frames: Frames, ctes: frozenset[str]) -> None:
        frame = Frame()
        conjuncts: list[tuple[exp.Expression, str | None]] = []
        derived: list[exp.Expression] = []
        from_ = node.args.get("from_")
        if from_ is not None:
            self._add_source(frame, from_.this, ctes, derived)
        for join in node.args.get("joins") or []:
            alias = self._add_source(frame, join.this, ctes, derived)
            side = (join.args.get("side") or "").upper()
            kind = (join.args.get("kind") or "").upper()
            on = join.args.get("on")
            if on is not None:
                if side in ("", "INNER") and kind not in ("SEMI", "ANTI"):
                    conjuncts.extend((c, None) for c in _conjuncts(on))
                elif side == "LEFT":
                    conjuncts.extend((c, alias) for c in _conjuncts(on))
                # RIGHT and FULL joins: their ON filters neither side's rows out.
            using = join.args.get("using") or []
            if alias is not None and any(_name(u) == "org_id" for u in using):
                for other in list(frame.sources)[:-1]:
                    conjuncts.append((_org_equality(alias, other), None))
        where = node.args.get("where")
        if where is not None:
            conjuncts.extend((c, None) for c in _conjuncts(where.this))
        self._resolve(frame, frames, conjuncts)
        inner = [*frames, frame]
        for body in derived:
            self._query(body, inner, ctes)
        skip = {"with_", "from_", "joins"}
        for key, value in node.args.items():
            if key in skip:
                continue
            self._nested(value, inner, ctes)
        for join in node.args.get("joins") or []:
            self._nested(join.args.get("on"), inner, ctes)

    def _update(self, node: exp.Update, frames: Frames, ctes: frozenset[str]) -> None:
        frame = Frame()
        derived: list[exp.Expression] = []
        self._add_source(frame, node.this, ctes, derived)
        from_ = node.args.get("from_")
        if from_ is not None:
            self._add_source(frame, from_.this, ctes, derived)
        self._filtered(node, frame, frames, ctes, derived, skip={"with_", "this", "from_"})

    def _delete(self, node: exp.Delete, frames: Frames, ctes: frozenset[str]) -> None:
        frame = Frame()
        derived: list[exp.Expression] = []
        self._add_source(frame, node.this, ctes, derived)
        for using in node.args.get("using") or []:
            self._add_source(frame, using, ctes, derived)
        self._filtered(node, frame, frames, ctes, derived, skip={"with_", "this", "using"})

    def _filtered(
        self,
        node: exp.Expression,
        frame: Frame,
        frames: Frames,
        ctes: frozenset[str],
        derived: list[exp.Expression],
        skip: set[str],
    ) -> None:
        where = node.args.get("where")
        conjuncts = [(c, None) for c in _conjuncts(where.this)] if where is not None else []
        self._resolve(frame, frames, conjuncts)
        inner = [*frames, frame]
        for body in derived:
            self._query(body, inner, ctes)
        for key, value in node.args.items():
            if key not in skip:
                self._nested(value, inner, ctes)

    def _insert(self, node: exp.Insert, frames: Frames, ctes: frozenset[str]) -> None:
        target = node.this.this if isinstance(node.this, exp.Schema) else node.this
        if isinstance(target, exp.Table):
            self._known(target.name)
        body = node.expression
        if isinstance(body, (exp.Query, exp.Subquery)):
            self._query(body, frames, ctes)
        else:
            self._nested(body, frames, ctes)  # VALUES: only subqueries inside them are reads
        for key in ("conflict", "where"):
            self._nested(node.args.get(key), frames, ctes)

    # Sources and scope ----------------------------------------------------------------------

    def _known(self, table: str) -> bool:
        """Whether the table is org-owned; an unknown table is a problem."""
        if table in ORG_TABLES:
            return True
        if table not in NOT_ORG_TABLES:
            self.problems.append(f"table {table!r} is not in the models")
        return False

    def _add_source(
        self, frame: Frame, node: exp.Expression, ctes: frozenset[str], derived: list[exp.Expression]
    ) -> str | None:
        alias = node.alias_or_name or f"_{len(frame.sources)}"
        if isinstance(node, exp.Table) and isinstance(node.this, exp.Identifier):
            name = node.name
            if name in ctes and not node.args.get("db"):
                frame.sources[alias] = Source(name, derived=True, scoped=True)
            elif self._known(name):
                frame.sources[alias] = Source(name, derived=False, scoped=False)
            else:
                frame.sources[alias] = Source(name, derived=True, scoped=True, may_have_org_id=False)
            return alias
        if isinstance(node, (exp.Subquery, exp.Lateral)):
            body = node.this
            derived.append(body)
            frame.sources[alias] = Source(alias, derived=True, scoped=True)
            return alias
        # Table functions (unnest, json_each, generate_series ...): rows made of their
        # arguments; a subquery among those is judged like any other.
        derived.extend(q for q in _queries(node))
        frame.sources[alias] = Source(alias, derived=True, scoped=True, may_have_org_id=False)
        return alias

    def _resolve(
        self, frame: Frame, frames: Frames, conjuncts: list[tuple[exp.Expression, str | None]]
    ) -> None:
        """Mark the frame's org-owned tables that the conjuncts scope; report the rest."""
        changed = True
        while changed:
            changed = False
            for conjunct, only in conjuncts:
                for alias in self._scoped_by(conjunct, frame, frames):
                    if only is not None and alias != only:
                        continue
                    source = frame.sources.get(alias)
                    if source is not None and not source.scoped:
                        source.scoped = changed = True
        for alias, source in frame.sources.items():
            if not source.derived and not source.scoped:
                named = source.table if alias == source.table else f"{source.table} AS {alias}"
                self.problems.append(f"{named} is read without an org_id predicate")

    def _scoped_by(self, conjunct: exp.Expression, frame: Frame, frames: Frames) -> Iterator[str]:
        """The aliases of this frame that one conjunct scopes (given what is scoped so far)."""
        conjunct = _unparen(conjunct)
        if isinstance(conjunct, exp.EQ):
            left, right = _unparen(conjunct.this), _unparen(conjunct.expression)
            for col, other in ((left, right), (right, left)):
                alias = self._org_column(col, frame, frames)
                if alias is None:
                    continue
                if _is_value(other):
                    yield alias
                else:
                    partner = self._org_column(other, frame, frames)
                    if partner is not None and self._is_scoped(partner, frame, frames):
                        yield alias
        elif isinstance(conjunct, exp.In) and not conjunct.args.get("unnest"):
            alias = self._org_column(_unparen(conjunct.this), frame, frames)
            if alias is None:
                return
            query = conjunct.args.get("query")
            if query is not None:
                if _is_value_list_query(query):
                    yield alias
            elif conjunct.expressions and all(_is_value(e) for e in conjunct.expressions):
                yield alias

    def _org_column(self, node: exp.Expression, frame: Frame, frames: Frames) -> str | None:
        """The alias whose org_id this column is, in this frame (None if another frame's or
        not an org_id column at all). Outer frames' aliases are returned prefixed."""
        if not isinstance(node, exp.Column) or node.name != "org_id":
            return None
        qualifier = node.table
        for depth, f in enumerate([frame, *reversed(frames)]):
            if qualifier:
                if qualifier in f.sources:
                    return qualifier if depth == 0 else f"^{depth}:{qualifier}"
                continue
            owners = [a for a, s in f.sources.items() if s.may_have_org_id]
            if len(owners) == 1:
                return owners[0] if depth == 0 else f"^{depth}:{owners[0]}"
            if owners:
                return None  # ambiguous: SQL would refuse it; it scopes nothing
        return None

    def _is_scoped(self, alias: str, frame: Frame, frames: Frames) -> bool:
        if alias.startswith("^"):
            depth, name = alias[1:].split(":", 1)
            return frames[-int(depth)].sources[name].scoped
        return frame.sources[alias].scoped

    # Nested queries ------------------------------------------------------------------------

    def _nested(self, value: object, frames: Frames, ctes: frozenset[str]) -> None:
        """Check every query inside an expression (scalar subqueries, EXISTS, IN (...))."""
        if isinstance(value, list):
            for item in value:
                self._nested(item, frames, ctes)
            return
        if not isinstance(value, exp.Expression):
            return
        for query in _queries(value):
            self._query(query, frames, ctes)


def _queries(node: exp.Expression) -> Iterator[exp.Expression]:
    """The outermost queries inside an expression (not descending into them)."""
    if isinstance(node, _QUERY):
        yield node
        return
    for child in node.iter_expressions():
        yield from _queries(child)


def _conjuncts(node: exp.Expression) -> Iterator[exp.Expression]:
    node = _unparen(node)
    if isinstance(node, exp.And):
        yield from _conjuncts(node.this)
        yield from _conjuncts(node.expression)
    else:
        yield node


def _unparen(node: exp.Expression) -> exp.Expression:
    while isinstance(node, exp.Paren):
        node = node.this
    return node


def _is_value(node: exp.Expression) -> bool:
    """A bind parameter or a literal, possibly cast, negated, or `ANY(...)` of one."""
    node = _unparen(node)
    while isinstance(node, (exp.Cast, exp.Neg, exp.Any, exp.Paren)):
        node = node.this
    return isinstance(node, (exp.Parameter, exp.Placeholder, exp.Literal))


def _is_value_list_query(query: exp.Expression) -> bool:
    """`SELECT value FROM json_each(?)`, `SELECT unnest($1)`: a list given as a parameter."""
    query = _unparen(query)
    if isinstance(query, exp.Subquery):
        query = query.this
    if not isinstance(query, exp.Select) or query.args.get("where") or query.args.get("joins"):
        return False
    from_ = query.args.get("from_")
    if from_ is None:
        return (
            len(query.expressions) == 1
            and isinstance(query.expressions[0], exp.Explode)
            and _is_value(query.expressions[0].this)
        )
    source = from_.this
    func = source.this if isinstance(source, exp.Table) else source
    if isinstance(func, exp.Unnest):
        return all(_is_value(e) for e in func.expressions)
    return (
        isinstance(func, exp.Anonymous)
        and str(func.this).lower() == "json_each"
        and all(_is_value(e) for e in func.expressions)
    )


def _name(node: exp.Expression) -> str:
    return node.name if isinstance(node, (exp.Identifier, exp.Column)) else str(node)


def _org_equality(left: str, right: str) -> exp.Expression:
    return exp.EQ(this=exp.column("org_id", table=left), expression=exp.column("org_id", table=right))
