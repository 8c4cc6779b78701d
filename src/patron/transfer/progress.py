"""A progress bar on a stream, with rate and ETA, and no dependency.

On a terminal it redraws one line in place at most every `redraw` seconds. Anywhere else
(a log file, a pipe, CI) it writes a plain line every `interval` seconds and one at the
end, so a long run leaves a readable trace instead of a flood of carriage returns.
Progress is measured in bytes of the input (known in advance, whatever the format), the
rate in lines.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TextIO

WIDTH = 24


def _duration(seconds: float) -> str:
    seconds = max(0, int(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


class Progress:
    def __init__(
        self,
        stream: TextIO,
        total_bytes: int,
        *,
        label: str = "importing",
        tty: bool | None = None,
        interval: float = 5.0,
        redraw: float = 0.2,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.stream = stream
        self.total = max(total_bytes, 1)
        self.label = label
        self.tty = stream.isatty() if tty is None else tty
        self.every = redraw if self.tty else interval
        self.clock = clock
        self.started = clock()
        self.shown_at = self.started
        self.done_bytes = 0
        self.lines = 0

    def update(self, done_bytes: int, lines: int) -> None:
        self.done_bytes, self.lines = done_bytes, lines
        now = self.clock()
        if now - self.shown_at >= self.every:
            self.shown_at = now
            self._show(now)

    def close(self) -> None:
        self.done_bytes = max(self.done_bytes, self.total)
        self._show(self.clock())
        if self.tty:
            self.stream.write("\n")
        self.stream.flush()

    def line(self, now: float) -> str:
        elapsed = max(now - self.started, 1e-9)
        fraction = min(self.done_bytes / self.total, 1.0)
        rate = self.lines / elapsed
        eta = elapsed * (1 - fraction) / fraction if fraction > 0 else 0.0
        filled = int(WIDTH * fraction)
        bar = "#" * filled + "-" * (WIDTH - filled)
        return (
            f"{self.label} [{bar}] {fraction * 100:5.1f}%  {self.lines:,} lines"
            f"  {rate:,.0f} lines/s  elapsed {_duration(elapsed)}  ETA {_duration(eta)}"
        )

    def _show(self, now: float) -> None:
        text = self.line(now)
        if self.tty:
            self.stream.write("\r" + text + "\x1b[K")
        else:
            self.stream.write(text + "\n")
        self.stream.flush()
