"""The statements of import and export. Each method takes the org it acts in.

A batch of an import looks up every identifier of its lines in one statement: per
identifier type, one index range of `(org_id, id_type, value)` for the list of values,
glued with UNION ALL (cached per number of types), so the statement count does not grow
with the batch.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from patron.db.sql import Q
from patron.db.tx import Tx

_HELD: dict[int, Q] = {}
# The tables whose lookups a batch depends on: the foreign keys to the customer, the holders.
_ANALYZE = Q(postgresql="ANALYZE customer, customer_identifier", sqlite="SELECT 1")
_PAGE = Q(
    "SELECT customer_id FROM customer WHERE org_id = :org_id AND customer_id > :after"
    " AND merged_into_id IS NULL ORDER BY customer_id LIMIT :size"
)


@dataclass(frozen=True, slots=True)
class Held:
    """An identifier a customer holds in one source account."""

    source: str
    account_id: str
    id_type: str
    value: str
    customer_id: int


def _held(types: int) -> Q:
    q = _HELD.get(types)
    if q is None:
        parts = [
            "SELECT source, account_id, id_type, value, customer_id FROM customer_identifier"
            f" WHERE org_id = :org_id AND id_type = :t{n} AND value IN (:v{n}*)"
            for n in range(types)
        ]
        q = _HELD[types] = Q(" UNION ALL ".join(parts))
    return q


class TransferRepository:
    def __init__(self, tx: Tx) -> None:
        self.tx = tx

    async def held(self, org_id: int, pairs: Iterable[tuple[str, str]]) -> list[Held]:
        """Who holds any of these (type, value) pairs, in any source, in one statement."""
        by_type: dict[str, set[str]] = {}
        for id_type, value in pairs:
            by_type.setdefault(id_type, set()).add(value)
        if not by_type:
            return []
        params: dict[str, object] = {"org_id": org_id}
        for n, (id_type, values) in enumerate(sorted(by_type.items())):
            params[f"t{n}"] = id_type
            params[f"v{n}"] = sorted(values)
        rows = await self.tx.all(_held(len(by_type)), **params)
        return [Held(r[0], r[1], r[2], r[3], int(r[4])) for r in rows]

    async def customer_page(self, org_id: int, after: int, size: int) -> list[int]:
        """The ids of the org's next `size` customers after `after` (keyset paging)."""
        return [int(r[0]) for r in await self.tx.all(_PAGE, org_id=org_id, after=after, size=size)]

    async def analyze(self) -> None:
        """Fresh planner statistics of the tables an import grows (PostgreSQL)."""
        await self.tx.run(_ANALYZE)
