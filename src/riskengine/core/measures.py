"""Risk measures on a P&L vector.

Conventions (docs/conventions.md): P&L is positive for a gain; losses are ``L = -pnl``;
``value_at_risk`` and ``expected_shortfall`` are positive loss amounts.

* VaR_c = inf{x : P(L <= x) >= c}. On n equally weighted scenarios with losses sorted ascending,
  VaR is L(ceil(c*n)) -- numpy ``quantile(L, c, method="inverted_cdf")`` on the losses.
* ES_c = (E[L 1{L > VaR}] + VaR (P(L <= VaR) - c)) / (1 - c) (Acerbi-Tasche), exact for discrete
  distributions; with n(1-c) = k an integer it is the mean of the k worst losses.
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
