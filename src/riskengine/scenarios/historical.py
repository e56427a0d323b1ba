"""Historical scenarios: the h-day simple returns inside the window, applied to today's prices.

Weightings (``riskengine.choices.WEIGHTINGS``):

* ``none``: the scenarios are equally likely.
* ``age`` (Boudoukh, Richardson & Whitelaw 1998): the scenario whose return ends ``i`` trading
  days before the window's end has probability proportional to ``decay**i`` (``age_weights``).
* ``filtered`` (Hull & White 1998): every factor's daily return is rescaled to today's volatility,
  ``r_t * sigma_now / sigma_t``, with an EWMA volatility per factor (``filtered_returns``); the
  h-day scenarios are compounded from the rescaled daily returns and equally likely.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from riskengine.choices import WEIGHTINGS
from riskengine.market.history import FactorHistory
from riskengine.scenarios.set import ScenarioSet

FILTER_SEED_DAYS = 20  # returns whose mean square starts the EWMA variance recursion


@dataclass(frozen=True)
class HistoricalScenarios:
    """Scenario returns of the factor universe.

    Attributes:
        returns: shape (n_scenarios, n_columns): with "overlapping" scaling the N-h+1 overlapping
            h-day returns in a window of N daily returns; with "sqrt" the N daily returns times
            sqrt(h). With "filtered" weighting, built from the volatility-rescaled daily returns.
        scaling: "overlapping" or "sqrt".
        start_dates: ISO date of the close each scenario's return starts from.
        weighting: "none", "age" or "filtered".
        weights: shape (n_scenarios,), scenario probabilities summing to 1 (age weighting with
            decay < 1), or None for equally likely scenarios.
    """

    returns: np.ndarray
    scaling: str
    start_dates: tuple[str, ...]
    weighting: str = "none"
    weights: np.ndarray | None = None

    @property
    def n_scenarios(self) -> int:
        return self.returns.shape[0]

    @property
    def nbytes(self) -> int:
        return self.returns.nbytes + (0 if self.weights is None else self.weights.nbytes)

    def scenario_set(self) -> ScenarioSet:
        """The scenarios as the revaluation reads them: one block, with their weights."""
        n = self.n_scenarios
        return ScenarioSet(n, max(n, 1), lambda i: self.returns, self.weights)


def age_weights(n_scenarios: int, decay: float) -> np.ndarray:
    """Boudoukh-Richardson-Whitelaw probabilities, oldest scenario first.

    The scenario ending ``i`` trading days before the window's end (i = 0 for the last one)
    gets ``decay**i (1 - decay) / (1 - decay**n)``; ``decay = 1`` gives equal weights.

    Returns:
        shape (n_scenarios,), summing to 1.
    """
    if not 0.0 < decay <= 1.0:
        raise ValueError(f"decay must be in (0, 1]; got {decay!r}")
    ages = np.arange(n_scenarios - 1, -1, -1, dtype=float)
    w = decay**ages
    return w / w.sum()


def ewma_volatility(daily: np.ndarray, ewma_lambda: float) -> tuple[np.ndarray, np.ndarray]:
    """EWMA volatility per factor through the window (zero-mean, RiskMetrics recursion).

    ``sigma2[0]`` (before the window's first return) is the mean square of the first
    ``FILTER_SEED_DAYS`` returns (all of them in a shorter window; the whole window's if those
    are all zero); then ``sigma2[t+1] = lambda sigma2[t] + (1 - lambda) r[t]**2``, so
    ``sigma2[t]`` is the estimate available before day t's return and ``sigma2[N]`` the forecast
    after the last one.

    Args:
        daily: shape (n_obs, n_columns), daily returns, oldest first.
        ewma_lambda: decay in (0, 1).

    Returns:
        (sigma, sigma_now): shapes (n_obs, n_columns) and (n_columns,).
    """
    r = np.asarray(daily, dtype=float)
    n = r.shape[0]
    sq = r**2
    var = sq[: min(FILTER_SEED_DAYS, n)].mean(axis=0)
    var = np.where(var > 0.0, var, sq.mean(axis=0))
    out = np.empty((n + 1, r.shape[1]))
    out[0] = var
    lam = float(ewma_lambda)
    for t in range(n):
        out[t + 1] = lam * out[t] + (1.0 - lam) * sq[t]
    sigma = np.sqrt(out)
    return sigma[:n], sigma[n]


def filtered_returns(daily: np.ndarray, ewma_lambda: float) -> np.ndarray:
    """Hull-White volatility-filtered daily returns ``r_t * sigma_now / sigma_t``.

    The volatilities are those of ``ewma_volatility``. A factor that never moved in the window
    (zero volatility throughout) keeps its zero returns.

    Args:
        daily: shape (n_obs, n_columns), oldest first.

    Returns:
        shape (n_obs, n_columns).
    """
    r = np.asarray(daily, dtype=float)
    sigma, now = ewma_volatility(r, ewma_lambda)
    safe = np.where(sigma > 0.0, sigma, 1.0)
    return np.where(sigma > 0.0, r * (now / safe), 0.0)


def compound(daily: np.ndarray, horizon_days: int) -> np.ndarray:
    """The overlapping h-day simple returns ``prod_{s<h} (1 + r[t+s]) - 1`` of daily returns.

    Returns:
        shape (n_obs - horizon_days + 1, n_columns).
    """
    if horizon_days == 1:
        return np.array(daily, dtype=float)
    n = daily.shape[0] - horizon_days + 1
    growth = 1.0 + daily[:n]
    for s in range(1, horizon_days):
        growth = growth * (1.0 + daily[s : s + n])
    return growth - 1.0


def historical_scenarios(
    history: FactorHistory,
    index: int,
    window: int,
    horizon_days: int,
    columns: np.ndarray,
    scaling: str = "overlapping",
    *,
    weighting: str = "none",
    decay: float = 1.0,
    ewma_lambda: float = 0.94,
) -> HistoricalScenarios:
    """Scenario returns for the window of ``window`` daily returns ending at ``index``.

    Args:
        weighting: "none", "age" (``decay``) or "filtered" (``ewma_lambda``), see the module.
    """
    if weighting not in WEIGHTINGS:
        raise ValueError(f"weighting {weighting!r} is not one of: {', '.join(WEIGHTINGS)}")
    if weighting == "filtered":
        daily = filtered_returns(history.returns(index, window, columns, 1), ewma_lambda)
        r = compound(daily, horizon_days) if scaling == "overlapping" else daily
        if scaling != "overlapping":
            r = r * math.sqrt(horizon_days)
    elif scaling == "overlapping":
        r = history.returns(index, window, columns, horizon_days)
    else:
        r = history.returns(index, window, columns, 1) * math.sqrt(horizon_days)
    if scaling == "overlapping":
        starts = history.dates[index - window : index - horizon_days + 1]
    else:
        starts = history.dates[index - window : index]
    r.setflags(write=False)
    weights = None
    if weighting == "age" and decay < 1.0:  # decay 1: equal weights, plain historical
        weights = age_weights(r.shape[0], decay)
        weights.setflags(write=False)
    return HistoricalScenarios(r, scaling, tuple(str(d) for d in starts), weighting, weights)


@dataclass(frozen=True)
class HistoricalDesign:
    """The recipe of a historical scenario set: with the market data (history version, as-of
    row, window, columns) the whole cache key of the scenarios.

    Attributes:
        horizon_days: h.
        scaling: "overlapping" or "sqrt".
        weighting: "none", "age" or "filtered".
        decay: the age-weighting decay ("age" only, else None).
        ewma_lambda: the volatility filter's EWMA decay ("filtered" only, else None).
    """

    horizon_days: int
    scaling: str = "overlapping"
    weighting: str = "none"
    decay: float | None = None
    ewma_lambda: float | None = None

    @classmethod
    def of(cls, horizon_days, scaling, weighting, decay, ewma_lambda) -> HistoricalDesign:
        """The design, keeping each parameter only where its weighting uses it."""
        return cls(
            horizon_days,
            scaling,
            weighting,
            float(decay) if weighting == "age" else None,
            float(ewma_lambda) if weighting == "filtered" else None,
        )

    def scenarios(
        self, history: FactorHistory, index: int, window: int, columns: np.ndarray
    ) -> HistoricalScenarios:
        return historical_scenarios(
            history,
            index,
            window,
            self.horizon_days,
            columns,
            self.scaling,
            weighting=self.weighting,
            decay=1.0 if self.decay is None else self.decay,
            ewma_lambda=0.94 if self.ewma_lambda is None else self.ewma_lambda,
        )

    def describe(self, scen: HistoricalScenarios, window: int) -> tuple[dict, list, list]:
        """The report parameters, notes and data-quality flags of ``scen``, the scenarios this
        design generated on a window of ``window`` daily returns."""
        n = scen.n_scenarios
        notes = [f"{n} scenarios: h-day returns by {scen.scaling} scaling inside the window"]
        parameters: dict = {
            "historical_scaling": scen.scaling,
            "historical_weighting": self.weighting,
        }
        data_quality: list[dict] = []
        if self.weighting == "age":
            decay = self.decay
            parameters["decay"] = decay
            if scen.weights is None:
                notes.append(
                    "age weighting with decay 1: equal weights (plain historical simulation)"
                )
            else:
                n_eff = 1.0 / float(np.sum(scen.weights**2))
                notes.append(
                    f"age-weighted scenarios (Boudoukh-Richardson-Whitelaw): the scenario ending "
                    f"i trading days before the window's end has weight proportional to "
                    f"{decay}^i (effective number of scenarios {n_eff:.1f})"
                )
        elif self.weighting == "filtered":
            lam = self.ewma_lambda
            parameters["ewma_lambda"] = lam
            notes.append(
                "volatility-filtered scenarios (Hull-White): each factor's daily return r_t "
                f"rescaled to r_t * sigma_now / sigma_t, EWMA volatility with lambda {lam:.6g} "
                f"started from the mean square of the window's first "
                f"{min(FILTER_SEED_DAYS, window)} returns; h-day scenarios compounded from the "
                "rescaled daily returns"
            )
            below = int(np.sum(np.min(scen.returns, axis=1) <= -1.0)) if n else 0
            if below:
                data_quality.append(
                    {
                        "code": "filtered_return_below_minus_one",
                        "message": (
                            f"{below} filtered scenario(s) move a factor by -100% or less "
                            "(today's volatility is far above that of their day); their prices "
                            "are zero or negative."
                        ),
                    }
                )
        return parameters, notes, data_quality

    def standard_errors(self, scen: HistoricalScenarios) -> tuple[bool, str]:
        """Whether ``scen`` takes i.i.d. standard errors (equally weighted, non-overlapping
        scenarios), and the note that says so."""
        if scen.weights is not None:
            return False, (
                "no standard errors: the i.i.d. formulas assume equally weighted scenarios"
            )
        if self.horizon_days == 1 or scen.scaling == "sqrt":
            return True, (
                "standard errors treat the historical days as independent draws (volatility "
                "clustering makes the true sampling error larger)"
            )
        return False, "no standard errors: overlapping h-day scenarios are not independent"
