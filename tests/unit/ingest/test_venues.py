"""Venue adapters: documented examples parse to exact ticks, encoders round-trip, bad frames
raise MalformedFrame naming the field, and subscriptions round-trip.

The example frames are transcribed from each venue's official documentation; the page title and
URL are cited beside each.
"""

from __future__ import annotations

import datetime as dt
import random

import orjson
import pytest

from riskengine.errors import InputError
from riskengine.ingest.symbols import canonical_symbol
from riskengine.ingest.venues import VENUES, Binance, get_venue, heartbeat_frames
from riskengine.ingest.venues.base import (
    EPOCH,
    MalformedFrame,
    Parsed,
    Subscription,
    decimal_text,
    epoch_ms,
    iso_z,
)
from riskengine.market.tick import Tick

UTC = dt.UTC
RECEIVED = dt.datetime(2024, 5, 6, 7, 8, 9, 123456, tzinfo=UTC)

coinbase = VENUES["coinbase"]
advanced = VENUES["coinbase-advanced"]
binance = VENUES["binance"]
kraken = VENUES["kraken"]
native = VENUES["riskengine"]


def one(parsed: Parsed) -> Tick:
    assert len(parsed.ticks) == 1
    return parsed.ticks[0]


# --- documented examples: Coinbase Exchange --------------------------------------------------

# "Exchange WebSocket Channels", section Match:
# https://docs.cdp.coinbase.com/exchange/docs/websocket-channels#match
CB_MATCH = """{
  "type": "match",
  "trade_id": 10,
  "sequence": 50,
  "maker_order_id": "ac928c66-ca53-498f-9c13-a110027a60e8",
  "taker_order_id": "132fb6ae-456b-4654-b4e0-d681ac05cea1",
  "time": "2014-11-07T08:19:27.028459Z",
  "product_id": "BTC-USD",
  "size": "5.23512",
  "price": "400.23",
  "side": "sell"
}"""


def test_coinbase_documented_match():
    parsed = coinbase.parse(CB_MATCH, RECEIVED)
    assert parsed.kind == "trade"
    assert one(parsed) == Tick(
        "coinbase",
        "BTC-USD",
        dt.datetime(2014, 11, 7, 8, 19, 27, 28459, tzinfo=UTC),
        400.23,
        5.23512,
        10,
        RECEIVED,
    )
    assert one(parsed).ts.tzinfo is UTC


def test_coinbase_documented_last_match_is_a_trade():
    # "Exchange WebSocket Channels", section Matches Channel: after subscribing, the first
    # message's type is last_match (same fields as match):
    # https://docs.cdp.coinbase.com/exchange/docs/websocket-channels#matches-channel
    frame = CB_MATCH.replace('"type": "match"', '"type": "last_match"')
    parsed = coinbase.parse(frame.encode(), RECEIVED)
    assert parsed.kind == "trade"
    assert one(parsed).trade_id == 10
    assert one(parsed).price == 400.23


def test_coinbase_documented_heartbeat():
    # "Exchange WebSocket Channels", section Heartbeat Channel:
    # https://docs.cdp.coinbase.com/exchange/docs/websocket-channels#heartbeat-channel
    frame = """{
      "type": "heartbeat",
      "sequence": 90,
      "last_trade_id": 20,
      "product_id": "BTC-USD",
      "time": "2014-11-07T08:19:28.464459Z"
    }"""
    parsed = coinbase.parse(frame, RECEIVED)
    assert parsed.kind == "heartbeat"
    assert parsed.last_trade_id == {"BTC-USD": 20}
    assert parsed.ticks == ()


def test_coinbase_documented_subscriptions_and_error():
    # "Exchange WebSocket Overview", section Subscriptions Message:
    # https://docs.cdp.coinbase.com/exchange/docs/websocket-overview#subscriptions-message
    subscriptions = """{
      "type": "subscriptions",
      "channels": [
        {"name": "level2", "product_ids": ["ETH-USD", "ETH-EUR"]},
        {"name": "heartbeat", "product_ids": ["ETH-USD", "ETH-EUR"]},
        {"name": "ticker", "product_ids": ["ETH-USD", "ETH-EUR", "ETH-BTC"]}
      ]
    }"""
    assert coinbase.parse(subscriptions, RECEIVED).kind == "subscribed"
    # "Exchange WebSocket Errors":
    # https://docs.cdp.coinbase.com/exchange/docs/websocket-errors
    error = coinbase.parse('{"type": "error", "message": "error message"}', RECEIVED)
    assert (error.kind, error.message) == ("error", "error message")


def test_coinbase_documented_ticker_is_other():
    # "Exchange WebSocket Channels", section Ticker Channel:
    # https://docs.cdp.coinbase.com/exchange/docs/websocket-channels#ticker-channel
    frame = """{
      "type": "ticker", "sequence": 37475248783, "product_id": "ETH-USD", "price": "1285.22",
      "open_24h": "1310.79", "volume_24h": "245532.79269678", "low_24h": "1280.52",
      "high_24h": "1313.8", "volume_30d": "9788783.60117027", "best_bid": "1285.04",
      "best_bid_size": "0.46688654", "best_ask": "1285.27", "best_ask_size": "1.56637040",
      "side": "buy", "time": "2022-10-19T23:28:22.061769Z", "trade_id": 370843401,
      "last_size": "11.4396987"
    }"""
    assert coinbase.parse(frame, RECEIVED).kind == "other"


