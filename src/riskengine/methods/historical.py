"""Historical simulation with full revaluation."""

from __future__ import annotations

import math

import numpy as np

from riskengine.errors import InsufficientHistoryError
from riskengine.methods.base import (
    VEGA_NOTE,
    MethodContext,
    MethodResult,
    ScenarioSource,
    empirical_measures,
)
from riskengine.scenarios.historical import FILTER_SEED_DAYS, HistoricalDesign

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
    decay, lam = design.decay, design.ewma_lambda
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
    notes = [f"{n} scenarios: h-day returns by {scen.scaling} scaling inside the window"]
    parameters: dict = {"historical_scaling": scen.scaling, "historical_weighting": weighting}
    data_quality: list[dict] = []
    if weighting == "age":
        parameters["decay"] = decay
        if scen.weights is None:
            notes.append("age weighting with decay 1: equal weights (plain historical simulation)")
        else:
            n_eff = 1.0 / float(np.sum(scen.weights**2))
            notes.append(
                f"age-weighted scenarios (Boudoukh-Richardson-Whitelaw): the scenario ending i "
                f"trading days before the window's end has weight proportional to {decay}^i "
                f"(effective number of scenarios {n_eff:.1f})"
            )
    elif weighting == "filtered":
        parameters["ewma_lambda"] = lam
        notes.append(
            "volatility-filtered scenarios (Hull-White): each factor's daily return r_t rescaled "
            f"to r_t * sigma_now / sigma_t, EWMA volatility with lambda {lam:.6g} started from "
            f"the mean square of the window's first {min(FILTER_SEED_DAYS, spec.window)} returns; "
            "h-day scenarios compounded from the rescaled daily returns"
        )
        below = int(np.sum(np.min(scen.returns, axis=1) <= -1.0)) if n else 0
        if below:
            data_quality.append(
                {
                    "code": "filtered_return_below_minus_one",
                    "message": (
                        f"{below} filtered scenario(s) move a factor by -100% or less (today's "
                        "volatility is far above that of their day); their prices are zero or "
                        "negative."
                    ),
                }
            )
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
        scenarios=ScenarioSource(n, max(n, 1), lambda i: scen.returns, scen.weights),
    )
