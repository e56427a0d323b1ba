"""Market-data ingestion: ticks, venue protocols, the ingest service and the built-in feed."""

from riskengine.ingest.symbols import canonical_symbol
from riskengine.market.tick import Tick

__all__ = ["Tick", "canonical_symbol"]
