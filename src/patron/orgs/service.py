"""Orgs, their configuration and their tills (API users)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from patron.db.base import utcnow
from patron.db.uow import UnitOfWork
from patron.errors import InvalidInput, NotFound
from patron.orgs.config import OrgConfig
from patron.orgs.repository import TillRow
from patron.security.apikeys import ApiKeys, new_api_key

_CODE = re.compile(r"^[a-z0-9][a-z0-9._-]{0,59}$")
# An org id as Patron writes it: ASCII digits, no leading zero (a login names one org once).
_ORG_ID = re.compile(r"[1-9][0-9]{0,17}")
# What a till may use: `till` the API only; `operator` the API and the console (console/).
TILL = "till"
OPERATOR = "operator"
ROLES = (TILL, OPERATOR)


@dataclass(frozen=True, slots=True)
class TillCredentials:
    org_id: int
    till_id: int
    username: str
    password: str


def username_for(org_id: int, code: str) -> str:
    """Usernames carry their org (`code@orgId`), so a login is looked up inside one org."""
    return f"{code}@{org_id}"


def parse_username(username: str) -> tuple[int, str] | None:
    """(org id, till code) of a username in its one canonical spelling, else None."""
    code, sep, org = username.rpartition("@")
    if not sep or not _CODE.fullmatch(code) or not _ORG_ID.fullmatch(org):
        return None
    return int(org), code


def parse_config(document: Any) -> OrgConfig:
    """Validate a configuration document; the error lists every problem found."""
    if not isinstance(document, dict):
        raise InvalidInput(400, "The configuration must be a JSON object.")
    try:
        return OrgConfig.model_validate(document)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'config'}: {e['msg']}" for e in exc.errors()
        )
        raise InvalidInput(400, f"Invalid configuration: {problems}") from exc


async def create_org(
    uow: UnitOfWork, keys: ApiKeys, *, name: str, config: OrgConfig | None = None
) -> TillCredentials:
    """Create an org and its first till, an operator; the API key is returned once and stored
    as a digest."""
    name = name.strip()
    if not name or len(name) > 200:
        raise InvalidInput(400, "An org needs a name of 1 to 200 characters.")
    org_id = await uow.tx.id("org")
    await uow.orgs.insert(org_id, name, (config or OrgConfig()).to_document(), utcnow())
    return await _add_till(uow, keys, org_id, name, code="till1", name=f"{name} till 1", role=OPERATOR)


async def create_till(
    uow: UnitOfWork,
    keys: ApiKeys,
    *,
    org_id: int,
    code: str | None = None,
    name: str | None = None,
    store_code: str | None = None,
    store_name: str | None = None,
    role: str = TILL,
) -> TillCredentials:
    if role not in ROLES:
        raise InvalidInput(400, f"A till's role is one of {', '.join(ROLES)}.")
    org = await uow.orgs.get(org_id)
    if org is None:
        raise NotFound(404, f"Org {org_id} does not exist.")
    if code is None:
        code = f"till{await uow.orgs.till_count(org_id) + 1}"
    return await _add_till(
        uow,
        keys,
        org_id,
        org.name,
        code=code,
        name=name,
        store_code=store_code,
        store_name=store_name,
        role=role,
    )


async def _add_till(
    uow: UnitOfWork,
    keys: ApiKeys,
    org_id: int,
    org_name: str,
    *,
    code: str,
    name: str | None = None,
    store_code: str | None = None,
    store_name: str | None = None,
    role: str = TILL,
) -> TillCredentials:
    if not _CODE.match(code):
        raise InvalidInput(400, "A till code is 1 to 60 lower-case letters, digits, '.', '_' or '-'.")
    if await uow.orgs.till_by_code(org_id, code) is not None:
        raise InvalidInput(400, f"Till {code} already exists in org {org_id}.")
    api_key = new_api_key()
    till_id = await uow.tx.id("till")
    till = TillRow(
        org_id=org_id,
        till_id=till_id,
        code=code,
        name=name or code,
        key_digest=keys.digest(org_id, code, api_key),
        store_code=store_code or f"store{org_id}",
        store_name=store_name or org_name,
        is_active=True,
        role=role,
    )
    await uow.orgs.insert_till(till, utcnow())
    return TillCredentials(org_id, till_id, username_for(org_id, code), api_key)


async def get_config(uow: UnitOfWork, org_id: int) -> OrgConfig:
    org = await uow.orgs.get(org_id)
    if org is None:
        raise NotFound(404, f"Org {org_id} does not exist.")
    return OrgConfig.model_validate(org.config)


async def replace_config(uow: UnitOfWork, org_id: int, config: OrgConfig) -> OrgConfig:
    if not await uow.orgs.set_config(org_id, config.to_document(), utcnow()):
        raise NotFound(404, f"Org {org_id} does not exist.")
    return config


@dataclass(frozen=True, slots=True)
class TillChange:
    """A till after `revoke_till` or `set_till_role`, and whether anything changed."""

    org_id: int
    till_id: int
    username: str
    is_active: bool
    role: str
    changed: bool


async def _named_till(uow: UnitOfWork, org_id: int, username: str) -> TillRow:
    """The till of `username` in org `org_id`: its code, or `code@orgId` of that same org."""
    code = username
    if "@" in username:
        parsed = parse_username(username)
        if parsed is None or parsed[0] != org_id:
            raise InvalidInput(400, f"{username} is not a username of org {org_id}.")
        code = parsed[1]
    if await uow.orgs.get(org_id) is None:
        raise NotFound(404, f"Org {org_id} does not exist.")
    till = await uow.orgs.till_by_code(org_id, code) if _CODE.fullmatch(code) else None
    if till is None:
        raise NotFound(404, f"Org {org_id} has no till {username}.")
    return till


def _change(till: TillRow, *, is_active: bool, role: str, changed: bool) -> TillChange:
    username = username_for(till.org_id, till.code)
    return TillChange(till.org_id, till.till_id, username, is_active, role, changed)


async def revoke_till(uow: UnitOfWork, org_id: int, username: str) -> TillChange:
    """Deactivate a till. Every API process reads the till on each request (security/auth.py)
    and every console request re-reads it (security/sessions.py), so the next request of the
    till is refused in every process, and its console sessions end."""
    till = await _named_till(uow, org_id, username)
    if till.is_active:
        await uow.orgs.set_till_active(org_id, till.till_id, False)
    return _change(till, is_active=False, role=till.role, changed=till.is_active)


async def set_till_role(uow: UnitOfWork, org_id: int, username: str, role: str) -> TillChange:
    """Give a till the role `till` (the API only) or `operator` (the API and the console);
    like a revocation, it holds from the till's next request in every process."""
    if role not in ROLES:
        raise InvalidInput(400, f"A till's role is one of {', '.join(ROLES)}.")
    till = await _named_till(uow, org_id, username)
    if till.role != role:
        await uow.orgs.set_till_role(org_id, till.till_id, role)
    return _change(till, is_active=till.is_active, role=role, changed=till.role != role)
