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
    # M = G S; with a diagonal G it is a row scaling, no matrix product.
    m = gamma[:, None] * cov if gamma.ndim == 1 else gamma @ cov
    gm = gamma * mean if gamma.ndim == 1 else gamma @ mean
    beta = b + gm
    m2 = m @ m  # the only matrix product
    # Traces of powers of M from M and M^2: tr(AB) = sum(A * B.T).
    traces = (np.sum(m * m.T), np.sum(m2 * m.T), np.sum(m2 * m2.T))  # r = 2, 3, 4
    # beta' S M^(r-2) beta by matrix-vector products: w = S beta, x_k = M^k beta.
    w = cov @ beta
    x1 = m @ beta
    x2 = m @ x1
    quad = (beta @ w, w @ x1, w @ x2)  # r = 2, 3, 4
    k1 = a + b @ mean + 0.5 * mean @ gm + 0.5 * np.trace(m)
    cumulants = [float(k1)] + [
        float(0.5 * math.factorial(r - 1) * t + 0.5 * math.factorial(r) * q)
        for r, t, q in zip((2, 3, 4), traces, quad, strict=True)
    ]
    k1, k2, k3, k4 = cumulants
    if k2 <= 0:
        return float(k1), 0.0, 0.0, 0.0
    return float(k1), math.sqrt(k2), k3 / k2**1.5, k4 / k2**2
