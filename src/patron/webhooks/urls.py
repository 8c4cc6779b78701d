"""Endpoint URLs: well-formed http(s), and never a private or loopback address unless the
operator allows it (PATRON_WEBHOOK_ALLOW_PRIVATE=true), checked when added and again before
every delivery, so a name that later resolves inward is refused too."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from urllib.parse import urlsplit

from patron.errors import InvalidInput

MAX_URL = 2000


class UnsafeAddress(Exception):
    """The URL's host is, or resolves to, an address deliveries must not reach."""


class Unresolvable(UnsafeAddress):
    """The URL's host does not resolve (now); deliveries retry, adding it is allowed."""


def check_url(url: str) -> str:
    """Validate the shape of an endpoint URL; return it stripped."""
    url = (url or "").strip(" ")
    if not url or len(url) > MAX_URL:
        raise InvalidInput(400, f"url must be 1 to {MAX_URL} characters.")
    if not all("\x21" <= ch <= "\x7e" for ch in url):
        # A control character or space would end up in the request line (header injection);
        # other characters are sent percent-encoded, hosts in their xn-- form.
        raise InvalidInput(
            400,
            "url may hold only visible ASCII characters: percent-encode the path and query,"
            " write an international host name in its xn-- form.",
        )
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise InvalidInput(400, "url must start with https:// or http://.")
    if not parts.hostname:
        raise InvalidInput(400, "url has no host.")
    if parts.username or parts.password:
        raise InvalidInput(400, "url must not carry credentials; the signature authenticates Patron.")
    if parts.fragment:
        raise InvalidInput(400, "url must not have a #fragment.")
    try:
        _ = parts.port
    except ValueError as exc:
        raise InvalidInput(400, "url has an invalid port.") from exc
    return url


def forbidden(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """Whether deliveries must not reach this address: anything not globally routable
    (private, loopback, link-local, carrier-grade NAT 100.64.0.0/10, reserved ...), and
    IPv6 forms that embed such an IPv4 address (mapped, 6to4, Teredo)."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = address.ipv4_mapped or address.sixtofour or (address.teredo[1] if address.teredo else None)
        if embedded is not None and forbidden(embedded):
            return True
    return not address.is_global or address.is_multicast


async def checked_addresses(host: str, port: int | None, *, allow_private: bool) -> list[str]:
    """The addresses of a host, each checked: raise UnsafeAddress if any is not public (or
    Unresolvable), unless private addresses are allowed. Connect to one of these, never to
    a second lookup of the name, which could answer otherwise."""
    try:
        literal = ipaddress.ip_address(host)
    except ValueError:
        literal = None
    if literal is not None:
        if not allow_private and forbidden(literal):
            raise UnsafeAddress(f"{host} is not a public address")
        return [str(literal)]
    if not allow_private and (host.lower() == "localhost" or host.lower().endswith(".localhost")):
        raise UnsafeAddress(f"{host} is a loopback name")
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise Unresolvable(f"{host} does not resolve") from exc
    addresses = [str(info[4][0]) for info in infos]
    if not addresses:
        raise Unresolvable(f"{host} does not resolve")
    if not allow_private and any(forbidden(ipaddress.ip_address(a)) for a in addresses):
        raise UnsafeAddress(f"{host} resolves to a non-public address")
    return addresses


async def ensure_public(url: str, *, allow_private: bool) -> None:
    """Raise UnsafeAddress if the URL's host is or resolves to a non-public address."""
    if not allow_private:
        await checked_addresses(urlsplit(url).hostname or "", None, allow_private=False)