def test_coinbase_documented_subscribe_request():
    # "Exchange WebSocket Overview", section Subscribe (product ids at the root and inside a
    # channel object): https://docs.cdp.coinbase.com/exchange/docs/websocket-overview#subscribe
    frame = """{
      "type": "subscribe",
      "product_ids": ["ETH-USD", "ETH-EUR"],
      "channels": [
        "level2",
        "heartbeat",
        {"name": "ticker", "product_ids": ["ETH-BTC", "ETH-USD"]}
      ]
    }"""
    assert coinbase.parse_subscribe(frame).symbols == ("ETH-USD", "ETH-EUR", "ETH-BTC")


# --- documented examples: Coinbase Advanced Trade --------------------------------------------

# "Advanced Trade WebSocket Channels", section Market Trades Channel:
# https://docs.cdp.coinbase.com/coinbase-app/advanced-trade-apis/websocket/websocket-channels
ADV_MARKET_TRADES = """{
  "channel": "market_trades",
  "client_id": "",
  "timestamp": "2023-02-09T20:19:35.39625135Z",
  "sequence_num": 0,
  "events": [
    {
      "type": "snapshot",
      "trades": [
        {
          "trade_id": "000000000",
          "product_id": "ETH-USD",
          "price": "1260.01",
          "size": "0.3",
          "side": "BUY",
          "time": "2019-08-14T20:42:27.265Z"
        }
      ]
    }
  ]
}"""


def test_coinbase_advanced_documented_market_trades():
    parsed = advanced.parse(ADV_MARKET_TRADES, RECEIVED)
    assert parsed.kind == "snapshot"
    assert one(parsed) == Tick(
        "coinbase-advanced",
        "ETH-USD",
        dt.datetime(2019, 8, 14, 20, 42, 27, 265000, tzinfo=UTC),
        1260.01,
        0.3,
        0,
        RECEIVED,
    )
    update = ADV_MARKET_TRADES.replace('"type": "snapshot"', '"type": "update"')
    assert advanced.parse(update, RECEIVED).kind == "trade"


def test_coinbase_advanced_documented_heartbeats_and_subscribe():
    # "Advanced Trade WebSocket Channels", section Heartbeats Channel:
    # https://docs.cdp.coinbase.com/coinbase-app/advanced-trade-apis/websocket/websocket-channels
    heartbeat = """{
      "channel": "heartbeats",
      "client_id": "",
      "timestamp": "2023-06-23T20:31:26.122969572Z",
      "sequence_num": 0,
      "events": [
        {
          "current_time": "2023-06-23 20:31:56.121961769 +0000 UTC m=+91717.525857105",
          "heartbeat_counter": "3049"
        }
      ]
    }"""
    parsed = advanced.parse(heartbeat, RECEIVED)
    assert parsed.kind == "heartbeat"
    assert "3049" in parsed.message
    # Same page, Market Trades Channel request:
    request = """{
      "type": "subscribe",
      "product_ids": ["ETH-USD", "BTC-USD"],
      "channel": "market_trades",
      "jwt": "XYZ"
    }"""
    assert advanced.parse_subscribe(request).symbols == ("ETH-USD", "BTC-USD")
    # Same page, Heartbeats Channel request:
    request = '{"type": "subscribe", "channel": "heartbeats", "jwt": "XYZ"}'
    assert advanced.parse_subscribe(request).symbols == ()


# --- documented examples: Binance ------------------------------------------------------------

# "Web Socket Streams for Binance", section Trade Streams (binance/binance-spot-api-docs,
# web-socket-streams.md): https://github.com/binance/binance-spot-api-docs/blob/master/web-socket-streams.md#trade-streams
# (also https://developers.binance.com/docs/binance-spot-api-docs/web-socket-streams)
BN_TRADE = """{
  "e": "trade",
  "E": 1672515782136,
  "s": "BNBBTC",
  "t": 12345,
  "p": "0.001",
  "q": "100",
  "b": 88,
  "a": 50,
  "T": 1672515782136,
  "m": true,
  "M": true
}"""
BN_TICK = Tick(
    "binance",
    "BNB-BTC",
    dt.datetime(2022, 12, 31, 19, 43, 2, 136000, tzinfo=UTC),
    0.001,
    100.0,
    12345,
    RECEIVED,
)


def test_binance_documented_trade_raw_and_combined():
    assert one(binance.parse(BN_TRADE, RECEIVED)) == BN_TICK
    # Same page, General WSS information: combined stream events are wrapped as
    # {"stream":"<streamName>","data":<rawPayload>}
    combined = '{"stream":"bnbbtc@trade","data":' + BN_TRADE + "}"
    parsed = binance.parse(combined, RECEIVED)
    assert parsed.kind == "trade"
    assert one(parsed) == BN_TICK


