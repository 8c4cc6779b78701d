"""The six Validate operations of seed 004 (docs/users.md "Validate"): does this credential
belong to this user? One credential per call, by `info.type` (seed-004-rules.md 1.2 G5):
8 email, 9 phone, 10 password, 11 security code, 12 date of birth, 13 both secret answers.

- Emails and phones are compared as they are stored (customers.domain normalisation:
  email-validator, lower case; phonenumbers, E.164) against the identifiers of the user's
  profile; the date of birth against the personal_info record; password, security code and
  answers by argon2id (users/sensitive.py verify_secret: passwords case-sensitive, answers
  casefolded).
- An unknown user (not in this org, merged away, deletion filed) and a user without the
  credential get the same answer as a wrong one, after the same work: a hashed type runs
  one argon2id verify per value against `DUMMY_HASH`, a hash of Patron's own parameters,
  so the time tells nothing either.
- A successful verify against a hash made with other parameters stores a new hash of the
  value just checked (`needs_rehash`), in one write that changes nothing else.

Reads are one statement (the customer row joined with the one record or identifier the
check needs); a success writes only to rehash. Throttling (security/attempts.py) is the
adapter's: it gates before, and counts after, `check`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from patron.context import RequestContext
from patron.customers.commands import IdentifierInput
from patron.customers.identifiers import CHANGE_CODES
from patron.customers.inputs import clean_identifier
from patron.db.engine import Database
from patron.db.sql import Q
from patron.db.uow import UnitOfWork
from patron.errors import PatronError
from patron.users import codes, fields, sensitive
from patron.users.service import user_account

EMAIL, PHONE, PASSWORD, SECURITY_CODE, BIRTH_DATE, SECRET_ANSWERS = 8, 9, 10, 11, 12, 13
# The keys of `validate_data` each type takes (004:L10359-10881).
TYPE_KEYS: dict[int, tuple[str, ...]] = {
    EMAIL: ("email",),
    PHONE: ("phone",),
    PASSWORD: ("password",),
    SECURITY_CODE: ("security_code",),
    BIRTH_DATE: ("birth_date",),
    SECRET_ANSWERS: ("secret_answer_1", "secret_answer_2"),
}
# `validate_data` in the seed's key order (004:L10403-10415).
VALIDATE_KEYS = (
    "password",
    "security_code",
    "email",
    "phone",
    "secret_answer_1",
    "secret_answer_2",
    "birth_date",
)
_SECRET_KIND: dict[str, sensitive.SecretKind] = {
    "password": "password",
    "security_code": "security_code",
    "secret_answer_1": "secret_answer",
    "secret_answer_2": "secret_answer",
}
_HASHED = frozenset({PASSWORD, SECURITY_CODE, SECRET_ANSWERS})
# A candidate longer than this cannot be anyone's secret (passwords are at most 128
# characters, answers 101): refused before any hash is computed.
_MAX_CANDIDATE = 256

# argon2id of Patron's parameters (users/sensitive.py) over a fixed salt and digest that no
# secret produces: verifying against it costs exactly what verifying a stored hash costs.
DUMMY_HASH = (
    f"$argon2id$v=19$m={sensitive.ARGON2_MEMORY_KIB},t={sensitive.ARGON2_TIME_COST},"
    f"p={sensitive.ARGON2_PARALLELISM}$MknNX8EpTm5QSGBn666TFg$KdN0n6nHp9LBETLPVi9ugi40vCtnAJofm5SlZijpvpQ"
)

# The customer row with the one user record a check needs (security or personal_info),
# through the index (org_id, customer_id, kind).
_WITH_RECORD = Q(
    "SELECT c.merged_into_id, c.status_label, r.record_id, r.data FROM customer c"
    " LEFT JOIN user_record r ON r.org_id = c.org_id AND r.customer_id = c.customer_id AND r.kind = :kind"
    " WHERE c.org_id = :org_id AND c.customer_id = :customer_id"
)
# The customer row with its identifiers of this value (the index (org_id, id_type, value)),
# and whether it has the org's user profile (else the user is read through another one).
_WITH_IDENTIFIER = Q(
    "SELECT c.merged_into_id, c.status_label, i.source, i.account_id,"
    " (SELECT COUNT(*) FROM customer_profile p WHERE p.org_id = c.org_id AND p.customer_id = c.customer_id"
    " AND p.source = :source AND p.account_id = :account) FROM customer c"
    " LEFT JOIN customer_identifier i ON i.org_id = c.org_id AND i.customer_id = c.customer_id"
    " AND i.id_type = :id_type AND i.value = :value"
    " WHERE c.org_id = :org_id AND c.customer_id = :customer_id"
)
_RECORD_DATA = Q(
    sqlite="SELECT data FROM user_record WHERE org_id = :org_id AND customer_id = :customer_id"
    " AND record_id = :record_id",
    postgresql="SELECT data FROM user_record WHERE org_id = :org_id AND customer_id = :customer_id"
    " AND record_id = :record_id FOR UPDATE",
)
_SET_DATA = Q(
    "UPDATE user_record SET data = :data"
    " WHERE org_id = :org_id AND customer_id = :customer_id AND record_id = :record_id"
)


@dataclass(frozen=True, slots=True)
class Credential:
    """One credential to check: its type and the values of its key(s), cleaned (emails and
    phones normalised as stored, a date parsed, secrets as given)."""

    type: int
    values: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Held:
    """What the store holds for the check: whether the user is one in use, and the
    security / personal_info record (its id and data) or whether the value is the user's."""

    known: bool
    record_id: int | None = None
    data: Mapping[str, Any] | None = None
    contact: bool = False


