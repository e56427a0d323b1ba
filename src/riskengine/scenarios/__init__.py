"""Scenario generators: historical (overlapping h-day returns) and Monte Carlo (blocks)."""

from riskengine.scenarios.historical import HistoricalScenarios, historical_scenarios
from riskengine.scenarios.montecarlo import MonteCarloModel, MonteCarloScenarios

__all__ = [
    "HistoricalScenarios",
    "MonteCarloModel",
    "MonteCarloScenarios",
    "historical_scenarios",
]
