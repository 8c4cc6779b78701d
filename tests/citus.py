"""Citus readiness, proven on the models and on the statements the app sends.

The schema: every table of the models is distributed by `org_id` (all co-located with
`org`), or is a reference table (none today). `citus_ddl()` writes the statements that
distribute them, in the models' dependency order; docs/scale.md quotes them and
tests/integration/test_citus.py checks that it does.

The statements: each must reach one shard, that is touch exactly one `org_id` value.
The check has two halves.

- Static (`shape`, sqlglot, cached per statement text with numbers folded): every
  reference to a table of the models, at any depth, is tied to an org value: a conjunct
  `t.org_id = <value>` (a bind parameter or a literal), a one-element `IN (<value>)`, or an
  equality `t.org_id = u.org_id` with a reference (or a CTE, a derived table, a correlated
  outer table, the rows of an INSERT) that is tied to one. A multi-valued predicate on an
  org_id (`IN` with several values, `= ANY(...)`, `IN (SELECT value FROM json_each(...))`)
  makes the statement multi-shard. The org_id of an inserted row is the value at its
  column: a parameter of `VALUES`, or of the SELECT that feeds the INSERT, or an element
  of a parameter array that `unnest(...)` turns into rows (PostgreSQL's batched writes).
- At run time (`check_arguments`, called with every statement's parameters): all the
  parameters that the static half found in org_id positions hold one value between them,
  and every element of an org_id array is that value. A statement whose text names the
  org twice (`$1` in one CTE, `$7` in another: PostgreSQL's held-back writes are one
  statement of several fragments) is one-shard only if the values agree, which the text
  alone cannot show.

`MULTI_SHARD` lists, by normalised text, the statements that read every org on purpose:
background jobs, which Citus runs as multi-shard queries. Any other statement that does
not route to one shard is reported.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import sqlglot
from sqlalchemy import MetaData, Table
from sqlglot import exp
from sqlglot.errors import SqlglotError
from sqlglot.tokens import TokenType

from patron.db import models  # noqa: F401  (registers the tables on Base.metadata)
from patron.db.base import Base
from patron.db.sql import Compiled
from tests import orgscope
from tests.orgscope import (
    _CONTROL,
    _DIALECTS,
    _EXPLAIN,
    _NUMBER,
    CROSS_ORG,
    ORG_TABLES,
    Checker,
    Frame,
    Frames,
    Source,
    _unparen,
    normalise,
)
from tests.orgscope import _split as split_statements

# The schema ----------------------------------------------------------------------------------

# The table every distributed table is co-located with. `org` holds one row per org and is
# distributed like the rest (its primary key is org_id), so an org's own row lives on the
# node that holds its customers and moves with them when the org is isolated.
COLOCATE_WITH = "org"

# Small tables copied to every node (create_reference_table): the tables of the models
# without org_id, each marked `info={"citus": "reference"}` in db/models.py and given its
# reason here. Every table that carries org_id, `org` included, is distributed.
REASONS: dict[str, str] = {
    "worker_heartbeat": (
        "one row per running delivery worker, belonging to the installation, not to an org;"
        " a few rows, read by /ready on whichever node serves it"
    ),
}
REFERENCE: dict[str, str] = {
    t.name: REASONS.get(t.name, "") for t in Base.metadata.sorted_tables if t.info.get("citus") == "reference"
}

# Tables that are not Patron's data and are never distributed.
NOT_DISTRIBUTED: dict[str, str] = {
    "alembic_version": "Alembic's one-row record of the schema revision: a plain table on the coordinator",
    "id_sequence": "SQLite only: the embedded engine's id counters (PostgreSQL uses sequences)",
}


def distributed_tables() -> list[Table]:
    """The models' tables to distribute: `org` first (the others are co-located with it),
    then referenced tables before the tables referring to them."""
    tables = [t for t in Base.metadata.sorted_tables if t.name not in REFERENCE]
    return sorted(tables, key=lambda t: t.name != COLOCATE_WITH)  # stable: keeps the rest in order


def citus_ddl() -> str:
    """The statements that distribute the schema, one a line, in an order Citus accepts."""
    lines = [f"SELECT create_reference_table('{name}');" for name in sorted(REFERENCE)]
    for table in distributed_tables():
        if table.name == COLOCATE_WITH:
            lines.append(f"SELECT create_distributed_table('{table.name}', 'org_id');")
        else:
            options = f"'org_id', colocate_with => '{COLOCATE_WITH}'"
            lines.append(f"SELECT create_distributed_table('{table.name}', {options});")
    return "\n".join(lines)


def schema_problems(metadata: MetaData = Base.metadata) -> list[str]:
    """What keeps the models from distributing by org_id, co-located (empty: nothing)."""
    found: list[str] = []
    tables = metadata.tables
    org_type = str(tables[COLOCATE_WITH].c.org_id.type.compile(dialect=_pg_dialect()))
    for table in metadata.sorted_tables:
        name = table.name
        if table.info.get("citus") == "reference":
            continue
        if "org_id" not in table.c:
            found.append(f"{name}: no org_id and not a reference table")
            continue
        column_type = str(table.c.org_id.type.compile(dialect=_pg_dialect()))
        if column_type != org_type:  # co-location needs one type of distribution column
            found.append(f"{name}: org_id is {column_type}, {COLOCATE_WITH}.org_id is {org_type}")
        if table.c.org_id.nullable:
            found.append(f"{name}: org_id is nullable")
        keys: list[tuple[str, list[str]]] = [("primary key", [c.name for c in table.primary_key.columns])]
        keys += [
            (f"unique {c.name}", [col.name for col in c.columns])
            for c in table.constraints
            if c.__class__.__name__ == "UniqueConstraint"
        ]
        keys += [(f"index {i.name}", [c.name for c in i.columns]) for i in table.indexes]
        for what, columns in keys:
            if not columns or columns[0] != "org_id":
                found.append(f"{name}: {what} {columns} does not lead with org_id")
        for fk in table.foreign_key_constraints:
            target = fk.referred_table.name
            pairs = [(e.parent.name, e.column.name) for e in fk.elements]
            if target in REFERENCE:
                continue  # a distributed table may refer to a reference table freely
            if not pairs or pairs[0] != ("org_id", "org_id"):
                found.append(
                    f"{name}: foreign key to {target} {pairs} does not pair org_id with org_id first"
                )
    return found


def _pg_dialect() -> Any:
    from sqlalchemy.dialects import postgresql

    return postgresql.dialect()


# The statements --------------------------------------------------------------------------------

# Statements that touch every org on purpose: background jobs (the worker, the scheduler,
# the pruning passes), which Citus runs as multi-shard queries. Each then works per org.
MULTI_SHARD: dict[str, str] = dict(CROSS_ORG)

_PG_PARAM = re.compile(r"\$\d")

# A slot: where an org value comes from. ("param", i): the i-th parameter name of the
# compiled statement; ("array", i): every element of that parameter; ("lit", text).
Slot = tuple[str, Any]


@dataclass(frozen=True)
class Shape:
    problems: tuple[str, ...]
    slots: tuple[Slot, ...]


@dataclass
class _Links:
    parent: dict[object, object] = field(default_factory=dict)

    def find(self, node: object) -> object:
        self.parent.setdefault(node, node)
        while self.parent[node] != node:
            self.parent[node] = self.parent[self.parent[node]]
            node = self.parent[node]
        return node

    def union(self, a: object, b: object) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[ra] = rb


class ShardChecker(Checker):
    """The org-scope checker's walk, recording which org value each table reference is tied to."""

    def __init__(self) -> None:
        super().__init__()
        self.links = _Links()
        self.tables: list[tuple[object, str]] = []  # (node, what) that must reach one value
        self.multi: list[str] = []
        self.outputs: dict[int, list[tuple[str, object | None]]] = {}
        self.later: list[tuple[object, int, str | int]] = []  # (node, query id, column name or position)
        self.cte_bodies: dict[str, int] = {}
        self.stack: list[exp.Expression] = []
        self.unnest_org: dict[int, object] = {}

    # Hooks into the walk ---------------------------------------------------------------------

    def _with(self, node: exp.Expression, frames: Frames, ctes: frozenset[str]) -> frozenset[str]:
        with_ = node.args.get("with_")
        if with_ is not None:
            for cte in with_.expressions:
                body = cte.this.this if isinstance(cte.this, exp.Subquery) else cte.this
                self.cte_bodies[cte.alias_or_name] = id(body)
        return super()._with(node, frames, ctes)

    def _select(self, node: exp.Select, frames: Frames, ctes: frozenset[str]) -> None:
        self.stack.append(node)
        super()._select(node, frames, ctes)
        self.stack.pop()

    def _update(self, node: exp.Update, frames: Frames, ctes: frozenset[str]) -> None:
        self.stack.append(node)
        super()._update(node, frames, ctes)
        self.stack.pop()

    def _delete(self, node: exp.Delete, frames: Frames, ctes: frozenset[str]) -> None:
        self.stack.append(node)
        super()._delete(node, frames, ctes)
        self.stack.pop()

    def _add_source(
        self, frame: Frame, node: exp.Expression, ctes: frozenset[str], derived: list[exp.Expression]
    ) -> str | None:
        alias = super()._add_source(frame, node, ctes, derived)
        source = frame.sources.get(alias) if alias is not None else None
        if source is None:
            return alias
        if isinstance(node, (exp.Subquery, exp.Lateral)):
            self.later.append((id(source), id(node.this), "org_id"))
        elif isinstance(node, exp.Table) and source.derived and source.table in self.cte_bodies:
            self.later.append((id(source), self.cte_bodies[source.table], "org_id"))
        else:
            func = node.this if isinstance(node, exp.Table) else node
            if isinstance(func, exp.Unnest):
                self._unnest(source, func)
        return alias

    def _unnest(self, source: Source, func: exp.Unnest) -> None:
        """`unnest(:a::bigint[], ...) AS u(org_id, ...)`: u.org_id takes the first array's elements."""
        table_alias = func.args.get("alias")
        columns = [c.name for c in table_alias.columns] if table_alias is not None else []
        if "org_id" in columns:
            position = columns.index("org_id")
            if position < len(func.expressions):
                slot = self.slot(func.expressions[position])
                if slot is not None and slot[0] == "param":
                    self.links.union(id(source), ("array", slot[1]))

    def _resolve(
        self, frame: Frame, frames: Frames, conjuncts: list[tuple[exp.Expression, str | None]]
    ) -> None:
        super()._resolve(frame, frames, conjuncts)
        for alias, source in frame.sources.items():
            if not source.derived:
                what = source.table if alias == source.table else f"{source.table} AS {alias}"
                self.tables.append((id(source), what))
        for conjunct, _ in conjuncts:
            self._tie(_unparen(conjunct), frame, frames)
        node = self.stack[-1] if self.stack else None
        if isinstance(node, exp.Select):
            self.outputs[id(node)] = [self._output(e, frame, frames) for e in node.expressions]
        elif isinstance(node, (exp.Update, exp.Delete)):
            returning = node.args.get("returning")
            if returning is not None:
                self.outputs[id(node)] = [self._output(e, frame, frames) for e in returning.expressions]

    def _tie(self, conjunct: exp.Expression, frame: Frame, frames: Frames) -> None:
        if isinstance(conjunct, exp.EQ):
            left, right = _unparen(conjunct.this), _unparen(conjunct.expression)
            for col, other in ((left, right), (right, left)):
                source = self._source_of(col, frame, frames)
                if source is None:
                    continue
                if _has_any(other):
                    self.multi.append(f"org_id = ANY(...) names several orgs: {conjunct.sql()}")
                    return
                slot = self.slot(other)
                if slot is not None:
                    self.links.union(source, slot)
                    return
                partner = self._source_of(other, frame, frames)
                if partner is not None:
                    self.links.union(source, partner)
                    return
        elif isinstance(conjunct, exp.In):
            source = self._source_of(_unparen(conjunct.this), frame, frames)
            if source is None:
                return
            values = conjunct.expressions
            if conjunct.args.get("query") is None and len(values) == 1 and self.slot(values[0]) is not None:
                self.links.union(source, self.slot(values[0]))
            else:
                self.multi.append(f"org_id IN (...) names several orgs: {conjunct.sql()}")

    def _source_of(self, node: exp.Expression, frame: Frame, frames: Frames) -> int | None:
        alias = self._org_column(node, frame, frames)
        if alias is None:
            return None
        if alias.startswith("^"):
            depth, name = alias[1:].split(":", 1)
            return id(frames[-int(depth)].sources[name])
        return id(frame.sources[alias])

    def _output(self, expression: exp.Expression, frame: Frame, frames: Frames) -> tuple[str, object | None]:
        name = expression.alias_or_name
        inner = _unparen(expression.this if isinstance(expression, exp.Alias) else expression)
        slot = self.slot(inner)
        if slot is not None:
            return name, slot
        return name, self._source_of(inner, frame, frames)

    def _insert(self, node: exp.Insert, frames: Frames, ctes: frozenset[str]) -> None:
        super()._insert(node, frames, ctes)
        target = node.this.this if isinstance(node.this, exp.Schema) else node.this
        if not isinstance(target, exp.Table) or target.name not in ORG_TABLES:
            return
        columns = [c.name for c in node.this.expressions] if isinstance(node.this, exp.Schema) else []
        if "org_id" not in columns:
            self.problems.append(f"INSERT INTO {target.name} names no org_id column")
            return
        position = columns.index("org_id")
        row = ("insert", id(node))
        self.tables.append((row, f"the rows inserted into {target.name}"))
        body = node.expression
        body = body.this if isinstance(body, exp.Subquery) else body
        if isinstance(body, exp.Values):
            for values in body.expressions:
                items = values.expressions if isinstance(values, exp.Tuple) else [values]
                slot = self.slot(items[position]) if position < len(items) else None
                if slot is not None:
                    self.links.union(row, slot)
        elif isinstance(body, exp.Query):
            self.later.append((row, id(body), position))
        returning = node.args.get("returning")
        if returning is not None:
            self.outputs[id(node)] = [(e.alias_or_name, row) for e in returning.expressions]

    # Values --------------------------------------------------------------------------------

    def slot(self, node: exp.Expression) -> Slot | None:
        """The org value a parameter or a literal (possibly cast) stands for."""
        node = _unparen(node)
        while isinstance(node, (exp.Cast, exp.Paren)):
            node = node.this
        if isinstance(node, exp.Parameter):  # PostgreSQL's $n
            return ("param", int(node.this.this) - 1)
        if isinstance(node, exp.Placeholder) and str(node.this or "").startswith("p"):  # SQLite's ?, numbered
            return ("param", int(str(node.this)[1:]))
        if isinstance(node, exp.Literal) and not node.is_string:
            return ("lit", node.this)
        return None

    # The verdict ---------------------------------------------------------------------------

    def verdict(self) -> Shape:
        for node, query, column in self.later:
            outputs = self.outputs.get(query)
            if outputs is None:
                continue
            if isinstance(column, int):
                found = outputs[column][1] if column < len(outputs) else None
            else:
                found = next((n for name, n in outputs if name == column), None)
            if found is not None:
                self.links.union(node, found)
        slots_of: dict[object, set[Slot]] = {}
        for node in list(self.links.parent):
            if isinstance(node, tuple) and node[0] in ("param", "array", "lit"):
                slots_of.setdefault(self.links.find(node), set()).add(node)  # type: ignore[arg-type]
        problems = list(dict.fromkeys(self.multi))
        slots: set[Slot] = set()
        for node, what in self.tables:
            found = slots_of.get(self.links.find(node))
            if not found:
                problems.append(f"{what}: org_id is tied to no single value")
            else:
                slots |= found
        literals = {s[1] for s in slots if s[0] == "lit"}
        if len(literals) > 1:
            problems.append(f"org_id takes several literal values: {sorted(literals)}")
        return Shape(tuple(problems), tuple(sorted(slots, key=repr)))


