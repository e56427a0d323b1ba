"""Stress testing: historical and hypothetical scenarios, worst window, reverse stress.

Oracles: a stock's own return over a window, exact linear losses, independent Black-Scholes
(tests/support.py) at shocked spot and volatility, a brute-force loop over every window, the
closed-form reverse stress of a linear book, and the delta direction rescaled for an option book.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import shlex
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from scipy import optimize
from scipy.stats import norm

from riskengine import (
    Equity,
    EuropeanOption,
    FactorHistory,
    InputError,
    InsufficientHistoryError,
    NoPositionsError,
    Portfolio,
    Position,
    load_portfolio,
)
from riskengine.cli import build_parser, main
from riskengine.stress import (
    HistoricalScenario,
    HypotheticalScenario,
    load_library,
    load_scenarios,
    parse_shock,
    reverse_stress,
    run_scenario,
    run_scenarios,
    worst_window,
)
from riskengine.stress.revalue import factor_moves, pnl_gradient, position_pnl, stress_book
from support import ROOT, black_scholes, gaussian_history, history_from_returns, stock_book

DATA = ROOT / "data" / "us_equities_daily.csv"
BOOK = ROOT / "examples" / "book.csv"
DOC = ROOT / "docs" / "stress.md"


def _date(history: FactorHistory, i: int) -> dt.date:
    return history.date_at(i)


def _call(underlying, strike, expiry, vol=0.3, rate=0.02, div=0.01, kind="call"):
    return EuropeanOption(
        underlying=underlying,
        strike=strike,
        expiry=expiry,
        option_type=kind,
        implied_vol=vol,
        rate=rate,
        dividend_yield=div,
    )


@pytest.fixture(scope="module")
def hist():
    return gaussian_history(n_obs=750, k=3, seed=3)


# ---------------------------------------------------------------------------------------------
# Historical scenarios


def test_one_stock_book_gets_the_stocks_own_return_over_the_window(hist):
    i0, i1 = 100, 130  # the window starts the day after i0 and ends at i1
    sc = HistoricalScenario("w", _date(hist, i0 + 1), _date(hist, i1))
    book = stock_book({"S1": 250.0})
    res = run_scenario(book, hist, sc)
    p = hist.prices[:, 1]
    value = 250.0 * p[-1]
    assert res.pnl == pytest.approx(value * (p[i1] / p[i0] - 1.0), rel=1e-12)
    assert res.definition["base_date"] == str(_date(hist, i0))
    assert res.definition["end_date"] == str(_date(hist, i1))
    assert res.factor_returns == {"S1": pytest.approx(p[i1] / p[i0] - 1.0)}
    assert res.position("p0").pnl == pytest.approx(res.pnl)


def test_lehman_on_the_bundled_data_is_apples_own_return(real_history):
    res = run_scenario(stock_book({"AAPL": 100.0}), real_history, "lehman-2008")
    h = real_history
    a = h.column["AAPL"]
    before = h.prices[h.index_of(dt.date(2008, 9, 11)), a]
    end = h.prices[h.index_of(dt.date(2008, 10, 10)), a]
    assert res.pnl == pytest.approx(100 * h.prices[-1, a] * (end / before - 1), rel=1e-12)
    assert res.as_of == "2022-12-28"
    assert (res.definition["base_date"], res.definition["end_date"]) == (
        "2008-09-11",
        "2008-10-10",
    )


def test_a_date_that_is_not_a_trading_day_uses_the_last_close_before(real_history):
    # 2008-09-13/14 is a weekend: start Saturday -> base is Friday 09-12; end Sunday -> 09-12.
    sc = HistoricalScenario("weekend", "2008-09-13", "2008-10-12")
    res = run_scenario(stock_book({"AAPL": 1.0}), real_history, sc)
    assert res.definition["base_date"] == "2008-09-12"
    assert res.definition["end_date"] == "2008-10-10"


def test_missing_factor_in_the_window_excludes_that_position_with_a_reason(hist):
    prices = hist.prices.copy()
    prices[99, 2] = np.nan  # S2 has no close the day before the window
    h = FactorHistory(hist.dates.copy(), hist.symbols, prices)
    sc = HistoricalScenario("gap", _date(h, 100), _date(h, 120))
    res = run_scenario(stock_book({"S0": 1.0, "S2": 1.0}), h, sc)
    assert [p.id for p in res.positions] == ["p0"]
    [ex] = res.excluded_positions
    assert ex["id"] == "p1" and "S2 has no close on" in ex["reason"] and "'gap'" in ex["reason"]
    with pytest.raises(NoPositionsError, match="S2"):
        run_scenario(stock_book({"S2": 1.0}), h, sc)


def test_window_outside_the_history_is_an_error_and_skipped_in_a_run(hist):
    early = HistoricalScenario("early", "2019-06-01", "2019-07-01")
    with pytest.raises(InsufficientHistoryError, match="early"):
        run_scenario(stock_book({"S0": 1.0}), hist, early)
    ok = HistoricalScenario("ok", _date(hist, 10), _date(hist, 20))
    report = run_scenarios(stock_book({"S0": 1.0}), hist, [early, ok])
    assert [r.scenario for r in report.results] == ["ok"]
    assert report.skipped[0]["scenario"] == "early"


def test_historical_option_pnl_is_black_scholes_at_the_shocked_spot_with_todays_expiry(hist):
    as_of = hist.last_date
    opt = _call("S0", 100.0, as_of + dt.timedelta(days=90))
    book = Portfolio((Position("c", opt, 10.0, 100.0),))
    sc = HistoricalScenario("w", _date(hist, 201), _date(hist, 260))
    res = run_scenario(book, hist, sc)
    p = hist.prices[:, 0]
    r = p[260] / p[200] - 1
    t = 90 / 365  # horizon 0: today's time to expiry
    expected = 1000.0 * (
        black_scholes(p[-1] * (1 + r), 100.0, t, 0.3, 0.02, 0.01, "call")
        - black_scholes(p[-1], 100.0, t, 0.3, 0.02, 0.01, "call")
    )
    assert res.pnl == pytest.approx(float(expected), rel=1e-9)


def test_library_dates_are_trading_days_inside_the_bundled_data(real_history):
    lib = load_library()
    dates = {str(d) for d in real_history.dates}
    historical = [s for s in lib.values() if s.kind == "historical"]
    assert {"lehman-2008", "covid-2020"} <= set(lib)
    assert len(historical) >= 6
    assert lib["lehman-2008"].start == dt.date(2008, 9, 12)
    assert lib["lehman-2008"].end == dt.date(2008, 10, 10)
    assert lib["covid-2020"].start == dt.date(2020, 2, 19)
    assert lib["covid-2020"].end == dt.date(2020, 3, 23)
    for s in historical:
        assert str(s.start) in dates and str(s.end) in dates, s.name
        assert s.start > real_history.date_at(0) and s.end <= real_history.last_date
        assert s.description
    # The whole library runs on the example book with nothing skipped.
    report = run_scenarios(load_portfolio(BOOK), real_history)
    assert len(report.results) == len(lib) and not report.skipped


# ---------------------------------------------------------------------------------------------
# Hypothetical shocks


def test_global_shock_on_a_linear_book_loses_exactly_its_share_of_the_value(hist):
    book = stock_book({"S0": 120.0, "S1": -40.0, "S2": 75.0})
    res = run_scenario(book, hist, ["*=-0.1"])
    assert res.pnl == pytest.approx(-0.1 * res.portfolio["market_value"], rel=1e-13)
    assert run_scenario(book, hist, ["*=-10%"]).pnl == pytest.approx(res.pnl, rel=1e-15)
    for p in res.positions:
        assert p.shock == -0.1


def test_option_pnl_is_independent_black_scholes_at_shocked_spot_and_vol(hist):
    as_of = hist.last_date
    call = _call("S0", 95.0, as_of + dt.timedelta(days=200), vol=0.25)
    put = _call("S0", 110.0, as_of + dt.timedelta(days=60), vol=0.35, kind="put")
    book = Portfolio(
        (Position("c", call, 3.0, 100.0), Position("p", put, -2.0, 100.0)), name="opts"
    )
    res = run_scenario(book, hist, HypotheticalScenario.of("x", ["S0=-0.2", "vol:S0=+5"]))
    s0 = hist.prices[-1, 0]

    def leg(kind, k, days, vol):
        t = days / 365
        return black_scholes(s0 * 0.8, k, t, vol + 0.05, 0.02, 0.01, kind) - black_scholes(
            s0, k, t, vol, 0.02, 0.01, kind
        )

    c = 300.0 * leg("call", 95.0, 200, 0.25)
    p = -200.0 * leg("put", 110.0, 60, 0.35)
    assert res.position("c").pnl == pytest.approx(float(c), rel=1e-9)
    assert res.position("p").pnl == pytest.approx(float(p), rel=1e-9)
    assert res.pnl == pytest.approx(float(c + p), rel=1e-9)
    assert res.position("c").vol_shift == pytest.approx(5.0)


def test_small_vol_shock_on_a_long_call_is_about_vega_times_the_shock(hist):
    as_of = hist.last_date
    s0 = hist.prices[-1, 1]
    t, vol, r, q = 0.5, 0.3, 0.02, 0.01
    call = _call("S1", s0, as_of + dt.timedelta(days=round(t * 365)), vol, r, q)
    t = round(t * 365) / 365
    book = Portfolio((Position("c", call, 10.0),))
    res = run_scenario(book, hist, ["vol:S1=+0.1"])  # +0.1 vol point = +0.001
    d1 = (np.log(s0 / s0) + (r - q + vol**2 / 2) * t) / (vol * np.sqrt(t))
    vega = s0 * np.exp(-q * t) * norm.pdf(d1) * np.sqrt(t)  # per 1.00 of volatility
    assert res.pnl > 0
    assert res.pnl == pytest.approx(10.0 * vega * 0.001, rel=1e-3)


def test_precedence_symbol_over_tag_over_global(hist):
    positions = (
        Position("a", Equity("S0"), 10.0, tags=(("sector", "tech"),)),
        Position("b", Equity("S1"), 10.0, tags=(("sector", "tech"), ("desk", "x"))),
        Position("c", Equity("S2"), 10.0, tags=(("sector", "energy"),)),
        Position("d", Equity("S2"), 10.0, tags=(("desk", "x"),)),
    )
    book = Portfolio(positions)
    res = run_scenario(book, hist, ["*=-0.01", "sector=tech:-0.05", "desk=x:-0.07", "S0=-0.2"])
    shocks = {p.id: p.shock for p in res.positions}
    # a: symbol beats its tag; b: two tags, the first written applies; c: global; d: tag.
    assert shocks == {"a": -0.2, "b": -0.05, "c": -0.01, "d": -0.07}
    assert any("position b matches several tag shocks" in n for n in res.notes)
    # Each position's P&L is its value times its shock.
    s = hist.prices[-1]
    for p, col in zip(res.positions, (0, 1, 2, 2), strict=True):
        assert p.pnl == pytest.approx(10.0 * s[col] * shocks[p.id], rel=1e-13)


def test_vol_shocks_follow_the_same_precedence_and_spare_linear_positions(hist):
    as_of = hist.last_date
    opt = _call("S0", 100.0, as_of + dt.timedelta(days=100))
    book = Portfolio(
        (
            Position("o1", opt, 1.0, tags=(("desk", "x"),)),
            Position("o2", _call("S1", 100.0, as_of + dt.timedelta(days=100)), 1.0),
            Position("e", Equity("S0"), 1.0, tags=(("desk", "x"),)),
        )
    )
    res = run_scenario(book, hist, ["vol:*=+10", "vol:desk=x:+2", "vol:S1=-3"])
    assert res.position("o1").vol_shift == pytest.approx(2.0)
    assert res.position("o2").vol_shift == pytest.approx(-3.0)
    assert res.position("e").vol_shift is None and res.position("e").pnl == 0.0


def test_fx_factor_moves_only_by_its_own_symbol_shock():
    r = np.random.default_rng(5).normal(0, 0.01, size=(60, 3))
    h = history_from_returns(r, ["SAP", "EURUSD", "AAPL"], [100.0, 1.1, 150.0])
    book = Portfolio(
        (
            Position("sap", Equity("SAP", currency="EUR"), 10.0),
            Position("aapl", Equity("AAPL"), 5.0),
        )
    )
    res = run_scenario(book, h, ["*=-0.1"])
    assert res.pnl == pytest.approx(-0.1 * res.portfolio["market_value"], rel=1e-13)
    assert res.position("sap").fx_shock == 0.0
    both = run_scenario(book, h, ["*=-0.1", "EURUSD=-0.05"])
    v_sap = 10.0 * 100 * np.prod(1 + r[:, 0]) * 1.1 * np.prod(1 + r[:, 1])
    assert both.position("sap").pnl == pytest.approx(v_sap * (0.9 * 0.95 - 1), rel=1e-12)
    assert both.position("sap").fx_shock == -0.05


def test_revaluation_matches_the_engines_per_position_pnl_with_fx_and_options():
    r = np.random.default_rng(9).normal(0, 0.01, size=(80, 3))
    h = history_from_returns(r, ["SAP", "EURUSD", "AAPL"], [100.0, 1.1, 150.0])
    as_of = h.last_date
    eur_call = EuropeanOption(
        "SAP", 95.0, as_of + dt.timedelta(days=120), "call", 0.3, 0.01, 0.0, currency="EUR"
    )
    book = Portfolio(
        (
            Position("sap", Equity("SAP", currency="EUR"), 10.0),
            Position("c", eur_call, 2.0, 100.0),
            Position("p", _call("AAPL", 160.0, as_of + dt.timedelta(days=30), kind="put"), -3.0),
        )
    )
    snap = stress_book(book, h, None)
    x = np.array([-0.12, 0.04, 0.07])
    mine, _ = position_pnl(snap, factor_moves(snap, x))
    engine = snap.book.position_pnl(x[None, :])[0]
    np.testing.assert_allclose(mine, engine, rtol=1e-12, atol=1e-9)
    assert mine.sum() == pytest.approx(float(snap.book.pnl(x[None, :])[0]), rel=1e-12)
    # The gradient used by reverse stress, against central differences.
    eps = 1e-6
    fd = [
        (snap.book.pnl((x + eps * e)[None])[0] - snap.book.pnl((x - eps * e)[None])[0]) / (2 * eps)
        for e in np.eye(3)
    ]
    np.testing.assert_allclose(pnl_gradient(snap.book, x), fd, rtol=1e-6)


@pytest.mark.parametrize(
    "text",
    [
        "AAPL",
        "AAPL=",
        "=0.1",
        "AAPL=abc",
        "AAPL=-20",
        "sector=:-0.1",
        "vol:AAPL=5%",
        "A*=-0.1",
        "AAPL=nan",
        "sector=tech:x",
    ],
)
def test_bad_shock_specs_are_input_errors_naming_the_text(text):
    with pytest.raises(InputError) as err:
        parse_shock(text)
    assert repr(text) in str(err.value)


def test_shock_syntax_and_conflicts():
    s = parse_shock("vol:sector=tech:+8")
    assert (s.vol, s.target, s.key, s.value, s.amount) == (True, "tag", "sector", "tech", 0.08)
    assert parse_shock("AAPL=-20%").amount == pytest.approx(-0.2)
    assert parse_shock("*=+0.05").target == "global"
    with pytest.raises(InputError, match="'AAPL=-0.1' and 'AAPL=-0.2'"):
        HypotheticalScenario.of("x", ["AAPL=-0.1", "AAPL=-0.2"])


def test_custom_scenario_file(tmp_path, hist):
    f = tmp_path / "mine.json"
    f.write_text(
        json.dumps(
            {
                "scenarios": [
                    {"name": "w1", "start": str(_date(hist, 50)), "end": str(_date(hist, 70))},
                    {"name": "h1", "shocks": ["*=-0.3"], "description": "crash"},
                ]
            }
        )
    )
    known = load_scenarios(f)
    assert known["w1"].kind == "historical" and known["h1"].kind == "hypothetical"
    res = run_scenario(stock_book({"S0": 2.0}), hist, "h1", known=known)
    assert res.pnl == pytest.approx(-0.3 * 2.0 * hist.prices[-1, 0])
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"scenarios": [{"name": "z", "shocks": ["AAPL=oops"]}]}))
    with pytest.raises(InputError, match="AAPL=oops"):
        load_scenarios(bad)
    bad.write_text(json.dumps({"scenarios": [{"name": "z", "start": "2020-13-01", "end": "x"}]}))
    with pytest.raises(InputError, match="2020-13-01"):
        load_scenarios(bad)
    bad.write_text(json.dumps({"scenarios": [{"name": "z"}]}))
    with pytest.raises(InputError, match="'start' and 'end'"):
        load_scenarios(bad)
    with pytest.raises(InputError, match="unknown scenario 'nope'"):
        run_scenario(stock_book({"S0": 2.0}), hist, "nope")


# ---------------------------------------------------------------------------------------------
# Worst window


def test_worst_window_equals_a_brute_force_loop(hist):
    as_of = hist.last_date
    opt = _call("S2", 100.0, as_of + dt.timedelta(days=45), kind="put")
    book = Portfolio(
        (
            Position("a", Equity("S0"), 30.0),
            Position("b", Equity("S1"), -10.0),
            Position("p", opt, -5.0, 100.0),
        )
    )
    h = 7
    res = worst_window(book, hist, horizon_days=h)
    p = hist.prices
    s_now = p[-1]
    t = 45 / 365
    v0 = black_scholes(s_now[2], 100.0, t, 0.3, 0.02, 0.01, "put")
    best, when = np.inf, None
    for i in range(len(p) - h):
        r = p[i + h] / p[i] - 1
        pnl = 30 * s_now[0] * r[0] - 10 * s_now[1] * r[1]
        pnl += -500.0 * (
            black_scholes(s_now[2] * (1 + r[2]), 100.0, t, 0.3, 0.02, 0.01, "put") - v0
        )
        if pnl < best:
            best, when = pnl, i
    assert res.loss == pytest.approx(-float(best), rel=1e-9)
    assert res.window.base_date == str(_date(hist, when))
    assert res.window.start_date == str(_date(hist, when + 1))
    assert res.window.end_date == str(_date(hist, when + h))
    assert res.n_windows == len(p) - h
    assert sum(x.pnl for x in res.positions) == pytest.approx(-res.loss, rel=1e-9)
    # The listed windows get better and do not overlap.
    pnls = [w.pnl for w in res.worst]
    assert pnls == sorted(pnls)
    starts = sorted(np.datetime64(w.base_date) for w in res.worst)
    assert all((b - a).astype(int) >= h for a, b in zip(starts, starts[1:], strict=False))


def test_worst_window_skips_windows_with_missing_closes(hist):
    prices = hist.prices.copy()
    prices[:200, 1] = np.nan  # S1 starts later
    h = FactorHistory(hist.dates.copy(), hist.symbols, prices)
    res = worst_window(stock_book({"S0": 1.0, "S1": 1.0}), h, horizon_days=5)
    assert res.n_windows == len(prices) - 200 - 5
    assert res.n_skipped == 200
    assert res.first_date == str(_date(h, 200))


def test_worst_window_is_fast_on_twenty_stocks_over_the_bundled_history(real_history):
    book = stock_book({s: 100.0 for s in real_history.symbols})
    start = time.perf_counter()
    res = worst_window(book, real_history, horizon_days=10)
    assert time.perf_counter() - start < 0.5
    assert res.n_windows == len(real_history.dates) - 10
    assert res.window.start_date.startswith("2008-")


# ---------------------------------------------------------------------------------------------
# Reverse stress


def test_reverse_stress_on_a_linear_book_is_the_closed_form(hist):
    book = stock_book({"S0": 100.0, "S1": -30.0, "S2": 60.0})
    loss, window, h = 2_000.0, 400, 5
    res = reverse_stress(book, hist, loss, window=window, horizon_days=h)
    p = hist.prices[-window - 1 :]
    sigma = np.cov(p[1:] / p[:-1] - 1, rowvar=False, ddof=1) * h
    b = np.array([100.0, -30.0, 60.0]) * hist.prices[-1]
    x = -loss * sigma @ b / (b @ sigma @ b)
    assert res.method == "closed-form"
    np.testing.assert_allclose([res.shock[s] for s in ("S0", "S1", "S2")], x, rtol=1e-10)
    assert b @ x == pytest.approx(-loss, rel=1e-12)
    assert res.pnl == pytest.approx(-loss, rel=1e-12)
    d = np.sqrt(x @ np.linalg.solve(sigma, x))
    assert res.mahalanobis_distance == pytest.approx(d, rel=1e-9)
    assert res.probability == pytest.approx(norm.sf(d), rel=1e-9)
    # Doubling the loss doubles the shock (and the distance).
    twice = reverse_stress(book, hist, 2 * loss, window=window, horizon_days=h)
    assert twice.mahalanobis_distance == pytest.approx(2 * d, rel=1e-9)


def _option_book(hist):
    """A stock and short near-the-money options: strikes k1 (call on S1), k2 (put on S2)."""
    as_of = hist.last_date
    k1, k2 = (float(round(x)) for x in hist.prices[-1, 1:] * (1.0, 0.97))
    book = Portfolio(
        (
            Position("s0", Equity("S0"), 50.0),
            Position("c1", _call("S1", k1, as_of + dt.timedelta(days=60)), -4.0, 100.0),
            Position("p2", _call("S2", k2, as_of + dt.timedelta(days=30), kind="put"), -3.0, 100.0),
        )
    )
    return book, k1, k2


def test_reverse_stress_on_an_option_book_loses_the_limit_at_no_greater_distance(hist):
    book, k1, k2 = _option_book(hist)
    loss, window = 2_000.0, 500
    res = reverse_stress(book, hist, loss, window=window)
    assert res.method == "numerical"
    assert res.pnl == pytest.approx(-loss, rel=1e-6)
    # Independent full revaluation of the solution.
    s = hist.prices[-1]
    x = np.array([res.shock[f] for f in ("S0", "S1", "S2")])

    def book_pnl(x):
        c = -400.0 * (
            black_scholes(s[1] * (1 + x[1]), k1, 60 / 365, 0.3, 0.02, 0.01, "call")
            - black_scholes(s[1], k1, 60 / 365, 0.3, 0.02, 0.01, "call")
        )
        p = -300.0 * (
            black_scholes(s[2] * (1 + x[2]), k2, 30 / 365, 0.3, 0.02, 0.01, "put")
            - black_scholes(s[2], k2, 30 / 365, 0.3, 0.02, 0.01, "put")
        )
        return 50.0 * s[0] * x[0] + float(c) + float(p)

    assert book_pnl(x) == pytest.approx(-loss, rel=1e-6)
    p = hist.prices[-window - 1 :]
    sigma = np.cov(p[1:] / p[:-1] - 1, rowvar=False, ddof=1)
    d = float(np.sqrt(x @ np.linalg.solve(sigma, x)))
    assert res.mahalanobis_distance == pytest.approx(d, rel=1e-6)
    # The delta direction, rescaled so that full revaluation loses L.
    eps = 1e-5
    b = np.array([(book_pnl(eps * e) - book_pnl(-eps * e)) / (2 * eps) for e in np.eye(3)])
    direction = -sigma @ b / np.sqrt(b @ sigma @ b)  # one standard deviation
    hi = 0.5
    while book_pnl(hi * direction) > -loss:
        hi *= 2
    t = optimize.brentq(lambda t: book_pnl(t * direction) + loss, 0.0, hi, xtol=1e-14)
    x_lin = t * direction
    d_lin = float(np.sqrt(x_lin @ np.linalg.solve(sigma, x_lin)))
    assert d <= d_lin * (1 + 1e-9)
    assert res.linear_distance == pytest.approx(d_lin, rel=1e-5)
    # First-order optimality: Sigma^-1 x is parallel to the gradient of the P&L.
    g = np.array([(book_pnl(x + eps * e) - book_pnl(x - eps * e)) / (2 * eps) for e in np.eye(3)])
    w = np.linalg.solve(sigma, x)
    assert abs(w @ g) / (np.linalg.norm(w) * np.linalg.norm(g)) == pytest.approx(1.0, abs=1e-5)


def test_reverse_stress_refuses_a_loss_the_book_cannot_reach(hist):
    as_of = hist.last_date
    book = Portfolio((Position("c", _call("S0", 100.0, as_of + dt.timedelta(days=30)), 1.0),))
    with pytest.raises(InputError, match="cannot lose"):
        reverse_stress(book, hist, 1e6)
    for bad in (0.0, -5.0, float("nan")):
        with pytest.raises(InputError, match="positive amount"):
            reverse_stress(book, hist, bad)


# ---------------------------------------------------------------------------------------------
# CLI and docs


def run_cli(*args):
    return subprocess.run(
        [sys.executable, "-m", "riskengine", "stress", *args],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_cli_json_runs_scenarios_shocks_worst_window_and_reverse():
    out = run_cli(
        "--portfolio",
        str(BOOK),
        "--prices",
        str(DATA),
        "--scenario",
        "lehman-2008",
        "covid-2020",
        "--shock",
        "*=-0.1",
        "vol:*=+5",
        "--worst-window",
        "--horizon-days",
        "10",
        "--reverse-loss",
        "100000",
        "--format",
        "json",
    )
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert [s["scenario"] for s in doc["scenarios"]] == ["lehman-2008", "covid-2020", "custom"]
    assert doc["as_of"] == "2022-12-28" and doc["base_currency"] == "USD"
    for s in doc["scenarios"]:
        assert s["pnl"] == pytest.approx(sum(p["pnl"] for p in s["positions"]))
    assert doc["worst_window"]["horizon_days"] == 10 and doc["worst_window"]["loss"] > 0
    assert doc["reverse_stress"]["pnl"] == pytest.approx(-100_000, rel=1e-6)


def test_cli_table_runs_the_whole_library_by_default(capsys):
    out = run_cli("--portfolio", str(BOOK), "--prices", str(DATA))
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("riskengine stress  as_of 2022-12-28  base USD")
    for name in load_library():
        assert name in out.stdout


def test_cli_bad_shock_exits_2_naming_the_text():
    out = run_cli("--portfolio", str(BOOK), "--prices", str(DATA), "--shock", "AAPL=-20")
    assert out.returncode == 2
    assert "'AAPL=-20'" in out.stderr


def test_cli_lists_scenarios_without_a_book_and_requires_one_otherwise(capsys):
    assert main(["stress", "--list", "--format", "json"]) == 0
    listed = json.loads(capsys.readouterr().out)["scenarios"]
    assert [s["name"] for s in listed] == list(load_library())
    assert main(["stress", "--scenario", "lehman-2008"]) == 2
    assert "--portfolio is required" in capsys.readouterr().err
    assert main(["stress", "--portfolio", str(BOOK), "--prices", str(DATA), "--scenario", "x"]) == 2
    assert "unknown scenario 'x'" in capsys.readouterr().err


def _blocks(text: str, language: str) -> list[str]:
    return re.findall(rf"^```{language}[ \t]*\n(.*?)^```", text, flags=re.S | re.M)


def test_stress_md_python_examples_run(monkeypatch, capsys):
    monkeypatch.chdir(ROOT)
    namespace: dict = {"__name__": "__docs__"}
    blocks = _blocks(DOC.read_text(encoding="utf-8"), "python")
    assert blocks
    for block in blocks:
        exec(compile(block, str(DOC), "exec"), namespace)
    printed = capsys.readouterr().out.splitlines()
    assert len(printed) == 8
    text = DOC.read_text(encoding="utf-8")
    for line in printed:  # rounded output: the doc shows what the examples print
        assert line in text, line


def test_stress_md_commands_parse_and_its_option_table_matches():
    text = DOC.read_text(encoding="utf-8")
    parser = build_parser()
    commands = []
    for block in _blocks(text, "sh"):
        for line in re.sub(r"\\\n", " ", block).splitlines():
            if "riskengine stress" in line:
                commands.append(line.split("#", 1)[0].strip())
    assert commands
    for command in commands:
        words = shlex.split(command.split(">", 1)[0])
        parser.parse_args(words[words.index("stress") :])
    sub = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction")
    real = {
        s for a in sub.choices["stress"]._actions for s in a.option_strings if s.startswith("--")
    } - {"--help"}
    mentioned = set(re.findall(r"(?<![\w-])--[a-z][a-z0-9-]*", text))
    assert real <= mentioned, real - mentioned
    assert mentioned - real - {"--help"} == set()


def test_package_data_lists_the_library():
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert "stress/library.json" in text
    assert Path(ROOT / "src" / "riskengine" / "stress" / "library.json").is_file()


# --- a shock that reaches no position (issue: a mistyped symbol showed a $0 scenario) --------


def test_a_custom_shock_reaching_no_position_is_refused_naming_it(hist):
    book = stock_book({"S0": 10, "S1": -5})
    with pytest.raises(InputError, match=r"FOO=-10% .*reach(es)? no position") as err:
        run_scenarios(book, hist, [["S0=-0.2", "FOO=-10%"]])
    assert "keep_idle_shocks" in str(err.value)
    with pytest.raises(InputError, match="APPL"):
        run_scenario(book, hist, ["APPL=-20%"])
    # kept on request: the result carries a warning
    kept = run_scenarios(book, hist, [["S0=-0.2", "FOO=-10%"]], keep_idle_shocks=True)
    assert kept.results[0].warnings and "FOO=-10%" in kept.results[0].warnings[0]
    assert kept.results[0].to_dict()["warnings"] == list(kept.results[0].warnings)
    # the library's generic scenarios still run on a book they barely touch
    library = run_scenarios(book, hist, ["vol-spike"])
    assert library.results[0].pnl == 0.0 and library.results[0].warnings == ()


def test_cli_refuses_an_idle_shock_and_keeps_it_on_request(tmp_path):
    book = ROOT / "examples" / "book.csv"
    data = ROOT / "data" / "us_equities_daily.csv"
    base = [sys.executable, "-m", "riskengine", "stress", "--portfolio", str(book), "--prices",
            str(data), "--shock", "APPL=-20%"]  # fmt: skip
    out = subprocess.run(base, capture_output=True, text=True, timeout=120)
    assert out.returncode == 2 and out.stdout == ""
    assert "APPL=-20%" in out.stderr and "--keep-idle-shocks" in out.stderr
    kept = subprocess.run([*base, "--keep-idle-shocks"], capture_output=True, text=True,
                          timeout=120)  # fmt: skip
    assert kept.returncode == 0, kept.stderr
    assert "warning" in kept.stdout.lower() and "APPL=-20%" in kept.stdout


def test_scenarios_at_the_latest_prices_move_the_book_as_valued_then(hist):
    """With ``market`` (a feed's latest prices) the book is valued at them and every
    scenario's move applies to them: P&L = units x latest price x move; without it, the
    closes; an option is revalued from its latest underlying price."""
    from riskengine.market.history import MarketState

    a, b, c = hist.symbols
    last = hist.market_state(len(hist.dates) - 1)
    live = MarketState(last.as_of, {a: last.prices[a] * 1.2, b: last.prices[b] * 0.9,
                                    c: last.prices[c]})  # fmt: skip
    expiry = hist.dates[-1] + dt.timedelta(days=60)
    book = Portfolio((Position("a", Equity(a), 100.0), Position("b", Equity(b), -50.0),
                      Position("o", _call(a, last.prices[a], expiry), 2.0, 100.0)))  # fmt: skip
    shock = HypotheticalScenario("down", (parse_shock("*=-0.1"),))
    at_close = run_scenarios(book, hist, [shock])
    at_live = run_scenarios(book, hist, [shock], market=live)
    t = (expiry - last.as_of).days / 365.0

    def option(s):
        return 200.0 * black_scholes(s, last.prices[a], t, 0.3, 0.02, 0.01, "call")

    for report, p in ((at_close, last.prices), (at_live, live.prices)):
        value = 100.0 * p[a] - 50.0 * p[b] + option(p[a])
        assert report.portfolio["market_value"] == pytest.approx(value, rel=1e-12)
        (res,) = report.results
        want = -0.1 * (100.0 * p[a] - 50.0 * p[b]) + option(0.9 * p[a]) - option(p[a])
        assert res.pnl == pytest.approx(want, rel=1e-10)
    assert at_live.results[0].pnl != at_close.results[0].pnl
    one = run_scenario(book, hist, shock, market=live)
    assert one.pnl == at_live.results[0].pnl
    # a historical window's returns, applied to the latest prices
    window = HistoricalScenario("w", _date(hist, 100), _date(hist, 110))
    (res,) = run_scenarios(Portfolio(book.positions[:2]), hist, [window], market=live).results
    r = hist.prices[110] / hist.prices[99] - 1.0
    want = 100.0 * live.prices[a] * r[0] - 50.0 * live.prices[b] * r[1]
    assert res.pnl == pytest.approx(want, rel=1e-10)