@dataclass(frozen=True, slots=True)
class Checked:
    matched: bool
    rehashed: tuple[str, ...] = ()


def _given(value: Any) -> bool:
    return value is not None and value != ""


def credential_of(info_type: Any, data: Mapping[str, Any] | None, ctx: RequestContext) -> Credential:
    """The one credential of a request, or 3001/3002 naming the field: `info.type` 8-13, its
    key(s) present and non-empty, every other key of `validate_data` absent, null or ""."""
    if not _given(info_type):
        raise codes.missing("info.type")
    text = str(info_type).strip()
    if isinstance(info_type, bool) or not text.isdigit() or int(text) not in TYPE_KEYS:
        raise codes.invalid(
            "info.type must be 8 (email), 9 (phone), 10 (password), 11 (security code), "
            "12 (date of birth) or 13 (secret answers)."
        )
    kind = int(text)
    if data is None:
        raise codes.missing("validate_data")
    wanted = TYPE_KEYS[kind]
    for key in wanted:
        if not _given(data.get(key)):
            raise codes.missing(f"validate_data.{key}")
    for key in VALIDATE_KEYS:
        if key not in wanted and _given(data.get(key)):
            raise codes.invalid(
                f"validate_data.{key} is not checked by info.type {kind}: send one credential per call."
            )
    values = {key: _clean(ctx, key, data[key]) for key in wanted}
    return Credential(kind, values)


def _clean(ctx: RequestContext, key: str, value: Any) -> Any:
    where = f"validate_data.{key}"
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise codes.invalid(f"{where} must be a string.")
    if key in ("email", "phone"):
        try:
            return clean_identifier(
                IdentifierInput("email" if key == "email" else "mobile", value), ctx.config, CHANGE_CODES
            ).value
        except PatronError:
            what = "an email address" if key == "email" else "a phone number"
            raise codes.invalid(f"{where} is not {what}.") from None
    if key == "birth_date":
        # The seed's date form (X12, yyyy-mm-dd), and yyyy/mm/dd as its inquiries write dates.
        text = str(value).strip().replace("/", "-")
        fields.coerce(fields.RULES["validate_security_data"]["birth_date"], text, where)
        return date.fromisoformat(text)
    text = str(value) if key != "security_code" else str(value).strip()
    if len(text) > _MAX_CANDIDATE or "\x00" in text:
        raise codes.invalid(f"{where} is longer than any {key.replace('_', ' ')} can be.")
    return text