def _has_any(node: exp.Expression) -> bool:
    node = _unparen(node)
    while isinstance(node, (exp.Cast, exp.Paren)):
        node = node.this
    return isinstance(node, exp.Any)


def _number_placeholders(statement: str) -> str:
    """SQLite's `?` written `:p0`, `:p1` ... so each names its position among the parameters."""
    tokens = sqlglot.Dialect.get_or_raise("sqlite").tokenize(statement)
    places = [t for t in tokens if t.token_type == TokenType.PLACEHOLDER and t.text == "?"]
    for i, token in reversed(list(enumerate(places))):
        statement = statement[: token.start] + f":p{i}" + statement[token.end + 1 :]
    return statement


_shapes: dict[tuple[str, str], Shape] = {}


def shape(dialect: str, statement: str) -> Shape:
    """The statement's problems and its org value slots (cached per text, numbers folded)."""
    key = (dialect, _NUMBER.sub("0", statement))
    found = _shapes.get(key)
    if found is None:
        found = _shapes[key] = _shape(dialect, statement)
    return found


def _shape(dialect: str, statement: str) -> Shape:
    if normalise(statement) in MULTI_SHARD:
        return Shape((), ())
    read = _DIALECTS.get(dialect)
    if read is None:
        return Shape((f"unknown dialect {dialect!r}",), ())
    try:
        text = _number_placeholders(_EXPLAIN.sub("", statement)) if read == "sqlite" else statement
        pieces = split_statements(text, read)
    except SqlglotError as exc:
        return Shape((f"cannot tokenize: {exc}",), ())
    problems: list[str] = []
    slots: list[Slot] = []
    for piece in pieces:
        if _CONTROL.match(piece):
            continue
        if orgscope.COPY.match(piece):
            # Citus routes each copied row by its org_id; PgTx.copy refuses rows of two orgs.
            continue
        try:
            tree = sqlglot.parse_one(_EXPLAIN.sub("", piece), read=read)
        except SqlglotError as exc:
            problems.append(f"cannot parse: {str(exc).splitlines()[0]}")
            continue
        checker = ShardChecker()
        checker.statement(tree, [])
        result = checker.verdict()
        problems.extend(result.problems)
        slots.extend(result.slots)
    return Shape(tuple(problems), tuple(dict.fromkeys(slots)))


