"""Import daily price history (a wide or long CSV, docs/formats.md) into a store as ``1d`` bars
with source ``import``; what ``riskengine import FILE`` runs."""

from __future__ import annotations

import datetime as dt
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple, TextIO

from riskengine.market.history import FactorHistory
from riskengine.market.loaders import load_prices
from riskengine.market.quality import BadPrint, find_bad_prints
from riskengine.store.base import QualityEvent, TickStore


class Imported(NamedTuple):
    rows: int
    bad_prints: tuple[BadPrint, ...]


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
) -> Imported:
    """Load ``path`` (wide or long CSV, via ``load_prices``) and store its closes with
    ``store.import_daily``; a re-import replaces the closes of the same (symbol, day).

    Args:
        progress: True draws a text progress bar on stderr; a callable gets
            ``(done, total)`` instead; False is silent.

    Returns:
        rows written (one per symbol and day with a close), and the bad prints found among
        them (stored as they are, and recorded as ``bad_print`` quality events).
    """
    history = load_prices(path)
    if progress is True:
        callback: Callable[[int, int], None] | None = ProgressBar(f"importing {Path(path).name}")
    elif callable(progress):
        callback = progress
    else:
        callback = None
    rows = store.import_daily(history, progress=callback)
    return Imported(rows, tuple(record_bad_prints(store, history, Path(path).name)))


def record_bad_prints(store: TickStore, history: FactorHistory, source: str) -> list[BadPrint]:
    """Find the bad prints of an imported history and record them as ``bad_print`` quality
    events (``riskengine quality`` lists them); the closes are stored as they are, and risk
    runs apply their ``bad_prints`` policy to them."""
    found = find_bad_prints(history)
    if found:
        store.record_quality(
            [
                QualityEvent(
                    ts=dt.datetime.combine(b.date, dt.time(), dt.UTC),
                    kind="bad_print",
                    symbol=b.symbol,
                    venue=None,
                    detail=f"{b.describe()} (imported from {source})",
                )
                for b in found
            ]
        )
    return found


__all__ = ["Imported", "ProgressBar", "import_file", "record_bad_prints"]
