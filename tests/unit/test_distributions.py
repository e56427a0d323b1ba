"""Tests of riskengine.core.distributions against textbook values, scipy and numerical
integration of the quantile function: ES_c = 1/(1-c) int_c^1 VaR_u du (loss side).

Sign convention: the functions take the P&L mean, sd and (for Cornish-Fisher) the P&L skewness;
they return positive loss amounts, VaR = -mean + sigma * q.
"""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pytest
from scipy import integrate, stats

from riskengine.core.distributions import (
    cornish_fisher_var_es,
    cornish_fisher_z,
    normal_var_es,
    population_moments,
    student_t_var_es,
)


def _tail_mean(quantile, c):
    """1/(1-c) int_c^1 quantile(u) du by adaptive quadrature (integrable singularity at 1)."""
    value, err = integrate.quad(quantile, c, 1.0, limit=500, epsabs=1e-12, epsrel=1e-11)
    return value / (1.0 - c)


# --- normal ------------------------------------------------------------------------------------


def test_normal_textbook_values():
    var, es = normal_var_es(0.0, 1.0, 0.99)
    assert var == pytest.approx(2.326348, abs=1e-6)
    assert es == pytest.approx(2.665214, abs=1e-6)
    var, es = normal_var_es(0.0, 1.0, 0.975)
    assert var == pytest.approx(1.959964, abs=1e-6)
    assert es == pytest.approx(2.337803, abs=1e-6)
    var, es = normal_var_es(0.0, 1.0, 0.95)
    assert var == pytest.approx(1.644854, abs=1e-6)
    assert es == pytest.approx(2.062713, abs=1e-6)


def test_normal_location_scale():
    mean, sigma = 0.3, 2.5
    for c in (0.95, 0.99):
        v0, e0 = normal_var_es(0.0, 1.0, c)
        var, es = normal_var_es(mean, sigma, c)
        assert var == pytest.approx(-mean + sigma * v0, rel=1e-14)
        assert es == pytest.approx(-mean + sigma * e0, rel=1e-14)
        assert es == pytest.approx(
            _tail_mean(lambda u: -mean + sigma * stats.norm.ppf(u), c), rel=1e-8
        )


# --- Student-t ---------------------------------------------------------------------------------


@pytest.mark.parametrize("df", [3.0, 4.0, 5.0, 8.0, 30.0])
@pytest.mark.parametrize("c", [0.95, 0.975, 0.99])
def test_student_t_against_scipy_and_quadrature(df, c):
    mean, sigma = -0.2, 1.7
    scale = sigma * math.sqrt((df - 2.0) / df)
    var, es = student_t_var_es(mean, sigma, c, df)
    assert var == pytest.approx(-mean + scale * stats.t.ppf(c, df), rel=1e-12)
    expected_es = _tail_mean(lambda u: -mean + scale * stats.t.ppf(u, df), c)
    assert es == pytest.approx(expected_es, rel=1e-7)
    assert es > var


def test_student_t_is_unit_variance():
    # The standardised t has variance 1: its sd-scaled draws match sigma.
    df = 5.0
    scale = math.sqrt((df - 2.0) / df)
    assert stats.t.std(df) * scale == pytest.approx(1.0, rel=1e-12)


def test_student_t_tends_to_normal():
    for c in (0.95, 0.99):
        tv, te = student_t_var_es(0.0, 1.0, c, 1e7)
        nv, ne = normal_var_es(0.0, 1.0, c)
        assert tv == pytest.approx(nv, rel=1e-6)
        assert te == pytest.approx(ne, rel=1e-6)
    # And the unit-variance t VaR at 99% moves monotonically towards the normal one.
    vs = [student_t_var_es(0.0, 1.0, 0.99, df)[0] for df in (3, 5, 10, 50, 1000)]
    assert all(abs(a - 2.326348) > abs(b - 2.326348) for a, b in zip(vs, vs[1:], strict=False))


def test_student_t_rejects_df_at_most_two():
    with pytest.raises(ValueError):
        student_t_var_es(0.0, 1.0, 0.99, 2.0)


# --- Cornish-Fisher ----------------------------------------------------------------------------


def _cf_quantile(z, s, k):
    """Textbook Cornish-Fisher quantile of a standardised variable (skew s, excess kurt k)."""
    return z + (z**2 - 1) * s / 6 + (z**3 - 3 * z) * k / 24 - (2 * z**3 - 5 * z) * s**2 / 36


def test_cornish_fisher_z_textbook():
    for c in (0.01, 0.05, 0.5, 0.95, 0.99):
        z = stats.norm.ppf(c)
        for s, k in [(0.0, 0.0), (-0.5, 3.0), (0.8, 1.2), (-1.2, 6.0)]:
            assert cornish_fisher_z(c, s, k) == pytest.approx(_cf_quantile(z, s, k), rel=1e-12)
    # Hand value: z = 2.326348, s = -0.5, k = 3:
    # 2.326348 + 4.411894 * (-0.5/6) + 5.610905 * 3/24 - 13.548159 * 0.25/36
    # = 2.326348 - 0.367658 + 0.701363 - 0.094084 = 2.565969
    assert cornish_fisher_z(0.99, -0.5, 3.0) == pytest.approx(2.565969, abs=2e-6)
    # Vectorised over confidences.
    out = cornish_fisher_z(np.array([0.95, 0.99]), 0.3, 1.0)
    assert out.shape == (2,)


