"""Shared fixtures: the app on SQLite and on a PostgreSQL server the session starts, and
orgs created through the service layer. Every test that takes `client` runs on both."""

from __future__ import annotations

import asyncio
import base64
import itertools
import os
import tempfile
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from patron.config import Settings
from patron.db.migrate import upgrade
from patron.main import create_app
from patron.orgs import service as orgs
from patron.orgs.config import OrgConfig
from tests import pg
from tests.citus import SingleShardGuard, arguments_checked
from tests.orgscope import OrgScopeGuard

ENGINES = ["sqlite", "postgresql"]

# The org configuration most tests use (the shape of the example, extended).
CONFIG: dict[str, Any] = {
    "primaryIdentifier": "mobile",
    "defaultPhoneRegion": "IN",
    "sources": {
        "INSTORE": [],
        "WECHAT": ["WECHAT-CM", "WECHAT-2"],
        "MOBILE_APP": ["400"],
        "FACEBOOK": ["FB-1"],
        "MARTJACK": [],
    },
    "extendedFields": [
        {"name": "gender", "type": "string", "values": ["Male", "Female"]},
        {"name": "city", "type": "string"},
        {"name": "age", "type": "integer"},
    ],
    "cardExtendedFields": [
        {"name": "card_balance", "type": "number"},
        {"name": "year_of_registration", "type": "integer"},
    ],
    "customFields": ["employee", "dateofbirth"],
    "cardSeries": [
        {"seriesId": 19, "seriesCode": "GOLDPHY98", "statusLabels": ["ACTIVE", "BLOCKED"]},
        {"seriesId": 23, "seriesCode": "SILVER23", "name": "Silver"},
    ],
    "statusLabels": ["Active", "Inactive", "Pending Deletion", "Deleted"],
}


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    if os.environ.get("PATRON_TEST_POSTGRES_URL"):
        yield os.environ["PATRON_TEST_POSTGRES_URL"]
        return
    server = pg.start()
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture(scope="session")
def unscoped_queries() -> list[str]:
    return []


@pytest.fixture(scope="session")
def multi_shard_queries() -> Iterator[list[str]]:
    """Statements that would not route to one Citus shard (tests/citus.py): the observer
    judges their text, `arguments_checked` the org values of each run."""
    found: list[str] = []
    with arguments_checked(found):
        yield found


@dataclass
class Harness:
    engine: str
    app: Any
    http: httpx.AsyncClient
    settings: Settings


@pytest.fixture(scope="session", params=ENGINES)
async def harness(
    request: pytest.FixtureRequest, unscoped_queries: list[str], multi_shard_queries: list[str]
) -> AsyncIterator[Harness]:
    engine = request.param
    tmp = Path(tempfile.mkdtemp(prefix="patron-test-"))
    if engine == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp / 'patron.db'}"
    else:
        url = request.getfixturevalue("postgres_url")
    await asyncio.to_thread(upgrade, url)
    settings = Settings(
        database_url=url,
        auth_max_failures=5,
        auth_failure_window_seconds=60,
        secret_key=base64.b64encode(os.urandom(32)).decode(),
        webhook_allow_private=True,  # the tests' receivers listen on loopback
        webhook_retry_schedule=[0.2, 0.2, 0.3, 0.3],
        webhook_timeout_seconds=2.0,
        webhook_poll_seconds=0.05,
        webhook_lease_seconds=10.0,
        erasure_poll_seconds=0.2,
        image_store=str(tmp / "images"),
        message_sender="file",
        messages_file=tmp / "messages.jsonl",
        credential_lock_base_seconds=1.0,  # the throttle's release is waited for in tests
    )
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        app.state.db.observers.append(OrgScopeGuard(unscoped_queries))
        app.state.db.observers.append(SingleShardGuard(multi_shard_queries))
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://patron.test") as http:
            yield Harness(engine, app, http, settings)


@pytest.fixture(autouse=True)
def _every_query_is_org_scoped(unscoped_queries: list[str], multi_shard_queries: list[str]) -> Iterator[None]:
    """Every statement the app ran passed the org-scope guard (tests/orgscope.py): scoped
    to an org, and parsed; and routes to one Citus shard (tests/citus.py). What the
    in-process worker ran between two tests counts too."""
    yield
    found, unscoped_queries[:] = list(dict.fromkeys(unscoped_queries)), []
    assert not found, f"{len(found)} statement(s) without an org scope:\n  " + "\n  ".join(found[:5])
    found, multi_shard_queries[:] = list(dict.fromkeys(multi_shard_queries)), []
    assert not found, f"{len(found)} statement(s) not on one shard:\n  " + "\n  ".join(found[:5])


_names = itertools.count(1)


@dataclass
class OrgClient:
    """An HTTP client authenticated as an org's first till."""

    org_id: int
    username: str
    password: str
    harness: Harness

    @property
    def auth(self) -> dict[str, str]:
        token = base64.b64encode(f"{self.username}:{self.password}".encode()).decode()
        return {"Authorization": f"Basic {token}"}

    async def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        headers = {**self.auth, **kwargs.pop("headers", {})}
        return await self.harness.http.request(method, url, headers=headers, **kwargs)

    async def get(self, url: str, **kwargs: Any) -> httpx.Response:
        return await self.request("GET", url, **kwargs)

    async def post(self, url: str, **kwargs: Any) -> httpx.Response:
        return await self.request("POST", url, **kwargs)

    async def put(self, url: str, **kwargs: Any) -> httpx.Response:
        return await self.request("PUT", url, **kwargs)

    async def patch(self, url: str, **kwargs: Any) -> httpx.Response:
        return await self.request("PATCH", url, **kwargs)


async def make_org(harness: Harness, config: dict[str, Any] | None = None) -> OrgClient:
    creds = await harness.app.state.db.write(
        orgs.create_org,
        harness.app.state.authenticator.keys,
        name=f"Test org {next(_names)}",
        config=OrgConfig.model_validate(config or CONFIG),
    )
    return OrgClient(creds.org_id, creds.username, creds.password, harness)


@pytest.fixture
async def client(harness: Harness) -> OrgClient:
    return await make_org(harness)


@pytest.fixture
async def other_client(harness: Harness) -> OrgClient:
    return await make_org(harness)
