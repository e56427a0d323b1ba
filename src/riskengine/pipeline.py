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
from riskengine.market.quality import check_policy, screen_bad_prints
from riskengine.methods import METHODS, MethodContext
from riskengine.pricing.book import compile_book
from riskengine.pricing.exposures import book_exposures
from riskengine.report import RiskReport
from riskengine.scale.local import LocalExecutor
from riskengine.scenarios.historical import SCALINGS
from riskengine.version import __version__

PARAMETRIC_DISTRIBUTIONS = ("normal", "student-t", "cornish-fisher")
MONTECARLO_DISTRIBUTIONS = ("normal", "student-t")
MEANS = ("zero", "sample")
REVALUATIONS = ("grid", "full")
APPROXIMATIONS = ("delta-gamma", "delta")
COVARIANCES = ("sample", "ewma", "ledoit-wolf")
WEIGHTINGS = ("none", "age", "filtered")
SAMPLINGS = ("plain", "antithetic", "sobol")
RETURN_MODELS = ("simple", "log")
CONTRIBUTION_DETAILS = ("components", "full")
# Below this a unit-variance Student-t's quantiles collapse towards 0 (99%: 2.39 sigma at 2.5,
# 0.002 sigma at 2.0000001): a VaR near 0 on any book, never what the user meant.
MIN_STUDENT_T_DF = 2.5

