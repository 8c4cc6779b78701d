"""The unit of work: one transaction of one use case, the repositories on it, and the outbox.

Use cases get a unit of work from `db.read(...)` or `db.write(...)` (db/engine.py), ask it
for repositories (`uow.customers`, `uow.orgs`, `uow.webhooks` ...) and record domain
events on it. They never commit: the engine does, once, after `flush()` has written the
recorded events into `outbox_event` in the same transaction, so a change and its event
are stored together or not at all.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from patron.customers.erasure_repository import ErasureRepository
from patron.customers.merges_repository import MergeRepository
from patron.customers.repository import CustomerRepository
from patron.db.tx import Tx
from patron.engagement.change_requests_repository import ChangeRequestRepository
from patron.engagement.coupons_repository import CouponRepository
from patron.engagement.images_repository import ImageRepository
from patron.engagement.referrals_repository import ReferralRepository
from patron.engagement.retro_repository import RetroRepository
from patron.engagement.subscriptions_repository import SubscriptionRepository
from patron.events.outbox import OutboxRepository
from patron.idempotency.repository import IdempotencyRepository
from patron.loyalty.goodwill_repository import GoodwillRepository
from patron.loyalty.group_repository import GroupRepository
from patron.loyalty.partners_repository import PartnerRepository
from patron.loyalty.reads_repository import LoyaltyReads
from patron.loyalty.repository import LoyaltyRepository
from patron.loyalty.transfer_repository import TransferRepository
from patron.orgs.repository import OrgRepository
from patron.security.sessions_repository import SessionRepository
from patron.webhooks.repository import WebhookRepository

if TYPE_CHECKING:
    from patron.events.domain import DomainEvent


class UnitOfWork:
    __slots__ = (
        "_events",
        "change_requests",
        "console_sessions",
        "coupons",
        "customers",
        "erasures",
        "goodwill",
        "groups",
        "idempotency",
        "images",
        "loyalty",
        "loyalty_reads",
        "merges",
        "orgs",
        "outbox",
        "partners",
        "referrals",
        "retro",
        "subscriptions",
        "transfers",
        "tx",
        "webhooks",
        "writable",
        "wrote_events",
    )

    def __init__(self, tx: Tx, *, writable: bool) -> None:
        self.tx = tx
        self.writable = writable
        self._events: list[DomainEvent] = []
        self.wrote_events = False
        # Repositories are plain objects around the transaction: cheaper to make than to look up.
        self.customers = CustomerRepository(tx)
        self.orgs = OrgRepository(tx)
        self.webhooks = WebhookRepository(tx)
        self.outbox = OutboxRepository(tx)
        self.erasures = ErasureRepository(tx)
        self.idempotency = IdempotencyRepository(tx)
        self.loyalty = LoyaltyRepository(tx)
        self.loyalty_reads = LoyaltyReads(tx)
        self.partners = PartnerRepository(tx)
        self.transfers = TransferRepository(tx)
        self.goodwill = GoodwillRepository(tx)
        self.groups = GroupRepository(tx)
        self.subscriptions = SubscriptionRepository(tx)
        self.change_requests = ChangeRequestRepository(tx)
        self.retro = RetroRepository(tx)
        self.referrals = ReferralRepository(tx)
        self.images = ImageRepository(tx)
        self.coupons = CouponRepository(tx)
        self.console_sessions = SessionRepository(tx)
        self.merges = MergeRepository(tx)

    @property
    def dialect(self) -> str:
        return self.tx.dialect

    def record(self, event: DomainEvent) -> None:
        """Queue a domain event; it is written to the outbox before the work commits."""
        if not self.writable:
            raise RuntimeError("a read-only unit of work cannot record events")
        self._events.append(event)

    async def flush(self) -> None:
        """Write the recorded events into the outbox and send every held-back write (the
        engine calls this before COMMIT)."""
        if self._events:
            await self.outbox.write(self._events)
            self._events.clear()
            self.wrote_events = True
        await self.tx.flush()
