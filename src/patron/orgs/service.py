"""Orgs, their configuration and their tills (API users)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from patron.db import ids
from patron.db.base import utcnow
from patron.db.models import Org, Till
from patron.db.uow import UnitOfWork
from patron.errors import InvalidInput, NotFound
from patron.orgs.config import OrgConfig
from patron.orgs.repository import OrgRepository
from patron.security.passwords import hash_password, new_password

_CODE = re.compile(r"^[a-z0-9][a-z0-9._-]{0,59}$")


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
    code, sep, org = username.rpartition("@")
    if not sep or not code or not org.isdigit() or len(org) > 18:
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


async def create_org(uow: UnitOfWork, *, name: str, config: OrgConfig | None = None) -> TillCredentials:
    """Create an org and its first till; the password is returned once and stored hashed."""
    name = name.strip()
    if not name or len(name) > 200:
        raise InvalidInput(400, "An org needs a name of 1 to 200 characters.")
    now = utcnow()
    org_id = await ids.next_id(uow.session, "org")
    uow.session.add(
        Org(
            org_id=org_id,
            name=name,
            config=(config or OrgConfig()).to_document(),
            created_at=now,
            updated_at=now,
        )
    )
    await uow.session.flush()
    return await create_till(uow, org_id=org_id, code="till1", name=f"{name} till 1")


async def create_till(
    uow: UnitOfWork,
    *,
    org_id: int,
    code: str | None = None,
    name: str | None = None,
    store_code: str | None = None,
    store_name: str | None = None,
) -> TillCredentials:
    repo = OrgRepository(uow.session)
    org = await repo.get(org_id)
    if org is None:
        raise NotFound(404, f"Org {org_id} does not exist.")
    if code is None:
        code = f"till{await repo.till_count(org_id) + 1}"
    if not _CODE.match(code):
        raise InvalidInput(400, "A till code is 1 to 60 lower-case letters, digits, '.', '_' or '-'.")
    if await repo.till_by_code(org_id, code) is not None:
        raise InvalidInput(400, f"Till {code} already exists in org {org_id}.")
    password = new_password()
    till_id = await ids.next_id(uow.session, "till")
    uow.session.add(
        Till(
            org_id=org_id,
            till_id=till_id,
            code=code,
            name=name or code,
            password_hash=hash_password(password),
            store_code=store_code or f"store{org_id}",
            store_name=store_name or org.name,
            is_active=True,
            created_at=utcnow(),
        )
    )
    await uow.session.flush()
    return TillCredentials(org_id, till_id, username_for(org_id, code), password)


async def get_config(uow: UnitOfWork, org_id: int) -> OrgConfig:
    org = await OrgRepository(uow.session).get(org_id)
    if org is None:
        raise NotFound(404, f"Org {org_id} does not exist.")
    return OrgConfig.model_validate(org.config)


async def replace_config(uow: UnitOfWork, org_id: int, config: OrgConfig) -> OrgConfig:
    org = await OrgRepository(uow.session).get(org_id)
    if org is None:
        raise NotFound(404, f"Org {org_id} does not exist.")
    org.config = config.to_document()
    org.updated_at = utcnow()
    await uow.session.flush()
    return config
