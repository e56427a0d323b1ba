"""A book compiled per market snapshot from a layout built once per book version.

``book_layout`` holds what compiling a book reads besides the prices; ``compile_layout`` makes
each snapshot's ``CompiledBook`` from it with arrays only, and an option grid is rebuilt from
the previous snapshot's by pricing again only the underlyings whose price moved.

Oracles: quantity x multiplier x price x FX rate written out per position, the position order
of the book for the exclusions, a layout built from scratch for every snapshot (a layout must
not depend on the prices it was built at), a grid built from scratch (the rebuilt grid must be
the same bits), and ``compute_risk`` with a fresh cache (a report must not depend on what a
cache kept from another snapshot).
"""

from __future__ import annotations

import dataclasses
import datetime as dt

import numpy as np
import pytest

from riskengine import compute_risk
from riskengine.cache import RiskCache
from riskengine.instruments import Equity, EuropeanOption, Future, FxSpot, Portfolio, Position
from riskengine.market.history import MarketState
from riskengine.pricing.compiled import MAX_NOTIONAL, book_layout, compile_book, compile_layout
from riskengine.pricing.grid import build_option_grid
from support import history_from_returns

AS_OF = dt.date(2024, 3, 1)
COLUMN_OF = {"AAA": 0, "BBB": 1, "EURUSD": 2, "SAP": 3, "GONE": 4}
SPOT = np.array([100.0, 50.0, 1.1, 120.0, 10.0])


def _opt(underlying, strike, days, kind="call", **kw):
    return EuropeanOption(underlying, strike, AS_OF + dt.timedelta(days=days), kind, 0.3, **kw)


def _book() -> Portfolio:
    return Portfolio(
        (
            Position("eq_aaa", Equity("AAA"), 200.0),
            Position("unknown", Equity("ZZZ"), 1.0),  # not in the history
            Position("c_aaa", _opt("AAA", 105.0, 90), 10.0, 100.0),
            Position("sap", Equity("SAP", currency="EUR"), 50.0),  # converts at EURUSD
            Position("expired", _opt("BBB", 50.0, -1), 3.0, 100.0),  # expired at as_of
            Position("gone", Equity("GONE"), 5.0),  # an unusable factor
            Position("fut", Future("BBB"), 2.0, 10.0),
            Position("huge", Equity("BBB"), 1e14),  # beyond MAX_NOTIONAL at 50 (1e14 x 50)
            Position("chf", Equity("SAP", currency="CHF"), 1.0),  # no CHFUSD factor
            Position("p_sap", _opt("SAP", 110.0, 60, "put", currency="EUR"), -4.0, 100.0),
            Position("eur", FxSpot("EURUSD"), 1000.0),
        )
    )


UNUSABLE = {"GONE": "GONE has gaps in the window."}


def _compiled(spot):
    return compile_book(_book(), AS_OF, COLUMN_OF, spot, 5, "USD", UNUSABLE)


def _same(a, b, path="book"):
    """Every field of two compiled books (or grids) equal, arrays bit for bit."""
    if dataclasses.is_dataclass(a):
        for f in dataclasses.fields(a):
            if f.name not in ("layout", "book"):
                _same(getattr(a, f.name), getattr(b, f.name), f"{path}.{f.name}")
    elif isinstance(a, np.ndarray):
        assert a.dtype == b.dtype and a.shape == b.shape, path
        assert a.tobytes() == b.tobytes(), path
    else:
        assert a == b, path


def test_values_are_quantity_times_multiplier_times_price_times_the_fx_rate():
    book = _compiled(SPOT)
    x = SPOT[2]
    expected = {
        "eq_aaa": 200.0 * 100.0,
        "sap": 50.0 * 120.0 * x,
        "fut": 2.0 * 10.0 * 50.0,
        "eur": 1000.0 * 1.1,
    }
    assert book.linear_ids == tuple(expected)
    assert book.linear_units_value.tolist() == list(expected.values())
    assert book.option_ids == ("c_aaa", "p_sap")
    assert book.options.fx_rate.tolist() == [1.0, x]
    # the future has no value; an option is worth its Black-Scholes value times units
    options = float(book.options.value_now @ book.options.units_base)
    assert book.market_value == pytest.approx(20_000.0 + 6_600.0 + 1_100.0 + options, rel=1e-15)


def test_exclusions_follow_the_book_order_whatever_excluded_them():
    book = _compiled(SPOT)
    reasons = {e.id: e.reason for e in book.excluded}
    assert tuple(reasons) == ("unknown", "expired", "gone", "huge", "chf")
    assert "unknown symbol 'ZZZ'" in reasons["unknown"]
    assert "option expired on 2024-02-29" in reasons["expired"]
    assert reasons["gone"] == UNUSABLE["GONE"]
    assert f"1e+14 x 1 x 50 = 5e+15 USD is beyond the limit {MAX_NOTIONAL:.0e}" in reasons["huge"]
    assert "CHFUSD" in reasons["chf"]


