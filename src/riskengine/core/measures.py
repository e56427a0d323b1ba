"""Risk measures on a P&L vector.

Conventions (docs/conventions.md): P&L is positive for a gain; losses are ``L = -pnl``;
``value_at_risk`` and ``expected_shortfall`` are positive loss amounts.

* VaR_c = inf{x : P(L <= x) >= c}. On n equally weighted scenarios with losses sorted ascending,
  VaR is L(ceil(c*n)) -- numpy ``quantile(L, c, method="inverted_cdf")`` on the losses.
* ES_c = (E[L 1{L > VaR}] + VaR (P(L <= VaR) - c)) / (1 - c) (Acerbi-Tasche), exact for discrete
  distributions; with n(1-c) = k an integer it is the mean of the k worst losses.

Estimates with standard errors (``Estimate`` tuples): ``empirical_estimates`` (i.i.d.
scenarios), ``grouped_estimates`` (paths dependent within groups: antithetic pairs) and
``replicate_estimates`` (independent replicates: Sobol scrambles).
"""

from __future__ import annotations

import math

import numpy as np

from riskengine.errors import InputError

_INDEX_EPS = 1e-9


def check_confidence(confidence: float) -> float:
    """Return ``confidence`` as a float, or raise if it is not strictly inside (0, 1)."""
    try:
        c = float(confidence)
    except (TypeError, ValueError):
        raise InputError(
            f"confidence must be a number in (0, 1), e.g. 0.99; got {confidence!r}."
        ) from None
    if not (0.0 < c < 1.0) or math.isnan(c):
        raise InputError(
            f"confidence must be strictly between 0 and 1 (e.g. 0.95 or 0.99); got {confidence!r}."
        )
    return c


def var_index(n: int, confidence: float) -> int:
    """0-based index of the VaR order statistic among ``n`` ascending losses: ceil(c*n) - 1.

    The ceiling is taken robustly against floating point (0.95 * 100 is not exactly 95).
    """
    k = math.ceil(confidence * n - _INDEX_EPS)
    return min(max(k, 1), n) - 1


def _prepare(pnl, weights):
    losses = -np.asarray(pnl, dtype=float).ravel()
    if losses.size == 0:
        raise InputError("pnl is empty: a risk measure needs at least one scenario.")
    if weights is None:
        return losses, None
    w = np.asarray(weights, dtype=float).ravel()
    if w.shape != losses.shape:
        raise InputError(f"weights must have one entry per scenario ({losses.size}); got {w.size}.")
    bad = np.nonzero((w < 0) | ~np.isfinite(w))[0]
    if bad.size:
        raise InputError(
            f"weights must be finite and non-negative; weight {bad[0]} is {w[bad[0]]!r}. "
            "Fix the scenario weights or leave them out for equal weights."
        )
    if w.sum() <= 0:
        raise InputError("weights are all zero; give at least one scenario a positive weight.")
    return losses, w / w.sum()


def _var_es_sorted(sorted_losses: np.ndarray, cum_w: np.ndarray | None, c: float):
    """VaR and ES from ascending losses and (optionally) their cumulative normalised weights."""
    n = sorted_losses.size
    if cum_w is None:
        k = var_index(n, c)
        var = sorted_losses[k]
        # P(L <= VaR) counts ties at the VaR value.
        n_le = int(np.searchsorted(sorted_losses, var, side="right"))
        tail = sorted_losses[n_le:]
        es = (tail.sum() / n + var * (n_le / n - c)) / (1.0 - c)
        return float(var), float(es)
    k = int(np.searchsorted(cum_w, c - _INDEX_EPS, side="left"))
    k = min(k, n - 1)
    var = sorted_losses[k]
    n_le = int(np.searchsorted(sorted_losses, var, side="right"))
    p_le = cum_w[n_le - 1]
    w = np.diff(cum_w, prepend=0.0)
    tail_sum = float(np.dot(w[n_le:], sorted_losses[n_le:]))
    es = (tail_sum + var * (p_le - c)) / (1.0 - c)
    return float(var), float(es)


def value_at_risk(pnl, confidence: float = 0.99, *, weights=None) -> float:
    """Value-at-Risk of a P&L sample, a positive loss amount.

    Args:
        pnl: shape (n_scenarios,), P&L per scenario (gain positive).
        confidence: c in (0, 1).
        weights: optional shape (n_scenarios,) non-negative scenario probabilities (normalised
            here); VaR is then the c-quantile of the weighted empirical loss distribution.

    Returns:
        VaR_c = inf{x : P(L <= x) >= c}; may be negative for a book that gains in the tail.
    """
    return var_es(pnl, [confidence], weights=weights)[0][0]


