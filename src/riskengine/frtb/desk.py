"""Desk-level tests of MAR32 and the multiplier of MAR33.42/MAR99: backtesting exception
counts, the P&L attribution test (Spearman correlation and Kolmogorov-Smirnov statistic) and
its zones."""

from __future__ import annotations

import numpy as np

DESK_DAYS = 250  # MAR32: the most recent 12 months
DESK_LIMITS = {0.99: 12, 0.975: 30}  # MAR32: more exceptions than this fails the desk
MULTIPLIER_BASE = 1.5  # MAR33.42
# MAR99 Table 2 via MAR33.42: exceptions of 1-day 99% VaR over 250 days -> add-on to 1.5
_ADDONS = {5: 0.20, 6: 0.26, 7: 0.33, 8: 0.38, 9: 0.42}
PLA_GREEN = (0.80, 0.09)  # Spearman > 0.80 and KS < 0.09 (MAR32)
PLA_RED = (0.70, 0.12)  # Spearman < 0.70 or KS > 0.12


def multiplier_addon(n_exceptions: int) -> float:
    """The add-on of MAR99 Table 2: 0-4 exceptions 0, 5: 0.20, 6: 0.26, 7: 0.33, 8: 0.38,
    9: 0.42, 10 or more: 0.50."""
    n = int(n_exceptions)
    if n < 0:
        raise ValueError(f"n_exceptions must be >= 0; got {n}")
    if n <= 4:
        return 0.0
    return _ADDONS.get(n, 0.50)


def multiplier(n_exceptions: int) -> float:
    """m_c = 1.5 + the add-on (MAR33.42)."""
    return MULTIPLIER_BASE + multiplier_addon(n_exceptions)


def backtest_zone(exceptions: dict[float, int]) -> str:
    """ "pass" unless the exceptions at 99% exceed 12 or those at 97.5% exceed 30 (MAR32):
    "fail"."""
    for c, limit in DESK_LIMITS.items():
        if exceptions.get(c, 0) > limit:
            return "fail"
    return "pass"


def spearman(x, y) -> float:
    """Spearman's rank correlation of two series (ties at their average rank)."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if x.shape != y.shape or x.ndim != 1 or x.size < 2:
        raise ValueError(f"two 1-d series of one length >= 2 needed; got {x.shape}, {y.shape}")
    from scipy import stats  # imported on use: riskengine's import stays light

    rx, ry = stats.rankdata(x), stats.rankdata(y)
    rx, ry = rx - rx.mean(), ry - ry.mean()
    den = float(np.sqrt((rx @ rx) * (ry @ ry)))
    return float(rx @ ry) / den if den > 0 else float("nan")


def ks_statistic(x, y) -> float:
    """The two-sample Kolmogorov-Smirnov statistic sup_z |F_x(z) - F_y(z)| of the empirical
    distribution functions."""
    x, y = np.sort(np.asarray(x, dtype=float)), np.sort(np.asarray(y, dtype=float))
    if x.size == 0 or y.size == 0:
        raise ValueError("two non-empty series needed")
    z = np.concatenate([x, y])
    fx = np.searchsorted(x, z, side="right") / x.size
    fy = np.searchsorted(y, z, side="right") / y.size
    return float(np.max(np.abs(fx - fy)))


def pla_zone(spearman_correlation: float, ks: float) -> str:
    """MAR32: "green" when Spearman > 0.80 and KS < 0.09; "red" when Spearman < 0.70 or
    KS > 0.12; "amber" otherwise."""
    rho, d = float(spearman_correlation), float(ks)
    if not (np.isfinite(rho) and np.isfinite(d)):
        return "red"
    if rho < PLA_RED[0] or d > PLA_RED[1]:
        return "red"
    if rho > PLA_GREEN[0] and d < PLA_GREEN[1]:
        return "green"
    return "amber"


def delta_gamma_pnl(book, returns) -> np.ndarray:
    """The risk model's P&L for the attribution test: the book's delta-gamma expansion
    a + b'r + r'Gr/2 (``CompiledBook.sensitivities``; the parametric method's revaluation).

    Args:
        book: a ``CompiledBook``.
        returns: shape (n_obs, n_columns).

    Returns:
        shape (n_obs,).
    """
    a, b, rows, cols, vals = book.second_order_terms()
    r = np.asarray(returns, dtype=float)
    quad = (r[:, rows] * r[:, cols]) @ vals if vals.size else np.zeros(r.shape[0])
    return a + r @ b + 0.5 * quad