def test_binance_documented_other_events_and_requests():
    # Same page, Aggregate Trade Streams: not a trade stream we consume -> other
    agg = """{
      "e": "aggTrade", "E": 1672515782136, "s": "BNBBTC", "a": 12345, "p": "0.001",
      "q": "100", "f": 100, "l": 105, "T": 1672515782136, "m": true, "M": true
    }"""
    assert binance.parse(agg, RECEIVED).kind == "other"
    # Same page, Live Subscribing/Unsubscribing: Subscribe to a stream (request, response)
    request = '{"method": "SUBSCRIBE", "params": ["btcusdt@aggTrade", "btcusdt@depth"], "id": 1}'
    sub = binance.parse_subscribe(request)
    assert (sub.symbols, sub.request_id) == ((), 1)  # no @trade stream asked for
    assert binance.parse('{"result": null, "id": 1}', RECEIVED).kind == "subscribed"
    # Same page, Error Messages: {"code": 0, "msg": "Unknown property","id": %s}
    error = binance.parse('{"code": 0, "msg": "Unknown property","id": 1}', RECEIVED)
    assert error.kind == "error"
    assert "Unknown property" in error.message
    # "Connection events", Server Shutdown:
    # https://developers.binance.com/docs/binance-spot-api-docs/websocket-api/connection-events
    shutdown = '{"event": {"e": "serverShutdown", "E": 1770123456789}}'
    assert binance.parse(shutdown, RECEIVED).kind == "reconnect"


def test_binance_heartbeat_is_websocket_ping_only():
    assert binance.heartbeat(last_trade_id={"BTC-USD": 1}) is None


# --- documented examples: Kraken v2 ----------------------------------------------------------

# "Trades" (WebSocket v2 trade channel), Example: Snapshot and Example: Update:
# https://docs.kraken.com/api/docs/websocket-v2/trade
KR_SNAPSHOT = """{
    "channel": "trade",
    "type": "snapshot",
    "data": [
        {
            "symbol": "MATIC/USD",
            "side": "buy",
            "price": 0.5147,
            "qty": 6423.46326,
            "ord_type": "limit",
            "trade_id": 4665846,
            "timestamp": "2023-09-25T07:48:36.925533Z"
        },
        {
            "symbol": "MATIC/USD",
            "side": "buy",
            "price": 0.5147,
            "qty": 1136.19677815,
            "ord_type": "limit",
            "trade_id": 4665847,
            "timestamp": "2023-09-25T07:49:36.925603Z"
        }
    ]
}"""
KR_UPDATE = """{
    "channel": "trade",
    "type": "update",
    "data": [
        {
            "symbol": "MATIC/USD",
            "side": "sell",
            "price": 0.5117,
            "qty": 40.0,
            "ord_type": "market",
            "trade_id": 4665906,
            "timestamp": "2023-09-25T07:49:37.708706Z"
        }
    ]
}"""


def test_kraken_documented_snapshot_and_update():
    snap = kraken.parse(KR_SNAPSHOT, RECEIVED)
    assert snap.kind == "snapshot"
    assert list(snap.ticks) == [
        Tick(
            "kraken",
            "MATIC-USD",
            dt.datetime(2023, 9, 25, 7, 48, 36, 925533, tzinfo=UTC),
            0.5147,
            6423.46326,
            4665846,
            RECEIVED,
        ),
        Tick(
            "kraken",
            "MATIC-USD",
            dt.datetime(2023, 9, 25, 7, 49, 36, 925603, tzinfo=UTC),
            0.5147,
            1136.19677815,
            4665847,
            RECEIVED,
        ),
    ]
    update = kraken.parse(KR_UPDATE, RECEIVED)
    assert update.kind == "trade"
    assert one(update) == Tick(
        "kraken",
        "MATIC-USD",
        dt.datetime(2023, 9, 25, 7, 49, 37, 708706, tzinfo=UTC),
        0.5117,
        40.0,
        4665906,
        RECEIVED,
    )


def test_kraken_documented_subscribe_and_ack():
    # Same page, Example: Subscribe and Example: Subscribe Ack
    request = """{
        "method": "subscribe",
        "params": {"channel": "trade", "symbol": ["MATIC/USD"], "snapshot": true}
    }"""
    assert kraken.parse_subscribe(request).symbols == ("MATIC-USD",)
    ack = """{
        "method": "subscribe",
        "result": {"channel": "trade", "snapshot": true, "symbol": "MATIC/USD"},
        "success": true,
        "time_in": "2023-09-25T09:21:10.428340Z",
        "time_out": "2023-09-25T09:21:10.428375Z"
    }"""
    assert kraken.parse(ack, RECEIVED).kind == "subscribed"


