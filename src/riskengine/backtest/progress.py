"""A plain-text progress bar for long backtests (written to a stream, stderr by default)."""

from __future__ import annotations

import sys
import time


class TextProgress:
    """``progress(label, done, total)`` redraws ``label [#####-----] done/total days  12.3 s``
    on one line (at most every ``interval`` seconds), and ends the line when done == total."""

    def __init__(self, stream=None, *, width: int = 30, interval: float = 0.2):
        self.stream = stream if stream is not None else sys.stderr
        self.width = width
        self.interval = interval
        self._started: dict[str, float] = {}
        self._drawn = 0.0

    def __call__(self, label: str, done: int, total: int) -> None:
        now = time.perf_counter()
        start = self._started.setdefault(label, now)
        finished = done >= total
        if not finished and now - self._drawn < self.interval:
            return
        self._drawn = now
        filled = self.width * done // max(total, 1)
        bar = "#" * filled + "-" * (self.width - filled)
        self.stream.write(f"\r{label:<11} [{bar}] {done}/{total} days {now - start:6.1f} s")
        if finished:
            self.stream.write("\n")
        self.stream.flush()
