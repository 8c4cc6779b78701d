"""Dependencies of the security routes of the user namespace."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from patron.security.attempts import Attempts


async def attempts(request: Request) -> Attempts:
    """The credential-failure throttle (security/attempts.py)."""
    found: Attempts = request.app.state.attempts
    return found


AttemptsDep = Annotated[Attempts, Depends(attempts)]
