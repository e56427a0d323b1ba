"""The ``riskengine`` feed protocol: our own JSON over WebSocket, spoken by the built-in feed
server and documented in docs/feeds.md.

Messages (every frame is one JSON object with a ``type``):

* server -> client ``{"type": "trades", "data": [{"s": "AAPL", "id": 123, "t":
  "2024-01-02T15:04:05.123456Z", "p": 185.2, "q": 10}, ...]}``: one or many trades (any
  symbols); ``p`` and ``q`` are JSON numbers, ``id`` an integer increasing by one per trade and
  symbol, ``t`` ISO-8601 UTC;
* server -> client ``{"type": "heartbeat", "last": {"AAPL": 123}}``: the last trade id sent
  per symbol, so a client detects a gap while no trade arrives;
* client -> server ``{"type": "subscribe", "symbols": [...], "resume": {"AAPL": 123}}``: the
  server first resends every trade with id > ``resume[symbol]`` it still holds, then streams;
* server -> client ``{"type": "subscribed", "symbols": [...]}``,
  ``{"type": "error", "message": "..."}`` and ``{"type": "reconnect", "message": "..."}`` (the
  server is going away: reconnect and resume).

Symbols are canonical (``BTC-USD``, ``AAPL``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from riskengine.ingest.symbols import canonical_symbol
from riskengine.ingest.venues.base import (
    SHAPE_ERRORS,
    UTC,
    Parsed,
    Subscription,
    diagnose,
    dumps,
    dumps_utc,
    loads,
    malformed,
    missing,
    to_utc,
    valid_trade,
)
from riskengine.market.tick import Tick, new_tick

_fromiso = dt.datetime.fromisoformat

_TRADE = (("s", "text"), ("id", "int"), ("t", "iso"), ("p", "price"), ("q", "size"))


def _id_map(venue: str, value: object, field: str) -> dict[str, int]:
    """A ``{symbol: trade id}`` object with canonical symbols."""
    if not isinstance(value, dict):
        raise malformed(venue, field, value, "must be an object of symbol -> trade id")
    out: dict[str, int] = {}
    for symbol, trade_id in value.items():
        if type(trade_id) is not int:
            raise malformed(venue, f"{field}.{symbol}", trade_id, "must be an integer trade id")
        out[canonical_symbol(symbol)] = trade_id
    return out


class Native:
    """The riskengine feed protocol (see the module docstring); resumable by trade id."""

    name = "riskengine"
    batches = True
    #: one frame may mix symbols (Kraken and Coinbase Advanced Trade send one symbol a frame)
    per_symbol_frames = False
    resumable = True

    def parse(self, frame: str | bytes, received_at: dt.datetime) -> Parsed:
        msg = loads(self.name, frame)
        kind = msg.get("type")
        if kind == "trades":
            return self._trades(msg, received_at)
        if kind == "heartbeat":
            return Parsed("heartbeat", last_trade_id=_id_map(self.name, msg.get("last"), "last"))
        if kind == "subscribed":
            symbols = msg.get("symbols")
            text = ", ".join(map(str, symbols)) if isinstance(symbols, list) else ""
            return Parsed("subscribed", message=text)
        if kind == "error" or kind == "reconnect":
            return Parsed(kind, message=str(msg.get("message", "")))
        return Parsed("other", message=f"type {kind!r}")

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
                symbol = canonical_symbol(tr["s"])
                ts = _fromiso(tr["t"])
                price = float(tr["p"])
                size = float(tr["q"])
                trade_id = tr["id"]
            except SHAPE_ERRORS:
                raise diagnose(name, tr, _TRADE) from None
            if not valid_trade(symbol, price, size, trade_id):
                raise diagnose(name, tr, _TRADE)
            if ts.tzinfo is not UTC:
                ts = to_utc(ts)
            ticks.append(new_tick((name, symbol, ts, price, size, trade_id, received_at)))
        return Parsed("trade", ticks)

    def subscribe(
        self, symbols: Sequence[str], *, resume_from: dict[str, int] | None = None
    ) -> list[str]:
        """One ``subscribe`` frame; ``resume_from`` (symbol -> last trade id held) asks the
        server to resend the trades after those ids."""
        frame: dict = {"type": "subscribe", "symbols": list(symbols)}
        if resume_from:
            frame["resume"] = dict(resume_from)
        return [dumps(frame)]

    def parse_subscribe(self, frame: str | bytes) -> Subscription:
        msg = loads(self.name, frame)
        if msg.get("type") != "subscribe":
            raise malformed(self.name, "type", msg.get("type"), "must be 'subscribe'")
        symbols = msg.get("symbols")
        if not isinstance(symbols, list) or not all(type(s) is str and s for s in symbols):
            raise malformed(self.name, "symbols", symbols, "must be a list of symbols")
        resume = _id_map(self.name, msg.get("resume", {}), "resume")
        canonical = tuple(dict.fromkeys(canonical_symbol(s) for s in symbols))
        return Subscription(canonical, resume_from=resume)

    def subscribed(self, subscription: Subscription) -> list[str]:
        return [dumps({"type": "subscribed", "symbols": list(subscription.symbols)})]

    def encode_trades(self, ticks: Sequence[Tick], *, sequence: int = 0) -> str:
        """One ``trades`` frame holding ``ticks`` (any symbols). ``sequence`` is unused.
        Times are RFC 3339 UTC with ``Z``, the fraction omitted when it is zero."""
        data = [{"s": t.symbol, "id": t.trade_id, "t": t.ts, "p": t.price, "q": t.size}
                for t in ticks]  # fmt: skip
        return dumps_utc({"type": "trades", "data": data})

    def heartbeat(self, *, last_trade_id: dict[str, int], sequence: int = 0) -> str | None:
        return dumps({"type": "heartbeat", "last": dict(last_trade_id)})

    def error(self, message: str) -> str:
        """An ``error`` frame (server side)."""
        return dumps({"type": "error", "message": message})

    def reconnect(self, message: str) -> str:
        """A ``reconnect`` frame: the server is going away (server side)."""
        return dumps({"type": "reconnect", "message": message})
