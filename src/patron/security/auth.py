"""Authenticating tills: HTTP Basic credentials to a request principal.

A verified credential is cached for a short time under a digest of username and password,
so a busy till pays for one Argon2 check, not one per request. Failures are throttled per
username; a wrong password never evicts the cached right one.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from dataclasses import dataclass

from patron.context import Actor
from patron.db.engine import Database
from patron.db.uow import unit_of_work
from patron.errors import Throttled, Unauthorized
from patron.orgs.config import OrgConfig
from patron.orgs.repository import OrgRepository
from patron.orgs.service import parse_username
from patron.security.passwords import hash_password, verify_password
from patron.security.throttle import LoginThrottle

_DUMMY: list[str] = []


def _dummy_hash() -> str:
    if not _DUMMY:
        _DUMMY.append(hash_password("not a real password"))
    return _DUMMY[0]


UNAUTHORIZED = "Authentication failed: send HTTP Basic credentials of an active till."


@dataclass(frozen=True, slots=True)
class Principal:
    org_id: int
    actor: Actor
    config: OrgConfig


class Authenticator:
    def __init__(self, db: Database, *, cache_seconds: float, throttle: LoginThrottle) -> None:
        self.db = db
        self.cache_seconds = cache_seconds
        self.throttle = throttle
        self._cache: dict[bytes, tuple[float, Principal]] = {}

    async def authenticate(self, username: str, password: str) -> Principal:
        key = hashlib.sha256(f"{username}\x00{password}".encode()).digest()
        hit = self._cache.get(key)
        now = time.monotonic()
        if hit is not None and hit[0] > now:
            return hit[1]
        wait = self.throttle.retry_after(username)
        if wait:
            raise Throttled(429, "Too many failed logins for this username; retry later.", retry_after=wait)
        principal = await self._verify(username, password)
        if principal is None:
            self.throttle.failed(username)
            raise Unauthorized(401, UNAUTHORIZED)
        self.throttle.succeeded(username)
        if len(self._cache) > 10_000:
            self._cache.clear()
        self._cache[key] = (now + self.cache_seconds, principal)
        return principal

    async def _verify(self, username: str, password: str) -> Principal | None:
        parsed = parse_username(username)
        if parsed is None:
            return None
        org_id, code = parsed
        async with unit_of_work(self.db, write=False) as uow:
            repo = OrgRepository(uow.session)
            till = await repo.till_by_code(org_id, code)
            org = await repo.get(org_id) if till is not None else None
            if till is None or org is None or not till.is_active:
                found = None
            else:
                actor = Actor(till.till_id, till.code, till.name, till.store_code, till.store_name)
                found = (till.password_hash, actor, OrgConfig.model_validate(org.config))
        if found is None:
            # Spend the same time as a real check, so timing does not reveal usernames.
            await asyncio.to_thread(verify_password, _dummy_hash(), password)
            return None
        password_hash, actor, config = found
        if not await asyncio.to_thread(verify_password, password_hash, password):
            return None
        return Principal(org_id, actor, config)

    def forget_org(self, org_id: int) -> None:
        """Drop cached principals of an org, so a new configuration applies at once."""
        for key, (_, principal) in list(self._cache.items()):
            if principal.org_id == org_id:
                self._cache.pop(key, None)
