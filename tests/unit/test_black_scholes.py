"""Tests of riskengine.pricing.black_scholes: textbook value, put-call parity, an independent
risk-neutral Monte Carlo pricer, finite-difference greeks, expiry and broadcasting.

Cost-of-carry form: carry b = r - q on a stock with dividend yield q; b = 0 is Black-76.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from riskengine.pricing.black_scholes import bsm_greeks, bsm_price


def test_hull_textbook_example():
    # Hull, Options, Futures and Other Derivatives: S=42, K=40, r=10%, sigma=20%, T=0.5.
    call = bsm_price(42.0, 40.0, 0.5, 0.20, 0.10, 0.10, True)
    put = bsm_price(42.0, 40.0, 0.5, 0.20, 0.10, 0.10, False)
    assert round(float(call), 2) == 4.76
    assert round(float(put), 2) == 0.81


def _grid():
    spots = [60.0, 95.0, 100.0, 130.0]
    strikes = [80.0, 100.0, 120.0]
    ts = [0.02, 0.5, 2.0]
    vols = [0.1, 0.3, 0.8]
    rates = [0.0, 0.03, 0.08]
    return [
        np.array(v) for v in zip(*itertools.product(spots, strikes, ts, vols, rates), strict=True)
    ]


def test_put_call_parity_with_dividend_yield():
    s, k, t, v, r = _grid()
    for q in (0.0, 0.02, 0.06):
        b = r - q
        c = bsm_price(s, k, t, v, r, b, True)
        p = bsm_price(s, k, t, v, r, b, False)
        np.testing.assert_allclose(
            c - p, s * np.exp(-q * t) - k * np.exp(-r * t), rtol=0, atol=1e-10
        )


def test_put_call_parity_black76():
    f, k, t, v, r = _grid()
    c = bsm_price(f, k, t, v, r, 0.0, True)
    p = bsm_price(f, k, t, v, r, 0.0, False)
    np.testing.assert_allclose(c - p, np.exp(-r * t) * (f - k), rtol=0, atol=1e-10)


def _mc_price(s, k, t, vol, r, q, is_call, n, rng):
    """Risk-neutral Monte Carlo: S_T = S exp((r - q - vol^2/2) T + vol sqrt(T) Z)."""
    z = rng.standard_normal(n)
    st = s * np.exp((r - q - 0.5 * vol * vol) * t + vol * np.sqrt(t) * z)
    payoff = np.maximum(st - k, 0.0) if is_call else np.maximum(k - st, 0.0)
    disc = np.exp(-r * t) * payoff
    return disc.mean(), disc.std(ddof=1) / np.sqrt(n)


@pytest.mark.parametrize(
    "seed, s, k, t, vol, r, q, is_call",
    [
        (1, 100.0, 100.0, 1.0, 0.2, 0.05, 0.0, True),
        (2, 100.0, 110.0, 0.5, 0.3, 0.02, 0.03, True),
        (3, 100.0, 90.0, 2.0, 0.25, 0.04, 0.05, False),
        (4, 50.0, 55.0, 0.25, 0.4, 0.01, 0.02, False),
        (5, 42.0, 40.0, 0.5, 0.2, 0.10, 0.0, False),
    ],
)
def test_agrees_with_independent_monte_carlo(seed, s, k, t, vol, r, q, is_call):
    rng = np.random.default_rng(seed)
    mc, se = _mc_price(s, k, t, vol, r, q, is_call, 400_000, rng)
    analytic = float(bsm_price(s, k, t, vol, r, r - q, is_call))
    assert abs(analytic - mc) <= 3.0 * se, (analytic, mc, se)


def test_black76_agrees_with_monte_carlo_on_futures():
    # A futures price is a martingale under the risk-neutral measure (drift 0): q = r.
    rng = np.random.default_rng(6)
    for k, is_call in [(95.0, True), (105.0, False)]:
        mc, se = _mc_price(100.0, k, 0.75, 0.3, 0.04, 0.04, is_call, 400_000, rng)
        assert abs(float(bsm_price(100.0, k, 0.75, 0.3, 0.04, 0.0, is_call)) - mc) <= 3 * se


@pytest.mark.parametrize("is_call", [True, False])
@pytest.mark.parametrize("carry_kind", ["stock", "dividend", "black76"])
def test_greeks_match_finite_differences(is_call, carry_kind):
    s = np.array([70.0, 95.0, 100.0, 108.0, 140.0])
    k, t, vol, r = 100.0, 0.4, 0.25, 0.03
    b = {"stock": r, "dividend": r - 0.04, "black76": 0.0}[carry_kind]
    g = bsm_greeks(s, k, t, vol, r, b, is_call)

    def price(spot=s, v=vol):
        return bsm_price(spot, k, t, v, r, b, is_call)

    np.testing.assert_allclose(g.price, price(), rtol=0, atol=1e-12)
    h = 1e-4 * s
    delta_fd = (price(s + h) - price(s - h)) / (2 * h)
    np.testing.assert_allclose(g.delta, delta_fd, rtol=1e-5, atol=1e-8)
    h = 1e-3 * s
    gamma_fd = (price(s + h) - 2 * price(s) + price(s - h)) / (h * h)
    np.testing.assert_allclose(g.gamma, gamma_fd, rtol=1e-4, atol=1e-8)
    dv = 1e-5
    vega_fd = (price(v=vol + dv) - price(v=vol - dv)) / (2 * dv)
    np.testing.assert_allclose(g.vega, vega_fd, rtol=1e-6, atol=1e-8)


def test_intrinsic_at_or_after_expiry():
    s = np.array([80.0, 100.0, 120.0])
    for t in (0.0, -0.1):
        np.testing.assert_array_equal(bsm_price(s, 100.0, t, 0.2, 0.05, 0.05, True), [0, 0, 20])
        np.testing.assert_array_equal(bsm_price(s, 100.0, t, 0.2, 0.05, 0.05, False), [20, 0, 0])
        g = bsm_greeks(s, 100.0, t, 0.2, 0.05, 0.05, True)
        np.testing.assert_array_equal(g.price, [0, 0, 20])
        np.testing.assert_array_equal(g.delta, [0, 0, 1])
        np.testing.assert_array_equal(g.gamma, [0, 0, 0])
        np.testing.assert_array_equal(g.vega, [0, 0, 0])
        gp = bsm_greeks(s, 100.0, t, 0.2, 0.05, 0.05, False)
        np.testing.assert_array_equal(gp.delta, [-1, 0, 0])
    # Just before expiry the value tends to intrinsic.
    near = bsm_price(s, 100.0, 1e-10, 0.2, 0.05, 0.05, True)
    np.testing.assert_allclose(near, [0, 0, 20], atol=1e-3)


def test_vectorised_broadcasting():
    spot = np.array([[90.0], [100.0], [110.0], [120.0], [130.0]])  # (5, 1)
    strike = np.array([95.0, 100.0, 105.0])  # (3,)
    is_call = np.array([True, False, True])  # (3,)
    t = np.array([0.25, 0.5, 1.0])
    out = bsm_price(spot, strike, t, 0.2, 0.03, 0.01, is_call)
    assert out.shape == (5, 3)
    g = bsm_greeks(spot, strike, t, 0.2, 0.03, 0.01, is_call)
    for field in (g.price, g.delta, g.gamma, g.vega):
        assert field.shape == (5, 3)
    for i, j in itertools.product(range(5), range(3)):
        one = bsm_price(float(spot[i, 0]), strike[j], t[j], 0.2, 0.03, 0.01, bool(is_call[j]))
        assert out[i, j] == pytest.approx(float(one), rel=1e-14)
        assert g.price[i, j] == pytest.approx(float(one), rel=1e-14)
    # Scalars give a 0-d result.
    assert np.ndim(bsm_price(100.0, 100.0, 1.0, 0.2, 0.0, 0.0, True)) == 0
