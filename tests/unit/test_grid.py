"""Tests of riskengine.pricing.compiled (compile_book / CompiledBook) and
riskengine.pricing.grid (build_option_grid / OptionGrid).

Oracles: a Black-Scholes-Merton formula written here with math.erf (independent of the engine),
exact linear P&L, and full revaluation for the grid's error bound.
"""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pytest

from riskengine.instruments import Equity, EuropeanOption, Future, Portfolio, Position
from riskengine.pricing.compiled import compile_book
from riskengine.pricing.grid import build_option_grid

AS_OF = dt.date(2024, 3, 1)
HORIZON = 10  # trading days: options are revalued at T - 10/252 (0.0397 years)
COLUMN_OF = {"AAA": 0, "BBB": 1, "CCC": 2, "FUT": 3}
SPOT = np.array([100.0, 50.0, 20.0, 4000.0])


def _ncdf(x):
    return 0.5 * (1.0 + math.erf(x / math.sqrt(2.0)))


def _bs(s, k, t, vol, r, q, is_call):
    """Black-Scholes-Merton with dividend yield q (q = r for Black-76); intrinsic at t <= 0."""
    if t <= 0:
        return max(s - k, 0.0) if is_call else max(k - s, 0.0)
    st = vol * math.sqrt(t)
    d1 = (math.log(s / k) + (r - q + 0.5 * vol * vol) * t) / st
    d2 = d1 - st
    if is_call:
        return s * math.exp(-q * t) * _ncdf(d1) - k * math.exp(-r * t) * _ncdf(d2)
    return k * math.exp(-r * t) * _ncdf(-d2) - s * math.exp(-q * t) * _ncdf(-d1)


def _opt(underlying, strike, days, kind, vol, rate=0.03, q=0.0, utype="spot"):
    return EuropeanOption(
        underlying,
        strike,
        AS_OF + dt.timedelta(days=days),
        kind,
        vol,
        rate=rate,
        dividend_yield=q,
        underlying_type=utype,
    )


def _portfolio():
    return Portfolio(
        (
            Position("eq_aaa", Equity("AAA"), 200.0),
            Position("c_aaa_105", _opt("AAA", 105.0, 90, "call", 0.25, q=0.01), 10.0, 100.0),
            Position("p_aaa_95", _opt("AAA", 95.0, 60, "put", 0.30, q=0.01), -15.0, 100.0),
            # Expires after 7 calendar days, inside the 10-trading-day horizon: intrinsic.
            Position("c_aaa_100_exp", _opt("AAA", 100.0, 7, "call", 0.20), 5.0, 100.0),
            Position("c_aaa_110", _opt("AAA", 110.0, 365, "call", 0.22, q=0.01), -8.0, 100.0),
            Position("eq_ccc", Equity("CCC"), -500.0),
            Position("p_bbb_48", _opt("BBB", 48.0, 120, "put", 0.35), 30.0, 100.0),
            Position("c_bbb_55", _opt("BBB", 55.0, 30, "call", 0.40), -20.0, 100.0),
            Position("fut", Future("FUT"), 3.0, 50.0),
            Position(
                "c_fut_4100",
                _opt("FUT", 4100.0, 45, "call", 0.20, rate=0.04, utype="future"),
                2.0,
                50.0,
            ),
        )
    )


def _expected_option_pnl(position, returns_row):
    """Independent value change of one option position over the horizon."""
    o = position.instrument
    s0 = SPOT[COLUMN_OF[o.underlying]]
    s1 = s0 * (1.0 + returns_row[COLUMN_OF[o.underlying]])
    t_now = (o.expiry - AS_OF).days / 365.0
    t_h = t_now - HORIZON / 252.0
    q = o.rate if o.underlying_type == "future" else o.dividend_yield
    is_call = o.option_type == "call"
    v0 = _bs(s0, o.strike, t_now, o.implied_vol, o.rate, q, is_call)
    v1 = _bs(s1, o.strike, t_h, o.implied_vol, o.rate, q, is_call)
    return position.quantity * position.multiplier * (v1 - v0)