def test_kraken_documented_heartbeat_ping_and_status():
    # "Heartbeat": https://docs.kraken.com/api/docs/websocket-v2/heartbeat
    assert kraken.parse('{"channel": "heartbeat"}', RECEIVED).kind == "heartbeat"
    # "Ping", request and response: https://docs.kraken.com/api/docs/websocket-v2/ping
    assert orjson.loads(kraken.ping(101)) == {"method": "ping", "req_id": 101}
    pong = """{
        "method": "pong",
        "req_id": 101,
        "time_in": "2023-09-24T14:10:23.799685Z",
        "time_out": "2023-09-24T14:10:23.799703Z"
    }"""
    assert kraken.parse(pong, RECEIVED).kind == "other"
    # "Status" (fields per the documented schema; connection_id exceeds 2**63):
    # https://docs.kraken.com/api/docs/websocket-v2/status
    status = """{
        "channel": "status",
        "data": [{"api_version": "v2", "connection_id": 12393906104898154338,
                  "system": "online", "version": "2.0.0"}],
        "type": "update"
    }"""
    assert kraken.parse(status, RECEIVED).kind == "other"


def test_kraken_error_ack_is_error():
    # An unsuccessful request: "success": false with "error" (Trades page, Subscribe Ack
    # schema: error is present if success is false).
    frame = """{"error": "Currency pair not supported ABC/USD", "method": "subscribe",
               "success": false, "time_in": "2023-09-25T09:21:10.428340Z",
               "time_out": "2023-09-25T09:21:10.428375Z", "req_id": 7}"""
    parsed = kraken.parse(frame, RECEIVED)
    assert parsed.kind == "error"
    assert "Currency pair not supported" in parsed.message


# --- our own protocol ---------------------------------------------------------------------


def test_native_trades_heartbeat_and_controls():
    frame = """{"type": "trades", "data": [
        {"s": "AAPL", "id": 123, "t": "2024-01-02T15:04:05.123456Z", "p": 185.2, "q": 10},
        {"s": "BTC-USD", "id": 7, "t": "2024-01-02T15:04:05.5Z", "p": 42000.5, "q": 0.25}]}"""
    parsed = native.parse(frame, RECEIVED)
    assert parsed.kind == "trade"
    assert list(parsed.ticks) == [
        Tick(
            "riskengine",
            "AAPL",
            dt.datetime(2024, 1, 2, 15, 4, 5, 123456, tzinfo=UTC),
            185.2,
            10.0,
            123,
            RECEIVED,
        ),
        Tick(
            "riskengine",
            "BTC-USD",
            dt.datetime(2024, 1, 2, 15, 4, 5, 500000, tzinfo=UTC),
            42000.5,
            0.25,
            7,
            RECEIVED,
        ),
    ]
    heartbeat = native.parse('{"type": "heartbeat", "last": {"AAPL": 123, "btc-usd": 7}}', RECEIVED)
    assert heartbeat.kind == "heartbeat"
    assert heartbeat.last_trade_id == {"AAPL": 123, "BTC-USD": 7}
    assert (
        native.parse('{"type": "subscribed", "symbols": ["AAPL"]}', RECEIVED).kind == "subscribed"
    )
    error = native.parse(native.error("unknown symbol ZZZ"), RECEIVED)
    assert (error.kind, error.message) == ("error", "unknown symbol ZZZ")
    assert native.parse(native.reconnect("restarting"), RECEIVED).kind == "reconnect"
    assert native.parse('{"type": "news"}', RECEIVED).kind == "other"


def test_native_resume():
    frames = native.subscribe(["AAPL", "BTC-USD"], resume_from={"AAPL": 123})
    assert orjson.loads(frames[0]) == {
        "type": "subscribe",
        "symbols": ["AAPL", "BTC-USD"],
        "resume": {"AAPL": 123},
    }
    sub = native.parse_subscribe(frames[0])
    assert sub == Subscription(("AAPL", "BTC-USD"), resume_from={"AAPL": 123})
    assert native.resumable is True
    # Venues that cannot replay ignore resume_from.
    for name in ("coinbase", "coinbase-advanced", "binance", "kraken"):
        adapter = VENUES[name]
        assert adapter.resumable is False
        assert adapter.subscribe(["BTC-USD"], resume_from={"BTC-USD": 5}) == adapter.subscribe(
            ["BTC-USD"]
        )
        assert adapter.parse_subscribe(adapter.subscribe(["BTC-USD"])[0]).resume_from == {}


# --- symbols ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "concatenated", "expected"),
    [
        ("BTC-USD", False, "BTC-USD"),
        ("btcusdt", True, "BTC-USD"),
        ("BTC/USD", False, "BTC-USD"),
        ("XBT/USD", False, "BTC-USD"),
        ("AAPL", False, "AAPL"),
        ("AAPL", True, "AAPL"),
        ("BNBBTC", True, "BNB-BTC"),
    ],
)
def test_canonical_symbol_mapping(raw, concatenated, expected):
    assert canonical_symbol(raw, concatenated=concatenated) == expected


