"""One-time codes and links of the user namespace: issued by Verify and Forget Password,
redeemed by Confirm, the email link's route and the forget-password completion.

- A code is 6 digits from the operating system's CSPRNG (`secrets`); a link carries 32
  random bytes (URL-safe base64). Neither is stored: the row keeps their HMAC-SHA256 under a
  key derived from the server key (`SecretBox.digest`), bound to org, user, purpose and
  challenge id, so a stolen database does not let anyone test the million codes offline.
- One pending challenge per (user, purpose): a new request replaces the pending code (the
  old one stops working at once). Valid 10 minutes, single use, and burnt after 5 wrong
  tries. At most 5 are issued per user and purpose per hour (`RESENDS_PER_HOUR`); past that
  the request is answered 429 (3012) with Retry-After to the hour's end.
- The message carrying the code is written to the message outbox in the same transaction
  (messages/outbox.py): the worker sends it after commit.
- `redeem` checks a code and, on success, marks it used and runs the caller's change in the
  same transaction; on failure it counts the try in a transaction of its own (so the count
  survives the failed request) and raises 3015.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, TypeVar

from patron.context import RequestContext
from patron.db.base import utcnow
from patron.db.sql import Q
from patron.db.uow import UnitOfWork
from patron.errors import Throttled
from patron.messages.outbox import enqueue
from patron.users import codes
from patron.webhooks.secrets import SecretBox

if TYPE_CHECKING:
    from patron.db.engine import Database
    from patron.security.attempts import Attempts, Gate

T = TypeVar("T")

CODE_TTL = timedelta(minutes=10)
MAX_TRIES = 5
RESENDS_PER_HOUR = 5
RESEND_WINDOW = timedelta(hours=1)
CODE_DIGITS = 6

VERIFY_EMAIL = "verify_email"
VERIFY_EMAIL_LINK = "verify_email_link"
VERIFY_PHONE = "verify_phone"
FORGET_PASSWORD = "forget_password"
PURPOSES = frozenset({VERIFY_EMAIL, VERIFY_EMAIL_LINK, VERIFY_PHONE, FORGET_PASSWORD})

_CODE = re.compile(r"[0-9]{6}")
_LINK_TOKEN = re.compile(r"([0-9]{1,19})\.([0-9]{1,19})\.([A-Za-z0-9_-]{43})")

_WINDOW = Q(
    "SELECT issued, window_start FROM user_challenge"
    " WHERE org_id = :org_id AND customer_id = :customer_id AND purpose = :purpose"
)
_UPSERT = Q(
    "INSERT INTO user_challenge (org_id, customer_id, purpose, challenge_id, record_id, channel, code_hash,"
    " attempts, issued, window_start, expires_at, used_at, created_at) VALUES (:org_id, :customer_id,"
    " :purpose, :challenge_id, :record_id, :channel, :code_hash, 0, 1, :now, :expires_at, NULL, :now)"
    " ON CONFLICT (org_id, customer_id, purpose) DO UPDATE SET challenge_id = :challenge_id,"
    " record_id = :record_id, channel = :channel, code_hash = :code_hash, attempts = 0,"
    " issued = CASE WHEN user_challenge.window_start <= :window_open THEN 1"
    " ELSE user_challenge.issued + 1 END,"
    " window_start = CASE WHEN user_challenge.window_start <= :window_open THEN :now"
    " ELSE user_challenge.window_start END,"
    " expires_at = :expires_at, used_at = NULL, created_at = :now"
)
_PENDING = Q(
    "SELECT challenge_id, record_id, code_hash, attempts, expires_at, used_at FROM user_challenge"
    " WHERE org_id = :org_id AND customer_id = :customer_id AND purpose = :purpose"
)
_TRY = Q(
    "UPDATE user_challenge SET attempts = attempts + 1,"
    " code_hash = CASE WHEN attempts + 1 >= :max_tries THEN NULL ELSE code_hash END"
    " WHERE org_id = :org_id AND customer_id = :customer_id AND purpose = :purpose"
    " AND challenge_id = :challenge_id AND used_at IS NULL"
)
_USE = Q(
    "UPDATE user_challenge SET used_at = :now, code_hash = NULL"
    " WHERE org_id = :org_id AND customer_id = :customer_id AND purpose = :purpose"
    " AND challenge_id = :challenge_id AND used_at IS NULL AND code_hash IS NOT NULL"
)


@dataclass(frozen=True, slots=True)
class Issued:
    challenge_id: int
    expires_at: datetime
    message_id: int


@dataclass(frozen=True, slots=True)
class Redeemed:
    """A challenge that matched: its id and the record it was issued for."""

    challenge_id: int
    record_id: int | None


def _context(org_id: int, user_id: int, purpose: str, challenge_id: int) -> str:
    return f"challenge:{org_id}:{user_id}:{purpose}:{challenge_id}"


def new_code() -> str:
    return f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"


def link_token(org_id: int, user_id: int, secret: str) -> str:
    """What a link carries: the org, the user and the secret (`org.user.secret`)."""
    return f"{org_id}.{user_id}.{secret}"


def parse_link_token(token: str) -> tuple[int, int, str] | None:
    found = _LINK_TOKEN.fullmatch(token)
    if found is None:
        return None
    return int(found[1]), int(found[2]), found[3]


async def issue(
    uow: UnitOfWork,
    ctx: RequestContext,
    box: SecretBox,
    user_id: int,
    purpose: str,
    *,
    channel: str,
    to: str,
    record_id: int | None = None,
    link_base: str | None = None,
) -> Issued:
    """Issue a code (or, with `link_base`, a link: `link_base` + the link token) for a
    purpose and owe its message; replaces the pending one. 3012 past the resend limit."""
    if purpose not in PURPOSES:
        raise ValueError(f"unknown purpose {purpose!r}")
    now = utcnow()
    window_open = now - RESEND_WINDOW
    row = await uow.tx.one(_WINDOW, org_id=ctx.org_id, customer_id=user_id, purpose=purpose)
    if row is not None and row[1] > window_open and int(row[0]) >= RESENDS_PER_HOUR:
        wait = (row[1] + RESEND_WINDOW - now).total_seconds()
        raise Throttled(
            int(codes.THROTTLED.code),
            f"At most {RESENDS_PER_HOUR} codes per hour are sent for this; retry later.",
            retry_after=max(1, int(wait) + 1),
        )
    (challenge_id,) = await uow.tx.ids("user_record", 1)
    if link_base is not None:
        secret = secrets.token_urlsafe(32)
        code, link = None, link_base + link_token(ctx.org_id, user_id, secret)
    else:
        secret = new_code()
        code, link = secret, None
    expires_at = now + CODE_TTL
    await uow.tx.run(
        _UPSERT,
        org_id=ctx.org_id,
        customer_id=user_id,
        purpose=purpose,
        challenge_id=challenge_id,
        record_id=record_id,
        channel=channel,
        code_hash=box.digest(secret, _context(ctx.org_id, user_id, purpose, challenge_id)),
        now=now,
        expires_at=expires_at,
        window_open=window_open,
    )
    message_id = await enqueue(
        uow,
        box,
        org_id=ctx.org_id,
        customer_id=user_id,
        channel=channel,
        to=to,
        purpose=purpose,
        code=code,
        link=link,
        expires_at=expires_at,
    )
    return Issued(challenge_id, expires_at, message_id)


class _Failed:
    pass


_FAILED = _Failed()


async def _try(
    uow: UnitOfWork,
    org_id: int,
    box: SecretBox,
    user_id: int,
    purpose: str,
    secret: str | None,
    record_id: int | None,
    then: Callable[[UnitOfWork, Redeemed], Awaitable[T]],
) -> T | _Failed:
    now = utcnow()
    row = await uow.tx.one(_PENDING, org_id=org_id, customer_id=user_id, purpose=purpose)
    if row is None or row[2] is None or row[5] is not None:
        return _FAILED
    challenge_id, for_record, code_hash, tries, expires_at = int(row[0]), row[1], row[2], int(row[3]), row[4]
    keys = {"org_id": org_id, "customer_id": user_id, "purpose": purpose, "challenge_id": challenge_id}
    matches = secret is not None and box.same(
        box.digest(secret, _context(org_id, user_id, purpose, challenge_id)), code_hash
    )
    fits = record_id is None or for_record == record_id
    if expires_at <= now or tries >= MAX_TRIES:
        return _FAILED
    if not (matches and fits):
        await uow.tx.run(_TRY, max_tries=MAX_TRIES, **keys)
        return _FAILED
    if not await uow.tx.run(_USE, now=now, **keys):  # pragma: no cover - a concurrent redeem won
        return _FAILED
    return await then(uow, Redeemed(challenge_id, for_record))


def clean_code(value: object) -> str | None:
    """A code as sent (string or number) in its 6-digit form; None when it cannot be one."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        value = f"{value:06d}" if 0 <= value < 10**CODE_DIGITS else str(value)
    if not isinstance(value, str):
        return None
    text = value.strip()
    return text if _CODE.fullmatch(text) else None


