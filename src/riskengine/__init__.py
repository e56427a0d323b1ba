"""riskengine: Value-at-Risk and Expected Shortfall by historical simulation, parametric and
Monte Carlo methods, with the conventions of docs/conventions.md."""

from riskengine._moved import moved_names
from riskengine.backtest import BacktestResult, run_backtest
from riskengine.decomposition import Contributions, TradeImpact
from riskengine.errors import (
    InputError,
    InsufficientHistoryError,
    NoPositionsError,
    PortfolioFormatError,
    PriceDataError,
    RiskEngineError,
    UnknownSymbolError,
)
from riskengine.frtb.report import FrtbReport
from riskengine.instruments import (
    Equity,
    EuropeanOption,
    Future,
    FxSpot,
    Portfolio,
    Position,
    load_portfolio,
)
from riskengine.market import FactorHistory, MarketState, load_prices
from riskengine.pipeline import RiskCache, compute_frtb, compute_risk
from riskengine.pricing.exposures import Exposures, compute_exposures
from riskengine.report import ExposureReport, RiskReport
from riskengine.spec import RiskSpec
from riskengine.stress import (
    StressReport,
    StressResult,
    reverse_stress,
    run_scenario,
    run_scenarios,
    worst_window,
)
from riskengine.version import __version__ as __version__
from riskengine.whatif import trade_impact

__all__ = [
    "BacktestResult",
    "Contributions",
    "Equity",
    "EuropeanOption",
    "ExposureReport",
    "Exposures",
    "FactorHistory",
    "FrtbReport",
    "FxSpot",
    "Future",
    "InputError",
    "InsufficientHistoryError",
    "MarketState",
    "NoPositionsError",
    "Portfolio",
    "PortfolioFormatError",
    "Position",
    "PriceDataError",
    "RiskCache",
    "RiskEngineError",
    "RiskReport",
    "RiskSpec",
    "TradeImpact",
    "StressReport",
    "StressResult",
    "UnknownSymbolError",
    "compute_exposures",
    "compute_frtb",
    "compute_risk",
    "load_portfolio",
    "load_prices",
    "reverse_stress",
    "run_backtest",
    "run_scenario",
    "run_scenarios",
    "trade_impact",
    "worst_window",
]

# the what-if's name until this release (a per-position measure has that name too)
__getattr__ = moved_names("riskengine", {"incremental_var": ("riskengine.whatif", "trade_impact")})
