"""Coinbase: the Exchange WebSocket feed (``coinbase``, one trade per frame) and the Advanced
Trade market data feed (``coinbase-advanced``, trades batched per 250 ms).

Conventions (docs/feeds.md has the messages and their sources):

* product ids are dash-separated (``BTC-USD``), already the canonical form;
* prices and sizes are decimal strings, read with ``float`` and written with ``repr`` (shortest
  round-trip text, never rounded);
* times are ISO-8601 UTC with microseconds and ``Z``;
* ``side`` is the MAKER's side on both feeds (``sell`` = up-tick); a Tick keeps no side, and the
  encoders write ``buy`` for odd trade ids and ``sell`` for even ones.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from riskengine.ingest.symbols import canonical_symbol, venue_symbol
from riskengine.ingest.venues.base import (
    SHAPE_ERRORS,
    UTC,
    Parsed,
    Subscription,
    decimal_text,
    diagnose,
    dumps,
    iso_z,
    loads,
    malformed,
    missing,
    to_utc,
    valid_trade,
)
from riskengine.market.tick import Tick, new_tick

_fromiso = dt.datetime.fromisoformat

_MATCH = (
    ("product_id", "text"),
    ("trade_id", "int"),
    ("time", "iso"),
    ("price", "price"),
    ("size", "size"),
)
_ADVANCED_TRADE = (
    ("product_id", "text"),
    ("trade_id", "digits"),
    ("time", "iso"),
    ("price", "price"),
    ("size", "size"),
)


def _order_id(trade_id: int, role: int) -> str:
    """A UUID-shaped order id derived from the trade id (the feed server has no real orders)."""
    return f"00000000-0000-4000-{0x8000 + role:04x}-{trade_id & 0xFFFFFFFFFFFF:012x}"


def _symbols(venue: str, frame_ids: object, field: str) -> list[str]:
    """Canonical symbols of a subscribe frame's product id list."""
    if not isinstance(frame_ids, list) or not all(type(s) is str and s for s in frame_ids):
        raise malformed(venue, field, frame_ids, "must be a list of product ids")
    return [canonical_symbol(s) for s in frame_ids]


