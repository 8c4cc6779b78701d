"""The OpenAPI document tells the truth: schemathesis calls every operation, on both engines,
and every answer must be documented (status, content type, schema) and none a 5xx.

The app runs in-process on the tests' event loop (its database is bound to that loop), so
schemathesis does not call it through its own transport: Hypothesis runs in a worker thread,
and each generated case is sent through the harness's httpx client on the loop, then
checked with `case.validate_response`.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, Verbosity, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from patron.api import ops
from patron.api.v2 import customers
from patron.main import ROUTERS
from tests.conftest import Harness, OrgClient
from tests.support import mobile, register_body

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
BASE_URL = "http://patron.test"
# Examples per operation and pass; no shrinking (a failure is reported as found), so the run
# stays bounded (about 60 s per engine on two cores, without coverage).
FUZZ_EXAMPLES = 15
NEGATIVE_EXAMPLES = 6
KNOWN_EXAMPLES = 10
# The use cases that raise RuleViolation (a business rule's refusal, 422 in the envelope).
ANSWER_422 = {
    "POST /v2/customers",
    "PUT /v2/customers/lookup",
    "PUT /v2/customers/{customerId}",
    "POST /v2/customers/{customerId}/changeIdentifier",
}
# The bulk operations take and answer JSON arrays, as seed 003 shows (003:L610, L839, L1577,
# L1678): their body and 200 answer are arrays of objects; every other is an object.
ARRAYS = {"POST /v2/customers/bulk", "PUT /v2/customers/bulk"}
# Set Customer Image takes the seed's multipart/form-data upload (003:L3773-3775); the image
# bytes route answers the image itself (200) or nothing (304); their errors are JSON as usual.
MULTIPART = {"POST /v2/customers/{userId}/setImage"}
BINARY = {"GET /v2/customers/{userId}/images/{fileHandle}"}
# A user document's attachment bytes: an image or a PDF (api/user/documents.py).
FILES = {"GET /user/document/{user_id}/attachment/{file_id}": {"application/pdf"}}
# Prometheus's text format (api/ops.py).
TEXT = {"GET /metrics"}


async def _document(harness: Harness) -> dict[str, Any]:
    r = await harness.http.get("/openapi.json")
    assert r.status_code == 200
    document: dict[str, Any] = r.json()
    return document


def _operations(document: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in document["paths"].items():
        for method, operation in item.items():
            yield method.upper(), path, operation


def _resolve(document: dict[str, Any], ref: str) -> Any:
    assert ref.startswith("#/"), ref
    node: Any = document
    for part in ref[2:].split("/"):
        node = node[part]
    return node


def _refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref":
                yield value
            else:
                yield from _refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _refs(value)


async def test_every_operation_but_health_requires_http_basic(client: OrgClient) -> None:
    document = await _document(client.harness)
    assert document["components"]["securitySchemes"] == {"HTTPBasic": {"type": "http", "scheme": "basic"}}
    for method, path, operation in _operations(document):
        expected = None if path in ("/health", "/ready", "/metrics") else [{"HTTPBasic": []}]
        assert operation.get("security") == expected, f"{method} {path}"
    assert "/docs" not in document["paths"] and "/openapi.json" not in document["paths"]


async def test_every_reference_resolves(client: OrgClient) -> None:
    document = await _document(client.harness)
    refs = set(_refs(document))
    assert refs, "the document references its component schemas"
    for ref in refs:
        assert isinstance(_resolve(document, ref), dict), ref


async def test_no_fastapi_validation_error_and_422_only_for_business_rules(client: OrgClient) -> None:
    document = await _document(client.harness)
    schemas = document["components"]["schemas"]
    assert "HTTPValidationError" not in schemas and "ValidationError" not in schemas
    declaring_422 = set()
    for method, path, operation in _operations(document):
        answer = operation["responses"].get("422")
        if answer is not None:
            declaring_422.add(f"{method} {path}")
            envelope = "UserErrorEnvelope" if path.lower().startswith("/user") else "ErrorEnvelope"
            assert answer["content"]["application/json"]["schema"] == {
                "$ref": f"#/components/schemas/{envelope}"
            }
    # Business rules refuse writes: a read never answers 422.
    assert declaring_422 >= ANSWER_422
    assert all(key.split()[0] in {"POST", "PUT", "DELETE"} for key in declaring_422), declaring_422


async def test_every_answer_declares_an_object_schema(client: OrgClient) -> None:
    document = await _document(client.harness)
    for method, path, operation in _operations(document):
        statuses = set(operation["responses"])
        assert any(s.startswith("2") for s in statuses), f"{method} {path}"
        assert {"500"} <= statuses
        if path not in ("/health", "/ready", "/metrics"):
            assert {"401", "429"} <= statuses, f"{method} {path}"
        if f"{method} {path}" in MULTIPART:
            assert {"400", "408", "413"} <= statuses, f"{method} {path}"
            schema = operation["requestBody"]["content"]["multipart/form-data"]["schema"]
            assert schema["required"] == ["file"] and schema["properties"]["file"]["format"] == "binary"
        elif "requestBody" in operation:
            assert {"400", "408", "413"} <= statuses, f"{method} {path}"
            body = operation["requestBody"]["content"]["application/json"]["schema"]
            kind = "array" if f"{method} {path}" in ARRAYS else "object"
            assert set(body) == {"$ref"} and _resolve(document, body["$ref"])["type"] == kind
        for status, answer in operation["responses"].items():
            if f"{method} {path}" in TEXT and status == "200":
                assert set(answer["content"]) == {"text/plain"}, f"{method} {path} {status}"
                continue
            if (f"{method} {path}" in BINARY or f"{method} {path}" in FILES) and status in ("200", "304"):
                images = {"image/jpeg", "image/png", "image/webp"} if status == "200" else set()
                if status == "200":
                    images |= FILES.get(f"{method} {path}", set())
                assert set(answer.get("content", {})) == images, f"{method} {path} {status}"
                continue
            schema = answer["content"]["application/json"]["schema"]
            assert set(schema) == {"$ref"}, f"{method} {path} {status}: {schema}"
            kind = "array" if f"{method} {path}" in ARRAYS and status == "200" else "object"
            assert _resolve(document, schema["$ref"])["type"] == kind, f"{method} {path} {status}"
            if not status.startswith("2"):
                envelope = "UserErrorEnvelope" if path.lower().startswith("/user") else "ErrorEnvelope"
                assert schema["$ref"] == f"#/components/schemas/{envelope}", f"{method} {path} {status}"


async def test_seed_operation_names_are_the_summaries(client: OrgClient) -> None:
    document = await _document(client.harness)
    summaries = {f"{m} {p}": o["summary"] for m, p, o in _operations(document)}
    assert summaries["POST /v2/customers"] == "Register Customer"
    assert summaries["GET /v2/customers/lookup"] == "Fetch Customer ID"
    change = document["paths"]["/v2/customers/{customerId}/changeIdentifier"]["post"]
    assert change["x-seed-operations"] == [
        "Update Customer Identifiers/Issue Card",
        "Issue Card to an Existing Customer",
    ]


def test_every_route_is_called_on_the_lean_path() -> None:
    routes = [route for router in (*ROUTERS, ops.router) for route in router.routes]
    assert customers.router in ROUTERS and len(routes) >= 25
    assert [route.path for route in routes if not getattr(route, "lean", False)] == []


async def test_docs_use_only_local_assets(client: OrgClient) -> None:
    http = client.harness.http
    page = await http.get("/docs")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    urls = re.findall(r"""(?:src|href)="([^"]+)"|url: '([^']+)'""", page.text)
    found = [a or b for a, b in urls]
    assert "/openapi.json" in found
    assert all(u.startswith("/") and not u.startswith("//") for u in found), found
    kinds = {"js": "text/javascript", "css": "text/css", "png": "image/png", "json": "application/json"}
    for url in found:
        r = await http.get(url)
        assert r.status_code == 200, url
        assert r.headers["content-type"].startswith(kinds[url.rsplit(".", 1)[-1]]), url
    assert (await http.get("/redoc")).status_code == 404


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "Input is invalid. The request body is empty; send a JSON object."),
        (b"[1, 2]", "Input is invalid. The body must be a JSON object."),
        (b'{"profiles": 3}', "Input is invalid. profiles: Input should be a valid list."),
    ],
)
async def test_a_body_that_is_not_the_model_is_400_in_the_envelope(
    client: OrgClient, content: bytes, message: str
) -> None:
    r = await client.post("/v2/customers", content=content, headers={"content-type": "application/json"})
    assert r.status_code == 400
    assert r.json() == {"warnings": [], "errors": [{"status": False, "code": 400, "message": message}]}


