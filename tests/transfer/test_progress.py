"""The progress bar: redrawn in place on a terminal, a plain line every few seconds elsewhere."""

from __future__ import annotations

import io

from patron.transfer.progress import Progress


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_off_a_terminal_it_writes_one_line_every_interval_and_one_at_the_end() -> None:
    out, clock = io.StringIO(), Clock()
    bar = Progress(out, 1000, tty=False, interval=5.0, clock=clock)
    for step in range(1, 101):  # 100 updates over 12 seconds
        clock.now = step * 0.12
        bar.update(step * 10, step * 2)
    bar.close()
    lines = out.getvalue().splitlines()
    assert len(lines) == 3  # at 5 s, at 10 s, and the end
    assert "\r" not in out.getvalue()
    assert lines[0].startswith("importing [") and " 42.0%" in lines[0]  # at 5.04 s
    assert "84 lines" in lines[0] and "17 lines/s" in lines[0] and "ETA 0:06" in lines[0]
    assert "100.0%" in lines[-1] and "200 lines" in lines[-1]


def test_on_a_terminal_it_redraws_one_line() -> None:
    out, clock = io.StringIO(), Clock()
    bar = Progress(out, 100, tty=True, redraw=0.2, clock=clock)
    for step in range(1, 11):
        clock.now = step * 0.5
        bar.update(step * 10, step)
    bar.close()
    text = out.getvalue()
    assert text.count("\r") == 11 and text.endswith("\n") and text.count("\n") == 1
