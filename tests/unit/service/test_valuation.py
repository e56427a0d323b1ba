"""value_positions: each position valued at the latest prices and at the last close (the
page's book view), checked against textbook values and compute_risk's market value."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from riskengine import (
    Equity,
    Future,
    FxSpot,
    MarketState,
    NoPositionsError,
    Portfolio,
    Position,
    compute_risk,
)
from riskengine.service.valuation import value_positions
from support import black_scholes, history_from_returns, option


@pytest.fixture
def history():
    rng = np.random.default_rng(4)
    r = rng.normal(0, 0.01, size=(300, 4))
    return history_from_returns(r, ["AAA", "BBB", "ESX", "EURUSD"], [100.0, 50.0, 4000.0, 1.1])


def _book(history) -> Portfolio:
    as_of = history.last_date
    return Portfolio(
        (
            Position("a", Equity("AAA"), 100),
            Position("b", Equity("BBB", currency="EUR"), -40),
            Position("f", Future("ESX"), 2, multiplier=50),
            Position("x", FxSpot("EURUSD"), 10_000),
            Position("o", option("AAA", 105, 90, "put", as_of=as_of), 3, multiplier=100),
        ),
        "mixed",
    )


def test_values_at_the_latest_prices_and_the_day_move(history):
    book = _book(history)
    close = history.market_state(len(history.dates) - 1).prices
    now = {"AAA": close["AAA"] * 1.02, "ESX": close["ESX"] - 10.0, "EURUSD": 1.2}
    market = MarketState(dt.datetime(2030, 1, 1, tzinfo=dt.UTC), now)
    out = value_positions(book, history, market, "USD")
    rows = {r["id"]: r for r in out["positions"]}
    assert [r["id"] for r in out["positions"]] == ["a", "b", "f", "x", "o"]
    assert out["as_of"] == history.last_date.isoformat()
    assert out["prices_as_of"] == "2030-01-01T00:00:00+00:00"
    # an equity: quantity x price; its move since the close
    a = rows["a"]
    assert a["market_value"] == pytest.approx(100 * now["AAA"])
    assert a["day_pnl"] == pytest.approx(100 * (now["AAA"] - close["AAA"]))
    assert a["change"] == pytest.approx(0.02)
    # in EUR: converted at EURUSD now and at the close
    b = rows["b"]
    assert b["market_value"] == pytest.approx(-40 * close["BBB"] * 1.2)
    assert b["close_value"] == pytest.approx(-40 * close["BBB"] * close["EURUSD"])
    # a future is worth nothing; its P&L is units x the price change
    f = rows["f"]
    assert f["market_value"] == 0.0 and f["close_value"] == 0.0
    assert f["day_pnl"] == pytest.approx(2 * 50 * -10.0)
    assert rows["x"]["market_value"] == pytest.approx(10_000 * 1.2)
    # an option by Black-Scholes at both prices (the premium per unit, the value per book)
    o = rows["o"]
    t = 90 / 365
    premium = float(black_scholes(now["AAA"], 105, t, 0.3, 0.02, 0.0, "put"))
    before = float(black_scholes(close["AAA"], 105, t, 0.3, 0.02, 0.0, "put"))
    assert o["instrument_type"] == "option" and o["factor"] == "AAA"
    assert o["price"] == pytest.approx(premium, rel=1e-9)
    assert o["market_value"] == pytest.approx(300 * premium, rel=1e-9)
    assert o["day_pnl"] == pytest.approx(300 * (premium - before), rel=1e-9)
    # totals: compute_risk revalues the book at the same prices
    report = compute_risk(book, history, method="parametric", market=market, window=250)
    assert out["market_value"] == pytest.approx(report.portfolio["market_value"], rel=1e-12)
    assert out["day_pnl"] == pytest.approx(sum(r["day_pnl"] for r in out["positions"]))


def test_without_ticks_the_book_is_at_the_close(history):
    out = value_positions(_book(history), history, None)
    assert out["prices_as_of"] is None
    assert all(r["day_pnl"] == 0.0 and r["change"] == 0.0 for r in out["positions"])
    assert out["market_value"] == out["close_value"]


def test_unknown_symbols_are_excluded_and_an_empty_book_is_refused(history):
    book = Portfolio((Position("a", Equity("AAA"), 1), Position("z", Equity("ZZZ"), 1)))
    out = value_positions(book, history)
    assert [r["id"] for r in out["positions"]] == ["a"]
    assert out["excluded_positions"][0]["id"] == "z"
    with pytest.raises(NoPositionsError, match="ZZZ"):
        value_positions(Portfolio((Position("z", Equity("ZZZ"), 1),)), history)
