r"""The field rules of seed 004's data objects, as data the user namespace validates against.

Every field of the seed's tables (L93-2765; extracted to shared/spec/seed-004-fields.json) is
a `FieldRule`: its type, its POST / PUT / GET / DELETE letters (R required, O optional, C
conditional, OP optional and server-owned, NA not accepted), its security type (None, Wiped,
Masked, Encrypted) and a compiled check. The rows and the seed's expressions are generated
once by tests/fixtures/make_fields.py (the block at the end of this module); nothing here
reads the seed.

`coerce(rule, value)` applies the seed's input leniency (seed-004-rules.md 2.8: "1" and 1 for
Integer fields, numbers for String fields) and the field's check, returning the normalised
value (Integer fields as int, String fields as str) or raising `FieldError` naming the field
path (`email[0].is_primary`). `validate_object(name, body, method=...)` checks one object
(recursing into the sub-objects the tables name), applying the letters:

- R missing (absent or null) on that method: refused (code 3002), except the R rows the
  seed's own samples break (`RELAXED_REQUIRED`), which are treated as O;
- C: optional here; the condition (one of a group, a field depending on another) is the
  domain's to check;
- an empty string for a non-R field whose expression refuses it: not given (None), as the
  samples send "" for blanks (`personal_info.photo`, L2801);
- OP and NA on that method: accepted and dropped unchecked (server-owned or not applicable),
  their paths listed in `Cleaned.dropped` / `Cleaned.ignored`;
- keys no table has: the sample-only fields of seed-004-rules.md 3.3 are rules too
  (`EXTRA_FIELDS`) and are kept; any other key is dropped and listed in `Cleaned.unknown`.

Sound replacements of the seed's defective expressions (seed-004-rules.md 3.1 and 6.5; the
same table is in docs/users.md, "Field rules"), seed id: defect -> what is used instead:

- X04 date-times: the seconds group repeats (`{1,22}`: "…:5959" passes) -> `yyyy-mm-ddThh:mm:ss`
  once, and a real calendar time.
- X12 dates: the day group repeats ("1992-01-1231"), no calendar check -> `yyyy-mm-dd` once,
  and a real calendar date.
- X12 on date-times (server_date, date_utc, update_date_utc of bank_account, credit_card,
  history, external_authentication, last_activity, document_info, reset/validate info) and
  X02 on document_info.date_utc (typed Date): typed DateTime with the X04 replacement.
- X05 time zones: `[+|-]` admits "|", `{1,10}` admits concatenations -> `UTC ±hh:mm` once.
- X06 source ids: no `$`, anything starting alphanumeric passes -> 1-100 letters, digits, `-`
  and `_`, anchored (the samples are UUIDs).
- X09 X10 X14 X15 X21 X22 X37 names and text: `\p{L}\p{N}` needs the `regex` module -> the
  same expression with `[^\W_]` (a Unicode letter or digit) for `[\p{L}\p{N}]`.
- X17 emails: `[\w-+…]` compiles only in `regex`, ad-hoc syntax -> at most 254 characters
  here (`normaliser` "email"): the syntax is email-validator's, through
  `customers.domain.normalise_identifier("email", …)`, which the domain applies.
- X18 phone numbers: E.164 shape only -> at most 32 characters here (`normaliser` "mobile"):
  phonenumbers through `normalise_identifier("mobile", …)`.
- X23 X24 X25 schedule days and months: mid-pattern `(?i)` -> compiled case-insensitively.
- X29 bank_account.number: 10-18 digits refuses the seed's own sample (42247074, L5835) ->
  4-18 digits.
- X02 on bank_account.bank_address: digits only for an address -> X10 (free text).
- X16 on credit_card.security_code: a country code's 1-3 digits, refusing Amex's 4 -> X20's
  digits, the card's network deciding 3 or 4 (`sensitive.check_cvv`).
- X31 bank_account.iban: unanchored -> an anchored IBAN shape and the IBAN checksum.
- X34 credit_card.number: 1-16 digits, no Luhn, 19-digit PANs refused -> 12-19 digits
  passing Luhn.
- X38 latitude, longitude: latitude up to ±179.x, -180 refused -> a decimal number, latitude
  within ±90, longitude within ±180.
- X39 history.json: garbled PCRE that compiles nowhere -> any JSON value.
- X43 attachment.file_extension: "JPRG" typo, no upper-case JPEG -> the same list with jpeg,
  case-insensitive.
- X48 query from_date / to_date: `[\/|-]` admits "|", no calendar check -> `yyyy-mm-dd` or
  `yyyy/mm/dd` (one separator), and a real calendar date.

Country codes (X16 on *country* fields) are also checked against ISO 3166 numeric codes and
currency codes (X28) against ISO 4217 (pycountry).
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal

import pycountry
from stdnum import iban as stdnum_iban
from stdnum import luhn

from patron.errors import InvalidInput
from patron.users import codes

Method = Literal["POST", "PUT", "GET", "DELETE"]
_COLUMN = {"POST": 0, "PUT": 1, "GET": 2, "DELETE": 3}


class FieldError(InvalidInput):
    """A field of a request that breaks its rule; `path` names it (`email[0].is_primary`)."""

    def __init__(self, path: str, message: str, *, missing: bool = False) -> None:
        code = codes.MISSING_FIELD if missing else codes.VALIDATION
        super().__init__(int(code.code), f"{path}: {message}")
        self.path = path
        self.reason = message


# --- sound replacements --------------------------------------------------------------------

_DATE = r"^(19|20)\d{2}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$"
_DATETIME = r"^(19|20)\d{2}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])T([01]\d|2[0-3]):[0-5]\d:[0-5]\d$"

# regex id -> (the expression used instead, None for a check without one; why)
REPLACED: dict[str, tuple[str | None, str]] = {
    "X04": (_DATETIME, "the seconds group repeats ({1,22}); calendar checked too"),
    "X12": (_DATE, "the day group repeats ({1,22}); calendar checked too"),
    "X05": (r"^UTC [+-]([01]\d|2[0-3]):[0-5]\d$", "[+|-] admits '|', {1,10} admits concatenations"),
    "X06": (r"^[A-Za-z0-9][A-Za-z0-9_-]{0,99}$", "no $ anchor; the samples are UUIDs"),
    "X17": (None, "email syntax: email-validator through the customers normaliser"),
    "X18": (None, "phone syntax: phonenumbers through the customers normaliser"),
    "X29": (r"^[0-9]{4,18}$", "10-18 digits refuses the seed's own 8-digit sample (L5835)"),
    "X31": (r"^[A-Z]{2}[0-9]{2}[A-Z0-9]{11,30}$", "unanchored; the IBAN checksum checked too"),
    "X34": (r"^[0-9]{12,19}$", "1-16 digits without Luhn; Luhn checked too"),
    "X38": (r"^-?[0-9]{1,3}(\.[0-9]{1,24})?$", "admits latitude ±179; ranges checked (±90, ±180)"),
    "X39": (None, "garbled PCRE compiling nowhere: any JSON value"),
    "X43": (
        r"^.*\.(zip|7z|gz|gzip|rar|pdf|docx?|gif|jpe?g|png|odt|odg|txt|tiff?|bmp|ppm|pgm|pbm|bpg)$",
        "'JPRG' typo, no upper-case JPEG; case-insensitive",
    ),
    "X48": (
        r"^[0-9]{4}([-/])(0[1-9]|1[0-2])\1(0[1-9]|[12][0-9]|3[01])$",
        "[\\/|-] admits '|'; calendar checked too",
    ),
}
# Expressions the seed writes for Python-incompatible engines, translated as they are.
_CASELESS = frozenset({"X23", "X24", "X25"})  # mid-pattern (?i): compiled case-insensitively

# The seed's DateTime fields typed Date (date-only X12, or X02 for document_info.date_utc).
_DATETIME_NAMES = frozenset({"server_date", "date_utc", "update_date_utc", "update_datetime_utc"})

# (object, field) -> (type, regex id, why): rows whose type or expression we change.
FIELD_OVERRIDES: dict[tuple[str, str], tuple[str, str | None, str]] = {
    ("bank_account", "bank_address"): ("String", "X10", "digits-only X02 for an address (L1312)"),
    ("document_info", "date_utc"): ("DateTime", "X04", "typed Date with the digits X02 (L2266)"),
    # The country-code X16 (1-3 digits) on the CVV would refuse American Express's 4 digits;
    # sensitive.check_cvv then asks 3 digits, 4 for Amex.
    ("credit_card", "security_code"): ("String", "X20", "country-code X16 on a CVV (L1378)"),
}

# The R rows the seed's own samples break (seed-004-rules.md 2.9), treated as O:
# (object, field, method) -> why.
RELAXED_REQUIRED: dict[tuple[str, str, str], str] = {
    ("user_data", "info", "POST"): "no Create User sample sends info (L98 vs L2779-2967)",
    ("info", "program_id", "POST"): "the program is the caller's org (L254 vs L2779-2967)",
    ("info", "program_id", "PUT"): "the program is the caller's org (L254 vs L11903-12011)",
    ("currency", "code", "PUT"): "Update Currency sends {id, is_primary} only (L1471 vs L15451-15467)",
}

# Fields the samples send that no table lists (seed-004-rules.md 3.3), accepted as rules:
# (object, field, type, regex id, POST, PUT, GET, DELETE, security type, seed line of use).
EXTRA_FIELDS: tuple[tuple[str, str, str, str | None, str, str, str, str, str, int], ...] = (
    ("personal_info", "photo", "String", "X13", "O", "O", "NA", "NA", "None", 2801),
    ("user_data", "notation", "Object", None, "O", "O", "NA", "NA", "None", 2931),
    ("security", "status", "Integer", "X03", "O", "O", "NA", "NA", "None", 11947),
    ("currency", "is_primary", "Integer", "X01", "O", "O", "NA", "NA", "None", 15461),
    ("attachment", "is_selfie", "Boolean", None, "O", "O", "NA", "NA", "None", 5014),
)

# Wire keys that differ from the table names (seed-004-rules.md 3.0).
WIRE_NAMES: dict[str, str] = {
    "external_auth": "external_authentication",
    "commerce": "commerce_info",
    "documents": "document_data",
    "validate_data": "validate_security_data",
}

# (object, field) -> the object table its value follows; None: free-form or no table
# (custom fields are the org's own names; account, group and access rules have none here).
_CHILDREN: dict[tuple[str, str], str | None] = {
    ("user_data", "documents"): "document_data",
    ("user_data", "external_auth"): "external_authentication",
    ("user_data", "access_rule"): None,
    ("user_data", "account"): None,
    ("user_data", "group"): None,
    ("user_data", "notation"): None,  # {notes: "..."} (L2931): not the notes table's fields
    ("access_rule_data", "info"): "access_rule_info",
    ("access_rule_data", "notification"): "notification#access_rule",
    ("access_rule_data", "override_rule"): None,
    ("rule", "keys"): "key",
    ("validation_data", "info"): None,
    ("document_data", "info"): "document_info",
    ("reset_user_security", "info"): "reset_user_security_info",
    ("validate_user_security", "info"): "validate_user_security_info",
    ("validate_user_security", "validate_data"): "validate_security_data",
    ("personal_info", "picture"): None,
    ("attachment", "file_url"): None,
    ("bank_account", "extended_data"): None,
}
_FREE_FORM = frozenset({"custom_field"})
# Sub-objects that are always created, whatever the request's method: the documents of
# Update Identification With Document (PUT, L14098-14175) are new documents, checked by
# their POST letters (document_data's PUT column is NA).
ALWAYS_NEW = frozenset({("user_data", "documents")})

_EMAIL_FIELDS = frozenset(
    {
        ("email", "address"),
        ("document_info", "email_address"),
        ("forget_password", "verified_email"),
        ("validate_security_data", "email"),
        ("user_inquiry", "email"),
        ("document_inquiry", "user_name"),
    }
)
_PHONE_FIELDS = frozenset(
    {("phone", "number"), ("forget_password", "verified_mobile"), ("validate_security_data", "phone")}
)


# --- checks beyond an expression -----------------------------------------------------------


def _calendar_date(text: str) -> str | None:
    try:
        date.fromisoformat(text.replace("/", "-"))
    except ValueError:
        return "is not a calendar date"
    return None


def _calendar_time(text: str) -> str | None:
    try:
        datetime.fromisoformat(text)
    except ValueError:
        return "is not a calendar date and time"
    return None


def _latitude(text: str) -> str | None:
    return None if -90 <= float(text) <= 90 else "must be between -90 and 90"


def _longitude(text: str) -> str | None:
    return None if -180 <= float(text) <= 180 else "must be between -180 and 180"


def _iban(text: str) -> str | None:
    return None if stdnum_iban.is_valid(text) else "is not a valid IBAN (checksum)"


def _luhn(text: str) -> str | None:
    return None if luhn.is_valid(text) else "is not a valid card number (Luhn)"


def _country(text: str) -> str | None:
    found = pycountry.countries.get(numeric=text.zfill(3))
    return None if found is not None else "is not an ISO 3166 numeric country code"


def _currency(text: str) -> str | None:
    found = pycountry.currencies.get(alpha_3=text.upper())
    return None if found is not None else "is not an ISO 4217 currency code"


def _base64(text: str) -> str | None:
    try:
        base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return "is not base64"
    return None


CHECKS: dict[str, Callable[[str], str | None]] = {
    "date": _calendar_date,
    "datetime": _calendar_time,
    "latitude": _latitude,
    "longitude": _longitude,
    "iban": _iban,
    "luhn": _luhn,
    "country": _country,
    "currency": _currency,
    "base64": _base64,
}


# --- the rules -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FieldRule:
    object: str
    name: str
    type: str  # String, Integer, Date, DateTime, Decimal, Boolean, Object
    regex_id: str | None  # the seed's expression id (seed-004-rules.md 3.1)
    post: str
    put: str
    get: str
    delete: str
    security: str  # None, Wiped, Masked, Encrypted
    line: int  # the field's line in the seed
    pattern: re.Pattern[str] | None  # what the value must fully match (after coercion)
    check: str | None  # a key of CHECKS, applied after the pattern
    normaliser: str | None  # "email" / "mobile": syntax left to customers.domain.normalise_identifier
    child: str | None  # the object table a sub-object follows

    def letter(self, method: str) -> str:
        return (self.post, self.put, self.get, self.delete)[_COLUMN[method]]


def _compile(xid: str | None) -> re.Pattern[str] | None:
    if xid is None:
        return None
    if xid in REPLACED:
        pattern = REPLACED[xid][0]
        flags = re.IGNORECASE if xid == "X43" else 0
        return None if pattern is None else re.compile(pattern, flags)
    text = SEED_REGEX[xid].replace(r"[\p{L}\p{N}]", r"[^\W_]")
    if xid in _CASELESS:
        return re.compile(text.replace("(?i)", ""), re.IGNORECASE)
    return re.compile(text)


def _check_of(obj: str, name: str, type_: str, xid: str | None) -> str | None:
    if type_ == "Date":
        return "date"
    if type_ == "DateTime" or xid == "X48":
        return "datetime" if type_ == "DateTime" else "date"
    if xid == "X38":
        return "latitude" if name == "latitude" else "longitude"
    if xid == "X31":
        return "iban"
    if xid == "X34":
        return "luhn"
    if xid == "X44":
        return "base64"
    if xid == "X16" and "country" in name:
        return "country"
    if xid == "X28":
        return "currency"
    return None


def _child_of(obj: str, name: str, type_: str) -> str | None:
    if (obj, name) in _CHILDREN:
        return _CHILDREN[(obj, name)]
    if type_ != "Object" or name in _FREE_FORM:
        return None
    table = WIRE_NAMES.get(name, name)
    return table if table in SEED_TABLES and table != obj else None


def _rule(row: tuple[str, str, str, str | None, str, str, str, str, str, int]) -> FieldRule:
    obj, name, type_, xid, post, put, get, delete, security, line = row
    if (obj, name) in FIELD_OVERRIDES:
        type_, xid, _ = FIELD_OVERRIDES[(obj, name)]
    elif type_ == "Date" and (name in _DATETIME_NAMES or xid == "X04"):
        type_, xid = "DateTime", "X04"
    normaliser = (
        "email" if (obj, name) in _EMAIL_FIELDS else "mobile" if (obj, name) in _PHONE_FIELDS else None
    )
    return FieldRule(
        object=obj,
        name=name,
        type=type_,
        regex_id=xid,
        post=post,
        put=put,
        get=get,
        delete=delete,
        security=security,
        line=line,
        pattern=_compile(xid),
        check=_check_of(obj, name, type_, xid),
        normaliser=normaliser,
        child=_child_of(obj, name, type_),
    )


# --- coercion and validation ---------------------------------------------------------------

_INTEGER = re.compile(r"^-?[0-9]+$")
_DECIMAL = re.compile(r"^-?[0-9]+(\.[0-9]+)?$")
_MAX_IDENTIFIER = {"email": 254, "mobile": 32}


def _number_text(value: int | float) -> str:
    return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)


def coerce(rule: FieldRule, value: Any, path: str | None = None) -> Any:
    """The normalised value of one field (seed-004-rules.md 2.8: Integer fields accept "1" and
    1 and give an int, String fields accept numbers and give a str), checked against the
    field's expression and check; FieldError naming `path` (default: object.field) otherwise.
    Sub-objects (type Object) are returned as they are: validate_object checks them."""
    where = path or f"{rule.object}.{rule.name}"
    if value is None:
        return None
    kind = rule.type
    if kind == "Object":
        if isinstance(value, dict | list):
            return value
        if isinstance(value, str) and rule.regex_id == "X13" and rule.pattern is not None:
            if not rule.pattern.fullmatch(value):
                raise FieldError(where, "must be an http(s) URL")
            return value
        raise FieldError(where, "must be an object or an array")
    if kind == "Boolean":
        if isinstance(value, bool):
            return value
        if value in (0, 1, "0", "1", "true", "false"):
            return value in (1, "1", "true")
        raise FieldError(where, "must be true or false")
    if isinstance(value, bool | dict | list):
        raise FieldError(where, f"must be {'a number' if kind in ('Integer', 'Decimal') else 'a string'}")
    if kind == "Integer":
        text = _number_text(value) if isinstance(value, int | float) else str(value).strip()
        if not _INTEGER.fullmatch(text):
            raise FieldError(where, "must be an integer")
        _match(rule, text, where)
        return int(text)
    if kind == "Decimal":
        text = _number_text(value) if isinstance(value, int | float) else str(value).strip()
        if not _DECIMAL.fullmatch(text):
            raise FieldError(where, "must be a decimal number")
        return text
    text = _number_text(value) if isinstance(value, int | float) else value
    if not isinstance(text, str):
        raise FieldError(where, "must be a string")
    if kind in ("Date", "DateTime") and isinstance(value, int | float):
        raise FieldError(where, "must be a date string")
    if rule.normaliser is not None:
        limit = _MAX_IDENTIFIER[rule.normaliser]
        if not text.strip() or len(text) > limit:
            raise FieldError(where, f"must be a {rule.normaliser} of 1-{limit} characters")
        return text.strip()
    _match(rule, text, where)
    return text


# Fields whose values an error message never repeats, besides the non-None security types.
_UNSHOWN = frozenset({("bank_account", "iban"), ("bank_account", "swift_code")})


def _match(rule: FieldRule, text: str, where: str) -> None:
    hidden = rule.security != "None" or (rule.object, rule.name) in _UNSHOWN
    shown = "the value" if hidden else repr(text)
    if rule.pattern is not None and not rule.pattern.fullmatch(text):
        raise FieldError(where, f"{shown} does not match {rule.pattern.pattern}")
    if rule.check is not None:
        problem = CHECKS[rule.check](text)
        if problem:
            raise FieldError(where, f"{shown} {problem}")


class Cleaned(dict[str, Any]):
    """A validated object: its kept fields, normalised, with what validation left out:
    `dropped` (OP fields: server-owned), `ignored` (fields NA on the method) and `unknown`
    (keys no table lists), each as field paths."""

    def __init__(self) -> None:
        super().__init__()
        self.dropped: list[str] = []
        self.ignored: list[str] = []
        self.unknown: list[str] = []

    def absorb(self, inner: Cleaned) -> None:
        self.dropped += inner.dropped
        self.ignored += inner.ignored
        self.unknown += inner.unknown


def validate_object(object_name: str, body: Mapping[str, Any], *, method: Method, path: str = "") -> Cleaned:
    """Check one object of a request against its table (`object_name` a table name or a wire
    key such as `external_auth`), recursing into sub-objects and arrays of them; FieldError
    names the first failing field's path. Returns the kept, normalised fields."""
    table = WIRE_NAMES.get(object_name, object_name)
    rules = RULES.get(table)
    if rules is None:
        raise KeyError(f"no field table {object_name!r}")
    where = path or object_name
    if not isinstance(body, Mapping):
        raise FieldError(where, "must be an object")
    out = Cleaned()
    for name, rule in rules.items():
        letter = rule.letter(method)
        value = body.get(name)
        if letter == "R" and value in (None, "") and (table, name, method) not in RELAXED_REQUIRED:
            raise FieldError(f"{where}.{name}", "is required", missing=True)
        if name not in body:
            continue
        if value == "" and letter != "R" and rule.pattern is not None and not rule.pattern.fullmatch(""):
            out[name] = None  # the samples send "" for a blank optional field: not given
            continue
        if letter == "OP":
            out.dropped.append(f"{where}.{name}")
            continue
        if letter == "NA":
            out.ignored.append(f"{where}.{name}")
            continue
        out[name] = _field(rule, value, f"{where}.{name}", method, out)
    out.unknown += [f"{where}.{key}" for key in body if key not in rules]
    return out


