"""The unit of work: one transaction per request or job, and the outbox inside it.

Services record domain events on the unit of work and never commit. On commit the unit of
work writes every recorded event into `outbox_event` in the same transaction, so a change
and its event are stored together or not at all; delivery reads the outbox after commit.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncSession

from patron.db.engine import Database, dialect_of

if TYPE_CHECKING:
    from patron.events.domain import DomainEvent


class UnitOfWork:
    def __init__(self, session: AsyncSession, *, writable: bool, signal: asyncio.Event | None = None) -> None:
        self.session = session
        self._signal = signal
        self.writable = writable
        self._events: list[DomainEvent] = []

    @property
    def dialect(self) -> str:
        return dialect_of(self.session)

    def record(self, event: DomainEvent) -> None:
        """Queue a domain event; it is written to the outbox when the work commits."""
        if not self.writable:
            raise RuntimeError("a read-only unit of work cannot record events")
        self._events.append(event)

    @property
    def events(self) -> tuple[DomainEvent, ...]:
        return tuple(self._events)

    async def commit(self) -> None:
        from patron.events.outbox import write_events

        wrote = bool(self._events)
        if wrote:
            await write_events(self.session, self._events)
            self._events.clear()
        await self.session.commit()
        if wrote and self._signal is not None:
            self._signal.set()


@asynccontextmanager
async def unit_of_work(db: Database, *, write: bool) -> AsyncIterator[UnitOfWork]:
    """Open a transaction; commit on a clean exit (writes), roll back on any error."""
    factory = db.write_sessions if write else db.read_sessions
    async with factory() as session:
        uow = UnitOfWork(session, writable=write, signal=db.outbox_signal)
        try:
            yield uow
            if write:
                await uow.commit()
        except BaseException:
            await session.rollback()
            raise
        # Leaving the block closes the session: the connection returns to the pool (its
        # read transaction ends there) and loaded rows stay readable, detached.
