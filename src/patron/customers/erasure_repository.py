"""Every query of PII erasure: the request queue and the wiping of one customer's data."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from patron.db.sql import Q
from patron.db.tx import Tx

_REQUEST = Q(
    "INSERT INTO erasure_request (org_id, customer_id, reason, requested_at, due_at)"
    " VALUES (:org_id, :customer_id, :reason, :now, :due_at)"
)
_CANCEL = Q("DELETE FROM erasure_request WHERE org_id = :org_id AND customer_id = :customer_id")
# The one read across orgs: a small queue table scanned by its due time, like a job queue.
_DUE = Q(
    "SELECT org_id, customer_id, reason FROM erasure_request WHERE due_at <= :now"
    " ORDER BY due_at LIMIT :limit"
)
_WIPE = [
    Q(f"DELETE FROM {table} WHERE org_id = :org_id AND customer_id = :customer_id")
    # customer_image: the versions' rows (their bytes in the image store are then referenced
    # by nothing and never served; docs/engagement.md, "Customer images"). user_record:
    # everything the user namespace keeps of the person (docs/users.md).
    for table in ("card", "customer_identifier", "search_term", "customer_image", "user_record")
]
_BLANK_PROFILES = Q(
    "UPDATE customer_profile SET first_name = '', last_name = '', comm_channels = :empty, updated_at = :now"
    " WHERE org_id = :org_id AND customer_id = :customer_id"
)
_BLANK_HISTORY = Q(
    "UPDATE customer_change SET previous_value = NULL, current_value = NULL"
    " WHERE org_id = :org_id AND customer_id = :customer_id AND field_name NOT IN (:kept*)"
)
# A merge's change set names the identifiers and fields that moved: the merges the customer
# took part in keep their ids and kinds, and say their change set was erased.
_ERASE_MERGES = [
    Q(f"UPDATE customer_merge SET change_set = :erased WHERE org_id = :org_id AND {column} = :customer_id")
    for column in ("survivor_id", "victim_id")
]
_EVENTS_OF = Q(
    "SELECT event_id, payload FROM outbox_event WHERE org_id = :org_id AND customer_id = :customer_id"
)
_SET_PAYLOAD = Q("UPDATE outbox_event SET payload = :payload WHERE org_id = :org_id AND event_id = :event_id")
_FORGET_ANSWERS = Q(
    "UPDATE webhook_attempt SET response_excerpt = NULL WHERE org_id = :org_id AND event_id IN (:ids*)"
)


class ErasureRepository:
    def __init__(self, tx: Tx) -> None:
        self.tx = tx

    async def request(
        self, org_id: int, customer_id: int, reason: str, now: datetime, due_at: datetime
    ) -> None:
        await self.cancel(org_id, customer_id)
        await self.tx.run(
            _REQUEST, org_id=org_id, customer_id=customer_id, reason=reason, now=now, due_at=due_at
        )

    async def cancel(self, org_id: int, customer_id: int) -> None:
        await self.tx.run(_CANCEL, org_id=org_id, customer_id=customer_id)

    async def due(self, now: datetime, limit: int) -> list[tuple[int, int, str]]:
        rows = await self.tx.all(_DUE, now=now, limit=limit)
        return [(int(r[0]), int(r[1]), str(r[2])) for r in rows]

    async def wipe(self, org_id: int, customer_id: int, now: datetime, kept_fields: list[str]) -> None:
        """Delete the customer's cards, identifiers and search terms; blank names, channels
        and the history values that are personal."""
        for q in _WIPE:
            await self.tx.run(q, org_id=org_id, customer_id=customer_id)
        await self.tx.run(_BLANK_PROFILES, org_id=org_id, customer_id=customer_id, empty=[], now=now)
        await self.tx.run(_BLANK_HISTORY, org_id=org_id, customer_id=customer_id, kept=kept_fields)
        for q in _ERASE_MERGES:
            await self.tx.run(q, org_id=org_id, customer_id=customer_id, erased={"erased": True})

    async def events_of(self, org_id: int, customer_id: int) -> list[tuple[int, dict[str, Any]]]:
        rows = await self.tx.all(_EVENTS_OF, org_id=org_id, customer_id=customer_id)
        return [(int(r[0]), r[1]) for r in rows]

    async def set_payload(self, org_id: int, event_id: int, payload: dict[str, Any]) -> None:
        await self.tx.run(_SET_PAYLOAD, org_id=org_id, event_id=event_id, payload=payload)

    async def forget_answers(self, org_id: int, event_ids: list[int]) -> None:
        await self.tx.run(_FORGET_ANSWERS, org_id=org_id, ids=event_ids)
