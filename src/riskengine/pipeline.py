"""``compute_risk``: the one orchestrator from a book and a price history to a RiskReport."""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from dataclasses import dataclass

import numpy as np

from riskengine.cache import RiskCache
from riskengine.core.measures import check_confidence
from riskengine.errors import InputError, NoPositionsError
from riskengine.instruments.types import Portfolio
from riskengine.market.history import FactorHistory, MarketState
from riskengine.methods import METHODS, MethodContext
from riskengine.pricing.book import compile_book
from riskengine.report import RiskReport
from riskengine.scale.local import LocalExecutor
from riskengine.scenarios.historical import SCALINGS

PARAMETRIC_DISTRIBUTIONS = ("normal", "student-t", "cornish-fisher")
MONTECARLO_DISTRIBUTIONS = ("normal", "student-t")
MEANS = ("zero", "sample")
REVALUATIONS = ("grid", "full")
APPROXIMATIONS = ("delta-gamma", "delta")


def _choice(field: str, value, valid) -> str:
    if value not in valid:
        raise InputError(f"{field} {value!r} is not one of: {', '.join(valid)}.")
    return value


@dataclass(frozen=True)
class RiskSpec:
    """Every parameter of a risk run (docs/conventions.md for their meaning).

    Attributes:
        method: "historical", "parametric" or "montecarlo".
        confidence: one or more levels in (0, 1).
        horizon_days: h >= 1 trading days.
        window: N daily returns ending at as_of.
        as_of: snapshot date (default: the last date of the history).
        distribution: parametric: normal | student-t | cornish-fisher; Monte Carlo: normal |
            student-t; ignored by historical simulation.
        df: Student-t degrees of freedom (> 2).
        mean: "zero" (default, RiskMetrics) or "sample".
        n_scenarios: Monte Carlo paths.
        seed: Monte Carlo seed (drawn and reported when None).
        revaluation: Monte Carlo option revaluation, "grid" (bounded error) or "full".
        approximation: parametric treatment of options, "delta-gamma" or "delta".
        historical_scaling: "overlapping" h-day returns or "sqrt" (1-day returns * sqrt(h)).
        base_currency: currency of the report.
    """

    method: str = "historical"
    confidence: tuple[float, ...] = (0.99,)
    horizon_days: int = 1
    window: int = 500
    as_of: dt.date | None = None
    distribution: str = "normal"
    df: float = 5.0
    mean: str = "zero"
    n_scenarios: int = 10_000
    seed: int | None = None
    revaluation: str = "grid"
    approximation: str = "delta-gamma"
    historical_scaling: str = "overlapping"
    base_currency: str = "USD"

    def __post_init__(self):
        _choice("method", self.method, tuple(METHODS))
        conf = self.confidence
        if isinstance(conf, int | float | str):
            conf = (conf,)
        conf = tuple(check_confidence(c) for c in conf)
        if not conf:
            raise InputError("confidence needs at least one level, e.g. 0.99.")
        object.__setattr__(self, "confidence", conf)
        if isinstance(self.as_of, str):
            try:
                object.__setattr__(self, "as_of", dt.date.fromisoformat(self.as_of))
            except ValueError:
                raise InputError(f"as_of {self.as_of!r} is not an ISO date (YYYY-MM-DD).") from None
        for name in ("horizon_days", "window", "n_scenarios"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int | np.integer) or v < 1:
                raise InputError(f"{name} must be an integer >= 1; got {v!r}.")
        if self.method == "montecarlo":
            _choice("distribution (montecarlo)", self.distribution, MONTECARLO_DISTRIBUTIONS)
        elif self.method == "parametric":
            _choice("distribution (parametric)", self.distribution, PARAMETRIC_DISTRIBUTIONS)
        _choice("distribution", self.distribution, PARAMETRIC_DISTRIBUTIONS)
        object.__setattr__(self, "base_currency", str(self.base_currency).upper())
        ok_df = isinstance(self.df, int | float) and math.isfinite(self.df) and self.df > 2
        if self.distribution == "student-t" and not ok_df:
            raise InputError(
                f"df must be > 2 (a Student-t with df <= 2 has no variance); got {self.df!r}."
            )
        _choice("mean", self.mean, MEANS)
        _choice("revaluation", self.revaluation, REVALUATIONS)
        _choice("approximation", self.approximation, APPROXIMATIONS)
        _choice("historical_scaling", self.historical_scaling, SCALINGS)
        if self.seed is not None and (not isinstance(self.seed, int | np.integer) or self.seed < 0):
            raise InputError(f"seed must be a non-negative integer; got {self.seed!r}.")

    def replace(self, **changes) -> RiskSpec:
        return dataclasses.replace(self, **changes)


