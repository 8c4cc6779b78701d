"""Failed-login throttling per username, kept in the process's memory."""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable


class LoginThrottle:
    """After `max_failures` failures inside `window` seconds a username is refused until the
    oldest of them leaves the window. Other usernames, from any address, are unaffected."""

    def __init__(self, max_failures: int, window: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.max_failures = max_failures
        self.window = window
        self.clock = clock
        self._failures: dict[str, deque[float]] = {}

    def _recent(self, username: str) -> deque[float]:
        now = self.clock()
        failures = self._failures.get(username)
        if failures is None:
            return deque()
        while failures and failures[0] <= now - self.window:
            failures.popleft()
        if not failures:
            del self._failures[username]
        return failures

    def retry_after(self, username: str) -> int:
        """Seconds until this username may try again (0: it may try now)."""
        failures = self._recent(username)
        if len(failures) < self.max_failures:
            return 0
        return max(1, math.ceil(failures[0] + self.window - self.clock()))

    def failed(self, username: str) -> None:
        if len(self._failures) > 100_000:
            self._failures.clear()  # bound memory under a flood of random usernames
        self._failures.setdefault(username, deque()).append(self.clock())

    def succeeded(self, username: str) -> None:
        self._failures.pop(username, None)
