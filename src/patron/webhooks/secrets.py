"""Webhook signing secrets: made here, shown once, kept encrypted (AES-256-GCM) at rest."""

from __future__ import annotations

import base64
import secrets

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from patron.config import Settings
from patron.security.keys import load_master_key

PREFIX = "whsec_"


def new_signing_secret() -> str:
    """A Standard Webhooks secret: `whsec_` and 32 random bytes in base64."""
    return PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


class SecretBox:
    """Encrypts short secrets with one key; the org and endpoint bind each ciphertext."""

    def __init__(self, key: bytes) -> None:
        if len(key) != 32:
            raise ValueError("the secret key must be 32 bytes")
        self._aead = AESGCM(key)

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
