"""Backtesting: roll VaR and ES through history with today's book held constant, and test the
forecasts (exceptions, Kupiec, Christoffersen, Basel traffic light, Acerbi-Szekely Z2).

See docs/backtest.md.
"""

from riskengine.backtest.result import BacktestResult, BacktestStatistics, MethodBacktest
from riskengine.backtest.rolling import ROLLERS, rolling_var_es
from riskengine.backtest.run import run_backtest
from riskengine.backtest.series import backtest_series, load_series
from riskengine.backtest.stats import (
    acerbi_szekely_z2,
    christoffersen_independence,
    conditional_coverage,
    count_exceptions,
    exception_flags,
    kupiec_pof,
    rolling_traffic_light,
    simulation_p_value,
    traffic_light,
    traffic_light_bounds,
    transitions,
)

__all__ = [
    "ROLLERS",
    "BacktestResult",
    "BacktestStatistics",
    "MethodBacktest",
    "acerbi_szekely_z2",
    "backtest_series",
    "christoffersen_independence",
    "conditional_coverage",
    "count_exceptions",
    "exception_flags",
    "kupiec_pof",
    "load_series",
    "rolling_traffic_light",
    "rolling_var_es",
    "run_backtest",
    "simulation_p_value",
    "traffic_light",
    "traffic_light_bounds",
    "transitions",
]
