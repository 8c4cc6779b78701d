"""Reading what the message sender wrote (the file sender of the test harness)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from tests.conftest import Harness


def sent(harness: Harness, **match: Any) -> list[dict[str, Any]]:
    """Every message of the messages file whose fields equal `match`, oldest first."""
    path = harness.settings.messages_file
    if not path.exists():
        return []
    lines = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return [m for m in lines if all(m.get(k) == v for k, v in match.items())]


async def next_message(
    harness: Harness, user_id: int, purpose: str, *, after: int = 0, timeout: float = 10.0
) -> dict[str, Any]:
    """The first message to `user_id` for `purpose` beyond the `after` already seen, once the
    worker has sent it."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        found = sent(harness, userId=user_id, purpose=purpose)
        if len(found) > after:
            return found[after]
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"no {purpose} message to user {user_id} within {timeout} s")
        await asyncio.sleep(0.05)


async def read_code(harness: Harness, user_id: int, purpose: str, *, after: int = 0) -> str:
    message = await next_message(harness, user_id, purpose, after=after)
    code = message["code"] if message.get("code") else message["link"]
    assert isinstance(code, str)
    return code
