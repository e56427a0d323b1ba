"""``MarketSnapshot``: the market a book is valued in, built in one place (DESIGN §3, layer 1).

As-of row, the history columns that can be used (the universe), the price of each (the close
at as-of, or the live price where one is given) and, for every symbol that cannot be used, why.
Every consumer (the risk methods, the backtest, stress, exposures, the API's valuation) takes
one from ``market_snapshot`` and compiles the book against it (``pricing.book.compile_snapshot``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from functools import cached_property
from types import MappingProxyType

import numpy as np

from riskengine.market.history import FactorHistory, MarketState
from riskengine.market.quality import screen_bad_prints


def no_close_reason(symbol: str, date: dt.date) -> str:
    """Why positions on ``symbol`` cannot be valued at ``date`` (one wording everywhere)."""
    return (
        f"{symbol} has no close on {date} to revalue at; import its history or choose another "
        "--as-of."
    )


def missing_in_window_reason(symbol: str, missing: int, window: int, end: dt.date) -> str:
    return (
        f"{symbol} has {missing} missing closes among the {window + 1} dates of the window "
        f"ending {end}; import the missing history or shorten --window."
    )


@dataclass(frozen=True, eq=False)
class MarketSnapshot:
    """The market at one as-of date, for one book valuation or risk run.

    Attributes:
        history: the price history the snapshot is cut from.
        index: row of as-of in ``history``.
        universe: shape (n_columns,), the history columns that can be used, in history order.
        closes: shape (n_columns,), each column's close at as-of.
        spot: shape (n_columns,), the price each column is valued at: the close, or the live
            price of ``live`` where it has one.
        unusable: symbol -> why positions on it are excluded (read-only).
        live: the latest prices given, if any.
    """

    history: FactorHistory
    index: int
    universe: np.ndarray
    closes: np.ndarray
    spot: np.ndarray
    unusable: MappingProxyType
    live: MarketState | None = None

    @property
    def as_of(self) -> dt.date:
        return self.history.date_at(self.index)

    @cached_property
    def column_of(self) -> dict[str, int]:
        """factor symbol -> position in ``universe`` (a scenario column)."""
        return {self.history.symbols[j]: k for k, j in enumerate(self.universe)}

    def restricted(self, columns: np.ndarray, unusable: dict[str, str] | None = None):
        """The snapshot on ``columns`` (history columns, a subset of the universe), with
        ``unusable`` as the reasons (default: the same)."""
        keep = np.isin(self.universe, columns)
        return replace(
            self,
            universe=self.universe[keep],
            closes=self.closes[keep],
            spot=self.spot[keep],
            unusable=MappingProxyType(dict(self.unusable if unusable is None else unusable)),
        )

    def screened(self, start: int, stop: int, policy: str) -> tuple[MarketSnapshot, tuple]:
        """Bad prints of the universe in rows ``start`` .. ``stop`` handled as ``policy`` says
        (``market.quality``): the snapshot without the symbols excluded (their reasons added)
        and the data-quality flags."""
        reasons = dict(self.unusable)
        columns, flags = screen_bad_prints(
            self.history, start, stop, self.universe, reasons, policy
        )
        if len(columns) == len(self.universe):
            return self, flags
        return self.restricted(columns, reasons), flags


def market_snapshot(
    history: FactorHistory,
    as_of: dt.date | str | None = None,
    *,
    live: MarketState | None = None,
    window: int | None = None,
    calibration: int | None = None,
    universe: np.ndarray | None = None,
    unusable: dict[str, str] | None = None,
) -> MarketSnapshot:
    """The snapshot of ``history`` at ``as_of`` (the last date on or before it; default the
    last date).

    Args:
        live: latest prices that replace the closes at as-of where given.
        window: when set, only columns with a complete window of ``window`` returns ending at
            row ``calibration`` (default: as-of) qualify, besides a close at as-of.
        universe: the history columns to use (default: every qualifying one).
        unusable: symbol -> reason for symbols to exclude besides those without a close.
    """
    index = history.index_of(as_of)
    date = history.date_at(index)
    row = history.prices[index]
    has_close = np.isfinite(row)
    reasons: dict[str, str] = {}
    if window is None:
        ok = has_close
        for j in np.nonzero(~has_close)[0]:
            reasons[history.symbols[j]] = no_close_reason(history.symbols[j], date)
    else:
        end = index if calibration is None else calibration
        missing = history.missing_in(end - window, end)
        ok = (missing == 0) & has_close
        for j in np.nonzero(~ok)[0]:
            sym = history.symbols[j]
            reasons[sym] = (
                missing_in_window_reason(sym, int(missing[j]), window, history.date_at(end))
                if missing[j]
                else no_close_reason(sym, date)
            )
    reasons.update(unusable or {})
    columns = np.nonzero(ok)[0] if universe is None else np.asarray(universe, dtype=np.intp)
    closes = row[columns].astype(float)
    spot = closes.copy()
    if live is not None:
        for k, j in enumerate(columns):
            price = live.prices.get(history.symbols[j])
            if price is not None:
                spot[k] = price
    return MarketSnapshot(
        history, index, columns, closes, spot, MappingProxyType(reasons), live
    )  # fmt: skip
