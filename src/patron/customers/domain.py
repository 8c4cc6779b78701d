"""Pure rules of the customer record: identifier normalisation, field validation, diffs.

Nothing here touches storage or the wire; services call these and decide the codes.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from typing import Any

import phonenumbers
from email_validator import EmailNotValidError, validate_email

from patron.customers.catalog import CARD
from patron.errors import Warning_
from patron.orgs.config import ExtendedFieldSpec, OrgConfig

_EXTERNAL_ID = re.compile(r"[\w.\-:@/#+]{1,64}")
_CARD_NUMBER = re.compile(r"[A-Za-z0-9_\-]{1,64}")
# A mobile number as people write one: ASCII digits, an optional leading '+', and the
# separators space, '-', '.', '(' and ')' between digits (at most three in a row, as in
# "(0) 20", "555) 0143" or "91 - 90100"), a '(' also before the first digit or the '+'
# ("(202) 555", "(+91) 98"); parentheses are checked to pair up. Nothing else is dropped
# or guessed: a letter, a NUL, a leading '-' or an extension makes it no number.
_PHONE = re.compile(r"(?:\+\(?|\(\+?)?[0-9]+(?:[ .\-()]{1,3}[0-9]+)*")
# Format characters (Unicode Cf) a name may hold: the zero-width non-joiner and joiner,
# which Persian and Indic scripts and emoji sequences need. Every other Cf (bidi
# embeddings, overrides and isolates U+202A-U+202E and U+2066-U+2069, marks, invisible
# separators and operators, the BOM, soft hyphens, tags) and every other C category
# (Cc controls, surrogates, private use, unassigned) stays refused.
_JOINERS = frozenset("\u200c\u200d")
MAX_NAME = 200
MAX_IDENTIFIER = 255


class InvalidIdentifier(ValueError):
    """An identifier value that its type's rules refuse."""

    def __init__(self, id_type: str, reason: str) -> None:
        super().__init__(f"{id_type}: {reason}")
        self.id_type = id_type
        self.reason = reason


@lru_cache(maxsize=4096)
def normalise_mobile(raw: str, region: str) -> str:
    """Return a mobile number as E.164 digits without '+' (the seed's form: 919010000022).

    Parsing and validating with phonenumbers costs about 60 us; a till looks the same
    customers up again and again, so recent answers are kept (invalid ones raise anew).
    Only the spelling `_PHONE` describes is parsed: what is not a phone number is refused,
    never repaired (phonenumbers itself skips letters, leading punctuation and NULs)."""
    text = _trim(raw)
    if not text or len(text) > 32:
        raise InvalidIdentifier("mobile", "a mobile number has 6 to 15 digits")
    if not _PHONE.fullmatch(text) or not _parentheses_pair(text):
        raise InvalidIdentifier("mobile", "not a phone number")
    try:
        if text.startswith("+"):
            number = phonenumbers.parse(text, None)
        else:
            number = phonenumbers.parse(text, region)
            if not phonenumbers.is_valid_number(number):
                # Digits that already start with a country code, as the seed writes them.
                number = phonenumbers.parse("+" + text.lstrip("0"), None)
    except phonenumbers.NumberParseException as exc:
        raise InvalidIdentifier("mobile", "not a phone number") from exc
    if not phonenumbers.is_valid_number(number):
        raise InvalidIdentifier("mobile", "not a valid phone number")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)[1:]


def _parentheses_pair(text: str) -> bool:
    depth = 0
    for c in text:
        if c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
        if depth not in (0, 1):
            return False
    return depth == 0


def _trim(text: str) -> str:
    """Text without the white space around it; a control character (Cc) is never trimmed
    away (str.strip() would drop a tab, a line break or U+001C-U+001F): it stays, to be
    refused by the caller's rules."""
    start, end = 0, len(text)
    while start < end and text[start].isspace() and not _is_control(text[start]):
        start += 1
    while end > start and text[end - 1].isspace() and not _is_control(text[end - 1]):
        end -= 1
    return text[start:end]


def _is_control(c: str) -> bool:
    return unicodedata.category(c) == "Cc"


@lru_cache(maxsize=4096)
def normalise_email(raw: str) -> str:
    """Return a syntactically valid email, case-folded (never a DNS check); recent answers
    are kept, as for mobiles."""
    try:
        info = validate_email(_trim(raw), check_deliverability=False)
    except EmailNotValidError as exc:
        raise InvalidIdentifier("email", str(exc)) from exc
    return info.normalized.lower()


def normalise_identifier(id_type: str, raw: Any, config: OrgConfig) -> str:
    """Validate and normalise one identifier value of a canonical type."""
    if isinstance(raw, bool) or not isinstance(raw, str | int):
        raise InvalidIdentifier(id_type, "the value must be a string")
    text = unicodedata.normalize("NFC", str(raw))
    if id_type == "mobile":
        return normalise_mobile(text, config.default_phone_region)
    if id_type == "email":
        return normalise_email(text)
    text = _trim(text)
    if id_type == "externalId":
        if not _EXTERNAL_ID.fullmatch(text):
            raise InvalidIdentifier(id_type, "use 1 to 64 letters, digits or . - _ : @ / # +")
        return text
    if id_type == CARD:
        if not _CARD_NUMBER.fullmatch(text):
            raise InvalidIdentifier(id_type, "use 1 to 64 letters, digits, - or _")
        return text
    if not text or len(text) > MAX_IDENTIFIER or any(unicodedata.category(c)[0] == "C" for c in text):
        raise InvalidIdentifier(id_type, "use 1 to 255 printable characters")
    return text


