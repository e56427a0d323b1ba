"""The unit of market data: one trade on one venue, normalised (DESIGN.md, pipeline step 1)."""

from __future__ import annotations

import datetime as dt
from typing import NamedTuple

UTC = dt.UTC
#: trade ids are stored as 64-bit signed integers: 0 <= trade_id < MAX_TRADE_ID
MAX_TRADE_ID = 2**63


class Tick(NamedTuple):
    """One trade, as every venue parser returns it and every store keeps it.

    Immutable (a named tuple: three times cheaper to build than a frozen dataclass, which
    matters at 100,000 ticks a second).

    Attributes:
        venue: the feed's protocol name (``coinbase``, ``binance``, ``kraken``, ``riskengine``).
        symbol: canonical instrument name (``BTC-USD``, ``AAPL``; see ``canonical_symbol``).
        ts: event time of the trade, timezone-aware UTC.
        price: trade price, > 0, in the instrument's quote currency.
        size: traded quantity, >= 0 (in base units; 0 where a venue gives none).
        trade_id: the venue's trade identifier, an integer increasing by one per trade and
            symbol on every supported venue; (venue, symbol, trade_id, ts) is the store's key,
            so a repeated tick is stored once.
        received_at: when the ingest service read the frame (UTC), None before that.
    """

    venue: str
    symbol: str
    ts: dt.datetime
    price: float
    size: float
    trade_id: int
    received_at: dt.datetime | None = None

    @property
    def key(self) -> tuple[str, str, int]:
        """(venue, symbol, trade_id): the identity used for de-duplication and gap detection."""
        return (self.venue, self.symbol, self.trade_id)


_new = tuple.__new__


def new_tick(fields: tuple) -> Tick:
    """``Tick(*fields)`` without the named tuple's keyword-handling constructor (half the cost,
    for parsers on the hot path). ``fields`` must hold all seven fields in order."""
    return _new(Tick, fields)
