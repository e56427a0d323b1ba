"""Sensitivities and exposures (riskengine.pricing.exposures, ``riskengine exposures``).

Oracles: a stock's dollar delta is units x S; an option's dollar delta, dollar gamma and vega are
finite differences of an independent Black-Scholes (tests/support.py) bumped by +-0.01% of spot
and +-0.01 vol points. Invariants: gross >= |net|; rows add up to the totals, for the factors
and for every tag key.
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys

import numpy as np
import pytest

import riskengine
from riskengine import (
    Equity,
    EuropeanOption,
    Future,
    FxSpot,
    NoPositionsError,
    Portfolio,
    Position,
    compute_exposures,
    compute_risk,
)
from riskengine.pricing.compiled import compile_book
from riskengine.pricing.exposures import book_exposures, tags_of
from support import ROOT, black_scholes, history_from_returns

SYMBOLS = ("SAP", "EURUSD", "AAA", "FUT")
START = (120.0, 1.10, 50.0, 4000.0)
METRICS = ("dollar_delta", "dollar_gamma", "vega", "gross_exposure", "net_exposure")


@pytest.fixture(scope="module")
def hist():
    rng = np.random.default_rng(3)
    r = rng.normal(0, [0.015, 0.006, 0.02, 0.01], (60, 4))
    return history_from_returns(r, symbols=SYMBOLS, start_prices=START)


def _call(h, underlying="AAA", strike=52.0, days=90, currency="USD", vol=0.35):
    return EuropeanOption(
        underlying,
        strike,
        h.last_date + dt.timedelta(days=days),
        "call",
        vol,
        rate=0.03,
        dividend_yield=0.01,
        currency=currency,
    )


def _put(h):
    return EuropeanOption(
        "AAA", 47.0, h.last_date + dt.timedelta(days=30), "put", 0.4, rate=0.03, dividend_yield=0.01
    )


def _book(h):
    return Portfolio(
        (
            Position("aaa", Equity("AAA"), 300.0, tags=(("desk", "a"), ("sector", "tech"))),
            Position("c", _call(h), 10.0, 100.0, tags=(("desk", "a"),)),
            Position("p", _put(h), -25.0, 100.0, tags=(("desk", "b"), ("sector", "tech"))),
            Position("sap", Equity("SAP", "EUR"), 500.0, tags=(("desk", "b"),)),
            Position("c_eur", _call(h, "SAP", 125.0, 120, "EUR", 0.3), 4.0, 100.0),
            Position("hedge", FxSpot("EURUSD"), -40_000.0, tags=(("desk", "a"),)),
            Position("fut", Future("FUT"), -2.0, 50.0, tags=(("sector", "index"),)),
        )
    )


def _report(h, book=None, **kw):
    return compute_exposures(book or _book(h), h, **kw)


def _bs(h, opt, spot=None, vol=None):
    s = _last(h, opt.underlying) if spot is None else spot
    t = (opt.expiry - h.last_date).days / 365
    kind = opt.option_type
    return float(
        black_scholes(s, opt.strike, t, vol or opt.implied_vol, opt.rate, opt.dividend_yield, kind)
    )


def _last(h, sym):
    return float(h.prices[-1, h.column[sym]])


def _fd(h, opt, units, fx=1.0):
    """dollar delta, dollar gamma (per 1%) and vega (per vol point) by finite differences."""
    s, eps, dv = _last(h, opt.underlying), 1e-4, 1e-4
    up, mid, down = (_bs(h, opt, s * (1 + e)) for e in (eps, 0.0, -eps))
    delta = units * fx * (up - down) / (2 * eps)  # dV/dr = S dV/dS
    gamma = units * fx * (up - 2 * mid + down) / eps**2 / 100  # S^2 d2V/dS2 / 100
    vol = opt.implied_vol
    vega = units * fx * (_bs(h, opt, vol=vol + dv) - _bs(h, opt, vol=vol - dv)) / (2 * dv) / 100
    return delta, gamma, vega


def test_stock_dollar_delta_is_units_times_price(hist):
    book = Portfolio((Position("aaa", Equity("AAA"), 300.0),))
    ex = _report(hist, book).exposures
    f = ex.factor("AAA")
    assert f.line.dollar_delta == pytest.approx(300.0 * _last(hist, "AAA"), rel=1e-15)
    assert f.delta_units == 300.0
    assert (f.line.dollar_gamma, f.line.vega) == (0.0, 0.0)
    assert f.line.gross_exposure == f.line.net_exposure == f.line.dollar_delta
    assert f.spot == _last(hist, "AAA")


def test_option_greeks_are_finite_differences_of_the_option_value(hist):
    for opt, units in ((_call(hist), 1000.0), (_put(hist), -2500.0)):
        book = Portfolio((Position("o", opt, units / 100.0, 100.0),))
        f = _report(hist, book).exposures.factor("AAA")
        delta, gamma, vega = _fd(hist, opt, units)
        assert f.line.dollar_delta == pytest.approx(delta, rel=1e-6)
        assert f.line.dollar_gamma == pytest.approx(gamma, rel=1e-4)
        assert f.line.vega == pytest.approx(vega, rel=1e-6)
        # share-equivalent delta = dollar delta / S
        assert f.delta_units == pytest.approx(delta / _last(hist, "AAA"), rel=1e-6)


def test_foreign_positions_are_in_base_and_their_translation_is_under_the_fx_factor(hist):
    x = _last(hist, "EURUSD")
    opt = _call(hist, "SAP", 125.0, 120, "EUR", 0.3)
    book = Portfolio((Position("sap", Equity("SAP", "EUR"), 500.0), Position("c", opt, 4.0, 100.0)))
    ex = _report(hist, book).exposures
    sap, eurusd = ex.factor("SAP"), ex.factor("EURUSD")
    delta, gamma, vega = _fd(hist, opt, 400.0, fx=x)
    stock = 500.0 * _last(hist, "SAP") * x
    assert sap.line.dollar_delta == pytest.approx(stock + delta, rel=1e-6)
    assert sap.line.dollar_gamma == pytest.approx(gamma, rel=1e-4)
    assert sap.line.vega == pytest.approx(vega, rel=1e-6)
    # Translation: the value in USD of each EUR position (delta_units: the value in EUR).
    value_eur = 500.0 * _last(hist, "SAP") + 400.0 * _bs(hist, opt)
    assert eurusd.line.dollar_delta == pytest.approx(value_eur * x, rel=1e-12)
    assert eurusd.delta_units == pytest.approx(value_eur, rel=1e-12)
    assert eurusd.line.n_positions == 2 and (eurusd.line.dollar_gamma, eurusd.line.vega) == (0, 0)


def test_a_short_eurusd_spot_hedges_the_translation_exposure(hist):
    v_eur = 500.0 * _last(hist, "SAP")
    book = Portfolio(
        (
            Position("sap", Equity("SAP", "EUR"), 500.0),
            Position("hedge", FxSpot("EURUSD"), -v_eur),
        )
    )
    f = _report(hist, book).exposures.factor("EURUSD")
    assert f.line.net_exposure == pytest.approx(0.0, abs=1e-9)
    assert f.line.gross_exposure == pytest.approx(2 * v_eur * _last(hist, "EURUSD"))


def test_a_future_has_its_notional_as_delta_and_no_value(hist):
    book = Portfolio((Position("fut", Future("FUT"), -2.0, 50.0),))
    rep = _report(hist, book)
    assert rep.exposures.factor("FUT").line.dollar_delta == pytest.approx(
        -100.0 * _last(hist, "FUT")
    )
    assert rep.portfolio["market_value"] == 0.0


def test_gross_bounds_net_and_rows_add_up_to_the_totals(hist):
    ex = _report(hist).exposures
    rows = [f.line for f in ex.by_underlying] + [t.line for t in ex.by_tag] + [ex.total]
    for line in rows:
        assert line.gross_exposure >= abs(line.net_exposure) - 1e-9
        assert line.net_exposure == line.dollar_delta
    assert [f.factor for f in ex.by_underlying] == sorted(["AAA", "EURUSD", "FUT", "SAP"])
    total = ex.total.to_dict()
    for m in METRICS:
        assert sum(getattr(f.line, m) for f in ex.by_underlying) == pytest.approx(total[m])
    keys = {t.key for t in ex.by_tag}
    assert keys == {"desk", "sector"}
    for key in keys:
        rows_of_key = [t for t in ex.by_tag if t.key == key]
        for m in METRICS:
            assert sum(getattr(t.line, m) for t in rows_of_key) == pytest.approx(total[m]), key
        assert sum(t.line.n_positions for t in rows_of_key) == ex.total.n_positions == 7
    untagged = {(t.key, t.value): t.line.n_positions for t in ex.by_tag if t.value is None}
    assert untagged == {("desk", None): 2, ("sector", None): 4}
    # a hedged book: gross strictly above |net|
    assert ex.total.gross_exposure > abs(ex.total.net_exposure)


def test_book_exposures_without_tags_and_the_dict_schema(hist):
    column_of = {s: i for i, s in enumerate(SYMBOLS)}
    cb = compile_book(_book(hist), hist.last_date, column_of, hist.prices[-1], 1)
    ex = book_exposures(cb)
    assert ex.by_tag == ()
    assert book_exposures(cb, tags_of(_book(hist))).total == ex.total
    doc = ex.to_dict()
    assert set(doc) == {"total", "by_underlying", "by_tag"}
    assert set(doc["total"]) == {*METRICS, "n_positions"}
    assert set(doc["by_underlying"][0]) == {
        "factor",
        "spot",
        "delta_units",
        *METRICS,
        "n_positions",
    }
    json.dumps(doc, allow_nan=False)


def test_risk_report_carries_the_exposures(hist):
    book = _book(hist)
    rep = compute_risk(book, hist, window=50, confidence=0.95)
    doc = rep.to_dict()
    assert doc["exposures"] == _report(hist).exposures.to_dict()
    assert doc["exposures"]["total"]["n_positions"] == 7


def test_exclusions_and_errors(hist):
    book = Portfolio((Position("a", Equity("AAA"), 1.0), Position("jp", Equity("SAP", "JPY"), 1.0)))
    rep = _report(hist, book)
    [exc] = rep.excluded_positions
    assert "JPYUSD" in exc["reason"]
    assert rep.exposures.total.n_positions == 1
    with pytest.raises(NoPositionsError):
        _report(hist, Portfolio((Position("jp", Equity("SAP", "JPY"), 1.0),)))
    # Another snapshot, another base currency.
    first = compute_exposures(book, hist, as_of=str(hist.date_at(10)), base_currency="jpy")
    assert first.as_of == str(hist.date_at(10)) and first.base_currency == "JPY"
    assert riskengine.compute_exposures is compute_exposures


# --- command line ----------------------------------------------------------------------------


def _run(*args):
    return subprocess.run(
        [sys.executable, "-m", "riskengine", *args], capture_output=True, text=True, timeout=120
    )


DATA = str(ROOT / "data" / "us_equities_daily.csv")
BOOK = str(ROOT / "examples" / "book.csv")


def test_cli_exposures_prints_the_json_schema():
    out = _run("exposures", "--portfolio", BOOK, "--prices", DATA, "--format", "json")
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert set(doc) == {
        "schema_version",
        "as_of",
        "base_currency",
        "portfolio",
        "excluded_positions",
        "exposures",
    }
    assert doc["as_of"] == "2022-12-28" and doc["base_currency"] == "USD"
    ex = doc["exposures"]
    assert set(ex) == {"total", "by_underlying", "by_tag"}
    assert ex["total"]["n_positions"] == doc["portfolio"]["n_included"] == 10
    assert {r["factor"] for r in ex["by_underlying"]} >= {"AAPL", "KO"}
    assert {(r["key"], r["value"]) for r in ex["by_tag"]} >= {("sector", "tech")}
    table = _run("exposures", "--portfolio", BOOK, "--prices", DATA, "--as-of", "2022-06-30")
    assert table.returncode == 0, table.stderr
    assert "as_of 2022-06-30" in table.stdout and "total" in table.stdout


def test_cli_exposures_exits_2_on_invalid_input(tmp_path):
    book = tmp_path / "b.csv"
    book.write_text("symbol,quantity,currency\nAAPL,1,JPY\n")
    out = _run("exposures", "--portfolio", str(book), "--prices", DATA)
    assert out.returncode == 2 and out.stdout == ""
    assert out.stderr.startswith("riskengine: error:") and "JPYUSD" in out.stderr
