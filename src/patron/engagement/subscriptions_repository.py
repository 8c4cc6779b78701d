"""The subscription statements: one `customer_subscription` row per (customer, source,
account, channel, priority) whose status was ever set; a combination without a row has the
default (engagement/subscriptions.py). Writers hold the customer row first (the use case
reads the customer with `lock=True`), so two updates of one customer apply one after the
other and each sees the other's rows."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from patron.db.sql import Q
from patron.db.tx import Table, Tx

SUBSCRIPTION = Table(
    "customer_subscription",
    (
        ("org_id", "bigint"),
        ("customer_id", "bigint"),
        ("source", "text"),
        ("account_id", "text"),
        ("channel", "text"),
        ("priority", "text"),
        ("status", "text"),
        ("updated_at", "timestamptz"),
        ("updated_by_till_id", "bigint"),
    ),
)
_OF_CUSTOMER = Q(
    "SELECT source, account_id, channel, priority, status FROM customer_subscription"
    " WHERE org_id = :org_id AND customer_id = :customer_id"
)
_OF_ACCOUNT = Q(
    "SELECT source, account_id, channel, priority, status FROM customer_subscription"
    " WHERE org_id = :org_id AND customer_id = :customer_id AND source = :source AND account_id = :account_id"
)
_UPDATE = Q(
    "UPDATE customer_subscription SET status = :status, updated_at = :updated_at,"
    " updated_by_till_id = :updated_by_till_id"
    " WHERE org_id = :org_id AND customer_id = :customer_id AND source = :source"
    " AND account_id = :account_id AND channel = :channel AND priority = :priority"
)


@dataclass(frozen=True, slots=True, order=True)
class Key:
    """One subscription: a channel and priority in one source account."""

    source: str
    account_id: str
    channel: str
    priority: str


class SubscriptionRepository:
    __slots__ = ("tx",)

    def __init__(self, tx: Tx) -> None:
        self.tx = tx

    async def of_customer(self, org_id: int, customer_id: int) -> dict[Key, str]:
        """Every stored status of the customer, in every source account."""
        rows = await self.tx.all(_OF_CUSTOMER, org_id=org_id, customer_id=customer_id)
        return {Key(r[0], r[1], r[2], r[3]): r[4] for r in rows}

    async def of_account(self, org_id: int, customer_id: int, source: str, account_id: str) -> dict[Key, str]:
        """The stored statuses of the customer in one source account."""
        rows = await self.tx.all(
            _OF_ACCOUNT, org_id=org_id, customer_id=customer_id, source=source, account_id=account_id
        )
        return {Key(r[0], r[1], r[2], r[3]): r[4] for r in rows}

    async def save(
        self,
        org_id: int,
        customer_id: int,
        changes: list[tuple[Key, str, bool]],
        now: datetime,
        till_id: int,
    ) -> None:
        """Write the changed statuses: (key, status, whether a row exists already)."""
        new = []
        for key, status, stored in changes:
            params = {
                "org_id": org_id,
                "customer_id": customer_id,
                "source": key.source,
                "account_id": key.account_id,
                "channel": key.channel,
                "priority": key.priority,
                "status": status,
                "updated_at": now,
                "updated_by_till_id": till_id,
            }
            if stored:
                await self.tx.later(_UPDATE, **params)
            else:
                new.append(params)
        if new:
            await self.tx.insert(SUBSCRIPTION, new)
