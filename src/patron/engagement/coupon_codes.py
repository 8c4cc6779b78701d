"""Coupon codes: drawn from the operating system's CSPRNG (`secrets`) over an alphabet
without the characters people confuse when they read a code aloud or type it from print
(0/O, 1/I/L).

The alphabet has 31 symbols, so each character carries log2(31) ~ 4.95 bits: a code of
the default length 8 is one of 31^8 ~ 8.5e11 (about 39.6 bits), the shortest allowed (6)
one of ~8.9e8. Codes are unique per org (the unique key (org_id, code)); a draw that
collides with a stored code is drawn again (engagement/coupons.py).
"""

from __future__ import annotations

import math
import secrets

ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
BITS_PER_CHAR = math.log2(len(ALPHABET))


def new_code(length: int) -> str:
    """A fresh random code of `length` characters of ALPHABET."""
    return "".join(secrets.choice(ALPHABET) for _ in range(length))


def normalised(raw: str) -> str:
    """A code as a person may type it: case and surrounding spaces do not matter."""
    return raw.strip().upper()
