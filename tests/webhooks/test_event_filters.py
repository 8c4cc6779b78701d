"""An endpoint subscribes only to events that exist (the events registry): an unknown name
is refused with a 400 in the v2 envelope by the API and with a one-line error by the CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from patron.events.registry import EVENT_NAMES
from tests.conftest import OrgClient
from tests.support import codes
from tests.webhooks.receiver import Receiver

KNOWN = f"Known: {', '.join(EVENT_NAMES)}."
# Names no event has (the seeds' events are registered as their triggers arrive).
UNKNOWN = "customerDeleted"


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    async with Receiver() as r:
        yield r


async def test_the_api_refuses_an_unknown_event_in_a_subscription(
    client: OrgClient, receiver: Receiver
) -> None:
    r = await client.post("/v2/webhooks", json={"url": receiver.url(), "events": ["customerAdded", UNKNOWN]})
    assert r.status_code == 400, r.text
    assert r.json() == {
        "warnings": [],
        "errors": [{"status": False, "code": 400, "message": f"Unknown event types: {UNKNOWN}. {KNOWN}"}],
    }
    assert (await client.get("/v2/webhooks")).json()["data"] == []  # nothing was stored

    r = await client.post("/v2/webhooks", json={"url": receiver.url(), "events": ["customerAdded"]})
    assert r.status_code == 201, r.text
    endpoint = r.json()
    patched = await client.patch(f"/v2/webhooks/{endpoint['id']}", json={"events": ["customerUpdate"]})
    assert patched.status_code == 400 and codes(patched.json()) == [400]
    assert patched.json()["errors"][0]["message"] == f"Unknown event types: customerUpdate. {KNOWN}"
    assert (await client.get(f"/v2/webhooks/{endpoint['id']}")).json()["events"] == ["customerAdded"]


def test_the_cli_refuses_an_unknown_event_in_a_subscription(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "PATRON_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}",
        "PATRON_SECRET_KEY_FILE": str(tmp_path / "secret.key"),
        "PATRON_WEBHOOK_ALLOW_PRIVATE": "true",
    }

    def patron(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "patron.cli", *args], env=env, capture_output=True, text=True, timeout=120
        )

    assert patron("migrate").returncode == 0
    org = str(json.loads(patron("org", "create", "Acme", "--json").stdout)["orgId"])
    add = ["webhooks", "add", "--org", org, "--url", "http://127.0.0.1:9/hook", "--json", "--events"]
    out = patron(*add, f"customerAdded,{UNKNOWN}")
    assert out.returncode == 1 and out.stdout == ""
    assert out.stderr == f"error: Unknown event types: {UNKNOWN}. {KNOWN}\n"
    assert json.loads(patron("webhooks", "list", "--org", org, "--json").stdout) == []
    assert patron(*add, "customerUpdated").returncode == 0