class Coinbase:
    """The Coinbase Exchange feed (``wss://ws-feed.exchange.coinbase.com``): channels
    ``matches`` and ``heartbeat``.

    Frames: ``match`` (and ``last_match``, sent once right after subscribing) -> ``trade``;
    ``heartbeat`` -> ``heartbeat`` with ``last_trade_id``; ``subscriptions`` -> ``subscribed``;
    ``error`` -> ``error``; anything else -> ``other``.
    """

    name = "coinbase"
    batches = False
    resumable = False
    #: heartbeats are per product: ``heartbeat()`` takes one symbol (see ``heartbeat_frames``).
    heartbeat_per_symbol = True

    def parse(self, frame: str | bytes, received_at: dt.datetime) -> Parsed:
        msg = loads(self.name, frame)
        kind = msg.get("type")
        if kind == "match" or kind == "last_match":
            try:
                symbol = canonical_symbol(msg["product_id"])
                ts = _fromiso(msg["time"])
                price = float(msg["price"])
                size = float(msg["size"])
                trade_id = msg["trade_id"]
            except SHAPE_ERRORS:
                raise diagnose(self.name, msg, _MATCH) from None
            if not valid_trade(symbol, price, size, trade_id):
                raise diagnose(self.name, msg, _MATCH)
            if ts.tzinfo is not UTC:
                ts = to_utc(ts)
            return Parsed(
                "trade", (new_tick((self.name, symbol, ts, price, size, trade_id, received_at)),)
            )
        if kind == "heartbeat":
            product, last = msg.get("product_id"), msg.get("last_trade_id")
            if type(product) is not str or not product:
                raise malformed(self.name, "product_id", product, "must be a product id")
            if type(last) is not int:
                raise malformed(self.name, "last_trade_id", last, "must be an integer trade id")
            return Parsed("heartbeat", last_trade_id={canonical_symbol(product): last})
        if kind == "subscriptions":
            return Parsed("subscribed", message=dumps(msg.get("channels")))
        if kind == "error":
            reason = msg.get("reason")
            text = str(msg.get("message", ""))
            return Parsed("error", message=f"{text}: {reason}" if reason else text)
        return Parsed("other", message=f"type {kind!r}")

    def subscribe(
        self, symbols: Sequence[str], *, resume_from: dict[str, int] | None = None
    ) -> list[str]:
        """One ``subscribe`` frame for ``matches`` and ``heartbeat``; ``resume_from`` is ignored
        (the feed cannot replay: missed trades come from the REST API)."""
        ids = [venue_symbol(s, "dash") for s in symbols]
        return [
            dumps({"type": "subscribe", "product_ids": ids, "channels": ["matches", "heartbeat"]})
        ]

    def parse_subscribe(self, frame: str | bytes) -> Subscription:
        """The products of a ``subscribe`` frame: root ``product_ids`` plus those given inside
        channel objects (``{"name": "matches", "product_ids": [...]}``), in order, once each."""
        msg = loads(self.name, frame)
        if msg.get("type") != "subscribe":
            raise malformed(self.name, "type", msg.get("type"), "must be 'subscribe'")
        symbols = _symbols(self.name, msg.get("product_ids", []), "product_ids")
        channels = msg.get("channels")
        if not isinstance(channels, list):
            raise malformed(self.name, "channels", channels, "must be a list of channels")
        for channel in channels:
            if isinstance(channel, dict) and "product_ids" in channel:
                symbols += _symbols(self.name, channel["product_ids"], "channels.product_ids")
        if not symbols:
            raise missing(self.name, "product_ids", msg)
        return Subscription(tuple(dict.fromkeys(symbols)))

    def subscribed(self, subscription: Subscription) -> list[str]:
        ids = [venue_symbol(s, "dash") for s in subscription.symbols]
        channels = [
            {"name": "matches", "product_ids": ids},
            {"name": "heartbeat", "product_ids": ids},
        ]
        return [dumps({"type": "subscriptions", "channels": channels})]

    def encode_trades(self, ticks: Sequence[Tick], *, sequence: int = 0) -> str:
        """One ``match`` frame; ``ticks`` must hold exactly one tick (the feed sends one trade
        per frame). ``sequence`` is the product's message sequence number."""
        if len(ticks) != 1:
            raise ValueError(
                f"coinbase sends one trade per frame; got {len(ticks)} ticks. "
                "Call encode_trades once per tick."
            )
        t = ticks[0]
        return dumps(
            {
                "type": "match",
                "trade_id": t.trade_id,
                "sequence": sequence,
                "maker_order_id": _order_id(t.trade_id, 0),
                "taker_order_id": _order_id(t.trade_id, 1),
                "time": iso_z(t.ts),
                "product_id": venue_symbol(t.symbol, "dash"),
                "size": decimal_text(t.size),
                "price": decimal_text(t.price),
                "side": "buy" if t.trade_id & 1 else "sell",
            }
        )

    def heartbeat(self, *, last_trade_id: dict[str, int], sequence: int = 0) -> str | None:
        """The ``heartbeat`` frame of ONE product: Coinbase sends one per product and second,
        so ``last_trade_id`` must hold exactly one symbol (call once per symbol, or use
        ``heartbeat_frames``, which does)."""
        if len(last_trade_id) != 1:
            raise ValueError(
                f"coinbase heartbeats are per product; got {len(last_trade_id)} symbols. "
                "Call heartbeat once per symbol, or use venues.heartbeat_frames."
            )
        ((symbol, last),) = last_trade_id.items()
        return dumps(
            {
                "type": "heartbeat",
                "sequence": sequence,
                "last_trade_id": last,
                "product_id": venue_symbol(symbol, "dash"),
                "time": iso_z(dt.datetime.now(UTC)),
            }
        )


