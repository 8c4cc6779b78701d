"""The result codes of the user namespace (seed 004), ours: the seed shows only "0000".

Every failure on `/user...` answers the user envelope with one of these in
`result.code`, the HTTP status beside it, `result.message` naming the field or the thing
that failed and `result.friendly_message` the code's own text (docs/users.md, "Result
codes"). Errors raised by the shared service layer (v2 codes) are rendered with the entry
of their HTTP status. The integer form of a code is its `PatronError.code` (3000-3099).
"""

from __future__ import annotations

from dataclasses import dataclass

from patron.errors import Conflict, InvalidInput, NotFound, PatronError, RuleViolation


@dataclass(frozen=True, slots=True)
class UserCode:
    code: str
    status: int
    message: str


SUCCESS = UserCode("0000", 200, "Operation Completed Successfully.")
VALIDATION = UserCode("3001", 400, "Input is invalid.")
MISSING_FIELD = UserCode("3002", 400, "A required field is missing.")
UNAUTHENTICATED = UserCode(
    "3003", 401, "Authentication failed: send HTTP Basic credentials of an active till."
)
FORBIDDEN = UserCode("3004", 403, "The caller may not do this.")
NOT_FOUND = UserCode("3005", 404, "User not found.")
NO_ROUTE = UserCode("3006", 404, "No such operation.")
METHOD_NOT_ALLOWED = UserCode("3007", 405, "Method not allowed on this path.")
TIMEOUT = UserCode("3008", 408, "The request body did not arrive in time.")
CONFLICT = UserCode("3009", 409, "The change conflicts with another user's data.")
TOO_LARGE = UserCode("3010", 413, "Request body is too large.")
REFUSED = UserCode("3011", 422, "A business rule refuses the change.")
THROTTLED = UserCode("3012", 429, "Too many requests; retry later.")
RECORD_NOT_FOUND = UserCode("3013", 404, "Record not found.")
CREDENTIAL_MISMATCH = UserCode("3014", 422, "The credential does not match.")
CODE_INVALID = UserCode("3015", 422, "The code is wrong, expired or already used.")
INTERNAL = UserCode("3099", 500, "Internal error; the request changed nothing.")

TABLE: tuple[UserCode, ...] = (
    VALIDATION,
    MISSING_FIELD,
    UNAUTHENTICATED,
    FORBIDDEN,
    NOT_FOUND,
    NO_ROUTE,
    METHOD_NOT_ALLOWED,
    TIMEOUT,
    CONFLICT,
    TOO_LARGE,
    REFUSED,
    THROTTLED,
    RECORD_NOT_FOUND,
    CREDENTIAL_MISMATCH,
    CODE_INVALID,
    INTERNAL,
)
BY_NUMBER: dict[int, UserCode] = {int(c.code): c for c in TABLE}
# A failure that carries no code of ours (the shared service layer's, the framework's).
BY_STATUS: dict[int, UserCode] = {
    400: VALIDATION,
    401: UNAUTHENTICATED,
    403: FORBIDDEN,
    404: NO_ROUTE,
    405: METHOD_NOT_ALLOWED,
    408: TIMEOUT,
    409: CONFLICT,
    413: TOO_LARGE,
    422: REFUSED,
    429: THROTTLED,
    500: INTERNAL,
}
# v2 codes meaning "no such customer": a user not found.
_CUSTOMER_MISSING = frozenset({816, 8009, 8015})


def entry(status: int, code: int) -> UserCode:
    """The user code of a failure: ours by number, a missing customer, else by status."""
    found = BY_NUMBER.get(code)
    if found is not None:
        return found
    if code in _CUSTOMER_MISSING:
        return NOT_FOUND
    return BY_STATUS.get(status) or (VALIDATION if 400 <= status < 500 else INTERNAL)


def invalid(message: str) -> PatronError:
    return InvalidInput(int(VALIDATION.code), message)


def missing(field: str) -> PatronError:
    return InvalidInput(int(MISSING_FIELD.code), f"{field} is required.")


def not_found(user_id: object) -> PatronError:
    return NotFound(int(NOT_FOUND.code), f"No user {user_id} in this program.")


def forbidden(message: str) -> PatronError:
    """The caller may not do this now (an access rule refuses it, users/access_rules.py)."""
    return PatronError(int(FORBIDDEN.code), message, status=FORBIDDEN.status)


def record_not_found(what: str, record_id: object) -> PatronError:
    """A record id (an address, a currency, ...) that is not the user's, or not this org's."""
    return NotFound(int(RECORD_NOT_FOUND.code), f"No {what} {record_id} in this program.")


def refused(message: str) -> PatronError:
    return RuleViolation(int(REFUSED.code), message)


def conflict(message: str) -> PatronError:
    return Conflict(int(CONFLICT.code), message)


def mismatch(message: str = "The credential does not match.") -> PatronError:
    """A credential that does not match, or a user that does not exist where a credential is
    checked: the same answer for both, so the answer tells nothing of which."""
    return RuleViolation(int(CREDENTIAL_MISMATCH.code), message)


def code_invalid(message: str = "The code is wrong, expired or already used.") -> PatronError:
    return RuleViolation(int(CODE_INVALID.code), message)
