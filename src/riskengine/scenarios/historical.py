"""Historical scenarios: the h-day simple returns inside the window, applied to today's prices."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from riskengine.market.history import FactorHistory

SCALINGS = ("overlapping", "sqrt")


@dataclass(frozen=True)
class HistoricalScenarios:
    """Scenario returns of the factor universe.

    Attributes:
        returns: shape (n_scenarios, n_columns): with "overlapping" scaling the N-h+1 overlapping
            h-day returns in a window of N daily returns; with "sqrt" the N daily returns times
            sqrt(h).
        scaling: "overlapping" or "sqrt".
        start_dates: ISO date of the close each scenario's return starts from.
    """

    returns: np.ndarray
    scaling: str
    start_dates: tuple[str, ...]

    @property
    def n_scenarios(self) -> int:
        return self.returns.shape[0]

    @property
    def nbytes(self) -> int:
        return self.returns.nbytes


def historical_scenarios(
    history: FactorHistory,
    index: int,
    window: int,
    horizon_days: int,
    columns: np.ndarray,
    scaling: str = "overlapping",
) -> HistoricalScenarios:
    """Scenario returns for the window of ``window`` daily returns ending at ``index``."""
    if scaling == "overlapping":
        r = history.returns(index, window, columns, horizon_days)
        starts = history.dates[index - window : index - horizon_days + 1]
    else:
        r = history.returns(index, window, columns, 1) * math.sqrt(horizon_days)
        starts = history.dates[index - window : index]
    r.setflags(write=False)
    return HistoricalScenarios(r, scaling, tuple(str(d) for d in starts))
