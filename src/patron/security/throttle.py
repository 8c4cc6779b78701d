"""Failed-login throttling per (till, client address), kept in the database so every API
process sees the same counts.

The window is fixed and opened by a failure: the first failed login of a till from an
address opens a window of `window` seconds and counts 1; each failure inside it counts one
more; once `max_failures` are counted, that till is refused from that address (429,
Retry-After = the seconds left in the window) without its key being checked, and nothing
more is written; the first failure after the window closed opens a new one. A successful
login from that address forgets the row. Other addresses, and other tills from the same
address, are unaffected: someone else's failures never lock a till's owner out.

The state is read in the login statement itself (orgs/repository.py, a LEFT JOIN on the
row's primary key), so a successful login costs no statement more; only a failure writes
(one upsert), and a success writes only when a row of its own address exists.

The address is the peer of the connection (the ASGI scope's client). Behind a reverse
proxy that is the proxy's address, shared by every client; `trusted_proxies` (off by
default) names the proxies whose `X-Forwarded-For` is believed (`client_address`).
"""

from __future__ import annotations

import ipaddress
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

MAX_CLIENT = 64  # the column's width; an address (or IPv6 /64 network) is far shorter

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True, slots=True)
class LoginThrottle:
    """The policy: `max_failures` failures inside a window of `window` seconds."""

    max_failures: int
    window: float

    def since(self, now: datetime) -> datetime:
        """Windows that opened at or before this instant have closed."""
        return now - timedelta(seconds=self.window)

    def retry_after(self, failures: int, window_start: datetime | None, now: datetime) -> int:
        """Seconds until this (till, address) may try again; 0: it may try now."""
        if window_start is None or failures < self.max_failures:
            return 0
        left = (window_start - self.since(now)).total_seconds()
        return max(1, math.ceil(left)) if left > 0 else 0


class ClientAddresses:
    """The address a request is counted under."""

    def __init__(self, trusted_proxies: Iterable[str] = ()) -> None:
        self.trusted: tuple[Network, ...] = tuple(
            ipaddress.ip_network(p.strip(), strict=False) for p in trusted_proxies if p.strip()
        )

    def of_scope(self, scope: Mapping[str, Any]) -> str:
        """The address of an ASGI request (its `client`, and its X-Forwarded-For headers
        when the peer is a trusted proxy)."""
        peer = scope.get("client")
        host = peer[0] if peer else None
        if not self.trusted:
            return bucket(host)
        forwarded = ", ".join(
            value.decode("latin-1") for name, value in scope.get("headers", ()) if name == b"x-forwarded-for"
        )
        return self.of(host, forwarded or None)

    def of(self, peer: str | None, forwarded_for: str | None = None) -> str:
        """The peer's address, or with trusted proxies, the right-most address of
        X-Forwarded-For that is not one of them (what the nearest untrusted hop said)."""
        if not self.trusted or not forwarded_for or not self._is_trusted(peer):
            return bucket(peer)
        for hop in reversed(forwarded_for.split(",")):
            address = _parse(hop.strip())
            if address is None:
                break  # garbage in the chain: believe no further
            if not any(address in net for net in self.trusted):
                return bucket(str(address))
        return bucket(peer)

    def _is_trusted(self, peer: str | None) -> bool:
        address = _parse(peer or "")
        return address is not None and any(address in net for net in self.trusted)


def _parse(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def bucket(peer: str | None) -> str:
    """The key an address is counted under: an IPv4 address as is; an IPv6 address by its
    /64 (one subscriber's network: a host picks any address in it); anything else (no
    peer, a Unix socket) as one shared bucket of its own text, cut to the column."""
    if not peer:
        return ""
    if ":" not in peer:
        return peer[:MAX_CLIENT]
    address = _parse(peer)
    if address is None:
        return peer[:MAX_CLIENT]
    if isinstance(address, ipaddress.IPv4Address):
        return str(address)
    return str(ipaddress.IPv6Network((address, 64), strict=False))