def expected_shortfall(pnl, confidence: float = 0.99, *, weights=None) -> float:
    """Expected Shortfall (Acerbi-Tasche tail mean) of a P&L sample, a positive loss amount.

    Shapes and weights as :func:`value_at_risk`. Always >= the VaR at the same confidence.
    """
    return var_es(pnl, [confidence], weights=weights)[0][1]


def var_es(pnl, confidences, *, weights=None) -> list[tuple[float, float]]:
    """(VaR, ES) for each confidence with one sort of the losses.

    Args:
        pnl: shape (n_scenarios,).
        confidences: iterable of c in (0, 1).
        weights: optional shape (n_scenarios,).
    """
    cs = [check_confidence(c) for c in confidences]
    losses, w = _prepare(pnl, weights)
    if not np.all(np.isfinite(losses)):
        raise InputError("pnl contains NaN or infinite values; check the prices and positions.")
    order = np.argsort(losses, kind="stable")
    sorted_losses = losses[order]
    cum_w = None if w is None else np.cumsum(w[order])
    return [_var_es_sorted(sorted_losses, cum_w, c) for c in cs]


def var_standard_error(sorted_losses: np.ndarray, confidence: float) -> float:
    """Standard error of the empirical VaR of n i.i.d. scenarios, distribution-free.

    The number of scenarios below the true quantile is Binomial(n, c), with standard deviation
    m = sqrt(n c (1-c)); the order statistics m places either side of the VaR index bracket the
    quantile by about one standard error each way, so SE ~ (L(k+m) - L(k-m)) / 2.

    Args:
        sorted_losses: shape (n_scenarios,), ascending.
    """
    n = sorted_losses.size
    k = var_index(n, confidence)
    m_exact = math.sqrt(n * confidence * (1.0 - confidence))
    m = max(1, int(round(m_exact)))
    lo = max(k - m, 0)
    hi = min(k + m, n - 1)
    # The gap spans (hi - lo) order statistics; one standard error spans m_exact of them.
    return float((sorted_losses[hi] - sorted_losses[lo]) * m_exact / (hi - lo))


def es_standard_error(losses: np.ndarray, confidence: float, var: float) -> float:
    """Standard error of the empirical ES of n i.i.d. scenarios (influence-function form).

    ES = VaR + E[(L - VaR)^+] / (1 - c); its asymptotic variance is Var(VaR + (L - VaR)^+ /
    (1 - c)) / n.

    Args:
        losses: shape (n_scenarios,), any order.
    """
    n = losses.size
    excess = np.maximum(losses - var, 0.0) / (1.0 - confidence)
    return float(excess.std(ddof=1) / math.sqrt(n)) if n > 1 else float("nan")


# --- estimates with their standard errors -------------------------------------------------------
Estimate = tuple[float, float, float, float | None, float | None]
"""(confidence, VaR, ES, VaR standard error or None, ES standard error or None): positive loss
amounts, as ``report.RiskMeasure`` takes them."""


def empirical_estimates(
    pnl: np.ndarray, confidences, *, standard_errors: bool, weights: np.ndarray | None = None
) -> list[Estimate]:
    """VaR and ES of a scenario P&L vector per confidence, with i.i.d. standard errors.

    Args:
        pnl: shape (n_scenarios,).
        confidences: the levels.
        standard_errors: whether to add i.i.d. standard errors (equally weighted scenarios
            only: with ``weights`` they must be False); else they are None.
        weights: optional shape (n_scenarios,) scenario probabilities (the weighted forms of
            VaR and ES, ``var_es``).
    """
    if weights is not None and standard_errors:
        raise ValueError("i.i.d. standard errors are for equally weighted scenarios only")
    pairs = var_es(pnl, confidences, weights=weights)
    if not standard_errors:
        return [(c, v, e, None, None) for c, (v, e) in zip(confidences, pairs, strict=True)]
    losses = -pnl
    sorted_losses = np.sort(losses)
    return [
        (c, v, e, var_standard_error(sorted_losses, c), es_standard_error(losses, c, v))
        for c, (v, e) in zip(confidences, pairs, strict=True)
    ]


