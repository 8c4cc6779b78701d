"""The delivery worker: leases due deliveries, POSTs them, records what happened.

At least once: a delivery stays pending until a 2xx; a worker that dies mid-delivery
leaves a lease that expires, and another worker (or the same, restarted) sends it again
with the same `webhook-id`. In order per customer: a delivery is leased only when no
earlier delivery of the same customer to the same endpoint is pending. Bounded: each
endpoint has at most `max_in_flight` requests open, and every request has a timeout, so
a slow endpoint holds back only its own queue.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from patron import metrics
from patron.config import Settings
from patron.customers.erasure import erase_due
from patron.db.base import utcnow
from patron.db.engine import Database
from patron.db.uow import UnitOfWork
from patron.engagement.image_store import open_store
from patron.idempotency.service import prune_expired
from patron.messages.outbox import send_due
from patron.messages.sender import Sender, sender_from
from patron.scheduler import run_due
from patron.security import attempts, ratelimit
from patron.users import access_rules
from patron.webhooks import heartbeat
from patron.webhooks.client import DeliveryClient
from patron.webhooks.delivery import Outcome, post, sign
from patron.webhooks.repository import (
    DEAD,
    DELIVERED,
    PENDING,
    EndpointRow,
    NewAttempt,
    Settlement,
    WebhookRepository,
)
from patron.webhooks.schedule import next_delay, retry_after_seconds
from patron.webhooks.secrets import SecretBox
from patron.webhooks.service import secret_context

log = logging.getLogger("patron.webhooks")
# How old the directory of endpoints may get. A change made through this process sets
# `db.endpoints_changed`; one made through another process (an API process, the console, a
# CLI) is read within this time plus one round (`webhook_poll_seconds`), under a second at
# the defaults. Disabling needs no refresh: the lease itself reads `enabled`.
DIRECTORY_SECONDS = 0.7
LEASE_GROUP = 64  # endpoints leased from in one transaction at most


@dataclass
class Target:
    """An enabled endpoint as the worker knows it, with its secrets opened."""

    org_id: int
    endpoint_id: int
    url: str
    max_in_flight: int
    secret: str
    previous_secret: str | None
    previous_expires_at: datetime | None
    in_flight: int = 0
    row: EndpointRow | None = None  # the endpoint as last read

    def secrets(self, now: datetime) -> list[str]:
        active = [self.secret]
        if self.previous_secret and self.previous_expires_at and self.previous_expires_at > now:
            active.append(self.previous_secret)
        return active


@dataclass(frozen=True, slots=True)
class Result:
    target: Target
    event_id: int
    attempt_number: int
    outcome: Outcome
    attempted_at: datetime


@dataclass
class DeliveryWorker:
    db: Database
    settings: Settings
    box: SecretBox
    owner: str = field(default_factory=lambda: f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}")

    sender: Sender | None = None

    def __post_init__(self) -> None:
        if self.sender is None:
            self.sender = sender_from(self.settings)
        self._targets: dict[tuple[int, int], Target] = {}
        self._directory_at = 0.0
        self._results: asyncio.Queue[Result] = asyncio.Queue()
        self._wake = asyncio.Event()
        self._tasks: set[asyncio.Task[None]] = set()
        self._client = DeliveryClient(allow_private=self.settings.webhook_allow_private)

    async def run(self, stop: asyncio.Event) -> None:
        """Deliver until `stop` is set; then finish the requests in flight and record them."""
        flusher = asyncio.create_task(self._flush_results(stop))
        erasures = asyncio.create_task(self._erase_when_due(stop))
        schedule = asyncio.create_task(self._run_schedule(stop))
        messages = asyncio.create_task(self._send_messages(stop))
        beats = asyncio.create_task(heartbeat.run(self.db, self.owner, stop))  # for /ready
        try:
            while not stop.is_set():
                try:
                    await self._round()
                except Exception:  # a database hiccup must not end delivery; try again
                    log.exception("delivery round failed")
                    await asyncio.sleep(1)
                await self._sleep(stop)
        finally:
            # Stopping (SIGTERM): lease nothing more, let the requests in flight end (each has
            # its timeout) and record their outcomes below. One still open after the bound
            # keeps its lease, which lapses; the delivery is then sent again, same webhook-id.
            if self._tasks:
                log.info("stopping: finishing %d deliveries in flight", len(self._tasks))
                await asyncio.wait(self._tasks, timeout=self.settings.webhook_timeout_seconds + 5)
            stop.set()
            await flusher
            await erasures
            await schedule
            await messages
            await beats
            self._client.close()

    async def _erase_when_due(self, stop: asyncio.Event) -> None:
        """Erase the personal data of customers whose erasure request fell due, forget
        idempotency keys past their day and closed rate-limit windows."""
        while not stop.is_set():
            try:
                if await erase_due(self.db, utcnow(), images=open_store(self.settings.image_store)):
                    self.db.outbox_signal.set()
            except Exception:
                log.exception("erasure pass failed; it runs again")
            try:
                await self.db.write(prune_expired, utcnow())
            except Exception:
                log.exception("pruning idempotency keys failed; it runs again")
            try:
                await self.db.write(ratelimit.prune_closed, utcnow())
            except Exception:
                log.exception("pruning rate-limit windows failed; it runs again")
            try:
                await self.db.write(attempts.prune_old, utcnow())
                await self.db.write(access_rules.prune_ended, utcnow())
            except Exception:
                log.exception("pruning credential failures or access-rule counts failed; it runs again")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self.settings.erasure_poll_seconds)

    async def _run_schedule(self, stop: asyncio.Event) -> None:
        """The scheduled jobs (scheduler.py), one pass per interval; events they raise are
        delivered at once."""
        while not stop.is_set():
            done = await run_due(self.db, utcnow())
            if any(n > 0 for n in done.values()):
                self.db.outbox_signal.set()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self.settings.scheduler_interval_seconds)

    async def _send_messages(self, stop: asyncio.Event) -> None:
        """Send the one-time codes and links owed to users (messages/outbox.py), a batch per
        pass, as often as webhooks are looked for."""
        assert self.sender is not None
        try:
            while not stop.is_set():
                try:
                    sent = await send_due(self.db, self.box, self.sender)
                except Exception:
                    log.exception("message pass failed; it runs again")
                    sent = 0
                if sent:
                    continue
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), self.settings.webhook_poll_seconds)
        finally:
            await self.sender.close()

    async def _sleep(self, stop: asyncio.Event) -> None:
        signal = self.db.outbox_signal
        waiters = [asyncio.ensure_future(e.wait()) for e in (signal, self._wake, stop)]
        try:
            await asyncio.wait(
                waiters, timeout=self.settings.webhook_poll_seconds, return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            for w in waiters:
                w.cancel()
        signal.clear()
        self._wake.clear()

    async def _round(self) -> None:
        loop = asyncio.get_running_loop()
        if self.db.endpoints_changed.is_set() or loop.time() - self._directory_at > DIRECTORY_SECONDS:
            self.db.endpoints_changed.clear()
            await self._refresh_directory()
            self._directory_at = loop.time()
        now = utcnow()
        lease_until = now + timedelta(seconds=self.settings.webhook_lease_seconds)
        wanted = [
            (t, t.max_in_flight - t.in_flight)
            for t in list(self._targets.values())
            if t.max_in_flight > t.in_flight
        ]
        for start in range(0, len(wanted), LEASE_GROUP):
            group = wanted[start : start + LEASE_GROUP]
            leased = await self.db.write(
                _lease,
                [(t.org_id, t.endpoint_id, free) for t, free in group],
                now,
                self.owner,
                lease_until,
            )
            for (target, _), due in zip(group, leased, strict=True):
                for d in due:
                    target.in_flight += 1
                    task = asyncio.create_task(
                        self._deliver(target, d.event_id, d.attempts + 1, d.message_id, d.payload)
                    )
                    self._tasks.add(task)
                    task.add_done_callback(self._tasks.discard)

    async def _refresh_directory(self) -> None:
        targets: dict[tuple[int, int], Target] = {}
        for r in await self.db.read(_enabled_endpoints):
            key = (r.org_id, r.endpoint_id)
            try:
                targets[key] = self._target(r, self._targets.get(key))
            except Exception:  # a secret that does not open (a changed server key): skip it alone
                log.exception("endpoint %s of org %s skipped: its signing secret does not open", *key[::-1])
        self._targets = targets

    def _target(self, row: EndpointRow, known: Target | None) -> Target:
        """The endpoint's target, updated in place when known: deliveries in flight hold it,
        and its in-flight count must stay the one they decrement. An endpoint whose row is
        the same as when last read is kept as is, so a refresh opens only changed secrets."""
        if known is not None and known.row == row:
            return known
        context = secret_context(row.org_id, row.endpoint_id)
        secret = self.box.open(row.secret_encrypted, context)
        previous = (
            self.box.open(row.previous_secret_encrypted, context) if row.previous_secret_encrypted else None
        )
        if known is None:
            return Target(
                row.org_id,
                row.endpoint_id,
                row.url,
                row.max_in_flight,
                secret,
                previous,
                row.previous_secret_expires_at,
                row=row,
            )
        known.row = row
        known.url, known.max_in_flight, known.secret = row.url, row.max_in_flight, secret
        known.previous_secret, known.previous_expires_at = previous, row.previous_secret_expires_at
        return known

    async def _deliver(
        self, target: Target, event_id: int, attempt: int, message_id: str, payload: object
    ) -> None:
        now = utcnow()
        try:
            signed = sign(message_id, payload, target.secrets(now), now)
            outcome = await post(
                self._client,
                target.url,
                signed,
                timeout_seconds=self.settings.webhook_timeout_seconds,
            )
        except Exception as exc:  # a bug here must still settle the delivery
            log.exception("delivery failed before an answer")
            outcome = Outcome(None, 0, None, f"internal error: {type(exc).__name__}", None)
        finally:
            target.in_flight -= 1
        self._results.put_nowait(Result(target, event_id, attempt, outcome, now))

    async def _flush_results(self, stop: asyncio.Event) -> None:
        while not (stop.is_set() and self._results.empty() and not self._tasks):
            try:
                first = await asyncio.wait_for(self._results.get(), timeout=0.2)
            except TimeoutError:
                continue
            batch = [first]
            while not self._results.empty() and len(batch) < 500:
                batch.append(self._results.get_nowait())
            try:
                disabled = await self._record(batch)
                for key in disabled:
                    self._targets.pop(key, None)  # stop at once; other workers see it on refresh
            except Exception:
                log.exception("recording %d delivery results failed; their leases will lapse", len(batch))
            self._wake.set()  # a settled delivery may unblock the customer's next event

    async def _record(self, batch: Sequence[Result]) -> set[tuple[int, int]]:
        """Write the outcomes of a batch in one transaction; return endpoints it disabled."""
        settled: list[Settlement] = []
        attempts: list[NewAttempt] = []
        health: dict[tuple[int, int], Health] = {}
        counted = metrics.get()
        for r in batch:
            settlement, outcome_name, disable = self._settlement(r)
            settled.append(settlement)
            counted.attempt(r.target.org_id, r.target.endpoint_id, outcome_name, r.outcome.latency_ms / 1000)
            attempts.append(
                NewAttempt(
                    r.target.org_id,
                    r.target.endpoint_id,
                    r.event_id,
                    r.attempt_number,
                    r.attempted_at,
                    r.outcome.status_code,
                    r.outcome.latency_ms,
                    r.outcome.excerpt,
                    r.outcome.error,
                    outcome_name,
                )
            )
            health[(r.target.org_id, r.target.endpoint_id)] = Health(r.outcome.ok, r.attempted_at, disable)
        await self.db.write(
            _record_outcomes,
            self.owner,
            settled,
            attempts,
            health,
            self.settings.webhook_disable_after_seconds,
        )
        return {key for key, h in health.items() if h.disable}

    def _settlement(self, r: Result) -> tuple[Settlement, str, str | None]:
        """The delivery's new state, the attempt's outcome name, and a reason to disable."""
        outcome, now = r.outcome, utcnow()

        def settled(status: str, **times: datetime) -> Settlement:
            return Settlement(
                r.target.org_id,
                r.target.endpoint_id,
                r.event_id,
                status,
                r.attempt_number,
                outcome.status_code,
                outcome.error,
                now,
                **times,
            )

        if outcome.ok:
            return settled(DELIVERED, delivered_at=now), "delivered", None
        if outcome.status_code == 410:
            reason = f"The endpoint answered 410 Gone on {now:%Y-%m-%d %H:%M} UTC."
            return settled(PENDING, next_attempt_at=now), "disabled", reason
        delay = next_delay(self.settings.webhook_retry_schedule, r.attempt_number)
        if delay is None:
            return settled(DEAD), "dead", None
        if outcome.status_code in (429, 503):
            asked = retry_after_seconds(outcome.retry_after, now)
            if asked is not None:
                delay = max(delay, asked)
        return settled(PENDING, next_attempt_at=now + timedelta(seconds=delay)), "retry", None


@dataclass(frozen=True, slots=True)
class Due:
    """A leased delivery with what to send."""

    event_id: int
    attempts: int
    message_id: str
    payload: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Health:
    """The last outcome of a batch for one endpoint."""

    ok: bool
    at: datetime
    disable: str | None


async def _enabled_endpoints(uow: UnitOfWork) -> list[EndpointRow]:
    return await uow.webhooks.enabled_endpoints_of_every_org()


async def _lease(
    uow: UnitOfWork,
    wanted: Sequence[tuple[int, int, int]],
    now: datetime,
    owner: str,
    lease_until: datetime,
) -> list[list[Due]]:
    """Lease what each (org, endpoint, free slots) has room for, with the payloads to send.

    A delivery whose event was erased is left out: its lease lapses and nothing is sent.
    """
    repo = uow.webhooks
    leased: list[list[Due]] = []
    for org_id, endpoint_id, free in wanted:
        claimed = await repo.claim(org_id, endpoint_id, now, free, owner, lease_until)
        if not claimed:
            leased.append([])
            continue
        payloads = await repo.payloads(org_id, [c.event_id for c in claimed])
        leased.append(
            [
                Due(c.event_id, c.attempts, found[0], found[2])
                for c in claimed
                if (found := payloads.get(c.event_id)) is not None
            ]
        )
    return leased


async def _record_outcomes(
    uow: UnitOfWork,
    owner: str,
    settled: Sequence[Settlement],
    attempts: Sequence[NewAttempt],
    health: Mapping[tuple[int, int], Health],
    disable_after: float,
) -> None:
    repo = uow.webhooks
    await repo.settle(owner, settled)
    await repo.log_attempts(await uow.tx.ids("attempt", len(attempts)), attempts)
    for (org_id, endpoint_id), h in health.items():
        await _update_health(repo, org_id, endpoint_id, h, disable_after)


async def _update_health(
    repo: WebhookRepository, org_id: int, endpoint_id: int, h: Health, disable_after: float
) -> None:
    """A success clears the failing streak; a 410 disables at once; a streak of failures
    longer than `disable_after` seconds disables too."""
    if h.ok:
        await repo.endpoint_succeeded(org_id, endpoint_id, h.at)
    elif h.disable:
        await repo.disable_endpoint(org_id, endpoint_id, h.disable, h.at)
    else:
        days = disable_after / 86400
        await repo.endpoint_failed(
            org_id,
            endpoint_id,
            h.at,
            h.at - timedelta(seconds=disable_after),
            f"Every delivery failed for {days:g} days; fix the endpoint and enable it.",
        )
