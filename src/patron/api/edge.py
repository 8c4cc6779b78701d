"""The one middleware every HTTP request passes: what the edge owes each request and response.

- A request id: the client's `X-Request-Id` when it is sane, else a new one; echoed back.
- One access-log line: method, route, org, status, duration (`ms`) and request id. The route
  is the matched route's path template (`/v2/customers/{customerId}`), never the raw path:
  paths and query strings carry identifier values (user ids that are emails, lookups). A
  request no route matched logs route "-" and no path at all. The org is the authenticated
  org's id (set in `scope["state"]` by whoever authenticated the request), else null.
  Never a header, a query string or a body.
- Response headers: `X-Content-Type-Options: nosniff` on every response and `Cache-Control:
  no-store` on every JSON response (they carry personal data; no cache may keep them).
- A deadline for the request body: a client that has not sent its whole body within
  `body_timeout` seconds of the request's start gets 408 in its surface's envelope (slow
  clients hold a connection and a task; the server bounds the headers, see api/server.py).
- A last resort: an exception nothing else handled is logged with its traceback and answered
  with 500 in the surface's envelope, and the connection stays usable (letting it reach the
  server would make it drop the keep-alive connection under the client's next request).
- For a write carrying `Idempotency-Key`: the key and a hash of the body as the route reads
  it, for the write path (api/writes.py).
- With `count_statements`, `X-Patron-Statements: N` (the benchmark's statements per request).
- The request's metrics: one observation of the latency histogram by route template, method
  and status class (metrics.py).
"""

from __future__ import annotations

import asyncio
import re
import time
import uuid

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from patron import metrics
from patron.api.surfaces import INTERNAL, error_bytes
from patron.api.writes import IdempotencyDraft
from patron.db.engine import statement_counter
from patron.db.tx import Counter
from patron.errors import PatronError

access = structlog.get_logger("patron.access")
log = structlog.get_logger("patron.api")
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,64}$")
_NOSNIFF = (b"x-content-type-options", b"nosniff")
_NO_STORE = (b"cache-control", b"no-store")
_WRITES = frozenset(("POST", "PUT", "PATCH", "DELETE"))


class BodyTimeout(PatronError):
    status = 408

    def __init__(self, seconds: float) -> None:
        super().__init__(408, f"Request timeout: the request body did not arrive within {seconds:g} s.")


class EdgeMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        *,
        access_log: bool = True,
        count_statements: bool = False,
        body_timeout: float = 30.0,
    ) -> None:
        self.app = app
        self.access_log = access_log
        self.count_statements = count_statements
        self.body_timeout = body_timeout
        self.metrics = metrics.get()  # one histogram observation per request (metrics.py)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = None
        draft = None
        writes = scope["method"] in _WRITES
        for name, value in scope["headers"]:
            if name == b"x-request-id":
                given = value.decode("latin-1")
            elif writes and name == b"idempotency-key":
                draft = IdempotencyDraft(value)
        request_id = given if given and _REQUEST_ID.match(given) else uuid.uuid4().hex
        state = scope.setdefault("state", {})
        state["request_id"] = request_id
        if draft is not None:
            state["idempotency"] = draft
        id_header = (b"x-request-id", request_id.encode())
        started = time.perf_counter()
        status = 500
        response_started = False
        counter = None
        if self.count_statements:
            counter = Counter()
            statement_counter.set(counter)
        deadline = asyncio.get_running_loop().time() + self.body_timeout
        body_done = False

        async def receive_by_deadline() -> Message:
            nonlocal body_done
            if body_done:
                return await receive()
            try:
                async with asyncio.timeout_at(deadline):
                    message = await receive()
            except TimeoutError:
                raise BodyTimeout(self.body_timeout) from None
            if draft is not None and message["type"] == "http.request":
                draft.body.update(message.get("body", b""))
            if message["type"] != "http.request" or not message.get("more_body", False):
                body_done = True
            return message

        async def send_with_headers(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                status = message["status"]
                response_started = True
                headers = list(message.get("headers", []))
                headers.append(id_header)
                headers.append(_NOSNIFF)
                is_json = any(n == b"content-type" and v.startswith(b"application/json") for n, v in headers)
                if is_json and not any(n == b"cache-control" for n, _ in headers):
                    headers.append(_NO_STORE)
                if counter is not None:
                    headers.append((b"x-patron-statements", str(counter.statements).encode()))
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, receive_by_deadline, send_with_headers)
        except Exception:
            route = scope.get("route")
            log.exception(
                "unhandled error",
                method=scope["method"],
                route=getattr(route, "path", "-"),
                request_id=request_id,
            )
            if not response_started:
                body = error_bytes(scope, 500, 500, INTERNAL)
                await send_with_headers(
                    {
                        "type": "http.response.start",
                        "status": 500,
                        "headers": [
                            (b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode()),
                        ],
                    }
                )
                await send({"type": "http.response.body", "body": body})
        finally:
            self.metrics.observe_request(scope, status, time.perf_counter() - started)
            if self.access_log:
                route = scope.get("route")  # set by the router on a match
                access.info(
                    "request",
                    method=scope["method"],
                    route=getattr(route, "path", "-"),
                    org=state.get("org_id"),
                    status=status,
                    ms=round((time.perf_counter() - started) * 1000, 2),
                    request_id=request_id,
                )
