"""VaR and ES of a P&L with a given mean, variance, skewness and excess kurtosis, and their
directional derivatives: the closed forms of ``riskengine.core.distributions``, vectorised.

Every parametric model gives VaR = -mean + sd * q and ES = -mean + sd * e, with (q, e) the
quantile and tail factors of the standardised loss:

* "normal": q = z, e = phi(z) / (1 - c);
* "student-t": q = sqrt((df-2)/df) t_df^-1(c), e = sqrt((df-2)/df) f_df(t) (df + t^2) /
  ((df - 1)(1 - c)) (constants);
* "delta-gamma" and "cornish-fisher": the Cornish-Fisher expansion in the loss skewness s
  (minus the P&L skewness) and the excess kurtosis k,
  q = z + (z^2-1) s/6 + (z^3-3z) k/24 - (2z^3-5z) s^2/36 and
  e = phi(z) [1 + z s/6 + (z^2-1) k/24 - (2z^2-1) s^2/36] / (1 - c).
"""

from __future__ import annotations

import math

import numpy as np
from scipy import special

from riskengine.core.lazy import stats

CORNISH_FISHER = ("delta-gamma", "cornish-fisher")


def _cf(c: float, s_loss, kurt):
    """(q, e, dq/ds, dq/dk, de/ds, de/dk) of the Cornish-Fisher expansion."""
    z = float(special.ndtri(c))
    pdf = math.exp(-0.5 * z * z) / math.sqrt(2.0 * math.pi) / (1.0 - c)
    s, k = s_loss, kurt
    q = (
        z
        + (z * z - 1.0) * s / 6.0
        + (z**3 - 3.0 * z) * k / 24.0
        - (2.0 * z**3 - 5.0 * z) * s * s / 36.0
    )
    e = pdf * (1.0 + z * s / 6.0 + (z * z - 1.0) * k / 24.0 - (2.0 * z * z - 1.0) * s * s / 36.0)
    dq_ds = (z * z - 1.0) / 6.0 - (2.0 * z**3 - 5.0 * z) * s / 18.0
    dq_dk = (z**3 - 3.0 * z) / 24.0
    de_ds = pdf * (z / 6.0 - (2.0 * z * z - 1.0) * s / 18.0)
    de_dk = pdf * (z * z - 1.0) / 24.0
    return q, e, dq_ds, dq_dk, de_ds, de_dk


def factors(kind: str, c: float, df: float, s_loss=0.0, kurt=0.0):
    """(q, e, dq/ds, dq/dk, de/ds, de/dk) for the model ``kind`` (s: loss skewness, k: excess
    kurtosis; arrays broadcast). The derivatives are zero for "normal" and "student-t"."""
    if kind in CORNISH_FISHER:
        return _cf(c, np.asarray(s_loss, float), np.asarray(kurt, float))
    if kind == "normal":
        z = float(special.ndtri(c))
        q, e = z, math.exp(-0.5 * z * z) / math.sqrt(2.0 * math.pi) / (1.0 - c)
    elif kind == "student-t":
        scale = math.sqrt((df - 2.0) / df)
        t = float(stats.t.ppf(c, df))
        q = scale * t
        e = scale * float(stats.t.pdf(t, df)) * (df + t * t) / ((df - 1.0) * (1.0 - c))
    else:
        raise ValueError(f"unknown parametric model {kind!r}")
    return q, e, 0.0, 0.0, 0.0, 0.0


def standardised_shape(k2, k3, k4):
    """(sd, P&L skewness, excess kurtosis) from the variance and the third and fourth
    cumulants (zeros where the variance is not positive, as ``quadratic_moments``)."""
    k2 = np.asarray(k2, float)
    ok = k2 > 0
    safe = np.where(ok, k2, 1.0)
    sd = np.where(ok, np.sqrt(safe), 0.0)
    skew = np.where(ok, np.asarray(k3, float) / safe**1.5, 0.0)
    kurt = np.where(ok, np.asarray(k4, float) / safe**2, 0.0)
    return sd, skew, kurt


def var_es(kind: str, c: float, df: float, mean, sd, pnl_skew=0.0, kurt=0.0):
    """VaR and ES (arrays broadcast) of a P&L with the given mean, sd and shape."""
    q, e, *_ = factors(kind, c, df, -np.asarray(pnl_skew, float), kurt)
    mean = np.asarray(mean, float)
    return -mean + sd * q, -mean + sd * e


def var_es_derivative(kind, c, df, mean, sd, pnl_skew, kurt, d_mean, d_var, d_skew, d_kurt):
    """Directional derivatives of VaR and ES given those of the mean, the variance, the P&L
    skewness and the excess kurtosis (arrays broadcast; where sd = 0, only the mean moves)."""
    q, e, dq_ds, dq_dk, de_ds, de_dk = factors(kind, c, df, -np.asarray(pnl_skew, float), kurt)
    sd = np.asarray(sd, float)
    ok = sd > 0
    half_over_sd = np.where(ok, 0.5 / np.where(ok, sd, 1.0), 0.0)
    d_var = np.asarray(d_var, float)
    d_mean = np.asarray(d_mean, float)
    # the loss skewness is minus the P&L skewness
    dv = -d_mean + q * d_var * half_over_sd + sd * (-dq_ds * d_skew + dq_dk * d_kurt)
    de = -d_mean + e * d_var * half_over_sd + sd * (-de_ds * d_skew + de_dk * d_kurt)
    return dv, de
