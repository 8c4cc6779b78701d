"""Sensitive data of the user namespace (docs/users.md "Sensitive data"): framework-free.

- **Masking** as the seed masks (seed 004 L5151, L18976, L19012): card PAN first 6 + last 4,
  bank account number first 2 + last 4, IBAN first 4 + last 4, identification number first
  2 + last 2, length preserved; Wiped values render as `WIPED`. `Reveal` decides whether a
  response may show Masked values in clear.
- **Validation** of card numbers, CVV shape, card expiry, IBAN, SWIFT/BIC, ABA routing
  numbers, bank account numbers, country, currency and language codes, passwords, security
  codes and secret answers. Each check returns the value in its stored form or raises
  `SensitiveInputError(field, message)`; no message ever repeats the value.
- **Sealing at rest**: `seal`/`unseal` with the process's `SecretBox` (AES-256-GCM), each
  ciphertext bound to its org, record kind and record id.
- **Secrets people choose**: `hash_secret`/`verify_secret` (argon2id, OWASP's parameters) on
  the bounded CPU pool; answers casefolded first, passwords case-sensitive.
- **Redaction**: `redact` makes a payload of the user namespace safe for logs and events.
"""

from __future__ import annotations

import binascii
import gzip
import json
import re
import unicodedata
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import date
from functools import cache
from importlib.resources import files
from typing import Any, Literal, NamedTuple

import pycountry
from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from cryptography.exceptions import InvalidTag
from stdnum import bic, iban, luhn
from stdnum.exceptions import ValidationError
from stdnum.us import rtn

from patron.cpu import run_cpu
from patron.webhooks.secrets import SecretBox

WIPED = "____"
MASK_CHAR = "*"
# Fewer hidden characters than this and the whole value is masked (the seed's shortest
# mask, "42**7074" at L18976, hides two).
MIN_HIDDEN = 2


class SensitiveInputError(ValueError):
    """A sensitive input failed its check; `field` names it (dotted, as on the wire)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class SealedDataError(Exception):
    """A sealed value did not open: wrong key, wrong org/kind/record, or tampered."""


# ---------------------------------------------------------------------------------------
# Masking


def _mask(value: str, head: int, tail: int) -> str:
    hidden = len(value) - head - tail
    if hidden < MIN_HIDDEN:
        return MASK_CHAR * len(value)
    return value[:head] + MASK_CHAR * hidden + value[len(value) - tail :]


def mask_pan(value: str) -> str:
    """Card PAN: first 6 + last 4 (`5508400024556548` -> `550840******6548`, L19012)."""
    return _mask(value, 6, 4)


def mask_bank_number(value: str) -> str:
    """Bank account number: first 2 + last 4 (`42247074` -> `42**7074`, L18976)."""
    return _mask(value, 2, 4)


def mask_iban(value: str) -> str:
    """IBAN: first 4 + last 4 (`GB17BARC20038446275882` -> `GB17**************5882`, L18976)."""
    return _mask(value, 4, 4)


def mask_id_number(value: str) -> str:
    """Identification number: first 2 + last 2 (`R691001515133` -> `R6*********33`, L5151)."""
    return _mask(value, 2, 2)


@dataclass(frozen=True, slots=True)
class Reveal:
    """Whether Masked values go out in clear. Wiped values never do, whatever this says.

    In clear only when the request sends `show_sensitive_data: 1` AND the calling till's
    code is in the org's `sensitiveDataTills`; anything else (header 0 or absent, or a till
    not granted) masks.
    """

    clear: bool

    @classmethod
    def decide(
        cls, header: str | None, till_code: str | None, sensitive_data_tills: Collection[str]
    ) -> Reveal:
        """From the `show_sensitive_data` header (0/1, absent or empty = 0; anything else is
        refused) and the caller's till code."""
        wanted = show_sensitive_data(header)
        return cls(wanted and till_code is not None and till_code in sensitive_data_tills)

    def _show(self, value: str | None, mask: Callable[[str], str]) -> str | None:
        if value is None:
            return None
        return value if self.clear else mask(value)

    def pan(self, value: str | None) -> str | None:
        return self._show(value, mask_pan)

    def bank_number(self, value: str | None) -> str | None:
        return self._show(value, mask_bank_number)

    def iban(self, value: str | None) -> str | None:
        return self._show(value, mask_iban)

    def id_number(self, value: str | None) -> str | None:
        return self._show(value, mask_id_number)

    @staticmethod
    def wiped(is_set: bool) -> str | None:
        """A Wiped field: `WIPED` when a value is held, null when none is."""
        return WIPED if is_set else None


