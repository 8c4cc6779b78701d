"""Errors of the Patron domain.

Every failure a caller can cause is a `PatronError` carrying the code of the seed's code
tables, a message a person understands and the HTTP status it maps to. The domain never
imports a web framework; each API surface has one handler that renders these in its own
envelope.

    PatronError                      code, message, status (400 unless said otherwise)
    ├── InvalidInput                 malformed body or parameters (code 400)
    ├── Unauthorized                 missing or wrong credentials (401)
    ├── Throttled                    too many failed logins (429, carries retry_after)
    ├── Forbidden                    the caller may not do this (403: a till not an operator)
    ├── NotFound                     no such customer in the caller's org (404)
    ├── Conflict                     the write would break a uniqueness rule (409)
    └── RuleViolation                a business rule refuses the change (422)

A `Warning_` is not an error: it rides along a successful response.
"""

from __future__ import annotations

from dataclasses import dataclass

from patron import codes


class PatronError(Exception):
    """A failure with a seed code, a message and an HTTP status."""

    status: int = 400

    def __init__(
        self,
        code: int,
        message: str | None = None,
        *,
        detail: str | None = None,
        x: object | None = None,
        status: int | None = None,
    ) -> None:
        # The code is named once: the message is the code's own text (its placeholder filled
        # with `x`, `detail` appended) unless a caller words it itself.
        text = message if message is not None else codes.message(code, x, detail)
        super().__init__(text)
        self.code = code
        self.message = text
        if status is not None:
            self.status = status


class InvalidInput(PatronError):
    status = 400


class Unauthorized(PatronError):
    status = 401


class Throttled(PatronError):
    status = 429

    def __init__(self, code: int, message: str | None = None, *, retry_after: int) -> None:
        super().__init__(code, message)
        self.retry_after = retry_after


class Forbidden(PatronError):
    status = 403


class NotFound(PatronError):
    status = 404


class Conflict(PatronError):
    status = 409


class RuleViolation(PatronError):
    status = 422


@dataclass(frozen=True, slots=True)
class Warning_:
    """A warning of the seed's warning table, returned beside a successful result."""

    code: int
    message: str

    @classmethod
    def of(cls, code: int, x: object | None = None, detail: str | None = None) -> Warning_:
        """The warning of a code with the code's own text (placeholder `x`, `detail` appended)."""
        return cls(code, codes.message(code, x, detail))