def test_cornish_fisher_without_skew_or_kurtosis_is_normal():
    for c in (0.9, 0.95, 0.99):
        cv, ce = cornish_fisher_var_es(0.1, 2.0, c, 0.0, 0.0)
        nv, ne = normal_var_es(0.1, 2.0, c)
        assert cv == pytest.approx(nv, rel=1e-12)
        assert ce == pytest.approx(ne, rel=1e-12)


@pytest.mark.parametrize(
    "pnl_skew, kurt", [(-0.5, 1.0), (0.5, 1.0), (-1.0, 4.0), (0.3, 0.0), (0.0, 2.5)]
)
@pytest.mark.parametrize("c", [0.95, 0.99])
def test_cornish_fisher_es_is_tail_integral_of_cf_quantile(pnl_skew, kurt, c):
    mean, sigma = 0.05, 1.3
    loss_skew = -pnl_skew

    def loss_quantile(u):
        return -mean + sigma * _cf_quantile(stats.norm.ppf(u), loss_skew, kurt)

    var, es = cornish_fisher_var_es(mean, sigma, c, pnl_skew, kurt)
    assert var == pytest.approx(loss_quantile(c), rel=1e-12)
    assert es == pytest.approx(_tail_mean(loss_quantile, c), rel=1e-7)


def test_cornish_fisher_sign_convention():
    nv, ne = normal_var_es(0.0, 1.0, 0.99)
    # A P&L with a fat left tail (negative skew) has a larger loss quantile than the normal.
    lv, le = cornish_fisher_var_es(0.0, 1.0, 0.99, -0.8, 0.0)
    assert lv > nv and le > ne
    # And positive P&L skew gives a smaller one.
    rv, re_ = cornish_fisher_var_es(0.0, 1.0, 0.99, 0.8, 0.0)
    assert rv < nv and re_ < ne
    # Excess kurtosis raises the 99% quantile (z^3 - 3z > 0 for z > sqrt(3)).
    kv, _ = cornish_fisher_var_es(0.0, 1.0, 0.99, 0.0, 3.0)
    assert kv > nv


def test_cornish_fisher_on_skewed_sample_moves_towards_empirical():
    """For a moderately skewed P&L (negative of a gamma variable) CF VaR beats the normal
    approximation against the exact quantile."""
    shape = 20.0
    dist = stats.gamma(shape)
    mean, sd = dist.mean(), dist.std()
    pnl_skew = -2.0 / math.sqrt(shape)
    kurt = 6.0 / shape
    c = 0.99
    exact_var = dist.ppf(c) - mean  # loss = gamma - its mean, P&L mean 0
    cf_var, _ = cornish_fisher_var_es(0.0, sd, c, pnl_skew, kurt)
    n_var, _ = normal_var_es(0.0, sd, c)
    assert abs(cf_var - exact_var) < 0.1 * abs(n_var - exact_var)


# --- population moments ------------------------------------------------------------------------


def test_population_moments_against_scipy():
    rng = np.random.default_rng(0)
    x = rng.gamma(2.0, size=1000) - 1.0
    m, sd, skew, kurt = population_moments(x)
    assert m == pytest.approx(np.mean(x), rel=1e-12)
    assert sd == pytest.approx(np.std(x, ddof=0), rel=1e-12)
    assert skew == pytest.approx(stats.skew(x, bias=True), rel=1e-10)
    assert kurt == pytest.approx(stats.kurtosis(x, fisher=True, bias=True), rel=1e-10)


def test_population_moments_hand_case_and_constant():
    # x = (0, 0, 0, 4): mean 1, deviations (-1, -1, -1, 3): var 3, m3 = 6, m4 = 21.
    m, sd, skew, kurt = population_moments(np.array([0.0, 0.0, 0.0, 4.0]))
    assert m == 1.0
    assert sd == pytest.approx(math.sqrt(3.0), rel=1e-14)
    assert skew == pytest.approx(6.0 / 3.0**1.5, rel=1e-12)
    assert kurt == pytest.approx(21.0 / 9.0 - 3.0, rel=1e-12)
    assert population_moments(np.full(5, 2.0)) == (2.0, 0.0, 0.0, 0.0)


# --- the parametric report's fitted P&L density ----------------------------------------------
def _mass_below(curve: dict, x: float) -> float:
    """Trapezoid share of the curve's area at P&L <= x (interpolated at x)."""
    pnl, dens = np.asarray(curve["pnl"]), np.asarray(curve["density"])
    total = np.trapezoid(dens, pnl)
    keep = pnl <= x
    xs = np.append(pnl[keep], x)
    ys = np.append(dens[keep], np.interp(x, pnl, dens))
    return float(np.trapezoid(ys, xs) / total)