async def test_a_body_that_is_not_json_is_400_naming_the_problem(client: OrgClient) -> None:
    r = await client.put("/v2/customers/1", content=b"{nope", headers={"content-type": "application/json"})
    assert r.status_code == 400
    assert r.json()["errors"][0]["message"].startswith("Input is invalid. The body is not valid JSON: ")


async def test_credentials_are_checked_before_the_body_is_read(client: OrgClient) -> None:
    r = await client.harness.http.post("/v2/customers", content=b"{nope")
    assert r.status_code == 401
    assert r.headers["www-authenticate"] == 'Basic realm="patron"'
    assert r.json()["errors"][0]["code"] == 401


class _Sender:
    """Send cases through the harness's client, on the loop the app runs on; tally the answers."""

    def __init__(self, harness: Harness, auth: dict[str, str], loop: asyncio.AbstractEventLoop) -> None:
        self.harness = harness
        self.auth = auth
        self.loop = loop
        self.statuses: dict[str, Counter[int]] = defaultdict(Counter)

    def __call__(self, case: Any) -> httpx.Response:
        kwargs = case.as_transport_kwargs(base_url=BASE_URL, headers=self.auth)
        headers = {k: v for k, v in dict(kwargs["headers"]).items() if k.lower() != "connection"}
        content: bytes | None = None
        if "json" in kwargs:
            content = json.dumps(kwargs["json"]).encode()  # escaped as `requests` sends it
        elif "data" in kwargs:
            data = kwargs["data"]
            content = data.encode() if isinstance(data, str) else data
        call = self.harness.http.request(
            kwargs["method"], kwargs["url"], params=kwargs.get("params"), headers=headers, content=content
        )
        response = asyncio.run_coroutine_threadsafe(call, self.loop).result(timeout=60)
        self.statuses[case.operation.label][response.status_code] += 1
        return response


