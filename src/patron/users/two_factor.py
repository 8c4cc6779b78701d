"""TOTP two-factor authentication of a user (seed-004-rules.md 4.3 c; docs/users.md).

One `user_record` row of kind `two_factor` per user: `data` holds the plain fields
(`type` 11, `is_enabled` 0/1, `issuer`, `title`, `last_step`: the time step of the last code
accepted), `sealed` the base32 TOTP secret (users/sensitive.py `seal`, bound to org, kind
and record id). The secret leaves the process once, in Enroll's answer.

- Enroll makes a fresh 160-bit secret (pyotp.random_base32); enrolling again while pending
  replaces it; while enabled it is refused (3011): the seed has no operation to disable.
- Activate checks a current code (RFC 6238: 30 s, 6 digits, SHA-1, one step of drift
  either way) and enables; a wrong, reused or malformed code is 3015 (the route counts it
  against the throttle).
- A code's time step is accepted once: a code is good only for a step after `last_step`,
  which the accepting write stores in the same unit of work (the user's row is locked
  first, so two requests never both spend one code).

`is_enabled` and `check_code` are what other flows (Reset Password with 2FA) call.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

import pyotp

from patron.context import RequestContext
from patron.customers.history import record_changes
from patron.db.base import utcnow
from patron.db.sql import Q
from patron.db.uow import UnitOfWork
from patron.users import codes
from patron.users.lookups import USER_RECORD_KIND
from patron.users.records import UserRecord, UserRecords
from patron.users.sensitive import seal, unseal
from patron.users.service import ACTIVE, UserView, read_user, user_account
from patron.users.updates import record_change
from patron.webhooks.secrets import SecretBox

KIND = "two_factor"
TOTP_TYPE = 11  # the seed's authentication type of a TOTP authenticator (004:L11569)
PERIOD = 30
DIGITS = 6
DRIFT = 1  # steps accepted either side of the current one

_WRITE = Q(
    "UPDATE user_record SET data = :data, sealed = :sealed, updated_at = :updated_at"
    " WHERE org_id = :org_id AND customer_id = :customer_id AND record_id = :record_id"
)


@dataclass(frozen=True, slots=True)
class Label:
    """What an authenticator app shows for the account: the issuer (the org's name) and the
    title (the user's primary email, else mobile, else id)."""

    issuer: str
    title: str


@dataclass(frozen=True, slots=True)
class Enrolment:
    """A pending enrolment and the secret to show once."""

    user: UserView
    record: UserRecord
    secret: str


def new_secret() -> str:
    """A TOTP secret: 32 base32 characters, 160 bits from the OS CSPRNG (RFC 4226's
    recommended length)."""
    return pyotp.random_base32()


def step_at(at: datetime) -> int:
    """The RFC 6238 time step of a moment."""
    return int(at.timestamp()) // PERIOD


def is_enabled(user: UserView) -> bool:
    """Whether the user has activated a TOTP authenticator."""
    rec = user.single(KIND)
    return rec is not None and rec.data.get("is_enabled") == 1


def normalise_code(code: object) -> str | None:
    """A code as 6 ASCII digits ("042137", or the seed's number 848201), else None."""
    if isinstance(code, bool):
        return None
    if isinstance(code, int):
        return f"{code:0{DIGITS}d}" if 0 <= code < 10**DIGITS else None
    if isinstance(code, str):
        text = code.strip()
        if len(text) == DIGITS and text.isascii() and text.isdigit():
            return text
    return None


def matching_step(secret: str, code: str, now: datetime, last_step: int | None) -> int | None:
    """The step within the drift window whose code is `code` and that comes after
    `last_step` (a step is spent once, and an older one after it), else None. Every step of
    the window is compared, each in constant time."""
    totp = pyotp.TOTP(secret, digits=DIGITS, interval=PERIOD)
    current = step_at(now)
    matches = [
        step
        for step in range(current - DRIFT, current + DRIFT + 1)
        if hmac.compare_digest(totp.generate_otp(step), code)
    ]
    fresh = [step for step in matches if last_step is None or step > last_step]
    return min(fresh) if fresh else None


def provisioning_uri(secret: str, title: str, issuer: str) -> str:
    """The otpauth:// URI an authenticator app reads (the Key URI format)."""
    return pyotp.TOTP(secret, digits=DIGITS, interval=PERIOD).provisioning_uri(name=title, issuer_name=issuer)


def title_of(user: UserView) -> str:
    """The account name an authenticator shows: the primary email, else the primary
    mobile, else the user id (as the seed's title is the user's email, 004:L11689)."""
    if user.emails:
        mail = next((i for i in user.emails if i.record.is_primary), user.emails[0])
        return str(mail.record.data.get("address") or mail.value)
    if user.phones:
        number = next((i for i in user.phones if i.record.is_primary), user.phones[0]).value
        return "+" + number if number.isdigit() else number
    return str(user.user_id)


async def _hold(uow: UnitOfWork, ctx: RequestContext, user_id: int) -> UserView:
    """The user, its row locked for the transaction (one code is never spent twice)."""
    if not await uow.tx.lock_row("customer", ctx.org_id, "customer_id", user_id):
        raise codes.not_found(user_id)
    return await read_user(uow, ctx, user_id)


async def _issuer(uow: UnitOfWork, ctx: RequestContext) -> str:
    org = await uow.orgs.get(ctx.org_id)
    return org.name if org is not None else "Patron"


async def _write(uow: UnitOfWork, ctx: RequestContext, user_id: int, rec: UserRecord) -> None:
    await uow.tx.later(
        _WRITE,
        org_id=ctx.org_id,
        customer_id=user_id,
        record_id=rec.record_id,
        data=rec.data,
        sealed=rec.sealed,
        updated_at=rec.updated_at,
    )


def _replace_record(user: UserView, rec: UserRecord) -> UserView:
    return replace(user, records=[*(r for r in user.records if r.kind != KIND), rec])


async def _log(
    uow: UnitOfWork, ctx: RequestContext, user_id: int, old: UserRecord | None, new: UserRecord, now: datetime
) -> None:
    """The change-log row (the record's plain fields: the secret is never among them)."""
    source, account = user_account(ctx)
    await record_changes(uow, ctx, user_id, USER_RECORD_KIND, [record_change(old, new, source, account)], now)


async def label_of(uow: UnitOfWork, ctx: RequestContext, user_id: int) -> Label:
    """The issuer and title of the user's authenticator entry (read before enrolling, so the
    QR code can be drawn off the event loop before the write)."""
    return Label(await _issuer(uow, ctx), title_of(await read_user(uow, ctx, user_id)))


async def enroll(
    uow: UnitOfWork, ctx: RequestContext, box: SecretBox, user_id: int, secret: str, label: Label
) -> Enrolment:
    """Enroll User In 2FA: `secret` (new_secret) sealed, pending activation (is_enabled 0);
    it replaces a pending one. Refused (3011) while 2FA is enabled."""
    user = await _hold(uow, ctx, user_id)
    old = user.single(KIND)
    if old is not None and old.data.get("is_enabled") == 1:
        raise codes.refused(
            "authentication_data: two-factor authentication is already enabled for this user."
        )
    now = utcnow()
    data: dict[str, Any] = {
        "type": TOTP_TYPE,
        "is_enabled": 0,
        "issuer": label.issuer,
        "title": label.title,
        "last_step": None,
    }
    repo = UserRecords(uow.tx)
    if old is None:
        (rid,) = await repo.new_ids(1)
        rec = UserRecord(
            rid, KIND, ACTIVE, 0, False, data, seal(box, ctx.org_id, KIND, rid, secret), now, now
        )
        await repo.insert(ctx.org_id, user_id, [rec], ctx.actor.till_id)
    else:
        rec = replace(
            old, data=data, sealed=seal(box, ctx.org_id, KIND, old.record_id, secret), updated_at=now
        )
        await _write(uow, ctx, user_id, rec)
    await _log(uow, ctx, user_id, old, rec, now)
    return Enrolment(_replace_record(user, rec), rec, secret)


async def activate(
    uow: UnitOfWork, ctx: RequestContext, box: SecretBox, user_id: int, code: str
) -> tuple[UserView, UserRecord]:
    """Activate User 2FA: a current code (not spent before) enables the enrolment. With 2FA
    already enabled the code is checked the same way and the step spent, nothing else
    changes. No enrolment: 3011; a wrong or reused code: 3015 (nothing written)."""
    user = await _hold(uow, ctx, user_id)
    old = user.single(KIND)
    if old is None or old.sealed is None:
        raise codes.refused("authentication_data: the user has no 2FA enrolment; enroll first.")
    now = utcnow()
    secret = unseal(box, ctx.org_id, KIND, old.record_id, old.sealed)
    step = matching_step(secret, code, now, old.data.get("last_step"))
    if step is None:
        raise codes.code_invalid("authentication_data[0].code is wrong, expired or already used.")
    rec = replace(old, data={**old.data, "is_enabled": 1, "last_step": step}, updated_at=now)
    await _write(uow, ctx, user_id, rec)
    if old.data.get("is_enabled") != 1:
        await _log(uow, ctx, user_id, old, rec, now)
    return _replace_record(user, rec), rec


async def check_code(
    uow: UnitOfWork, ctx: RequestContext, box: SecretBox, user: UserView, code: object
) -> bool:
    """Whether `code` is a current TOTP code of the user's enabled 2FA, not spent before;
    when it is, its step is spent in this unit of work. False for a wrong, reused or
    malformed code, or a user without enabled 2FA."""
    given = normalise_code(code)
    if given is None or not is_enabled(user):
        return False
    if not await uow.tx.lock_row("customer", ctx.org_id, "customer_id", user.user_id):
        return False
    # Read again under the lock: another request may have spent a step since `user` was read.
    rec = next(
        (r for r in await UserRecords(uow.tx).of_customer(ctx.org_id, user.user_id) if r.kind == KIND), None
    )
    if rec is None or rec.sealed is None or rec.data.get("is_enabled") != 1:
        return False
    now = utcnow()
    secret = unseal(box, ctx.org_id, KIND, rec.record_id, rec.sealed)
    step = matching_step(secret, given, now, rec.data.get("last_step"))
    if step is None:
        return False
    await _write(uow, ctx, user.user_id, replace(rec, data={**rec.data, "last_step": step}, updated_at=now))
    return True