def test_symbols_map_through_the_adapters():
    def first(frame):
        return one(frame).symbol

    at = "2024-01-02T15:04:05.000001Z"
    assert (
        first(
            kraken.parse(
                '{"channel":"trade","type":"update","data":[{"symbol":"XBT/USD","price":1.5,'
                f'"qty":1,"trade_id":1,"timestamp":"{at}"}}]}}',
                RECEIVED,
            )
        )
        == "BTC-USD"
    )
    bn = '{"e":"trade","s":"BTCUSDT","t":1,"p":"1.5","q":"1","T":1704207845000}'
    assert first(binance.parse(bn, RECEIVED)) == "BTC-USD"
    assert orjson.loads(binance.subscribe(["BTC-USD", "ETH-BTC", "BTCUSDT"])[0])["params"] == [
        "btcusdt@trade",
        "ethbtc@trade",
        "btcusdt@trade",
    ]
    assert Binance(usd_quote="USD").venue_name("BTC-USD") == "BTCUSD"
    assert orjson.loads(kraken.subscribe(["BTC-USD"])[0])["params"]["symbol"] == ["BTC/USD"]


# --- time conversions ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "ms",
    [0, 1, 999, 1672515782136, 1704207845999, 4102444799999, 253402300799999, -1, -86400001],
)
def test_milliseconds_convert_exactly(ms):
    frame = orjson.dumps(
        {"e": "trade", "s": "BTCUSDT", "t": 1, "p": "1", "q": "1", "T": ms}
    ).decode()
    ts = one(binance.parse(frame, RECEIVED)).ts
    seconds, millis = divmod(ms, 1000)
    days, seconds = divmod(seconds, 86400)
    expected = dt.datetime(1970, 1, 1, tzinfo=UTC) + dt.timedelta(
        days=days, seconds=seconds, microseconds=millis * 1000
    )
    assert ts == expected
    assert ts.microsecond % 1000 == 0
    assert epoch_ms(ts) == ms


def test_timestamps_are_utc_aware():
    base = '{"s":"AAPL","id":1,"p":1.0,"q":1.0,"t":"%s"}'
    cases = {
        "2024-01-02T15:04:05.123456Z": dt.datetime(2024, 1, 2, 15, 4, 5, 123456, tzinfo=UTC),
        "2024-01-02T15:04:05.123456+00:00": dt.datetime(2024, 1, 2, 15, 4, 5, 123456, tzinfo=UTC),
        "2024-01-02T17:04:05.123456+02:00": dt.datetime(2024, 1, 2, 15, 4, 5, 123456, tzinfo=UTC),
        "2024-01-02T15:04:05.123456": dt.datetime(2024, 1, 2, 15, 4, 5, 123456, tzinfo=UTC),
        # nanoseconds (Advanced Trade's message timestamps) are truncated to microseconds
        "2024-01-02T15:04:05.123456789Z": dt.datetime(2024, 1, 2, 15, 4, 5, 123456, tzinfo=UTC),
    }
    for text, expected in cases.items():
        frame = '{"type":"trades","data":[' + base % text + "]}"
        ts = one(native.parse(frame, RECEIVED)).ts
        assert ts == expected
        assert ts.tzinfo is UTC, text


def test_iso_z_and_decimal_text():
    assert iso_z(dt.datetime(2024, 1, 2, 15, 4, 5, tzinfo=UTC)) == "2024-01-02T15:04:05.000000Z"
    assert iso_z(dt.datetime(2024, 1, 2, 15, 4, 5, 7)) == "2024-01-02T15:04:05.000007Z"
    assert decimal_text(123.45) == "123.45"
    assert decimal_text(1e-07) == "0.0000001"
    assert decimal_text(1e16) == "10000000000000000"
    for x in (0.1 + 0.2, 1e-8, 3.3e-9, 12345678.9, 1.5e20, 40.0):
        assert float(decimal_text(x)) == x
        assert "e" not in decimal_text(x)


# --- round trips ---------------------------------------------------------------------------

SYMBOLS = ("BTC-USD", "ETH-USD", "ETH-BTC", "SOL-EUR", "BNB-BTC")


def generated_ticks(venue: str, n: int, *, ms_only: bool = False, seed: int = 7) -> list[Tick]:
    rng = random.Random(seed)
    start = dt.datetime(2024, 3, 1, tzinfo=UTC)
    ticks = []
    for i in range(n):
        micros = rng.randrange(0, 86_400_000_000)
        if ms_only:
            micros -= micros % 1000
        price = rng.choice([round(rng.uniform(0.01, 100_000), 2), 123.45, 0.00001234, 65000.1])
        size = rng.choice([round(rng.uniform(0, 50), 3), 0.001, 1e-8, 0.0, 10.0])
        ticks.append(
            Tick(
                venue,
                SYMBOLS[i % len(SYMBOLS)],
                start + dt.timedelta(microseconds=micros),
                price,
                size,
                1_000_000 + i,
                RECEIVED,
            )
        )
    return ticks