MASKED = Reveal(False)


def show_sensitive_data(header: str | None) -> bool:
    """The `show_sensitive_data` header: "1" true, "0"/absent/empty false, else refused."""
    if header is None:
        return False
    value = header.strip()
    if value in ("", "0"):
        return False
    if value == "1":
        return True
    raise SensitiveInputError("show_sensitive_data", "must be 0 or 1")


# ---------------------------------------------------------------------------------------
# Input shapes


def _text(value: object, field: str) -> str:
    """A string input, or an integer the seed sends for a String field (L5835, L4516)."""
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise SensitiveInputError(field, "must be a string")
    return str(value).strip()


_DIGITS = re.compile(r"[0-9]+")
_SEPARATORS = re.compile(r"[ \-]")
_ALNUM = re.compile(r"[A-Z0-9]{4,34}")
_LANGUAGE = re.compile(r"([a-z]{2})(?:-([a-z]{2}))?")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_SPACES = re.compile(r"\s+")


# ---------------------------------------------------------------------------------------
# Payment cards

Brand = Literal["visa", "mastercard", "amex", "discover", "jcb", "unionpay", "other"]

# IIN (BIN) ranges and lengths, first match wins (stdnum has no card-brand module). Sources:
# the networks' published IIN tables (ISO/IEC 7812): Visa 4; Mastercard 51-55 and 2221-2720;
# American Express 34, 37; Discover 6011, 644-649, 65 and 622126-622925; JCB 3528-3589;
# UnionPay 62 (outside Discover's co-branded range). Other Luhn-valid PANs are "other".
_BRANDS: tuple[tuple[Brand, int, int, int, frozenset[int]], ...] = (
    # (brand, prefix digits, low, high, lengths)
    ("amex", 2, 34, 34, frozenset({15})),
    ("amex", 2, 37, 37, frozenset({15})),
    ("visa", 1, 4, 4, frozenset({13, 16, 19})),
    ("mastercard", 2, 51, 55, frozenset({16})),
    ("mastercard", 4, 2221, 2720, frozenset({16})),
    ("discover", 4, 6011, 6011, frozenset(range(16, 20))),
    ("discover", 3, 644, 649, frozenset(range(16, 20))),
    ("discover", 2, 65, 65, frozenset(range(16, 20))),
    ("discover", 6, 622126, 622925, frozenset(range(16, 20))),
    ("jcb", 4, 3528, 3589, frozenset(range(16, 20))),
    ("unionpay", 2, 62, 62, frozenset(range(16, 20))),
)


def card_brand(pan: str) -> tuple[Brand, frozenset[int] | None]:
    """The network of a PAN (digits) by its IIN, and the lengths that network issues."""
    for brand, digits, low, high, lengths in _BRANDS:
        if low <= int(pan[:digits]) <= high:
            return brand, lengths
    return "other", None


class Card(NamedTuple):
    number: str  # the PAN, digits only: seal it, never log or return it
    brand: Brand
    bin: str  # first 6 digits
    last4: str

    @property
    def masked(self) -> str:
        return mask_pan(self.number)


def check_pan(value: object, field: str = "credit_card.number") -> Card:
    """A payment card number: 12-19 digits (spaces and hyphens ignored), Luhn-valid, and of a
    length its network issues."""
    pan = _SEPARATORS.sub("", _text(value, field))
    if not _DIGITS.fullmatch(pan):
        raise SensitiveInputError(field, "a card number has digits only")
    if not 12 <= len(pan) <= 19:
        raise SensitiveInputError(field, "a card number has 12 to 19 digits")
    if not luhn.is_valid(pan):
        raise SensitiveInputError(field, "not a valid card number (check digit)")
    brand, lengths = card_brand(pan)
    if lengths is not None and len(pan) not in lengths:
        raise SensitiveInputError(field, f"not a valid {brand} card number (length)")
    return Card(pan, brand, pan[:6], pan[-4:])


