"""The models' own loss distributions, day by day, to simulate backtest statistics under the null.

Acerbi & Szekely (2014) take the p-value of Z2 by simulating every day's loss from the
distribution the model forecast for that day (the null hypothesis: the model is right). Each
method leaves one of these behind:

* ``WindowNull``: historical simulation, equally weighted: a day's distribution is its window of
  book P&L (one of the window's N days, uniformly).
* ``TailNull``: any scenario set (weighted historical, Monte Carlo paths): only the losses above
  the day's lowest VaR are kept, with their probabilities; a draw below them adds nothing to Z2.
* ``ParametricNull``: a location-scale law, ``L = -mean + sd * q(U)`` with ``q`` the method's
  standardised loss quantile (normal, standardised Student-t, or the Cornish-Fisher expansion).

Every ``sample(rng, n_sims)`` returns losses of shape (n_sims, n_days); ``-inf`` marks a draw
below every VaR of that day (it is never an exception).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import special

from riskengine.core.distributions import cornish_fisher_z
from riskengine.core.lazy import stats


@dataclass(frozen=True)
class WindowNull:
    """Day i draws one of the ``window`` P&L values ``pnl[starts[i] : starts[i] + window]``.

    Attributes:
        pnl: shape (n_returns,), the book P&L of every daily return.
        starts: shape (n_days,), the first index of each day's window in ``pnl``.
        window: N.
    """

    pnl: np.ndarray
    starts: np.ndarray
    window: int

    def sample(self, rng: np.random.Generator, n_sims: int) -> np.ndarray:
        j = rng.integers(0, self.window, size=(n_sims, self.starts.size))
        return -self.pnl[self.starts[None, :] + j]


@dataclass(frozen=True)
class TailNull:
    """Per day the scenario losses above its lowest VaR and their probabilities.

    Attributes:
        losses: per day, shape (m_i,), the tail losses.
        probabilities: per day, shape (m_i,), their probabilities (the rest of the mass lies
            at or below the lowest VaR).
    """

    losses: tuple[np.ndarray, ...]
    probabilities: tuple[np.ndarray, ...]

    @classmethod
    def from_scenarios(cls, days) -> TailNull:
        """From (pnl, weights or None, lowest VaR) per day; pnl of shape (n_scenarios,)."""
        losses, probs = [], []
        for pnl, weights, var in days:
            lo = -np.asarray(pnl, dtype=float)
            keep = lo > var
            losses.append(lo[keep])
            if weights is None:
                probs.append(np.full(int(keep.sum()), 1.0 / lo.size))
            else:
                w = np.asarray(weights, dtype=float)
                probs.append(w[keep] / w.sum())
        return cls(tuple(losses), tuple(probs))

    def sample(self, rng: np.random.Generator, n_sims: int) -> np.ndarray:
        out = np.full((n_sims, len(self.losses)), -np.inf)
        u = rng.random((len(self.losses), n_sims))
        for i, (lo, p) in enumerate(zip(self.losses, self.probabilities, strict=True)):
            if lo.size == 0:
                continue
            # The tail holds the top mass: its items occupy [1 - sum(p), 1) in order.
            lower = 1.0 - np.cumsum(p[::-1])[::-1]
            k = np.searchsorted(lower, u[i], side="right") - 1
            hit = k >= 0
            out[hit, i] = lo[k[hit]]
        return out


@dataclass(frozen=True)
class ParametricNull:
    """Per day ``L = -mean + sd * q(U)``, U uniform.

    Attributes:
        family: "normal", "student-t" or "cornish-fisher".
        mean, sd: shape (n_days,), the P&L mean and standard deviation.
        df: Student-t degrees of freedom (family "student-t").
        skewness, excess_kurtosis: shape (n_days,), of the P&L (family "cornish-fisher").
    """

    family: str
    mean: np.ndarray
    sd: np.ndarray
    df: float | None = None
    skewness: np.ndarray | None = None
    excess_kurtosis: np.ndarray | None = None

    def standard_loss_quantile(self, u):
        """q(u), shape of ``u`` broadcast against (n_days,)."""
        u = np.asarray(u, dtype=float)
        if self.family == "normal":
            return special.ndtri(u)
        if self.family == "student-t":
            if self.df is None:
                raise ValueError("a Student-t null model needs df")
            df = float(self.df)
            return math.sqrt((df - 2.0) / df) * stats.t.ppf(u, df)
        if self.skewness is None or self.excess_kurtosis is None:
            raise ValueError("a Cornish-Fisher null model needs the skewness and excess kurtosis")
        # The loss has minus the P&L skewness (core.distributions.cornish_fisher_var_es).
        return cornish_fisher_z(u, -self.skewness, self.excess_kurtosis)

    def loss_quantile(self, u):
        """The model's loss quantile at level u for every day."""
        return -self.mean + self.sd * self.standard_loss_quantile(u)

    def sample(self, rng: np.random.Generator, n_sims: int) -> np.ndarray:
        return self.loss_quantile(rng.random((n_sims, self.mean.size)))


NullModel = WindowNull | TailNull | ParametricNull
