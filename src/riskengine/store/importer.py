"""Import daily price history (a wide or long CSV, docs/formats.md) into a store as ``1d`` bars
with source ``import``; what ``riskengine import FILE`` runs."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

from riskengine.market.loaders import load_prices
from riskengine.store.base import TickStore


class ProgressBar:
    """``bar(done, total)`` redraws ``label [#######-------]  45%  36000/80000 rows`` on one
    line of ``stream`` (stderr by default), at most every ``interval`` seconds, and ends the
    line when done reaches total. No dependencies (no tqdm)."""

    def __init__(
        self,
        label: str = "import",
        *,
        stream: TextIO | None = None,
        width: int = 30,
        interval: float = 0.1,
        unit: str = "rows",
    ):
        self.label = label
        self.stream = stream if stream is not None else sys.stderr
        self.width = width
        self.interval = interval
        self.unit = unit
        self._started = time.perf_counter()
        self._drawn = float("-inf")
        self._finished = False

    def __call__(self, done: int, total: int) -> None:
        if self._finished:
            return
        now = time.perf_counter()
        finished = done >= total
        if not finished and now - self._drawn < self.interval:
            return
        self._drawn = now
        frac = 1.0 if total <= 0 else min(max(done / total, 0.0), 1.0)
        filled = int(self.width * frac)
        bar = "#" * filled + "-" * (self.width - filled)
        self.stream.write(
            f"\r{self.label} [{bar}] {frac:4.0%} {done}/{total} {self.unit} "
            f"{now - self._started:5.1f} s"
        )
        if finished:
            self.stream.write("\n")
            self._finished = True
        self.stream.flush()


def import_file(
    store: TickStore,
    path: str | Path,
    *,
    progress: bool | Callable[[int, int], None] = True,
) -> int:
    """Load ``path`` (wide or long CSV, via ``load_prices``) and store its closes with
    ``store.import_daily``; a re-import replaces the closes of the same (symbol, day).

    Args:
        progress: True draws a text progress bar on stderr; a callable gets
            ``(done, total)`` instead; False is silent.

    Returns:
        rows written (one per symbol and day with a close).
    """
    history = load_prices(path)
    if progress is True:
        callback: Callable[[int, int], None] | None = ProgressBar(f"importing {Path(path).name}")
    elif callable(progress):
        callback = progress
    else:
        callback = None
    return store.import_daily(history, progress=callback)


__all__ = ["ProgressBar", "import_file"]
