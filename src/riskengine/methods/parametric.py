"""Parametric (variance-covariance) VaR and ES: delta-normal, delta-gamma, Student-t and
Cornish-Fisher."""

from __future__ import annotations

import math

import numpy as np

from riskengine.core.distributions import (
    cornish_fisher_monotone,
    cornish_fisher_var_es,
    normal_var_es,
    pnl_density,
    population_moments,
    student_t_var_es,
)
from riskengine.core.factor_model import FactorCovariance, factor_quadratic_moments
from riskengine.core.quadratic import quadratic_moments
from riskengine.methods.base import (
    VEGA_NOTE,
    MethodContext,
    MethodResult,
    ParametricModel,
    covariance_flags,
)
from riskengine.report import RiskMeasure


def run_parametric(ctx: MethodContext) -> MethodResult:
    """P&L moments from the book's sensitivities and the covariance, then a quantile.

    The mean scales with h and the covariance with h. ``distribution``:
    * normal: delta-normal for linear books in the base currency; with a gamma (options, or the
      cross gamma of positions converted at an FX factor) and approximation "delta-gamma",
      the exact first four moments of the quadratic P&L and a Cornish-Fisher quantile;
    * student-t: delta P&L with a standardised Student-t(df) quantile;
    * cornish-fisher: delta P&L volatility, with the skewness and excess kurtosis of the book's
      historical 1-day P&L over the window (full revaluation, population moments).
    """
    spec = ctx.spec
    book = ctx.book
    est = ctx.covariance()
    cols = book.columns
    h = spec.horizon_days
    mu = est.mean[cols] * h
    # g: the diagonal gamma (options on one factor), or the full matrix when positions
    # priced in another currency add cross gammas between their factor and their FX factor.
    a, b, g = book.sensitivities(cols)
    cov: np.ndarray | FactorCovariance
    if isinstance(est, FactorCovariance):  # B B' + diag(d): never the p x p matrix
        factor_cov = est.take(cols).scaled(h)
        cov, variance = factor_cov, factor_cov.quad(b)

        def moments():
            if g.ndim == 1:
                return factor_quadratic_moments(a, b, g, mu, factor_cov)
            return quadratic_moments(a, b, g, mu, factor_cov.matrix)
    else:
        dense_cov = est.matrix[np.ix_(cols, cols)] * h
        cov, variance = dense_cov, float(b @ dense_cov @ b)

        def moments():
            return quadratic_moments(a, b, g, mu, dense_cov)

    mean = a + float(b @ mu)
    sd = math.sqrt(max(variance, 0.0))
    params: dict = {"distribution": spec.distribution, "mean": spec.mean}
    notes = []
    has_gamma = bool(np.any(g != 0))
    history_returns = pnl_1d = None
    if spec.distribution == "normal":
        if has_gamma and spec.approximation == "delta-gamma":
            mean, sd, skew, kurt = moments()
            params["approximation"] = "delta-gamma"
            notes.append(
                "delta-gamma: exact moments of the quadratic P&L, Cornish-Fisher quantile "
                f"(skewness {skew:.4g}, excess kurtosis {kurt:.4g})"
            )

            def quantile(c):
                return cornish_fisher_var_es(mean, sd, c, skew, kurt)
        else:
            params["approximation"] = "delta"

            def quantile(c):
                return normal_var_es(mean, sd, c)
    elif spec.distribution == "student-t":
        params.update(approximation="delta", df=spec.df)

        def quantile(c):
            return student_t_var_es(mean, sd, c, spec.df)
    else:
        history_returns = ctx.history.returns(ctx.index, spec.window, ctx.universe, 1)
        pnl_1d = book.pnl(history_returns)
        _, _, skew, kurt = population_moments(pnl_1d)
        params.update(approximation="delta", skewness=skew, excess_kurtosis=kurt)
        notes.append(
            "Cornish-Fisher moments from the book's historical 1-day P&L over the window "
            "(population skewness and excess kurtosis)"
        )

        def quantile(c):
            return cornish_fisher_var_es(mean, sd, c, skew, kurt)

    has_options = len(book.options) > 0
    converted = book.has_cross_terms or book.options.foreign.size > 0
    if converted:
        notes.append(
            "positions priced in another currency are converted at their FX factor: FX deltas "
            "and the cross gamma between each factor and its FX factor enter the expansion"
        )
    if has_options:
        notes.append(VEGA_NOTE)
    if has_gamma and params.get("approximation") == "delta":
        what = " and ".join(
            w for w, on in (("options", has_options), ("FX-converted positions", converted)) if on
        )
        notes.append(f"{what} enter by their delta only")
    measures = tuple(RiskMeasure(c, *map(float, quantile(c))) for c in spec.confidence)
    flags = list(covariance_flags(est, spec.window, len(cols)))
    expiring = int(np.sum(book.options.t_horizon <= 0)) if has_options else 0
    if expiring:
        flags.append(
            {
                "code": "options_expire_in_horizon",
                "message": (
                    f"{expiring} option(s) expire inside the {h}-day horizon: their payoff has a "
                    "kink a delta-gamma expansion cannot follow, so their delta and gamma are "
                    "taken at today's time to expiry; historical or Monte Carlo revalue them at "
                    "intrinsic."
                ),
            }
        )
    uses_cf = spec.distribution == "cornish-fisher" or params["approximation"] == "delta-gamma"
    if uses_cf and not all(cornish_fisher_monotone(c, skew, kurt) for c in spec.confidence):
        flags.append(
            {
                "code": "cornish_fisher_not_monotone",
                "message": (
                    f"the Cornish-Fisher expansion (skewness {skew:.3g}, excess kurtosis "
                    f"{kurt:.3g}) bends back in the tail: ES integrates its monotone "
                    "rearrangement; the expansion is unreliable this far from normal, compare "
                    "historical or Monte Carlo."
                ),
            }
        )
    if spec.distribution == "normal":
        kind = "delta-gamma" if params["approximation"] == "delta-gamma" else "normal"
    else:
        kind = spec.distribution
    if kind == "normal":
        density = pnl_density("normal", mean, sd)
    elif kind == "student-t":
        density = pnl_density("student-t", mean, sd, df=float(spec.df))
    else:  # delta-gamma and cornish-fisher: the Cornish-Fisher quantile of the moments
        density = pnl_density("cornish-fisher", mean, sd, pnl_skew=skew, excess_kurtosis=kurt)
    return MethodResult(
        measures=measures,
        n_scenarios=None,
        parameters=params | est.report_parameters,
        notes=tuple(notes),
        data_quality=tuple(flags),
        basis=ParametricModel(cols, mu, cov, kind, float(spec.df), history_returns, pnl_1d),
        density=density,
    )
