"""The events registry: one list of events by name, used by the outbox and by the webhook
event filters; an event recorded under a name it does not know is a bug and raises."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar, cast

import pytest

from patron.context import Actor
from patron.errors import InvalidInput
from patron.events.domain import CustomerAdded, CustomerUpdated
from patron.events.outbox import OutboxRepository
from patron.events.payloads import envelope
from patron.events.registry import (
    EVENT_NAMES,
    REGISTRY,
    EventSpec,
    UnregisteredEvent,
    _registry,
    spec_of,
)
from patron.webhooks.service import check_event_types

ACTOR = Actor(till_id=1, code="t1", name="T1", store_code="s1", store_name="S1")
AT = datetime(2026, 1, 1, tzinfo=UTC)


def added(cls: type[CustomerAdded] = CustomerAdded) -> CustomerAdded:
    # The registry looks at the event's class and name only; no customer is needed.
    return cls(cast(Any, None), ACTOR, "INSTORE", "", AT, "req-1")


class Misspelt(CustomerAdded):
    __slots__ = ()
    name: ClassVar[str] = "customerAded"


class Impostor(CustomerAdded):
    """Registered name, but not the registered class."""

    __slots__ = ()


class RecordingTx:
    dialect = "sqlite"

    def __init__(self) -> None:
        self.calls: list[str] = []

    def __getattr__(self, attr: str) -> Any:
        async def call(*args: Any, **kwargs: Any) -> Any:
            self.calls.append(attr)
            return [1]

        return call


def test_the_registry_holds_the_events_patron_raises() -> None:
    assert EVENT_NAMES[:2] == ("customerAdded", "customerUpdated")  # later issues add theirs after
    assert REGISTRY["customerAdded"].event_class is CustomerAdded
    assert REGISTRY["customerUpdated"].event_class is CustomerUpdated
    assert all(spec.trigger for spec in REGISTRY.values())
    assert spec_of(added()) is REGISTRY["customerAdded"]
    with pytest.raises(TypeError):
        cast(Any, REGISTRY)["groupCreated"] = REGISTRY["customerAdded"]  # built once, read-only


@pytest.mark.parametrize("cls", [Misspelt, Impostor])
def test_an_unregistered_event_is_a_programming_error(cls: type[CustomerAdded]) -> None:
    with pytest.raises(UnregisteredEvent, match=cls.name):
        spec_of(added(cls))


async def test_the_outbox_refuses_an_unregistered_event_before_writing_anything() -> None:
    tx = RecordingTx()
    with pytest.raises(UnregisteredEvent, match="customerAded"):
        await OutboxRepository(cast(Any, tx)).write([added(), added(Misspelt)])
    assert tx.calls == []


def test_a_registry_refuses_duplicates_and_misnamed_classes() -> None:
    spec = EventSpec("customerAdded", CustomerAdded, envelope, "registration")
    with pytest.raises(ValueError, match="twice"):
        _registry(spec, spec)
    with pytest.raises(ValueError, match="not customerUpdated"):
        _registry(EventSpec("customerUpdated", CustomerAdded, envelope, "update"))


def test_endpoint_filters_name_registered_events_only() -> None:
    assert check_event_types(None) is None
    assert check_event_types([" customerAdded", "customerAdded", "customerUpdated"]) == [
        "customerAdded",
        "customerUpdated",
    ]
    # A name no registered event has (a seed event not wired yet, a typo) is refused.
    with pytest.raises(InvalidInput) as refused:
        check_event_types(["customerAdded", "customerDeleted", "customerAdde"])
    assert refused.value.status == 400 and refused.value.code == 400
    assert refused.value.message == (
        f"Unknown event types: customerDeleted, customerAdde. Known: {', '.join(EVENT_NAMES)}."
    )
    with pytest.raises(InvalidInput, match="at least one"):
        check_event_types([" "])
