"""Seed 004 (the user namespace API) as test data: its 83 operations, their sample JSON blocks
(copied to tests/fixtures/seed004/) and a key-for-key comparison of our answers against them.

The tests never read the seed. Each sample is copied verbatim, as the line range that
shared/spec/seed-004-rules.md 1.1 cites (its "Request Parameters:" / "Response Parameters:"
label line through the block's closing brace), to tests/fixtures/seed004/La-b.txt by
`python tests/fixtures/copy_seeds.py ../shared/seeds 004`, which also checks the copies
(tests/fixtures/README.md). The seed has 143 such blocks: 83 responses and 60 requests (GETs
and Delete User send none).

    from tests.users.seed004 import ENVELOPE_KEYS, assert_same_keys, request_of, response_of

    body = request_of("Create User Email")             # a fresh copy: adapt ids freely
    assert_same_keys(answer, response_of("Create User Email"))
    assert list(answer) == ENVELOPE_KEYS["user"]
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Collection
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).parents[1] / "fixtures" / "seed004"
SEED_004 = "004_d1684679bb222ff6.txt"

# The seed's operation summary (L9-91) with each section's sample blocks (seed-004-rules.md
# 1.1); names and paths exactly as shared/spec/operations.tsv has them. Columns: method, path,
# request lines ("-": no request sample), response lines, operation name.
_TABLE = """\
POST   /user                             2779-2967   2969-3439   Create User
POST   /user/email/{user_id}             3455-3477   3479-3621   Create User Email
POST   /user/phone/{user_id}             3637-3659   3661-3801   Create User Phone
POST   /user/address/{user_id}           3817-3851   3853-4003   Create User Address
POST   /user/document/{user_id}          4019-4095   4097-4241   Create User Document
POST   /user/document/{user_id}          4257-4324   4326-4472   Create Proof Of Address (POA) Document
POST   /user/credit_card/{user_id}       4488-4522   4524-4676   Create Credit Card
POST   /user/identification/{user_id}    4692-4718   4720-4924   Create User Identification
POST   /user/identification/{user_id}    4940-5025   5027-5375   Add Identification With Document (Selfie)
POST   /user/identification/{user_id}    5391-5467   5469-5801   Add Identification With Document
POST   /user/bank_account/{user_id}      5817-5859   5861-6043   Create Bank Account
POST   /user/currency/{user_id}          6059-6073   6075-6197   Create User Currency
POST   /user/custom_field/{user_id}      6213-6225   6227-6341   Create User Custom Field
POST   /user/relationship/{user_id}      6357-6383   6385-9229   Create User Relationship
POST   /user/security/rule               9245-9271   9273-9429   Add Security Access
POST   /user/security/confirm/{user_id}  9445-9471   9473-9577   Confirm User Email Code
POST   /user/security/confirm/{user_id}  9593-9619   9621-9727   Confirm User SMS Code
POST   /user/security/reset/{user_id}    9743-9765   9767-9837   User Security Reset-Reset Security Code
POST   /user/security/reset/{user_id}    9853-9881   9883-9959   User Security Reset-Reset Security Questions
POST   /user/security/reset/{user_id}    9975-9997   9999-10079  User Security Reset-Reset Password
POST   /user/security/reset/{user_id}    10095-10129 10131-10211 User Security Reset-Reset Password (With 2FA)
POST   /user/security/reset/{user_id}    10227-10247 10249-10331 User Security Reset-Forget Password
POST   /user/security/validate/{user_id} 10347-10363 10365-10435 Validate User Phone
POST   /user/security/validate/{user_id} 10451-10467 10469-10539 Validate User Security Code
POST   /user/security/validate/{user_id} 10555-10571 10573-10643 Validate User Password
POST   /user/security/validate/{user_id} 10659-10675 10677-10747 Validate User Email
POST   /user/security/validate/{user_id} 10763-10779 10781-10851 Validate User Date Of Birth
POST   /user/security/validate/{user_id} 10867-10885 10887-10957 Validate User Security Answers
POST   /user/security/verify/{user_id}   10973-10993 10995-11095 Verify User Email Link
POST   /user/security/verify/{user_id}   11111-11131 11133-11233 Verify User Email Code
POST   /user/security/verify/{user_id}   11249-11269 11271-11373 Verify User Phone Code
POST   /user/external_auth/{user_id}     11389-11409 11411-11549 Add User External Auth
POST   /user/auth/enroll/{user_id}       11565-11579 11581-11717 Enroll User In 2FA
POST   /user/auth/activate/{user_id}     11733-11749 11751-11887 Activate User 2FA
PUT    /user/{user_id}                   11903-12011 12013-12285 Update User
PUT    /user/email/{user_id}             12301-12319 12321-12459 Update User Email
PUT    /user/phone/{user_id}             12475-12491 12493-12633 Update User Phone
PUT    /user/address/{user_id}           12649-12677 12679-12821 Update User Address
PUT    /user/address/{user_id}           12837-12873 12875-13025 Update User Addresses (new approach)
PUT    /user/personal_info/{user_id}     13041-13059 13061-13191 Update User Personal Info
PUT    /user/credit_card/{user_id}       13207-13227 13229-13381 Update User CreditCard
PUT    /user/identification/{user_id}    13397-13423 13425-13629 Update User Identification
PUT    /user/identification/{user_id}    13645-13732 13734-14082 Update Identification With Document (Selfie)
PUT    /user/identification/{user_id}    14098-14175 14177-14509 Update Identification With Document
PUT    /user/bank_account/{user_id}      14525-14543 14545-14727 Update User Bank Account
PUT    /user/relationship/{user_id}      14743-14763 14765-14921 Update User Relationship
PUT    /user/preferences/{user_id}       14937-14961 14963-15097 Update User Preferences
PUT    /user/security/{user_id}          15113-15133 15135-15261 Update User Security
PUT    /user/external_auth/{user_id}     15277-15295 15297-15435 Update User External Auth
PUT    /user/currency                    15451-15467 15469-15591 Update Currency
PUT    /user/security/rule               15607-15633 15635-15791 Update Security Access
GET    /user/{user_id}                   -           15808-16452 Get User
GET    /user/email/{user_id}             -           16469-16655 Get User Email(s)
GET    /user/phone/{user_id}             -           16672-16862 Get User Phone(s)
GET    /user/address/{user_id}           -           16879-17123 Get User Address
GET    /user/personal_info/{user_id}     -           17140-17290 Get User Personal Info
GET    /user/account/{user_id}           -           17307-17543 Get User Account(s)
GET    /user/document/{user_id}          -           17560-17822 Get User Documents
GET    /user/credit_card/{user_id}       -           17839-18011 Get User Credit Card(s)
GET    /user/identification/{user_id}    -           18028-18234 Get User Identification(s)
GET    /user/bank_account/{user_id}      -           18251-18457 Get User Bank Account(s)
GET    /user/currency/{user_id}          -           18474-18628 Get User Currency
GET    /user/relationship/{user_id}      -           18645-18821 Get User Relationship
GET    /user/history/{user_id}           -           18838-19308 Get User History
GET    /user/history/latest/{user_id}    -           19325-19471 Get User History Latest
GET    /user/inquiry                     -           19492-20376 Inquiry User(s)
GET    /user/preferences/{user_id}       -           20393-20547 Get User Preferences
GET    /user/security/{user_id}          -           20564-20710 Get User Security
GET    /user/terms_conditions/{user_id}  -           20727-20867 Get User Terms & Conditions
GET    /user/security/rule               -           20884-21040 Get Security Access
GET    /user/group/{user_id}             -           21057-29413 Get User Group(s)
GET    /user/inquiry_document            -           29435-29621 Inquiry User Document(s)
GET    /user/external_auth/{user_id}     -           29638-29796 Get User External Auth
DELETE /user/{user_id}                   -           29813-29911 Delete User
DELETE /user/email/{user_id}             29927-29941 29943-30081 Delete User Email
DELETE /user/phone/{user_id}             30097-30111 30113-30253 Delete User Phone
DELETE /user/address/{user_id}           30269-30283 30285-30435 Delete User Address
DELETE /user/credit_card/{user_id}       30451-30465 30467-30619 Delete User Credit Card
DELETE /user/identification/{user_id}    30635-30649 30651-30799 Delete User Identification
DELETE /user/bank_account/{user_id}      30815-30829 30831-31013 Delete User Bank Account
DELETE /user/relationship/{user_id}      31029-31043 31045-31201 Delete User Relationship
DELETE /user/external_auth/{user_id}     31217-31233 31235-31373 Delete User External Auth
DELETE /user/security/rule               31389-31407 31409-31565 Delete Security Access
"""

# The families of response envelopes whose top-level keys differ from the user-shaped one
# (seed-004-rules.md 2.3); every other operation answers a user-shaped envelope.
_FAMILIES = {
    "identification_with_document": (
        "Add Identification With Document (Selfie)",
        "Add Identification With Document",
        "Update Identification With Document (Selfie)",
        "Update Identification With Document",
    ),
    "two_factor": ("Enroll User In 2FA", "Activate User 2FA"),
    "delete_user": ("Delete User",),
    "document": ("Create User Document", "Create Proof Of Address (POA) Document"),
    "security_confirm": ("Confirm User Email Code", "Confirm User SMS Code"),
    "security_reset": (
        "User Security Reset-Reset Security Code",
        "User Security Reset-Reset Security Questions",
        "User Security Reset-Reset Password",
        "User Security Reset-Reset Password (With 2FA)",
        "User Security Reset-Forget Password",
    ),
    "security_validate": (
        "Validate User Phone",
        "Validate User Security Code",
        "Validate User Password",
        "Validate User Email",
        "Validate User Date Of Birth",
        "Validate User Security Answers",
    ),
    "security_verify": ("Verify User Email Link", "Verify User Email Code", "Verify User Phone Code"),
    "inquiry_users": ("Inquiry User(s)",),
    "inquiry_documents": ("Inquiry User Document(s)",),
}

_HEAD = ["result", "info"]
_TRAILER = [
    "notes",
    "last_activity",
    "authentication",
    "validate",
    "function_code",
    "time_zone",
    "time_zone_name",
    "response_time",
]
_USER_BODY = [
    "personal_info",
    "address",
    "addresses",
    "email",
    "phone",
    "security",
    "preferences",
    "identification",
    "bank_account",
    "credit_card",
    "notification",
    "documents",
    "currency",
    "account",
    "group",
    "terms_conditions",
    "device_info",
    "commerce",
    "external_auth",
    "validation_data",
    "relationship",
    "geo_coordinates",
    "custom_field",
    "history",
    "access_rule",
    "ticket",
    "general_requirements",
    "organization",
]
_WITH_LIMIT = [*_USER_BODY[: _USER_BODY.index("currency") + 1], "credit_limit", *_USER_BODY[13:]]
_SECURITY_TAIL = ["geo_coordinates", *_TRAILER]

# The seed's top-level key order of each response family, checked against all 83 response
# samples by tests/users/test_seed004_fixtures.py. Note: the 2FA responses carry
# `credit_limit` too (after `currency`), and `authentication_data` after `organization`.
ENVELOPE_KEYS: dict[str, list[str]] = {
    "user": [*_HEAD, *_USER_BODY, *_TRAILER],
    "identification_with_document": [*_HEAD, *_WITH_LIMIT, *_TRAILER],
    "two_factor": [*_HEAD, *_WITH_LIMIT, "authentication_data", *_TRAILER],
    "delete_user": [
        *_HEAD,
        *(k for k in _USER_BODY if k not in ("general_requirements", "organization")),
        *(k for k in _TRAILER if k not in ("time_zone", "time_zone_name")),
    ],
    "document": [*_HEAD, "attachment", "custom_field", *_SECURITY_TAIL],
    "security_confirm": [*_HEAD, "verify_data", "confirm_data", *_SECURITY_TAIL],
    "security_reset": [*_HEAD, "reset_security_data", *_SECURITY_TAIL],
    "security_validate": [*_HEAD, "validate_data", *_SECURITY_TAIL],
    "security_verify": [*_HEAD, "verify_data", *_SECURITY_TAIL],
    "inquiry_users": ["result", "result_set", "users", "archive", *_TRAILER],
    "inquiry_documents": ["result", "result_set", "documents", "archive", *_TRAILER],
}

# Lines of the seed that are not JSON, dropped when parsing (the copies stay verbatim):
# (block first line, block last line) -> {line number: its exact stripped text}.
_COMMENT_LINES = {
    (13645, 13732): {13654: "// Identification ID to be updated"},
    (14098, 14175): {14107: "// Identification ID to be updated"},
}


@dataclass(frozen=True)
class Operation:
    name: str
    method: str
    path: str
    request: tuple[int, int] | None  # seed lines of the request sample, label line included
    response: tuple[int, int]
    family: str  # its key of ENVELOPE_KEYS


def _span(text: str) -> tuple[int, int]:
    first, last = text.split("-")
    return int(first), int(last)


def _operations() -> dict[str, Operation]:
    family_of = {name: family for family, names in _FAMILIES.items() for name in names}
    operations: dict[str, Operation] = {}
    for row in _TABLE.splitlines():
        method, path, request, response, name = row.split(None, 4)
        operations[name] = Operation(
            name=name,
            method=method,
            path=path,
            request=None if request == "-" else _span(request),
            response=_span(response),
            family=family_of.get(name, "user"),
        )
    return operations


OPERATIONS: dict[str, Operation] = _operations()


@cache
def _text(first: int, last: int) -> str:
    copy = FIXTURES / f"L{first}-{last}.txt"
    if not copy.is_file():
        near = [p.name for p in FIXTURES.glob("L*.txt") if _covers(p.stem, first, last)]
        raise AssertionError(
            f"no copy of {SEED_004}:L{first}-{last}"
            + (f" (the blocks are cited label line first: {near})" if near else "")
            + f"; run python tests/fixtures/copy_seeds.py <seeds> 004 {first} {last}"
        )
    return copy.read_text(encoding="utf-8")


def _covers(stem: str, first: int, last: int) -> bool:
    a, b = _span(stem.removeprefix("L"))
    return a <= first <= last <= b


def sample(first: int, last: int) -> Any:
    """The JSON of the sample block at seed lines first..last (as seed-004-rules.md 1.1 cites
    them), freshly parsed: the label line and the two known comment lines are dropped."""
    lines = _text(first, last).removesuffix("\n").split("\n")
    label = lines[0].strip()
    assert label.endswith(("Request Parameters:", "Response Parameters:")), (
        f"L{first} is not a sample label line: {label!r}"
    )
    for number, comment in _COMMENT_LINES.get((first, last), {}).items():
        assert lines[number - first].strip() == comment, f"L{number} is no longer {comment!r}"
        lines[number - first] = ""
    return json.loads("\n".join(lines[1:]))


def operation(name: str) -> Operation:
    if name not in OPERATIONS:
        close = difflib.get_close_matches(name, OPERATIONS, n=3)
        raise KeyError(f"no seed 004 operation {name!r}; did you mean {close}?")
    return OPERATIONS[name]


def request_of(name: str) -> Any:
    """The request sample of an operation (a fresh copy)."""
    found = operation(name)
    if found.request is None:
        raise ValueError(f"{name} has no request sample in the seed ({found.method} {found.path})")
    return sample(*found.request)


def response_of(name: str) -> Any:
    """The response sample of an operation (a fresh copy)."""
    return sample(*operation(name).response)


def json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    raise TypeError(f"not a JSON value: {value!r}")


def key_difference(
    actual: Any,
    expected: Any,
    *,
    ordered: bool = True,
    types: bool = False,
    ignore: Collection[str] = (),
    path: str = "",
) -> str | None:
    """The first place where `actual` lacks the key structure of the seed sample `expected`,
    as "path: problem", or None. Objects: the same keys (and, when ordered, in the same
    order), recursively. Arrays: when both are non-empty, every actual item against the
    sample's first item. JSON types are compared only with types=True (null in the sample
    then matches anything). Keys named in `ignore` are compared for presence only (their
    content is data, e.g. an org's custom field names)."""
    where = path or "$"
    if types and expected is not None and json_type(actual) != json_type(expected):
        return f"{where}: {json_type(actual)} where the sample has {json_type(expected)}"
    if isinstance(expected, dict) and isinstance(actual, dict):
        missing = [k for k in expected if k not in actual]
        extra = [k for k in actual if k not in expected]
        if missing or extra:
            return f"{where}: missing keys {missing}, extra keys {extra}"
        if ordered and list(actual) != list(expected):
            at = next(i for i, (a, e) in enumerate(zip(actual, expected, strict=True)) if a != e)
            return (
                f"{where}: key order differs at position {at}: {list(actual)[at]!r} where the "
                f"sample has {list(expected)[at]!r}\n  ours:   {list(actual)}\n  sample: {list(expected)}"
            )
        for key, value in expected.items():
            if key in ignore:
                continue
            inner = f"{path}.{key}" if path else key
            found = key_difference(
                actual[key], value, ordered=ordered, types=types, ignore=ignore, path=inner
            )
            if found:
                return found
    elif isinstance(expected, list) and isinstance(actual, list) and expected and actual:
        for index, item in enumerate(actual):
            found = key_difference(
                item, expected[0], ordered=ordered, types=types, ignore=ignore, path=f"{path}[{index}]"
            )
            if found:
                return found
    return None


def assert_same_keys(
    actual: Any,
    expected: Any,
    *,
    ordered: bool = True,
    types: bool = False,
    ignore: Collection[str] = (),
    path: str = "",
) -> None:
    """Fail, naming the path of the first difference, unless `actual` has the key structure
    of the seed sample `expected` (see key_difference)."""
    found = key_difference(actual, expected, ordered=ordered, types=types, ignore=ignore, path=path)
    assert found is None, f"answer differs from the seed sample at {found}"
