"""Historical simulation: the order statistic the definition names, on hand-built histories."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from riskengine import InsufficientHistoryError, Portfolio, Position, compute_risk
from support import black_scholes, history_from_returns, option, stock_book


def _unit_exposure_book(history, symbol="S0", exposure=1_000_000.0):
    """A stock position worth exactly ``exposure`` at the last close: P&L = exposure * r."""
    spot = history.prices[-1, history.column[symbol]]
    return stock_book({symbol: exposure / spot})


def test_var_is_loss_order_statistic_with_ties_and_integer_tail():
    # 20 daily returns; the two worst after the worst (-4%) tie at -3%.
    r = [
        0.01,
        -0.02,
        0.005,
        -0.03,
        0.02,
        -0.01,
        0.0,
        -0.04,
        0.015,
        -0.03,
        0.01,
        -0.005,
        0.02,
        0.003,
        -0.015,
        0.012,
        -0.001,
        0.004,
        -0.002,
        0.006,
    ]
    h = history_from_returns(r)
    book = _unit_exposure_book(h)
    rep = compute_risk(book, h, method="historical", window=20, confidence=(0.95, 0.9))
    # c=0.95, n=20: VaR = L(ceil(19)) = L(19) = 30,000 (a tie with L(18)); n(1-c)=1 so ES = L(20).
    m95 = rep.measure(0.95)
    assert m95.value_at_risk == pytest.approx(30_000.0, rel=1e-9)
    assert m95.expected_shortfall == pytest.approx(40_000.0, rel=1e-9)
    # c=0.9: VaR = L(18) = 30,000; ES = mean of the two worst = (40,000 + 30,000) / 2.
    m90 = rep.measure(0.9)
    assert m90.value_at_risk == pytest.approx(30_000.0, rel=1e-9)
    assert m90.expected_shortfall == pytest.approx(35_000.0, rel=1e-9)
    assert rep.n_scenarios == 20


def test_var_and_es_with_non_integer_tail_count():
    # n = 30, c = 0.95: n(1-c) = 1.5. VaR = L(ceil(28.5)) = L(29); ES = (L30 + 0.5 L29) / 1.5.
    rng = np.random.default_rng(3)
    r = np.round(rng.normal(0, 0.01, 30), 5)
    r[7], r[19] = -0.05, -0.035  # the two worst losses
    h = history_from_returns(r)
    rep = compute_risk(_unit_exposure_book(h), h, method="historical", window=30, confidence=0.95)
    m = rep.measure(0.95)
    assert m.value_at_risk == pytest.approx(35_000.0, rel=1e-9)
    assert m.expected_shortfall == pytest.approx((50_000.0 + 0.5 * 35_000.0) / 1.5, rel=1e-9)
    # numpy's inverted-CDF quantile applied to the losses names the same order statistic.
    losses = -1_000_000.0 * r
    assert m.value_at_risk == pytest.approx(np.quantile(losses, 0.95, method="inverted_cdf"))


def test_overlapping_horizon_returns_and_sqrt_scaling():
    rng = np.random.default_rng(5)
    r = rng.normal(0, 0.01, 300)
    h = history_from_returns(r)
    p = h.prices[:, 0]
    window, hd = 250, 10
    book = _unit_exposure_book(h)
    rep = compute_risk(
        book, h, method="historical", window=window, horizon_days=hd, confidence=0.99
    )
    w = p[-window - 1 :]
    hday = w[hd:] / w[:-hd] - 1.0
    assert rep.n_scenarios == window - hd + 1
    expected = np.quantile(-1e6 * hday, 0.99, method="inverted_cdf")
    assert rep.measure(0.99).value_at_risk == pytest.approx(expected, rel=1e-9)
    rep_sqrt = compute_risk(
        book,
        h,
        method="historical",
        window=window,
        horizon_days=hd,
        confidence=0.99,
        historical_scaling="sqrt",
    )
    one_day = w[1:] / w[:-1] - 1.0
    expected_sqrt = np.quantile(-1e6 * one_day * np.sqrt(hd), 0.99, method="inverted_cdf")
    assert rep_sqrt.n_scenarios == window
    assert rep_sqrt.measure(0.99).value_at_risk == pytest.approx(expected_sqrt, rel=1e-9)


def test_options_fully_revalued_in_every_scenario():
    rng = np.random.default_rng(11)
    r = rng.normal(0, 0.02, 120)
    h = history_from_returns(r)
    as_of = h.last_date
    s0 = h.prices[-1, 0]
    opt = option("S0", round(s0), 40, "put", vol=0.35, rate=0.03, div=0.01, as_of=as_of)
    book = Portfolio((Position("put", opt, 10.0, 100.0),))
    hd = 5
    rep = compute_risk(book, h, method="historical", window=100, horizon_days=hd, confidence=0.95)
    w = h.prices[-101:, 0]
    scen = s0 * (w[hd:] / w[:-hd])
    t0, t1 = 40 / 365, 40 / 365 - hd / 252
    pnl = 1000.0 * (
        black_scholes(scen, opt.strike, t1, 0.35, 0.03, 0.01, "put")
        - black_scholes(s0, opt.strike, t0, 0.35, 0.03, 0.01, "put")
    )
    expected = np.quantile(-pnl, 0.95, method="inverted_cdf")
    assert rep.measure(0.95).value_at_risk == pytest.approx(expected, rel=1e-9)


def test_option_expiring_inside_horizon_is_worth_intrinsic():
    r = np.linspace(-0.03, 0.03, 60)
    h = history_from_returns(r)
    as_of = h.last_date
    s0 = h.prices[-1, 0]
    opt = option("S0", s0, 3, "call", as_of=as_of)  # 3 calendar days, horizon 10 trading days
    book = Portfolio((Position("c", opt, 1.0),))
    rep = compute_risk(book, h, method="historical", window=40, horizon_days=10, confidence=0.9)
    w = h.prices[-41:, 0]
    scen = s0 * (w[10:] / w[:-10])
    pnl = np.maximum(scen - s0, 0.0) - black_scholes(s0, s0, 3 / 365, 0.3, 0.02, 0.0, "call")
    assert rep.measure(0.9).value_at_risk == pytest.approx(
        np.quantile(-pnl, 0.9, method="inverted_cdf"), rel=1e-9
    )


def test_too_few_scenarios_for_the_tail_is_an_error():
    h = history_from_returns(np.full(60, 0.001))
    with pytest.raises(InsufficientHistoryError, match=r"needs >= 100 scenarios.*--window"):
        compute_risk(stock_book({"S0": 1}), h, method="historical", window=50, confidence=0.99)


def test_as_of_selects_the_window_ending_that_day():
    r = np.r_[np.full(50, 0.001), -0.2, np.full(49, 0.001)]
    h = history_from_returns(r)
    book = stock_book({"S0": 1.0})
    before = h.date_at(50)  # the crash (return 51) is after this date
    rep = compute_risk(book, h, method="historical", window=40, confidence=0.9, as_of=before)
    assert rep.as_of == before.isoformat()
    assert rep.measure(0.9).value_at_risk < 0  # only gains in the window: negative VaR
    after = compute_risk(
        book,
        h,
        method="historical",
        window=40,
        confidence=0.9,
        as_of=h.date_at(60) + dt.timedelta(hours=1),
    )
    assert after.as_of == h.date_at(60).isoformat()
    assert after.measure(0.9).expected_shortfall > 0  # the crash is in the tail