def _run(operation: Any, strategy: Any, examples: int, send: _Sender) -> str | None:
    """Run one operation's examples; the failure found, if any."""

    @settings(
        max_examples=examples,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
        verbosity=Verbosity.quiet,
    )
    @given(case=strategy)
    def check(case: Any) -> None:
        case.validate_response(send(case), checks=CHECKS)

    try:
        check()
    except Exception as exc:
        return f"{operation.label}: {exc}"
    return None


def _example_body(document: dict[str, Any], declared: dict[str, Any]) -> Any:
    """The first example of an operation's body model, if it declares one."""
    body = declared.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")
    if body is None:
        return None
    examples = _resolve(document, body["$ref"]).get("examples") if "$ref" in body else None
    return examples[0] if examples else None


def _known(op: Any, known: dict[str, Any]) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """Path and query values that address the records the test made, for this operation."""
    customer, endpoint = known["customerId"], known["endpointId"]
    ids = {"customerId": customer, "userId": customer, "endpointId": endpoint}
    names = re.findall(r"\{(\w+)\}", op.path)
    # Path parameters the test made no record for (a goodwill request, a partner program)
    # get an id nothing holds: every parameter must be given once one is.
    path = {name: ids.get(name, "1") for name in names} if ids.keys() & set(names) else {}
    query = None
    if op.path.startswith("/v2/customers/lookup"):
        query = known["lookup"]
    elif "{customerId}" in op.path:
        query = {"source": known["lookup"]["source"]}
    return path or None, query


def _passes(schema: Any, send: _Sender, known: dict[str, Any]) -> list[str]:
    """Every operation fuzzed with valid and invalid input, then with the records that exist:
    its body model's example once, then generated bodies."""
    failures = []
    operations = [result.ok() for result in schema.get_all_operations()]
    # Deleting the known endpoint last keeps it for the other operations.
    operations.sort(key=lambda op: op.method.upper() == "DELETE")
    for op in operations:
        declared = schema.raw_schema["paths"][op.path][op.method.lower()]
        passes = [(GenerationMode.POSITIVE, FUZZ_EXAMPLES)]
        if declared.get("parameters") or declared.get("requestBody") or declared.get("security"):
            passes.append((GenerationMode.NEGATIVE, NEGATIVE_EXAMPLES))  # there is something to get wrong
        for mode, examples in passes:
            failure = _run(op, op.as_strategy(generation_mode=mode), examples, send)
            if failure:
                failures.append(f"[{mode.value}] {failure}")
        path, query = _known(op, known)
        if path is None and query is None:
            continue
        example = _example_body(schema.raw_schema, declared)
        if example is not None:
            case = op.Case(path_parameters=path, query=query, body=example, media_type="application/json")
            try:
                case.validate_response(send(case), checks=CHECKS)
            except Exception as exc:
                failures.append(f"[known records, example body] {op.label}: {exc}")
        failure = _run(op, op.as_strategy(path_parameters=path, query=query), KNOWN_EXAMPLES, send)
        if failure:
            failures.append(f"[known records] {failure}")
    return failures


async def test_every_operation_answers_as_its_document_says(client: OrgClient) -> None:
    harness = client.harness
    number = mobile()
    registered = await client.post("/v2/customers", json=register_body(number))
    assert registered.status_code == 200, registered.text
    # A receiver nobody listens on: test sends and deliveries fail fast, as an answer says.
    endpoint = await client.post("/v2/webhooks", json={"url": "http://127.0.0.1:9/hook", "enabled": False})
    assert endpoint.status_code == 201, endpoint.text
    known = {
        "customerId": str(registered.json()["createdId"]),
        "endpointId": str(endpoint.json()["id"]),
        "lookup": {"identifierName": "mobile", "identifierValue": number, "source": "INSTORE"},
    }
    schema = schemathesis.openapi.from_dict(await _document(harness))
    send = _Sender(harness, client.auth, asyncio.get_running_loop())
    started = time.monotonic()
    failures = await asyncio.to_thread(_passes, schema, send, known)
    print(f"\nschemathesis on {harness.engine}: {time.monotonic() - started:.1f} s")
    for label, statuses in send.statuses.items():
        print(f"  {label}: {dict(sorted(statuses.items()))}")
    assert not failures, "\n\n".join(failures)