@pytest.mark.parametrize("name", ["coinbase", "binance"])
def test_round_trip_one_trade_per_frame(name):
    adapter = VENUES[name]
    ticks = generated_ticks(name, 300, ms_only=name == "binance")
    for seq, tick in enumerate(ticks):
        frame = adapter.encode_trades([tick], sequence=seq)
        parsed = adapter.parse(frame, RECEIVED)
        assert parsed.kind == "trade"
        assert parsed.ticks == (tick,)
    with pytest.raises(ValueError, match="one trade per frame"):
        adapter.encode_trades(ticks[:2])
    with pytest.raises(ValueError, match="one trade per frame"):
        adapter.encode_trades([])


def test_round_trip_binance_combined_and_ms_truncation():
    tick = generated_ticks("binance", 1, ms_only=True)[0]
    frame = binance.encode_trades([tick], combined=True)
    assert orjson.loads(frame)["stream"].endswith("@trade")
    assert binance.parse(frame, RECEIVED).ticks == (tick,)
    # Binance has millisecond resolution: finer digits are dropped, not rounded.
    fine = Tick(
        "binance", "BTC-USD", dt.datetime(2024, 1, 1, 0, 0, 0, 999999, tzinfo=UTC), 1.0, 1.0, 1
    )
    back = one(binance.parse(binance.encode_trades([fine]), RECEIVED))
    assert back.ts == dt.datetime(2024, 1, 1, 0, 0, 0, 999000, tzinfo=UTC)


@pytest.mark.parametrize("name", ["coinbase-advanced", "kraken", "riskengine"])
def test_round_trip_batched(name):
    adapter = VENUES[name]
    ticks = generated_ticks(name, 400)
    for i in range(0, len(ticks), 37):
        batch = ticks[i : i + 37]
        parsed = adapter.parse(adapter.encode_trades(batch, sequence=i), RECEIVED)
        assert parsed.kind == "trade"
        assert list(parsed.ticks) == batch
    assert adapter.parse(adapter.encode_trades([]), RECEIVED).ticks == []


@pytest.mark.parametrize("name", ["coinbase-advanced", "kraken"])
def test_round_trip_snapshot(name):
    adapter = VENUES[name]
    ticks = generated_ticks(name, 5)
    parsed = adapter.parse(adapter.encode_trades(ticks, snapshot=True), RECEIVED)
    assert parsed.kind == "snapshot"
    assert list(parsed.ticks) == ticks


def test_encoded_frames_use_the_venue_formats():
    tick = Tick(
        "x", "BTC-USD", dt.datetime(2024, 1, 2, 15, 4, 5, 123456, tzinfo=UTC), 123.45, 1e-7, 42
    )
    match = orjson.loads(coinbase.encode_trades([tick], sequence=9))
    assert match["type"] == "match"
    assert (match["price"], match["size"], match["sequence"]) == ("123.45", "0.0000001", 9)
    assert match["time"] == "2024-01-02T15:04:05.123456Z"
    trade = orjson.loads(advanced.encode_trades([tick]))["events"][0]["trades"][0]
    assert (trade["trade_id"], trade["side"]) == ("42", "SELL")
    event = orjson.loads(binance.encode_trades([tick]))
    assert (event["s"], event["p"], event["T"]) == ("BTCUSDT", "123.45", 1704207845123)
    data = orjson.loads(kraken.encode_trades([tick]))["data"][0]
    assert (data["symbol"], data["price"], data["qty"]) == ("BTC/USD", 123.45, 1e-7)


# --- heartbeats ----------------------------------------------------------------------------


def test_heartbeats_round_trip():
    parsed = coinbase.parse(coinbase.heartbeat(last_trade_id={"ETH-USD": 77}, sequence=3), RECEIVED)
    assert (parsed.kind, parsed.last_trade_id) == ("heartbeat", {"ETH-USD": 77})
    with pytest.raises(ValueError, match="once per symbol"):
        coinbase.heartbeat(last_trade_id={"ETH-USD": 1, "BTC-USD": 2})
    parsed = native.parse(native.heartbeat(last_trade_id={"AAPL": 5, "BTC-USD": 9}), RECEIVED)
    assert (parsed.kind, parsed.last_trade_id) == ("heartbeat", {"AAPL": 5, "BTC-USD": 9})
    assert advanced.parse(advanced.heartbeat(last_trade_id={}, sequence=4), RECEIVED).kind == (
        "heartbeat"
    )
    assert kraken.parse(kraken.heartbeat(last_trade_id={}), RECEIVED).kind == "heartbeat"


def test_heartbeat_frames_per_venue():
    last = {"BTC-USD": 5, "ETH-USD": 9}
    frames = heartbeat_frames(coinbase, last_trade_id=last, sequence=2)
    merged = {}
    for frame in frames:
        merged.update(coinbase.parse(frame, RECEIVED).last_trade_id)
    assert merged == last
    assert heartbeat_frames(binance, last_trade_id=last) == []
    for adapter in (advanced, kraken, native):
        (frame,) = heartbeat_frames(adapter, last_trade_id=last)
        assert adapter.parse(frame, RECEIVED).kind == "heartbeat"


