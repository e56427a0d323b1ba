"""Moved to ``riskengine.market.tick`` (a tick is market data: the store reads it without
importing ingestion). This alias goes in the next release."""

from riskengine._moved import moved_module

__getattr__ = moved_module("riskengine.ingest.tick", "riskengine.market.tick")
