"""The HTTP/1.1 protocol Patron is served with: uvicorn's httptools protocol with bounds.

uvicorn waits for a request's line and headers as long as a client cares to send them, and
takes URLs and header blocks of any size. A few slow or huge requests would then hold
connections and memory. This protocol bounds them, and answers in the API's envelope:

- the request line and headers must be complete within `header_timeout_seconds` of the
  connection's start or of the previous response's end: else 408, and the connection closes;
- a URL longer than `max_url_bytes`: 414; a header block longer than `max_header_bytes`: 431;
- a request the parser refuses: 400 in the envelope (uvicorn's own answer is plain text).

The body's own deadline is the edge middleware's (api/edge.py), where a 408 can still be
answered inside the request. Pass the class to uvicorn as `http=PatronHttpProtocol`.
"""

from __future__ import annotations

import asyncio
import functools
from typing import Any

from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

from patron.api.surfaces import error_bytes
from patron.config import Settings

_REFUSALS = {
    400: "Input is invalid. The HTTP request could not be parsed.",
    408: "Request timeout: the request line and headers did not arrive in time.",
    414: "Request-URI too long.",
    431: "Request header fields too large.",
}


class _Refused(Exception):
    """Raised in a parser callback to stop parsing; `_refusal` says what to answer."""


@functools.cache
def _limits() -> tuple[float, int, int]:
    settings = Settings()
    return settings.header_timeout_seconds, settings.max_url_bytes, settings.max_header_bytes


class PatronHttpProtocol(HttpToolsProtocol):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.header_timeout, self.max_url_bytes, self.max_header_bytes = _limits()
        self._header_bytes = 0
        self._refusal: int | None = None
        self._header_timer: asyncio.TimerHandle | None = None

    # The header deadline runs from the connection's start and from each response's end to
    # the end of the next request's headers.
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._header_bytes = 0
        if self._header_timer is None:
            self._arm()

    def on_url(self, url: bytes) -> None:
        super().on_url(url)
        if len(self.url) > self.max_url_bytes:
            self._refusal = 414
            raise _Refused

    def on_header(self, name: bytes, value: bytes) -> None:
        self._header_bytes += len(name) + len(value) + 4
        if self._header_bytes > self.max_header_bytes:
            self._refusal = 431
            raise _Refused
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self._disarm()
        super().on_headers_complete()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing():
            self._arm()

    def send_400_response(self, msg: str) -> None:
        # uvicorn calls this when the parser stopped: on a malformed request, or because one
        # of the callbacks above refused the request.
        self._refuse(self._refusal or 400)

    def _arm(self) -> None:
        self._disarm()
        self._header_timer = self.loop.call_later(self.header_timeout, self._headers_too_slow)

    def _disarm(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _headers_too_slow(self) -> None:
        self._header_timer = None
        if self.transport.is_closing():
            return
        if self.cycle is not None and not self.cycle.response_complete:
            return  # a request is being answered; its headers were complete
        self._refuse(408)

    def _refuse(self, status: int) -> None:
        self._disarm()
        if self.transport.is_closing():
            return
        body = error_bytes({"type": "http", "path": _path_of(self.url)}, status, status, _REFUSALS[status])
        head = [STATUS_LINE[status]]
        for name, value in self.server_state.default_headers:
            head.extend([name, b": ", value, b"\r\n"])
        head.extend(
            [
                b"content-type: application/json\r\n",
                b"content-length: " + str(len(body)).encode("ascii") + b"\r\n",
                b"x-content-type-options: nosniff\r\n",
                b"connection: close\r\n",
                b"\r\n",
                body,
            ]
        )
        self.transport.write(b"".join(head))
        self.transport.close()


def _path_of(url: bytes | None) -> str:
    if not url:
        return ""
    return url.split(b"?", 1)[0][:256].decode("latin-1")
