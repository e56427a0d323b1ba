"""Market data: price histories (FactorHistory), snapshots (MarketState) and file loaders."""

from riskengine.market.history import FactorHistory, MarketState
from riskengine.market.loaders import load_prices

__all__ = ["FactorHistory", "MarketState", "load_prices"]