@pytest.fixture(scope="module")
def book():
    return compile_book(_portfolio(), AS_OF, COLUMN_OF, SPOT, HORIZON)


def _scenarios(n=4000, seed=42):
    rng = np.random.default_rng(seed)
    sd = np.array([0.05, 0.06, 0.04, 0.03])
    r = rng.standard_normal((n, 4)) * sd
    # All option underlyings far outside [-0.3, 0.3].
    far = np.array(
        [
            [0.5, -0.6, 0.0, 0.45],
            [-0.8, 0.9, 0.1, -0.5],
            [1.5, 0.35, -0.2, 0.31],
            [-0.31, -0.95, 0.05, -0.7],
        ]
    )
    # Mixed: some underlyings inside, some outside.
    mixed = np.array(
        [
            [0.5, 0.01, 0.0, -0.02],
            [0.02, -0.6, 0.0, 0.01],
            [-0.1, 0.1, 0.0, 0.8],
            [0.01, -0.02, 3.0, 0.0],  # a huge move of a column without options
        ]
    )
    # Exactly on the grid ends and on nodes.
    edges = np.array([[-0.3, 0.3, 0.0, -0.3], [0.3, -0.3, 0.0, 0.3], [0.0, 0.0, 0.0, 0.0]])
    return np.vstack([r, far, mixed, edges]), far


def test_compiled_book_structure(book):
    assert book.excluded == ()
    assert book.position_ids == tuple(p.id for p in _portfolio().positions)
    assert len(book.options) == 7
    t_h = book.options.t_horizon[book.option_ids.index("c_aaa_100_exp")]
    assert t_h == pytest.approx(7 / 365 - 10 / 252) and t_h < 0


def test_linear_positions_are_exact(book):
    returns, _ = _scenarios(500)
    pp = book.position_pnl(returns)
    idx = {pid: j for j, pid in enumerate(book.position_ids)}
    np.testing.assert_array_equal(pp[:, idx["eq_aaa"]], 200.0 * 1.0 * 100.0 * returns[:, 0])
    np.testing.assert_array_equal(pp[:, idx["eq_ccc"]], -500.0 * 1.0 * 20.0 * returns[:, 2])
    np.testing.assert_array_equal(pp[:, idx["fut"]], 3.0 * 50.0 * 4000.0 * returns[:, 3])


def test_option_positions_match_independent_formula(book):
    returns, _ = _scenarios(200)
    pp = book.position_pnl(returns)
    for j, p in enumerate(_portfolio().positions):
        if not isinstance(p.instrument, EuropeanOption):
            continue
        expected = np.array([_expected_option_pnl(p, row) for row in returns])
        np.testing.assert_allclose(pp[:, j], expected, rtol=1e-9, atol=1e-8, err_msg=p.id)


def test_position_pnl_sums_to_pnl(book):
    returns, _ = _scenarios(1000)
    pp = book.position_pnl(returns)
    np.testing.assert_allclose(pp.sum(axis=1), book.pnl(returns), rtol=1e-12, atol=1e-7)
    # And the total equals the independent per-position oracle.
    expected = np.zeros(returns.shape[0])
    for p in _portfolio().positions:
        if isinstance(p.instrument, EuropeanOption):
            expected += [_expected_option_pnl(p, row) for row in returns]
        else:
            col = COLUMN_OF[p.instrument.symbol]
            expected += p.quantity * p.multiplier * SPOT[col] * returns[:, col]
    np.testing.assert_allclose(book.pnl(returns), expected, rtol=1e-9, atol=1e-7)


def test_grid_within_error_bound(book):
    lo, hi = np.full(4, -0.3), np.full(4, 0.3)
    grid = build_option_grid(book, lo, hi)
    returns, _ = _scenarios()
    full = book.option_pnl_full(returns)
    approx = grid.pnl(returns)
    err = np.abs(approx - full)
    assert np.all(err <= grid.error_bound + 1e-9), (err.max(), grid.error_bound)
    # The bound is small relative to the option P&L scale.
    scale = np.std(full)
    assert scale > 1e3
    assert grid.error_bound < 1e-2 * scale
    # Interpolation is not exact: the test discriminates.
    assert err.max() > 0