async def load(uow: UnitOfWork, ctx: RequestContext, user_id: int, credential: Credential) -> Held:
    """What the check needs, in one statement."""
    if credential.type in (EMAIL, PHONE):
        source, account = user_account(ctx)
        value = credential.values["email" if credential.type == EMAIL else "phone"]
        rows = await uow.tx.all(
            _WITH_IDENTIFIER,
            org_id=ctx.org_id,
            customer_id=user_id,
            id_type="email" if credential.type == EMAIL else "mobile",
            value=value,
            source=source,
            account=account,
        )
        if not rows or not _in_use(ctx, rows[0][0], rows[0][1]):
            return Held(False)
        has_profile = int(rows[0][4]) > 0
        found = [(r[2], r[3]) for r in rows if r[2] is not None]
        mine = any(s == source and a == account for s, a in found) if has_profile else bool(found)
        return Held(True, contact=mine)
    kind = "personal_info" if credential.type == BIRTH_DATE else "security"
    row = await uow.tx.one(_WITH_RECORD, org_id=ctx.org_id, customer_id=user_id, kind=kind)
    if row is None or not _in_use(ctx, row[0], row[1]):
        return Held(False)
    if row[2] is None:
        return Held(True)
    return Held(True, int(row[2]), dict(row[3] or {}))


def _in_use(ctx: RequestContext, merged_into: Any, status_label: Any) -> bool:
    """A user that validates: not merged into another, its deletion not filed."""
    config = ctx.config
    return merged_into is None and status_label not in (config.pending_deletion_label, config.deleted_label)


def _stored_hash(held: Held, key: str) -> str | None:
    value = held.data.get(key) if held.data is not None else None
    return value if isinstance(value, str) and value else None


async def check(db: Database, ctx: RequestContext, user_id: int, credential: Credential) -> Checked:
    """Whether the credential is the user's (an unknown user: no, after the same work);
    on a match against an outdated hash, the new hash is stored."""
    held = await db.read(load, ctx, user_id, credential)
    if credential.type in _HASHED:
        return await _check_secrets(db, ctx, user_id, credential, held)
    if credential.type == BIRTH_DATE:
        stored = held.data.get("date_of_birth") if held.data is not None else None
        return Checked(held.known and _same_date(stored, credential.values["birth_date"]))
    return Checked(held.known and held.contact)


def _same_date(stored: Any, given: date) -> bool:
    if not isinstance(stored, str):
        return False
    try:
        return date.fromisoformat(stored.strip()[:10]) == given
    except ValueError:
        return False


async def _check_secrets(
    db: Database, ctx: RequestContext, user_id: int, credential: Credential, held: Held
) -> Checked:
    # Every value is verified, against its stored hash or the dummy, even once one failed:
    # the work never depends on what the store holds.
    keys = list(credential.values)
    hashes = [(_stored_hash(held, k) if held.known else None) for k in keys]
    results = await asyncio.gather(
        *(
            sensitive.verify_secret(h or DUMMY_HASH, credential.values[k], kind=_SECRET_KIND[k])
            for k, h in zip(keys, hashes, strict=True)
        )
    )
    matched = all(ok and h is not None for ok, h in zip(results, hashes, strict=True))
    if not matched:
        return Checked(False)
    stale = [(k, h) for k, h in zip(keys, hashes, strict=True) if h is not None and sensitive.needs_rehash(h)]
    if not stale or held.record_id is None:
        return Checked(True)
    fresh: dict[str, tuple[str, str]] = {}
    for key, old in stale:
        try:
            new = await sensitive.hash_secret(credential.values[key], kind=_SECRET_KIND[key], field=key)
        except sensitive.SensitiveInputError:
            continue  # a secret today's rules refuse (e.g. now a common password) keeps its hash
        fresh[key] = (old, new)
    if fresh:
        await db.write(_rehash, ctx.org_id, user_id, held.record_id, fresh)
    return Checked(True, tuple(fresh))


async def _rehash(
    uow: UnitOfWork, org_id: int, user_id: int, record_id: int, fresh: dict[str, tuple[str, str]]
) -> None:
    """Store the new hashes, each only where the record still holds the hash just verified
    (a concurrent change of the secret wins). Not a change of the user: no change log."""
    row = await uow.tx.one(_RECORD_DATA, org_id=org_id, customer_id=user_id, record_id=record_id)
    if row is None:
        return
    data = dict(row[0] or {})
    changed = False
    for key, (old, new) in fresh.items():
        if data.get(key) == old:
            data[key] = new
            changed = True
    if changed:
        await uow.tx.run(_SET_DATA, org_id=org_id, customer_id=user_id, record_id=record_id, data=data)
