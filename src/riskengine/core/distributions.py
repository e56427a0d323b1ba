"""Closed forms for VaR and ES of a loss with a given location, scale and shape.

All functions take the P&L mean ``mean`` and standard deviation ``sigma`` (already scaled to the
horizon) and return positive loss amounts, so that VaR = -mean + sigma * q.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import special

from riskengine.core.lazy import stats
from riskengine.errors import InputError


def normal_var_es(mean: float, sigma: float, confidence: float) -> tuple[float, float]:
    """VaR and ES of P&L ~ N(mean, sigma^2): VaR = -mean + sigma z_c, ES = -mean + sigma
    phi(z_c) / (1 - c)."""
    z = special.ndtri(confidence)
    pdf = math.exp(-0.5 * z * z) / math.sqrt(2.0 * math.pi)
    return -mean + sigma * z, -mean + sigma * pdf / (1.0 - confidence)


def student_t_var_es(
    mean: float, sigma: float, confidence: float, df: float
) -> tuple[float, float]:
    """VaR and ES of P&L = mean + sigma * T, T a standardised (unit-variance) Student-t(df).

    VaR = -mean + sigma sqrt((df-2)/df) t_df^-1(c);
    ES  = -mean + sigma sqrt((df-2)/df) f_df(q) (df + q^2) / ((df - 1)(1 - c)).
    """
    if df <= 2:
        raise InputError(
            f"df must be > 2 for a unit-variance Student-t; got {df}. Use df > 2 (default 5)."
        )
    scale = sigma * math.sqrt((df - 2.0) / df)
    q = float(stats.t.ppf(confidence, df))
    es_std = float(stats.t.pdf(q, df)) * (df + q * q) / ((df - 1.0) * (1.0 - confidence))
    return -mean + scale * q, -mean + scale * es_std


def cornish_fisher_z(confidence, skew: float | np.ndarray, excess_kurtosis: float | np.ndarray):
    """Cornish-Fisher expansion of the c-quantile of a standardised variable with the given
    skewness and excess kurtosis (of the variable whose quantile is taken)."""
    z = special.ndtri(np.asarray(confidence, dtype=float))
    s, k = skew, excess_kurtosis
    return (
        z
        + (z * z - 1.0) * s / 6.0
        + (z**3 - 3.0 * z) * k / 24.0
        - (2.0 * z**3 - 5.0 * z) * s * s / 36.0
    )


def _cf_poly(z, s: float, k: float):
    """The Cornish-Fisher polynomial at standard-normal quantiles z (loss skewness s)."""
    return (
        z
        + (z * z - 1.0) * s / 6.0
        + (z**3 - 3.0 * z) * k / 24.0
        - (2.0 * z**3 - 5.0 * z) * s * s / 36.0
    )


_TAIL_GRID = np.linspace(0.0, 10.0, 4001)  # z beyond the VaR quantile, for the tail integral
_Z_FAR = 5.0  # the 1 - 2.9e-7 quantile


def cornish_fisher_monotone(confidence: float, pnl_skew: float, excess_kurtosis: float) -> bool:
    """Whether the Cornish-Fisher loss quantile increases over the tail beyond ``confidence``
    up to the 1 - 2.9e-7 quantile (z = 5). Large skewness or kurtosis make the expansion bend
    back near the VaR; any cubic with a negative leading term bends back eventually, which
    beyond z = 5 moves ES by a few parts in a million and is ignored."""
    z0 = float(special.ndtri(confidence))
    z = np.linspace(z0, max(z0, _Z_FAR), 2001)
    return bool(np.all(np.diff(_cf_poly(z, -pnl_skew, excess_kurtosis)) >= 0))


def cornish_fisher_var_es(
    mean: float, sigma: float, confidence: float, pnl_skew: float, pnl_excess_kurtosis: float
) -> tuple[float, float]:
    """VaR and ES of P&L with the given mean, sd, skewness and excess kurtosis, by the
    Cornish-Fisher expansion of the loss quantile.

    The loss L = -P&L has skewness -pnl_skew. ES is the exact tail integral of the expanded
    quantile function: with He_n the Hermite polynomials, int_z^inf He_n phi = He_{n-1}(z) phi(z),
    so (1-c) ES_std = phi(z) [1 + z s/6 + (z^2-1) k/24 - (2z^2-1) s^2/36], s the loss skewness.
    Where the expansion is not monotone beyond the VaR quantile (see
    ``cornish_fisher_monotone``), the tail is integrated numerically over its monotone
    rearrangement (the running maximum of the quantile), so that ES >= VaR as it must.
    """
    s = -pnl_skew
    k = pnl_excess_kurtosis
    z = float(special.ndtri(confidence))
    zc = float(_cf_poly(z, s, k))
    if cornish_fisher_monotone(confidence, pnl_skew, k):
        pdf = math.exp(-0.5 * z * z) / math.sqrt(2.0 * math.pi)
        tail = pdf * (
            1.0 + z * s / 6.0 + (z * z - 1.0) * k / 24.0 - (2.0 * z * z - 1.0) * s * s / 36.0
        )
        es_std = tail / (1.0 - confidence)
    else:
        zz = z + _TAIL_GRID
        q = np.maximum.accumulate(_cf_poly(zz, s, k))
        weight = np.exp(-0.5 * zz * zz) / math.sqrt(2.0 * math.pi)
        es_std = max(float(np.trapezoid(q * weight, zz)) / (1.0 - confidence), zc)
    return -mean + sigma * zc, -mean + sigma * es_std


DENSITY_POINTS = 101  # points of a parametric report's P&L density curve


def pnl_density(
    distribution: str,
    mean: float,
    sigma: float,
    *,
    pnl_skew: float = 0.0,
    excess_kurtosis: float = 0.0,
    df: float | None = None,
    points: int = DENSITY_POINTS,
) -> dict | None:
    """The fitted P&L density of a parametric report, as a curve for a chart: ``pnl`` (gains
    positive, ascending) and ``density`` (per unit of P&L) at ``points`` points spanning the
    distribution (the 1e-4 to 1 - 1e-4 quantiles; z = -5 to 5 for the normal).

    ``distribution``: "normal" (P&L ~ N(mean, sigma^2)); "student-t" (mean + sigma T, T a
    unit-variance Student-t(df)); "cornish-fisher" (the Cornish-Fisher loss quantile
    -mean + sigma w(z), w the expansion with loss skewness -pnl_skew: the density at that
    loss is phi(z) / (sigma w'(z)), kept where w increases). None when sigma is not positive.
    """
    if not (sigma > 0 and math.isfinite(sigma) and math.isfinite(mean)):
        return None
    out: dict = {"distribution": distribution, "mean": mean, "standard_deviation": sigma}
    if distribution == "normal":
        z = np.linspace(-5.0, 5.0, points)
        pnl = mean + sigma * z
        density = np.exp(-0.5 * z * z) / (math.sqrt(2.0 * math.pi) * sigma)
    elif distribution == "student-t":
        if df is None or df <= 2:
            raise InputError(f"df must be > 2 for a unit-variance Student-t; got {df}.")
        scale = sigma * math.sqrt((df - 2.0) / df)
        lo = float(stats.t.ppf(1e-4, df))
        t = np.linspace(lo, -lo, points)
        pnl = mean + scale * t
        density = stats.t.pdf(t, df) / scale
        out["df"] = df
    elif distribution == "cornish-fisher":
        s, k = -pnl_skew, excess_kurtosis
        z = np.linspace(float(special.ndtri(1e-4)), float(special.ndtri(1 - 1e-4)), points)
        slope = (
            1.0 + z * s / 3.0 + (3.0 * z * z - 3.0) * k / 24.0 - (6.0 * z * z - 5.0) * s * s / 36.0
        )
        keep = slope > 0
        z, slope = z[keep], slope[keep]
        loss = -mean + sigma * _cf_poly(z, s, k)
        pnl = -loss[::-1]
        density = (np.exp(-0.5 * z * z) / (math.sqrt(2.0 * math.pi) * sigma * slope))[::-1]
        out |= {"skewness": pnl_skew, "excess_kurtosis": excess_kurtosis}
        out["monotone"] = bool(keep.all())
    else:
        raise ValueError(f"no density for distribution {distribution!r}")
    out["pnl"] = pnl.tolist()
    out["density"] = density.tolist()
    return out


def population_moments(x: np.ndarray) -> tuple[float, float, float, float]:
    """Mean, standard deviation, skewness and excess kurtosis (population moments, ddof=0)."""
    x = np.asarray(x, dtype=float)
    m = x.mean()
    d = x - m
    var = np.mean(d * d)
    if var <= 0:
        return float(m), 0.0, 0.0, 0.0
    sd = math.sqrt(var)
    skew = float(np.mean(d**3) / sd**3)
    kurt = float(np.mean(d**4) / var**2 - 3.0)
    return float(m), sd, skew, kurt
