"""Aligned daily price history of the risk factors, and the market snapshot a report uses."""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from riskengine.errors import InputError, InsufficientHistoryError, UnknownSymbolError


@dataclass(frozen=True)
class MarketState:
    """Latest prices per factor at ``as_of`` (the market snapshot a report used)."""

    as_of: dt.date
    prices: dict[str, float]

    def price(self, symbol: str) -> float:
        try:
            return self.prices[symbol]
        except KeyError:
            raise UnknownSymbolError(
                f"no price for {symbol!r} at {self.as_of}; known symbols: "
                f"{', '.join(sorted(self.prices)[:20])}."
            ) from None


@dataclass(frozen=True, eq=False)
class FactorHistory:
    """Daily closes of risk factors on a common calendar.

    Attributes:
        dates: shape (n_dates,), numpy datetime64[D], strictly increasing.
        symbols: tuple of n_factors names.
        prices: shape (n_dates, n_factors), positive closes; NaN where a symbol has no close.
    """

    dates: np.ndarray
    symbols: tuple[str, ...]
    prices: np.ndarray

    def __post_init__(self):
        if self.prices.shape != (len(self.dates), len(self.symbols)):
            raise InputError(
                f"prices shape {self.prices.shape} does not match "
                f"{len(self.dates)} dates x {len(self.symbols)} symbols."
            )
        self.prices.setflags(write=False)
        self.dates.setflags(write=False)

    @classmethod
    def from_frame(cls, frame, *, symbol: str | None = None) -> FactorHistory:
        """Daily closes from pandas (``riskengine[pandas]``).

        Args:
            frame: a wide DataFrame (dates as the index, one column per symbol; NaN: no close
                that day), a long one (columns ``date``, ``symbol`` (or ``ticker``) and
                ``close`` (or ``price``, ``adj close``)), or a Series of one asset's closes
                indexed by date.
            symbol: the asset of a Series (default: the Series' name).

        Rows are put in date order. Timestamps must be dates (midnight; time zones are
        converted to UTC first).

        Raises:
            PriceDataError: a date that is not a day, a date or a (date, symbol) twice, a close
                that is not a positive finite number; the message names the symbol and date.
        """
        from riskengine.market.frames import history_from_frame

        return cls(*history_from_frame(frame, symbol=symbol))

    def to_frame(self):
        """The closes as a wide pandas DataFrame: a ``DatetimeIndex`` named ``date``, one
        float column per symbol, NaN where a symbol has no close (``riskengine[pandas]``).
        ``FactorHistory.from_frame`` reads it back bit for bit."""
        from riskengine.market.frames import history_to_frame

        return history_to_frame(self)

    @cached_property
    def column(self) -> dict[str, int]:
        return {s: i for i, s in enumerate(self.symbols)}

    @cached_property
    def missing_counts(self) -> np.ndarray:
        """shape (n_dates + 1, n_factors), integers: ``missing_counts[t, j]`` is the number of rows
        before row t where factor j has no close; the count in rows a .. b is
        ``missing_counts[b + 1] - missing_counts[a]`` (computed once per history)."""
        kind = np.uint16 if len(self.dates) < 2**16 else np.int32  # half the memory mostly
        counts = np.zeros((len(self.dates) + 1, len(self.symbols)), dtype=kind)
        np.cumsum(~np.isfinite(self.prices), axis=0, dtype=kind, out=counts[1:])
        counts.setflags(write=False)
        return counts

    @cached_property
    def complete(self) -> bool:
        """Every factor has a close on every date (then no window misses one)."""
        return bool(np.isfinite(self.prices).all())

    def missing_in(self, start: int, stop: int) -> np.ndarray:
        """shape (n_factors,): rows start .. stop (inclusive) without a close, per factor."""
        if self.complete:
            return np.zeros(len(self.symbols), dtype=np.int64)
        counts = self.missing_counts
        return counts[stop + 1].astype(np.int64) - counts[start]

    @cached_property
    def content_hash(self) -> str:
        h = hashlib.sha256()
        h.update("\x1f".join(self.symbols).encode())
        h.update(self.dates.astype("int64").tobytes())
        h.update(np.ascontiguousarray(self.prices).data)  # its bytes, without a copy
        return h.hexdigest()[:16]

    @property
    def last_date(self) -> dt.date:
        return self.dates[-1].astype(dt.date)

    def date_at(self, index: int) -> dt.date:
        return self.dates[index].astype(dt.date)

    def index_of(self, as_of: dt.date | str | None) -> int:
        """Index of the last date on or before ``as_of`` (the last date when None)."""
        if as_of is None:
            return len(self.dates) - 1
        if isinstance(as_of, str):
            try:
                as_of = dt.date.fromisoformat(as_of)
            except ValueError:
                raise InputError(f"as_of {as_of!r} is not an ISO date (YYYY-MM-DD).") from None
        i = int(np.searchsorted(self.dates, np.datetime64(as_of, "D"), side="right")) - 1
        if i < 0:
            raise InsufficientHistoryError(
                f"as_of {as_of} is before the first date of the history ({self.date_at(0)}); "
                "choose a later --as-of or import older prices."
            )
        return i

    def require(self, symbol: str) -> int:
        try:
            return self.column[symbol]
        except KeyError:
            raise UnknownSymbolError(
                f"unknown symbol {symbol!r}: not in the price history "
                f"({len(self.symbols)} symbols, e.g. {', '.join(self.symbols[:8])}). "
                "Add its prices to the history file or fix the symbol in the book."
            ) from None

    def market_state(self, index: int) -> MarketState:
        row = self.prices[index]
        return MarketState(
            self.date_at(index),
            {s: float(row[j]) for j, s in enumerate(self.symbols) if np.isfinite(row[j])},
        )

    def check_window(self, index: int, window: int, horizon_days: int) -> None:
        """Raise unless ``window`` daily returns end at ``index`` and hold >= 1 h-day return."""
        if window < 1:
            raise InputError(f"window must be >= 1 daily return; got {window}.")
        if horizon_days > window:
            raise InputError(
                f"horizon_days ({horizon_days}) exceeds window ({window}); "
                "lengthen --window or shorten --horizon-days."
            )
        if index - window < 0:
            raise InsufficientHistoryError(
                f"window of {window} daily returns ending {self.date_at(index)} needs "
                f"{window + 1} closes; the history has {index + 1} up to that date "
                f"(from {self.date_at(0)}). Shorten --window, choose a later --as-of, "
                "or import more history."
            )

    def window_prices(self, index: int, window: int, columns: np.ndarray) -> np.ndarray:
        """Closes of ``columns`` on the window+1 dates ending at ``index``.

        Returns:
            shape (window + 1, len(columns)).
        """
        rows = self.prices[index - window : index + 1]
        columns = np.asarray(columns)
        if columns.size == rows.shape[1] and np.array_equal(columns, np.arange(rows.shape[1])):
            return rows  # every column in order: a (read-only) view, not a copy
        return rows[:, columns]

    def returns(
        self, index: int, window: int, columns: np.ndarray, horizon_days: int = 1
    ) -> np.ndarray:
        """Overlapping h-day simple returns inside the window ending at ``index``.

        Returns:
            shape (window - horizon_days + 1, len(columns)): P[t+h] / P[t] - 1.
        """
        p = self.window_prices(index, window, columns)
        return p[horizon_days:] / p[:-horizon_days] - 1.0

    def snapshot_id(self, index: int, window: int, columns: np.ndarray) -> str:
        """Last bar date + hash of the history used (the window of the factors in use)."""
        key = (index, window, np.asarray(columns).tobytes())
        memo = self.__dict__.setdefault("_snapshot_ids", {})
        if key not in memo:
            memo[key] = self._snapshot_id(index, window, columns)
        return memo[key]

    def _snapshot_id(self, index: int, window: int, columns: np.ndarray) -> str:
        h = hashlib.sha256()
        h.update("\x1f".join(self.symbols[c] for c in columns).encode())
        h.update(np.ascontiguousarray(self.window_prices(index, window, columns)).data)
        return f"{self.date_at(index)}:{h.hexdigest()[:12]}"
