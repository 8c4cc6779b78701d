"""Domain events: what happened to a customer, recorded by services on the unit of work."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar, Protocol

from patron.context import Actor
from patron.customers.domain import FieldChange
from patron.customers.views import CustomerView


@dataclass(frozen=True, slots=True)
class StatusChange:
    previous_label: str | None
    current_label: str
    reason: str


@dataclass(frozen=True, slots=True)
class CustomerAdded:
    name: ClassVar[str] = "customerAdded"
    customer: CustomerView
    actor: Actor
    source: str
    account_id: str
    occurred_at: datetime
    request_id: str


@dataclass(frozen=True, slots=True)
class CustomerUpdated:
    name: ClassVar[str] = "customerUpdated"
    customer: CustomerView
    actor: Actor
    source: str
    account_id: str
    occurred_at: datetime
    request_id: str
    updated_fields: tuple[FieldChange, ...] = ()
    status: StatusChange | None = None


class DomainEvent(Protocol):
    """What the outbox needs of any recorded event: its registered name, the customer it
    is about (org, id and order key), and the request that raised it. Every event class
    is a frozen dataclass registered in events/registry.py with its payload builder."""

    name: ClassVar[str]

    @property
    def customer(self) -> CustomerView: ...

    @property
    def request_id(self) -> str: ...


CustomerEvent = CustomerAdded | CustomerUpdated
