"""Stressed, liquidity-adjusted ES and the internal-model capital charge (MAR33.4-33.5,
MAR33.15-33.17) of a book held constant, from its 10-day historical scenarios.

Every ES here is the 97.5% ES (``core.measures`` conventions: Acerbi-Tasche on equally weighted
scenarios) of the book's P&L on the N - T + 1 overlapping T-day returns inside a window of N
daily returns (N = 250: twelve months; T = 10). A window "ending at row e" holds the T-day
returns starting at rows e - N .. e - T.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from riskengine.backtest.rolling import rolling_var_es
from riskengine.frtb.cascade import FRTB_CONFIDENCE, bucket_masks, liquidity_adjusted_es
from riskengine.pricing.compiled import CompiledBook

RHO = 0.5  # MAR33.15-33.17: weight of the unconstrained IMCC
RATIO_FLOOR = 0.75  # MAR33.5: ES_R,C / ES_F,C over the preceding 12 weeks
ALL = "all"  # the unconstrained "class": every risk factor


def window_es(
    book: CompiledBook,
    returns: np.ndarray,
    include: np.ndarray,
    n_scenarios: int,
    memo: dict | None = None,
) -> np.ndarray:
    """ES_T(P, j), j = 1..5, of every window of ``n_scenarios`` consecutive scenarios.

    Args:
        book: the book compiled at the horizon T over the columns of ``returns``.
        returns: shape (n_rows, n_columns), T-day returns (NaN where a close is missing).
        include: shape (5, n_columns), the factors shocked in bucket j; the others are held
            at today's values (return 0).
        n_scenarios: scenarios per window.
        memo: P&L-free results shared between calls with the same returns (by mask).

    Returns:
        shape (n_rows - n_scenarios + 1, 5); 0 for a bucket that shocks no factor, NaN for a
        window with a missing return on a shocked factor.
    """
    n_windows = returns.shape[0] - n_scenarios + 1
    out = np.zeros((max(n_windows, 0), include.shape[0]))
    memo = {} if memo is None else memo
    for j, mask in enumerate(include):
        if not mask.any() or n_windows <= 0:
            continue
        key = (mask.tobytes(), id(returns), n_scenarios)
        if key not in memo:
            r = np.where(mask, returns, 0.0)
            bad = np.isnan(r).any(axis=1)
            r[bad] = 0.0
            pnl = book.pnl(r)
            pnl[bad] = 0.0
            es = rolling_var_es(pnl, n_scenarios, (FRTB_CONFIDENCE,))[1][:, 0]
            holes = sliding_window_view(bad, n_scenarios).any(axis=1)
            memo[key] = np.where(holes, np.nan, es)
        out[:, j] = memo[key]
    return out


@dataclass(frozen=True)
class EsSeries:
    """ES by liquidity bucket and liquidity-adjusted, per window end.

    Attributes:
        ends: shape (n_windows,), history rows the windows end at.
        by_bucket: shape (n_windows, 5), ES_T(P, j).
        adjusted: shape (n_windows,), the MAR33.4 ES.
    """

    ends: np.ndarray
    by_bucket: np.ndarray
    adjusted: np.ndarray

    def at(self, end) -> tuple[np.ndarray, float]:
        """(ES_T(P, j) for j = 1..5, the adjusted ES) of the window ending at row ``end``."""
        i = int(np.searchsorted(self.ends, end))
        return self.by_bucket[i], float(self.adjusted[i])


def es_series(
    book: CompiledBook,
    returns: np.ndarray,
    first_row: int,
    shocked: np.ndarray,
    horizons: np.ndarray,
    window: int,
    horizon_days: int,
    memo: dict | None = None,
) -> EsSeries:
    """The liquidity-adjusted ES of every window whose scenarios lie in ``returns``.

    Args:
        returns: the T-day returns starting at history rows ``first_row``, ``first_row + 1``...
        shocked: shape (n_columns,), the factors of this class and factor set.
        horizons: shape (n_columns,), each factor's liquidity horizon.
    """
    n_scen = window - horizon_days + 1
    include = bucket_masks(horizons) & shocked[None, :]
    by_bucket = window_es(book, returns, include, n_scen, memo)
    ends = first_row + window + np.arange(by_bucket.shape[0])
    return EsSeries(ends, by_bucket, liquidity_adjusted_es(by_bucket, horizon_days))


def search_stressed(series: EsSeries) -> int:
    """Row of the end of the window with the largest ES (the earliest on ties); windows with a
    missing return are skipped.

    Raises:
        ValueError: when no window is complete.
    """
    ok = np.isfinite(series.adjusted)
    if not ok.any():
        raise ValueError("no complete window")
    values = np.where(ok, series.adjusted, -np.inf)
    return int(series.ends[int(np.argmax(values))])


def imcc(
    stressed_reduced: dict[str, float],
    current_full: dict[str, np.ndarray],
    current_reduced: dict[str, np.ndarray],
    rho: float = RHO,
) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """MAR33.5 and MAR33.15-33.17: per day, the unconstrained
    IMCC(C) = ES_R,S max(ES_F,C / ES_R,C, 1),
    per risk class IMCC(C_i) = ES_R,S,i ES_F,C,i / ES_R,C,i, and
    IMCC = rho IMCC(C) + (1 - rho) sum_i IMCC(C_i).

    Args:
        stressed_reduced: class (and ``ALL``) -> ES_R,S.
        current_full, current_reduced: class (and ``ALL``) -> shape (n_days,) ES_F,C, ES_R,C.

    Returns:
        (imcc, imcc_unconstrained, imcc_by_class), each of shape (n_days,).
    """
    unconstrained = stressed_reduced[ALL] * np.maximum(
        current_full[ALL] / current_reduced[ALL], 1.0
    )
    by_class = {
        c: stressed_reduced[c] * current_full[c] / current_reduced[c]
        for c in stressed_reduced
        if c != ALL
    }
    total = rho * unconstrained + (1.0 - rho) * np.sum(list(by_class.values()), axis=0)
    return total, unconstrained, by_class
