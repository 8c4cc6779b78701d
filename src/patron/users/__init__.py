"""The user namespace of seed 004 (docs/users.md): the same people as the v2 customers API."""
