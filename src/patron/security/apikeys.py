"""Till credentials are API keys: 192 random bits made by Patron, never chosen by a person.

Such a key cannot be guessed from a fast hash, so it is stored as a keyed digest
(HMAC-SHA256 with a key derived from the server secret, over the till and the key) and
compared in constant time: a check costs microseconds, needs no cache, and a revoked or
replaced key fails on the very next request. Argon2id stays for passwords people choose.
A till made before this scheme keeps its Argon2 hash until its next successful login,
which replaces it with the digest.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from patron.security.keys import derive

PREFIX = "hmac-sha256$"


def new_api_key() -> str:
    """192 random bits, URL-safe so it pastes into a curl command."""
    return secrets.token_urlsafe(24)


class ApiKeys:
    def __init__(self, master: bytes) -> None:
        self._key = derive(master, "till-api-key:v1")

    def digest(self, org_id: int, code: str, api_key: str) -> str:
        message = f"{org_id}\x00{code}\x00{api_key}".encode()
        return PREFIX + hmac.digest(self._key, message, hashlib.sha256).hex()

    @staticmethod
    def same(stored: str, digest: str) -> bool:
        """Whether a stored digest is this one, compared in constant time."""
        return hmac.compare_digest(stored.encode(), digest.encode())


def is_digest(stored: str) -> bool:
    return stored.startswith(PREFIX)
