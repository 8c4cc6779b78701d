"""Throttling of failed credential checks of the user namespace (OWASP ASVS V2.2), kept in
the database so every serving process sees the same counts.

What counts: a wrong password, security code, secret answer, email, phone or date of birth
given to a Validate operation, a wrong current password or TOTP code in a reset, a wrong
one-time code in a confirmation, a wrong TOTP code at 2FA activation. Each failure counts
against two subjects: the account (`u:<user id>`, whether or not the user exists, so an
unknown user is throttled exactly as a known one) and the client address (`a:<address>`,
IPv6 by its /64, security/throttle.py `ClientAddresses`).

The policy (`AttemptPolicy`, figures in docs/users.md "Throttling"):
- after `threshold` consecutive failures of a subject (10 for an account, 30 for an
  address), every attempt is answered 429 (code 3012) with `Retry-After` until a delay has
  passed; the delay starts at `base_delay` (30 s) and doubles with each further failure, up
  to `cap` (15 minutes). Nothing is checked while a subject waits, so waiting attempts cost
  no hash and count nothing;
- at most `hourly` failures (100) of a subject in a window of an hour (ASVS 2.2.1), past
  which it waits for the window's end;
- a success forgets the subject's consecutive failures (the hour's count stays);
- a subject unlocks by itself when its delay has passed: nobody can lock a user out for
  good, only slow the guessing down. With the defaults an attacker gets about 17 guesses per
  account per hour.

Costs: `check` is one read of at most two rows by primary key; `failed` is one upsert per
subject (and one update when a delay starts), in a transaction of its own that commits
even though the request then fails; `succeeded` writes only when a row exists.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from patron.db.base import utcnow
from patron.db.sql import Q
from patron.errors import Throttled
from patron.security.throttle import ClientAddresses

if TYPE_CHECKING:
    from patron.db.engine import Database
    from patron.db.uow import UnitOfWork

THROTTLED = 3012  # the user namespace's code (users/codes.py THROTTLED)
WINDOW = timedelta(hours=1)
FORGET_AFTER = timedelta(days=1)

_READ = Q(
    "SELECT subject, consecutive, window_start, window_failures, locked_until FROM credential_failure"
    " WHERE org_id = :org_id AND subject IN (:subjects*)"
)
_FAIL = Q(
    "INSERT INTO credential_failure (org_id, subject, consecutive, window_start, window_failures,"
    " locked_until, updated_at) VALUES (:org_id, :subject, 1, :now, 1, NULL, :now)"
    " ON CONFLICT (org_id, subject) DO UPDATE SET consecutive = credential_failure.consecutive + 1,"
    " window_failures = CASE WHEN credential_failure.window_start <= :window_open THEN 1"
    " ELSE credential_failure.window_failures + 1 END,"
    " window_start = CASE WHEN credential_failure.window_start <= :window_open THEN :now"
    " ELSE credential_failure.window_start END,"
    " updated_at = :now"
    " RETURNING consecutive, window_start, window_failures"
)
_LOCK = Q("UPDATE credential_failure SET locked_until = :until WHERE org_id = :org_id AND subject = :subject")
_FORGET = Q(
    "UPDATE credential_failure SET consecutive = 0, locked_until = NULL, updated_at = :now"
    " WHERE org_id = :org_id AND subject IN (:subjects*)"
)
_ORGS_WITH_OLD = Q(
    "SELECT DISTINCT org_id FROM credential_failure WHERE updated_at < :before ORDER BY org_id LIMIT :n"
)
_PRUNE = Q("DELETE FROM credential_failure WHERE org_id = :org_id AND updated_at < :before")


@dataclass(frozen=True, slots=True)
class AttemptPolicy:
    threshold: int = 10
    address_threshold: int = 30
    base_delay: float = 30.0
    cap: float = 900.0
    hourly: int = 100

    def delay(self, consecutive: int, threshold: int) -> float:
        """Seconds a subject waits after its `consecutive`-th failure (0: it need not)."""
        if consecutive < threshold:
            return 0.0
        return min(self.cap, self.base_delay * 2.0 ** min(consecutive - threshold, 40))

    def threshold_of(self, subject: str) -> int:
        return self.threshold if subject.startswith("u:") else self.address_threshold


@dataclass(slots=True)
class Gate:
    """One credential check's subjects, and which of them have a row (so a success writes
    only when there is something to forget)."""

    org_id: int
    subjects: tuple[str, ...]
    known: set[str] = field(default_factory=set)


def _aware(value: Any) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, str):  # pragma: no cover - the engines return datetimes
        value = datetime.fromisoformat(value)
    return value  # type: ignore[no-any-return]


def wait_of(policy: AttemptPolicy, row: Mapping[str, Any], now: datetime) -> int:
    """Whole seconds a subject must still wait (0: it may try now)."""
    waits = []
    locked = _aware(row["locked_until"])
    if locked is not None and locked > now:
        waits.append((locked - now).total_seconds())
    started = _aware(row["window_start"])
    if row["window_failures"] >= policy.hourly and started is not None and started + WINDOW > now:
        waits.append((started + WINDOW - now).total_seconds())
    return max(1, math.ceil(max(waits))) if waits else 0


class Attempts:
    """The throttle of credential checks (app.state.attempts)."""

    def __init__(self, db: Database, policy: AttemptPolicy, addresses: ClientAddresses) -> None:
        self.db = db
        self.policy = policy
        self.addresses = addresses

    def subjects(self, user_id: int | None, scope: Mapping[str, Any] | None) -> tuple[str, ...]:
        found = []
        if user_id is not None:
            found.append(f"u:{user_id}")
        if scope is not None:
            found.append(f"a:{self.addresses.of_scope(scope)}")
        return tuple(found)

    async def check(self, org_id: int, user_id: int | None, scope: Mapping[str, Any] | None) -> Gate:
        """The gate of a credential check; `Throttled` (3012, 429) while a subject waits."""
        gate = Gate(org_id, self.subjects(user_id, scope))
        rows = await self.db.read(_read, org_id, gate.subjects)
        now = utcnow()
        wait = 0
        for row in rows:
            gate.known.add(row["subject"])
            wait = max(wait, wait_of(self.policy, row, now))
        if wait:
            raise Throttled(
                THROTTLED,
                "Too many failed attempts; retry after the delay Retry-After gives.",
                retry_after=wait,
            )
        return gate

    async def failed(self, gate: Gate) -> None:
        """Count one failure against every subject of the gate (committed on its own)."""
        await self.db.write(_fail, gate, self.policy, utcnow())

    async def succeeded(self, gate: Gate) -> None:
        """Forget the consecutive failures of the gate's subjects that have any."""
        if gate.known:
            await self.db.write(_forget, gate.org_id, tuple(gate.known), utcnow())


