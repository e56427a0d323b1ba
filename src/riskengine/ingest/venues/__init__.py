"""Venue adapters: pure functions from a venue's WebSocket frames to ticks, and back.

``VENUES`` maps each registry name to its adapter (an object following ``VenueAdapter``):

* ``coinbase``: Coinbase Exchange feed, ``matches`` + ``heartbeat`` channels;
* ``coinbase-advanced``: Coinbase Advanced Trade ``market_trades`` + ``heartbeats``;
* ``binance``: Binance spot ``<symbol>@trade`` streams (raw or combined);
* ``kraken``: Kraken WebSocket v2 ``trade`` channel;
* ``riskengine``: our own protocol, spoken by the built-in feed server (resumable).

docs/feeds.md describes each protocol as supported here, with its documentation source.
"""

from __future__ import annotations

from riskengine.errors import InputError
from riskengine.ingest.venues.base import (
    MalformedFrame,
    Parsed,
    Subscription,
    VenueAdapter,
    heartbeat_frames,
)
from riskengine.ingest.venues.binance import Binance
from riskengine.ingest.venues.coinbase import Coinbase, CoinbaseAdvanced
from riskengine.ingest.venues.kraken import Kraken
from riskengine.ingest.venues.native import Native

VENUES: dict[str, VenueAdapter] = {
    adapter.name: adapter
    for adapter in (Coinbase(), CoinbaseAdvanced(), Binance(), Kraken(), Native())
}


def get_venue(name: str) -> VenueAdapter:
    """The adapter registered as ``name`` (case and surrounding spaces ignored).

    Raises:
        InputError: no venue of that name; the message lists the valid names.
    """
    adapter = VENUES.get(name.strip().lower()) if isinstance(name, str) else None
    if adapter is None:
        raise InputError(f"unknown venue {name!r}; use one of: {', '.join(sorted(VENUES))}.")
    return adapter


__all__ = [
    "VENUES",
    "Binance",
    "Coinbase",
    "CoinbaseAdvanced",
    "Kraken",
    "MalformedFrame",
    "Native",
    "Parsed",
    "Subscription",
    "VenueAdapter",
    "get_venue",
    "heartbeat_frames",
]