def _field(rule: FieldRule, value: Any, where: str, method: Method, out: Cleaned) -> Any:
    value = coerce(rule, value, where)
    if rule.child is None or value is None:
        return value
    if (rule.object, rule.name) in ALWAYS_NEW:
        method = "POST"
    if isinstance(value, list):
        items: list[Any] = []
        for index, item in enumerate(value):
            inner = validate_object(rule.child, item, method=method, path=f"{where}[{index}]")
            out.absorb(inner)
            items.append(inner)
        return items
    inner = validate_object(rule.child, value, method=method, path=where)
    out.absorb(inner)
    return inner


def validate_parts(root: str, body: Mapping[str, Any], *, method: Method) -> Cleaned:
    """Check each top-level object of a request body by its own table, without the root's
    letters: a sub-resource request (`{"email": [...]}` to Create User Email) carries only
    the part it changes, so the root's R fields (user_data.personal_info, ...) do not apply."""
    rules = RULES[root]
    out = Cleaned()
    for key, value in body.items():
        rule = rules.get(key)
        if rule is None:
            out.unknown.append(key)
            continue
        out[key] = _field(rule, value, key, method, out)
    return out


# BEGIN GENERATED by tests/fixtures/make_fields.py from seed-004-fields.json: do not edit

# The seed's expressions (seed-004-rules.md 3.1), verbatim; see REPLACED for the defective ones.
SEED_REGEX: dict[str, str] = {
    "X01": "^[0-1]{1,1}$",
    "X02": "^[0-9]{1,10}$",
    "X03": "^(-1|[0-9]{1,2})$",
    "X04": "^(19|20)\\d{2}-(0[1-9]|1[0-2])-(0[1-9]|1\\d|2\\d|3[01])T(0[0-9]|1[0-9]|2[0-3]):([0-5][0-9]):([0-5][0-9]){1,22}$",  # noqa: E501
    "X05": "^((?:UTC [+|-](?:2[0-3]|[01][0-9]):[0-5][0-9])){1,10}$",
    "X06": "^[a-zA-Z0-9]{1,100}",
    "X07": "^[0-9]{1,1}$",
    "X08": "^$|(^(?!.*--)[?-?a-zA-Z0-9][^\\^+=<>|\\n\\r\\b\\t]{0,255}$)",
    "X09": "^(?!.*--)[\\p{L}\\p{N}][^\\\\\\/*$%^+=<>|\\n\\r\\b\\t]{0,49}$",
    "X10": "^$|(^(?!.*--)[\\p{L}\\p{N}][^\\^+=<>|\\n\\r\\b\\t]{0,500}$)",
    "X11": "^[0-2]{1,1}$",
    "X12": "^(19|20)\\d{2}-(0[1-9]|1[0-2])-(0[1-9]|1\\d|2\\d|3[01]){1,22}$",
    "X13": "^(http|https):\\/\\/[\\w\\-_]+(\\.[\\w\\-_]+)+([\\w\\-\\.,@?^=%&:\\/~\\+#]*[\\w\\-\\@?^=%&\\/~\\+#]){1,2038}$",  # noqa: E501
    "X14": "^(?!.*--)[\\p{L}\\p{N}][^\\\\\\/*$%^+=<>|\\n\\r\\b\\t]{1,20}$",
    "X15": "^(?!.*--)[\\p{L}\\p{N}][^\\^+=<>|\\n\\r\\b\\t]{0,500}$",
    "X16": "^[0-9]{1,3}$",
    "X17": "^(?!.*--)([\\w-+\\.]{1,80})@([\\w-+\\.]{1,80})\\.([a-zA-Z]{1,20})$",
    "X18": "^[+]([1-9])\\d{7,14}$",
    "X19": "^(?!.*--)[^\\^+=<>|\\n\\r\\b\\t]{6,255}$",
    "X20": "^[0-9]{1,6}$",
    "X21": "^(?!.*--)[\\p{L}\\p{N}][^\\^+=<>|\\n\\r\\b\\t]{0,100}$",
    "X22": "^(?!.*--)[\\p{L}\\p{N}][^\\^+=<>|\\n\\r\\b\\t]{1,8000}$",
    "X23": "^(?i)((mon|tue(s)?|wed(nes)?|thu(rs)?|fri|sat(ur)?|sun)(day)?)(,((mon|tue(s)?|wed(nes)?|thu(rs)?|fri|sat(ur)?|sun)(day)?)){0,6}$",  # noqa: E501
    "X24": "(^(?i)(jan(uary)?|feb(ruary)?|mar(ch)?|apr(il)?|may|jun(e)?|jul(y)?|aug(ust)?|sep(tember)?|oct(ober)?|(nov|dec)(ember)?)(,(?i)(jan(uary)?|feb(ruary)?|mar(ch)?|apr(il)?|may|jun(e)?|jul(y)?|aug(ust)?|sep(tember)?|oct(ober)?|(nov|dec)(ember)?)){0,11}$)|(^(0[1-9]|1[0-2])(,(0[1-9]|1[0-2])){0,11}$)",  # noqa: E501
    "X25": "^((?i)all)$|^((([0][1-9])|([12][0-9])|([3][01]))(,(([0][1-9])|([12][0-9])|([3][01])))*)$",
    "X26": "^(([01][0-9])|([2][0-3])):[0-5][0-9]$",
    "X27": "^[a-zA-Z]{1,2}(-[a-zA-Z]{1,2})?$",
    "X28": "^[0-9a-zA-Z]{3,3}$",
    "X29": "^[0-9]{10,18}$",
    "X30": "^[a-zA-Z]{6}[a-zA-Z0-9]{2}([a-zA-Z0-9]{3})?$",
    "X31": "[a-zA-Z]{2}[0-9]{2}[a-zA-Z0-9]{4}[0-9]{7}([a-zA-Z0-9]?){0,16}",
    "X32": "^[0-9]{1,5}$",
    "X33": "^[0-9]{1,9}$",
    "X34": "^[0-9]{1,16}$",
    "X35": "^(20|21)\\d{2}$",
    "X36": "^(0[1-9]|1[0-2])$",
    "X37": "^(?!.*--)[\\p{L}\\p{N}][^\\^+=<>|\\n\\r\\b\\t]{0,255}$",
    "X38": "^(-?(?:1[0-7]|[1-9])?\\d(?:\\.\\d{1,24})?|180(?:\\.0{1,24})?)$",
    "X39": '(?(DEFINE) (? -? (?= [1-9]|0(?!\\d) ) \\d+ (\\.\\d+)? ([eE] [+-]? \\d+)? ) (? true | false | null ) (? " ([^"\\\\\\\\]* | \\\\\\\\ ["\\\\\\\\bfnrt\\/] | \\\\\\\\ u [0-9a-f]{4} )* " ) (? \\[ (?: (?&json) (?: , (?&json) )* )? \\s* \\] ) (? \\s* (?&string) \\s* : (?&json) ) (? \\{ (?: (?&pair) (?: , (?&pair) )* )? \\s* \\} ) (? \\s* (?: (?&number) | (?&boolean) | (?&string) | (?&array) | (?&object) ) \\s* ) ) \\A (?&json) \\Z',  # noqa: E501
    "X40": "^$|(^(?!.*--)[?-?a-zA-Z0-9][^\\^+=<>|\\n\\r\\b\\t]{0,500}$)",
    "X41": "^[0-9]{1,25}$",
    "X42": "^[ A-Za-z0-9_.\\/#=&+-]*$",
    "X43": "^.*\\.(ZIP|zip|7Z|7z|GZ|gz|GZIP|gzip|RAR|rar|PDF|pdf|DOC|doc|DOCX|docx|GIF|gif|JPG|jpg|PNG|png|ODT|odt|ODG|odg|TXT|txt|JPRG|jpeg|TIFF|tiff|TIF|tif|BMP|bmp|PPM|ppm|PGM|pgm|PBM|pbm|BPG|bpg)$",  # noqa: E501
    "X44": "^(?:[A-Za-z0-9+\\/]{4})*(?:[A-Za-z0-9+\\/]{2}==|[A-Za-z0-9+\\/]{3}=)?$",
    "X45": "^[0-9]{11,19}$",
    "X46": "^[a-zA-Z0-9_]{1,22}$",
    "X47": "^(asc|desc)$",
    "X48": "^([0-9]{4})[\\/|-]((0[1-9])|(1[0-2]))[\\/|-]((0[1-9])|(1[0-9])|(2[0-9])|(3[0-1]))$",
}