class CoinbaseAdvanced:
    """The Coinbase Advanced Trade market data feed (``wss://advanced-trade-ws.coinbase.com``):
    channels ``market_trades`` and ``heartbeats``.

    Frames carry ``channel``, ``timestamp``, ``sequence_num`` (per connection) and ``events``;
    a ``market_trades`` event of type ``snapshot`` (sent once after subscribing) gives kind
    ``snapshot``, ``update`` events give ``trade``. ``trade_id`` is a string of digits.
    ``heartbeats`` -> ``heartbeat`` (no last trade id); ``subscriptions`` -> ``subscribed``;
    ``{"type": "error"}`` -> ``error``.
    """

    name = "coinbase-advanced"
    batches = True
    resumable = False

    def parse(self, frame: str | bytes, received_at: dt.datetime) -> Parsed:
        msg = loads(self.name, frame)
        channel = msg.get("channel")
        if channel == "market_trades":
            return self._trades(msg, received_at)
        if channel == "heartbeats":
            events = msg.get("events")
            first = events[0] if isinstance(events, list) and events else None
            counter = first.get("heartbeat_counter") if isinstance(first, dict) else None
            return Parsed("heartbeat", message=f"heartbeat_counter {counter}")
        if channel == "subscriptions":
            return Parsed("subscribed", message=dumps(msg.get("events")))
        if msg.get("type") == "error":
            reason = msg.get("reason")
            text = str(msg.get("message", ""))
            return Parsed("error", message=f"{text}: {reason}" if reason else text)
        return Parsed("other", message=f"channel {channel!r}")

    def _trades(self, msg: dict, received_at: dt.datetime) -> Parsed:
        name = self.name
        events = msg.get("events")
        if not isinstance(events, list):
            raise malformed(name, "events", events, "must be a list of events")
        ticks: list[Tick] = []
        snapshot = False
        for event in events:
            trades = event.get("trades") if isinstance(event, dict) else None
            if not isinstance(trades, list):
                if isinstance(event, dict) and "trades" in event:
                    raise malformed(name, "trades", trades, "must be a list of trades")
                raise missing(name, "trades", event)
            if event.get("type") == "snapshot":
                snapshot = True
            for tr in trades:
                try:
                    symbol = canonical_symbol(tr["product_id"])
                    ts = _fromiso(tr["time"])
                    price = float(tr["price"])
                    size = float(tr["size"])
                    raw_id = tr["trade_id"]
                except SHAPE_ERRORS:
                    raise diagnose(name, tr, _ADVANCED_TRADE) from None
                if type(raw_id) is str and raw_id.isascii() and raw_id.isdigit():
                    trade_id: int | None = int(raw_id)
                else:
                    trade_id = raw_id if type(raw_id) is int else None
                if not valid_trade(symbol, price, size, trade_id):
                    raise diagnose(name, tr, _ADVANCED_TRADE)
                if ts.tzinfo is not UTC:
                    ts = to_utc(ts)
                ticks.append(new_tick((name, symbol, ts, price, size, trade_id, received_at)))
        return Parsed("snapshot" if snapshot else "trade", ticks)

    def subscribe(
        self, symbols: Sequence[str], *, resume_from: dict[str, int] | None = None
    ) -> list[str]:
        """Two frames (one channel per subscribe message): ``market_trades`` for ``symbols``
        and ``heartbeats``, which keeps quiet subscriptions open. ``resume_from`` is ignored."""
        ids = [venue_symbol(s, "dash") for s in symbols]
        return [
            dumps({"type": "subscribe", "product_ids": ids, "channel": "market_trades"}),
            dumps({"type": "subscribe", "channel": "heartbeats"}),
        ]

    def parse_subscribe(self, frame: str | bytes) -> Subscription:
        """A ``subscribe`` frame: ``request_id`` is its channel (``market_trades`` or
        ``heartbeats``; the latter subscribes no symbols)."""
        msg = loads(self.name, frame)
        if msg.get("type") != "subscribe":
            raise malformed(self.name, "type", msg.get("type"), "must be 'subscribe'")
        channel = msg.get("channel")
        if channel == "heartbeats":
            return Subscription((), request_id="heartbeats")
        if channel != "market_trades":
            raise malformed(
                self.name, "channel", channel, "must be 'market_trades' or 'heartbeats'"
            )
        if "product_ids" not in msg:
            raise missing(self.name, "product_ids", msg)
        symbols = _symbols(self.name, msg["product_ids"], "product_ids")
        return Subscription(tuple(dict.fromkeys(symbols)), request_id="market_trades")

    def subscribed(self, subscription: Subscription) -> list[str]:
        if subscription.request_id == "heartbeats":
            subs: dict[str, list[str]] = {"heartbeats": ["heartbeats"]}
        else:
            subs = {"market_trades": [venue_symbol(s, "dash") for s in subscription.symbols]}
        return [self._envelope("subscriptions", 0, [{"subscriptions": subs}])]

    def encode_trades(
        self, ticks: Sequence[Tick], *, sequence: int = 0, snapshot: bool = False
    ) -> str:
        """One ``market_trades`` frame holding ``ticks`` in one event (``update``, or
        ``snapshot`` when ``snapshot``); ``sequence`` is the connection's ``sequence_num``."""
        trades = [
            {
                "trade_id": str(t.trade_id),
                "product_id": venue_symbol(t.symbol, "dash"),
                "price": decimal_text(t.price),
                "size": decimal_text(t.size),
                "side": "BUY" if t.trade_id & 1 else "SELL",
                "time": iso_z(t.ts),
            }
            for t in ticks
        ]
        event = {"type": "snapshot" if snapshot else "update", "trades": trades}
        return self._envelope("market_trades", sequence, [event])

    def heartbeat(self, *, last_trade_id: dict[str, int], sequence: int = 0) -> str | None:
        """A ``heartbeats`` frame; ``heartbeat_counter`` is ``sequence`` (the feed carries no
        last trade id, so ``last_trade_id`` is not sent)."""
        now = dt.datetime.now(UTC)
        current = f"{now:%Y-%m-%d %H:%M:%S}.{now.microsecond * 1000:09d} +0000 UTC"
        events = [{"current_time": current, "heartbeat_counter": sequence}]
        return self._envelope("heartbeats", sequence, events, now=now)

    @staticmethod
    def _envelope(
        channel: str, sequence: int, events: list, *, now: dt.datetime | None = None
    ) -> str:
        stamp = iso_z(now or dt.datetime.now(UTC))
        return dumps(
            {"channel": channel, "timestamp": stamp, "sequence_num": sequence, "events": events}
        )
