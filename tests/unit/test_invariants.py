"""Invariants every method must keep, on the bundled real data with stocks and options."""

from __future__ import annotations

import pytest

from riskengine import Portfolio, Position, RiskCache, compute_risk, load_portfolio
from support import ROOT

METHODS = [
    dict(method="historical"),
    dict(method="parametric"),
    dict(method="parametric", distribution="student-t"),
    dict(method="parametric", distribution="cornish-fisher"),
    dict(method="montecarlo", n_scenarios=20_000, seed=11),
    dict(method="montecarlo", n_scenarios=20_000, seed=11, distribution="student-t"),
]
IDS = ["historical", "delta-gamma", "student-t", "cornish-fisher", "mc-normal", "mc-t"]


@pytest.fixture(scope="module")
def book():
    return load_portfolio(ROOT / "examples" / "book.csv")


@pytest.fixture(scope="module")
def cache():
    return RiskCache()


@pytest.mark.parametrize("kw", METHODS, ids=IDS)
def test_twice_the_book_twice_the_risk(real_history, book, cache, kw):
    conf = (0.95, 0.99)
    one = compute_risk(book, real_history, window=750, confidence=conf, cache=cache, **kw)
    two = compute_risk(
        book.scaled(2.0), real_history, window=750, confidence=conf, cache=cache, **kw
    )
    for c in conf:
        assert two.measure(c).value_at_risk == pytest.approx(
            2 * one.measure(c).value_at_risk, rel=1e-9
        )
        assert two.measure(c).expected_shortfall == pytest.approx(
            2 * one.measure(c).expected_shortfall, rel=1e-9
        )


@pytest.mark.parametrize("kw", METHODS, ids=IDS)
def test_monotone_in_confidence_and_es_above_var(real_history, book, cache, kw):
    conf = (0.9, 0.95, 0.975, 0.99)
    rep = compute_risk(
        book, real_history, window=750, confidence=conf, horizon_days=5, cache=cache, **kw
    )
    vars_ = [rep.measure(c).value_at_risk for c in conf]
    assert vars_ == sorted(vars_)
    for c in conf:
        assert rep.measure(c).expected_shortfall >= rep.measure(c).value_at_risk


@pytest.mark.parametrize("kw", METHODS, ids=IDS)
def test_a_position_and_its_opposite_have_no_risk(real_history, book, cache, kw):
    opposite = tuple(
        Position(p.id + "-hedge", p.instrument, -p.quantity, p.multiplier, p.tags)
        for p in book.positions
    )
    hedged = Portfolio(book.positions + opposite)
    rep = compute_risk(hedged, real_history, window=750, confidence=0.99, cache=cache, **kw)
    scale = (
        compute_risk(book, real_history, window=750, confidence=0.99, cache=cache, **kw)
        .measure(0.99)
        .value_at_risk
    )
    assert abs(rep.measure(0.99).value_at_risk) <= 1e-9 * scale
    assert abs(rep.measure(0.99).expected_shortfall) <= 1e-9 * scale
    assert rep.portfolio["n_included"] == 2 * len(book)