def test_grid_out_of_range_scenarios_are_exact(book):
    grid = build_option_grid(book, np.full(4, -0.3), np.full(4, 0.3))
    _, far = _scenarios()
    np.testing.assert_allclose(grid.pnl(far), book.option_pnl_full(far), rtol=0, atol=1e-9)


def test_grid_single_underlying_dense_check():
    """One underlying, a dense sweep of returns across and beyond the grid."""
    portfolio = Portfolio(tuple(p for p in _portfolio().positions if p.instrument.factor == "AAA"))
    book = compile_book(portfolio, AS_OF, COLUMN_OF, SPOT, HORIZON)
    grid = build_option_grid(book, np.full(4, -0.25), np.full(4, 0.35), n_points=65)
    returns = np.zeros((20001, 4))
    returns[:, 0] = np.linspace(-0.6, 0.7, 20001)
    full = book.option_pnl_full(returns)
    err = np.abs(grid.pnl(returns) - full)
    assert np.all(err <= grid.error_bound + 1e-9), (err.max(), grid.error_bound)
    outside = (returns[:, 0] < -0.25) | (returns[:, 0] > 0.35)
    assert np.max(err[outside]) <= 1e-9


def test_book_without_options_gives_zero_grid():
    portfolio = Portfolio((Position("eq", Equity("AAA"), 10.0),))
    book = compile_book(portfolio, AS_OF, COLUMN_OF, SPOT, HORIZON)
    grid = build_option_grid(book, np.full(4, -0.3), np.full(4, 0.3))
    returns, _ = _scenarios(50)
    np.testing.assert_array_equal(grid.pnl(returns), np.zeros(returns.shape[0]))
    assert grid.error_bound == 0.0


def test_grid_bound_holds_for_near_expiry_option():
    # Expiry 3 calendar days away, 2-day horizon: T - h/252 = 2.8e-4 years (gamma width 0.17%
    # of spot at 10% vol); 129 nodes over [-100%, +100%] (step 1.6%).
    portfolio = Portfolio((Position("c", _opt("AAA", 98.0, 3, "call", 0.10, rate=0.0), 1.0),))
    book = compile_book(portfolio, AS_OF, COLUMN_OF, SPOT, 2)
    grid = build_option_grid(book, np.full(4, -1.0), np.full(4, 1.0), n_points=129)
    returns = np.zeros((40001, 4))
    returns[:, 0] = np.linspace(-0.999, 0.999, 40001)
    err = np.abs(grid.pnl(returns) - book.option_pnl_full(returns))
    assert err.max() <= grid.error_bound + 1e-9


@pytest.mark.parametrize("keep", ["all", "subset"])
def test_located_scenarios_give_the_same_pnl_bit_for_bit(book, keep):
    """Scenarios located once on the grid coordinates (shared by every book) and read by a
    book's tables equal the book locating them itself, in both table layouts (a table per
    column, or only the columns with options)."""
    from riskengine.pricing.grid import GridCoordinates

    lo, hi = np.full(4, -0.3), np.full(4, 0.3)
    if keep == "subset":  # options on one column only: tables for that column alone
        portfolio = Portfolio(tuple(p for p in _portfolio().positions
                                    if not isinstance(p.instrument, EuropeanOption)
                                    or p.instrument.factor == "AAA"))  # fmt: skip
        book = compile_book(portfolio, AS_OF, COLUMN_OF, SPOT, 1, "USD")
    grid = build_option_grid(book, lo, hi)
    coords = GridCoordinates.of(lo, hi, grid.n_points)  # from the model's range, not the book
    assert coords.matches(grid) and grid.all_columns is (keep == "all")
    returns, far = _scenarios()
    mixed = np.vstack([returns, far])  # inside and beyond the grid
    located = coords.locate(mixed)
    linear = book.linear_exposure
    assert np.array_equal(grid.pnl(mixed, located=located), grid.pnl(mixed))
    assert np.array_equal(grid.pnl(mixed, linear, located=located), grid.pnl(mixed, linear))
