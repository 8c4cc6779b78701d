"""The server's own secret, kept outside the database, and what is derived from it.

`PATRON_SECRET_KEY` (32 bytes, base64), else a key file made on first use (mode 0600,
`var/secret.key` by default; keep it with the database's backups, apart from them). It
encrypts webhook signing secrets at rest and keys the digests of till API keys.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
from pathlib import Path

from patron.config import Settings


def load_master_key(settings: Settings) -> bytes:
    if settings.secret_key:
        key = base64.b64decode(settings.secret_key)
    else:
        path = Path(settings.secret_key_file)
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:
                pass  # another process made it first; use theirs
            else:
                with os.fdopen(fd, "wb") as handle:
                    handle.write(base64.b64encode(secrets.token_bytes(32)))
        key = base64.b64decode(path.read_bytes().strip())
    if len(key) != 32:
        raise ValueError("the secret key must be 32 bytes (base64)")
    return key


def derive(master: bytes, purpose: str) -> bytes:
    """A key for one purpose, so no two uses of the master key ever share a key."""
    return hmac.digest(master, f"patron:{purpose}".encode(), hashlib.sha256)
