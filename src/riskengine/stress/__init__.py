"""Stress testing: historical and hypothetical scenarios, worst-window search, reverse stress.

Every scenario is an instant shock to today's book (the as-of snapshot) with full revaluation:
options keep today's time to expiry. See docs/stress.md.
"""

from riskengine.stress.apply import run_scenario, run_scenarios
from riskengine.stress.result import PositionPnL, StressReport, StressResult
from riskengine.stress.reverse import FactorShock, ReverseStressResult, reverse_stress
from riskengine.stress.scenarios import (
    HistoricalScenario,
    HypotheticalScenario,
    load_library,
    load_scenarios,
)
from riskengine.stress.shocks import Shock, parse_shock, parse_shocks
from riskengine.stress.worst import Window, WorstWindowResult, worst_window

__all__ = [
    "FactorShock",
    "HistoricalScenario",
    "HypotheticalScenario",
    "PositionPnL",
    "ReverseStressResult",
    "Shock",
    "StressReport",
    "StressResult",
    "Window",
    "WorstWindowResult",
    "load_library",
    "load_scenarios",
    "parse_shock",
    "parse_shocks",
    "reverse_stress",
    "run_scenario",
    "run_scenarios",
    "worst_window",
]
