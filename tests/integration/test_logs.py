"""Every line `patron` writes on stderr is one JSON object (patron.logs): alembic's during
`patron migrate`, uvicorn's and Patron's own during `patron run`, each with its timestamp,
level, logger and event; and no line carries a secret or an identifier value."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

from tests.ports import free_port

PATRON = [sys.executable, "-m", "patron.cli"]
KEYS = ("timestamp", "level", "logger", "event")
LEVELS = {"debug", "info", "warning", "error", "critical"}


def json_lines(stderr: str) -> list[dict[str, Any]]:
    """Every line of stderr as JSON with the four leading keys; fails on any other line."""
    lines = stderr.splitlines()
    assert lines, "nothing was logged"
    out = []
    for number, line in enumerate(lines, 1):
        try:
            entry = json.loads(line)
        except json.JSONDecodeError as exc:
            raise AssertionError(f"stderr line {number} is not JSON: {line!r}") from exc
        assert isinstance(entry, dict), line
        assert tuple(entry)[:4] == KEYS, f"line {number} starts with {tuple(entry)[:4]}: {line}"
        assert entry["level"] in LEVELS and isinstance(entry["event"], str), line
        assert datetime.fromisoformat(entry["timestamp"]).utcoffset() is not None, line
        out.append(entry)
    return out


def test_migrate_and_run_write_only_json_lines(tmp_path: Path) -> None:
    port = free_port()
    env = {
        **os.environ,
        "PATRON_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'logs.db'}",
        "PATRON_SECRET_KEY_FILE": str(tmp_path / "secret.key"),
        "PATRON_HOST": "127.0.0.1",
        "PATRON_PORT": str(port),
        "PATRON_LOG_LEVEL": "INFO",
    }
    migrated = subprocess.run([*PATRON, "migrate"], env=env, capture_output=True, text=True, timeout=120)
    assert migrated.returncode == 0, migrated.stderr
    assert migrated.stdout == "schema is up to date\n"
    lines = json_lines(migrated.stderr)
    assert any(e["logger"].startswith("alembic") and e["event"].startswith("Running upgrade") for e in lines)

    created = subprocess.run(
        [*PATRON, "org", "create", "Logs", "--json"], env=env, capture_output=True, text=True, timeout=120
    )
    assert created.returncode == 0, created.stderr
    creds = json.loads(created.stdout)

    log = tmp_path / "server.log"
    with log.open("w") as sink:
        server = subprocess.Popen(
            [*PATRON, "run"], env=env, stdout=subprocess.DEVNULL, stderr=sink, start_new_session=True
        )
    secret_value = "919812345678"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, log.read_text()
            assert server.poll() is None, log.read_text()
            time.sleep(0.1)
        lookup = httpx.get(
            f"http://127.0.0.1:{port}/v2/customers/lookup",
            params={"source": "INSTORE", "identifierName": "mobile", "identifierValue": secret_value},
            auth=(creds["username"], creds["password"]),
            timeout=5,
        )
        assert lookup.status_code == 404
        # A request uvicorn itself refuses: uvicorn logs it (a warning), as JSON too.
        with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
            raw.sendall(b"NOT HTTP AT ALL\r\n\r\n")
            raw.recv(1024)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=20)

    text = log.read_text()
    lines = json_lines(text)
    by_logger = {e["logger"] for e in lines}
    assert "uvicorn.error" in by_logger, by_logger
    assert any(e["logger"].startswith("alembic") for e in lines), by_logger  # run migrates
    assert any(e["event"].startswith("Uvicorn running on") for e in lines)
    assert any(e["logger"] == "uvicorn.error" and e["level"] == "warning" for e in lines), text
    requests = [e for e in lines if e["logger"] == "patron.access" and e["event"] == "request"]
    assert ("GET", "/v2/customers/lookup", creds["orgId"], 404) in {
        (e["method"], e["route"], e["org"], e["status"]) for e in requests
    }
    # Neither the identifier value (it travelled in the query string) nor the key is logged.
    assert secret_value not in text and creds["password"] not in text