async def redeem(
    db: Database,
    org_id: int,
    box: SecretBox,
    user_id: int,
    purpose: str,
    code: object,
    then: Callable[[UnitOfWork, Redeemed], Awaitable[T]],
    *,
    record_id: int | None = None,
    attempts: Attempts | None = None,
    gate: Gate | None = None,
    link: bool = False,
) -> T:
    """Check `code` against the user's pending challenge for `purpose` (and, when given, the
    record it was issued for); on a match mark it used and return `await then(uow, redeemed)`
    in the same transaction. Otherwise count the try (5 burn the code), count a failure on
    the throttle when `attempts`/`gate` are given, and raise 3015. `link`: `code` is a link's
    secret, not 6 digits."""
    secret = (code if isinstance(code, str) and code else None) if link else clean_code(code)
    result = await db.write(_try, org_id, box, user_id, purpose, secret, record_id, then)
    if isinstance(result, _Failed):
        if attempts is not None and gate is not None:
            await attempts.failed(gate)
        raise codes.code_invalid()
    return result


def render_authentication(challenge_id: int) -> list[dict[str, Any]]:
    """The seed's `authentication` of a verify/confirm answer: a type-2 (verification code)
    entry whose `code` names the challenge, never the code (004:L11077-11079)."""
    return [{"type": 2, "code": str(challenge_id)}]
