"""Linear instruments (equity, FX spot, futures) and options on futures, revalued by every
method exactly as their definitions say."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from riskengine import (
    Equity,
    EuropeanOption,
    Future,
    FxSpot,
    InputError,
    Portfolio,
    Position,
    compute_risk,
)
from support import black_scholes, history_from_returns


@pytest.fixture(scope="module")
def hist():
    rng = np.random.default_rng(7)
    r = rng.normal(0, [0.006, 0.012, 0.01], (400, 3))
    return history_from_returns(r, symbols=("EURUSD", "CL", "SPX"), start_prices=(1.1, 80, 4000))


def _hist_losses(h, window, pnl_of_return):
    p = h.prices[-window - 1 :]
    r = p[1:] / p[:-1] - 1.0
    return -pnl_of_return(r)


def test_fx_spot_is_units_times_rate(hist):
    book = Portfolio((Position("fx", FxSpot("EURUSD"), 1_000_000.0),))
    rep = compute_risk(book, hist, window=300, confidence=0.99)
    s = hist.prices[-1, 0]
    losses = _hist_losses(hist, 300, lambda r: 1_000_000.0 * s * r[:, 0])
    assert rep.measure(0.99).value_at_risk == pytest.approx(
        np.quantile(losses, 0.99, method="inverted_cdf"), rel=1e-12
    )
    assert rep.portfolio["market_value"] == pytest.approx(1_000_000.0 * s)


def test_fx_pair_quoted_in_another_currency_is_excluded(hist):
    book = Portfolio((Position("a", FxSpot("EURUSD"), 1.0), Position("b", FxSpot("EURGBP"), 1.0)))
    rep = compute_risk(book, hist, window=300)
    [exc] = rep.excluded_positions
    assert exc["id"] == "b" and "priced in GBP" in exc["reason"]


def test_future_has_zero_value_and_linear_pnl(hist):
    book = Portfolio((Position("f", Future("CL"), -10.0, multiplier=1000.0),))
    rep = compute_risk(book, hist, window=300, horizon_days=5, confidence=0.95)
    f = hist.prices[-1, 1]
    w = hist.prices[-301:, 1]
    dF = f * (w[5:] / w[:-5] - 1.0)
    expected = np.quantile(10.0 * 1000.0 * dF, 0.95, method="inverted_cdf")  # losses of a short
    assert rep.portfolio["market_value"] == 0.0
    assert rep.measure(0.95).value_at_risk == pytest.approx(expected, rel=1e-12)
    par = compute_risk(book, hist, window=300, method="parametric", confidence=0.95)
    sd = 10_000.0 * f * np.std(np.diff(w) / w[:-1], ddof=1)
    assert par.measure(0.95).value_at_risk == pytest.approx(1.6448536269514722 * sd, rel=1e-9)


def test_option_on_future_is_black_76(hist):
    as_of = hist.last_date
    f0 = hist.prices[-1, 1]
    opt = EuropeanOption(
        "CL", 80.0, as_of + dt.timedelta(days=90), "call", 0.4, rate=0.05, underlying_type="future"
    )
    book = Portfolio((Position("o", opt, 3.0, 1000.0),))
    rep = compute_risk(book, hist, window=300, confidence=0.95, horizon_days=2)
    t0, t1 = 90 / 365, 90 / 365 - 2 / 252
    # Black-76 is Black-Scholes-Merton with dividend yield equal to the rate (zero carry).
    value0 = black_scholes(f0, 80.0, t0, 0.4, 0.05, 0.05, "call")
    w = hist.prices[-301:, 1]
    scen = f0 * (w[2:] / w[:-2])
    pnl = 3000.0 * (black_scholes(scen, 80.0, t1, 0.4, 0.05, 0.05, "call") - value0)
    assert rep.portfolio["market_value"] == pytest.approx(3000.0 * value0, rel=1e-12)
    assert rep.measure(0.95).value_at_risk == pytest.approx(
        np.quantile(-pnl, 0.95, method="inverted_cdf"), rel=1e-9
    )


def test_mixed_book_by_every_method_is_finite_and_ordered(hist):
    as_of = hist.last_date
    book = Portfolio(
        (
            Position("fx", FxSpot("EURUSD"), 2e6),
            Position("fut", Future("CL"), 5.0, 1000.0),
            Position("eq", Equity("SPX"), 100.0),
            Position(
                "put",
                EuropeanOption(
                    "SPX",
                    3800.0,
                    as_of + dt.timedelta(days=60),
                    "put",
                    0.25,
                    rate=0.04,
                    dividend_yield=0.015,
                ),
                50.0,
            ),
        )
    )
    for kw in (
        dict(method="historical"),
        dict(method="parametric"),
        dict(method="montecarlo", seed=1, n_scenarios=20_000),
    ):
        rep = compute_risk(book, hist, window=300, confidence=(0.95, 0.99), **kw)
        assert rep.excluded_positions == ()
        m95, m99 = rep.measure(0.95), rep.measure(0.99)
        assert 0 < m95.value_at_risk <= m99.value_at_risk <= m99.expected_shortfall


@pytest.mark.parametrize(
    "kw,match",
    [
        (dict(strike=0.0), "strike must be a positive number"),
        (dict(implied_vol=-0.1), "implied_vol must be a positive number"),
        (dict(option_type="straddle"), "option_type must be 'call' or 'put'"),
    ],
)
def test_option_description_is_validated(kw, match):
    args = (
        dict(
            underlying="SPX",
            strike=100.0,
            expiry=dt.date(2030, 1, 1),
            option_type="call",
            implied_vol=0.2,
        )
        | kw
    )
    with pytest.raises(InputError, match=match):
        EuropeanOption(**args)
