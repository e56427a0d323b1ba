"""Historical simulation with full revaluation."""

from __future__ import annotations

import math

import numpy as np

from riskengine.errors import InsufficientHistoryError
from riskengine.methods.base import (
    VEGA_NOTE,
    MethodContext,
    MethodResult,
    empirical_measures,
)
from riskengine.scenarios.historical import HistoricalDesign
from riskengine.scenarios.set import ScenarioSet

_CHUNK = 500  # scenarios per piece of work


def run_historical(ctx: MethodContext) -> MethodResult:
    """Revalue today's book under each of the window's h-day historical returns, equally
    weighted, age-weighted (``decay``) or volatility-filtered (``ewma_lambda``) as
    ``spec.historical_weighting`` says."""
    spec = ctx.spec
    weighting = spec.historical_weighting
    design = HistoricalDesign.of(
        spec.horizon_days, spec.historical_scaling, weighting, spec.decay, spec.ewma_lambda
    )
    scen = ctx.cache.scenarios.get_or_create(
        (*ctx.data_key(), design),  # the scenarios: the market data and the recipe
        lambda: design.scenarios(ctx.history, ctx.index, spec.window, ctx.universe),
        lambda s: s.nbytes,
    )
    n = scen.n_scenarios
    for c in spec.confidence:
        if n * (1.0 - c) < 1.0 - 1e-9:
            need = math.ceil(1.0 / (1.0 - c) - 1e-9)
            raise InsufficientHistoryError(
                f"historical VaR at confidence {c} needs >= {need} scenarios so that the tail "
                f"holds one; the window gives {n} (window {spec.window}, horizon "
                f"{spec.horizon_days}). Lengthen --window or lower --confidence."
            )
    chunks = range(0, n, _CHUNK)
    book, returns = ctx.book, scen.returns  # what the work needs (not ctx: sent to workers)
    pnl = np.concatenate(ctx.executor.map(lambda s: book.pnl(returns[s : s + _CHUNK]), chunks))
    parameters, notes, data_quality = design.describe(scen, spec.window)
    weighted = scen.weights is not None
    independent = (spec.horizon_days == 1 or scen.scaling == "sqrt") and not weighted
    if weighted:
        notes.append("no standard errors: the i.i.d. formulas assume equally weighted scenarios")
    elif independent:
        notes.append(
            "standard errors treat the historical days as independent draws (volatility "
            "clustering makes the true sampling error larger)"
        )
    else:
        notes.append("no standard errors: overlapping h-day scenarios are not independent")
    if len(ctx.book.options):
        notes.append("options fully revalued in every scenario; " + VEGA_NOTE)
    return MethodResult(
        measures=empirical_measures(
            pnl, spec.confidence, standard_errors=independent, weights=scen.weights
        ),
        n_scenarios=n,
        parameters=parameters,
        pnl=pnl,
        notes=tuple(notes),
        data_quality=tuple(data_quality),
        scenarios=ScenarioSet(n, max(n, 1), lambda i: scen.returns, scen.weights),
    )
