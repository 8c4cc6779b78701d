"""User Security Reset (seed 004 G4: `POST /user/security/reset/{user_id}`, dispatching on
`info.type`) and the completion of Forget Password, a route of ours (docs/users.md).

- Types 1 (reset password), 2 (reset security code) and 4 (reset security questions) need
  the current password. The adapter checks it before any write (`current_password_holds`:
  argon2id on the CPU pool; an unknown user or a user without a password is verified
  against a decoy hash, so all three answer the same, in the same time), checks and hashes
  the new secrets, then `apply_reset` makes the change in one unit of work: with the
  customer row held, the stored hash must still be the one verified; with 2FA enabled a
  current TOTP code (`authentication[{type: 11, code}]`) is checked and spent there too.
- Type 3 (forget password) issues a one-time code (users/challenges.py, purpose
  FORGET_PASSWORD) to one of the user's verified addresses or numbers (`request_code`);
  `complete_forget` redeems it and sets the new password without the current one (with
  2FA enabled, a current TOTP code as well).
- Every change goes through updates.py `_set_security`: the change log records the security
  record with every secret "____", and a new password raises customerUpdated
  (`updates.password_change`, no secret in it).

Secrets reach this module hashed (the new ones) or as the candidate to verify (the current
password, the TOTP code); none is returned, logged or put in an event.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING

from patron.context import RequestContext
from patron.customers.cards import series_names
from patron.db.base import utcnow
from patron.db.uow import UnitOfWork
from patron.errors import NotFound, PatronError
from patron.users import challenges, codes, sensitive, two_factor
from patron.users.challenges import Issued, Redeemed
from patron.users.records import UserRecord, UserRecords
from patron.users.service import Identified, UserView, read_user
from patron.users.updates import SecurityInput, _set_security

if TYPE_CHECKING:
    from patron.db.engine import Database
    from patron.security.attempts import Attempts, Gate
    from patron.webhooks.secrets import SecretBox

# info.type of the reset operations (004:L9761, L9877, L9993, L10243).
RESET_PASSWORD = 1
RESET_SECURITY_CODE = 2
FORGET_PASSWORD = 3
RESET_SECURITY_QUESTIONS = 4
TYPES = (RESET_PASSWORD, RESET_SECURITY_CODE, FORGET_PASSWORD, RESET_SECURITY_QUESTIONS)


# --- the current password ----------------------------------------------------------------


async def stored_password(uow: UnitOfWork, ctx: RequestContext, user_id: int) -> str | None:
    """The argon2id hash of the user's password, or None (no such user, no password)."""
    for rec in await UserRecords(uow.tx).of_customer(ctx.org_id, user_id):
        if rec.kind == "security":
            value = rec.data.get("password")
            return value if isinstance(value, str) and value else None
    return None


_decoy: str | None = None


async def _decoy_hash() -> str:
    """A hash of a random secret, made once per process: what a password is verified against
    when the user has none (or does not exist), so that answer costs the same time."""
    global _decoy
    if _decoy is None:
        _decoy = await sensitive.hash_secret(secrets.token_urlsafe(24), kind="password")
    return _decoy


async def current_password_holds(stored: str | None, given: str) -> bool:
    """Whether `given` is the password behind `stored`: one argon2id verification either
    way (a decoy hash when there is no password), False when there is none."""
    target = stored if stored is not None else await _decoy_hash()
    matches = await sensitive.verify_secret(target, given, kind="password")
    return matches and stored is not None


# --- types 1, 2, 4: the change ------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Reset:
    """A checked reset: the stored hash the current password matched, the new hashes (and
    question ids), and the TOTP code given (None: none)."""

    user_id: int
    type: int
    verified_hash: str
    given: SecurityInput
    totp: object | None = None


@dataclass(frozen=True, slots=True)
class Done:
    user: UserView
    record: UserRecord
    two_factor_checked: bool


async def _totp_checked(
    uow: UnitOfWork, ctx: RequestContext, box: SecretBox, user: UserView, code: object | None
) -> bool:
    """With 2FA enabled: the code must be a current TOTP code not spent before (spent now),
    else 3015. Without 2FA: nothing to check (False)."""
    if not two_factor.is_enabled(user):
        return False
    if code is None or not await two_factor.check_code(uow, ctx, box, user, code):
        raise codes.code_invalid(
            "authentication: two-factor authentication is enabled; a current TOTP code "
            "(type 11) is required and was missing, wrong or already used."
        )
    return True


async def apply_reset(uow: UnitOfWork, ctx: RequestContext, box: SecretBox, reset: Reset) -> Done:
    """The reset in one unit of work: the customer row held, the stored password still the
    one verified (else 3014: it changed meanwhile), the TOTP code when 2FA is enabled (else
    3015), then the new secrets (change log, customerUpdated for a password)."""
    if not await uow.tx.lock_row("customer", ctx.org_id, "customer_id", reset.user_id):
        raise codes.mismatch()
    user = await read_user(uow, ctx, reset.user_id)
    sec = user.single("security")
    if sec is None or sec.data.get("password") != reset.verified_hash:
        raise codes.mismatch()
    checked = await _totp_checked(uow, ctx, box, user, reset.totp)
    rec = await _set_security(uow, ctx, user, reset.given, None, utcnow())
    return Done(user, rec, checked)


