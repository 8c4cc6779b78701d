"""The live tail of an org's events: what `outbox_event` gained since a cursor, without the
payloads (they hold personal data; a tail shows which event, of which customer, when).

Event ids come from a sequence as the rows are written, so they follow commit order except
for transactions that commit at nearly the same time: an event may become visible after one
with a higher id. `Tail` therefore reads a few seconds back from its cursor and skips the
events it already gave, so such an event is shown when it appears instead of lost.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from datetime import datetime

from patron.db.sql import Q
from patron.db.tx import Tx
from patron.db.uow import UnitOfWork

LOOKBACK_POLLS = 5  # polls of the cursor's history read again (about 5 s at one a second)
BATCH = 200

_LATEST = Q("SELECT max(event_id) FROM outbox_event WHERE org_id = :org_id")
_AFTER = Q(
    "SELECT event_id, event_uuid, event_name, customer_id, created_at FROM outbox_event"
    " WHERE org_id = :org_id AND event_id > :after ORDER BY event_id LIMIT :limit"
)


@dataclass(frozen=True, slots=True)
class TailEvent:
    event_id: int
    event_uuid: str
    event_name: str
    customer_id: int | None
    created_at: datetime


class TailRepository:
    def __init__(self, tx: Tx) -> None:
        self.tx = tx

    async def latest(self, org_id: int) -> int:
        value = await self.tx.val(_LATEST, org_id=org_id)
        return 0 if value is None else int(value)

    async def after(self, org_id: int, after: int, limit: int) -> list[TailEvent]:
        rows = await self.tx.all(_AFTER, org_id=org_id, after=after, limit=limit)
        return [TailEvent(int(r[0]), r[1], r[2], None if r[3] is None else int(r[3]), r[4]) for r in rows]


async def latest_event_id(uow: UnitOfWork, org_id: int) -> int:
    """The org's newest event id (0 without events): a tail starts after it."""
    return await TailRepository(uow.tx).latest(org_id)


async def events_after(uow: UnitOfWork, org_id: int, after: int, limit: int = BATCH) -> list[TailEvent]:
    """The org's events after `after`, oldest first."""
    return await TailRepository(uow.tx).after(org_id, after, limit)


@dataclass
class Tail:
    """A cursor over one org's events: `floor` is where the next read starts (the cursor
    of a few polls ago), `seen` the events given since then."""

    org_id: int
    cursor: int
    _history: deque[int] = field(default_factory=lambda: deque(maxlen=LOOKBACK_POLLS))
    _seen: set[int] = field(default_factory=set)

    @property
    def floor(self) -> int:
        return self._history[0] if self._history else self.cursor

    def take(self, found: list[TailEvent]) -> list[TailEvent]:
        """The events of a read not given before; moves the cursor past them."""
        new = [e for e in found if e.event_id not in self._seen]
        self._seen.update(e.event_id for e in new)
        if found:
            self.cursor = max(self.cursor, found[-1].event_id)
        return new

    def tick(self) -> None:
        """One poll is over: the floor moves up to the cursor of LOOKBACK_POLLS polls ago."""
        self._history.append(self.cursor)
        floor = self.floor
        self._seen = {i for i in self._seen if i > floor}


MAX_PAGES = 10  # a poll gives at most MAX_PAGES * BATCH events; the rest come next poll


async def poll(uow: UnitOfWork, tail: Tail) -> list[TailEvent]:
    """The events new to `tail` (read in one snapshot, oldest first); the poll's tick."""
    repo = TailRepository(uow.tx)
    after, new = tail.floor, []
    for _ in range(MAX_PAGES):
        found = await repo.after(tail.org_id, after, BATCH)
        new.extend(tail.take(found))
        if len(found) < BATCH:
            break
        after = found[-1].event_id
    tail.tick()
    return new