# --- subscriptions ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(VENUES))
def test_subscribe_round_trip(name):
    adapter = VENUES[name]
    symbols = ["BTC-USD", "ETH-BTC"]
    frames = adapter.subscribe(symbols)
    sub = adapter.parse_subscribe(frames[0])
    assert sub.symbols == tuple(symbols)
    acks = adapter.subscribed(sub)
    assert acks
    assert all(adapter.parse(ack, RECEIVED).kind == "subscribed" for ack in acks)
    for frame in frames[1:]:  # Advanced Trade's heartbeats subscription
        extra = adapter.parse_subscribe(frame)
        assert all(
            adapter.parse(a, RECEIVED).kind == "subscribed" for a in adapter.subscribed(extra)
        )


def test_subscription_acks_echo_the_request():
    sub = binance.parse_subscribe('{"method":"SUBSCRIBE","params":["btcusdt@trade"],"id":42}')
    assert orjson.loads(binance.subscribed(sub)[0]) == {"result": None, "id": 42}
    sub = kraken.parse_subscribe(
        '{"method":"subscribe","params":{"channel":"trade","symbol":["BTC/USD","ETH/USD"]},'
        '"req_id":5}'
    )
    acks = [orjson.loads(a) for a in kraken.subscribed(sub)]
    assert [(a["result"]["symbol"], a["req_id"]) for a in acks] == [("BTC/USD", 5), ("ETH/USD", 5)]


# --- malformed frames ----------------------------------------------------------------------

CB = dict(orjson.loads(CB_MATCH))
BN = {"e": "trade", "E": 1, "s": "BTCUSDT", "t": 1, "p": "1.5", "q": "2", "T": 1704207845123}
KR = orjson.loads(KR_UPDATE)
NT = {"s": "AAPL", "id": 1, "t": "2024-01-02T15:04:05Z", "p": 1.0, "q": 1.0}
ADV = orjson.loads(ADV_MARKET_TRADES)


def _with(record: dict, **changes: object) -> dict:
    out = dict(record)
    for key, value in changes.items():
        if value is ...:
            del out[key]
        else:
            out[key] = value
    return out


def _kraken(**changes: object) -> str:
    return orjson.dumps({**KR, "data": [_with(KR["data"][0], **changes)]}).decode()


def _native(**changes: object) -> str:
    return orjson.dumps({"type": "trades", "data": [_with(NT, **changes)]}).decode()


def _advanced(**changes: object) -> str:
    trade = _with(ADV["events"][0]["trades"][0], **changes)
    return orjson.dumps({**ADV, "events": [{"type": "update", "trades": [trade]}]}).decode()


def _dump(record: dict) -> str:
    return orjson.dumps(record).decode()


BAD_FRAMES = [
    # (adapter, frame, text the message must contain)
    ("coinbase", '{"type": "match", "price": ', "not JSON"),
    ("coinbase", "[1, 2, 3]", "JSON object"),
    ("coinbase", _dump(_with(CB, price=...)), "'price' is missing"),
    ("coinbase", _dump(_with(CB, price="abc")), "'price' must be a number; got 'abc'"),
    ("coinbase", _dump(_with(CB, price="0")), "'price' must be a finite number > 0; got '0'"),
    ("coinbase", _dump(_with(CB, price="nan")), "'price' must be a finite number > 0"),
    ("coinbase", _dump(_with(CB, size="-1")), "'size' must be a finite number >= 0; got '-1'"),
    ("coinbase", _dump(_with(CB, trade_id="10")), "'trade_id' must be an integer; got '10'"),
    ("coinbase", _dump(_with(CB, time="yesterday")), "'time' is not an ISO-8601 timestamp"),
    ("coinbase", _dump(_with(CB, product_id="")), "'product_id' must be a non-empty string"),
    (
        "coinbase",
        '{"type":"heartbeat","product_id":"BTC-USD","last_trade_id":"20"}',
        "'last_trade_id' must be an integer trade id; got '20'",
    ),
    ("coinbase-advanced", _advanced(trade_id="abc"), "'trade_id' must be a string of decimal"),
    ("coinbase-advanced", _advanced(trade_id="-5"), "'trade_id'"),
    ("coinbase-advanced", _advanced(time=1565815347), "'time' must be an ISO-8601"),
    ("coinbase-advanced", '{"channel":"market_trades","events":[{"type":"update"}]}', "'trades'"),
    ("binance", _dump(_with(BN, T="2024-01-01")), "'T' must be integer epoch milliseconds"),
    (
        "binance",
        _dump(BN).replace("1704207845123", "100000000000000000000"),
        "'T' must be integer epoch milliseconds",
    ),
    ("binance", _dump(_with(BN, T=10**17)), "'T' is out of the datetime range"),
    ("binance", _dump(_with(BN, t=1.5)), "'t' must be an integer; got 1.5"),
    ("binance", _dump(_with(BN, p="NaN")), "'p' must be a finite number > 0; got 'NaN'"),
    ("binance", _dump(_with(BN, q=...)), "'q' is missing"),
    ("binance", '{"stream":"btcusdt@trade","data":[1]}', "'data' must be a JSON object"),
    ("kraken", _kraken(qty=-0.5), "'qty' must be a finite number >= 0; got -0.5"),
    ("kraken", _kraken(price=None), "'price' must be a number; got None"),
    ("kraken", _kraken(trade_id=True), "'trade_id' must be an integer; got True"),
    ("kraken", '{"channel":"trade","type":"update","data":{"symbol":"BTC/USD"}}', "'data'"),
    ("kraken", '{"channel":"trade","type":"update","data":["BTC/USD"]}', "'trade' must be a JSON"),
    ("riskengine", _native(id=...), "'id' is missing"),
    ("riskengine", _native(t=1704207845), "'t' must be an ISO-8601 timestamp"),
    ("riskengine", _native(s=["AAPL"]), "'s' must be a non-empty string"),
    ("riskengine", '{"type":"heartbeat","last":{"AAPL":"x"}}', "'last.AAPL' must be an integer"),
    ("riskengine", '{"type":"heartbeat","last":[1]}', "'last' must be an object"),
]


