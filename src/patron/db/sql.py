"""Statements, written once and compiled once per engine, run on the bare drivers.

A `Q` holds SQL with `:name` parameters. On first use with an engine it is compiled to
that driver's form (SQLite `?`, asyncpg `$n`) and the order of its parameters, and kept;
after that a call costs a tuple build and the driver's own execute. No ORM, no statement
tree walked per call: the hot paths issue exactly the statements written here.

Two small macros keep one text for both engines:

- `col IN (:ids*)`: a list parameter. PostgreSQL gets `col = ANY($n)`; SQLite gets
  `col IN (SELECT value FROM json_each(?))` with the list sent as one JSON array.
- `Q(sqlite=..., postgresql=...)`: a statement that differs per engine (row locks,
  sequences, JSON operators).

Values cross the SQLite driver in the schema's declared types (DATETIME as ISO text in
UTC, JSON as text, BOOLEAN as 0/1, NUMERIC as text): the adapters and converters below
turn them into the same Python values asyncpg returns, so repositories read one shape.
"""

from __future__ import annotations

import operator
import re
import sqlite3
from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import orjson

_PARAM = re.compile(r"(?<![:\w]):([A-Za-z_]\w*)(\*?)")
_IN_LIST = re.compile(r"([\w.]+)\s+IN\s+\(:([A-Za-z_]\w*)\*\)", re.I)
_NOT_IN_LIST = re.compile(r"([\w.]+)\s+NOT\s+IN\s+\(:([A-Za-z_]\w*)\*\)", re.I)

SQLITE = "sqlite"
POSTGRESQL = "postgresql"


class Compiled:
    """One statement in one driver's form: its text and the names of its parameters."""

    __slots__ = ("_get", "list_params", "names", "text")

    def __init__(self, text: str, names: tuple[str, ...], list_params: frozenset[str]) -> None:
        self.text = text
        self.names = names
        self.list_params = list_params
        self._get = operator.itemgetter(*names) if len(names) > 1 else None

    def args(self, params: Mapping[str, Any]) -> tuple[Any, ...]:
        if self.list_params:
            return tuple(_json_list(params[n]) if n in self.list_params else params[n] for n in self.names)
        if self._get is not None:
            return self._get(params)  # type: ignore[no-any-return]
        return (params[self.names[0]],) if self.names else ()


def _json_list(values: Any) -> str:
    return orjson.dumps(list(values)).decode()


class Q:
    """A statement; `Q("...")` for both engines or `Q(sqlite=..., postgresql=...)`."""

    __slots__ = ("_compiled", "postgresql", "sqlite")

    def __init__(self, sql: str | None = None, *, sqlite: str | None = None, postgresql: str | None = None):
        if sql is None and (sqlite is None or postgresql is None):
            raise ValueError("give one statement, or one per engine")
        self.sqlite = sqlite if sqlite is not None else sql
        self.postgresql = postgresql if postgresql is not None else sql
        self._compiled: dict[str, Compiled] = {}

    def compiled(self, dialect: str) -> Compiled:
        found = self._compiled.get(dialect)
        if found is None:
            text = self.sqlite if dialect == SQLITE else self.postgresql
            assert text is not None
            found = self._compiled[dialect] = compile_sql(text, dialect)
        return found

    def text(self, dialect: str) -> str:
        return self.compiled(dialect).text

    def __repr__(self) -> str:
        return f"Q({(self.sqlite or '')[:60]!r})"


def compile_sql(text: str, dialect: str) -> Compiled:
    lists: set[str] = set()
    if dialect == SQLITE:
        text = _NOT_IN_LIST.sub(r"\1 NOT IN (SELECT value FROM json_each(:\2*))", text)
        text = _IN_LIST.sub(r"\1 IN (SELECT value FROM json_each(:\2*))", text)
    else:
        text = _NOT_IN_LIST.sub(r"NOT (\1 = ANY(:\2*))", text)
        text = _IN_LIST.sub(r"\1 = ANY(:\2*)", text)
    names: list[str] = []
    numbers: dict[str, int] = {}

    def place(match: re.Match[str]) -> str:
        name, star = match.group(1), match.group(2)
        if star and dialect == SQLITE:
            lists.add(name)
        if dialect == SQLITE:
            names.append(name)
            return "?"
        if name not in numbers:
            names.append(name)
            numbers[name] = len(names)
        return f"${numbers[name]}"

    out = _PARAM.sub(place, text)
    return Compiled(" ".join(out.split()), tuple(names), frozenset(lists))


# SQLite values -----------------------------------------------------------------------------


_last_datetime: list[Any] = [None, ""]


def _adapt_datetime(value: datetime) -> str:
    # A use case stamps many rows with one `now`: convert it once.
    if value is _last_datetime[0]:
        return _last_datetime[1]  # type: ignore[no-any-return]
    if value.tzinfo is None:
        raise ValueError("naive datetime given to a UTC column")
    text = value.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")
    _last_datetime[0], _last_datetime[1] = value, text
    return text


def _adapt_json(value: Any) -> str:
    return orjson.dumps(value).decode()


def _convert_datetime(raw: bytes) -> datetime:
    return datetime.fromisoformat(raw.decode()).replace(tzinfo=UTC)


def _convert_numeric(raw: bytes) -> Decimal:
    return Decimal(raw.decode())


def register_sqlite_types() -> None:
    """Teach the sqlite3 module the schema's declared types (process-wide, idempotent)."""
    sqlite3.register_adapter(datetime, _adapt_datetime)
    sqlite3.register_adapter(dict, _adapt_json)
    sqlite3.register_adapter(list, _adapt_json)
    sqlite3.register_adapter(Decimal, str)
    sqlite3.register_converter("DATETIME", _convert_datetime)
    sqlite3.register_converter("JSON", orjson.loads)
    sqlite3.register_converter("BOOLEAN", lambda raw: raw not in (b"0", b""))
    sqlite3.register_converter("NUMERIC", _convert_numeric)
