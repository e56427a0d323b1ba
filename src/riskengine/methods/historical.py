"""Historical simulation with full revaluation: the window's scenarios (``HistoricalDesign``),
revalued (``revalue``), measured (``core.measures``)."""

from __future__ import annotations

import math

from riskengine.core.measures import empirical_estimates
from riskengine.errors import InsufficientHistoryError
from riskengine.methods.base import VEGA_NOTE, MethodContext, MethodResult, measures_of
from riskengine.revaluation import revalue
from riskengine.scenarios.historical import HistoricalDesign

_CHUNK = 500  # scenarios per piece of work


def run_historical(ctx: MethodContext) -> MethodResult:
    """Revalue today's book under each of the window's h-day historical returns, equally
    weighted, age-weighted (``decay``) or volatility-filtered (``ewma_lambda``) as
    ``spec.historical_weighting`` says."""
    spec = ctx.spec
    design = HistoricalDesign.of(
        spec.horizon_days,
        spec.historical_scaling,
        spec.historical_weighting,
        spec.decay,
        spec.ewma_lambda,
    )
    scen = ctx.cache.scenarios.get_or_create(
        (*ctx.data_key(), design),  # the scenarios: the market data and the recipe
        lambda: design.scenarios(ctx.history, ctx.index, spec.window, ctx.universe),
        lambda s: s.nbytes,
    )
    _check_tail(scen.n_scenarios, spec)
    pnl = revalue(ctx.book, scen.scenario_set(), ctx.executor, rows_per_task=_CHUNK)
    parameters, notes, data_quality = design.describe(scen, spec.window)
    independent, note = design.standard_errors(scen)
    notes.append(note)
    if len(ctx.book.options):
        notes.append("options fully revalued in every scenario; " + VEGA_NOTE)
    estimates = empirical_estimates(
        pnl.total, spec.confidence, standard_errors=independent, weights=pnl.weights
    )
    return MethodResult(
        measures=measures_of(estimates),
        n_scenarios=pnl.n_scenarios,
        parameters=parameters,
        pnl=pnl.total,
        notes=tuple(notes),
        data_quality=tuple(data_quality),
        basis=pnl,
    )


def _check_tail(n: int, spec) -> None:
    """InsufficientHistoryError unless each confidence's tail holds one of ``n`` scenarios."""
    for c in spec.confidence:
        if n * (1.0 - c) < 1.0 - 1e-9:
            need = math.ceil(1.0 / (1.0 - c) - 1e-9)
            raise InsufficientHistoryError(
                f"historical VaR at confidence {c} needs >= {need} scenarios so that the tail "
                f"holds one; the window gives {n} (window {spec.window}, horizon "
                f"{spec.horizon_days}). Lengthen --window or lower --confidence."
            )