@pytest.mark.parametrize(("name", "frame", "expected"), BAD_FRAMES)
def test_malformed_frames_name_the_field(name, frame, expected):
    with pytest.raises(MalformedFrame) as info:
        VENUES[name].parse(frame, RECEIVED)
    message = str(info.value)
    assert expected in message
    assert message.startswith(f"{name}: ")
    assert "docs/feeds.md" in message or "not JSON" in message


@pytest.mark.parametrize(
    ("name", "frame", "expected"),
    [
        ("coinbase", '{"type":"unsubscribe","product_ids":["BTC-USD"]}', "'type' must be"),
        ("coinbase", '{"type":"subscribe","channels":["matches"]}', "'product_ids' is missing"),
        ("binance", '{"method":"SUBSCRIBE","params":"btcusdt@trade","id":1}', "'params'"),
        (
            "kraken",
            '{"method":"subscribe","params":{"channel":"book","symbol":["BTC/USD"]}}',
            "'params.channel'",
        ),
        (
            "riskengine",
            '{"type":"subscribe","symbols":["AAPL"],"resume":{"AAPL":1.5}}',
            "'resume.AAPL'",
        ),
        ("coinbase-advanced", '{"type":"subscribe","channel":"level2"}', "'channel'"),
        ("riskengine", "not json", "not JSON"),
    ],
)
def test_malformed_subscribe_frames(name, frame, expected):
    with pytest.raises(MalformedFrame, match=expected):
        VENUES[name].parse_subscribe(frame)


def _mutations(record: object, rng: random.Random):
    """Copies of ``record`` with one value replaced or one key dropped, anywhere inside it."""
    junk = [None, True, -1, 0, 1.5, 2**63, "", "x", "-3", [], {}, [1], {"a": 1}, "1e999"]
    if isinstance(record, dict):
        for key in list(record):
            yield {k: v for k, v in record.items() if k != key}
            yield {**record, key: rng.choice(junk)}
            for inner in _mutations(record[key], rng):
                yield {**record, key: inner}
    elif isinstance(record, list):
        for i, item in enumerate(record):
            yield record[:i] + [rng.choice(junk)] + record[i + 1 :]
            for inner in _mutations(item, rng):
                yield record[:i] + [inner] + record[i + 1 :]


@pytest.mark.parametrize(
    ("name", "frame"),
    [
        ("coinbase", CB_MATCH),
        ("coinbase-advanced", ADV_MARKET_TRADES),
        ("binance", '{"stream":"bnbbtc@trade","data":' + BN_TRADE + "}"),
        ("kraken", KR_SNAPSHOT),
        ("riskengine", _native()),
        ("riskengine", '{"type":"heartbeat","last":{"AAPL":1}}'),
        ("coinbase", '{"type":"heartbeat","product_id":"BTC-USD","last_trade_id":1}'),
    ],
)
def test_parse_raises_only_malformed_frame(name, frame):
    adapter = VENUES[name]
    rng = random.Random(3)
    count = 0
    for mutated in _mutations(orjson.loads(frame), rng):
        count += 1
        try:
            parsed = adapter.parse(orjson.dumps(mutated), RECEIVED)
        except MalformedFrame:
            continue
        assert isinstance(parsed, Parsed)
        for tick in parsed.ticks:
            assert tick.price > 0 and tick.size >= 0 and type(tick.trade_id) is int
            assert tick.ts.tzinfo is UTC and tick.received_at is RECEIVED
    assert count >= 5


# --- registry --------------------------------------------------------------------------------


def test_registry():
    assert set(VENUES) == {"coinbase", "coinbase-advanced", "binance", "kraken", "riskengine"}
    for name, adapter in VENUES.items():
        assert adapter.name == name
        assert get_venue(name) is adapter
        assert isinstance(adapter.batches, bool) and isinstance(adapter.resumable, bool)
    assert get_venue(" Kraken ") is kraken
    with pytest.raises(InputError, match="unknown venue 'ftx'.*binance, coinbase"):
        get_venue("ftx")
    assert dt.datetime(1970, 1, 1, tzinfo=UTC) == EPOCH
