"""Parametric VaR/ES against closed forms computed independently in the test."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from riskengine import Portfolio, Position, compute_risk
from support import gaussian_history, option, stock_book

QTY = {"S0": 1000.0, "S1": -400.0, "S2": 700.0}


def _window_returns(h, window):
    p = h.prices[-window - 1 :]
    return p[1:] / p[:-1] - 1.0


def _exposure(h):
    return np.array([QTY[s] * h.prices[-1, h.column[s]] for s in ("S0", "S1", "S2")])


@pytest.fixture(scope="module")
def hist():
    return gaussian_history(n_obs=750, k=3, seed=2)


@pytest.mark.parametrize("horizon", [1, 10])
@pytest.mark.parametrize("mean", ["zero", "sample"])
def test_delta_normal_matches_closed_form(hist, horizon, mean):
    window = 500
    r = _window_returns(hist, window)
    e = _exposure(hist)
    cov = np.cov(r.T, ddof=1)
    mu = r.mean(axis=0) if mean == "sample" else np.zeros(3)
    m = horizon * (e @ mu)
    sd = np.sqrt(horizon * e @ cov @ e)
    rep = compute_risk(
        stock_book(QTY),
        hist,
        method="parametric",
        window=window,
        horizon_days=horizon,
        mean=mean,
        confidence=(0.95, 0.99, 0.975),
    )
    for c in (0.95, 0.99, 0.975):
        z = stats.norm.ppf(c)
        assert rep.measure(c).value_at_risk == pytest.approx(-m + sd * z, rel=1e-10)
        assert rep.measure(c).expected_shortfall == pytest.approx(
            -m + sd * stats.norm.pdf(z) / (1 - c), rel=1e-10
        )
    assert rep.parameters["mean"] == mean
    assert rep.n_scenarios is None


def test_student_t_matches_closed_form(hist):
    r = _window_returns(hist, 500)
    e = _exposure(hist)
    sd = np.sqrt(e @ np.cov(r.T, ddof=1) @ e)
    df = 4.0
    rep = compute_risk(
        stock_book(QTY),
        hist,
        method="parametric",
        distribution="student-t",
        df=df,
        window=500,
        confidence=0.99,
    )
    scale = sd * np.sqrt((df - 2) / df)
    q = stats.t.ppf(0.99, df)
    es_std = stats.t.expect(lambda x: x, args=(df,), lb=q, conditional=True)
    assert rep.measure(0.99).value_at_risk == pytest.approx(scale * q, rel=1e-9)
    assert rep.measure(0.99).expected_shortfall == pytest.approx(scale * es_std, rel=1e-6)
    assert rep.parameters["df"] == df


def test_cornish_fisher_uses_historical_pnl_moments(hist):
    r = _window_returns(hist, 500)
    e = _exposure(hist)
    sd = np.sqrt(e @ np.cov(r.T, ddof=1) @ e)
    pnl = r @ e
    s = stats.skew(pnl, bias=True)
    k = stats.kurtosis(pnl, bias=True, fisher=True)
    rep = compute_risk(
        stock_book(QTY),
        hist,
        method="parametric",
        distribution="cornish-fisher",
        window=500,
        confidence=0.99,
    )
    z = stats.norm.ppf(0.99)
    ls = -s  # loss skewness
    zcf = z + (z * z - 1) * ls / 6 + (z**3 - 3 * z) * k / 24 - (2 * z**3 - 5 * z) * ls * ls / 36
    assert rep.measure(0.99).value_at_risk == pytest.approx(sd * zcf, rel=1e-9)
    assert rep.parameters["skewness"] == pytest.approx(s, rel=1e-9)
    assert rep.parameters["excess_kurtosis"] == pytest.approx(k, rel=1e-9)


def test_delta_gamma_close_to_full_revaluation_at_one_day(hist):
    as_of = hist.last_date
    s0 = hist.prices[-1, 0]
    book = Portfolio(
        (
            Position("c", option("S0", s0, 60, "call", vol=0.25, as_of=as_of), -50, 100),
            Position("s", stock_book({"S0": 1.0}).positions[0].instrument, 2000),
        )
    )
    dg = compute_risk(book, hist, method="parametric", window=500, confidence=0.99)
    delta = compute_risk(
        book, hist, method="parametric", approximation="delta", window=500, confidence=0.99
    )
    mc = compute_risk(
        book,
        hist,
        method="montecarlo",
        window=500,
        confidence=0.99,
        n_scenarios=200_000,
        seed=1,
        revaluation="full",
    )
    m = mc.measure(0.99)
    # Short gamma: the quadratic term adds to the loss tail, and delta-gamma lands near the
    # fully revalued Monte Carlo value while delta-only misses it.
    assert dg.parameters["approximation"] == "delta-gamma"
    assert abs(dg.measure(0.99).value_at_risk - m.value_at_risk) < 0.02 * m.value_at_risk
    assert abs(delta.measure(0.99).value_at_risk - m.value_at_risk) > abs(
        dg.measure(0.99).value_at_risk - m.value_at_risk
    )
    assert any("vega" in n for n in dg.notes)
