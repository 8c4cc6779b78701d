"""Ids that are unique across every org, so an id of another org can never address a row.

PostgreSQL hands them out from sequences (no lock, no contention, Citus-compatible).
SQLite has no sequences; its single writer makes a counter row in `id_sequence` just as
safe. That table exists only in the SQLite schema (see the initial migration).
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from patron.db.engine import dialect_of

SEQUENCES = ("org", "till", "customer", "card", "change", "event", "endpoint", "attempt")


async def allocate(session: AsyncSession, name: str, count: int = 1) -> list[int]:
    """Return `count` fresh ids of the named sequence."""
    if name not in SEQUENCES:
        raise ValueError(f"unknown id sequence {name!r}")
    if count <= 0:
        return []
    if dialect_of(session) == "postgresql":
        rows = await session.execute(
            text(f"SELECT nextval('{name}_id_seq') FROM generate_series(1, :n)"), {"n": count}
        )
        return [int(r[0]) for r in rows]
    result = await session.execute(
        text("UPDATE id_sequence SET value = value + :n WHERE name = :name RETURNING value"),
        {"n": count, "name": name},
    )
    last = int(result.scalar_one())
    return list(range(last - count + 1, last + 1))


async def next_id(session: AsyncSession, name: str) -> int:
    return (await allocate(session, name))[0]
