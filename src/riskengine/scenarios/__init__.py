"""Scenario generators: historical (overlapping h-day returns) and Monte Carlo (blocks)."""

from riskengine.scenarios.historical import HistoricalScenarios, historical_scenarios
from riskengine.scenarios.monte_carlo import MonteCarloModel, MonteCarloScenarios

__all__ = [
    "HistoricalScenarios",
    "MonteCarloModel",
    "MonteCarloScenarios",
    "historical_scenarios",
]
