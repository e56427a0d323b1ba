"""Moved to ``riskengine.market.tick`` (a tick is market data: the store reads it without
importing ingestion). This alias goes in the next release."""

from __future__ import annotations

import warnings

from riskengine.market import tick as _tick

_MOVED = ("MAX_TRADE_ID", "Tick", "UTC", "new_tick")


def __getattr__(name: str):
    if name in _MOVED:
        warnings.warn(
            f"riskengine.ingest.tick.{name} moved to riskengine.market.tick.{name}; "
            "import it from there (this alias goes in the next release).",
            DeprecationWarning,
            stacklevel=2,
        )
        return getattr(_tick, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
