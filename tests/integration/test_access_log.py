"""The access log through the real app: one JSON line per request with its request id, the
authenticated org, the route's path template, the status and the latency, and nothing a
client sent as data: no query string, no path values, no body."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.conftest import OrgClient
from tests.support import register_body

FIELDS = ["timestamp", "level", "logger", "event", "method", "route", "org", "status", "ms", "request_id"]
EMAIL = "ann.secret@example.com"


def access_lines(err: str) -> list[dict[str, Any]]:
    entries = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
    return [e for e in entries if e["logger"] == "patron.access"]


async def test_each_request_logs_route_template_org_status_latency_and_no_values(
    client: OrgClient, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    body = register_body()
    mobile = body["profiles"][0]["identifiers"][0]["value"]
    created = await client.post("/v2/customers", json=body, headers={"X-Request-Id": "req-created-1"})
    assert created.status_code == 200, created.text
    looked_up = await client.get(
        "/v2/customers/lookup",
        params={"source": "INSTORE", "identifierName": "mobile", "identifierValue": mobile},
    )
    assert looked_up.status_code == 200
    # A user id in the path may be an email: the template stands in for it.
    missing = await client.get(f"/user/{EMAIL}")
    assert missing.status_code in (400, 404)
    # No route matches: route "-" and no path at all.
    unmatched = await client.get(f"/nothing/here/{EMAIL}")
    assert unmatched.status_code == 404
    refused = await client.harness.http.get("/v2/customers/lookup", auth=("nobody", "wrong"))
    assert refused.status_code == 401

    err = capsys.readouterr().err
    lines = access_lines(err)
    assert len(lines) == 5, err
    for entry in lines:
        assert list(entry) == FIELDS, entry
        assert entry["event"] == "request" and entry["level"] == "info"
        assert isinstance(entry["ms"], float) and entry["ms"] >= 0
    add, lookup, user, nothing, unauthenticated = lines
    assert (add["method"], add["route"], add["org"], add["status"], add["request_id"]) == (
        "POST",
        "/v2/customers",
        client.org_id,
        200,
        "req-created-1",
    )
    assert (lookup["route"], lookup["org"], lookup["status"]) == ("/v2/customers/lookup", client.org_id, 200)
    assert lookup["request_id"] == looked_up.headers["x-request-id"]
    assert (user["route"], user["org"], user["status"]) == (
        "/user/{user_id}",
        client.org_id,
        missing.status_code,
    )
    assert (nothing["route"], nothing["org"], nothing["status"]) == ("-", None, 404)
    assert (unauthenticated["route"], unauthenticated["org"], unauthenticated["status"]) == (
        "/v2/customers/lookup",
        None,
        401,
    )
    # No value a client sent as data reached the log: not the mobile, not the email.
    logged = "\n".join(json.dumps(e) for e in lines)
    assert mobile not in logged and EMAIL not in logged and "nothing/here" not in logged