def clean_name(raw: Any, field: str) -> str:
    if raw is None:
        return ""
    if not isinstance(raw, str):
        raise ValueError(f"{field} must be a string")
    text = _trim(unicodedata.normalize("NFC", raw))
    if len(text) > MAX_NAME:
        raise ValueError(f"{field} is longer than {MAX_NAME} characters")
    if any(c not in _JOINERS and unicodedata.category(c)[0] == "C" for c in text):
        raise ValueError(f"{field} contains control characters")
    if _JOINERS.intersection(text) and not _joiners_join(text):
        raise ValueError(f"{field} has a zero-width joiner or non-joiner that joins nothing")
    return text


def _joiners_join(text: str) -> bool:
    """Each ZWJ / ZWNJ sits between two other characters (not at an end, not doubled)."""
    for i, c in enumerate(text):
        if c in _JOINERS and (i == 0 or i == len(text) - 1 or text[i - 1] in _JOINERS):
            return False
    return True


def _coerce_extended(spec: ExtendedFieldSpec, value: Any) -> Any:
    """Return the value in the field's datatype, or raise ValueError."""
    if value is None:
        return None
    kind = spec.type
    if kind == "string":
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise ValueError("expects a string")
        text = str(value)
        if len(text) > spec.max_length:
            raise ValueError("is too long")
        result: Any = text
    elif kind == "integer":
        if isinstance(value, bool):
            raise ValueError("expects an integer")
        if isinstance(value, str) and re.fullmatch(r"-?\d{1,18}", value.strip()):
            value = int(value.strip())
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if not isinstance(value, int):
            raise ValueError("expects an integer")
        result = value
    elif kind == "number":
        if isinstance(value, bool):
            raise ValueError("expects a number")
        try:
            result = float(value) if isinstance(value, str) else value
        except ValueError as exc:
            raise ValueError("expects a number") from exc
        if not isinstance(result, int | float):
            raise ValueError("expects a number")
    elif kind == "boolean":
        if isinstance(value, str) and value.lower() in ("true", "false"):
            value = value.lower() == "true"
        if not isinstance(value, bool):
            raise ValueError("expects true or false")
        result = value
    elif kind == "date":
        if not isinstance(value, str):
            raise ValueError("expects a date YYYY-MM-DD")
        result = date.fromisoformat(value.strip()).isoformat()
    else:
        if not isinstance(value, str):
            raise ValueError("expects an ISO 8601 date-time")
        result = datetime.fromisoformat(value.strip()).isoformat()
    if spec.values is not None:
        allowed = {str(v).casefold(): v for v in spec.values}
        match = allowed.get(str(result).casefold())
        if match is None:
            raise ValueError(f"must be one of {', '.join(map(str, spec.values))}")
        result = match
    return result


def validate_extended_fields(
    given: dict[str, Any], config: OrgConfig, *, card: bool = False
) -> tuple[dict[str, Any], list[Warning_]]:
    """Keep the extended fields the org enables (customer-level, or card-level with `card`),
    in their datatypes; warn 91015 on the rest."""
    from patron.codes import message

    specs = {f.name: f for f in (config.card_extended_fields if card else config.extended_fields)}
    accepted: dict[str, Any] = {}
    warnings: list[Warning_] = []
    for name, value in given.items():
        spec = specs.get(name)
        if spec is None:
            warnings.append(Warning_(91015, message(91015, name, f"'{name}' is not enabled for this org.")))
            continue
        try:
            accepted[name] = _coerce_extended(spec, value)
        except ValueError as exc:
            warnings.append(Warning_(91015, message(91015, name, f"'{name}' {exc}.")))
    return accepted, warnings


def unknown_custom_fields(given: dict[str, Any], config: OrgConfig) -> list[str]:
    allowed = set(config.custom_fields)
    return [name for name in given if name not in allowed]


def clean_custom_fields(given: dict[str, Any]) -> dict[str, str | None]:
    """Custom fields hold free text (003:L178); store each value as a string."""
    out: dict[str, str | None] = {}
    for name, value in given.items():
        if value is None:
            out[name] = None
        elif isinstance(value, bool):
            out[name] = "true" if value else "false"
        elif isinstance(value, str | int | float):
            out[name] = str(value)[:1000]
        else:
            raise ValueError(f"custom field {name!r} must be a string, number or boolean")
    return out


@dataclass(frozen=True, slots=True)
class FieldChange:
    """One changed field, as history records it and customerUpdated reports it."""

    field_name: str
    field_type: str  # StandardField, ExtendedField, CustomField, Identifier
    previous_value: str | None
    current_value: str | None
    source: str
    account_id: str


def as_text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def diff_mapping(
    before: dict[str, Any], after: dict[str, Any], field_type: str, source: str, account_id: str
) -> list[FieldChange]:
    changes = []
    for key in sorted(set(before) | set(after)):
        old, new = before.get(key), after.get(key)
        if old != new:
            changes.append(FieldChange(key, field_type, as_text(old), as_text(new), source, account_id))
    return changes


def search_terms(value: str) -> str:
    """The case-folded form a search term is stored and matched in."""
    return unicodedata.normalize("NFKC", value).casefold()[:255]
