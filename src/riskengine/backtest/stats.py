"""Backtest statistics: pure functions on arrays of realised P&L and forecasts.

Conventions (docs/backtest.md):

* An **exception** on day t is a realised loss above the VaR forecast for that day:
  ``L_t > VaR_t`` with ``L_t = -pnl_t`` (strict; a loss equal to the VaR is not an exception).
* Likelihood ratios use ``0 * log(0) = 0``, so zero and full counts are handled; their p-values
  are chi-square upper tails (``scipy.stats.chi2.sf``).
* Z2 (Acerbi & Szekely 2014) keeps the authors' sign: negative when risk is underestimated.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.special import xlogy

from riskengine.core.lazy import stats
from riskengine.core.measures import check_confidence
from riskengine.errors import InputError

GREEN_LIMIT = 0.95  # green while P(X <= k) < 95%
YELLOW_LIMIT = 0.9999  # yellow while P(X <= k) < 99.99%; red from there on
BASEL_DAYS = 250
BASEL_CONFIDENCE = 0.99
# Basel (1996) plus factors for 5, 6, 7, 8 and 9 exceptions in 250 days at 99% (green adds 0,
# red adds 1); applied only to that test.
BASEL_YELLOW_PLUS_FACTORS = (0.40, 0.50, 0.65, 0.75, 0.85)


@dataclass(frozen=True)
class LikelihoodRatio:
    """A likelihood-ratio test: its statistic, degrees of freedom and chi-square p-value."""

    statistic: float
    df: int
    p_value: float

    def to_dict(self) -> dict:
        return {"statistic": self.statistic, "df": self.df, "p_value": self.p_value}


@dataclass(frozen=True)
class Transitions:
    """Counts of consecutive-day pairs (I_{t-1}, I_t) of exception indicators: n_ij is the number
    of days with I_{t-1} = i followed by I_t = j."""

    n00: int
    n01: int
    n10: int
    n11: int

    def to_dict(self) -> dict:
        return {"n00": self.n00, "n01": self.n01, "n10": self.n10, "n11": self.n11}


@dataclass(frozen=True)
class TrafficLight:
    """The Basel traffic light of ``n_exceptions`` in ``n_obs`` days at ``confidence``.

    Attributes:
        zone: "green", "yellow" or "red".
        cumulative_probability: P(X <= n_exceptions) for X ~ Binomial(n_obs, 1 - confidence).
        plus_factor: the Basel plus factor (0.00 .. 1.00), or None outside the regulatory test
            (250 days at 99%).
        green_max, yellow_max: the largest exception counts of the green and yellow zones.
    """

    n_obs: int
    n_exceptions: int
    confidence: float
    zone: str
    cumulative_probability: float
    plus_factor: float | None
    green_max: int
    yellow_max: int

    def to_dict(self) -> dict:
        return {
            "n_obs": self.n_obs,
            "n_exceptions": self.n_exceptions,
            "zone": self.zone,
            "cumulative_probability": self.cumulative_probability,
            "plus_factor": self.plus_factor,
            "green_max": self.green_max,
            "yellow_max": self.yellow_max,
        }


def _flags(exceptions) -> np.ndarray:
    x = np.asarray(exceptions)
    if x.ndim != 1:
        raise InputError(f"exceptions must be a 1-d sequence of 0/1 flags; got shape {x.shape}.")
    if x.dtype != bool and not np.all((x == 0) | (x == 1)):
        raise InputError("exceptions must hold only 0/1 (or False/True) flags.")
    return x.astype(bool)


def exception_flags(pnl, value_at_risk) -> np.ndarray:
    """Exception indicators: the realised loss exceeds the VaR forecast.

    Args:
        pnl: shape (n_obs,), realised P&L (gain positive) of each day.
        value_at_risk: shape (n_obs,) (or broadcastable, e.g. (n_obs, n_confidences)), the VaR
            forecast for that day, a positive loss amount.

    Returns:
        bool array of the broadcast shape: ``-pnl > value_at_risk``.
    """
    pnl = np.asarray(pnl, dtype=float)
    var = np.asarray(value_at_risk, dtype=float)
    if var.ndim == pnl.ndim + 1:
        pnl = pnl[..., None]
    return -pnl > var


def count_exceptions(exceptions) -> int:
    """Number of exceptions in a sequence of 0/1 flags."""
    return int(np.count_nonzero(_flags(exceptions)))


def _check_n(n_exceptions: int, n_obs: int) -> None:
    if n_obs < 1 or not 0 <= n_exceptions <= n_obs:
        raise InputError(
            f"need 0 <= n_exceptions <= n_obs and n_obs >= 1; got {n_exceptions} of {n_obs}."
        )


def kupiec_pof(n_exceptions: int, n_obs: int, confidence: float) -> LikelihoodRatio:
    """Kupiec (1995) proportion-of-failures test of unconditional coverage.

    With x exceptions in T days and p = 1 - c:
    ``LR_pof = -2 [ (T-x) ln(1-p) + x ln p - (T-x) ln(1-x/T) - x ln(x/T) ]`` (0 ln 0 = 0),
    asymptotically chi-square with 1 degree of freedom under H0: P(exception) = p.
    """
    c = check_confidence(confidence)
    x, t = int(n_exceptions), int(n_obs)
    _check_n(x, t)
    p = 1.0 - c
    phat = x / t
    log_null = xlogy(t - x, 1.0 - p) + xlogy(x, p)
    log_alt = xlogy(t - x, 1.0 - phat) + xlogy(x, phat)
    lr = -2.0 * (log_null - log_alt)
    lr = lr if lr > 0.0 else 0.0  # rounding (and -0.0) below the minimum
    return LikelihoodRatio(float(lr), 1, float(stats.chi2.sf(lr, 1)))


def transitions(exceptions) -> Transitions:
    """The transition counts n00, n01, n10, n11 of a 0/1 exception sequence (T - 1 pairs)."""
    x = _flags(exceptions).astype(np.intp)
    if x.size < 2:
        return Transitions(0, 0, 0, 0)
    pair = 2 * x[:-1] + x[1:]
    n = np.bincount(pair, minlength=4)
    return Transitions(int(n[0]), int(n[1]), int(n[2]), int(n[3]))


def christoffersen_independence(exceptions) -> LikelihoodRatio:
    """Christoffersen (1998) test of independence of exceptions against a first-order Markov
    chain, on the T - 1 consecutive pairs.

    With pi01 = n01 / (n00 + n01), pi11 = n11 / (n10 + n11) and pi = (n01 + n11) / (T - 1):
    ``LR_ind = -2 [ (n00+n10) ln(1-pi) + (n01+n11) ln pi
                    - n00 ln(1-pi01) - n01 ln pi01 - n10 ln(1-pi11) - n11 ln pi11 ]``
    (0 ln 0 = 0; a probability with an empty denominator only multiplies zero counts), chi-square
    with 1 degree of freedom. NaN for fewer than two days.
    """
    n = transitions(exceptions)
    total = n.n00 + n.n01 + n.n10 + n.n11
    if total == 0:
        return LikelihoodRatio(float("nan"), 1, float("nan"))
    pi = (n.n01 + n.n11) / total
    pi01 = n.n01 / (n.n00 + n.n01) if n.n00 + n.n01 else 0.0
    pi11 = n.n11 / (n.n10 + n.n11) if n.n10 + n.n11 else 0.0
    log_null = xlogy(n.n00 + n.n10, 1.0 - pi) + xlogy(n.n01 + n.n11, pi)
    log_alt = (
        xlogy(n.n00, 1.0 - pi01)
        + xlogy(n.n01, pi01)
        + xlogy(n.n10, 1.0 - pi11)
        + xlogy(n.n11, pi11)
    )
    lr = -2.0 * (log_null - log_alt)
    lr = lr if lr > 0.0 else 0.0  # rounding (and -0.0) below the minimum
    return LikelihoodRatio(float(lr), 1, float(stats.chi2.sf(lr, 1)))


def conditional_coverage(exceptions, confidence: float) -> LikelihoodRatio:
    """Christoffersen's conditional coverage test: ``LR_cc = LR_pof + LR_ind`` (Kupiec on all T
    days, independence on the T - 1 pairs), chi-square with 2 degrees of freedom."""
    x = _flags(exceptions)
    pof = kupiec_pof(int(x.sum()), x.size, confidence)
    ind = christoffersen_independence(x)
    lr = pof.statistic + ind.statistic
    p = float(stats.chi2.sf(lr, 2)) if math.isfinite(lr) else float("nan")
    return LikelihoodRatio(float(lr), 2, p)


def traffic_light_bounds(n_obs: int = BASEL_DAYS, confidence: float = BASEL_CONFIDENCE):
    """The largest exception counts of the green and yellow zones, from the binomial law.

    k is green while ``P(X <= k) < 95%`` and yellow while ``P(X <= k) < 99.99%``, X ~
    Binomial(n_obs, 1 - confidence) (Basel Committee, 1996). For 250 days at 99% this gives
    green 0-4, yellow 5-9, red 10 and more.

    Returns:
        (green_max, yellow_max); green_max is -1 if even 0 exceptions reach 95%.
    """
    c = check_confidence(confidence)
    if n_obs < 1:
        raise InputError(f"n_obs must be >= 1; got {n_obs}.")
    cdf = stats.binom.cdf(np.arange(n_obs + 1), n_obs, 1.0 - c)
    green_max = int(np.count_nonzero(cdf < GREEN_LIMIT)) - 1
    yellow_max = int(np.count_nonzero(cdf < YELLOW_LIMIT)) - 1
    return green_max, yellow_max


def traffic_light(
    n_exceptions: int, n_obs: int = BASEL_DAYS, confidence: float = BASEL_CONFIDENCE
) -> TrafficLight:
    """The Basel traffic light zone of ``n_exceptions`` in ``n_obs`` days (see
    ``traffic_light_bounds``), with the plus factor of the regulatory test (250 days at 99%):
    0.00 (green), 0.40, 0.50, 0.65, 0.75, 0.85 (5 to 9 exceptions), 1.00 (red)."""
    c = check_confidence(confidence)
    x = int(n_exceptions)
    _check_n(x, n_obs)
    green_max, yellow_max = traffic_light_bounds(n_obs, c)
    zone = "green" if x <= green_max else "yellow" if x <= yellow_max else "red"
    plus = None
    if n_obs == BASEL_DAYS and math.isclose(c, BASEL_CONFIDENCE):
        if zone == "green":
            plus = 0.0
        elif zone == "red":
            plus = 1.0
        else:
            plus = BASEL_YELLOW_PLUS_FACTORS[x - green_max - 1]
    cum = float(stats.binom.cdf(x, n_obs, 1.0 - c))
    return TrafficLight(n_obs, x, c, zone, cum, plus, green_max, yellow_max)


def rolling_exception_counts(exceptions, n_obs: int = BASEL_DAYS) -> np.ndarray:
    """Exceptions in the last ``n_obs`` days ending at each day.

    Returns:
        int array of the input's length: the count over days t - n_obs + 1 .. t, and -1 for the
        first n_obs - 1 days (too few days yet).
    """
    x = _flags(exceptions).astype(np.int64)
    out = np.full(x.size, -1, dtype=np.int64)
    if x.size >= n_obs:
        c = np.concatenate([[0], np.cumsum(x)])
        out[n_obs - 1 :] = c[n_obs:] - c[:-n_obs]
    return out


def rolling_traffic_light(
    exceptions, n_obs: int = BASEL_DAYS, confidence: float = BASEL_CONFIDENCE
) -> tuple[np.ndarray, np.ndarray]:
    """The traffic light on the ``n_obs`` days ending at each day.

    Returns:
        (counts, zones): int array (-1 before n_obs days) and an array of "green", "yellow",
        "red" ("" before n_obs days), both of the input's length.
    """
    counts = rolling_exception_counts(exceptions, n_obs)
    green_max, yellow_max = traffic_light_bounds(n_obs, confidence)
    zones = np.select(
        [counts < 0, counts <= green_max, counts <= yellow_max], ["", "green", "yellow"], "red"
    )
    return counts, zones


def acerbi_szekely_z2(losses, value_at_risk, expected_shortfall, confidence: float):
    """Acerbi-Szekely (2014) Z2 statistic of an ES forecast, in the loss-positive convention.

    ``Z2 = 1 - sum_t L_t 1{L_t > VaR_t} / (T (1 - c) ES_t)``

    which is the authors' ``Z2 = sum_t X_t I_t / (T alpha ES_t) + 1`` with P&L ``X = -L`` and
    alpha = 1 - c. Under a correct model E[Z2] = 0 (continuous distributions); Z2 < 0 when the
    realised tail losses are larger or more frequent than forecast (risk underestimated), > 0
    when risk is overestimated.

    Args:
        losses: shape (..., T), realised losses (a leading axis holds simulated samples).
        value_at_risk, expected_shortfall: shape (T,), the forecasts (ES > 0).
        confidence: c.

    Returns:
        float (or an array of the leading shape). NaN if some ES_t <= 0.
    """
    c = check_confidence(confidence)
    lo = np.asarray(losses, dtype=float)
    var = np.asarray(value_at_risk, dtype=float)
    es = np.asarray(expected_shortfall, dtype=float)
    t = lo.shape[-1]
    if t == 0:
        raise InputError("Z2 needs at least one day.")
    if np.any(es <= 0):
        nan = np.full(lo.shape[:-1], np.nan)
        return float(nan) if nan.ndim == 0 else nan
    ratio = np.where(lo > var, lo / es, 0.0)
    z2 = 1.0 - ratio.sum(axis=-1) / (t * (1.0 - c))
    return float(z2) if np.ndim(z2) == 0 else z2


def simulation_p_value(observed: float, simulated) -> float:
    """One-sided Monte Carlo p-value for a statistic that is small under the alternative:
    ``(1 + #{simulated <= observed}) / (M + 1)`` (never 0; M simulations)."""
    sim = np.asarray(simulated, dtype=float).ravel()
    if not math.isfinite(observed) or sim.size == 0:
        return float("nan")
    sim = sim[np.isfinite(sim)]
    return float((1 + np.count_nonzero(sim <= observed)) / (sim.size + 1))
