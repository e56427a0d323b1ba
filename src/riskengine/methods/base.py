"""What every method receives and returns."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from riskengine.cache import RiskCache
from riskengine.core.covariance import CovarianceEstimate, CovarianceModel
from riskengine.core.factor_model import FactorCovariance
from riskengine.core.measures import Estimate
from riskengine.market.history import FactorHistory
from riskengine.pricing.compiled import CompiledBook
from riskengine.report import RiskMeasure
from riskengine.revaluation import PnL
from riskengine.scale.local import Executor

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
    executor: Executor

    def data_key(self) -> tuple:
        """The market data of the run: history version, as-of row, window and factor columns."""
        return (self.history.content_hash, self.index, self.spec.window, tuple(self.universe))

    def covariance_model(self, returns: str = "simple") -> CovarianceModel:
        """The spec's covariance model, fitted to ``returns`` ("simple" or "log")."""
        spec = self.spec
        return CovarianceModel.of(
            spec.covariance,
            spec.ewma_lambda,
            spec.mean,
            returns,
            spec.factor_model,
            spec.pca_factors,
        )

    def daily_returns(self, kind: str = "simple") -> np.ndarray:
        """The window's daily returns of the universe, shape (window, n_columns): simple
        returns, or log returns (ln(1 + r)) when ``kind`` is "log"."""
        r = self.history.returns(self.index, self.spec.window, self.universe, 1)
        return np.log1p(r) if kind == "log" else r

    def covariance(
        self, model: CovarianceModel | None = None
    ) -> CovarianceEstimate | FactorCovariance:
        """Covariance of the universe's daily returns in the window by ``model`` (default: the
        spec's, on simple returns), cached by the market data and the model: the full
        estimate, or the factor model's (``spec.factor_model``)."""
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
        covariance: shape (k, k), horizon covariance (h * daily covariance), or its factor
            model (``FactorCovariance``, whose ``matrix`` is the dense one).
        quantile: "normal" (delta-normal), "delta-gamma" (exact moments of the quadratic P&L,
            Cornish-Fisher), "student-t" or "cornish-fisher" (historical moments).
        df: Student-t degrees of freedom.
        history_returns: "cornish-fisher": shape (n_obs, n_columns), the window's daily
            returns whose book P&L gives the skewness and excess kurtosis; else None.
        history_pnl: "cornish-fisher": shape (n_obs,), that book P&L; else None.
    """

    columns: np.ndarray
    mean: np.ndarray
    covariance: np.ndarray | FactorCovariance
    quantile: str
    df: float = 5.0
    history_returns: np.ndarray | None = None
    history_pnl: np.ndarray | None = None


@dataclass(frozen=True)
class MethodResult:
    """A method's numbers and the statements that qualify them.

    Attributes:
        measures: VaR and ES per confidence.
        n_scenarios: scenarios revalued (None for parametric closed forms).
        parameters: the report's ``parameters`` block.
        pnl: shape (n_scenarios,), the book's P&L per scenario, or None.
        notes, data_quality, provenance: what the report says about the numbers.
        density: the fitted P&L density curve of a parametric method (``pnl_density``).
        basis: what the measures were computed from, for decomposition: the revaluation
            (``PnL``: historical, Monte Carlo) or the fitted ``ParametricModel``; None once
            dropped (a backtest keeps only the numbers).
    """

    measures: tuple[RiskMeasure, ...]
    n_scenarios: int | None
    parameters: dict
    pnl: np.ndarray | None = None
    notes: tuple[str, ...] = ()
    data_quality: tuple[dict, ...] = ()
    provenance: dict = field(default_factory=dict)
    basis: PnL | ParametricModel | None = None
    density: dict | None = None  # the fitted P&L density (parametric): core.distributions


def measures_of(estimates: Iterable[Estimate]) -> tuple[RiskMeasure, ...]:
    """The report's measures from ``core.measures`` estimates."""
    return tuple(RiskMeasure(*e) for e in estimates)


def covariance_flags(
    est: CovarianceEstimate | FactorCovariance, n_obs: int, n_columns: int
) -> tuple[dict, ...]:
    """What the report says about the covariance ``est`` of ``n_obs`` daily returns of
    ``n_columns`` names: repaired to PSD, or singular (more names than returns)."""
    flags = []
    if est.repaired:
        flags.append(
            {
                "code": "covariance_repaired",
                "message": (
                    f"the estimated covariance had a negative eigenvalue "
                    f"({est.min_eigenvalue:.3g}) and was replaced by the nearest positive "
                    "semi-definite matrix."
                ),
            }
        )
    full = isinstance(est, CovarianceEstimate)
    rank = n_obs - 1 if est.estimator == "sample" else n_obs
    if full and est.estimator in ("sample", "ewma") and rank < n_columns:
        flags.append(
            {
                "code": "covariance_singular",
                "message": (
                    f"the {est.estimator} covariance of {n_obs} daily returns of {n_columns} "
                    f"names is singular (rank at most {rank}): the data give no variance to "
                    f"{n_columns - rank} of the {n_columns} directions of the names, and the "
                    "full-rank simulation and algebra grow with the square of the names. "
                    "Use factor_model 'pca' (--factor-model pca: k statistical factors plus a "
                    "specific variance per name), a window longer than the names, or covariance "
                    "'ledoit-wolf'."
                ),
            }
        )
    return tuple(flags)


VEGA_NOTE = "implied volatility is held constant: vega risk is not modelled"
