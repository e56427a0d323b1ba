"""Positions priced in another currency than the base one, converted at FX risk factors.

Oracles: the P&L converted by hand in each test, (1 + r_S)(1 + r_X) - 1 for a holding,
X0 (1 + r_X) V(S0 (1 + r_S), T - h/252) - X0 V0 for an option with an independent Black-Scholes
(tests/support.py), the delta-normal closed form with the exposure vector written out, and finite
differences of the exact P&L for the delta-gamma expansion.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from scipy import stats

from riskengine import (
    Equity,
    EuropeanOption,
    Future,
    FxSpot,
    NoPositionsError,
    Portfolio,
    Position,
    compute_risk,
)
from riskengine.core.distributions import cornish_fisher_var_es
from riskengine.core.quadratic import quadratic_moments
from riskengine.pricing.compiled import compile_book
from riskengine.pricing.grid import build_option_grid
from support import black_scholes, history_from_returns

SYMBOLS = ("SAP", "EURUSD", "AAA", "GBPUSD", "EURGBP", "FESX")
START = (120.0, 1.10, 50.0, 1.25, 0.88, 4000.0)
WINDOW = 300


@pytest.fixture(scope="module")
def hist():
    rng = np.random.default_rng(11)
    vols = np.array([0.015, 0.006, 0.02, 0.007, 0.004, 0.012])
    corr = np.full((6, 6), 0.2) + 0.8 * np.eye(6)
    corr[0, 1] = corr[1, 0] = -0.4  # stock and FX correlated: the cross term matters
    r = rng.multivariate_normal(np.zeros(6), corr * np.outer(vols, vols), size=400)
    return history_from_returns(r, symbols=SYMBOLS, start_prices=START)


def _col(h, sym):
    return h.column[sym]


def _last(h, sym):
    return h.prices[-1, _col(h, sym)]


def _returns(h, sym, window=WINDOW, horizon=1):
    p = h.prices[-window - 1 :, _col(h, sym)]
    return p[horizon:] / p[:-horizon] - 1.0


def _var(pnl, c):
    return np.quantile(-pnl, c, method="inverted_cdf")


def _es(pnl, c):
    losses = np.sort(-pnl)
    k = int(round(losses.size * (1 - c)))
    return losses[-k:].mean()


def _eur_option(h, days=60, kind="call", strike=125.0):
    return EuropeanOption(
        "SAP",
        strike,
        h.last_date + dt.timedelta(days=days),
        kind,
        0.3,
        rate=0.02,
        dividend_yield=0.01,
        currency="EUR",
    )


# --- historical: exact conversion ----------------------------------------------------------


@pytest.mark.parametrize("horizon", [1, 5])
def test_historical_var_of_a_eur_stock_is_the_hand_converted_quantile(hist, horizon):
    book = Portfolio((Position("sap", Equity("SAP", "EUR"), 1000.0),))
    rep = compute_risk(book, hist, window=WINDOW, horizon_days=horizon, confidence=(0.95, 0.99))
    v0 = 1000.0 * _last(hist, "SAP") * _last(hist, "EURUSD")
    r_s = _returns(hist, "SAP", horizon=horizon)
    r_x = _returns(hist, "EURUSD", horizon=horizon)
    pnl = v0 * ((1.0 + r_s) * (1.0 + r_x) - 1.0)
    assert rep.excluded_positions == ()
    assert rep.portfolio["market_value"] == pytest.approx(v0, rel=1e-15)
    for c in (0.95, 0.99):
        assert rep.measure(c).value_at_risk == pytest.approx(_var(pnl, c), rel=1e-12)
    if horizon == 1:  # 300 scenarios: the 99% tail is the 3 worst
        assert rep.measure(0.99).expected_shortfall == pytest.approx(_es(pnl, 0.99), rel=1e-12)
    # The FX term is not negligible: ignoring it gives another number.
    local_only = v0 * r_s
    assert abs(_var(local_only, 0.99) - _var(pnl, 0.99)) > 1e-3 * _var(pnl, 0.99)


def test_eur_option_historical_pnl_is_black_scholes_times_the_fx_path(hist):
    horizon = 3
    opt = _eur_option(hist)
    book = Portfolio((Position("c", opt, 20.0, 100.0),))
    s0, x0 = _last(hist, "SAP"), _last(hist, "EURUSD")
    t0, th = 60 / 365, 60 / 365 - horizon / 252
    v0 = black_scholes(s0, 125.0, t0, 0.3, 0.02, 0.01, "call")
    r_s = _returns(hist, "SAP", horizon=horizon)
    r_x = _returns(hist, "EURUSD", horizon=horizon)
    v1 = black_scholes(s0 * (1 + r_s), 125.0, th, 0.3, 0.02, 0.01, "call")
    expected = 2000.0 * (x0 * (1 + r_x) * v1 - x0 * v0)

    rep = compute_risk(book, hist, window=WINDOW, horizon_days=horizon, confidence=0.99)
    assert rep.portfolio["market_value"] == pytest.approx(2000.0 * x0 * v0, rel=1e-12)
    assert rep.measure(0.99).value_at_risk == pytest.approx(_var(expected, 0.99), rel=1e-9)

    # Scenario by scenario, through the compiled book.
    column_of = {s: i for i, s in enumerate(SYMBOLS)}
    cb = compile_book(book, hist.last_date, column_of, hist.prices[-1], horizon)
    scen = hist.returns(len(hist.dates) - 1, WINDOW, np.arange(len(SYMBOLS)), horizon)
    np.testing.assert_allclose(cb.pnl(scen), expected, rtol=1e-10, atol=1e-8)
    np.testing.assert_allclose(cb.position_pnl(scen)[:, 0], expected, rtol=1e-10, atol=1e-8)


def test_fx_spot_quoted_in_another_currency_converts_through_the_quote_to_base_factor(hist):
    book = Portfolio((Position("eg", FxSpot("EURGBP"), 1e6),))
    rep = compute_risk(book, hist, window=WINDOW, confidence=0.99)
    v0 = 1e6 * _last(hist, "EURGBP") * _last(hist, "GBPUSD")
    pnl = v0 * ((1 + _returns(hist, "EURGBP")) * (1 + _returns(hist, "GBPUSD")) - 1)
    assert rep.excluded_positions == ()
    assert rep.portfolio["market_value"] == pytest.approx(v0, rel=1e-15)
    assert rep.measure(0.99).value_at_risk == pytest.approx(_var(pnl, 0.99), rel=1e-12)


def test_foreign_future_has_zero_value_and_its_local_pnl_converted_at_the_horizon_rate(hist):
    book = Portfolio((Position("fx", Future("FESX", "EUR"), -3.0, 10.0),))
    rep = compute_risk(book, hist, window=WINDOW, horizon_days=2, confidence=0.95)
    notional = -30.0 * _last(hist, "FESX") * _last(hist, "EURUSD")
    r_f, r_x = _returns(hist, "FESX", horizon=2), _returns(hist, "EURUSD", horizon=2)
    pnl = notional * r_f * (1 + r_x)  # units * dF in EUR, converted at X_h
    assert rep.portfolio["market_value"] == 0.0
    assert rep.measure(0.95).value_at_risk == pytest.approx(_var(pnl, 0.95), rel=1e-12)


def test_position_pnl_of_a_mixed_currency_book_sums_to_the_book_pnl(hist):
    book = _mixed_book(hist)
    column_of = {s: i for i, s in enumerate(SYMBOLS)}
    cb = compile_book(book, hist.last_date, column_of, hist.prices[-1], 1)
    rng = np.random.default_rng(5)
    scen = rng.normal(0, 0.05, (500, len(SYMBOLS)))
    pp = cb.position_pnl(scen)
    np.testing.assert_allclose(pp.sum(axis=1), cb.pnl(scen), rtol=1e-12, atol=1e-7)
    np.testing.assert_allclose(cb.linear_pnl(scen) + cb.option_pnl_full(scen), cb.pnl(scen))
    # Monte Carlo scenarios are single precision: the positions still sum to the book in double
    scen32 = scen.astype(np.float32)
    np.testing.assert_allclose(
        cb.position_pnl(scen32).sum(axis=1), cb.pnl(scen32), rtol=1e-12, atol=1e-7
    )


def _mixed_book(h):
    return Portfolio(
        (
            Position("sap", Equity("SAP", "EUR"), 1000.0),
            Position("aaa", Equity("AAA"), -800.0),
            Position("c_eur", _eur_option(h), 20.0, 100.0),
            Position("p_eur", _eur_option(h, 5, "put", 118.0), -10.0, 100.0),  # expires in h
            Position(
                "c_usd",
                EuropeanOption("AAA", 52.0, h.last_date + dt.timedelta(days=45), "call", 0.35),
                30.0,
                100.0,
            ),
            Position("eg", FxSpot("EURGBP"), 2e5),
            Position("fut", Future("FESX", "EUR"), 2.0, 10.0),
        )
    )


# --- Monte Carlo: grid against full revaluation ---------------------------------------------


def test_montecarlo_grid_and_full_agree_within_the_grid_bound(hist):
    book = _mixed_book(hist)
    kw = dict(
        method="montecarlo",
        window=WINDOW,
        horizon_days=10,
        confidence=(0.95, 0.99),
        seed=4,
        n_scenarios=20_000,
    )
    grid = compute_risk(book, hist, revaluation="grid", **kw)
    full = compute_risk(book, hist, revaluation="full", **kw)
    bound = grid.parameters["revaluation_error_bound"]
    assert grid.excluded_positions == ()
    for c in (0.95, 0.99):
        g, f = grid.measure(c), full.measure(c)
        assert abs(g.value_at_risk - f.value_at_risk) <= bound + 1e-6
        assert abs(g.expected_shortfall - f.expected_shortfall) <= bound + 1e-6


def test_grid_pnl_of_a_foreign_book_is_exact_where_the_grid_is_not_used(hist):
    """Foreign options and linear cross terms are exact on every path; only the USD option is
    interpolated, within the bound."""
    book = _mixed_book(hist)
    column_of = {s: i for i, s in enumerate(SYMBOLS)}
    cb = compile_book(book, hist.last_date, column_of, hist.prices[-1], 10)
    lo, hi = np.full(len(SYMBOLS), -0.3), np.full(len(SYMBOLS), 0.3)
    grid = build_option_grid(cb, lo, hi)
    assert set(np.asarray(grid.exact)) == {
        cb.option_ids.index("c_eur"),
        cb.option_ids.index("p_eur"),
    }
    rng = np.random.default_rng(8)
    scen = rng.normal(0, 0.06, (3000, len(SYMBOLS))).astype(np.float32)
    err = np.abs(grid.pnl(scen, cb.linear_exposure) - cb.pnl(scen))
    assert err.max() <= grid.error_bound + 1e-7
    # Without the USD option the grid has nothing to interpolate: exact.
    only_eur = Portfolio(tuple(p for p in book.positions if p.id != "c_usd"))
    cb2 = compile_book(only_eur, hist.last_date, column_of, hist.prices[-1], 10)
    grid2 = build_option_grid(cb2, lo, hi)
    assert grid2.error_bound == 0.0
    np.testing.assert_allclose(grid2.pnl(scen, cb2.linear_exposure), cb2.pnl(scen), atol=1e-7)


# --- parametric ------------------------------------------------------------------------------


def _window_cov(h, symbols):
    r = np.column_stack([_returns(h, s) for s in symbols])
    return np.cov(r.T, ddof=1)


def test_parametric_delta_normal_uses_the_combined_exposure_vector(hist):
    book = Portfolio(
        (
            Position("sap", Equity("SAP", "EUR"), 1000.0),
            Position("aaa", Equity("AAA"), 500.0),
            Position("fx", FxSpot("EURUSD"), -50_000.0),
        )
    )
    rep = compute_risk(
        book, hist, method="parametric", approximation="delta", window=WINDOW, confidence=0.99
    )
    s, x, a = _last(hist, "SAP"), _last(hist, "EURUSD"), _last(hist, "AAA")
    v_sap = 1000.0 * s * x
    # Exposures to (SAP, EURUSD, AAA): the EUR stock's value on SAP and on EURUSD.
    b = np.array([v_sap, v_sap - 50_000.0 * x, 500.0 * a])
    sd = np.sqrt(b @ _window_cov(hist, ("SAP", "EURUSD", "AAA")) @ b)
    z = stats.norm.ppf(0.99)
    assert rep.measure(0.99).value_at_risk == pytest.approx(z * sd, rel=1e-10)
    assert rep.measure(0.99).expected_shortfall == pytest.approx(
        sd * stats.norm.pdf(z) / 0.01, rel=1e-10
    )
    assert rep.parameters["approximation"] == "delta"
    assert any("FX-converted positions enter by their delta only" in n for n in rep.notes)


def test_parametric_delta_gamma_has_the_cross_gamma_off_the_diagonal(hist):
    book = Portfolio((Position("sap", Equity("SAP", "EUR"), 1000.0),))
    rep = compute_risk(book, hist, method="parametric", window=WINDOW, confidence=0.99)
    v0 = 1000.0 * _last(hist, "SAP") * _last(hist, "EURUSD")
    b = np.array([v0, v0])
    g = np.array([[0.0, v0], [v0, 0.0]])  # P&L = v0 (r_S + r_X + r_S r_X)
    cov = _window_cov(hist, ("SAP", "EURUSD"))
    m, sd, skew, kurt = quadratic_moments(0.0, b, g, np.zeros(2), cov)
    var, es = cornish_fisher_var_es(m, sd, 0.99, skew, kurt)
    assert rep.parameters["approximation"] == "delta-gamma"
    assert rep.measure(0.99).value_at_risk == pytest.approx(var, rel=1e-10)
    assert rep.measure(0.99).expected_shortfall == pytest.approx(es, rel=1e-10)
    assert m == pytest.approx(v0 * cov[0, 1])  # E[r_S r_X] = cov: a non-zero mean


def test_sensitivities_are_the_derivatives_of_the_exact_pnl(hist):
    """b and G against central finite differences of the fully revalued book P&L."""
    book = _mixed_book(hist)
    column_of = {s: i for i, s in enumerate(SYMBOLS)}
    cb = compile_book(book, hist.last_date, column_of, hist.prices[-1], 2)
    a, b, g = cb.sensitivities()
    assert g.shape == (len(SYMBOLS), len(SYMBOLS))
    np.testing.assert_allclose(g, g.T)
    k = len(SYMBOLS)
    eps = 1e-4

    def pnl(*bumps):
        r = np.zeros((1, k))
        for j, e in bumps:
            r[0, j] += e
        return cb.pnl(r)[0]

    assert a == pytest.approx(pnl(), rel=1e-12)
    scale = np.abs(b).max()
    for i in range(k):
        fd = (pnl((i, eps)) - pnl((i, -eps))) / (2 * eps)
        assert b[i] == pytest.approx(fd, rel=1e-6, abs=1e-8 * scale), SYMBOLS[i]
        for j in range(k):
            fd2 = (
                pnl((i, eps), (j, eps))
                - pnl((i, eps), (j, -eps))
                - pnl((i, -eps), (j, eps))
                + pnl((i, -eps), (j, -eps))
            ) / (4 * eps * eps)
            assert g[i, j] == pytest.approx(fd2, rel=1e-4, abs=1e-6 * scale), (i, j)
    # Restricted to the book's columns, the same numbers.
    a2, b2, g2 = cb.sensitivities(cb.columns)
    np.testing.assert_array_equal(b2, b[cb.columns])
    np.testing.assert_array_equal(g2, g[np.ix_(cb.columns, cb.columns)])


def test_base_currency_book_keeps_a_diagonal_gamma(hist):
    opt = EuropeanOption("AAA", 52.0, hist.last_date + dt.timedelta(days=45), "call", 0.35)
    book = Portfolio((Position("c", opt, 3.0, 100.0), Position("a", Equity("AAA"), 1.0)))
    column_of = {s: i for i, s in enumerate(SYMBOLS)}
    cb = compile_book(book, hist.last_date, column_of, hist.prices[-1], 1)
    _, _, g = cb.sensitivities()
    assert g.shape == (len(SYMBOLS),) and g[_col(hist, "AAA")] > 0


# --- exclusions ------------------------------------------------------------------------------


def test_missing_fx_factor_excludes_the_position_naming_the_factor(hist):
    book = Portfolio(
        (
            Position("ok", Equity("AAA"), 1.0),
            Position("jp", Equity("SAP", "JPY"), 1.0),
            Position("eurbase", Equity("AAA"), 1.0),
        )
    )
    rep = compute_risk(book, hist, window=WINDOW)
    [exc] = rep.excluded_positions
    assert exc["id"] == "jp"
    assert "JPYUSD" in exc["reason"] and "not in the price history" in exc["reason"]
    assert (
        "base currency is USD" in exc["reason"]
        and "set the base currency to JPY" in (exc["reason"])
    )
    # Base EUR: USD positions need USDEUR; the history's EURUSD (the inverted quote) is not used.
    only_usd = Portfolio((Position("a", Equity("AAA"), 1.0),))
    with pytest.raises(NoPositionsError, match="USDEUR.*inverted quote EURUSD is not used"):
        compute_risk(only_usd, hist, window=WINDOW, base_currency="EUR")


def test_fx_factor_with_gaps_in_the_window_excludes_the_position(hist):
    prices = hist.prices.copy()
    prices[-20, _col(hist, "EURUSD")] = np.nan
    h = type(hist)(hist.dates.copy(), hist.symbols, prices)
    book = Portfolio(
        (Position("sap", Equity("SAP", "EUR"), 1.0), Position("aaa", Equity("AAA"), 1.0))
    )
    rep = compute_risk(book, h, window=WINDOW)
    [exc] = rep.excluded_positions
    assert exc["id"] == "sap"
    assert "EURUSD" in exc["reason"] and "1 missing closes" in exc["reason"]


def test_fx_spot_without_its_quote_to_base_factor_is_excluded(hist):
    # A history without GBPUSD: EURGBP cannot be converted to USD.
    keep = [i for i, s in enumerate(SYMBOLS) if s != "GBPUSD"]
    h = type(hist)(hist.dates.copy(), tuple(SYMBOLS[i] for i in keep), hist.prices[:, keep])
    book = Portfolio((Position("a", Equity("AAA"), 1.0), Position("eg", FxSpot("EURGBP"), 1.0)))
    rep = compute_risk(book, h, window=WINDOW)
    [exc] = rep.excluded_positions
    assert exc["id"] == "eg" and "GBPUSD" in exc["reason"] and "priced in GBP" in exc["reason"]
