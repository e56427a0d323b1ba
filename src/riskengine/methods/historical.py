"""Historical simulation with full revaluation."""

from __future__ import annotations

import math

import numpy as np

from riskengine.errors import InsufficientHistoryError
from riskengine.methods.base import VEGA_NOTE, MethodContext, MethodResult, empirical_measures
from riskengine.scenarios.historical import historical_scenarios

_CHUNK = 500  # scenarios per piece of work


def run_historical(ctx: MethodContext) -> MethodResult:
    """Revalue today's book under each of the window's h-day historical returns."""
    spec = ctx.spec
    key = (*ctx.data_key(), "historical", spec.horizon_days, spec.historical_scaling)
    scen = ctx.cache.scenarios.get_or_create(
        key,
        lambda: historical_scenarios(
            ctx.history,
            ctx.index,
            spec.window,
            spec.horizon_days,
            ctx.universe,
            spec.historical_scaling,
        ),
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
    pnl = np.concatenate(
        ctx.executor.map(lambda s: ctx.book.pnl(scen.returns[s : s + _CHUNK]), chunks)
    )
    notes = [f"{n} scenarios: h-day returns by {scen.scaling} scaling inside the window"]
    independent = spec.horizon_days == 1 or scen.scaling == "sqrt"
    if independent:
        notes.append(
            "standard errors treat the historical days as independent draws (volatility "
            "clustering makes the true sampling error larger)"
        )
    else:
        notes.append("no standard errors: overlapping h-day scenarios are not independent")
    if len(ctx.book.options):
        notes.append("options fully revalued in every scenario; " + VEGA_NOTE)
    return MethodResult(
        measures=empirical_measures(pnl, spec.confidence, standard_errors=independent),
        n_scenarios=n,
        parameters={"historical_scaling": scen.scaling},
        pnl=pnl,
        notes=tuple(notes),
    )
