"""What every method receives and returns."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from riskengine.cache import RiskCache
from riskengine.core.covariance import CovarianceEstimate, CovarianceModel
from riskengine.core.measures import es_standard_error, var_es, var_standard_error
from riskengine.market.history import FactorHistory
from riskengine.pricing.book import CompiledBook
from riskengine.report import RiskMeasure
from riskengine.scale.local import LocalExecutor
from riskengine.scenarios.set import ScenarioSet

if TYPE_CHECKING:
    from riskengine.spec import RiskSpec


@dataclass(frozen=True)
class MethodContext:
    """A market snapshot, a compiled book and the spec.

    Attributes:
        history: the price history.
        index: row of ``as_of`` in the history.
        universe: shape (n_columns,), history columns with a complete window (scenario columns).
        book: the book compiled against the universe columns.
        spec: the validated RiskSpec.
        cache: covariance and scenario caches.
        executor: runs independent blocks of work (Monte Carlo blocks, scenario chunks).
    """

    history: FactorHistory
    index: int
    universe: np.ndarray
    book: CompiledBook
    spec: RiskSpec
    cache: RiskCache
    executor: LocalExecutor

    def data_key(self) -> tuple:
        """The market data of the run: history version, as-of row, window and factor columns."""
        return (self.history.content_hash, self.index, self.spec.window, tuple(self.universe))

    def covariance_model(self, returns: str = "simple") -> CovarianceModel:
        """The spec's covariance model, fitted to ``returns`` ("simple" or "log")."""
        spec = self.spec
        return CovarianceModel.of(spec.covariance, spec.ewma_lambda, spec.mean, returns)

    def daily_returns(self, kind: str = "simple") -> np.ndarray:
        """The window's daily returns of the universe, shape (window, n_columns): simple
        returns, or log returns (ln(1 + r)) when ``kind`` is "log"."""
        r = self.history.returns(self.index, self.spec.window, self.universe, 1)
        return np.log1p(r) if kind == "log" else r

    def covariance(self, model: CovarianceModel | None = None) -> CovarianceEstimate:
        """Covariance of the universe's daily returns in the window by ``model`` (default: the
        spec's, on simple returns), cached by the market data and the model."""
        model = model or self.covariance_model()
        return self.cache.covariances.get_or_create(
            (*self.data_key(), model), lambda: model.estimate(self.daily_returns(model.returns))
        )


@dataclass(frozen=True)
class ParametricModel:
    """The fitted parametric model of a run, restricted to the book's columns.

    Attributes:
        columns: shape (k,), the scenario columns of the book (``CompiledBook.columns``).
        mean: shape (k,), horizon mean of the factor returns (h * daily mean).
        covariance: shape (k, k), horizon covariance (h * daily covariance).
        quantile: "normal" (delta-normal), "delta-gamma" (exact moments of the quadratic P&L,
            Cornish-Fisher), "student-t" or "cornish-fisher" (historical moments).
        df: Student-t degrees of freedom.
        history_returns: "cornish-fisher": shape (n_obs, n_columns), the window's daily
            returns whose book P&L gives the skewness and excess kurtosis; else None.
        history_pnl: "cornish-fisher": shape (n_obs,), that book P&L; else None.
    """

    columns: np.ndarray
    mean: np.ndarray
    covariance: np.ndarray
    quantile: str
    df: float = 5.0
    history_returns: np.ndarray | None = None
    history_pnl: np.ndarray | None = None


@dataclass(frozen=True)
class MethodResult:
    """A method's numbers and the statements that qualify them.

    ``scenarios`` (historical, Monte Carlo) and ``model`` (parametric) are what decomposition
    needs besides ``pnl``."""

    measures: tuple[RiskMeasure, ...]
    n_scenarios: int | None
    parameters: dict
    pnl: np.ndarray | None = None
    notes: tuple[str, ...] = ()
    data_quality: tuple[dict, ...] = ()
    provenance: dict = field(default_factory=dict)
    scenarios: ScenarioSet | None = None
    model: ParametricModel | None = None


def empirical_measures(
    pnl: np.ndarray, confidences, *, standard_errors: bool, weights: np.ndarray | None = None
) -> tuple[RiskMeasure, ...]:
    """VaR and ES of a scenario P&L vector per confidence, with i.i.d. standard errors.

    Args:
        pnl: shape (n_scenarios,).
        confidences: the levels.
        standard_errors: whether to add i.i.d. standard errors (equally weighted scenarios
            only: with ``weights`` they must be False).
        weights: optional shape (n_scenarios,) scenario probabilities (the weighted forms of
            VaR and ES, ``core.measures.var_es``).
    """
    if weights is not None and standard_errors:
        raise ValueError("i.i.d. standard errors are for equally weighted scenarios only")
    pairs = var_es(pnl, confidences, weights=weights)
    if not standard_errors:
        return tuple(RiskMeasure(c, v, e) for c, (v, e) in zip(confidences, pairs, strict=True))
    losses = -pnl
    sorted_losses = np.sort(losses)
    return tuple(
        RiskMeasure(
            c,
            v,
            e,
            var_standard_error(sorted_losses, c),
            es_standard_error(losses, c, v),
        )
        for c, (v, e) in zip(confidences, pairs, strict=True)
    )


def covariance_flags(est: CovarianceEstimate) -> tuple[dict, ...]:
    if not est.repaired:
        return ()
    return (
        {
            "code": "covariance_repaired",
            "message": (
                f"the estimated covariance had a negative eigenvalue ({est.min_eigenvalue:.3g}) "
                "and was replaced by the nearest positive semi-definite matrix."
            ),
        },
    )


VEGA_NOTE = "implied volatility is held constant: vega risk is not modelled"