# Regulatory views in one flag: fields they set (explicit parameters still win).
PRESETS: dict[str, dict] = {
    "basel": {"confidence": (0.99,), "horizon_days": 10},
    "frtb": {"confidence": (0.975,), "horizon_days": 10},
    # Stressed VaR: 250 daily returns from June 2008 into 2009, today's book and prices.
    "stressed": {
        "confidence": (0.99,),
        "horizon_days": 10,
        "window": 250,
        "calibration_end": dt.date(2009, 5, 29),
    },
}


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
        df: Student-t degrees of freedom (>= MIN_STUDENT_T_DF, 2.5).
        mean: "zero" (default, RiskMetrics) or "sample".
        n_scenarios: Monte Carlo paths.
        seed: Monte Carlo seed (drawn and reported when None).
        revaluation: Monte Carlo option revaluation, "grid" (bounded error) or "full".
        approximation: parametric treatment of options, "delta-gamma" or "delta".
        historical_scaling: "overlapping" h-day returns or "sqrt" (1-day returns * sqrt(h)).
        base_currency: currency of the report.
        covariance: estimator for parametric and Monte Carlo: "sample" (ddof=1), "ewma"
            (RiskMetrics, zero-mean) or "ledoit-wolf" (shrinkage towards scaled identity).
        ewma_lambda: EWMA decay for the covariance and for volatility filtering (0 < l < 1).
        half_life: alternative to ewma_lambda, in days: lambda = 0.5 ** (1 / half_life).
        historical_weighting: "none", "age" (Boudoukh-Richardson-Whitelaw, ``decay``) or
            "filtered" (EWMA volatility per factor, Hull-White rescaling to today's volatility).
        decay: age-weighting decay (0 < decay <= 1; 1 is plain historical simulation).
        sampling: Monte Carlo "plain", "antithetic" or "sobol" (scrambled quasi-Monte Carlo).
        n_scrambles: independent Sobol scrambles (their spread gives the standard error).
        return_model: "simple" (S (1 + r), the default) or "log" (S exp(x), lognormal).
        calibration_end: last date of the window the model is calibrated on, when it differs
            from as_of (stressed VaR: today's book and prices, a past window's returns).
        preset: the name of the preset the parameters came from, if any (see PRESETS).
        contributions: whether to decompose VaR and ES by position and by tag (marginal,
            component, incremental and standalone VaR, component ES) into
            ``RiskReport.contributions``.
        contribution_detail: "full" (every measure) or "components" (marginal, component VaR
            and ES only: no incremental or standalone VaR, which revalue every position on
            every scenario and cost ~1 s for 5,000 positions over 10,000 paths).
        bad_prints: what to do with a symbol whose closes in the window (or at as_of) hold a
            bad print (``riskengine.market.quality``): "exclude" its positions (the default),
            "refuse" the request, or "use" the close; each is flagged in ``data_quality``.
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
    covariance: str = "sample"
    ewma_lambda: float = 0.94
    half_life: float | None = None
    historical_weighting: str = "none"
    decay: float = 0.99
    sampling: str = "plain"
    n_scrambles: int = 16
    return_model: str = "simple"
    calibration_end: dt.date | None = None
    preset: str | None = None
    contributions: bool = False
    contribution_detail: str = "full"
    bad_prints: str = "exclude"

    def __post_init__(self):
        _choice("method", self.method, tuple(METHODS))
        conf = self.confidence
        if isinstance(conf, int | float | str):
            conf = (conf,)
        conf = tuple(check_confidence(c) for c in conf)
        if not conf:
            raise InputError("confidence needs at least one level, e.g. 0.99.")
        object.__setattr__(self, "confidence", conf)
        for name in ("as_of", "calibration_end"):
            v = getattr(self, name)
            if isinstance(v, str):
                try:
                    object.__setattr__(self, name, dt.date.fromisoformat(v))
                except ValueError:
                    raise InputError(f"{name} {v!r} is not an ISO date (YYYY-MM-DD).") from None
        for name in ("horizon_days", "window", "n_scenarios", "n_scrambles"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int | np.integer) or v < 1:
                raise InputError(f"{name} must be an integer >= 1; got {v!r}.")
        if self.method == "montecarlo":
            _choice("distribution (montecarlo)", self.distribution, MONTECARLO_DISTRIBUTIONS)
        elif self.method == "parametric":
            _choice("distribution (parametric)", self.distribution, PARAMETRIC_DISTRIBUTIONS)
        _choice("distribution", self.distribution, PARAMETRIC_DISTRIBUTIONS)
        object.__setattr__(self, "base_currency", str(self.base_currency).upper())
        ok_df = isinstance(self.df, int | float) and math.isfinite(self.df)
        if self.distribution == "student-t" and not (ok_df and self.df >= MIN_STUDENT_T_DF):
            raise InputError(
                f"df must be >= {MIN_STUDENT_T_DF} (a Student-t with df <= 2 has no variance, and "
                f"near 2 its unit-variance quantiles collapse towards 0); got {self.df!r}."
            )
        _choice("mean", self.mean, MEANS)
        _choice("revaluation", self.revaluation, REVALUATIONS)
        _choice("approximation", self.approximation, APPROXIMATIONS)
        _choice("historical_scaling", self.historical_scaling, SCALINGS)
        if self.seed is not None and (not isinstance(self.seed, int | np.integer) or self.seed < 0):
            raise InputError(f"seed must be a non-negative integer; got {self.seed!r}.")
        _choice("covariance", self.covariance, COVARIANCES)
        _choice("historical_weighting", self.historical_weighting, WEIGHTINGS)
        _choice("sampling", self.sampling, SAMPLINGS)
        _choice("return_model", self.return_model, RETURN_MODELS)
        _choice("contribution_detail", self.contribution_detail, CONTRIBUTION_DETAILS)
        check_policy(self.bad_prints)
        if self.preset is not None:
            _choice("preset", self.preset, tuple(PRESETS))
            raise InputError(
                f"preset {self.preset!r} cannot be set as a plain field (its confidence, horizon "
                f"and window would not follow); use RiskSpec.from_preset({self.preset!r}, ...) or "
                f"compute_risk(..., preset={self.preset!r})."
            )
        if self.half_life is not None:
            if not (isinstance(self.half_life, int | float) and self.half_life > 0):
                raise InputError(f"half_life must be > 0 days; got {self.half_life!r}.")
            object.__setattr__(self, "ewma_lambda", 0.5 ** (1.0 / self.half_life))
        if not (isinstance(self.ewma_lambda, int | float) and 0 < self.ewma_lambda < 1):
            raise InputError(
                f"ewma_lambda must be in (0, 1), e.g. 0.94 (RiskMetrics); got {self.ewma_lambda!r}."
            )
        if not (isinstance(self.decay, int | float) and 0 < self.decay <= 1):
            raise InputError(
                f"decay must be in (0, 1] (1 = equal weights), e.g. 0.99; got {self.decay!r}."
            )
        if not isinstance(self.contributions, bool | np.bool_):
            raise InputError(f"contributions must be True or False; got {self.contributions!r}.")
        if self.sampling == "sobol" and self.n_scrambles < 2:
            raise InputError(
                f"n_scrambles must be >= 2 so that Sobol estimates have a standard error; "
                f"got {self.n_scrambles}."
            )

    def replace(self, **changes) -> RiskSpec:
        """A copy with ``changes``; a preset label stays (its values may now be overridden)."""
        new = dataclasses.replace(self, preset=None, **changes)
        object.__setattr__(new, "preset", self.preset)
        return new

    @classmethod
    def from_preset(cls, name: str, **explicit) -> RiskSpec:
        """A spec from a preset (PRESETS) with ``explicit`` parameters taking precedence."""
        _choice("preset", name, tuple(PRESETS))
        explicit.pop("preset", None)
        spec = cls(**(PRESETS[name] | explicit))
        object.__setattr__(spec, "preset", name)  # the label, set once the preset is applied
        return spec


# Variants accepted by RiskSpec whose implementation has not landed yet: asking for one is an
# error rather than a silent fall-back to the default.
_NOT_YET_AVAILABLE: dict[str, tuple[str, ...]] = {}


def _check_available(spec: RiskSpec) -> None:
    for name, values in _NOT_YET_AVAILABLE.items():
        if getattr(spec, name) in values:
            raise InputError(
                f"{name} {getattr(spec, name)!r} is not available in this version; "
                f"use {RiskSpec.__dataclass_fields__[name].default!r}."
            )


def _changed(spec: RiskSpec) -> list[str]:
    """Fields of ``spec`` that differ from the defaults (what a caller set explicitly)."""
    default = RiskSpec()
    return [
        f.name
        for f in dataclasses.fields(RiskSpec)
        if f.name != "preset" and getattr(spec, f.name) != getattr(default, f.name)
    ]


def _universe(history: FactorHistory, index: int, window: int, spot_index: int):
    """History columns with a complete window ending at ``index`` and a close at
    ``spot_index``, and the reasons for the others."""
    prices = history.prices[index - window : index + 1]
    complete = np.all(np.isfinite(prices), axis=0) & np.isfinite(history.prices[spot_index])
    unusable = {}
    for j in np.nonzero(~complete)[0]:
        sym = history.symbols[j]
        missing = int(np.sum(~np.isfinite(prices[:, j])))
        if missing:
            unusable[sym] = (
                f"{sym} has {missing} missing closes among the {window + 1} dates of the window "
                f"ending {history.date_at(index)}; import the missing history or shorten --window."
            )
        else:
            unusable[sym] = f"{sym} has no close on {history.date_at(spot_index)} to revalue at."
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
    universe, unusable = _universe(history, calibration, spec.window, index)
    universe, bad_print_flags = screen_bad_prints(
        history, calibration - spec.window, max(calibration, index), universe, unusable,
        spec.bad_prints,
    )  # fmt: skip
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
        exposures=book_exposures(book, book.position_tags),
        contributions=contributions,
    )