async def _read(uow: UnitOfWork, org_id: int, subjects: tuple[str, ...]) -> list[dict[str, Any]]:
    rows = await uow.tx.all(_READ, org_id=org_id, subjects=list(subjects))
    return [
        {
            "subject": r[0],
            "consecutive": int(r[1]),
            "window_start": r[2],
            "window_failures": int(r[3]),
            "locked_until": r[4],
        }
        for r in rows
    ]


async def _fail(uow: UnitOfWork, gate: Gate, policy: AttemptPolicy, now: datetime) -> None:
    for subject in gate.subjects:
        row = await uow.tx.one(_FAIL, org_id=gate.org_id, subject=subject, now=now, window_open=now - WINDOW)
        assert row is not None
        delay = policy.delay(int(row[0]), policy.threshold_of(subject))
        if delay:
            await uow.tx.run(_LOCK, org_id=gate.org_id, subject=subject, until=now + timedelta(seconds=delay))


async def _forget(uow: UnitOfWork, org_id: int, subjects: tuple[str, ...], now: datetime) -> None:
    await uow.tx.run(_FORGET, org_id=org_id, subjects=list(subjects), now=now)


async def prune_old(uow: UnitOfWork, now: datetime, orgs: int = 100) -> int:
    """Forget subjects untouched for a day (the delivery worker's housekeeping pass)."""
    before = now - FORGET_AFTER
    removed = 0
    for (org_id,) in await uow.tx.all(_ORGS_WITH_OLD, before=before, n=orgs):
        removed += await uow.tx.run(_PRUNE, org_id=int(org_id), before=before)
    return removed
