"""Option revaluation on an interpolation grid: cost independent of paths x options.

Every option depends on one factor, so the total P&L of all options on underlying u is a
function of one variable, the return x of u: f_u(x) = sum_j units_j (V_j(S_u (1 + x), T_j - h/252)
- V_j(S_u, T_j)). The grid prices each option on ``n_points`` equally spaced returns per
underlying once, and each scenario then costs one linear interpolation per underlying.

Error bound: linear interpolation on a step d errs by at most d^2/8 * max|f_u''| on each
interval, and f_u''(x) = S_u^2 * sum_j units_j Gamma_j(S_u (1 + x)). The bound reported is
sum_u d_u^2/8 * max|f_u''|, the maximum taken over the grid nodes and interval midpoints; it
bounds the error of every scenario's P&L, hence of VaR and ES. Options that expire inside the
horizon are valued exactly at intrinsic (their payoff has a kink a grid would smear). Returns
outside the grid are revalued exactly, so the grid range only affects speed, never correctness.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from riskengine.pricing.black_scholes import bsm_greeks, bsm_price
from riskengine.pricing.book import CompiledBook

DEFAULT_POINTS = 129


@dataclass(frozen=True)
class OptionGrid:
    """Interpolation tables of option P&L per underlying.

    Attributes:
        columns: shape (n_underlyings,), scenario columns carrying options.
        lo: shape (n_underlyings,), lowest grid return.
        inv_step: shape (n_underlyings,), 1 / grid step.
        values: shape (n_underlyings * n_points,), P&L at the nodes, flattened.
        slopes: shape (n_underlyings * n_points,), P&L increase per grid step after each node.
        error_bound: bound on |grid P&L - full revaluation P&L| for any scenario.
    """

    book: CompiledBook
    columns: np.ndarray
    lo: np.ndarray
    inv_step: np.ndarray
    n_points: int
    values: np.ndarray
    slopes: np.ndarray
    option_groups: tuple[np.ndarray, ...]
    at_expiry: np.ndarray
    error_bound: float

    def pnl(self, returns: np.ndarray) -> np.ndarray:
        """Total option P&L per scenario.

        Args:
            returns: shape (n_scenarios, n_columns).

        Returns:
            shape (n_scenarios,).
        """
        total = self._pnl_at_expiry(returns)
        if self.columns.size == 0:
            return total
        x = (returns[:, self.columns] - self.lo) * self.inv_step
        i = np.floor(x)
        outside = (i < 0) | (i > self.n_points - 2)
        np.clip(i, 0, self.n_points - 2, out=i)
        x -= i
        flat = i.astype(np.intp)
        flat += np.arange(self.columns.size, dtype=np.intp) * self.n_points
        val = self.values[flat]
        val += x * self.slopes[flat]
        total += val.sum(axis=1)
        if outside.any():
            self._fix_outside(returns, outside, val, total)
        return total

    def _pnl_at_expiry(self, returns):
        """Exact P&L of the options that expire inside the horizon (intrinsic value)."""
        idx = self.at_expiry
        if idx.size == 0:
            return np.zeros(returns.shape[0])
        o = self.book.options
        s = self.book.spot[o.column[idx]] * (1.0 + returns[:, o.column[idx]])
        sign = np.where(o.is_call[idx], 1.0, -1.0)
        intrinsic = np.maximum(sign * (s - o.strike[idx]), 0.0)
        return (intrinsic - o.value_now[idx]) @ o.units[idx]

    def _fix_outside(self, returns, outside, val, total):
        """Replace the extrapolated values of out-of-grid returns by exact revaluation."""
        book = self.book
        o = book.options
        rows, us = np.nonzero(outside)
        for u in np.unique(us):
            sel = rows[us == u]
            idx = self.option_groups[u]
            col = self.columns[u]
            s = book.spot[col] * (1.0 + returns[sel, col])[:, None]
            v = bsm_price(
                s,
                o.strike[idx],
                o.t_horizon[idx],
                o.vol[idx],
                o.rate[idx],
                o.carry[idx],
                o.is_call[idx],
            )
            exact = (v - o.value_now[idx]) @ o.units[idx]
            total[sel] += exact - val[sel, u]


def build_option_grid(
    book: CompiledBook, lo: np.ndarray, hi: np.ndarray, n_points: int = DEFAULT_POINTS
) -> OptionGrid:
    """Price the book's options on a grid of returns per underlying column.

    Options that expire inside the horizon are worth their intrinsic value in every scenario,
    which is cheaper to compute exactly than to interpolate (and has a kink): they stay out of
    the grid and are valued exactly on every path.

    Args:
        lo, hi: shape (n_columns,), the grid range of returns per scenario column (only the
            columns carrying options are used).
        n_points: nodes per underlying (>= 2).
    """
    o = book.options
    gridded = np.nonzero(o.t_horizon > 0)[0]
    at_expiry = np.nonzero(o.t_horizon <= 0)[0]
    cols = np.unique(o.column[gridded])
    groups = tuple(gridded[o.column[gridded] == c] for c in cols)
    if cols.size == 0:
        e = np.zeros(0)
        return OptionGrid(book, cols, e, e, n_points, e, e, groups, at_expiry, 0.0)
    glo = np.asarray(lo, float)[cols]
    ghi = np.maximum(np.asarray(hi, float)[cols], glo + 1e-12)
    step = (ghi - glo) / (n_points - 1)
    # Nodes and midpoints per option: shape (n_gridded, 2 * n_points - 1).
    col = o.column[gridded]
    which = np.searchsorted(cols, col)
    fine = glo[which, None] + step[which, None] * (np.arange(2 * n_points - 1) / 2.0)
    s0 = book.spot[col][:, None]
    args = (
        o.strike[gridded, None],
        o.t_horizon[gridded, None],
        o.vol[gridded, None],
        o.rate[gridded, None],
        o.carry[gridded, None],
        o.is_call[gridded, None],
    )
    gr = bsm_greeks(s0 * (1.0 + fine), *args)
    units = o.units[gridded, None]
    node_pnl = ((gr.price - o.value_now[gridded, None]) * units)[:, ::2]
    curvature = gr.gamma * units * s0**2
    values = np.zeros((cols.size, n_points))
    np.add.at(values, which, node_pnl)
    f2 = np.zeros((cols.size, 2 * n_points - 1))
    np.add.at(f2, which, curvature)
    slopes = np.zeros_like(values)
    slopes[:, :-1] = np.diff(values, axis=1)
    bound = float(np.sum(step**2 / 8.0 * np.abs(f2).max(axis=1)))
    return OptionGrid(
        book,
        cols,
        glo,
        1.0 / step,
        n_points,
        values.ravel(),
        slopes.ravel(),
        groups,
        at_expiry,
        bound,
    )