def replicate_estimates(pnl: np.ndarray, replicate, confidences) -> list[Estimate]:
    """VaR and ES of all the paths; standard errors from K independent replicates.

    The paths form K >= 2 independent replicates of equal size (Sobol scrambles). The standard
    error of a pooled estimate is the standard deviation (ddof=1) of K replicate estimates
    over sqrt(K): the pooled estimate holds the information of the K replicates, so its
    variance is about that of one replicate over K, and (estimate - true) / SE is about
    Student-t with K - 1 degrees of freedom.

    * VaR: each replicate's own VaR.
    * ES: each replicate's ES with the VaR held at the pooled one,
      VaR + mean_k(max(L - VaR, 0)) / (1 - c) (the mean of the ES influence function over the
      replicate). ES does not move to first order with the VaR it is taken at, so this is the
      replicate's ES up to second-order terms, without the noise of a VaR estimated from the
      few tail points of one replicate (which measurably shrank the spread: standard errors
      ~8% low against ~4% with this form, in 1,000-seed checks).

    Args:
        pnl: shape (n_scenarios,), P&L per path.
        replicate: shape (n_scenarios,), the replicate (0 .. K-1) of each path.
        confidences: iterable of c in (0, 1).
    """
    pooled = var_es(pnl, confidences)
    label = np.asarray(replicate, dtype=np.intp)
    k = int(label.max()) + 1
    sizes = np.bincount(label, minlength=k)
    losses = -np.asarray(pnl, dtype=float)
    per_var = np.array([var_es(pnl[label == r], confidences) for r in range(k)])[:, :, 0]
    out: list[Estimate] = []
    for i, (c, (var, es)) in enumerate(zip(confidences, pooled, strict=True)):
        excess = np.bincount(label, np.maximum(losses - var, 0.0), minlength=k) / sizes
        per_es = var + excess / (1.0 - c)
        var_se = per_var[:, i].std(ddof=1) / math.sqrt(k)
        es_se = per_es.std(ddof=1) / math.sqrt(k)
        out.append((c, var, es, float(var_se), float(es_se)))
    return out


def grouped_estimates(pnl: np.ndarray, groups: np.ndarray, confidences) -> list[Estimate]:
    """VaR and ES of all the paths, with standard errors for paths dependent within groups.

    The groups (e.g. antithetic pairs) are independent of each other and each
    path has the model's distribution, but paths of one group are not independent. Both
    estimators are linearised (Bahadur; the ES influence function):

    * ES ~ mean of psi_i = VaR + max(L_i - VaR, 0) / (1 - c): its variance is estimated from
      the group totals of psi (``_grouped_mean_se``).
    * VaR ~ VaR_true - (F_n(VaR_true) - c) / f, with F_n the fraction of losses <= VaR: its
      standard error is SE(F_n) / f, SE(F_n) from the group totals of 1{L_i <= VaR}. The
      density term 1/f is that of the i.i.d. order-statistic formula (``var_standard_error``,
      which equals sqrt(c (1 - c) / n) / f): the spacing of the order statistics estimates the
      marginal quantile density whatever the dependence between paths.

    Args:
        pnl: shape (n_scenarios,), P&L per path.
        groups: shape (n_scenarios,), the group of each path, a non-negative integer (labels
            need not be consecutive).
        confidences: iterable of c in (0, 1).
    """
    pairs = var_es(pnl, confidences)
    losses = -np.asarray(pnl, dtype=float)
    n = losses.size
    sorted_losses = np.sort(losses)
    label = np.asarray(groups, dtype=np.intp)
    sizes = np.bincount(label).astype(float)
    out: list[Estimate] = []
    for c, (var, es) in zip(confidences, pairs, strict=True):
        iid_f_se = math.sqrt(c * (1.0 - c) / n)
        below = (losses <= var).astype(float)
        var_se = var_standard_error(sorted_losses, c) * _grouped_mean_se(below, label, sizes)
        var_se /= iid_f_se
        excess = np.maximum(losses - var, 0.0) / (1.0 - c)
        out.append((c, var, es, var_se, _grouped_mean_se(excess, label, sizes)))
    return out


def _grouped_mean_se(x: np.ndarray, label: np.ndarray, sizes: np.ndarray) -> float:
    """Standard error of mean(x) when the groups ``label`` are independent (cluster-robust):
    sqrt(G / (G - 1) * sum_g (S_g - n_g mean)^2) / n with S_g the total of group g. With
    equal groups it is the standard deviation of the group means over sqrt(G); with groups of
    one path, the i.i.d. std / sqrt(n)."""
    g = int(np.count_nonzero(sizes))  # unused labels add nothing to the sum below
    if g < 2:
        return float("nan")
    mean = x.mean()
    dev = np.bincount(label, weights=x, minlength=sizes.size) - sizes * mean
    return float(math.sqrt(g / (g - 1.0) * np.dot(dev, dev)) / x.size)