def org_values(shape_: Shape, names: tuple[str, ...], params: Mapping[str, Any]) -> set[Any]:
    """The org values a run of the statement names (its slots filled from its parameters)."""
    values: set[Any] = set()
    for kind, key in shape_.slots:
        if kind == "lit":
            values.add(int(key))
        elif key < len(names):
            value = params[names[key]]
            if kind == "array" or isinstance(value, (list, tuple)):
                values.update(value)
            else:
                values.add(value)
    return values


class SingleShardGuard:
    """An observer for `Database.observers`: a statement that would not route to one shard
    goes to `sink`, with its text."""

    def __init__(self, sink: list[str]) -> None:
        self.sink = sink

    def __call__(self, dialect: str, statement: str) -> None:
        found = shape(dialect, statement)
        # A statement without an org scope is the org-scope guard's to report.
        if found.problems and not orgscope.verdict(dialect, statement):
            self.sink.append(f"multi-shard: {'; '.join(found.problems)}\n    in [{dialect}] {statement}")


_checked: dict[str, Shape | None] = {}


def check_arguments(sink: list[str], compiled: Compiled, params: Mapping[str, Any]) -> None:
    """The run-time half: the statement's org values, given its parameters, are one."""
    if not compiled.names:
        return
    text = compiled.text
    if text in _checked:
        found = _checked[text]
    else:
        dialect = "postgresql" if _PG_PARAM.search(text) else "sqlite"
        found = shape(dialect, text)
        # One value at most, and no array: the text alone settles it.
        if len(found.slots) < 2 and not any(kind == "array" for kind, _ in found.slots):
            found = None
        _checked[text] = found
    if found is None:
        return
    dialect = "postgresql" if _PG_PARAM.search(text) else "sqlite"
    values = org_values(found, compiled.names, params)
    if len(values) > 1:
        sink.append(
            f"multi-shard: org_id takes {sorted(values)} in one run\n    in [{dialect}] {compiled.text}"
        )


@contextlib.contextmanager
def arguments_checked(sink: list[str]) -> Iterator[None]:
    """While open, every statement's parameters pass `check_arguments` (on both engines:
    `Compiled.args` is where each statement's parameters are put in order)."""
    original: Callable[[Compiled, Mapping[str, Any]], tuple[Any, ...]] = Compiled.args

    def args(self: Compiled, params: Mapping[str, Any]) -> tuple[Any, ...]:
        check_arguments(sink, self, params)
        return original(self, params)

    Compiled.args = args  # type: ignore[method-assign]
    try:
        yield
    finally:
        Compiled.args = original  # type: ignore[method-assign]
