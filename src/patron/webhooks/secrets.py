"""Webhook signing secrets: made here, shown once, kept encrypted (AES-256-GCM) at rest."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from patron.config import Settings
from patron.security.keys import load_master_key

PREFIX = "whsec_"


def new_signing_secret() -> str:
    """A Standard Webhooks secret: `whsec_` and 32 random bytes in base64."""
    return PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


class SecretBox:
    """Encrypts short secrets with one key; the org and endpoint bind each ciphertext. Also
    keys digests (`digest`) with a second key derived from the same one."""

    def __init__(self, key: bytes) -> None:
        if len(key) != 32:
            raise ValueError("the secret key must be 32 bytes")
        self._aead = AESGCM(key)
        self._mac_key = HKDF(
            algorithm=hashes.SHA256(), length=32, salt=None, info=b"patron digest v1"
        ).derive(key)

    def digest(self, value: str, context: str) -> str:
        """HMAC-SHA256 of `value` bound to `context`, hex: the stored form of a one-time code or
        link token. Without the server key nobody can test guesses against it offline, which a
        plain hash of a 6-digit code could not stop."""
        message = context.encode() + b"\x00" + value.encode()
        return hmac.new(self._mac_key, message, hashlib.sha256).hexdigest()

    @staticmethod
    def same(a: str, b: str) -> bool:
        """Constant-time comparison of two digests."""
        return hmac.compare_digest(a.encode(), b.encode())

    def seal(self, plaintext: str, context: str) -> str:
        nonce = secrets.token_bytes(12)
        sealed = self._aead.encrypt(nonce, plaintext.encode(), context.encode())
        return "v1:" + base64.b64encode(nonce + sealed).decode()

    def open(self, token: str, context: str) -> str:
        version, _, body = token.partition(":")
        if version != "v1":
            raise ValueError("unknown secret format")
        raw = base64.b64decode(body)
        return self._aead.decrypt(raw[:12], raw[12:], context.encode()).decode()


def load_box(settings: Settings) -> SecretBox:
    """The process's box, keyed by the server secret (security/keys.py)."""
    return SecretBox(load_master_key(settings))
