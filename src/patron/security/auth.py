"""Authenticating tills: HTTP Basic credentials to a request principal.

Every request reads its till (one indexed statement, which also says whether the org's
configuration changed) and compares the API key's digest in constant time, so a revoked
till fails on its next request. The parsed org configuration is kept per process and
reloaded when the org row says it changed. Failures are counted per (till, client address)
in the database, read in that same statement (security/throttle.py): a till's owner is not
locked out by someone else's failures, and every API process sees the same counts.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime

from patron.context import Actor
from patron.cpu import run_cpu
from patron.db.base import utcnow
from patron.db.engine import Database
from patron.db.uow import UnitOfWork
from patron.errors import Throttled, Unauthorized
from patron.orgs.config import OrgConfig
from patron.orgs.repository import Login, OrgRow
from patron.orgs.service import parse_username
from patron.security.apikeys import ApiKeys, is_digest
from patron.security.passwords import verify_password
from patron.security.throttle import ClientAddresses, LoginThrottle

PROVEN_SECONDS = 60.0
UNAUTHORIZED = "Authentication failed: send HTTP Basic credentials of an active till."


@dataclass(frozen=True, slots=True)
class Principal:
    org_id: int
    actor: Actor
    config: OrgConfig
    role: str = "till"


async def _login(uow: UnitOfWork, org_id: int, code: str, client: str) -> Login | None:
    return await uow.orgs.login(org_id, code, client)


async def _org(uow: UnitOfWork, org_id: int) -> OrgRow | None:
    return await uow.orgs.get(org_id)


async def _replace_digest(uow: UnitOfWork, org_id: int, till_id: int, digest: str) -> None:
    await uow.orgs.set_key_digest(org_id, till_id, digest)


async def _failed(
    uow: UnitOfWork, org_id: int, code: str, client: str, now: datetime, since: datetime
) -> None:
    await uow.orgs.record_login_failure(org_id, code, client, now, since)


async def _forget(uow: UnitOfWork, org_id: int, code: str, client: str) -> None:
    await uow.orgs.forget_login_failures(org_id, code, client)


class Authenticator:
    def __init__(
        self,
        db: Database,
        keys: ApiKeys,
        *,
        throttle: LoginThrottle,
        addresses: ClientAddresses | None = None,
    ) -> None:
        self.db = db
        self.keys = keys
        self.throttle = throttle
        self.addresses = addresses or ClientAddresses()
        self._configs: dict[int, tuple[datetime, OrgConfig]] = {}
        # Digests of keys that logged in lately on this process. Such a key passes a throttled
        # (till, address): whoever sends it holds the key, so letting it through helps no
        # guesser, and it keeps a till working while a client behind the same address (a NAT,
        # a proxy not in `trusted_proxies`) fails.
        self._proven: dict[str, float] = {}

    async def authenticate(self, username: str, password: str, client: str = "") -> Principal:
        """The principal of Basic credentials sent from `client` (an address from
        `self.addresses`). 401 for any failure, 429 while (till, client) is throttled."""
        parsed = parse_username(username)
        if parsed is None:
            raise Unauthorized(401, UNAUTHORIZED)  # no till has this name: nothing to count
        org_id, code = parsed
        digest = self.keys.digest(org_id, code, password)
        login = await self.db.read(_login, org_id, code, client)
        if login is None:
            # No such till: no row is made for it (made-up names would only fill the table).
            raise Unauthorized(401, UNAUTHORIZED)
        now = utcnow()
        wait = self.throttle.retry_after(login.failures, login.window_start, now)
        if wait and self._proven.get(digest, 0.0) < time.monotonic():
            raise Throttled(
                429,
                "Too many failed logins for this username from this address; retry later.",
                retry_after=wait,
            )
        if not login.till.is_active or not await self._key_matches(login, password, digest):
            await self.db.write(_failed, org_id, code, client, now, self.throttle.since(now))
            raise Unauthorized(401, UNAUTHORIZED)
        if login.failures and not wait:
            # Failures of this address before its success are forgiven; a throttled window is
            # left to close, so a proven key sharing the address does not reset a guesser.
            await self.db.write(_forget, org_id, code, client)
        if len(self._proven) > 10_000:
            self._proven.clear()
        self._proven[digest] = time.monotonic() + PROVEN_SECONDS
        till = login.till
        actor = Actor(till.till_id, till.code, till.name, till.store_code, till.store_name)
        return Principal(org_id, actor, await self.config(org_id, login.org_updated_at), till.role)

    async def _key_matches(self, login: Login, api_key: str, digest: str) -> bool:
        till = login.till
        if is_digest(till.key_digest):
            return self.keys.same(till.key_digest, digest)
        # A till stored before API-key digests: check its Argon2 hash once, then replace it.
        if not await run_cpu(verify_password, till.key_digest, api_key):
            return False
        await self.db.write(_replace_digest, till.org_id, till.till_id, digest)
        return True

    async def config(self, org_id: int, updated_at: datetime) -> OrgConfig:
        """The org's parsed configuration, kept per process while the org row's stamp holds."""
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
