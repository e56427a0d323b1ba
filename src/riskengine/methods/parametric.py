"""Parametric (variance-covariance) VaR and ES: delta-normal, delta-gamma, Student-t and
Cornish-Fisher."""

from __future__ import annotations

import math

import numpy as np

from riskengine.core.distributions import (
    cornish_fisher_var_es,
    normal_var_es,
    population_moments,
    student_t_var_es,
)
from riskengine.core.quadratic import quadratic_moments
from riskengine.methods.base import VEGA_NOTE, MethodContext, MethodResult, covariance_flags
from riskengine.report import RiskMeasure


def run_parametric(ctx: MethodContext) -> MethodResult:
    """P&L moments from the book's sensitivities and the covariance, then a quantile.

    The mean scales with h and the covariance with h. ``distribution``:
    * normal: delta-normal for linear books; with options and approximation "delta-gamma",
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
    cov = est.matrix[np.ix_(cols, cols)] * h
    mu = est.mean[cols] * h
    a, b_all, g_all = book.sensitivities()
    b, g = b_all[cols], g_all[cols]
    mean = a + float(b @ mu)
    sd = math.sqrt(max(float(b @ cov @ b), 0.0))
    params: dict = {"distribution": spec.distribution, "mean": spec.mean}
    notes = []
    has_gamma = bool(np.any(g != 0))
    if spec.distribution == "normal":
        if has_gamma and spec.approximation == "delta-gamma":
            mean, sd, skew, kurt = quadratic_moments(a, b, g, mu, cov)
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
        pnl_1d = book.pnl(ctx.history.returns(ctx.index, spec.window, ctx.universe, 1))
        _, _, skew, kurt = population_moments(pnl_1d)
        params.update(approximation="delta", skewness=skew, excess_kurtosis=kurt)
        notes.append(
            "Cornish-Fisher moments from the book's historical 1-day P&L over the window "
            "(population skewness and excess kurtosis)"
        )

        def quantile(c):
            return cornish_fisher_var_es(mean, sd, c, skew, kurt)

    if has_gamma:
        notes.append(VEGA_NOTE)
        if params.get("approximation") == "delta":
            notes.append("options enter by their delta only")
    measures = tuple(RiskMeasure(c, *map(float, quantile(c))) for c in spec.confidence)
    return MethodResult(
        measures=measures,
        n_scenarios=None,
        parameters=params | {"covariance": "sample"},
        notes=tuple(notes),
        data_quality=covariance_flags(est),
    )