def _universe(history: FactorHistory, index: int, window: int):
    """History columns with a complete, positive window, and reasons for the others."""
    prices = history.prices[index - window : index + 1]
    complete = np.all(np.isfinite(prices), axis=0)
    unusable = {}
    for j in np.nonzero(~complete)[0]:
        missing = int(np.sum(~np.isfinite(prices[:, j])))
        unusable[history.symbols[j]] = (
            f"{history.symbols[j]} has {missing} missing closes among the {window + 1} dates of "
            f"the window ending {history.date_at(index)}; import the missing history or "
            "shorten --window."
        )
    return np.nonzero(complete)[0], unusable


def compute_risk(
    portfolio: Portfolio,
    history: FactorHistory,
    spec: RiskSpec | None = None,
    *,
    market: MarketState | None = None,
    cache: RiskCache | None = None,
    executor: LocalExecutor | None = None,
    **overrides,
) -> RiskReport:
    """VaR and ES of ``portfolio`` on ``history`` as ``spec`` (plus keyword overrides) says.

    Args:
        portfolio: the book.
        history: daily closes of the risk factors.
        spec: the run's parameters; keyword ``overrides`` replace fields (e.g. method="parametric").
        market: latest prices to revalue at (default: the closes at as_of).
        cache: covariance and scenario caches to reuse across calls (default: a fresh one).
        executor: runs blocks of work in parallel (default: LocalExecutor on every CPU); the
            result does not depend on it.

    Returns:
        A RiskReport; positions that cannot be priced are listed in ``excluded_positions``.

    Raises:
        NoPositionsError: when no position can be priced.
        InputError, InsufficientHistoryError: invalid parameters or too little history.
    """
    spec = spec or RiskSpec()
    if overrides:
        unknown = sorted(set(overrides) - {f.name for f in dataclasses.fields(RiskSpec)})
        if unknown:
            raise InputError(
                f"unknown parameter(s) {', '.join(unknown)}; valid: "
                f"{', '.join(f.name for f in dataclasses.fields(RiskSpec))}."
            )
        spec = spec.replace(**overrides)
    cache = cache or RiskCache()
    index = history.index_of(spec.as_of)
    history.check_window(index, spec.window, spec.horizon_days)
    universe, unusable = _universe(history, index, spec.window)
    column_of = {history.symbols[j]: k for k, j in enumerate(universe)}
    as_of = history.date_at(index)
    spot = history.prices[index, universe].copy()
    if market is not None:
        for sym, k in column_of.items():
            if sym in market.prices:
                spot[k] = market.prices[sym]
    book = compile_book(
        portfolio, as_of, column_of, spot, spec.horizon_days, spec.base_currency, unusable
    )
    if book.n_positions == 0:
        reasons = "; ".join(f"{e.id} ({e.symbol}): {e.reason}" for e in book.excluded[:5])
        raise NoPositionsError(
            f"no position of {portfolio.name!r} could be priced ({len(portfolio)} excluded). "
            f"{reasons}"
        )
    ctx = MethodContext(history, index, universe, book, spec, cache, executor or LocalExecutor())
    result = METHODS[spec.method](ctx)
    parameters = {
        "confidence": list(spec.confidence),
        "horizon_days": spec.horizon_days,
        "window": spec.window,
    } | result.parameters
    if spec.method == "montecarlo":
        parameters["n_scenarios"] = spec.n_scenarios
    histogram = None
    if result.pnl is not None:
        counts, edges = np.histogram(result.pnl, bins=60)
        histogram = {"edges": edges.tolist(), "counts": counts.tolist()}
    from riskengine import __version__

    provenance = {
        "seed": None,
        "data_snapshot_id": history.snapshot_id(index, spec.window, universe),
        "code_version": __version__,
    } | result.provenance
    notes = list(result.notes)
    if market is not None:
        notes.append(f"revalued at live prices ({market.as_of}) on history ending {as_of}")
    return RiskReport(
        method=spec.method,
        as_of=as_of.isoformat(),
        base_currency=spec.base_currency,
        measures=result.measures,
        parameters=parameters,
        n_scenarios=result.n_scenarios,
        portfolio={
            "name": portfolio.name,
            "n_positions": len(portfolio),
            "n_included": book.n_positions,
            "market_value": book.market_value,
        },
        excluded_positions=tuple(e.to_dict() for e in book.excluded),
        data_quality=result.data_quality,
        notes=tuple(notes),
        provenance=provenance,
        pnl_histogram=histogram,
    )
