"""``RiskSpec``: every parameter of a risk run, validated (layer 1), and the presets.

The choice lists it checks against live in ``riskengine.choices``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from dataclasses import dataclass

import numpy as np

from riskengine.choices import (
    APPROXIMATIONS,
    CONTRIBUTION_DETAILS,
    COVARIANCES,
    FACTOR_MODELS,
    HISTORICAL_SCALINGS,
    MEANS,
    METHOD_NAMES,
    MONTECARLO_DISTRIBUTIONS,
    PARAMETRIC_DISTRIBUTIONS,
    PRESET_NAMES,
    RETURN_MODELS,
    REVALUATIONS,
    SAMPLINGS,
    WEIGHTINGS,
)
from riskengine.core.measures import check_confidence
from riskengine.errors import InputError
from riskengine.market.quality import check_policy

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
        factor_model: parametric and Monte Carlo: "full" (the estimator's matrix over every
            name, the default) or "pca" (a statistical factor model: k principal factors plus
            a specific variance per name, for many names; ``riskengine.core.factor_model``).
        pca_factors: k for factor_model "pca"; None (the default) lets the Marchenko-Pastur
            rule choose.
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
            and ES only: no incremental or standalone VaR, which revalue each position on the
            scenarios near the tail and cost ~0.4 s for 5,000 positions over 10,000 paths).
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
    factor_model: str = "full"
    pca_factors: int | None = None
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
        _choice("method", self.method, METHOD_NAMES)
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
        _choice("historical_scaling", self.historical_scaling, HISTORICAL_SCALINGS)
        if self.seed is not None and (not isinstance(self.seed, int | np.integer) or self.seed < 0):
            raise InputError(f"seed must be a non-negative integer; got {self.seed!r}.")
        _choice("covariance", self.covariance, COVARIANCES)
        _choice("factor_model", self.factor_model, FACTOR_MODELS)
        if self.factor_model == "pca" and self.covariance == "ledoit-wolf":
            raise InputError(
                "factor_model 'pca' fits the 'sample' or 'ewma' covariance; got covariance "
                "'ledoit-wolf'. The factor model is itself the regularisation: use covariance "
                "'sample' or 'ewma' with it, or factor_model 'full' with Ledoit-Wolf."
            )
        k = self.pca_factors
        if k is not None:
            if isinstance(k, bool) or not isinstance(k, int | np.integer) or k < 1:
                raise InputError(f"pca_factors must be an integer >= 1; got {k!r}.")
            if self.factor_model != "pca":
                raise InputError(
                    f"pca_factors {k} needs factor_model 'pca' (it is {self.factor_model!r}); "
                    "set factor_model='pca' (--factor-model pca) or leave pca_factors out."
                )
        _choice("historical_weighting", self.historical_weighting, WEIGHTINGS)
        _choice("sampling", self.sampling, SAMPLINGS)
        _choice("return_model", self.return_model, RETURN_MODELS)
        _choice("contribution_detail", self.contribution_detail, CONTRIBUTION_DETAILS)
        check_policy(self.bad_prints)
        if self.preset is not None:
            _choice("preset", self.preset, PRESET_NAMES)
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
        _choice("preset", name, PRESET_NAMES)
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
