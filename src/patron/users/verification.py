"""Verification of a user's emails and phones (seed-004-rules.md 4.3 a, b; docs/users.md
"Verification"): Verify issues a one-time code or an email link for an address or number
the user has; Confirm, or the link's page, proves it and sets that record's
`verification_status` to 1.

- The address or number is matched as the user namespace stores it: cleaned by the
  customers normaliser (email-validator, phonenumbers), emails compared case-folded.
  One the user does not have is 3013.
- Codes and links are users/challenges.py's: 6 digits or 32 random bytes, kept hashed, 10
  minutes, single use, 5 wrong tries burn a code, a new Verify replaces the pending one,
  5 per user and purpose per hour. Each is bound to the record it was issued for.
- Purposes: `verify_email` (a code for Confirm User Email Code), `verify_email_link` (a
  link to our page), `verify_phone` (a code by SMS for Confirm User SMS Code).
- Confirming changes only `verification_status` (0 -> 1): a change-log row of the record
  (history USER_EMAIL / USER_PHONE) and customerUpdated, as the other email and phone
  attribute changes raise them. A record already verified is answered as it is, unchanged.
- A code issued before its record last changed (a new address, users/updates.py, which
  resets the status to 0) does not verify it: the code went to what the record held then.
  Such a confirmation is 3015 and the code stays pending until it expires.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import datetime

from patron.context import RequestContext
from patron.customers.cards import series_names
from patron.customers.commands import IdentifierInput
from patron.customers.history import record_changes
from patron.customers.identifiers import CHANGE_CODES
from patron.customers.inputs import clean_identifier
from patron.db.base import utcnow
from patron.db.sql import Q
from patron.db.uow import UnitOfWork
from patron.errors import NotFound, PatronError
from patron.events.domain import CustomerUpdated
from patron.users import challenges, codes
from patron.users.challenges import Redeemed
from patron.users.lookups import USER_RECORD_KIND
from patron.users.service import Identified, UserView, read_user, user_account
from patron.users.updates import record_change
from patron.webhooks.secrets import SecretBox

EMAIL, PHONE = "email", "phone"
CODE, LINK = "code", "link"
METHODS = (CODE, LINK)
VERIFIED = 1

_IDENT_TYPE = {EMAIL: "email", PHONE: "mobile"}
_SET_VERIFIED = Q(
    "UPDATE user_record SET verification_status = :verification_status, updated_at = :updated_at"
    " WHERE org_id = :org_id AND customer_id = :customer_id AND record_id = :record_id"
)
_ISSUED_AT = Q(
    "SELECT created_at FROM user_challenge WHERE org_id = :org_id AND customer_id = :customer_id"
    " AND purpose = :purpose AND challenge_id = :challenge_id"
)


@dataclass(frozen=True, slots=True)
class Verifying:
    """A code or link issued for one of the user's emails or phones."""

    user_id: int
    kind: str
    contact: Identified
    challenge_id: int
    at: datetime


@dataclass(frozen=True, slots=True)
class Confirmed:
    """A record proved by a code or a link, as it is now (verification_status 1)."""

    user_id: int
    kind: str
    contact: Identified
    challenge_id: int
    at: datetime


def purpose_of(kind: str, method: str = CODE) -> str:
    if kind == PHONE:
        return challenges.VERIFY_PHONE
    return challenges.VERIFY_EMAIL_LINK if method == LINK else challenges.VERIFY_EMAIL


def clean_value(ctx: RequestContext, kind: str, raw: str, path: str) -> str:
    """An address or number in the form the user's identifiers hold (3001 when it is none)."""
    try:
        return clean_identifier(IdentifierInput(_IDENT_TYPE[kind], raw), ctx.config, CHANGE_CODES).value
    except PatronError as exc:
        what = "an email address" if kind == EMAIL else "a phone number"
        raise codes.invalid(f"{path} is not {what}.") from exc


def _rows(user: UserView, kind: str) -> list[Identified]:
    return user.emails if kind == EMAIL else user.phones


def find_contact(user: UserView, kind: str, value: str) -> Identified | None:
    """The user's email (case-folded) or phone holding `value` (a cleaned value)."""
    if kind == EMAIL:
        folded = value.casefold()
        return next((i for i in user.emails if i.value.casefold() == folded), None)
    return next((i for i in user.phones if i.value == value), None)


