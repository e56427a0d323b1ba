"""Kraken spot WebSocket API v2 (``wss://ws.kraken.com/v2``), the ``trade`` channel.

Conventions (docs/feeds.md has the messages and their sources):

* symbols are slash-separated (``BTC/USD``; v2 writes ``BTC``, v1's ``XBT`` maps to ``BTC``
  too);
* price and qty are JSON NUMBERS (not strings), read with ``float`` and written by orjson in
  shortest round-trip form; ``trade_id`` is an integer, sequential per book;
* ``timestamp`` is RFC 3339 UTC with microseconds;
* ``side`` is the TAKER's side; a Tick keeps no side, the encoder writes ``buy`` for odd trade
  ids and ``sell`` for even ones.
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

_TRADE = (
    ("symbol", "text"),
    ("trade_id", "int"),
    ("timestamp", "iso"),
    ("price", "price"),
    ("qty", "size"),
)


class Kraken:
    """Kraken WebSocket v2 trades.

    Frames: ``{"channel": "trade", "type": "snapshot"|"update", "data": [...]}`` -> kind
    ``snapshot`` / ``trade`` (many trades per frame); ``heartbeat`` -> ``heartbeat`` (no last
    trade id); ``status`` -> ``other``; a ``subscribe`` acknowledgement -> ``subscribed``, or
    ``error`` when ``success`` is false; ``pong`` (answer to our application ping) -> ``other``.
    """

    name = "kraken"
    batches = True
    resumable = False

    def parse(self, frame: str | bytes, received_at: dt.datetime) -> Parsed:
        msg = loads(self.name, frame)
        channel = msg.get("channel")
        if channel == "trade":
            return self._trades(msg, received_at)
        if channel == "heartbeat":
            return Parsed("heartbeat")
        if channel is not None:
            return Parsed("other", message=f"channel {channel!r}")
        method = msg.get("method")
        if msg.get("success") is False:
            return Parsed("error", message=f"{method}: {msg.get('error', '')}")
        if method == "subscribe":
            result = msg.get("result")
            symbol = result.get("symbol") if isinstance(result, dict) else None
            return Parsed("subscribed", message=f"trade {symbol}")
        return Parsed("other", message=f"method {method!r}")

    def _trades(self, msg: dict, received_at: dt.datetime) -> Parsed:
        name = self.name
        data = msg.get("data")
        if not isinstance(data, list):
            if "data" not in msg:
                raise missing(name, "data", msg)
            raise malformed(name, "data", data, "must be a list of trades")
        ticks: list[Tick] = []
        for tr in data:
            try:
                symbol = canonical_symbol(tr["symbol"])
                ts = _fromiso(tr["timestamp"])
                price = float(tr["price"])
                size = float(tr["qty"])
                trade_id = tr["trade_id"]
            except SHAPE_ERRORS:
                raise diagnose(name, tr, _TRADE) from None
            if not valid_trade(symbol, price, size, trade_id):
                raise diagnose(name, tr, _TRADE)
            if ts.tzinfo is not UTC:
                ts = to_utc(ts)
            ticks.append(new_tick((name, symbol, ts, price, size, trade_id, received_at)))
        return Parsed("snapshot" if msg.get("type") == "snapshot" else "trade", ticks)

    def subscribe(
        self, symbols: Sequence[str], *, resume_from: dict[str, int] | None = None
    ) -> list[str]:
        """One ``subscribe`` request for the ``trade`` channel with ``snapshot`` (the last 50
        trades of each symbol, which covers short disconnections); ``req_id`` 1.
        ``resume_from`` is ignored (no replay by trade id)."""
        params = {
            "channel": "trade",
            "symbol": [venue_symbol(s, "slash") for s in symbols],
            "snapshot": True,
        }
        return [dumps({"method": "subscribe", "params": params, "req_id": 1})]

    def ping(self, req_id: int = 0) -> str:
        """An application-level ``ping`` request (the server answers ``pong``)."""
        return dumps({"method": "ping", "req_id": req_id})

    def parse_subscribe(self, frame: str | bytes) -> Subscription:
        """The symbols of a ``subscribe`` request to the ``trade`` channel; ``request_id`` is
        its ``req_id``."""
        msg = loads(self.name, frame)
        if msg.get("method") != "subscribe":
            raise malformed(self.name, "method", msg.get("method"), "must be 'subscribe'")
        params = msg.get("params")
        if not isinstance(params, dict):
            raise malformed(self.name, "params", params, "must be an object")
        if params.get("channel") != "trade":
            raise malformed(self.name, "params.channel", params.get("channel"), "must be 'trade'")
        symbols = params.get("symbol")
        if (
            not isinstance(symbols, list)
            or not symbols
            or not all(type(s) is str and s for s in symbols)
        ):
            raise malformed(self.name, "params.symbol", symbols, "must be a list of pairs")
        canonical = tuple(dict.fromkeys(canonical_symbol(s) for s in symbols))
        return Subscription(canonical, request_id=msg.get("req_id"))

    def subscribed(self, subscription: Subscription) -> list[str]:
        """One acknowledgement per symbol, as Kraken sends them."""
        now = iso_z(dt.datetime.now(UTC))
        frames = []
        for symbol in subscription.symbols:
            ack: dict = {
                "method": "subscribe",
                "result": {
                    "channel": "trade",
                    "snapshot": True,
                    "symbol": venue_symbol(symbol, "slash"),
                },
                "success": True,
                "time_in": now,
                "time_out": now,
            }
            if subscription.request_id is not None:
                ack["req_id"] = subscription.request_id
            frames.append(dumps(ack))
        return frames

    def encode_trades(
        self, ticks: Sequence[Tick], *, sequence: int = 0, snapshot: bool = False
    ) -> str:
        """One ``trade`` frame holding ``ticks`` (type ``update``, or ``snapshot`` when
        ``snapshot``). ``sequence`` is unused (the channel carries none)."""
        data = [
            {
                "symbol": venue_symbol(t.symbol, "slash"),
                "side": "buy" if t.trade_id & 1 else "sell",
                "price": t.price,
                "qty": t.size,
                "ord_type": "market" if t.trade_id & 2 else "limit",
                "trade_id": t.trade_id,
                "timestamp": iso_z(t.ts),
            }
            for t in ticks
        ]
        kind = "snapshot" if snapshot else "update"
        return dumps({"channel": "trade", "type": kind, "data": data})

    def heartbeat(self, *, last_trade_id: dict[str, int], sequence: int = 0) -> str | None:
        """``{"channel": "heartbeat"}`` (it carries nothing else)."""
        return '{"channel":"heartbeat"}'