def check_cvv(value: object, brand: Brand, field: str = "credit_card.security_code") -> None:
    """The card security code's shape: 4 digits for American Express, else 3. Only checked:
    the caller never stores or returns it."""
    cvv = _text(value, field)
    want = 4 if brand == "amex" else 3
    if len(cvv) != want or not _DIGITS.fullmatch(cvv):
        raise SensitiveInputError(field, f"a security code of this card has {want} digits")


def check_card_expiry(
    month: object,
    year: object,
    *,
    today: date | None = None,
    month_field: str = "credit_card.expiry_month",
    year_field: str = "credit_card.expiry_year",
) -> tuple[str, str]:
    """Expiry month (1-12, stored "mm") and year ("yyyy"). A card is good through the last
    day of its expiry month, so the current month is accepted; earlier ones are refused, and
    so are years more than 20 ahead (a typo, not a card)."""
    m, y = _text(month, month_field), _text(year, year_field)
    if not _DIGITS.fullmatch(m) or len(m) > 2 or not 1 <= int(m) <= 12:
        raise SensitiveInputError(month_field, "must be a month, 01 to 12")
    if not _DIGITS.fullmatch(y) or len(y) != 4:
        raise SensitiveInputError(year_field, "must be a four-digit year")
    now = today or date.today()
    if (int(y), int(m)) < (now.year, now.month):
        raise SensitiveInputError(month_field, "the card has expired")
    if int(y) > now.year + 20:
        raise SensitiveInputError(year_field, "lies too far in the future")
    return f"{int(m):02d}", y


# ---------------------------------------------------------------------------------------
# Bank accounts


def check_iban(value: object, field: str = "bank_account.iban") -> str:
    """An IBAN (stdnum.iban: check digits and the country's format), in compact upper case."""
    try:
        return str(iban.validate(_text(value, field)))
    except ValidationError as exc:
        raise SensitiveInputError(field, "not a valid IBAN") from exc


def check_bic(value: object, field: str = "bank_account.swift_code") -> str:
    """A SWIFT/BIC code (stdnum.bic: 8 or 11 characters, a real country), upper case."""
    try:
        return str(bic.validate(_text(value, field)))
    except ValidationError as exc:
        raise SensitiveInputError(field, "not a valid SWIFT/BIC code") from exc


def check_routing_number(value: object, field: str = "bank_account.routing_number") -> str:
    """A US ABA routing number (stdnum.us.rtn: 9 digits with its check digit). A JSON number
    lost its leading zeros, so it is padded back to 9 digits."""
    text = _text(value, field)
    if isinstance(value, int) and text.isdigit():
        text = text.zfill(9)
    try:
        return str(rtn.validate(text))
    except ValidationError as exc:
        raise SensitiveInputError(field, "not a valid ABA routing number") from exc


def check_bank_number(value: object, field: str = "bank_account.number") -> str:
    """A domestic bank account number: 4 to 34 letters or digits (spaces and hyphens
    ignored), upper case. The seed's X29 (10-18 digits) refuses its own sample 42247074."""
    number = _SEPARATORS.sub("", _text(value, field)).upper()
    if not _ALNUM.fullmatch(number):
        raise SensitiveInputError(field, "an account number has 4 to 34 letters or digits")
    return number


# ---------------------------------------------------------------------------------------
# Countries, currencies, languages (pycountry, indexed once on first use)


@cache
def _countries() -> dict[str, str]:
    out: dict[str, str] = {}
    for c in pycountry.countries:
        for key in (c.alpha_2, c.alpha_3, c.numeric):
            out[key.upper()] = c.numeric
    return out


@cache
def _currencies() -> dict[str, tuple[str, str]]:
    out: dict[str, tuple[str, str]] = {}
    for c in pycountry.currencies:
        numeric = getattr(c, "numeric", None)
        entry = (c.alpha_3, numeric or "")
        out[c.alpha_3] = entry
        if numeric:
            out[numeric] = entry
    return out


@cache
def _languages() -> frozenset[str]:
    return frozenset(lang.alpha_2 for lang in pycountry.languages if hasattr(lang, "alpha_2"))


