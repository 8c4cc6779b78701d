"""Authenticating tills: HTTP Basic credentials to a request principal.

Every request reads its till (one indexed statement, which also says whether the org's
configuration changed) and compares the API key's digest in constant time, so a revoked
till fails on its next request. The parsed org configuration is kept per process and
reloaded when the org row says it changed. Failures are throttled per canonical username.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime

from patron.context import Actor
from patron.cpu import run_cpu
from patron.db.engine import Database
from patron.db.uow import UnitOfWork
from patron.errors import Throttled, Unauthorized
from patron.orgs.config import OrgConfig
from patron.orgs.repository import Login, OrgRow
from patron.orgs.service import parse_username
from patron.security.apikeys import ApiKeys, is_digest
from patron.security.passwords import verify_password
from patron.security.throttle import LoginThrottle

PROVEN_SECONDS = 60.0
UNAUTHORIZED = "Authentication failed: send HTTP Basic credentials of an active till."


@dataclass(frozen=True, slots=True)
class Principal:
    org_id: int
    actor: Actor
    config: OrgConfig


async def _login(uow: UnitOfWork, org_id: int, code: str) -> Login | None:
    return await uow.orgs.login(org_id, code)


async def _org(uow: UnitOfWork, org_id: int) -> OrgRow | None:
    return await uow.orgs.get(org_id)


async def _replace_digest(uow: UnitOfWork, org_id: int, till_id: int, digest: str) -> None:
    await uow.orgs.set_key_digest(org_id, till_id, digest)


class Authenticator:
    def __init__(self, db: Database, keys: ApiKeys, *, throttle: LoginThrottle) -> None:
        self.db = db
        self.keys = keys
        self.throttle = throttle
        self._configs: dict[int, tuple[datetime, OrgConfig]] = {}
        # Digests of keys that logged in lately: someone else's failures do not lock them out.
        self._proven: dict[str, float] = {}

    async def authenticate(self, username: str, password: str) -> Principal:
        parsed = parse_username(username)
        if parsed is None:
            raise Unauthorized(401, UNAUTHORIZED)
        org_id, code = parsed
        canonical = f"{code}@{org_id}"
        digest = self.keys.digest(org_id, code, password)
        now = time.monotonic()
        if self._proven.get(digest, 0.0) < now:
            wait = self.throttle.retry_after(canonical)
            if wait:
                raise Throttled(
                    429, "Too many failed logins for this username; retry later.", retry_after=wait
                )
        login = await self.db.read(_login, org_id, code)
        if login is None or not login.till.is_active or not await self._key_matches(login, password, digest):
            self.throttle.failed(canonical)
            raise Unauthorized(401, UNAUTHORIZED)
        self.throttle.succeeded(canonical)
        if len(self._proven) > 10_000:
            self._proven.clear()
        self._proven[digest] = now + PROVEN_SECONDS
        till = login.till
        actor = Actor(till.till_id, till.code, till.name, till.store_code, till.store_name)
        return Principal(org_id, actor, await self._config(org_id, login.org_updated_at))

    async def _key_matches(self, login: Login, api_key: str, digest: str) -> bool:
        till = login.till
        if is_digest(till.key_digest):
            return self.keys.same(till.key_digest, digest)
        # A till stored before API-key digests: check its Argon2 hash once, then replace it.
        if not await run_cpu(verify_password, till.key_digest, api_key):
            return False
        await self.db.write(_replace_digest, till.org_id, till.till_id, digest)
        return True

    async def _config(self, org_id: int, updated_at: datetime) -> OrgConfig:
        cached = self._configs.get(org_id)
        if cached is not None and cached[0] == updated_at:
            return cached[1]
        org = await self.db.read(_org, org_id)
        if org is None:  # deleted between the two reads
            raise Unauthorized(401, UNAUTHORIZED)
        config = OrgConfig.model_validate(org.config)
        if len(self._configs) > 10_000:
            self._configs.clear()
        self._configs[org_id] = (org.updated_at, config)
        return config