async def contact_of(
    uow: UnitOfWork, ctx: RequestContext, user_id: int, kind: str, value: str, path: str
) -> int:
    """The record id of the user's email or phone holding `value`: 3005 for an unknown
    user, 3013 when the user has no such address or number. Call in a writable unit of
    work when the user may have identifiers without rows (service.NeedsRows)."""
    user = await read_user(uow, ctx, user_id)
    found = find_contact(user, kind, value)
    if found is None:
        raise _not_theirs(kind, path, user_id)
    return found.record.record_id


def _not_theirs(kind: str, path: str, user_id: int) -> PatronError:
    what = "email address" if kind == EMAIL else "phone number"
    return NotFound(int(codes.RECORD_NOT_FOUND.code), f"{path}: user {user_id} has no such {what}.")


def _send_to(kind: str, contact: Identified) -> str:
    if kind == EMAIL:
        return str(contact.record.data.get("address") or contact.value)
    return "+" + contact.value if contact.value.isdigit() else contact.value


async def verify(
    uow: UnitOfWork,
    ctx: RequestContext,
    box: SecretBox,
    user_id: int,
    kind: str,
    value: str,
    *,
    path: str,
    link_base: str | None = None,
) -> Verifying:
    """Verify User Email Link / Email Code / Phone Code: issue a code (or, with `link_base`,
    an email link) for the user's email or phone holding `value`, replacing the pending
    one; its message goes out after commit. 3013 when the user has no such record, 3012
    past the resend limit."""
    user = await read_user(uow, ctx, user_id)
    contact = find_contact(user, kind, value)
    if contact is None:
        raise _not_theirs(kind, path, user_id)
    method = LINK if link_base is not None else CODE
    issued = await challenges.issue(
        uow,
        ctx,
        box,
        user_id,
        purpose_of(kind, method),
        channel="sms" if kind == PHONE else "email",
        to=_send_to(kind, contact),
        record_id=contact.record.record_id,
        link_base=link_base,
    )
    return Verifying(user_id, kind, contact, issued.challenge_id, utcnow())


async def mark_verified(
    uow: UnitOfWork, ctx: RequestContext, user_id: int, kind: str, purpose: str, redeemed: Redeemed
) -> Confirmed:
    """The change a redeemed code or link makes (challenges.redeem's `then`, in its unit of
    work): the record it was issued for gets verification_status 1, logged, with
    customerUpdated. 3015 when the record is gone or changed since the code was issued."""
    user = await read_user(uow, ctx, user_id)
    contact = next((i for i in _rows(user, kind) if i.record.record_id == redeemed.record_id), None)
    if contact is None:
        raise codes.code_invalid(f"The {kind} this code was sent for is no longer the user's.")
    now = utcnow()
    rec = contact.record
    if rec.verification_status == VERIFIED:
        return Confirmed(user_id, kind, contact, redeemed.challenge_id, now)
    row = await uow.tx.one(
        _ISSUED_AT,
        org_id=ctx.org_id,
        customer_id=user_id,
        purpose=purpose,
        challenge_id=redeemed.challenge_id,
    )
    if row is None or rec.updated_at > row[0]:
        raise codes.code_invalid(f"The {kind} changed after this code was sent; verify it again.")
    after = replace(rec, verification_status=VERIFIED, updated_at=now)
    await uow.tx.run(
        _SET_VERIFIED,
        org_id=ctx.org_id,
        customer_id=user_id,
        record_id=rec.record_id,
        verification_status=VERIFIED,
        updated_at=now,
    )
    source, account = user_account(ctx)
    changes = [record_change(rec, after, source, account)]
    await record_changes(uow, ctx, user_id, USER_RECORD_KIND, changes, now)
    view = await uow.customers.view(ctx.org_id, user_id, series_names(ctx.config))
    if view is None:  # pragma: no cover - read_user found it in this transaction
        raise codes.not_found(user_id)
    uow.record(CustomerUpdated(view, ctx.actor, source, account, now, ctx.request_id, tuple(changes)))
    return Confirmed(user_id, kind, Identified(contact.value, after), redeemed.challenge_id, now)


def then_verify(
    ctx: RequestContext, user_id: int, kind: str, purpose: str
) -> Callable[[UnitOfWork, Redeemed], Awaitable[Confirmed]]:
    """challenges.redeem's `then` for a verification."""

    async def then(uow: UnitOfWork, redeemed: Redeemed) -> Confirmed:
        return await mark_verified(uow, ctx, user_id, kind, purpose, redeemed)

    return then