def test_a_price_can_exclude_a_position_and_the_next_one_bring_it_back():
    layout = book_layout(_book(), AS_OF, COLUMN_OF, SPOT.size, 5, "USD", UNUSABLE)
    cheap = SPOT.copy()
    cheap[1] = 0.5  # "huge": 1e14 x 0.5 = 5e13, within the limit
    for spot in (SPOT, cheap, SPOT * 1.01, cheap * 0.99):
        shared = compile_layout(layout, spot)
        _same(shared, _compiled(spot))  # the layout does not depend on the prices
        assert ("huge" in shared.position_ids) == (spot[1] < 1.0)
        assert shared.position_index is not None and shared.tag_labels is not None


def _options_book(n_names: int, per_name: int, rng) -> tuple[Portfolio, dict, np.ndarray]:
    names = [f"N{i:02d}" for i in range(n_names)]
    positions = []
    for i, name in enumerate(names):
        positions.append(Position(f"eq{i}", Equity(name), float(rng.integers(-500, 500))))
        for j in range(per_name):
            kind = "call" if j % 2 else "put"
            days = int(rng.integers(2, 400))  # some expire inside the 5-day horizon
            strike = 100.0 * float(rng.uniform(0.7, 1.3))
            option = _opt(name, strike, days, kind)
            positions.append(Position(f"o{i}_{j}", option, float(rng.integers(-20, 20)), 100.0))
    column_of = {name: k for k, name in enumerate(names)}
    return Portfolio(tuple(positions)), column_of, np.full(n_names, 100.0)


def test_a_grid_rebuilt_for_moved_prices_is_the_grid_built_from_scratch():
    rng = np.random.default_rng(5)
    portfolio, column_of, spot = _options_book(40, 6, rng)
    layout = book_layout(portfolio, AS_OF, column_of, spot.size, 5)
    lo, hi = -0.05 - 0.2 * rng.random(spot.size), 0.05 + 0.2 * rng.random(spot.size)
    grid = build_option_grid(compile_layout(layout, spot), lo, hi)
    for moves in (0, 1, 3, 17, 40):
        spot = spot.copy()
        moved = rng.choice(spot.size, moves, replace=False)
        spot[moved] *= 1.0 + 0.02 * rng.standard_normal(moves)
        book = compile_layout(layout, spot)
        rebuilt = build_option_grid(book, lo, hi, previous=grid)
        _same(rebuilt, build_option_grid(book, lo, hi), "grid")
        assert rebuilt.book is book
        grid = rebuilt
    # another range: built from scratch, not from the previous grid's tables
    other = build_option_grid(book, lo * 1.5, hi, previous=grid)
    _same(other, build_option_grid(book, lo * 1.5, hi), "grid")


@pytest.mark.parametrize("method", ["montecarlo", "historical", "parametric"])
def test_a_report_does_not_depend_on_what_the_cache_kept_from_other_snapshots(method):
    rng = np.random.default_rng(9)
    n = 12
    history = history_from_returns(0.01 * rng.standard_normal((400, n)))
    last = history.market_state(len(history.dates) - 1)
    positions = [Position(f"eq{k}", Equity(s), 100.0 + k) for k, s in enumerate(history.symbols)]
    for k, s in enumerate(history.symbols[:8]):
        strike = last.prices[s] * (0.9 + 0.025 * k)
        expiry = history.dates[-1] + dt.timedelta(days=30 + 20 * k)
        option = EuropeanOption(s, strike, expiry, "call" if k % 2 else "put", 0.25)
        positions.append(Position(f"o{k}", option, 5.0 - k, 100.0))
    portfolio = Portfolio(tuple(positions))
    kept = RiskCache()
    prices = dict(last.prices)
    for step in range(4):
        for s in rng.choice(history.symbols, 3, replace=False):
            prices[s] *= 1.0 + 0.01 * rng.standard_normal()
        market = MarketState(last.as_of, dict(prices))
        kw = dict(method=method, n_scenarios=2_000, seed=3, contributions=True, window=250)
        warm = compute_risk(portfolio, history, market=market, cache=kept, **kw).to_dict()
        fresh = compute_risk(portfolio, history, market=market, cache=RiskCache(), **kw)
        assert warm == fresh.to_dict(), f"snapshot {step}"


def test_a_pickled_book_leaves_what_was_derived_from_it_behind():
    import pickle

    layout = book_layout(_book(), AS_OF, COLUMN_OF, SPOT.size, 5, "USD", UNUSABLE)
    book = compile_layout(layout, SPOT)
    book.tag_labels  # noqa: B018 (derived and kept on the layout)
    layout.latest["option-grid"] = object()
    copy = pickle.loads(pickle.dumps(book))
    _same(copy, book)
    assert copy.layout is not None and "latest" not in copy.layout.__dict__
    assert copy.layout.latest == {} and copy.tag_labels == book.tag_labels