def test_the_normal_density_is_the_closed_form_and_its_tail_holds_one_minus_c():
    from riskengine.core.distributions import normal_var_es, pnl_density

    mean, sd = 120.0, 2_500.0
    d = pnl_density("normal", mean, sd)
    pnl, dens = np.asarray(d["pnl"]), np.asarray(d["density"])
    assert pnl[0] == mean - 5 * sd and pnl[-1] == mean + 5 * sd and np.all(np.diff(pnl) > 0)
    want = np.exp(-0.5 * ((pnl - mean) / sd) ** 2) / (sd * math.sqrt(2 * math.pi))
    np.testing.assert_allclose(dens, want, rtol=1e-13)
    assert np.trapezoid(dens, pnl) == pytest.approx(1.0, abs=1e-3)
    for c in (0.95, 0.99):
        var, _ = normal_var_es(mean, sd, c)
        assert _mass_below(d, -var) == pytest.approx(1 - c, rel=2e-2)


def test_the_student_t_density_is_the_scaled_t_with_unit_variance():
    from riskengine.core.distributions import pnl_density, student_t_var_es

    mean, sd, df = -50.0, 1_000.0, 4.0
    d = pnl_density("student-t", mean, sd, df=df)
    pnl, dens = np.asarray(d["pnl"]), np.asarray(d["density"])
    scale = sd * math.sqrt((df - 2) / df)
    t = (pnl - mean) / scale
    const = math.gamma((df + 1) / 2) / (math.sqrt(df * math.pi) * math.gamma(df / 2))
    np.testing.assert_allclose(
        dens, const * (1 + t * t / df) ** (-(df + 1) / 2) / scale, rtol=1e-12
    )
    assert d["df"] == df
    var, _ = student_t_var_es(mean, sd, 0.99, df)
    assert _mass_below(d, -var) == pytest.approx(0.01, rel=5e-2)


def test_the_cornish_fisher_density_puts_one_minus_c_beyond_its_var():
    from riskengine.core.distributions import cornish_fisher_var_es, pnl_density

    flat = pnl_density("cornish-fisher", 10.0, 300.0)  # no skewness, no kurtosis: normal
    z = (np.asarray(flat["pnl"]) - 10.0) / 300.0
    np.testing.assert_allclose(
        flat["density"], np.exp(-0.5 * z * z) / (300.0 * math.sqrt(2 * math.pi)), rtol=1e-12
    )
    d = pnl_density("cornish-fisher", 10.0, 300.0, pnl_skew=-0.4, excess_kurtosis=0.8)
    assert d["monotone"] and np.all(np.diff(d["pnl"]) > 0)
    for c in (0.95, 0.99):
        var, _ = cornish_fisher_var_es(10.0, 300.0, c, -0.4, 0.8)
        assert _mass_below(d, -var) == pytest.approx(1 - c, rel=3e-2)
    bent = pnl_density("cornish-fisher", 0.0, 1.0, pnl_skew=-2.5, excess_kurtosis=0.0)
    assert bent["monotone"] is False and len(bent["pnl"]) < 101
    assert np.all(np.asarray(bent["density"]) > 0)
    assert pnl_density("normal", 0.0, 0.0) is None  # a book without risk


def test_a_parametric_report_carries_its_density_and_the_others_none():
    from pathlib import Path

    from riskengine import Equity, EuropeanOption, Portfolio, Position, compute_risk, load_prices

    data = Path(__file__).resolve().parents[2] / "data" / "us_equities_daily.csv"
    bundled_history = load_prices(data)

    last = bundled_history.market_state(len(bundled_history.dates) - 1)
    expiry = bundled_history.dates[-1] + dt.timedelta(days=90)
    call = EuropeanOption("AAPL", last.prices["AAPL"], expiry, "call", 0.3)
    book = Portfolio((Position("a", Equity("AAPL"), 1_000.0), Position("m", Equity("MSFT"), -400.0),
                      Position("c", call, 20.0, 100.0)))  # fmt: skip
    for distribution, kind in (("normal", "cornish-fisher"), ("student-t", "student-t"),
                               ("cornish-fisher", "cornish-fisher")):  # fmt: skip
        r = compute_risk(book, bundled_history, method="parametric", distribution=distribution)
        d = r.to_dict()["pnl_density"]
        assert d["distribution"] == kind  # with an option, "normal" is delta-gamma
        var99 = r.measure(0.99).value_at_risk
        assert _mass_below(d, -var99) == pytest.approx(0.01, rel=5e-2)
    linear = Portfolio(book.positions[:2])
    d = compute_risk(linear, bundled_history, method="parametric").to_dict()["pnl_density"]
    assert d["distribution"] == "normal"
    hist = compute_risk(linear, bundled_history, method="historical").to_dict()
    assert hist["pnl_density"] is None and hist["pnl_histogram"] is not None