# object, field, type, regex id, POST, PUT, GET, DELETE, security type, seed line
SEED_FIELDS: tuple[tuple[str, str, str, str | None, str, str, str, str, str, int], ...] = (
    ("user_data", "info", "Object", None, "R", "O", "NA", "NA", "None", 98),
    ("user_data", "personal_info", "Object", None, "R", "O", "NA", "NA", "None", 103),
    ("user_data", "address", "Object", None, "R", "O", "NA", "NA", "None", 108),
    ("user_data", "email", "Object", None, "R", "O", "NA", "NA", "None", 113),
    ("user_data", "phone", "Object", None, "R", "O", "NA", "NA", "None", 118),
    ("user_data", "security", "Object", None, "R", "O", "NA", "NA", "None", 123),
    ("user_data", "preferences", "Object", None, "R", "O", "NA", "NA", "None", 128),
    ("user_data", "identification", "Object", None, "O", "O", "NA", "NA", "None", 133),
    ("user_data", "bank_account", "Object", None, "O", "O", "NA", "NA", "None", 138),
    ("user_data", "credit_card", "Object", None, "O", "O", "NA", "NA", "None", 143),
    ("user_data", "notification", "Object", None, "O", "O", "NA", "NA", "None", 148),
    ("user_data", "documents", "Object", None, "C", "NA", "NA", "NA", "None", 153),
    ("user_data", "currency", "Object", None, "R", "NA", "NA", "NA", "None", 158),
    ("user_data", "account", "Object", None, "C", "NA", "NA", "NA", "None", 163),
    ("user_data", "terms_conditions", "Object", None, "R", "NA", "NA", "NA", "None", 168),
    ("user_data", "device_info", "Object", None, "O", "O", "NA", "NA", "None", 173),
    ("user_data", "commerce_info", "Object", None, "NA", "O", "NA", "NA", "None", 178),
    ("user_data", "geo_coordinates", "Object", None, "O", "O", "NA", "NA", "None", 183),
    ("user_data", "custom_field", "Object", None, "O", "NA", "NA", "NA", "None", 188),
    ("user_data", "validate", "String", "X01", "O", "O", "NA", "NA", "None", 193),
    ("user_data", "history", "Object", None, "NA", "NA", "NA", "NA", "None", 198),
    ("user_data", "group", "Object", None, "C", "NA", "NA", "NA", "None", 203),
    ("user_data", "access_rule", "Object", None, "NA", "NA", "NA", "NA", "None", 208),
    ("user_data", "external_auth", "Object", None, "O", "O", "NA", "NA", "None", 213),
    ("user_data", "addresses", "Object", None, "NA", "O", "NA", "NA", "None", 218),
    ("user_data", "notes", "Object", None, "O", "O", "O", "O", "None", 223),
    ("user_data", "last_activity", "Object", None, "NA", "O", "NA", "NA", "None", 228),
    ("user_data", "validation_data", "Object", None, "O", "O", "O", "O", "None", 233),
    ("user_data", "relationship", "Object", None, "O", "O", "O", "O", "None", 238),
    ("user_data", "authentication", "Object", None, "O", "O", "O", "O", "None", 243),
    ("info", "id", "Integer", "X02", "NA", "R", "NA", "NA", "None", 249),
    ("info", "program_id", "Integer", "X02", "R", "R", "NA", "NA", "None", 254),
    ("info", "status", "String", "X03", "NA", "O", "NA", "NA", "None", 259),
    ("info", "server_date", "Date", "X04", "NA", "NA", "NA", "NA", "None", 264),
    ("info", "date_utc", "Date", "X04", "NA", "NA", "NA", "NA", "None", 269),
    ("info", "source_time_zone", "String", "X05", "NA", "NA", "NA", "NA", "None", 274),
    ("info", "original_source_id", "String", "X06", "NA", "NA", "NA", "NA", "None", 279),
    ("info", "type", "Integer", "X07", "O", "O", "O", "O", "None", 284),
    ("info#2", "id", "Integer", "X02", "O", "O", "O", "O", "None", 290),
    ("info#2", "parent_id", "Integer", "X02", "O", "O", "O", "O", "None", 295),
    ("info#2", "program_id", "Integer", "X02", "O", "O", "O", "O", "None", 300),
    ("info#2", "user_id", "Integer", "X02", "O", "O", "O", "O", "None", 305),
    ("info#2", "type", "Integer", "X02", "O", "O", "O", "O", "None", 310),
    ("info#2", "service_provider", "Integer", "X02", "O", "O", "O", "O", "None", 315),
    ("info#2", "status", "Integer", "X02", "O", "O", "O", "O", "None", 320),
    ("info#2", "server_date", "Date", "X04", "O", "O", "O", "O", "None", 325),
    ("info#2", "date_utc", "Date", "X04", "O", "O", "O", "O", "None", 330),
    ("info#2", "action", "Integer", "X02", "O", "O", "O", "O", "None", 335),
    ("info#2", "user_converted_to_suspended", "Boolean", "X01", "O", "O", "O", "O", "None", 340),
    ("info#2", "source_time_zone", "String", "X05", "O", "O", "O", "O", "None", 345),
    ("info#2", "original_source_id", "String", "X08", "O", "O", "O", "O", "None", 350),
    ("info#2", "notes", "String", "X08", "O", "O", "O", "O", "None", 355),
    ("personal_info", "title", "String", "X03", "O", "O", "NA", "NA", "None", 361),
    ("personal_info", "first_name", "String", "X09", "R", "O", "NA", "NA", "None", 366),
    ("personal_info", "last_name", "String", "X09", "R", "O", "NA", "NA", "None", 371),
    ("personal_info", "nick_name", "String", "X09", "O", "O", "NA", "NA", "None", 376),
    ("personal_info", "job_title", "String", "X10", "O", "O", "NA", "NA", "None", 381),
    ("personal_info", "gender", "String", "X11", "O", "O", "NA", "NA", "None", 386),
    ("personal_info", "date_of_birth", "Date", "X12", "R", "O", "NA", "NA", "None", 391),
    ("personal_info", "verification_status", "Integer", "X01", "OP", "OP", "NA", "NA", "None", 396),
    ("personal_info", "picture", "Object", "X13", "O", "O", "NA", "NA", "None", 401),
    ("personal_info", "custom_field", "Object", None, "O", "NA", "NA", "NA", "None", 406),
    ("address", "address_line1", "String", "X10", "O", "O", "NA", "NA", "None", 412),
    ("address", "address_line2", "String", "X10", "O", "O", "NA", "NA", "None", 417),
    ("address", "postal_zip_code", "String", "X14", "O", "O", "NA", "NA", "None", 422),
    ("address", "state_region", "String", "X10", "C", "C", "NA", "NA", "None", 427),
    ("address", "city_town", "String", "X15", "O", "O", "NA", "NA", "None", 432),
    ("address", "country_code", "String", "X16", "R", "O", "NA", "NA", "None", 437),
    ("address", "verification_status", "Integer", "X01", "OP", "OP", "NA", "NA", "None", 442),
    ("address", "custom_field", "Object", None, "O", "NA", "NA", "NA", "None", 447),
    ("address", "status", "Integer", "X07", "OP", "OP", "NA", "NA", "None", 514),
    ("address", "type", "Integer", "X07", "O", "O", "NA", "NA", "None", 546),
    ("address", "is_billing", "Integer", "X01", "O", "O", "NA", "NA", "None", 551),
    ("address", "original_source_id", "String", "X06", "O", "O", "O", "O", "None", 556),
    ("address", "server_date", "Date", "X04", "O", "O", "O", "O", "None", 561),
    ("address", "date_utc", "Date", "X04", "O", "O", "O", "O", "None", 566),
    ("address", "update_date_utc", "Date", "X04", "O", "O", "O", "O", "None", 571),
    ("addresses", "id", "Integer", "X02", "NA", "R", "NA", "R", "None", 453),
    ("addresses", "type", "Integer", "X07", "O", "O", "NA", "NA", "None", 458),
    ("addresses", "is_primary", "Integer", "X01", "O", "O", "NA", "NA", "None", 463),
    ("addresses", "is_billing", "Integer", "X01", "O", "O", "NA", "NA", "None", 468),
    ("addresses", "address_line1", "String", "X10", "R", "O", "NA", "NA", "None", 473),
    ("addresses", "address_line2", "String", "X10", "O", "O", "NA", "NA", "None", 478),
    ("addresses", "postal_zip_code", "String", "X14", "R", "O", "NA", "NA", "None", 483),
    ("addresses", "state_region", "String", "X10", "O", "O", "NA", "NA", "None", 488),
    ("addresses", "city_town", "String", "X15", "O", "O", "NA", "NA", "None", 493),
    ("addresses", "country_code", "String", "X16", "R", "O", "NA", "NA", "None", 498),
    ("addresses", "status", "Integer", "X03", "C", "C", "NA", "NA", "None", 503),
    ("addresses", "custom_field", "Object", None, "O", "NA", "NA", "NA", "None", 508),
    ("addresses", "verification_status", "Integer", "X07", "OP", "O", "NA", "NA", "None", 520),
    ("addresses", "original_source_id", "String", "X06", "NA", "NA", "NA", "NA", "None", 525),
    ("addresses", "server_date", "Date", "X04", "NA", "NA", "NA", "NA", "None", 530),
    ("addresses", "date_utc", "Date", "X04", "NA", "NA", "NA", "NA", "None", 535),
    ("addresses", "update_date_utc", "Date", "X04", "NA", "NA", "NA", "NA", "None", 540),
    ("email", "id", "Integer", "X02", "NA", "R", "NA", "R", "None", 577),
    ("email", "address", "String", "X17", "R", "O", "NA", "NA", "None", 582),
    ("email", "verification_status", "Integer", "X07", "OP", "OP", "NA", "NA", "None", 587),
    ("email", "is_primary", "Integer", "X01", "R", "O", "NA", "NA", "None", 592),
    ("email", "custom_field", "Object", None, "O", "NA", "NA", "NA", "None", 597),
    ("email", "type", "Integer", "X07", "O", "O", "NA", "NA", "None", 602),
    ("email", "status", "Integer", "X03", "C", "C", "NA", "NA", "None", 607),
    ("email", "original_source_id", "String", "X06", "O", "NA", "NA", "NA", "None", 612),
    ("email", "server_date", "Date", "X04", "NA", "O", "NA", "NA", "None", 617),
    ("email", "date_utc", "Date", "X04", "NA", "O", "NA", "NA", "None", 622),
    ("email", "update_date_utc", "Date", "X04", "NA", "O", "NA", "NA", "None", 627),
    ("phone", "id", "Integer", "X02", "NA", "R", "NA", "R", "None", 633),
    ("phone", "type", "Integer", "X07", "O", "O", "NA", "NA", "None", 638),
    ("phone", "country_code", "String", "X16", "R", "O", "NA", "NA", "None", 643),
    ("phone", "number", "String", "X18", "R", "O", "NA", "NA", "None", 648),
    ("phone", "verification_status", "Integer", "X07", "OP", "OP", "NA", "NA", "None", 653),
    ("phone", "is_primary", "Integer", "X01", "R", "O", "NA", "NA", "None", 658),
    ("phone", "custom_field", "Object", None, "O", "NA", "NA", "NA", "None", 663),
    ("phone", "status", "Integer", "X03", "C", "C", "NA", "NA", "None", 668),
    ("phone", "original_source_id", "String", "X06", "O", "NA", "NA", "NA", "None", 673),
    ("phone", "server_date", "Date", "X04", "NA", "O", "NA", "NA", "None", 678),
    ("phone", "date_utc", "Date", "X04", "NA", "O", "NA", "NA", "None", 683),
    ("phone", "update_date_utc", "Date", "X04", "NA", "O", "NA", "NA", "None", 688),
    ("security", "trust_level", "String", "X03", "O", "OP", "NA", "NA", "None", 694),
    ("security", "password", "String", "X19", "R", "OP", "NA", "NA", "Wiped", 699),
    ("security", "security_code", "String", "X20", "R", "OP", "NA", "NA", "Wiped", 704),
    ("security", "secret_question_1", "String", "X03", "R", "OP", "NA", "NA", "None", 709),
    ("security", "secret_answer_1", "String", "X21", "R", "OP", "NA", "NA", "Wiped", 714),
    ("security", "secret_question_2", "String", "X03", "R", "OP", "NA", "NA", "None", 719),
    ("security", "secret_answer_2", "String", "X21", "R", "OP", "NA", "NA", "Wiped", 724),
    ("access_rule_info", "id", "Integer", "X02", "O", "O", "O", "O", "None", 730),
    ("access_rule_info", "program_id", "Integer", "X02", "O", "O", "O", "O", "None", 735),
    ("access_rule_info", "user_id", "Integer", "X02", "O", "O", "O", "O", "None", 740),
    ("access_rule_info", "group_id", "Integer", "X02", "O", "O", "O", "O", "None", 745),
    ("access_rule_info", "bin_id", "Integer", "X02", "O", "O", "O", "O", "None", 750),
    ("access_rule_info", "account_id", "Integer", "X02", "O", "O", "O", "O", "None", 755),
    ("access_rule_info", "pos_id", "Integer", "X02", "O", "O", "O", "O", "None", 760),
    ("access_rule_info", "by_entity", "Integer", "X07", "O", "O", "O", "O", "None", 765),
    ("access_rule_info", "by_entity_id", "Integer", "X02", "O", "O", "O", "O", "None", 770),
    ("access_rule_info", "name", "String", "X09", "O", "O", "O", "O", "None", 775),
    ("access_rule_info", "description", "String", "X22", "O", "O", "O", "O", "None", 780),
    ("access_rule_info", "order", "Integer", "X16", "O", "O", "O", "O", "None", 785),
    ("access_rule_info", "profile", "Integer", "X07", "O", "O", "O", "O", "None", 790),
    ("access_rule_info", "type", "Integer", "X07", "O", "O", "O", "O", "None", 795),
    ("access_rule_info", "host_app", "Integer", "X07", "O", "O", "O", "O", "None", 800),
    ("access_rule_info", "status", "Integer", "X07", "O", "O", "O", "O", "None", 805),
    ("access_rule_info", "server_date", "Date", "X04", "O", "O", "O", "O", "None", 810),
    ("access_rule_info", "date_utc", "Date", "X04", "O", "O", "O", "O", "None", 815),
    ("access_rule_info", "update_date_utc", "Date", "X04", "O", "O", "O", "O", "None", 820),
    ("access_rule_info", "source_id", "String", "X06", "O", "O", "O", "O", "None", 825),
    ("access_rule_info", "update_activity_type", "Integer", "X07", "O", "O", "O", "O", "None", 830),
    ("access_rule_data", "info", "Object", None, "O", "O", "O", "O", "None", 836),
    ("access_rule_data", "action", "Object", None, "O", "O", "O", "O", "None", 848),
    ("access_rule_data", "rule", "Object", None, "O", "O", "O", "O", "None", 887),
    ("access_rule_data", "frequency", "Object", None, "O", "O", "O", "O", "None", 926),
    ("access_rule_data", "schedule", "Object", None, "O", "O", "O", "O", "None", 980),
    ("access_rule_data", "notification", "Object", None, "O", "O", "O", "O", "None", 1002),
    ("access_rule_data", "override_rule", "Object", None, "O", "O", "O", "O", "None", 1007),
    ("access_rule_data", "excluded", "Object", None, "O", "O", "O", "O", "None", 1024),
    ("access_rule_data", "geo_coordinates", "Object", None, "O", "O", "O", "O", "None", 1029),
    ("access_rule_data", "history", "Object", None, "O", "O", "O", "O", "None", 1034),
    ("access_rule_data", "notes", "Object", None, "O", "O", "O", "O", "None", 1039),
    ("access_rule_data", "last_activity", "Object", None, "O", "O", "O", "O", "None", 1044),
    ("access_rule_data", "authentication", "Object", None, "O", "O", "O", "O", "None", 1049),
    ("access_rule_data", "validate", "String", "X01", "O", "O", "O", "O", "None", 1054),
    ("action", "action", "String", "X07", "O", "O", "O", "O", "None", 842),
    ("rule", "access_type", "String", "X01", "O", "O", "O", "O", "None", 854),
    ("rule", "expression_operator", "String", "X01", "O", "O", "O", "O", "None", 859),
    ("rule", "keys", "Object", None, "O", "O", "O", "O", "None", 881),
    ("key", "name", "String", "X09", "O", "O", "O", "O", "None", 865),
    ("key", "expression_operator", "String", None, "O", "O", "O", "O", "None", 870),
    ("key", "value", "String", None, "O", "O", "O", "O", "None", 875),
    ("frequency", "calc_method", "String", "X07", "O", "O", "O", "O", "None", 893),
    ("frequency", "frequency_time", "Object", None, "O", "O", "O", "O", "None", 920),
    ("frequency_time", "name", "String", "X09", "O", "O", "O", "O", "None", 899),
    ("frequency_time", "value", "Decimal", "X16", "O", "O", "O", "O", "None", 904),
    ("frequency_time", "unique_key", "String", "X09", "O", "O", "O", "O", "None", 909),
    ("frequency_time", "rule_key_name", "String", "X09", "O", "O", "O", "O", "None", 914),
    ("schedule", "expression_operator", "String", "X01", "O", "O", "O", "O", "None", 932),
    ("schedule", "start_date", "Date", "X12", "O", "O", "O", "O", "None", 937),
    ("schedule", "expiry_date", "Date", "X12", "O", "O", "O", "O", "None", 942),
    ("schedule", "time", "Object", None, "O", "O", "O", "O", "None", 959),
    ("schedule", "days_of_week", "String", "X23", "O", "O", "O", "O", "None", 964),
    ("schedule", "on_months", "String", "X24", "O", "O", "O", "O", "None", 969),
    ("schedule", "days_of_month", "String", "X25", "O", "O", "O", "O", "None", 974),
    ("time", "start_time", "String", "X26", "O", "O", "O", "O", "None", 948),
    ("time", "end_time", "String", "X26", "O", "O", "O", "O", "None", 953),
    ("notification#access_rule", "enabled", "String", "X01", "O", "O", "O", "O", "None", 986),
    ("notification#access_rule", "recipient_entity", "String", "X07", "O", "O", "O", "O", "None", 991),
    ("notification#access_rule", "delivery_method", "String", "X07", "O", "O", "O", "O", "None", 996),
    ("excluded", "entity", "Integer", "X03", "O", "O", "O", "O", "None", 1013),
    ("excluded", "entity_id", "Integer", "X02", "O", "O", "O", "O", "None", 1018),
    ("preferences", "preferred_language_code", "String", "X27", "R", "O", "NA", "NA", "None", 1060),
    ("preferences", "enable_facebook_account", "String", "X01", "O", "O", "NA", "NA", "None", 1065),
    ("preferences", "enable_promotion_notification", "String", "X01", "O", "O", "NA", "NA", "None", 1070),
    ("preferences", "enable_email_notification", "String", "X01", "O", "O", "NA", "NA", "None", 1075),
    ("preferences", "enable_sms_notification", "String", "X01", "O", "O", "NA", "NA", "None", 1080),
    ("preferences", "enable_push_notification", "String", "X01", "O", "O", "NA", "NA", "None", 1085),
    ("preferences", "time_zone", "String", "X05", "R", "O", "O", "O", "None", 1090),
    ("preferences", "enable_device_authentication", "String", "X01", "O", "O", "NA", "NA", "None", 1095),
    ("preferences", "is_agent", "String", "X01", "O", "O", "NA", "NA", "None", 1100),
    ("preferences", "is_reseller", "String", "X01", "O", "O", "NA", "NA", "None", 1105),
    ("preferences", "is_seller", "String", "X01", "O", "O", "NA", "NA", "None", 1110),
    ("identification", "id", "Integer", "X02", "NA", "R", "NA", "R", "None", 1116),
    ("identification", "type", "Integer", "X07", "R", "O", "NA", "NA", "None", 1121),
    ("identification", "country_of_issue", "String", "X16", "R", "O", "NA", "NA", "None", 1126),
    ("identification", "country_of_residence", "String", "X16", "R", "O", "NA", "NA", "None", 1131),
    ("identification", "number", "String", "X14", "R", "O", "NA", "NA", "Masked", 1136),
    ("identification", "issue_date", "Date", "X12", "R", "O", "NA", "NA", "None", 1141),
    ("identification", "expiry_date", "Date", "X12", "R", "O", "NA", "NA", "None", 1146),
    ("identification", "status", "Integer", "X03", "C", "C", "NA", "NA", "None", 1151),
    ("identification", "original_source_id", "String", "X06", "NA", "NA", "NA", "NA", "None", 1156),
    ("identification", "server_date", "Date", "X04", "NA", "NA", "NA", "NA", "None", 1161),
    ("identification", "date_utc", "Date", "X04", "NA", "NA", "NA", "NA", "None", 1166),
    ("identification", "update_date_utc", "Date", "X04", "NA", "NA", "NA", "NA", "None", 1171),
    ("identification", "custom_field", "Object", None, "O", "NA", "NA", "NA", "None", 1176),
    ("identification", "verification_status", "Integer", "X07", "OP", "O", "NA", "NA", "None", 1181),
    ("bank_account", "id", "Integer", "X02", "NA", "R", "NA", "R", "None", 1187),
    ("bank_account", "name", "String", "X09", "R", "O", "NA", "NA", "None", 1192),
    ("bank_account", "holder_name", "String", "X09", "O", "O", "NA", "NA", "None", 1197),
    ("bank_account", "country_code", "String", "X16", "R", "O", "NA", "NA", "None", 1202),
    ("bank_account", "currency_code", "String", "X28", "R", "O", "NA", "NA", "None", 1207),
    ("bank_account", "type", "Integer", "X07", "O", "O", "NA", "NA", "None", 1212),
    ("bank_account", "number", "String", "X29", "R", "O", "NA", "NA", "Masked", 1217),
    ("bank_account", "swift_code", "String", "X30", "C", "O", "NA", "NA", "None", 1222),
    ("bank_account", "iban", "String", "X31", "C", "O", "NA", "NA", "None", 1227),
    ("bank_account", "transit_number", "String", "X32", "C", "O", "NA", "NA", "None", 1232),
    ("bank_account", "institution_number", "String", "X32", "C", "O", "NA", "NA", "None", 1237),
    ("bank_account", "routing_number", "String", "X33", "C", "O", "NA", "NA", "None", 1242),
    ("bank_account", "status", "Integer", "X03", "C", "C", "NA", "NA", "None", 1247),
    ("bank_account", "is_primary", "Integer", "X01", "O", "O", "NA", "NA", "None", 1252),
    ("bank_account", "server_date", "Date", "X12", "NA", "NA", "NA", "NA", "None", 1257),
    ("bank_account", "date_utc", "Date", "X12", "NA", "NA", "NA", "NA", "None", 1262),
    ("bank_account", "update_date_utc", "Date", "X12", "NA", "NA", "NA", "NA", "None", 1267),
    ("bank_account", "custom_field", "Object", None, "O", "NA", "NA", "NA", "None", 1272),
    ("bank_account", "phone_id", "Integer", "X02", "O", "O", "NA", "NA", "None", 1277),
    ("bank_account", "address_id", "Integer", "X02", "O", "O", "NA", "NA", "None", 1282),
    ("bank_account", "original_source_id", "String", "X06", "NA", "NA", "NA", "NA", "None", 1287),
    ("bank_account", "verification_status", "Integer", "X07", "OP", "O", "NA", "NA", "None", 1292),
    ("bank_account", "beneficiary_type", "Integer", "X07", "R", "O", "NA", "NA", "None", 1297),
    ("bank_account", "extended_data", "Object", None, "NA", "NA", "NA", "NA", "None", 1302),
    ("bank_account", "linked_account_id", "Integer", "X02", "O", "O", "O", "O", "None", 1307),
    ("bank_account", "bank_address", "String", "X02", "O", "O", "O", "O", "None", 1312),
    ("bank_account", "city_town", "String", "X15", "O", "O", "O", "O", "None", 1317),
    ("bank_account", "postal_zip_code", "String", "X14", "O", "O", "O", "O", "None", 1322),
    ("credit_card", "id", "Integer", "X02", "NA", "R", "NA", "R", "None", 1328),
    ("credit_card", "first_name", "String", "X09", "R", "O", "NA", "NA", "None", 1333),
    ("credit_card", "last_name", "String", "X09", "R", "O", "NA", "NA", "None", 1338),
    ("credit_card", "type", "Integer", "X03", "R", "O", "NA", "NA", "None", 1343),
    ("credit_card", "number", "String", "X34", "R", "O", "NA", "NA", "Masked", 1348),
    ("credit_card", "currency_code", "String", "X28", "R", "O", "NA", "NA", "None", 1353),
    ("credit_card", "expiry_year", "String", "X35", "R", "O", "NA", "NA", "None", 1358),
    ("credit_card", "expiry_month", "String", "X36", "R", "O", "NA", "NA", "None", 1363),
    ("credit_card", "status", "Integer", "X03", "C", "C", "NA", "NA", "None", 1368),
    ("credit_card", "is_primary", "Integer", "X01", "O", "O", "NA", "NA", "None", 1373),
    ("credit_card", "security_code", "String", "X16", "R", "O", "NA", "NA", "Wiped", 1378),
    ("credit_card", "address_id", "Integer", "X02", "O", "O", "NA", "NA", "None", 1383),
    ("credit_card", "original_source_id", "String", "X06", "NA", "NA", "NA", "NA", "None", 1388),
    ("credit_card", "server_date", "Date", "X12", "NA", "NA", "NA", "NA", "None", 1393),
    ("credit_card", "date_utc", "Date", "X12", "NA", "NA", "NA", "NA", "None", 1398),
    ("credit_card", "update_date_utc", "Date", "X12", "NA", "NA", "NA", "NA", "None", 1403),
    ("credit_card", "custom_field", "Object", None, "O", "NA", "NA", "NA", "None", 1408),
    ("credit_card", "verification_status", "Integer", "X07", "OP", "O", "NA", "NA", "None", 1413),
    ("notification", "id", "Integer", "X02", "NA", "R", "O", "R", "None", 1419),
    ("notification", "type", "String", "X16", "O", "O", "NA", "NA", "None", 1424),
    ("notification", "subject", "String", "X15", "O", "O", "NA", "NA", "None", 1429),
    ("notification", "message", "String", "X37", "O", "O", "NA", "NA", "None", 1434),
    ("notification", "status", "String", "X01", "O", "O", "NA", "NA", "None", 1439),
    ("notification", "expiry_date", "Date", "X12", "O", "O", "NA", "NA", "None", 1444),
    ("currency", "id", "Integer", "X02", "NA", "R", "O", "R", "None", 1466),
    ("currency", "code", "String", "X28", "R", "R", "NA", "NA", "None", 1471),
    ("currency", "number", "String", "X16", "NA", "O", "NA", "NA", "None", 1476),
    ("terms_conditions", "id", "Integer", "X02", "O", "R", "O", "R", "None", 1482),
    ("terms_conditions", "acceptance", "String", "X01", "R", "R", "NA", "NA", "None", 1487),
    ("terms_conditions", "title", "String", "X21", "O", "O", "NA", "NA", "None", 1492),
    ("terms_conditions", "version_name", "String", "X09", "O", "O", "NA", "NA", "None", 1497),
    ("terms_conditions", "server_date", "Date", "X04", "NA", "O", "NA", "NA", "None", 1502),
    ("device_info", "id", "String", "X02", "NA", "R", "NA", "R", "None", 1508),
    ("device_info", "os", "String", "X09", "O", "O", "NA", "NA", "None", 1513),
    ("device_info", "brand", "String", "X09", "O", "O", "NA", "NA", "None", 1518),
    ("device_info", "installation_id", "String", "X02", "O", "O", "NA", "NA", "None", 1523),
    ("commerce_info", "customer_id", "Integer", "X02", "O", "O", "NA", "NA", "None", 1529),
    ("commerce_info", "role_id", "Integer", "X02", "O", "O", "NA", "NA", "None", 1534),
    ("geo_coordinates", "latitude", "String", "X38", "R", "R", "NA", "NA", "None", 1540),
    ("geo_coordinates", "longitude", "String", "X38", "R", "R", "NA", "NA", "None", 1545),
    ("geo_coordinates", "position_description", "String", "X37", "O", "O", "NA", "NA", "None", 1550),
    ("history", "id", "Integer", "X02", "NA", "NA", "NA", "NA", "None", 1556),
    ("history", "activity_type", "Integer", "X03", "NA", "NA", "NA", "NA", "None", 1561),
    ("history", "entity", "Integer", "X03", "NA", "NA", "NA", "NA", "None", 1566),
    ("history", "entity_id", "Integer", "X02", "NA", "NA", "NA", "NA", "None", 1571),
    ("history", "by_entity", "Integer", "X03", "NA", "NA", "NA", "NA", "None", 1576),
    ("history", "by_entity_id", "Integer", "X02", "NA", "NA", "NA", "NA", "None", 1581),
    ("history", "json", "String", "X39", "NA", "NA", "NA", "NA", "None", 1586),
    ("history", "notes", "String", "X40", "NA", "NA", "NA", "NA", "None", 1591),
    ("history", "admin_notes", "String", "X40", "NA", "NA", "NA", "NA", "None", 1596),
    ("history", "original_source_id", "String", "X06", "NA", "NA", "NA", "NA", "None", 1601),
    ("history", "server_date", "Date", "X12", "NA", "NA", "NA", "NA", "None", 1606),
    ("history", "date_utc", "Date", "X12", "NA", "NA", "NA", "NA", "None", 1611),
    ("history", "entity_data", "Integer", "X16", "NA", "O", "NA", "NA", "None", 1616),
    ("history", "Old_Data", "String", None, "O", "O", "O", "O", "None", 1621),
    ("history", "New_Data", "String", None, "O", "O", "O", "O", "None", 1626),
    ("external_authentication", "id", "Integer", "X02", "NA", "R", "NA", "R", "None", 1819),
    ("external_authentication", "login_id", "String", "X41", "R", "NA", "NA", "NA", "None", 1824),
    ("external_authentication", "token", "String", None, "O", "O", "NA", "NA", "None", 1829),
    ("external_authentication", "type", "Integer", "X07", "R", "NA", "NA", "NA", "None", 1834),
    ("external_authentication", "status", "Integer", "X03", "C", "C", "NA", "NA", "None", 1839),
    ("external_authentication", "server_date", "Date", "X12", "NA", "NA", "NA", "NA", "None", 1844),
    ("external_authentication", "date_utc", "Date", "X12", "NA", "NA", "NA", "NA", "None", 1849),
    ("external_authentication", "update_date_utc", "Date", "X12", "NA", "NA", "NA", "NA", "None", 1854),
    ("external_authentication", "custom_field", "Object", None, "O", "NA", "NA", "NA", "None", 1859),
    ("external_authentication", "original_source_id", "String", "X06", "NA", "NA", "NA", "NA", "None", 1864),
    ("external_authentication", "verification_status", "Integer", "X07", "OP", "O", "NA", "NA", "None", 1869),
    ("notes", "user_notes", "String", "X08", "O", "O", "O", "O", "None", 1875),
    ("notes", "admin_notes", "String", "X08", "O", "O", "O", "O", "None", 1880),
    ("last_activity", "entity", "Integer", "X03", "NA", "O", "NA", "NA", "None", 1886),
    ("last_activity", "entity_id", "Integer", "X02", "NA", "O", "NA", "NA", "None", 1891),
    ("last_activity", "entity_data", "Integer", "X16", "NA", "O", "NA", "NA", "None", 1896),
    ("last_activity", "activity_type", "Integer", "X03", "NA", "O", "NA", "NA", "None", 1901),
    ("last_activity", "notes", "Object", None, "NA", "O", "NA", "NA", "None", 1906),
    ("last_activity", "update_date_utc", "Date", "X12", "NA", "O", "NA", "NA", "None", 1911),
    ("validation_data", "info", "Object", None, "O", "O", "O", "O", "None", 1917),
    ("validation_data", "geo_coordinates", "Object", None, "O", "O", "O", "O", "None", 1922),
    ("validation_data", "notes", "Object", None, "O", "O", "O", "O", "None", 1927),
    ("validation_data", "last_activity", "Object", None, "O", "O", "O", "O", "None", 1932),
    ("validation_data", "authentication", "Object", None, "O", "O", "O", "O", "None", 1937),
    ("validation_data", "validate", "String", "X01", "O", "O", "O", "O", "None", 1942),
    ("relationship", "id", "Integer", "X02", "O", "O", "O", "O", "None", 1948),
    ("relationship", "entity", "Integer", "X03", "O", "O", "O", "O", "None", 1953),
    ("relationship", "entity_id", "Integer", "X02", "O", "O", "O", "O", "None", 1958),
    ("relationship", "on_entity", "Integer", "X03", "O", "O", "O", "O", "None", 1963),
    ("relationship", "on_entity_id", "Integer", "X02", "O", "O", "O", "O", "None", 1968),
    ("relationship", "type", "Integer", "X07", "O", "O", "O", "O", "None", 1973),
    ("relationship", "status", "Integer", "X03", "O", "O", "O", "O", "None", 1978),
    ("relationship", "verification_status", "Integer", "X07", "O", "O", "O", "O", "None", 1983),
    ("relationship", "original_source_id", "String", "X06", "O", "O", "O", "O", "None", 1988),
    ("relationship", "server_date", "Date", "X04", "O", "O", "O", "O", "None", 1993),
    ("relationship", "date_utc", "Date", "X04", "O", "O", "O", "O", "None", 1998),
    ("relationship", "update_date_utc", "Date", "X04", "O", "O", "O", "O", "None", 2003),
    ("relationship", "custom_field", "Object", None, "O", "O", "O", "O", "None", 2008),
    ("authentication", "type", "Integer", "X03", "O", "O", "O", "O", "None", 2014),
    ("authentication", "code", "String", "X42", "O", "O", "O", "O", "Encrypted", 2019),
    ("document_data", "info", "Object", None, "R", "NA", "NA", "NA", "None", 2045),
    ("document_data", "attachment", "Object", None, "R", "NA", "NA", "NA", "None", 2050),
    ("document_data", "custom_field", "Object", None, "O", "NA", "NA", "NA", "None", 2055),
    ("document_data", "geo_coordinates", "Object", None, "O", "NA", "NA", "NA", "None", 2060),
    ("document_data", "validate", "String", "X01", "O", "NA", "NA", "NA", "None", 2065),
    ("document_data", "notes", "Object", None, "O", "O", "O", "O", "None", 2070),
    ("document_data", "last_activity", "Object", None, "NA", "O", "NA", "NA", "None", 2075),
    ("document_data", "authentication", "Object", None, "O", "O", "O", "O", "None", 2080),
    ("attachment", "file_name", "String", "X09", "R", "NA", "NA", "NA", "None", 2086),
    ("attachment", "file_extension", "String", "X43", "R", "NA", "NA", "NA", "None", 2091),
    ("attachment", "content", "String", "X44", "R", "NA", "NA", "NA", "Wiped", 2096),
    ("attachment", "file_id", "Integer", "X02", "NA", "NA", "NA", "NA", "None", 2101),
    ("attachment", "file_url", "Object", "X13", "NA", "NA", "NA", "NA", "None", 2106),
    ("document_info", "program_id", "Integer", "X02", "O", "NA", "NA", "NA", "None", 2181),
    ("document_info", "user_id", "Integer", "X02", "O", "NA", "NA", "NA", "None", 2186),
    ("document_info", "entity", "Integer", "X03", "C", "NA", "NA", "NA", "None", 2191),
    ("document_info", "document_id", "Integer", "X02", "NA", "NA", "NA", "NA", "None", 2196),
    ("document_info", "first_name", "String", "X09", "O", "NA", "NA", "NA", "None", 2201),
    ("document_info", "last_name", "String", "X09", "O", "NA", "NA", "NA", "None", 2206),
    ("document_info", "email_address", "String", "X17", "O", "NA", "NA", "NA", "None", 2211),
    ("document_info", "type", "Integer", "X16", "R", "NA", "NA", "NA", "None", 2216),
    ("document_info", "language", "String", "X27", "O", "NA", "NA", "NA", "None", 2221),
    ("document_info", "status", "Integer", "X03", "OP", "NA", "NA", "NA", "None", 2226),
    ("document_info", "subject", "String", "X15", "R", "NA", "NA", "NA", "None", 2231),
    ("document_info", "notes", "String", "X10", "O", "NA", "NA", "NA", "None", 2236),
    ("document_info", "number_of_attachments", "Integer", "X16", "NA", "NA", "NA", "NA", "None", 2241),
    ("document_info", "support_notes", "String", "X08", "OP", "NA", "NA", "NA", "None", 2246),
    ("document_info", "update_datetime_utc", "Date", "X12", "NA", "NA", "NA", "NA", "None", 2251),
    ("document_info", "source_id", "String", "X06", "NA", "NA", "NA", "NA", "None", 2256),
    ("document_info", "server_date", "Date", "X12", "NA", "NA", "NA", "NA", "None", 2261),
    ("document_info", "date_utc", "Date", "X02", "NA", "NA", "NA", "NA", "None", 2266),
    ("document_info", "source_time_zone", "String", "X05", "NA", "NA", "NA", "NA", "None", 2271),
    ("document_info", "entity_id", "Integer", "X02", "C", "NA", "NA", "NA", "None", 2276),
    ("reset_user_security", "info", "Object", None, "R", "NA", "NA", "NA", "None", 2293),
    ("reset_user_security", "reset_security_data", "Object", None, "R", "NA", "NA", "NA", "None", 2298),
    ("reset_user_security", "geo_coordinates", "Object", None, "O", "O", "NA", "NA", "None", 2303),
    ("reset_user_security", "validate", "String", "X01", "O", "NA", "NA", "NA", "None", 2308),
    ("reset_user_security", "notes", "Object", None, "O", "O", "O", "O", "None", 2313),
    ("reset_user_security", "last_activity", "Object", None, "NA", "O", "NA", "NA", "None", 2318),
    ("reset_user_security", "authentication", "Object", None, "O", "O", "O", "O", "None", 2323),
    ("reset_user_security_info", "id", "Integer", "X02", "O", "O", "NA", "NA", "None", 2329),
    ("reset_user_security_info", "program_id", "Integer", "X02", "O", "O", "NA", "NA", "None", 2334),
    ("reset_user_security_info", "user_id", "Integer", "X02", "O", "O", "NA", "NA", "None", 2339),
    ("reset_user_security_info", "type", "Integer", "X07", "O", "O", "NA", "NA", "None", 2344),
    ("reset_user_security_info", "source_id", "String", "X06", "O", "O", "NA", "NA", "None", 2349),
    ("reset_user_security_info", "server_date", "Date", "X12", "NA", "O", "NA", "NA", "None", 2354),
    ("reset_user_security_info", "date_utc", "Date", "X12", "NA", "O", "NA", "NA", "None", 2359),
    ("reset_user_security_info", "source_time_zone", "String", "X05", "O", "O", "NA", "NA", "None", 2364),
    ("reset_security_data", "reset_password", "Object", None, "O", "O", "NA", "NA", "None", 2370),
    ("reset_security_data", "reset_security_code", "Object", None, "O", "O", "NA", "NA", "None", 2375),
    ("reset_security_data", "forget_password", "Object", None, "O", "O", "NA", "NA", "None", 2380),
    ("reset_security_data", "reset_security_questions", "Object", None, "O", "O", "NA", "NA", "None", 2385),
    ("reset_password", "current_password", "String", "X19", "R", "R", "NA", "NA", "Wiped", 2391),
    ("reset_password", "new_password", "String", "X19", "R", "R", "NA", "NA", "Wiped", 2396),
    ("reset_security_code", "current_password", "String", "X19", "R", "R", "NA", "NA", "Wiped", 2402),
    ("reset_security_code", "new_security_code", "String", "X20", "R", "R", "NA", "NA", "Wiped", 2407),
    ("forget_password", "verified_email", "String", "X17", "C", "C", "NA", "NA", "None", 2413),
    ("forget_password", "verified_mobile", "String", "X18", "C", "C", "NA", "NA", "None", 2418),
    ("forget_password", "account_number", "String", "X45", "C", "C", "NA", "NA", "Masked", 2423),
    ("reset_security_questions", "current_password", "String", "X19", "R", "NA", "NA", "NA", "Wiped", 2429),
    ("reset_security_questions", "secret_question_1", "String", "X03", "R", "NA", "NA", "NA", "Wiped", 2434),
    ("reset_security_questions", "secret_question_2", "String", "X03", "R", "NA", "NA", "NA", "Wiped", 2439),
    ("reset_security_questions", "secret_answer_1", "String", "X21", "R", "NA", "NA", "NA", "Wiped", 2444),
    ("reset_security_questions", "secret_answer_2", "String", "X21", "R", "NA", "NA", "NA", "Wiped", 2449),
    ("validate_user_security", "info", "Object", None, "O", "O", "NA", "NA", "None", 2455),
    ("validate_user_security", "validate_data", "Object", None, "O", "O", "NA", "NA", "None", 2460),
    ("validate_user_security", "geo_coordinates", "Object", None, "O", "O", "NA", "NA", "None", 2465),
    ("validate_user_security", "validate", "String", "X01", "O", "O", "NA", "NA", "None", 2470),
    ("validate_user_security", "notes", "Object", None, "O", "O", "O", "O", "None", 2475),
    ("validate_user_security", "last_activity", "Object", None, "NA", "O", "NA", "NA", "None", 2480),
    ("validate_user_security", "authentication", "Object", None, "O", "O", "O", "O", "None", 2485),
    ("validate_user_security_info", "id", "Integer", "X02", "O", "O", "NA", "NA", "None", 2491),
    ("validate_user_security_info", "program_id", "Integer", "X02", "O", "O", "NA", "NA", "None", 2496),
    ("validate_user_security_info", "user_id", "Integer", "X02", "O", "O", "NA", "NA", "None", 2501),
    ("validate_user_security_info", "type", "Integer", "X03", "R", "O", "NA", "NA", "None", 2506),
    ("validate_user_security_info", "source_id", "String", "X06", "O", "O", "NA", "NA", "None", 2511),
    ("validate_user_security_info", "server_date", "Date", "X12", "NA", "O", "NA", "NA", "None", 2516),
    ("validate_user_security_info", "date_utc", "Date", "X12", "NA", "O", "NA", "NA", "None", 2521),
    ("validate_user_security_info", "source_time_zone", "String", "X05", "O", "O", "NA", "NA", "None", 2526),
    ("validate_security_data", "password", "String", "X19", "O", "O", "NA", "NA", "Wiped", 2532),
    ("validate_security_data", "security_code", "String", "X20", "O", "O", "NA", "NA", "Wiped", 2537),
    ("validate_security_data", "email", "String", "X17", "O", "O", "NA", "NA", "None", 2542),
    ("validate_security_data", "phone", "String", "X18", "O", "O", "NA", "NA", "None", 2547),
    ("validate_security_data", "secret_answer_1", "String", "X21", "O", "O", "NA", "NA", "Wiped", 2552),
    ("validate_security_data", "secret_answer_2", "String", "X21", "O", "O", "NA", "NA", "Wiped", 2557),
    ("validate_security_data", "birth_date", "Date", "X12", "O", "O", "NA", "NA", "None", 2562),
    ("user_inquiry", "start_index", "Integer", "X02", "NA", "NA", "O", "NA", "None", 2574),
    ("user_inquiry", "page_size", "Integer", "X02", "NA", "NA", "O", "NA", "None", 2579),
    ("user_inquiry", "sort_by", "String", "X46", "NA", "NA", "O", "NA", "None", 2584),
    ("user_inquiry", "sort_flag", "String", "X47", "NA", "NA", "O", "NA", "None", 2589),
    ("user_inquiry", "program_id", "String", "X02", "NA", "NA", "O", "NA", "None", 2594),
    ("user_inquiry", "user_id", "Integer", "X02", "NA", "NA", "O", "NA", "None", 2599),
    ("user_inquiry", "search_term", "String", "X09", "NA", "NA", "O", "NA", "None", 2604),
    ("user_inquiry", "first_name", "String", "X09", "NA", "NA", "O", "NA", "None", 2609),
    ("user_inquiry", "last_name", "String", "X09", "NA", "NA", "O", "NA", "None", 2614),
    ("user_inquiry", "email", "String", "X17", "NA", "NA", "O", "NA", "None", 2619),
    ("user_inquiry", "status", "String", "X01", "NA", "NA", "O", "NA", "None", 2624),
    ("user_inquiry", "currency", "String", "X28", "NA", "NA", "O", "NA", "None", 2629),
    ("user_inquiry", "from_date", "String", "X48", "NA", "NA", "R", "NA", "None", 2634),
    ("user_inquiry", "to_date", "String", "X48", "NA", "NA", "R", "NA", "None", 2639),
    ("user_inquiry", "archive", "String", "X02", "NA", "NA", "O", "NA", "None", 2644),
    ("user_inquiry", "country_code", "Integer", "X01", "NA", "NA", "O", "NA", "None", 2649),
    ("user_inquiry", "original_source_id", "String", "X06", "NA", "NA", "O", "NA", "None", 2654),
    ("user_inquiry", "entity", "Integer", "X02", "NA", "NA", "O", "NA", "None", 2659),
    ("document_inquiry", "start_index", "Integer", "X02", "NA", "O", "NA", "NA", "None", 2671),
    ("document_inquiry", "page_size", "Integer", "X02", "NA", "O", "NA", "NA", "None", 2676),
    ("document_inquiry", "sort_by", "String", "X46", "NA", "O", "NA", "NA", "None", 2681),
    ("document_inquiry", "sort_flag", "String", "X47", "NA", "O", "NA", "NA", "None", 2686),
    ("document_inquiry", "program_id", "Integer", "X02", "NA", "O", "NA", "NA", "None", 2691),
    ("document_inquiry", "user_id", "Integer", "X02", "NA", "O", "NA", "NA", "None", 2696),
    ("document_inquiry", "terminal_id", "Integer", "X02", "NA", "O", "NA", "NA", "None", 2701),
    ("document_inquiry", "terminal_user_id", "Integer", "X02", "NA", "O", "NA", "NA", "None", 2706),
    ("document_inquiry", "search_term", "String", "X09", "NA", "O", "NA", "NA", "None", 2711),
    ("document_inquiry", "account_id", "Integer", "X02", "NA", "O", "NA", "NA", "None", 2716),
    ("document_inquiry", "status", "Integer", "X02", "NA", "O", "NA", "NA", "None", 2721),
    ("document_inquiry", "user_name", "String", "X17", "NA", "O", "NA", "NA", "None", 2726),
    ("document_inquiry", "from_date", "String", "X48", "NA", "O", "NA", "NA", "None", 2731),
    ("document_inquiry", "to_date", "String", "X48", "NA", "O", "NA", "NA", "None", 2736),
    ("document_inquiry", "archive", "String", "X02", "NA", "O", "NA", "NA", "None", 2741),
    ("document_inquiry", "transaction_id", "Integer", "X02", "NA", "O", "NA", "NA", "None", 2746),
    ("document_inquiry", "order_id", "Integer", "X02", "NA", "O", "NA", "NA", "None", 2751),
    ("document_inquiry", "original_source_id", "String", "X06", "NA", "O", "NA", "NA", "None", 2756),
    ("document_inquiry", "document_id", "Integer", "X02", "NA", "O", "NA", "NA", "None", 2761),
)
# END GENERATED

SEED_TABLES = frozenset(row[0] for row in SEED_FIELDS)


def _rules() -> dict[str, dict[str, FieldRule]]:
    rules: dict[str, dict[str, FieldRule]] = {}
    for row in (*SEED_FIELDS, *EXTRA_FIELDS):
        rules.setdefault(row[0], {})[row[1]] = _rule(row)
    return rules


RULES: dict[str, dict[str, FieldRule]] = _rules()
