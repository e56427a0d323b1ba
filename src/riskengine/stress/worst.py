"""Worst-window search: the worst h-day loss today's book would have suffered in the history.

Every overlapping h-day window of the history up to as_of, from the close of day t to the close
of day t + h, gives each factor the return ``P[t+h] / P[t] - 1``; today's book is revalued under
each as an instant shock (horizon 0, full revaluation, implied volatility unchanged). Windows
where a factor of the book has no close at t or t + h are skipped. The search is one matrix
revaluation over all windows (``CompiledBook.pnl``), not a loop.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass

import numpy as np

from riskengine.errors import InputError, InsufficientHistoryError
from riskengine.instruments.types import Portfolio
from riskengine.market.history import FactorHistory
from riskengine.stress.apply import INSTANT_NOTE, position_results
from riskengine.stress.result import PositionPnL, position_rows
from riskengine.stress.revalue import factor_moves, position_pnl, stress_book


@dataclass(frozen=True)
class Window:
    """One h-day window: the book's P&L from the close of ``base_date`` to that of
    ``end_date`` (``start_date`` is the first trading day of the window)."""

    base_date: str
    start_date: str
    end_date: str
    pnl: float

    def to_dict(self) -> dict:
        return {
            "base_date": self.base_date,
            "start_date": self.start_date,
            "end_date": self.end_date,
            "pnl": self.pnl,
        }


@dataclass(frozen=True)
class WorstWindowResult:
    """The worst h-day window for today's book.

    Attributes:
        as_of: ISO date of the snapshot.
        base_currency: currency of every amount.
        horizon_days: h, trading days per window.
        loss: the worst loss, a positive amount (-pnl of ``worst[0]``).
        worst: the worst window first, then the next worst windows that overlap none before
            them (up to ``n_worst``).
        n_windows: windows searched; ``first_date``, ``last_date``: the span they cover.
        n_skipped: windows skipped for a missing close of a factor of the book.
        positions: per-position P&L in the worst window.
        factor_returns: each factor's return in the worst window.
        portfolio, excluded_positions, notes: as in ``StressResult``.
    """

    as_of: str
    base_currency: str
    horizon_days: int
    loss: float
    worst: tuple[Window, ...]
    n_windows: int
    n_skipped: int
    first_date: str
    last_date: str
    positions: tuple[PositionPnL, ...]
    factor_returns: dict
    portfolio: dict
    excluded_positions: tuple[dict, ...] = ()
    notes: tuple[str, ...] = ()

    @property
    def pnl(self) -> float:
        return self.worst[0].pnl

    @property
    def window(self) -> Window:
        return self.worst[0]

    def to_dict(self) -> dict:
        return {
            "as_of": self.as_of,
            "base_currency": self.base_currency,
            "horizon_days": self.horizon_days,
            "loss": self.loss,
            "pnl": self.pnl,
            "base_date": self.window.base_date,
            "start_date": self.window.start_date,
            "end_date": self.window.end_date,
            "worst": [w.to_dict() for w in self.worst],
            "n_windows": self.n_windows,
            "n_skipped": self.n_skipped,
            "first_date": self.first_date,
            "last_date": self.last_date,
            "positions": [p.to_dict() for p in self.positions],
            "factor_returns": dict(self.factor_returns),
            "portfolio": dict(self.portfolio),
            "excluded_positions": [dict(e) for e in self.excluded_positions],
            "notes": list(self.notes),
        }

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent, allow_nan=False)

    def format_table(self) -> str:
        w = self.window
        lines = [
            f"worst {self.horizon_days}-day window among {self.n_windows:,} "
            f"(closes {self.first_date} .. {self.last_date}): loss {self.loss:,.2f} "
            f"{self.base_currency}, closes {w.base_date} -> {w.end_date}",
            *position_rows(self.positions),
        ]
        if len(self.worst) > 1:
            lines.append("  next worst windows (not overlapping):")
            for x in self.worst[1:]:
                lines.append(f"    {x.base_date} -> {x.end_date}  P&L {x.pnl:>16,.2f}")
        for e in self.excluded_positions:
            lines.append(f"  excluded {e['id']} {e['symbol']}: {e['reason']}")
        lines += [f"note: {n}" for n in self.notes]
        return "\n".join(lines)


def _non_overlapping(order: np.ndarray, rows: np.ndarray, h: int, n: int) -> list[int]:
    """The first ``n`` entries of ``order`` whose windows [row, row + h] share no return with
    a window picked before them."""
    picked: list[int] = []
    for k in order:
        if all(abs(int(rows[k]) - int(rows[j])) >= h for j in picked):
            picked.append(int(k))
            if len(picked) == n:
                break
    return picked


def worst_window(
    portfolio: Portfolio,
    history: FactorHistory,
    *,
    horizon_days: int = 1,
    as_of: dt.date | str | None = None,
    base_currency: str = "USD",
    n_worst: int = 5,
) -> WorstWindowResult:
    """The worst h-day loss today's book would have suffered anywhere in the history up to
    ``as_of``, and when.

    Args:
        horizon_days: h >= 1, trading days per window (windows overlap: one starts each day).
        n_worst: how many windows to list (the worst, then the next worst not overlapping).

    Returns:
        A ``WorstWindowResult``.

    Raises:
        InputError: invalid horizon_days or n_worst.
        InsufficientHistoryError: no window with the book's factors complete.
        NoPositionsError: no position can be priced.
    """
    h = horizon_days
    if isinstance(h, bool) or not isinstance(h, int | np.integer) or h < 1:
        raise InputError(f"horizon_days must be an integer >= 1; got {h!r}.")
    if isinstance(n_worst, bool) or not isinstance(n_worst, int | np.integer) or n_worst < 1:
        raise InputError(f"n_worst must be an integer >= 1; got {n_worst!r}.")
    base_currency = str(base_currency).upper()
    full = stress_book(portfolio, history, as_of, base_currency)
    # Recompile on the book's own factors only, so the scenario matrix has k columns (the
    # same positions are included; exclusions and the summary come from the full compile).
    snap = stress_book(
        portfolio,
        history,
        full.as_of,
        base_currency,
        universe=full.universe[full.book.columns],
    )
    book = snap.book
    prices = history.prices[: snap.index + 1, snap.universe]
    if prices.shape[0] <= h:
        raise InsufficientHistoryError(
            f"a {h}-day window needs {h + 1} closes up to as_of {snap.as_of}; the history has "
            f"{prices.shape[0]}. Shorten --horizon-days or import more history."
        )
    with np.errstate(invalid="ignore", divide="ignore"):
        returns = prices[h:] / prices[:-h] - 1.0
    complete = np.all(np.isfinite(returns), axis=1)
    rows = np.nonzero(complete)[0]
    if rows.size == 0:
        raise InsufficientHistoryError(
            f"no {h}-day window up to {snap.as_of} has closes of every factor of the book "
            f"({', '.join(book.factor_names)}); import the missing history."
        )
    scen = np.ascontiguousarray(returns[rows])
    pnl = book.pnl(scen)
    order = np.argsort(pnl, kind="stable")
    picked = _non_overlapping(order, rows, h, n_worst)
    windows = tuple(
        Window(
            history.date_at(int(rows[k])).isoformat(),
            history.date_at(int(rows[k]) + 1).isoformat(),
            history.date_at(int(rows[k]) + h).isoformat(),
            float(pnl[k]),
        )
        for k in picked
    )
    w = picked[0]
    moves = factor_moves(snap, scen[w])
    per_position, _ = position_pnl(snap, moves)
    notes = [INSTANT_NOTE, "implied volatility unchanged in historical windows"]
    n_skipped = int(returns.shape[0] - rows.size)
    if n_skipped:
        notes.append(
            f"{n_skipped} windows skipped: a factor of the book has no close at one of their ends"
        )
    return WorstWindowResult(
        as_of=snap.as_of.isoformat(),
        base_currency=base_currency,
        horizon_days=int(h),
        loss=-float(pnl[w]),
        worst=windows,
        n_windows=int(rows.size),
        n_skipped=n_skipped,
        first_date=history.date_at(int(rows[0])).isoformat(),
        last_date=history.date_at(int(rows[-1]) + h).isoformat(),
        positions=position_results(snap, moves, per_position),
        factor_returns={book.factor_names[c]: float(scen[w, c]) for c in book.columns},
        portfolio=full.portfolio_summary(),
        excluded_positions=tuple(e.to_dict() for e in full.book.excluded),
        notes=tuple(notes),
    )
