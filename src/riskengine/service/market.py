"""Market snapshots for the service: the history of closed daily bars and the latest prices.

Both are read from the store and cached: the history until a new day closes or daily bars are
imported (``invalidate``), the latest prices until ingestion reports a move (``moved``) and the
snapshot is ``min_interval`` seconds old (so that a feed ticking many times a second gives one
snapshot per interval, and the work prepared per book and snapshot is shared by the requests
of that interval) or, for ticks written by another process, for ``price_ttl`` seconds.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Callable

import numpy as np

from riskengine.errors import InsufficientHistoryError
from riskengine.market.history import FactorHistory, MarketState
from riskengine.store.base import TickStore, utc_now


class MarketData:
    """Snapshots of ``store`` for risk runs.

    Args:
        store: the tick store.
        clock: the time now (UTC); a daily bar is closed when its day is before today.
        price_ttl: seconds the latest prices are reused when no move was announced.
        min_interval: seconds a snapshot is reused after a move was announced (0: a move
            makes the next ``market()`` read the store).
    """

    def __init__(
        self,
        store: TickStore,
        *,
        clock: Callable[[], dt.datetime] = utc_now,
        price_ttl: float = 2.0,
        min_interval: float = 0.0,
    ):
        self.store = store
        self.clock = clock
        self.price_ttl = price_ttl
        self.min_interval = min_interval
        self.moved_since = False  # a move was announced since the snapshot was read
        self._lock = threading.Lock()
        self._history: FactorHistory | None = None
        self._history_key: tuple | None = None
        self._generation = 0
        self._prices: MarketState | None = None
        self._prices_at = -1e18

    def invalidate(self) -> None:
        """Daily bars changed (an import): the next ``history()`` reloads them."""
        with self._lock:
            self._generation += 1
            self._prices_at = -1e18

    def moved(self) -> None:
        """New ticks are stored: ``market()`` reads the latest prices again once the snapshot
        is ``min_interval`` seconds old."""
        self.moved_since = True

    def history(self) -> FactorHistory:
        """Closed daily bars (days before today, UTC) of every symbol in the store."""
        today = self.clock().date()
        key = (today, self._generation)
        with self._lock:
            if self._history is not None and self._history_key == key:
                return self._history
            full = self.store.factor_history()
            closed = closed_before(full, today)
            self._history, self._history_key = closed, key
            return closed

    def market(self) -> MarketState | None:
        """The latest stored price of every symbol (None when no tick is stored), as of the
        latest event time among them."""
        now = time.monotonic()
        age = now - self._prices_at
        if age < self.price_ttl and (not self.moved_since or age < self.min_interval):
            return self._prices  # None (no tick stored) is cached too
        self.moved_since = False  # before the read: a move during it is seen next time
        latest = self.store.latest_prices()
        state = None
        if latest:
            as_of = max(p.ts for p in latest.values())
            state = MarketState(as_of, {s: p.price for s, p in latest.items()})
        with self._lock:  # a read that began earlier never replaces a later one
            if now >= self._prices_at:
                self._prices, self._prices_at = state, now
        return state


def closed_before(history: FactorHistory, day: dt.date) -> FactorHistory:
    """The dates of ``history`` before ``day`` (today's bar is still forming)."""
    n = int(np.searchsorted(history.dates, np.datetime64(day, "D"), side="left"))
    if n == len(history.dates):
        return history
    if n == 0:
        raise InsufficientHistoryError(
            f"the store has no daily bar before {day}; import daily history first "
            "(riskengine import prices.csv)."
        )
    return FactorHistory(history.dates[:n].copy(), history.symbols, history.prices[:n].copy())
