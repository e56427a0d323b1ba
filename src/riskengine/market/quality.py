"""Bad prints in a daily close history: isolated closes that cannot be real.

A real market can fall 34% in a day and rise 27% the next (BAC on 2009-01-20); a close of
1,000,000 among closes near 130 is a typing or feed error, and one such close moves a VaR by
four orders of magnitude. The rule (docs/conventions.md#bad-prints), per symbol, on the log
closes ``x_t = ln P_t``:

- the symbol's robust daily volatility ``sigma`` is 1.4826 x the median absolute deviation of
  its daily log returns over the rows checked (so the bad print itself does not inflate it);
- an interior close ``P_t`` is a bad print when it jumps away from **both** neighbours in the
  same direction (a spike that reverts), and each of the two moves
  ``|x_t - x_{t-1}|``, ``|x_t - x_{t+1}|`` exceeds both ``SIGMAS`` x sigma and ``ln(FACTOR)``
  (the close is at least twice, or at most half, both its neighbours);
- the first and the last close of the history have one neighbour only, so nothing shows a
  reversal: they are bad prints when that one move exceeds ``SIGMAS`` x sigma and
  ``ln(END_FACTOR)`` (ten times, or a tenth of, the neighbour);
- a close next to a missing one is checked against no neighbour it lacks.

Pure numerics on arrays: no I/O, no clock.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

import numpy as np

from riskengine.choices import BAD_PRINT_POLICIES
from riskengine.errors import DataQualityError, InputError
from riskengine.market.history import FactorHistory

SIGMAS = 10.0
FACTOR = 2.0
END_FACTOR = 10.0
MAD_TO_SIGMA = 1.4826


@dataclass(frozen=True)
class BadPrint:
    """One close found to be a bad print.

    Attributes:
        symbol, date, close: the close.
        previous, next: the neighbouring closes (None at an end of the history or next to a
            missing close).
        sigmas: the smaller of the moves to the neighbours, in robust daily volatilities.
        factor: the smaller of the ratios to the neighbours (>= 1; 7,700 for 1e6 among 130s).
    """

    symbol: str
    date: dt.date
    close: float
    previous: float | None
    next: float | None
    sigmas: float
    factor: float

    def describe(self) -> str:
        around = " and ".join(
            f"the {side} close {v:,.6g}"
            for side, v in (("previous", self.previous), ("next", self.next))
            if v is not None
        )
        return (
            f"{self.symbol} close {self.close:,.6g} on {self.date} is a bad print: "
            f"{self.factor:,.3g} times away from {around} ({self.sigmas:,.3g} robust daily "
            "volatilities)"
        )

    def to_flag(self) -> dict:
        """The report's data-quality entry."""
        return {
            "code": "bad_print",
            "message": self.describe(),
            "symbol": self.symbol,
            "date": self.date.isoformat(),
        }


def find_bad_prints(
    history: FactorHistory,
    *,
    start: int = 0,
    stop: int | None = None,
    columns: np.ndarray | None = None,
) -> list[BadPrint]:
    """Bad prints among the closes of rows ``start`` to ``stop`` (inclusive; default the last)
    of ``columns`` (default every symbol), by the rule of this module. The rows just outside
    are used as neighbours and for the volatility when the history has them. Sorted by date,
    then symbol."""
    n = len(history.dates)
    stop = n - 1 if stop is None else stop
    if n < 2 or stop < start:
        return []
    k = len(history.symbols)
    cols = np.arange(k) if columns is None else np.asarray(columns)
    lo, hi = max(start - 1, 0), min(stop + 1, n - 1)
    block = history.prices[lo : hi + 1]
    if not np.array_equal(cols, np.arange(k)):  # every column: a view, not a copy
        block = block[:, cols]
    m = block.shape[0]
    with np.errstate(invalid="ignore", divide="ignore"):
        x = np.log(block)  # (m, k); NaN where no close
        r = np.diff(x, axis=0)  # (m - 1, k): r[t - 1] = x_t - x_{t-1}
        del x
        sigma = _robust_sigma(r)
        floor = np.maximum(SIGMAS * sigma, math.log(FACTOR))
        end_floor = np.maximum(SIGMAS * sigma, math.log(END_FACTOR))
        found = np.zeros((m, r.shape[1]), dtype=bool)
        # an interior close t: up = r[t - 1], down = -r[t], the same sign (their product
        # r[t - 1] r[t] < 0) and both beyond the floor (NaN next to a missing close: never)
        a = np.abs(r)
        found[1:-1] = (r[:-1] * r[1:] < 0) & (np.minimum(a[:-1], a[1:]) > floor)
        if lo == 0:  # the first close of the history: one neighbour
            found[0] |= a[0] > end_floor
        if hi == n - 1:  # the last close
            found[-1] |= a[-1] > end_floor
    rows = np.arange(lo, hi + 1)
    keep = (rows >= start) & (rows <= stop)
    found &= keep[:, None]
    out = []
    for i, j in zip(*np.nonzero(found), strict=True):
        t = lo + int(i)
        col = int(cols[j])
        prev = float(history.prices[t - 1, col]) if t > 0 else math.nan
        nxt = float(history.prices[t + 1, col]) if t + 1 < n else math.nan
        up = r[i - 1, j] if i >= 1 else math.nan
        down = -r[i, j] if i < m - 1 else math.nan
        moves = [abs(v) for v in (up, down) if math.isfinite(v)]
        move = min(moves)
        out.append(
            BadPrint(
                symbol=history.symbols[col],
                date=history.date_at(t),
                close=float(history.prices[t, col]),
                previous=prev if math.isfinite(prev) else None,
                next=nxt if math.isfinite(nxt) else None,
                sigmas=move / sigma[j] if sigma[j] > 0 else math.inf,
                factor=math.exp(move),
            )
        )
    out.sort(key=lambda b: (b.date, b.symbol))
    return out