def check_country(value: object, field: str = "country_code") -> str:
    """An ISO 3166-1 country as alpha-2, alpha-3 or numeric (840, "840", "US", "usa"),
    stored as the seed outputs it: the three-digit numeric code ("840", L3199)."""
    text = _text(value, field).upper()
    if _DIGITS.fullmatch(text) and len(text) <= 3:
        text = text.zfill(3)
    code = _countries().get(text)
    if code is None:
        raise SensitiveInputError(field, "not an ISO 3166 country code")
    return code


class Currency(NamedTuple):
    code: str  # ISO 4217 alpha-3, "USD"
    number: str  # ISO 4217 numeric, "840" ("" for the few without one)


def check_currency(value: object, field: str = "currency.code") -> Currency:
    """An ISO 4217 currency, alpha-3 in any case or numeric ("usd", "978")."""
    text = _text(value, field).upper()
    if _DIGITS.fullmatch(text) and len(text) <= 3:
        text = text.zfill(3)
    found = _currencies().get(text)
    if found is None:
        raise SensitiveInputError(field, "not an ISO 4217 currency code")
    return Currency(*found)


def check_language(value: object, field: str = "preferred_language_code") -> str:
    """A language as the seed's X27 writes it ("en", "EN", "en-ca"): an ISO 639-1 code and an
    optional ISO 3166 region, stored in BCP 47 case ("en", "en-CA")."""
    text = _text(value, field).lower().replace("_", "-")
    match = _LANGUAGE.fullmatch(text)
    if match is None or match.group(1) not in _languages():
        raise SensitiveInputError(field, "not an ISO 639-1 language code (e.g. en or en-CA)")
    region = match.group(2)
    if region is None:
        return match.group(1)
    if region.upper() not in _countries():
        raise SensitiveInputError(field, "the region is not an ISO 3166 country code")
    return f"{match.group(1)}-{region.upper()}"


# ---------------------------------------------------------------------------------------
# Secrets people choose: checks, normalisation, argon2id

SecretKind = Literal["password", "security_code", "secret_answer"]

PASSWORD_MIN = 8
PASSWORD_MAX = 128
ANSWER_MAX = 101  # the seed's X21: 1 + up to 100 characters
_SECURITY_CODE = re.compile(r"[0-9]{1,6}")  # the seed's X20

# OWASP Password Storage Cheat Sheet, argon2id: m=19 MiB, t=2, p=1.
ARGON2_MEMORY_KIB = 19_456
ARGON2_TIME_COST = 2
ARGON2_PARALLELISM = 1
_hasher = PasswordHasher(
    time_cost=ARGON2_TIME_COST,
    memory_cost=ARGON2_MEMORY_KIB,
    parallelism=ARGON2_PARALLELISM,
    hash_len=32,
    salt_len=16,
    type=Type.ID,
)


def normalise_secret(value: str, kind: SecretKind) -> str:
    """The form a secret is hashed and verified in. Passwords: Unicode NFKC (NIST SP 800-63B
    5.1.1.2), case kept. Answers: NFKC, trimmed, inner whitespace runs made one space,
    casefolded (the seed matches "Alix" with "alix", L9869/L10877). Security codes: as given."""
    if kind == "security_code":
        return value
    text = unicodedata.normalize("NFKC", value)
    if kind == "password":
        return text
    return _SPACES.sub(" ", text.strip()).casefold()


def check_password(value: object, field: str = "security.password") -> str:
    """8 to 128 characters, any of them but control characters, and not a common password
    (NIST SP 800-63B 5.1.1.2); the seed's X19 (6-255, banning ^ + = < > | and "--") is not
    used, see docs/users.md."""
    if not isinstance(value, str):
        raise SensitiveInputError(field, "must be a string")
    text = normalise_secret(value, "password")
    if not PASSWORD_MIN <= len(text) <= PASSWORD_MAX:
        raise SensitiveInputError(field, f"a password has {PASSWORD_MIN} to {PASSWORD_MAX} characters")
    if _CONTROL.search(text):
        raise SensitiveInputError(field, "a password cannot contain control characters")
    if is_common_password(text):
        raise SensitiveInputError(field, "this password is too common; choose another")
    return value


