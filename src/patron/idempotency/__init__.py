"""Idempotent writes: a write sent again with the same `Idempotency-Key` is carried out once."""