def bad_prints_in(
    history: FactorHistory, start: int, stop: int, columns: np.ndarray
) -> list[BadPrint]:
    """``find_bad_prints`` remembered on the (frozen) history: a served history is checked
    once per window and universe, not on every request."""
    key = (start, stop, np.asarray(columns).tobytes())
    memo = history.__dict__.setdefault("_bad_prints", {})
    found = memo.get(key)
    if found is None:
        found = memo[key] = tuple(find_bad_prints(history, start=start, stop=stop, columns=columns))
    return list(found)


def _robust_sigma(r: np.ndarray) -> np.ndarray:
    """1.4826 x the median absolute deviation of each column of ``r`` (NaNs ignored; 0 for
    a column with fewer than two returns)."""
    if r.shape[0] == 0:
        return np.zeros(r.shape[1])
    # one symbol per contiguous row: the medians partition memory in order (a column of a
    # row-major array is strided, several times slower); the same order statistics
    rt = np.ascontiguousarray(r.T)
    full = np.isfinite(rt).all(axis=1)
    if full.all():
        return MAD_TO_SIGMA * _mad(rt)
    # numpy's nanmedian is a Python loop over the columns: only those with gaps go through it
    out = np.zeros(rt.shape[0])
    if full.any():
        out[full] = MAD_TO_SIGMA * _mad(rt[full])
    import warnings

    gaps = rt[~full]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # an all-NaN column: no volatility
        med = np.nanmedian(gaps, axis=1)
        dev = np.abs(gaps - med[:, None])
        mad = np.nanmedian(dev, axis=1, overwrite_input=True)
    out[~full] = np.nan_to_num(MAD_TO_SIGMA * mad, nan=0.0)
    return out


def _mad(rows: np.ndarray) -> np.ndarray:
    """The median absolute deviation of each row (no NaN)."""
    med = np.median(rows, axis=1)
    return np.median(np.abs(rows - med[:, None]), axis=1, overwrite_input=True)


def screen_bad_prints(
    history: FactorHistory,
    start: int,
    stop: int,
    columns: np.ndarray,
    unusable: dict[str, str],
    policy: str,
) -> tuple[np.ndarray, tuple[dict, ...]]:
    """Bad prints in rows ``start`` .. ``stop`` of ``columns``, handled as ``policy`` says
    (BAD_PRINT_POLICIES): the columns left (without the symbols excluded, whose reasons are added to
    ``unusable``) and the data-quality flags, one per bad print. "refuse" raises
    DataQualityError naming them."""
    found = bad_prints_in(history, max(start, 0), stop, columns)
    if not found:
        return columns, ()
    if policy == "refuse":
        listed = "; ".join(b.describe() for b in found[:5])
        more = f" (and {len(found) - 5} more)" if len(found) > 5 else ""
        raise DataQualityError(
            f"{listed}{more}. bad_prints is 'refuse': fix the close(s) in the history, or set "
            "bad_prints to 'exclude' (leave out the positions on these symbols) or 'use' (keep "
            "the closes)."
        )
    flags = tuple(b.to_flag() for b in found)
    if policy == "use":
        return columns, flags
    dropped: set[str] = set()
    for b in found:
        if b.symbol not in dropped:
            unusable[b.symbol] = (
                f"{b.describe()}; positions on {b.symbol} are excluded (bad_prints 'exclude'). "
                "Fix the close in the history, or set bad_prints to 'use' to keep it."
            )
        dropped.add(b.symbol)
    keep = np.array([history.symbols[j] not in dropped for j in columns], dtype=bool)
    return np.asarray(columns)[keep], flags


def check_policy(policy: str) -> str:
    if policy not in BAD_PRINT_POLICIES:
        raise InputError(
            f"bad_prints {policy!r} is not one of: {', '.join(BAD_PRINT_POLICIES)} (exclude: "
            "leave out the positions on a symbol with a bad print; refuse: stop with an error; "
            "use: keep the close and flag it)."
        )
    return policy
