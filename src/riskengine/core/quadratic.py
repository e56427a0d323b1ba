"""Moments of a quadratic function of a Gaussian vector (delta-gamma P&L).

P&L = a + b'x + 1/2 x' G x with x ~ N(m, S). Its cumulants are (Mathai & Provost 1992)

    k1 = a + b'm + 1/2 m'Gm + 1/2 tr(GS)
    kr = 1/2 (r-1)! tr((GS)^r) + r!/2 (b + Gm)' S (GS)^(r-2) (b + Gm),   r >= 2.
"""

from __future__ import annotations

import math

import numpy as np


def quadratic_moments(
    a: float, b: np.ndarray, gamma: np.ndarray, mean: np.ndarray, cov: np.ndarray
) -> tuple[float, float, float, float]:
    """Mean, standard deviation, skewness and excess kurtosis of a + b'x + 1/2 x'Gx.

    Args:
        a: constant term.
        b: shape (n_factors,), first-order sensitivities.
        gamma: shape (n_factors, n_factors) symmetric, or shape (n_factors,) for a diagonal G.
        mean: shape (n_factors,), mean of x.
        cov: shape (n_factors, n_factors), covariance of x.
    """
    g = np.diag(gamma) if gamma.ndim == 1 else gamma
    gs = g @ cov
    beta = b + g @ mean
    k1 = a + b @ mean + 0.5 * mean @ g @ mean + 0.5 * np.trace(gs)
    cumulants = [k1]
    gs_pow = np.eye(len(b))  # (GS)^(r-2)
    gs_r = gs @ gs  # (GS)^r, starting at r=2
    for r in (2, 3, 4):
        k = 0.5 * math.factorial(r - 1) * np.trace(gs_r) + 0.5 * math.factorial(r) * (
            beta @ cov @ gs_pow @ beta
        )
        cumulants.append(float(k))
        gs_pow = gs_pow @ gs
        gs_r = gs_r @ gs
    k1, k2, k3, k4 = cumulants
    if k2 <= 0:
        return float(k1), 0.0, 0.0, 0.0
    return float(k1), math.sqrt(k2), k3 / k2**1.5, k4 / k2**2
