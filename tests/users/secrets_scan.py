"""Scan text (a response body, captured logs, an event payload) for secrets that must never
leave the process: the raw value, its JSON-escaped, URL-encoded and base64 forms, any case.

    assert_no_secrets(response.text, ["Pass1234!", "4606607755411750", "GB17BARC20038446275882"])

Pick distinctive secrets: a value of fewer than MIN_LENGTH characters matches too much by
chance (a 3-digit CVV is in many ids and timestamps), so it is refused.
"""

from __future__ import annotations

import base64
import json
import urllib.parse
from collections.abc import Iterable

MIN_LENGTH = 4


def _base64_cores(raw: bytes) -> set[str]:
    """The base64 characters that depend on `raw` alone, at each of the three alignments it
    can have inside a longer encoded value (standard and URL-safe alphabets)."""
    out: set[str] = set()
    for offset in range(3):
        encoded = base64.b64encode(b"\0" * offset + raw).decode().rstrip("=")
        first = -(-8 * offset // 6)  # the first character wholly inside `raw`
        last = (8 * (offset + len(raw))) // 6  # one past the last such character
        core = encoded[first:last]
        if len(core) >= MIN_LENGTH:
            out.add(core)
            out.add(core.replace("+", "-").replace("/", "_"))
    return out


def secret_forms(secret: str) -> set[str]:
    """Every form of `secret` the scan looks for, lower-cased."""
    forms = {
        secret,
        json.dumps(secret)[1:-1],
        json.dumps(secret, ensure_ascii=False)[1:-1],
        urllib.parse.quote(secret, safe=""),
        urllib.parse.quote_plus(secret),
    }
    forms |= _base64_cores(secret.encode())
    return {f.lower() for f in forms if f}


def find_secrets(text: str, secrets: Iterable[str]) -> list[str]:
    """The secrets (as given) found in `text` in any form."""
    haystack = text.lower()
    found: list[str] = []
    for secret in secrets:
        if len(secret) < MIN_LENGTH:
            raise ValueError(f"a secret of {len(secret)} characters is too short to scan for")
        if any(form in haystack for form in secret_forms(secret)):
            found.append(secret)
    return found


def assert_no_secrets(text: str, secrets: Iterable[str]) -> None:
    found = find_secrets(text, secrets)
    assert not found, f"{len(found)} secret(s) leaked: " + ", ".join(s[:2] + "…" for s in found)
