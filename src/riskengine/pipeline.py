"""``compute_risk``: the one orchestrator from a book and a price history to a RiskReport."""

from __future__ import annotations

import dataclasses

import numpy as np

from riskengine.cache import RiskCache
from riskengine.choices import (  # re-exported: riskengine.pipeline.<list> still works
    APPROXIMATIONS,
    CONTRIBUTION_DETAILS,
    COVARIANCES,
    MEANS,
    MONTECARLO_DISTRIBUTIONS,
    PARAMETRIC_DISTRIBUTIONS,
    RETURN_MODELS,
    REVALUATIONS,
    SAMPLINGS,
    WEIGHTINGS,
)
from riskengine.errors import InputError
from riskengine.frtb.run import compute_frtb  # the orchestrator of FRTB capital (docs/frtb.md)
from riskengine.instruments.types import Portfolio
from riskengine.market.history import FactorHistory, MarketState
from riskengine.market.snapshot import market_snapshot
from riskengine.methods import METHODS, MethodContext
from riskengine.pricing.compiled import compile_snapshot, snapshot_layout
from riskengine.pricing.exposures import book_exposures
from riskengine.report import RiskReport
from riskengine.scale.local import Executor, LocalExecutor
from riskengine.spec import MIN_STUDENT_T_DF, PRESETS, RiskSpec, _changed, _check_available
from riskengine.version import __version__


def compute_risk(
    portfolio: Portfolio,
    history: FactorHistory,
    spec: RiskSpec | None = None,
    *,
    market: MarketState | None = None,
    cache: RiskCache | None = None,
    executor: Executor | None = None,
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
        preset = overrides.pop("preset", None)
        if preset is not None:  # the preset's fields, then the explicit ones
            base = {f.name: getattr(spec, f.name) for f in dataclasses.fields(RiskSpec)}
            base = {k: v for k, v in base.items() if k != "preset"}
            spec = RiskSpec.from_preset(preset, **{k: base[k] for k in _changed(spec)}, **overrides)
        else:
            spec = spec.replace(**overrides)
    _check_available(spec)
    cache = cache or RiskCache()
    index = history.index_of(spec.as_of)
    calibration = index
    if spec.calibration_end is not None:
        calibration = history.index_of(spec.calibration_end)
        if calibration > index:
            raise InputError(
                f"calibration_end {spec.calibration_end} is after as_of {history.date_at(index)}; "
                "the model can only be calibrated on returns up to the snapshot."
            )
    history.check_window(calibration, spec.window, spec.horizon_days)
    snapshot = market_snapshot(
        history, spec.as_of, live=market, window=spec.window, calibration=calibration
    )
    snapshot, bad_print_flags = snapshot.screened(
        calibration - spec.window, max(calibration, index), spec.bad_prints
    )
    universe = snapshot.universe
    as_of = snapshot.as_of
    book, book_key = _compiled(cache, portfolio, snapshot, spec)
    ctx = MethodContext(
        history, calibration, universe, book, spec, cache, executor or LocalExecutor()
    )
    result = METHODS[spec.method](ctx)
    contributions = None
    if spec.contributions:
        from riskengine.decomposition import decompose

        full = spec.contribution_detail == "full"
        contributions = decompose(ctx, result, portfolio, standalone=full, incremental=full)
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
    provenance = {
        "seed": None,
        "data_snapshot_id": history.snapshot_id(calibration, spec.window, universe),
        "code_version": __version__,
    } | result.provenance
    if calibration != index:
        parameters["calibration_window"] = [
            history.date_at(calibration - spec.window).isoformat(),
            history.date_at(calibration).isoformat(),
        ]
    if spec.preset is not None:
        parameters["preset"] = spec.preset
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
        data_quality=(*bad_print_flags, *result.data_quality),
        notes=tuple(notes),
        provenance=provenance,
        pnl_histogram=histogram,
        pnl_density=result.density,
        exposures=(
            book_exposures(book, book.position_tags)
            if book_key is None  # a book that cannot be a cache key
            else cache.exposures.get_or_create(
                book_key, lambda: book_exposures(book, book.position_tags)
            )
        ),
        contributions=contributions,
    )


def _compiled(cache: RiskCache, portfolio: Portfolio, snapshot, spec: RiskSpec):
    """``compile_snapshot`` of the book, kept in ``cache.books`` by everything it reads: the
    positions (by value), the history version and as-of row, the universe, the prices it is
    valued at, the symbols excluded and why, the horizon and the base currency. Returns (book,
    its cache key), the key None for a book that cannot be one (its exposures are then
    computed every time)."""
    try:
        where = (
            portfolio,
            snapshot.history.content_hash,
            snapshot.index,
            snapshot.universe.tobytes(),
            tuple(sorted(snapshot.unusable.items())),
            spec.horizon_days,
            spec.base_currency,
        )
        hash(portfolio)
    except TypeError:  # a book with an unhashable part: compiled every time
        return compile_snapshot(portfolio, snapshot, spec.horizon_days, spec.base_currency), None
    # what does not depend on the prices once per book version; the arrays per snapshot
    layout = cache.layouts.get_or_create(
        where, lambda: snapshot_layout(portfolio, snapshot, spec.horizon_days, spec.base_currency)
    )
    key = (*where, snapshot.spot.tobytes())
    book = cache.books.get_or_create(
        key,
        lambda: compile_snapshot(
            portfolio, snapshot, spec.horizon_days, spec.base_currency, layout=layout
        ),
    )
    return book, key


__all__ = [
    "APPROXIMATIONS",
    "CONTRIBUTION_DETAILS",
    "COVARIANCES",
    "MEANS",
    "MIN_STUDENT_T_DF",
    "MONTECARLO_DISTRIBUTIONS",
    "PARAMETRIC_DISTRIBUTIONS",
    "PRESETS",
    "RETURN_MODELS",
    "REVALUATIONS",
    "RiskCache",
    "RiskSpec",
    "SAMPLINGS",
    "WEIGHTINGS",
    "compute_frtb",
    "compute_risk",
]
