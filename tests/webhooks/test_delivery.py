"""Webhook delivery through a real HTTP receiver on loopback, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from tests.conftest import OrgClient
from tests.support import codes, execute, register_body, rows
from tests.webhooks.receiver import Received, Receiver, Reply


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    async with Receiver() as r:
        yield r


async def add_endpoint(client: OrgClient, receiver: Receiver, **body: Any) -> dict[str, Any]:
    r = await client.post("/v2/webhooks", json={"url": receiver.url(), **body})
    assert r.status_code == 201, r.text
    return dict(r.json())


async def register(client: OrgClient, **kwargs: Any) -> int:
    r = await client.post("/v2/customers", json=register_body(**kwargs))
    assert r.status_code == 200, r.text
    return int(r.json()["createdId"])


def customer_of(req: Received) -> int:
    return int(req.json["attributes"]["data"]["customerIdentifiers"]["customerId"])


async def deliveries_of(client: OrgClient, endpoint_id: int, customer_id: int | None = None) -> list[int]:
    """The customers whose events the org owes an endpoint (pending or done), by event."""
    found = await rows(
        client.harness.app.state.db,
        "SELECT o.customer_id FROM webhook_delivery d JOIN outbox_event o"
        " ON o.org_id = d.org_id AND o.event_id = d.event_id"
        " WHERE d.org_id = :o AND d.endpoint_id = :e ORDER BY d.event_id",
        o=client.org_id,
        e=endpoint_id,
    )
    return [r.customer_id for r in found if customer_id is None or r.customer_id == customer_id]


async def test_events_arrive_signed_and_verify_with_the_published_library(
    client: OrgClient, receiver: Receiver
) -> None:
    endpoint = await add_endpoint(client, receiver)
    assert endpoint["secret"].startswith("whsec_") and endpoint["events"] is None
    cid = await register(client)
    await receiver.wait_for(lambda reqs: len(reqs) >= 1)
    [req] = receiver.requests
    payload = Webhook(endpoint["secret"]).verify(req.body, req.headers)
    assert payload["eventType"] == "customerAdded"
    assert req.headers["webhook-id"] == payload["eventId"]
    assert customer_of(req) == cid
    with pytest.raises(WebhookVerificationError):
        Webhook("whsec_" + "A" * 43).verify(req.body, req.headers)
    listed = (await client.get("/v2/webhooks")).json()["data"]
    assert [e["id"] for e in listed] == [endpoint["id"]] and "secret" not in listed[0]


async def test_an_endpoint_receives_only_the_event_types_it_names(
    client: OrgClient, receiver: Receiver
) -> None:
    await add_endpoint(client, receiver, events=["customerUpdated"])
    cid = await register(client)
    await client.put(
        f"/v2/customers/{cid}", params={"source": "INSTORE"}, json={"profiles": [{"firstName": "New"}]}
    )
    await receiver.wait_for(lambda reqs: len(reqs) >= 1)
    # Deliveries to one endpoint go in order per customer: had customerAdded been owed, it
    # would have arrived before the customerUpdated that came after it.
    assert [r.json["eventType"] for r in receiver.requests] == ["customerUpdated"]
    assert customer_of(receiver.requests[0]) == cid


async def test_failures_are_retried_with_the_same_event_id(client: OrgClient, receiver: Receiver) -> None:
    answers = iter([Reply(500), Reply(502, body=b"upstream down"), Reply(200)])
    receiver.answer = lambda _: next(answers, Reply(200))
    endpoint = await add_endpoint(client, receiver)
    await register(client)
    await receiver.wait_for(lambda reqs: len(reqs) >= 3)
    assert len({r.event_id for r in receiver.requests}) == 1
    log = await _attempts(client, endpoint["id"], 3)
    assert [a["statusCode"] for a in log] == [200, 502, 500]
    assert [a["outcome"] for a in log] == ["delivered", "retry", "retry"]
    assert log[1]["responseExcerpt"] == "upstream down" and log[0]["latencyMs"] >= 0


async def test_a_timed_out_attempt_is_retried(client: OrgClient, receiver: Receiver) -> None:
    slow = {"first": True}

    def answer(_: Received) -> Reply:
        if slow["first"]:
            slow["first"] = False
            return Reply(200, delay=client.harness.settings.webhook_timeout_seconds + 1)
        return Reply(200)

    receiver.answer = answer
    endpoint = await add_endpoint(client, receiver)
    await register(client)
    await receiver.wait_for(lambda reqs: len(reqs) >= 2, timeout=20)
    log = await _attempts(client, endpoint["id"], 2)
    assert log[-1]["statusCode"] is None and "timed out" in log[-1]["error"]
    assert log[0]["outcome"] == "delivered"


async def _attempts(client: OrgClient, endpoint_id: int, at_least: int) -> list[dict[str, Any]]:
    for _ in range(100):
        log = (await client.get(f"/v2/webhooks/{endpoint_id}/attempts")).json()["data"]
        if len(log) >= at_least and log[0]["outcome"] in ("delivered", "dead", "disabled"):
            return list(log)
        await asyncio.sleep(0.1)
    raise AssertionError(f"the delivery log did not reach {at_least} attempts")


async def test_order_holds_per_customer_while_other_customers_flow(
    client: OrgClient, receiver: Receiver
) -> None:
    await add_endpoint(client, receiver)
    stuck = await register(client, first="Stuck")
    failures = {"left": 3}

    def answer(req: Received) -> Reply:
        if customer_of(req) == stuck and failures["left"] > 0:
            failures["left"] -= 1
            return Reply(503)
        return Reply(200)

    receiver.answer = answer
    for n in range(3):
        await client.put(
            f"/v2/customers/{stuck}",
            params={"source": "INSTORE"},
            json={"profiles": [{"firstName": f"Stuck{n}"}]},
        )
    others = [await register(client, first=f"Other{n}") for n in range(5)]
    await receiver.wait_for(
        lambda reqs: len({r.event_id for r in reqs if customer_of(r) == stuck}) >= 4, timeout=20
    )
    mine = [r for r in receiver.requests if customer_of(r) == stuck]
    # Each of the stuck customer's events was tried only after the previous one succeeded.
    firsts: list[str] = []
    for r in mine:
        if r.event_id not in firsts:
            firsts.append(r.event_id)
    names = [
        next(x for x in mine if x.event_id == e).json["attributes"]["data"].get("firstName") for e in firsts
    ]
    assert names == ["Stuck", "Stuck0", "Stuck1", "Stuck2"]
    # The other customers were not held back by the failing one: one of theirs arrived
    # before the stuck customer's first event got through (positions in arrival order).
    # By identity: a retry can equal an earlier attempt field for field.
    first_stuck_success = next(n for n, r in enumerate(receiver.requests) if r is mine[3])
    other_positions = [n for n, r in enumerate(receiver.requests) if customer_of(r) in others]
    assert len(other_positions) == 5 and min(other_positions) < first_stuck_success


async def test_exhausted_events_become_dead_letters_and_can_be_redelivered(
    client: OrgClient, receiver: Receiver
) -> None:
    receiver.answer = lambda _: Reply(500)
    endpoint = await add_endpoint(client, receiver)
    await register(client)
    attempts = len(client.harness.settings.webhook_retry_schedule) + 1
    await receiver.wait_for(lambda reqs: len(reqs) >= attempts)
    dead: list[dict[str, Any]] = []
    for _ in range(50):
        dead = (await client.get(f"/v2/webhooks/{endpoint['id']}/dead-letters")).json()["data"]
        if dead:
            break
        await asyncio.sleep(0.1)
    assert len(dead) == 1 and dead[0]["attempts"] == attempts and dead[0]["lastStatusCode"] == 500
    receiver.answer = lambda _: Reply(200)
    url = f"/v2/webhooks/{endpoint['id']}/dead-letters/redeliver"
    assert (await client.post(url, json={"eventIds": ["not-an-event"]})).json() == {"requeued": 0}
    r = await client.post(url, json={"eventIds": [dead[0]["eventId"]]})
    assert r.json() == {"requeued": 1}
    await receiver.wait_for(lambda reqs: len(reqs) == attempts + 1)
    assert receiver.requests[-1].event_id == dead[0]["eventId"]


async def test_replay_sends_a_time_range_again(client: OrgClient, receiver: Receiver) -> None:
    endpoint = await add_endpoint(client, receiver)
    start = datetime.now(UTC) - timedelta(seconds=1)
    await register(client)
    await register(client)
    await receiver.wait_for(lambda reqs: len(reqs) >= 2)
    log = await _attempts(client, endpoint["id"], 2)
    assert [a["outcome"] for a in log] == ["delivered", "delivered"]
    end = datetime.now(UTC) + timedelta(seconds=1)
    r = await client.post(
        f"/v2/webhooks/{endpoint['id']}/replay", json={"from": start.isoformat(), "to": end.isoformat()}
    )
    assert r.json() == {"queued": 2}
    await receiver.wait_for(lambda reqs: len(reqs) >= 4)
    assert sorted(r.event_id for r in receiver.requests[2:]) == sorted(
        r.event_id for r in receiver.requests[:2]
    )


async def test_410_gone_disables_the_endpoint_and_says_why(client: OrgClient, receiver: Receiver) -> None:
    receiver.answer = lambda _: Reply(410)
    endpoint = await add_endpoint(client, receiver)
    await register(client)
    await receiver.wait_for(lambda reqs: len(reqs) >= 1)
    state: dict[str, Any] = {}
    for _ in range(50):
        state = (await client.get(f"/v2/webhooks/{endpoint['id']}")).json()
        if not state["enabled"]:
            break
        await asyncio.sleep(0.1)
    assert state["enabled"] is False and "410" in state["disabledReason"]
    # A disabled endpoint is owed nothing new: the event committed with no delivery for it.
    later = await register(client)
    assert await deliveries_of(client, endpoint["id"], later) == []
    # And nothing is sent to it meanwhile: an endpoint added after it gets the later
    # event, so the worker has run with the new directory, and the disabled one got no more.
    async with Receiver() as marker:
        await add_endpoint(client, marker)
        await register(client)
        await marker.wait_for(lambda reqs: len(reqs) >= 1)
    assert len(receiver.requests) == 1


async def test_retry_after_is_honoured(client: OrgClient, receiver: Receiver) -> None:
    answers = iter([Reply(429, headers={"Retry-After": "3600"})])
    receiver.answer = lambda _: next(answers, Reply(200))
    endpoint = await add_endpoint(client, receiver)
    await register(client)
    await receiver.wait_for(lambda reqs: len(reqs) >= 1)
    log: list[dict[str, Any]] = []
    for _ in range(100):  # the 429 is recorded
        log = (await client.get(f"/v2/webhooks/{endpoint['id']}/attempts")).json()["data"]
        if log:
            break
        await asyncio.sleep(0.1)
    assert [(a["statusCode"], a["outcome"]) for a in log] == [(429, "retry")]
    # The retry is scheduled when the endpoint asked, not after the 0.2 s of the schedule.
    [delivery] = await rows(
        client.harness.app.state.db,
        "SELECT next_attempt_at, updated_at FROM webhook_delivery WHERE org_id = :o AND endpoint_id = :e",
        o=client.org_id,
        e=endpoint["id"],
    )
    assert delivery.next_attempt_at - delivery.updated_at == timedelta(seconds=3600)
    # Once that time comes, it is sent again, with the same event id.
    await execute(
        client.harness.app.state.db,
        "UPDATE webhook_delivery SET next_attempt_at = :now WHERE org_id = :o AND endpoint_id = :e",
        now=datetime.now(UTC),
        o=client.org_id,
        e=endpoint["id"],
    )
    await receiver.wait_for(lambda reqs: len(reqs) >= 2)
    assert receiver.requests[0].event_id == receiver.requests[1].event_id
    assert [a["outcome"] for a in await _attempts(client, endpoint["id"], 2)] == ["delivered", "retry"]


async def test_one_orgs_events_never_reach_another_orgs_endpoint(
    client: OrgClient, other_client: OrgClient, receiver: Receiver
) -> None:
    async with Receiver() as theirs:
        ours = await add_endpoint(client, receiver)
        their_endpoint = await add_endpoint(other_client, theirs)
        mine = await register(client)
        their_customer = await register(other_client)
        # Deliveries are written with the event, in its transaction: once both registrations
        # returned, what each endpoint is owed is settled, and each is owed its own org's only.
        assert await deliveries_of(client, ours["id"]) == [mine]
        assert await deliveries_of(other_client, ours["id"]) == []
        assert await deliveries_of(other_client, their_endpoint["id"]) == [their_customer]
        assert await deliveries_of(client, their_endpoint["id"]) == []
        await receiver.wait_for(lambda reqs: len(reqs) >= 1)
        await theirs.wait_for(lambda reqs: len(reqs) >= 1)
        assert [customer_of(r) for r in receiver.requests] == [mine]
        assert all(r.json["attributes"]["orgId"] == other_client.org_id for r in theirs.requests)
    other = await other_client.get(
        f"/v2/webhooks/{(await client.get('/v2/webhooks')).json()['data'][0]['id']}"
    )
    assert other.status_code == 404


async def test_a_rotated_secret_signs_beside_the_old_one_for_the_grace_period(
    client: OrgClient, receiver: Receiver
) -> None:
    endpoint = await add_endpoint(client, receiver)
    r = await client.post(f"/v2/webhooks/{endpoint['id']}/rotate-secret", json={"graceSeconds": 3600})
    new_secret = r.json()["secret"]
    assert new_secret != endpoint["secret"]
    await register(client)
    await receiver.wait_for(lambda reqs: len(reqs) >= 1)
    req = receiver.requests[0]
    assert len(req.headers["webhook-signature"].split(" ")) == 2
    Webhook(endpoint["secret"]).verify(req.body, req.headers)
    Webhook(new_secret).verify(req.body, req.headers)


async def test_a_test_send_is_signed_and_reports_the_answer(client: OrgClient, receiver: Receiver) -> None:
    receiver.answer = lambda _: Reply(202, body=b"thanks")
    endpoint = await add_endpoint(client, receiver)
    r = await client.post(f"/v2/webhooks/{endpoint['id']}/test")
    assert r.status_code == 200
    assert (
        r.json()["ok"] is True and r.json()["statusCode"] == 202 and r.json()["responseExcerpt"] == "thanks"
    )
    payload = Webhook(endpoint["secret"]).verify(receiver.requests[0].body, receiver.requests[0].headers)
    assert payload["eventType"] == "webhookTest"


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"url": "ftp://example.com/x"}, "https://"),
        ({"url": "https://user:pw@example.com/"}, "credentials"),
        ({"url": "https://example.com/", "events": ["noSuchEvent"]}, "noSuchEvent"),
        ({}, "url"),
    ],
)
async def test_bad_endpoints_are_refused_with_a_reason(
    client: OrgClient, body: dict[str, Any], fragment: str
) -> None:
    r = await client.post("/v2/webhooks", json=body)
    assert r.status_code == 400
    assert fragment in r.json()["errors"][0]["message"]
    assert codes(r.json()) == [400]


async def test_disabled_endpoints_get_nothing_and_re_enabling_clears_the_reason(
    client: OrgClient, receiver: Receiver
) -> None:
    endpoint = await add_endpoint(client, receiver, enabled=False)
    cid = await register(client)
    assert await deliveries_of(client, endpoint["id"], cid) == []  # owed nothing
    r = await client.patch(f"/v2/webhooks/{endpoint['id']}", json={"enabled": True})
    assert r.json()["enabled"] is True and r.json()["disabledReason"] is None
    # The same customer changes: deliveries to one endpoint go in order per customer, so the
    # customerAdded of the disabled time, had it been owed, would arrive first.
    await client.put(
        f"/v2/customers/{cid}", params={"source": "INSTORE"}, json={"profiles": [{"firstName": "Back"}]}
    )
    await receiver.wait_for(lambda reqs: len(reqs) >= 1)
    assert [(r.json["eventType"], customer_of(r)) for r in receiver.requests] == [("customerUpdated", cid)]


async def test_a_slow_endpoint_does_not_hold_back_another(client: OrgClient, receiver: Receiver) -> None:
    async with Receiver() as slow:
        held = asyncio.Event()
        slow.answer = lambda _: Reply(200, gate=held)  # answers nothing until released
        slow_endpoint = await add_endpoint(client, slow)
        await add_endpoint(client, receiver)
        try:
            for _ in range(20):
                await register(client)
            await slow.wait_for(lambda reqs: len(reqs) >= 1)
            await receiver.wait_for(lambda reqs: len(reqs) == 20, timeout=10)
            # The fast endpoint had everything while no attempt on the slow one had ended
            # (none answered; none timed out, or the delivery log would show it).
            attempts = await client.get(f"/v2/webhooks/{slow_endpoint['id']}/attempts")
            assert attempts.json()["data"] == []
        finally:
            held.set()
        await slow.wait_for(lambda reqs: len({r.event_id for r in reqs}) == 20, timeout=20)


async def test_a_receiver_that_was_down_gets_every_event_when_it_is_back(client: OrgClient) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    down = Receiver(port)
    r = await client.post("/v2/webhooks", json={"url": down.url()})
    assert r.status_code == 201
    ids = [await register(client) for _ in range(3)]
    for _ in range(50):  # attempts meet a closed port and are scheduled again
        log = (await client.get(f"/v2/webhooks/{r.json()['id']}/attempts")).json()["data"]
        if log:
            break
        await asyncio.sleep(0.1)
    assert log and log[0]["statusCode"] is None and log[0]["outcome"] == "retry"
    async with down:
        await down.wait_for(lambda reqs: len({r.event_id for r in reqs}) == 3, timeout=20)
    assert sorted({customer_of(req) for req in down.requests}) == sorted(ids)


async def test_an_endpoint_failing_for_too_long_is_disabled_with_the_reason(
    client: OrgClient, receiver: Receiver
) -> None:

    receiver.answer = lambda _: Reply(500)
    endpoint = await add_endpoint(client, receiver)
    # As if every delivery had failed since a week ago.
    await execute(
        client.harness.app.state.db,
        "UPDATE webhook_endpoint SET failing_since = :since WHERE org_id = :o AND endpoint_id = :e",
        since=datetime.now(UTC) - timedelta(days=7),
        o=client.org_id,
        e=endpoint["id"],
    )
    await register(client)
    state: dict[str, Any] = {}
    for _ in range(50):
        state = (await client.get(f"/v2/webhooks/{endpoint['id']}")).json()
        if not state["enabled"]:
            break
        await asyncio.sleep(0.1)
    assert state["enabled"] is False
    assert "failed for 5 days" in state["disabledReason"]


async def test_delivery_keeps_flowing_across_directory_refreshes(
    client: OrgClient, receiver: Receiver
) -> None:
    # Each endpoint change reloads the worker's directory; deliveries in flight meanwhile must
    # not leak their slot, or the endpoint would stall after `max_in_flight` of them.
    receiver.answer = lambda _: Reply(200, delay=0.05)
    endpoint = await add_endpoint(client, receiver)
    for n in range(30):
        await register(client)
        if n % 3 == 0:
            await client.patch(f"/v2/webhooks/{endpoint['id']}", json={"description": f"refresh {n}"})
    await receiver.wait_for(lambda reqs: len({r.event_id for r in reqs}) == 30, timeout=20)


async def test_an_endpoint_whose_secret_does_not_open_stops_only_itself(
    client: OrgClient, other_client: OrgClient, receiver: Receiver
) -> None:

    broken = await add_endpoint(client, receiver)
    await add_endpoint(other_client, receiver)
    # As if the server key had changed since this secret was sealed.
    await execute(
        client.harness.app.state.db,
        "UPDATE webhook_endpoint SET secret_encrypted = :junk WHERE org_id = :o AND endpoint_id = :e",
        junk="v1:" + "A" * 60,
        o=client.org_id,
        e=broken["id"],
    )
    client.harness.app.state.db.endpoints_changed.set()
    mine = await register(client)
    theirs = await register(other_client)
    await receiver.wait_for(lambda reqs: theirs in {customer_of(r) for r in reqs}, timeout=20)
    assert mine not in {customer_of(r) for r in receiver.requests}
    assert (await client.request("DELETE", f"/v2/webhooks/{broken['id']}")).status_code in (200, 204)
