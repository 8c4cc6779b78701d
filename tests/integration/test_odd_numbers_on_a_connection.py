"""Big or odd numbers over a real connection (issue 8): each request is answered 400 or 404
in the envelope, and the connection serves the next request."""

from __future__ import annotations

import base64

import orjson

from patron.orgs import service as orgs
from patron.orgs.config import OrgConfig
from tests.conftest import CONFIG
from tests.integration.test_server_edges import Served, _envelope_code, _open, _response, served

__all__ = ["served"]  # the fixture, served by the module that defines it


async def test_odd_numbers_are_answered_and_the_connection_stays_open(served: Served) -> None:
    creds = await served.app.state.db.write(
        orgs.create_org,
        served.app.state.authenticator.keys,
        name="Numbers",
        config=OrgConfig.model_validate(CONFIG),
    )
    auth = b"Authorization: Basic " + base64.b64encode(f"{creds.username}:{creds.password}".encode())
    body = orjson.dumps(
        {
            "loyaltyInfo": {"loyaltyType": "loyalty"},
            "profiles": [{"source": "INSTORE", "identifiers": [{"type": "mobile", "value": "919812345678"}]}],
            "loyaltyProgramEnrollments": [{"programId": 2**63, "loyaltyPoints": 1}],
        }
    )
    requests = [
        (b"GET /v2/customers/%C2%B2?source=ALL HTTP/1.1\r\nHost: t\r\n" + auth + b"\r\n\r\n", 404, 8015),
        (
            b"GET /v2/customers/%D9%A1%D9%A2?source=ALL HTTP/1.1\r\nHost: t\r\n" + auth + b"\r\n\r\n",
            404,
            8015,
        ),
        (
            b"PUT /v2/customers/9223372036854775808?source=INSTORE HTTP/1.1\r\nHost: t\r\n"
            + auth
            + b"\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}",
            404,
            8009,
        ),
        (b"GET /v2/customers/search?q=a&limit=%C2%B2 HTTP/1.1\r\nHost: t\r\n" + auth + b"\r\n\r\n", 400, 400),
        (
            b"POST /v2/customers HTTP/1.1\r\nHost: t\r\n" + auth + b"\r\nContent-Type: application/json\r\n"
            b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body,
            400,
            400,
        ),
    ]
    reader, writer = await _open(served.port)
    for raw, status, code in requests:
        writer.write(raw)
        got, headers, answer = await _response(reader)
        assert (got, _envelope_code(answer)) == (status, code), raw[:60]
        assert headers.get("connection") != "close"
    writer.write(b"GET /health HTTP/1.1\r\nHost: t\r\n\r\n")
    status, _, answer = await _response(reader)
    assert status == 200 and orjson.loads(answer) == {"status": "ok"}
    writer.close()