# --- type 3: forget password --------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ForgetRequest:
    """One of the three, already normalised: an email address, a mobile number (the
    customers normaliser's form) or a loyalty card number."""

    user_id: int
    email: str | None = None
    mobile: str | None = None
    account_number: str | None = None


@dataclass(frozen=True, slots=True)
class CodeSent:
    issued: Issued
    channel: str
    target: Identified


def _verified(rows: list[Identified]) -> list[Identified]:
    """The verified rows, the primary first, then by id (the oldest)."""
    found = [i for i in rows if i.record.verification_status == 1]
    return sorted(found, key=lambda i: (not i.record.is_primary, i.record.record_id))


def _address_of(channel: str, target: Identified) -> str:
    if channel == "email":
        return str(target.record.data.get("address") or target.value)
    return "+" + target.value if target.value.isdigit() else target.value


async def _target(
    uow: UnitOfWork, ctx: RequestContext, user: UserView, req: ForgetRequest
) -> tuple[str, Identified] | None:
    if req.email is not None:
        wanted = req.email.casefold()
        mail = next((i for i in _verified(user.emails) if i.value.casefold() == wanted), None)
        return ("email", mail) if mail is not None else None
    if req.mobile is not None:
        phone = next((i for i in _verified(user.phones) if i.value == req.mobile), None)
        return ("sms", phone) if phone is not None else None
    view = await uow.customers.view(ctx.org_id, user.user_id, series_names(ctx.config))
    if view is None or not any(c.card_number == req.account_number for c in view.cards):
        return None
    # A card names the account, not an address: the primary verified email, else the
    # primary verified mobile.
    emails, phones = _verified(user.emails), _verified(user.phones)
    if emails:
        return "email", emails[0]
    if phones:
        return "sms", phones[0]
    return None


async def request_code(uow: UnitOfWork, ctx: RequestContext, box: SecretBox, req: ForgetRequest) -> CodeSent:
    """Forget Password: a one-time code (6 digits, 10 minutes, one use) to the verified
    address or number named, sent after commit. An unknown user, an address or number that
    is not one of the user's verified ones, or a card of no such user: 3014, nothing sent."""
    try:
        user = await read_user(uow, ctx, req.user_id)
    except NotFound as exc:
        raise _no_match() from exc
    found = await _target(uow, ctx, user, req)
    if found is None:
        raise _no_match()
    channel, target = found
    issued = await challenges.issue(
        uow,
        ctx,
        box,
        user.user_id,
        challenges.FORGET_PASSWORD,
        channel=channel,
        to=_address_of(channel, target),
        record_id=target.record.record_id,
    )
    return CodeSent(issued, channel, target)


def _no_match() -> Exception:
    return codes.mismatch(
        "reset_security_data.forget_password: no verified email, mobile or account of this user matches."
    )


# --- the completion (a route of ours) ------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Completed:
    user: UserView
    redeemed: Redeemed
    target: tuple[str, Identified] | None
    two_factor_checked: bool


class _TotpRefused(Exception):
    """The forget code matched but the TOTP code did not (raised to roll the redemption back,
    so the emailed code stays usable; counted against the throttle by complete_forget)."""


async def complete_forget(
    db: Database,
    ctx: RequestContext,
    box: SecretBox,
    user_id: int,
    code: object,
    new_password: str,
    totp: object | None,
    *,
    attempts: Attempts,
    gate: Gate,
) -> Completed:
    """Redeem the user's pending forget-password code and set `new_password` (an argon2id
    hash) in the same transaction, without the current password. With 2FA enabled a current
    TOTP code is required too. A wrong, expired, used or burnt code, or a wrong TOTP code:
    the try is counted (throttle) and 3015."""

    async def then(uow: UnitOfWork, redeemed: Redeemed) -> Completed:
        user = await read_user(uow, ctx, user_id)
        try:
            checked = await _totp_checked(uow, ctx, box, user, totp)
        except PatronError as exc:
            raise _TotpRefused() from exc
        await _set_security(uow, ctx, user, SecurityInput(password=new_password), None, utcnow())
        rows = [("email", i) for i in user.emails] + [("sms", i) for i in user.phones]
        target = next((r for r in rows if r[1].record.record_id == redeemed.record_id), None)
        return Completed(user, redeemed, target, checked)

    try:
        return await challenges.redeem(
            db,
            ctx.org_id,
            box,
            user_id,
            challenges.FORGET_PASSWORD,
            code,
            then,
            attempts=attempts,
            gate=gate,
        )
    except _TotpRefused as exc:
        await attempts.failed(gate)
        raise codes.code_invalid(
            "authentication: two-factor authentication is enabled; a current TOTP code "
            "(type 11) is required and was missing, wrong or already used."
        ) from exc
