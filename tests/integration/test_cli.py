"""The command-line contract: `patron org create --json`, `till create`, `config`, `demo load`,
and `patron run` serving /health on PATRON_HOST:PATRON_PORT (as `make run` does)."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from contextlib import closing
from pathlib import Path

import httpx
import pytest

from tests.ports import free_port

PATRON = [sys.executable, "-m", "patron.cli"]


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    env = {**os.environ, "PATRON_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}"}
    migrated = patron(env, "migrate")  # only migrate, run and worker migrate (test_cli_migrations.py)
    assert migrated.returncode == 0, migrated.stderr
    return env


def patron(env: dict[str, str], *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*PATRON, *args], env=env, input=stdin, capture_output=True, text=True, timeout=120)


def test_org_create_prints_the_first_till_as_json(env: dict[str, str], tmp_path: Path) -> None:
    config = tmp_path / "org.json"
    config.write_text(
        json.dumps({"primaryIdentifier": "email", "sources": {"INSTORE": [], "WECHAT": ["W1"]}})
    )
    out = patron(env, "org", "create", "Acme", "--config", str(config), "--json")
    assert out.returncode == 0, out.stderr
    creds = json.loads(out.stdout)
    assert set(creds) == {"orgId", "username", "password"}
    assert isinstance(creds["orgId"], int) and len(creds["password"]) >= 24
    shown = patron(env, "config", "get", "--org", str(creds["orgId"]))
    assert json.loads(shown.stdout)["primaryIdentifier"] == "email"
    till = patron(env, "till", "create", "--org", str(creds["orgId"]), "--json")
    assert json.loads(till.stdout)["username"] != creds["username"]


def test_invalid_config_is_refused_with_a_readable_error(env: dict[str, str], tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"sources": {"MARS": []}, "defaultPhoneRegion": "ZZ"}))
    out = patron(env, "org", "create", "Acme", "--config", str(bad), "--json")
    assert out.returncode == 1
    assert "MARS" in out.stderr and "ZZ" in out.stderr
    assert out.stdout == ""


def test_config_set_replaces_the_document(env: dict[str, str]) -> None:
    org = json.loads(patron(env, "org", "create", "Acme", "--json").stdout)["orgId"]
    document = json.dumps({"sources": {"INSTORE": []}, "customFields": ["employee"]})
    assert patron(env, "config", "set", "--org", str(org), "-", stdin=document).returncode == 0
    assert json.loads(patron(env, "config", "get", "--org", str(org)).stdout)["customFields"] == ["employee"]


def test_run_serves_health_and_the_api_on_the_configured_port(env: dict[str, str], tmp_path: Path) -> None:
    creds = json.loads(patron(env, "org", "create", "Acme", "--json").stdout)
    assert patron(env, "demo", "load", "--org", str(creds["orgId"]), "--customers", "5").returncode == 0
    port = free_port()
    log = tmp_path / "server.log"
    with log.open("w") as sink:
        server = subprocess.Popen(
            [*PATRON, "run"],
            env={**env, "PATRON_HOST": "127.0.0.1", "PATRON_PORT": str(port)},
            stdout=subprocess.DEVNULL,
            stderr=sink,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "the server did not answer /health"
            assert server.poll() is None, log.read_text()
            time.sleep(0.1)
        found = httpx.get(
            f"http://127.0.0.1:{port}/v2/customers/search",
            params={"q": "9"},
            auth=(creds["username"], creds["password"]),
            timeout=5,
        )
        assert found.status_code == 200
        assert found.json()["pagination"]["total"] == 5
        number = found.json()["data"][0]["matchedIdentifiers"][0]["idValue"]
        lookup = httpx.get(
            f"http://127.0.0.1:{port}/v2/customers/lookup",
            timeout=5,
            params={"source": "INSTORE", "identifierName": "mobile", "identifierValue": number},
            auth=(creds["username"], creds["password"]),
        )
        assert lookup.status_code == 200
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=20)
    lines = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
    logged = {(x["method"], x["route"], x["status"]) for x in lines if x.get("event") == "request"}
    assert ("GET", "/v2/customers/lookup", 200) in logged
    # Identifiers travel in query strings; the log never carries them, nor the password.
    assert number not in log.read_text() and creds["password"] not in log.read_text()


def test_webhooks_add_and_list_follow_the_cli_contract(env: dict[str, str]) -> None:
    org = json.loads(patron(env, "org", "create", "Acme", "--json").stdout)["orgId"]
    wenv = {**env, "PATRON_WEBHOOK_ALLOW_PRIVATE": "true"}
    out = patron(
        wenv,
        "webhooks",
        "add",
        "--org",
        str(org),
        "--url",
        "http://127.0.0.1:9/hook",
        "--events",
        "customerAdded,customerUpdated",
        "--json",
    )
    assert out.returncode == 0, out.stderr
    added = json.loads(out.stdout)
    assert set(added) == {"id", "secret"} and added["secret"].startswith("whsec_")
    listed = json.loads(patron(wenv, "webhooks", "list", "--org", str(org), "--json").stdout)
    assert [(e["id"], e["events"], e["enabled"]) for e in listed] == [
        (added["id"], ["customerAdded", "customerUpdated"], True)
    ]
    assert added["secret"] not in json.dumps(listed)
    refused = patron(env, "webhooks", "add", "--org", str(org), "--url", "http://127.0.0.1:9/hook", "--json")
    assert refused.returncode == 1 and "PATRON_WEBHOOK_ALLOW_PRIVATE" in refused.stderr


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_events_tail_prints_recent_events_then_follows_new_ones(env: dict[str, str], tmp_path: Path) -> None:
    creds = json.loads(patron(env, "org", "create", "Acme", "--json").stdout)
    org = str(creds["orgId"])
    assert patron(env, "demo", "load", "--org", org, "--customers", "2").returncode == 0
    out = tmp_path / "tail.jsonl"

    def lines_reach(count: int) -> None:
        deadline = time.monotonic() + 20
        while len(out.read_text().splitlines()) < count:
            assert time.monotonic() < deadline, (
                f"events tail printed {len(out.read_text().splitlines())} lines"
            )
            time.sleep(0.1)

    with out.open("w") as sink:
        tail = subprocess.Popen(
            [*PATRON, "events", "tail", "--org", org, "--since", "2", "--poll", "0.1"],
            env=env,
            stdout=sink,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
            # Ctrl-C as a terminal sends it: a shell that started the tests in the background
            # left SIGINT ignored, and an ignored signal stays ignored across exec.
            preexec_fn=_default_sigint,
        )
    try:
        lines_reach(2)  # the two recent events: the tail is running
        assert patron(env, "demo", "load", "--org", org, "--customers", "3", "--seed", "2").returncode == 0
        lines_reach(5)
    finally:
        os.killpg(tail.pid, signal.SIGINT)
        try:
            tail.wait(timeout=10)
        except subprocess.TimeoutExpired:
            tail.kill()
            tail.wait()
            raise
    events = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(events) == 5 and {e["eventType"] for e in events} == {"customerAdded"}
    assert len({e["eventId"] for e in events}) == 5
    assert all(e["attributes"]["orgId"] == creds["orgId"] for e in events)


def test_run_says_where_codes_go_and_its_worker_sends_them(env: dict[str, str], tmp_path: Path) -> None:
    """`patron run` (the API and its delivery worker, two processes) names the messages file
    at start, and a code owed by a request reaches that file through the worker."""
    config = tmp_path / "org.json"
    config.write_text(json.dumps({"sources": {"WEBSITE": []}}))
    creds = json.loads(patron(env, "org", "create", "Acme", "--config", str(config), "--json").stdout)
    port, messages = free_port(), tmp_path / "codes" / "messages.jsonl"
    out = tmp_path / "server.out"
    with out.open("w") as sink:
        server = subprocess.Popen(
            [*PATRON, "run"],
            env={
                **env,
                "PATRON_HOST": "127.0.0.1",
                "PATRON_PORT": str(port),
                "PATRON_MESSAGES_FILE": str(messages),
            },
            stdout=sink,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
    auth = (creds["username"], creds["password"])
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline and server.poll() is None, "the server did not start"
            time.sleep(0.1)
        assert f"written to {messages}" in out.read_text()
        body = {
            "personal_info": {"first_name": "Ada", "last_name": "Byron"},
            "email": [{"address": "ada@ex.org"}],
        }
        uid = httpx.post(f"{base}/user", json=body, auth=auth, timeout=10).json()["info"]["id"]
        verify = {"verify_data": {"email": {"address": "ada@ex.org"}}, "info": {"type": "8"}}
        answer = httpx.post(f"{base}/user/security/verify/{uid}", json=verify, auth=auth, timeout=10)
        assert answer.json()["result"]["code"] == "0000", answer.text
        while not messages.exists() or not messages.read_text().strip():
            assert time.monotonic() < deadline + 30, "the worker sent no message"
            time.sleep(0.1)
        (sent,) = [json.loads(line) for line in messages.read_text().splitlines()]
        assert (sent["channel"], sent["to"], sent["userId"], sent["purpose"]) == (
            "email",
            "ada@ex.org",
            uid,
            "verify_email",
        )
        assert len(sent["code"]) == 6 and sent["code"] not in answer.text
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=20)


def test_till_create_takes_a_role_and_org_create_makes_an_operator(
    env: dict[str, str], tmp_path: Path
) -> None:
    first = json.loads(patron(env, "org", "create", "Acme", "--json").stdout)
    org = str(first["orgId"])
    operator = patron(env, "till", "create", "--org", org, "--role", "operator", "--json")
    assert operator.returncode == 0, operator.stderr
    assert set(json.loads(operator.stdout)) == {"orgId", "username", "password"}
    plain = json.loads(patron(env, "till", "create", "--org", org, "--json").stdout)
    refused = patron(env, "till", "create", "--org", org, "--role", "admin", "--json")
    assert refused.returncode == 1 and "--role is one of till, operator" in refused.stderr
    db = env["PATRON_DATABASE_URL"].removeprefix("sqlite+aiosqlite:///")
    with closing(sqlite3.connect(db)) as conn:
        roles = dict(conn.execute("SELECT code, role FROM till WHERE org_id = ?", (int(org),)).fetchall())
    assert roles == {
        first["username"].split("@")[0]: "operator",
        json.loads(operator.stdout)["username"].split("@")[0]: "operator",
        plain["username"].split("@")[0]: "till",
    }
