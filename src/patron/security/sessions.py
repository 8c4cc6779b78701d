"""Console sessions: a till with the operator role signs in with its username and password
and holds a session cookie.

- Sign-in is the API's own check (`Authenticator.authenticate`): the same digests, the same
  failure throttle per (till, client address), so guessing through the console costs what
  it costs through the API. A till without the operator role is refused (403) after its
  password was checked, so the refusal tells nothing to someone without the password.
- The cookie carries `<org id>.<token>`, the token 32 random bytes; the table keeps only its
  keyed digest (`SecretBox.digest`), so a copy of the database opens no session.
- Each request reads the session with its till and org in one statement: a deactivated till,
  or one no longer an operator, loses its session on its next request. A session idle for
  `IDLE` ends; `last_seen_at` is written at most once per `TOUCH_AFTER`, so reading pages
  costs no write most of the time.
- The CSRF token of a session is the keyed digest of its token: nothing more to store, and
  nobody without the cookie (HttpOnly) and the server key can compute it. Before sign-in the
  login form gets the same protection from a cookie of its own (`login_csrf`).
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from patron.context import Actor
from patron.db.base import utcnow
from patron.db.engine import Database
from patron.db.uow import UnitOfWork
from patron.errors import Forbidden
from patron.orgs.config import OrgConfig
from patron.orgs.service import OPERATOR
from patron.security.auth import Authenticator
from patron.security.sessions_repository import SessionRow
from patron.webhooks.secrets import SecretBox

IDLE = timedelta(minutes=30)
TOUCH_AFTER = timedelta(minutes=1)
NOT_AN_OPERATOR = (
    "This till may use the API only. Sign in with a till that has the operator role"
    " (patron till create --org ID --role operator)."
)
_COOKIE = re.compile(r"([1-9][0-9]{0,17})\.([A-Za-z0-9_-]{43})")
_TOKEN = "console-session"
_CSRF = "console-csrf"
_LOGIN_CSRF = "console-login-csrf"


@dataclass(frozen=True, slots=True)
class Operator:
    """The signed-in till of a console request."""

    org_id: int
    session_id: str
    actor: Actor
    config: OrgConfig
    csrf: str


@dataclass(frozen=True, slots=True)
class NewSession:
    cookie: str
    csrf: str


async def _open(
    uow: UnitOfWork, org_id: int, session_id: str, till_id: int, token_hash: str, now: datetime
) -> None:
    await uow.console_sessions.prune(org_id, till_id, now - IDLE)
    await uow.console_sessions.insert(org_id, session_id, till_id, token_hash, now)


async def _find(uow: UnitOfWork, org_id: int, token_hash: str) -> SessionRow | None:
    return await uow.console_sessions.find(org_id, token_hash)


async def _touch(uow: UnitOfWork, org_id: int, session_id: str, now: datetime) -> None:
    await uow.console_sessions.touch(org_id, session_id, now)


async def _close(uow: UnitOfWork, org_id: int, session_id: str) -> None:
    await uow.console_sessions.delete(org_id, session_id)


class ConsoleSessions:
    def __init__(self, db: Database, box: SecretBox, authenticator: Authenticator) -> None:
        self.db = db
        self.box = box
        self.authenticator = authenticator

    async def sign_in(self, username: str, password: str, client: str) -> NewSession:
        """A new session of an operator. Unauthorized (401) or Throttled (429) as the API
        answers them; Forbidden (403) for a till without the operator role."""
        principal = await self.authenticator.authenticate(username, password, client)
        if principal.role != OPERATOR:
            raise Forbidden(403, NOT_AN_OPERATOR)
        token = secrets.token_urlsafe(32)
        await self.db.write(
            _open,
            principal.org_id,
            secrets.token_hex(16),
            principal.actor.till_id,
            self._digest(token),
            utcnow(),
        )
        return NewSession(f"{principal.org_id}.{token}", self._csrf(token))

    async def resolve(self, cookie: str | None) -> Operator | None:
        """The operator of a session cookie; None when it names no live session."""
        parsed = _COOKIE.fullmatch(cookie or "")
        if parsed is None:
            return None
        org_id, token = int(parsed[1]), parsed[2]
        row = await self.db.read(_find, org_id, self._digest(token))
        if row is None:
            return None
        now = utcnow()
        till = row.till
        if row.last_seen_at <= now - IDLE or not till.is_active or till.role != OPERATOR:
            await self.db.write(_close, org_id, row.session_id)
            return None
        if now - row.last_seen_at >= TOUCH_AFTER:
            await self.db.write(_touch, org_id, row.session_id, now)
        config = await self.authenticator.config(org_id, row.org_updated_at)
        actor = Actor(till.till_id, till.code, till.name, till.store_code, till.store_name)
        return Operator(org_id, row.session_id, actor, config, self._csrf(token))

    async def sign_out(self, operator: Operator) -> None:
        await self.db.write(_close, operator.org_id, operator.session_id)

    def login_csrf(self, pre_token: str) -> str:
        """The login form's CSRF token for the random value of its own cookie."""
        return self.box.digest(pre_token, _LOGIN_CSRF)

    @staticmethod
    def same(a: str, b: str) -> bool:
        return SecretBox.same(a, b)

    def _digest(self, token: str) -> str:
        return self.box.digest(token, _TOKEN)

    def _csrf(self, token: str) -> str:
        return self.box.digest(token, _CSRF)
