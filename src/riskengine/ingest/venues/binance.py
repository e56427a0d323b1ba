"""Binance spot WebSocket streams (``wss://stream.binance.com:9443``), the ``<symbol>@trade``
stream, raw (``/ws/...``) or combined (``/stream?streams=...``).

Conventions (docs/feeds.md has the messages and their sources):

* symbols are concatenated (``BTCUSDT``; lower case in stream names): read with
  ``canonical_symbol(s, concatenated=True)`` (``BTCUSDT`` -> ``BTC-USD``); written with
  ``venue_symbol(sym, "concatenated")``, except that a USD quote is written as ``usd_quote``
  (``USDT`` by default: Binance spot lists ``BTCUSDT``, not ``BTCUSD``);
* the event time of a tick is the trade time ``T`` (epoch milliseconds, converted exactly);
* prices and quantities are decimal strings (``repr`` when written, never rounded);
* keep-alive is WebSocket ping/pong only (the websockets library answers), so ``heartbeat()``
  is None; the server closes every connection after 24 hours, and announces a shutdown with a
  ``serverShutdown`` event (kind ``reconnect``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from functools import lru_cache

from riskengine.ingest.symbols import canonical_symbol, venue_symbol
from riskengine.ingest.venues.base import (
    EPOCH,
    SHAPE_ERRORS,
    Parsed,
    Subscription,
    decimal_text,
    diagnose,
    dumps,
    epoch_ms,
    loads,
    malformed,
    valid_trade,
)
from riskengine.market.tick import Tick, new_tick

_timedelta = dt.timedelta  # positional (days, seconds, microseconds, milliseconds): exact, fast


@lru_cache(maxsize=65536)
def _canonical(raw: str) -> str:
    """``canonical_symbol(raw, concatenated=True)`` behind a one-argument cache (a keyword
    argument makes the shared cache's key several times slower to build)."""
    return canonical_symbol(raw, concatenated=True)


_TRADE = (("s", "text"), ("t", "int"), ("T", "ms"), ("p", "price"), ("q", "size"))


class Binance:
    """Binance spot trade streams.

    Frames: ``{"e": "trade", ...}`` (raw, or wrapped as ``{"stream": ..., "data": ...}``) ->
    ``trade``; ``{"result": null, "id": N}`` -> ``subscribed``; ``{"code": .., "msg": ..}`` or
    ``{"error": {...}}`` -> ``error``; ``serverShutdown`` -> ``reconnect``; any other event
    (``aggTrade``, ``kline``, ...) -> ``other``.

    Args:
        usd_quote: how a canonical USD quote is written in Binance symbols (``USDT``; ``USD``
            for venues listing plain USD pairs such as Binance.US).
    """

    name = "binance"
    batches = False
    #: Binance closes every connection after 24 hours: the ingest service reconnects before.
    max_connection_age = 23.5 * 3600
    resumable = False

    def __init__(self, *, usd_quote: str = "USDT") -> None:
        self.usd_quote = usd_quote.upper()

    def parse(self, frame: str | bytes, received_at: dt.datetime) -> Parsed:
        msg = loads(self.name, frame)
        if "stream" in msg and "data" in msg:
            msg = msg["data"]
            if type(msg) is not dict:
                raise malformed(self.name, "data", msg, "must be a JSON object (the event)")
        event = msg.get("e")
        if event == "trade":
            try:
                symbol = _canonical(msg["s"])
                ms = msg["T"]
                ts = EPOCH + _timedelta(0, 0, 0, ms)
                price = float(msg["p"])
                size = float(msg["q"])
                trade_id = msg["t"]
            except SHAPE_ERRORS:
                raise diagnose(self.name, msg, _TRADE) from None
            if not valid_trade(symbol, price, size, trade_id) or type(ms) is not int:
                raise diagnose(self.name, msg, _TRADE)
            return Parsed(
                "trade", (new_tick((self.name, symbol, ts, price, size, trade_id, received_at)),)
            )
        if event is None:
            return self._control(msg)
        if event == "serverShutdown":
            return Parsed("reconnect", message="serverShutdown: the server is about to close")
        return Parsed("other", message=f"event {event!r}")

    def _control(self, msg: dict) -> Parsed:
        """Frames without an event type: request responses, errors, shutdown notices."""
        if "result" in msg and "id" in msg:
            if msg["result"] is None:
                return Parsed("subscribed", message=f"id {msg['id']!r}")
            return Parsed("other", message=f"result {msg['result']!r} for id {msg['id']!r}")
        error = msg.get("error")
        if isinstance(error, dict):
            return Parsed("error", message=f"code {error.get('code')!r}: {error.get('msg', '')}")
        if "code" in msg and "msg" in msg:
            return Parsed("error", message=f"code {msg['code']!r}: {msg['msg']}")
        event = msg.get("event")
        if isinstance(event, dict) and event.get("e") == "serverShutdown":
            return Parsed("reconnect", message="serverShutdown: the server is about to close")
        return Parsed("other", message="frame without an event type")

    def venue_name(self, symbol: str) -> str:
        """The Binance symbol of a canonical one (``BTC-USD`` -> ``BTCUSDT``; ``ETH-BTC`` ->
        ``ETHBTC``); a name without a dash is taken as Binance's own and kept."""
        base, sep, quote = symbol.partition("-")
        if sep and quote == "USD":
            return f"{base}{self.usd_quote}"
        return venue_symbol(symbol, "concatenated")

    def subscribe(
        self, symbols: Sequence[str], *, resume_from: dict[str, int] | None = None
    ) -> list[str]:
        """One ``SUBSCRIBE`` request for the ``<symbol>@trade`` streams (``id`` 1);
        ``resume_from`` is ignored (streams cannot replay)."""
        params = [f"{self.venue_name(s).lower()}@trade" for s in symbols]
        return [dumps({"method": "SUBSCRIBE", "params": params, "id": 1})]

    def parse_subscribe(self, frame: str | bytes) -> Subscription:
        """The symbols of a ``SUBSCRIBE`` request's ``<symbol>@trade`` streams (other streams
        are not served and are left out); ``request_id`` is the request's ``id``."""
        msg = loads(self.name, frame)
        if msg.get("method") != "SUBSCRIBE":
            raise malformed(self.name, "method", msg.get("method"), "must be 'SUBSCRIBE'")
        params = msg.get("params")
        if not isinstance(params, list) or not all(type(p) is str for p in params):
            raise malformed(self.name, "params", params, "must be a list of stream names")
        symbols = [_canonical(p.partition("@")[0]) for p in params if p.endswith("@trade")]
        return Subscription(tuple(dict.fromkeys(symbols)), request_id=msg.get("id"))

    def subscribed(self, subscription: Subscription) -> list[str]:
        return [dumps({"result": None, "id": subscription.request_id})]

    def encode_trades(
        self, ticks: Sequence[Tick], *, sequence: int = 0, combined: bool = False
    ) -> str:
        """One ``trade`` event; ``ticks`` must hold exactly one tick. Event and trade time are
        the tick's ``ts`` in epoch ms (sub-millisecond digits are dropped: Binance has ms
        resolution). ``combined`` wraps it as a combined stream sends it. ``sequence`` is
        unused (the stream carries none)."""
        if len(ticks) != 1:
            raise ValueError(
                f"binance sends one trade per frame; got {len(ticks)} ticks. "
                "Call encode_trades once per tick."
            )
        t = ticks[0]
        ms = epoch_ms(t.ts)
        venue = self.venue_name(t.symbol)
        event = {
            "e": "trade",
            "E": ms,
            "s": venue,
            "t": t.trade_id,
            "p": decimal_text(t.price),
            "q": decimal_text(t.size),
            "T": ms,
            "m": not t.trade_id & 1,
            "M": True,
        }
        if combined:
            return dumps({"stream": f"{venue.lower()}@trade", "data": event})
        return dumps(event)

    def heartbeat(self, *, last_trade_id: dict[str, int], sequence: int = 0) -> str | None:
        """None: Binance keeps connections alive with WebSocket ping frames only."""
        return None