@cache
def _common_passwords() -> frozenset[str]:
    """The deny list shipped in users/data/ (its README: origin, licence), read on first use."""
    resource = files("patron.users") / "data" / "common-passwords.txt.gz"
    with resource.open("rb") as raw, gzip.open(raw, "rt", encoding="utf-8") as lines:
        return frozenset(w for line in lines if (w := _fold(line.strip())))


def _fold(text: str) -> str:
    return unicodedata.normalize("NFKC", text).casefold()


def is_common_password(value: str) -> bool:
    """Whether the password is on the list of common and breached passwords, in any case
    ("PassWord123" is "password123") and any Unicode form (NFKC)."""
    return _fold(value) in _common_passwords()


def check_security_code(value: object, field: str = "security.security_code") -> str:
    """The seed's X20: 1 to 6 digits (sent as a string or a number)."""
    text = _text(value, field)
    if not _SECURITY_CODE.fullmatch(text):
        raise SensitiveInputError(field, "a security code has 1 to 6 digits")
    return text


def check_secret_answer(value: object, field: str = "security.secret_answer_1") -> str:
    """A secret answer: 1 to 101 characters once trimmed (X21's length), no control characters."""
    if not isinstance(value, str):
        raise SensitiveInputError(field, "must be a string")
    text = normalise_secret(value, "secret_answer")
    if not 1 <= len(text) <= ANSWER_MAX:
        raise SensitiveInputError(field, f"an answer has 1 to {ANSWER_MAX} characters")
    if _CONTROL.search(text):
        raise SensitiveInputError(field, "an answer cannot contain control characters")
    return value


_CHECKS: dict[SecretKind, Callable[[object, str], str]] = {
    "password": check_password,
    "security_code": check_security_code,
    "secret_answer": check_secret_answer,
}


async def hash_secret(value: str, *, kind: SecretKind, field: str | None = None) -> str:
    """Check the secret (`SensitiveInputError` if it fails), then its argon2id hash, computed
    on the bounded CPU pool so the event loop keeps serving."""
    checked = _CHECKS[kind](value, field or f"security.{kind}")
    return await run_cpu(_hasher.hash, normalise_secret(checked, kind))


def _verify(secret_hash: str, candidate: str) -> bool:
    try:
        return _hasher.verify(secret_hash, candidate)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


async def verify_secret(secret_hash: str, value: str, *, kind: SecretKind) -> bool:
    """Whether `value` is the secret behind `secret_hash` (False for any malformed input)."""
    if not value:
        return False
    return await run_cpu(_verify, secret_hash, normalise_secret(value, kind))


def needs_rehash(secret_hash: str) -> bool:
    """True when the hash was made with other parameters (or is unreadable): after a
    successful verify, hash the secret again and store the new hash."""
    try:
        return _hasher.check_needs_rehash(secret_hash)
    except (InvalidHashError, ValueError):
        return True


# ---------------------------------------------------------------------------------------
# Sealing at rest. The box: `request.app.state.box` in the app (main.py builds it from the
# master key), `webhooks.secrets.load_box(settings)` in any other process (CLI, worker).


def seal_context(org_id: int, kind: str, record_id: int) -> str:
    """What a sealed value is bound to: moved to another org, kind or record, it fails."""
    return f"user-record:{org_id}:{kind}:{record_id}"


def seal(box: SecretBox, org_id: int, kind: str, record_id: int, plaintext: str) -> str:
    return box.seal(plaintext, seal_context(org_id, kind, record_id))


def unseal(box: SecretBox, org_id: int, kind: str, record_id: int, token: str) -> str:
    try:
        return box.open(token, seal_context(org_id, kind, record_id))
    except (InvalidTag, ValueError, binascii.Error, UnicodeDecodeError) as exc:
        raise SealedDataError(f"sealed {kind} data of record {record_id} does not open") from exc


def seal_fields(box: SecretBox, org_id: int, kind: str, record_id: int, values: Mapping[str, str]) -> str:
    """Several sensitive values of one record (e.g. {"number": ..., "iban": ...}) in one seal."""
    return seal(box, org_id, kind, record_id, json.dumps(dict(values), separators=(",", ":")))


