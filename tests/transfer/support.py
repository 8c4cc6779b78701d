"""Helpers of the import and export tests: files, the CLI as a process, normalised views."""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

from patron.transfer.importing import Summary, import_file
from tests.conftest import Harness, OrgClient
from tests.support import rows

PATRON = [sys.executable, "-m", "patron.cli"]
# What differs between two orgs holding the same customers: ids, times, request ids.
VOLATILE = {
    "id",
    "userId",
    "customerId",
    "entityId",
    "cardId",
    "orgId",
    "eventId",
    "timeStamp",
    "createdAt",
    "enteredAt",
    "refId",
    "apiRequestId",
    "requestId",
    "createDate",
    "modifiedDate",
    "autoUpdateTime",
    "issuedDate",
    "createdDate",
    "createdOn",
    "lastUpdatedOn",
    "createdBy",
}


_ORG_NAME = re.compile(r"Test org \d+")  # tests/conftest.py names orgs so; tills after them


def write_jsonl(path: Path, bodies: list[Any]) -> Path:
    path.write_text("".join((b if isinstance(b, str) else json.dumps(b)) + "\n" for b in bodies))
    return path


async def run_import(harness: Harness, org: OrgClient, path: Path, **options: Any) -> Summary:
    """The import in this process, on the app's database (so the org-scope guards see every
    statement it issues)."""
    return await import_file(
        harness.app.state.db, None, org_id=org.org_id, path=path, parallel=False, **options
    )


async def cli(harness: Harness, *args: str) -> subprocess.CompletedProcess[str]:
    """`patron ...` as a process on the test database (stderr is a pipe: not a terminal)."""
    env = {**os.environ, "PATRON_DATABASE_URL": harness.settings.database_url}

    def go() -> subprocess.CompletedProcess[str]:
        return subprocess.run([*PATRON, *args], env=env, capture_output=True, text=True, timeout=180)

    return await asyncio.to_thread(go)


def normalise(value: Any, org_id: int) -> Any:
    """A view or payload without what differs between orgs (VOLATILE keys, the org's id and
    name in a till's username and name)."""
    if isinstance(value, dict):
        return {k: normalise(v, org_id) for k, v in value.items() if k not in VOLATILE}
    if isinstance(value, list):
        return [normalise(v, org_id) for v in value]
    if isinstance(value, str):
        return _ORG_NAME.sub("Test org", value.replace(str(org_id), "ORG"))
    return value


async def customer_ids(harness: Harness, org_id: int) -> list[int]:
    found = await rows(
        harness.app.state.db,
        "SELECT customer_id FROM customer WHERE org_id = :org_id ORDER BY customer_id",
        org_id=org_id,
    )
    return [int(r.customer_id) for r in found]


async def event_names(harness: Harness, org_id: int) -> list[str]:
    found = await rows(
        harness.app.state.db,
        "SELECT event_name FROM outbox_event WHERE org_id = :org_id ORDER BY event_id",
        org_id=org_id,
    )
    return [r.event_name for r in found]


async def view(org: OrgClient, customer_id: int) -> dict[str, Any]:
    answer = await org.get(f"/v2/customers/{customer_id}?source=ALL")
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


async def lookup(org: OrgClient, source: str, name: str, value: str, account: str | None = None) -> int:
    query = f"source={source}&identifierName={name}&identifierValue={value}"
    if account:
        query += f"&accountId={account}"
    answer = await org.get(f"/v2/customers/lookup?{query}")
    assert answer.status_code == 200, answer.text
    return int(answer.json()["entity"])


def refused(path: Path) -> list[dict[str, Any]]:
    target = path.with_name(path.name + ".refused.jsonl")
    return [json.loads(line) for line in target.read_text().splitlines()] if target.exists() else []
