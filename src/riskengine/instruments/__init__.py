"""Instrument descriptions, positions and portfolios (no pricing here: engines value)."""

from riskengine.instruments.bookfile import load_portfolio
from riskengine.instruments.types import (
    INSTRUMENT_TYPES,
    Equity,
    EuropeanOption,
    Future,
    FxSpot,
    Instrument,
    Portfolio,
    Position,
)

__all__ = [
    "INSTRUMENT_TYPES",
    "Equity",
    "EuropeanOption",
    "FxSpot",
    "Future",
    "Instrument",
    "Portfolio",
    "Position",
    "load_portfolio",
]