def unseal_fields(box: SecretBox, org_id: int, kind: str, record_id: int, token: str) -> dict[str, str]:
    data = json.loads(unseal(box, org_id, kind, record_id, token))
    if not isinstance(data, dict):
        raise SealedDataError(f"sealed {kind} data of record {record_id} is not a mapping")
    return {str(k): str(v) for k, v in data.items()}


# ---------------------------------------------------------------------------------------
# Redaction for logs and events

# Wiped wherever they appear (the seed's Wiped fields, one-time and TOTP codes, integration
# credentials of Get User Group(s)).
_WIPED_KEYS = frozenset(
    {
        "password",
        "security_code",
        "secret_answer_1",
        "secret_answer_2",
        "current_password",
        "new_password",
        "new_security_code",
        "signup_code",
        "pin_code",
        "activation_code",
        "verification_code",
        "secret_key",
        "manual_entry_key",
        "qr_image_url",
        "access_token",
        "client_secret",
        "fortnox_authorisation_code",
    }
)
# Wiped under a given parent key.
_WIPED_UNDER = frozenset(
    {
        ("attachment", "content"),
        ("attachments", "content"),
        ("authentication", "code"),
        ("authentication_data", "code"),
        ("reset_security_questions", "secret_question_1"),
        ("reset_security_questions", "secret_question_2"),
        ("security", "expiry_date"),  # an account's security block (L19012)
    }
)
_MASKED_UNDER: dict[tuple[str, str], Callable[[str], str]] = {
    ("credit_card", "number"): mask_pan,
    ("bank_account", "number"): mask_bank_number,
    ("identification", "number"): mask_id_number,
    ("forget_password", "account_number"): mask_pan,
}
_MASKED_KEYS: dict[str, Callable[[str], str]] = {"iban": mask_iban}
# History entries carry their record as a JSON string; `entity` says what it holds.
_ENTITY_KINDS = {10: "account", 16: "bank_account", 18: "credit_card", 25: "identification", 26: "document"}
_HISTORY_DATA = ("old_data", "new_data")


def redact(payload: Any) -> Any:
    """A copy of a user-namespace payload (request or response body, event data) with every
    Wiped field `WIPED` and every Masked field masked; safe to log or publish."""
    return _redact(payload, "", "")


def _redact(value: Any, parent: str, grandparent: str) -> Any:
    if isinstance(value, dict):
        return _redact_dict(value, parent, grandparent)
    if isinstance(value, list):
        return [_redact(item, parent, grandparent) for item in value]
    return value


def _redact_dict(d: dict[Any, Any], parent: str, grandparent: str) -> dict[Any, Any]:
    kind = _ENTITY_KINDS.get(d["entity"]) if isinstance(d.get("entity"), int) else None
    out: dict[Any, Any] = {}
    for key, item in d.items():
        k = str(key)
        if item is None:
            out[key] = None
        elif k in _WIPED_KEYS or (parent, k) in _WIPED_UNDER:
            out[key] = WIPED
        elif (mask := _mask_for(k, parent, grandparent)) is not None:
            out[key] = _mask_value(item, mask)
        elif k in _HISTORY_DATA and isinstance(item, str):
            out[key] = _redact_json_text(item, kind or "")
        else:
            out[key] = _redact(item, k, parent)
    return out


def _mask_for(key: str, parent: str, grandparent: str) -> Callable[[str], str] | None:
    if grandparent == "account" and parent == "info" and key == "number":
        return mask_pan  # a card account's PAN (Get User Account(s), L17393)
    return _MASKED_UNDER.get((parent, key)) or _MASKED_KEYS.get(key)


def _mask_value(value: Any, mask: Callable[[str], str]) -> Any:
    if isinstance(value, bool) or not isinstance(value, str | int):
        return WIPED  # a structure where a number belongs: hide it whole
    return mask(str(value))


def _redact_json_text(text: str, kind: str) -> str:
    if not text.lstrip().startswith(("{", "[")):
        return text
    try:
        data = json.loads(text)
    except ValueError:
        return WIPED  # looks like a record but does not parse: do not let it out
    return json.dumps(_redact(data, kind, ""), separators=(",", ":"), ensure_ascii=False)
