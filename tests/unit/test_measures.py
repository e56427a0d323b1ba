"""Tests of riskengine.core.measures against hand-computed order statistics and the
Acerbi-Tasche formula (DESIGN.md section 2), plus invariants and standard-error honesty checks.

Conventions: P&L is positive for a gain, L = -pnl, VaR_c = L(ceil(c n)) on n equal scenarios,
ES_c = (E[L 1{L > VaR}] + VaR (P(L <= VaR) - c)) / (1 - c).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from riskengine.core.measures import (
    es_standard_error,
    expected_shortfall,
    value_at_risk,
    var_es,
    var_index,
    var_standard_error,
)
from riskengine.errors import InputError


def _pnl_from_losses(losses, seed=0):
    """P&L vector (gain positive) with the given losses, in a shuffled order."""
    rng = np.random.default_rng(seed)
    return -rng.permutation(np.asarray(losses, dtype=float))


def _inverted_cdf_var(pnl, c):
    return float(np.quantile(-np.asarray(pnl, float), c, method="inverted_cdf"))


# --- hand-built cases --------------------------------------------------------------------------


def test_n10_tie_above_var_noninteger_tail():
    # Sorted losses L(1..10); c n = 7.5 -> VaR = L(8) = 5, tied with L(9) = 5.
    losses = [-3, -1, 0, 1, 2, 2, 4, 5, 5, 9]
    pnl = _pnl_from_losses(losses)
    c = 0.75
    var, es = value_at_risk(pnl, c), expected_shortfall(pnl, c)
    assert var == 5.0
    assert var == _inverted_cdf_var(pnl, c)
    # P(L <= 5) = 9/10, E[L 1{L > 5}] = 9/10: ES = (0.9 + 5 * (0.9 - 0.75)) / 0.25 = 6.6
    # (= tail mass 0.25 made of 9 (0.1), 5 (0.1) and 5 (0.05)).
    assert es == pytest.approx(6.6, abs=1e-12)


def test_n10_tie_below_var_noninteger_tail():
    # L(7) = L(8) = 5: VaR = L(8) = 5 and P(L <= 5) = 0.8.
    losses = [-3, -1, 0, 1, 2, 2, 5, 5, 6, 9]
    pnl = _pnl_from_losses(losses, seed=1)
    c = 0.75
    assert value_at_risk(pnl, c) == 5.0
    assert value_at_risk(pnl, c) == _inverted_cdf_var(pnl, c)
    # E[L 1{L > 5}] = (6 + 9) / 10 = 1.5; ES = (1.5 + 5 * (0.8 - 0.75)) / 0.25 = 7.0.
    assert expected_shortfall(pnl, c) == pytest.approx(7.0, abs=1e-12)


def test_all_tied_sample():
    pnl = np.full(10, -4.0)
    assert value_at_risk(pnl, 0.9) == 4.0
    assert expected_shortfall(pnl, 0.9) == pytest.approx(4.0, abs=1e-12)


def test_n20_c95_integer_tail_and_pnl_side_off_by_one():
    # Losses 1..20: c n = 19 -> VaR = L(19) = 19; n (1 - c) = 1 -> ES = L(20) = 20.
    pnl = _pnl_from_losses(np.arange(1, 21), seed=2)
    assert var_index(20, 0.95) == 18
    assert value_at_risk(pnl, 0.95) == 19.0
    assert value_at_risk(pnl, 0.95) == _inverted_cdf_var(pnl, 0.95)
    assert expected_shortfall(pnl, 0.95) == pytest.approx(20.0, abs=1e-12)
    # The P&L-side quantile at 0.05 picks the next order statistic (the classic off-by-one).
    assert -np.quantile(pnl, 0.05, method="inverted_cdf") == 20.0


def test_n100_c95_float_trap():
    # (1 - 0.95) * 100 = 5.000000000000004, so a naive ceil on the tail count is off by one.
    assert math.ceil((1 - 0.95) * 100) == 6
    pnl = _pnl_from_losses(np.arange(1, 101), seed=3)
    assert var_index(100, 0.95) == 94
    assert value_at_risk(pnl, 0.95) == 95.0
    assert value_at_risk(pnl, 0.95) == _inverted_cdf_var(pnl, 0.95)
    # Mean of the 5 worst losses: (96 + 97 + 98 + 99 + 100) / 5 = 98.
    assert expected_shortfall(pnl, 0.95) == pytest.approx(98.0, abs=1e-12)
    # And 0.99 * 100 = 99: VaR = L(99) = 99, ES = L(100) = 100.
    assert value_at_risk(pnl, 0.99) == 99.0
    assert expected_shortfall(pnl, 0.99) == pytest.approx(100.0, abs=1e-12)


def test_n40_integer_and_noninteger_tails():
    # Sorted losses 1, ..., 38, 50, 80.
    losses = np.concatenate([np.arange(1, 39), [50.0, 80.0]])
    pnl = _pnl_from_losses(losses, seed=4)
    # c = 0.9: c n = 36, k = 4 -> VaR = L(36) = 36, ES = (37 + 38 + 50 + 80) / 4 = 51.25.
    assert value_at_risk(pnl, 0.9) == 36.0
    assert expected_shortfall(pnl, 0.9) == pytest.approx(51.25, abs=1e-12)
    # c = 0.97: c n = 38.8 -> VaR = L(39) = 50; P(L <= 50) = 39/40,
    # ES = (80/40 + 50 (39/40 - 0.97)) / 0.03 = (2 + 0.25) / 0.03 = 75.
    assert value_at_risk(pnl, 0.97) == 50.0
    assert expected_shortfall(pnl, 0.97) == pytest.approx(75.0, abs=1e-9)
    # c = 0.99: c n = 39.6 -> VaR = L(40) = 80 and ES = VaR (nothing beyond it).
    assert value_at_risk(pnl, 0.99) == 80.0
    assert expected_shortfall(pnl, 0.99) == pytest.approx(80.0, abs=1e-9)
    for c in (0.9, 0.97, 0.99, 0.5, 0.123):
        assert value_at_risk(pnl, c) == _inverted_cdf_var(pnl, c)


def test_var_es_matches_single_calls():
    pnl = np.random.default_rng(5).standard_normal(333)
    cs = [0.9, 0.95, 0.975, 0.99]
    out = var_es(pnl, cs)
    assert len(out) == len(cs)
    for c, (v, e) in zip(cs, out, strict=True):
        assert v == value_at_risk(pnl, c)
        assert e == expected_shortfall(pnl, c)


def test_acerbi_tasche_on_random_samples():
    """ES against the formula written out directly on the unsorted losses."""
    rng = np.random.default_rng(6)
    for n in (37, 100, 250, 1001):
        pnl = np.round(rng.standard_normal(n), 1)  # rounding creates ties
        losses = -pnl
        for c in (0.9, 0.95, 0.975, 0.99):
            var = np.quantile(losses, c, method="inverted_cdf")
            es = (np.mean(losses * (losses > var)) + var * (np.mean(losses <= var) - c)) / (1 - c)
            v, e = var_es(pnl, [c])[0]
            assert v == var
            assert e == pytest.approx(es, rel=1e-12, abs=1e-12)


# --- weighted form -----------------------------------------------------------------------------


def test_weighted_hand_case():
    # Losses 1, 2, 3, 4 with probabilities 0.1, 0.2, 0.3, 0.4: F = 0.1, 0.3, 0.6, 1.0.
    pnl = -np.array([3.0, 1.0, 4.0, 2.0])
    w = np.array([0.3, 0.1, 0.4, 0.2])
    # c = 0.5: VaR = 3; ES = (4 * 0.4 + 3 * (0.6 - 0.5)) / 0.5 = 3.8.
    assert value_at_risk(pnl, 0.5, weights=w) == 3.0
    assert expected_shortfall(pnl, 0.5, weights=w) == pytest.approx(3.8, abs=1e-12)
    # c = 0.65: VaR = 4 = ES.
    assert value_at_risk(pnl, 0.65, weights=w) == 4.0
    assert expected_shortfall(pnl, 0.65, weights=w) == pytest.approx(4.0, abs=1e-12)


def test_equal_weights_give_unweighted_result():
    rng = np.random.default_rng(7)
    for n in (20, 100, 333):
        pnl = np.round(rng.standard_normal(n), 1)
        w = np.full(n, 1.0 / n)
        for c in (0.9, 0.95, 0.975, 0.99):
            assert value_at_risk(pnl, c, weights=w) == value_at_risk(pnl, c)
            assert expected_shortfall(pnl, c, weights=w) == pytest.approx(
                expected_shortfall(pnl, c), rel=1e-12, abs=1e-12
            )


def test_integer_weights_equal_duplicated_scenarios():
    rng = np.random.default_rng(8)
    pnl = np.round(rng.standard_normal(60), 1)
    counts = rng.integers(0, 5, size=60)
    counts[0] = 1
    dup = np.repeat(pnl, counts)
    for c in (0.8, 0.9, 0.95, 0.975, 0.99):
        assert value_at_risk(pnl, c, weights=counts) == value_at_risk(dup, c)
        assert expected_shortfall(pnl, c, weights=counts) == pytest.approx(
            expected_shortfall(dup, c), rel=1e-12, abs=1e-12
        )


def test_weights_are_normalised():
    rng = np.random.default_rng(9)
    pnl = rng.standard_normal(50)
    w = rng.uniform(0.1, 1.0, size=50)
    for c in (0.9, 0.99):
        a = var_es(pnl, [c], weights=w)[0]
        b = var_es(pnl, [c], weights=7.5 * w)[0]
        d = var_es(pnl, [c], weights=w / w.sum())[0]
        assert a[0] == b[0] == d[0]
        assert a[1] == pytest.approx(b[1], rel=1e-12)
        assert a[1] == pytest.approx(d[1], rel=1e-12)


# --- invariants --------------------------------------------------------------------------------


def test_invariants_on_random_sample():
    rng = np.random.default_rng(10)
    pnl = rng.standard_t(4, size=5000)
    for c in (0.9, 0.95, 0.975, 0.99, 0.999):
        v, e = var_es(pnl, [c])[0]
        assert e >= v
        v2, e2 = var_es(2.0 * pnl, [c])[0]
        assert v2 == pytest.approx(2.0 * v, rel=1e-14)
        assert e2 == pytest.approx(2.0 * e, rel=1e-12)
    assert value_at_risk(pnl, 0.99) >= value_at_risk(pnl, 0.95)
    assert expected_shortfall(pnl, 0.99) >= expected_shortfall(pnl, 0.95)


def test_negative_var_is_not_clamped():
    # Every scenario gains: losses -1..-10, VaR_0.9 = L(9) = -2, ES = L(10) = -1.
    pnl = np.arange(1.0, 11.0)
    assert value_at_risk(pnl, 0.9) == -2.0
    assert expected_shortfall(pnl, 0.9) == pytest.approx(-1.0, abs=1e-12)


# --- bad input ---------------------------------------------------------------------------------


@pytest.mark.parametrize("c", [0, 1, 1.5, -0.1, float("nan"), "abc"])
def test_bad_confidence_raises_input_error_naming_value(c):
    pnl = np.arange(10.0)
    for fn in (value_at_risk, expected_shortfall):
        with pytest.raises(InputError) as info:
            fn(pnl, c)
        assert str(c) in str(info.value)
    with pytest.raises(InputError):
        var_es(pnl, [0.99, c])


def test_empty_pnl_raises():
    with pytest.raises(InputError):
        value_at_risk(np.array([]), 0.99)
    with pytest.raises(InputError):
        expected_shortfall([], 0.99)


def test_nonfinite_pnl_raises():
    with pytest.raises(InputError):
        value_at_risk(np.array([1.0, np.nan, 2.0]), 0.5)


def test_bad_weights_raise():
    pnl = np.arange(10.0)
    with pytest.raises(InputError, match="10"):
        value_at_risk(pnl, 0.9, weights=np.ones(9))
    w = np.ones(10)
    w[3] = -0.5
    with pytest.raises(InputError):
        value_at_risk(pnl, 0.9, weights=w)
    with pytest.raises(InputError):
        expected_shortfall(pnl, 0.9, weights=np.zeros(10))


# --- standard errors ---------------------------------------------------------------------------


def _replications(n_rep, n, c, seed):
    losses = np.sort(np.random.default_rng(seed).standard_normal((n_rep, n)), axis=1)
    var = np.empty(n_rep)
    es = np.empty(n_rep)
    var_se = np.empty(n_rep)
    es_se = np.empty(n_rep)
    for i, row in enumerate(losses):
        var[i], es[i] = var_es(-row, [c])[0]
        var_se[i] = var_standard_error(row, c)
        es_se[i] = es_standard_error(row, c, var[i])
    return var, es, var_se, es_se


def test_standard_errors_match_spread_across_replications():
    """The reported SE should match the empirical std of the estimates over independent samples.

    n = 2500 at c = 0.99 makes sqrt(n c (1-c)) = 4.97; other n are covered by the rounding test
    below.
    """
    var, es, var_se, es_se = _replications(300, 2500, 0.99, seed=11)
    assert np.std(var, ddof=1) / np.mean(var_se) == pytest.approx(1.0, abs=0.25)
    assert np.std(es, ddof=1) / np.mean(es_se) == pytest.approx(1.0, abs=0.25)


def test_var_standard_error_on_expected_uniform_order_statistics():
    """For uniform losses E[U(j)] = j / (n + 1) and sd(U(j)) = sqrt(j (n+1-j) / ((n+1)^2 (n+2))).

    The SE estimator is linear in the order statistics, so on the expected order statistics it
    returns its own expectation. c = 0.975, n = 1000: m = sqrt(24.4) = 4.94 -> 5, almost exact.
    """
    n, c = 1000, 0.975
    sorted_losses = np.arange(1, n + 1) / (n + 1)
    j = math.ceil(c * n)
    sd = math.sqrt(j * (n + 1 - j) / ((n + 1) ** 2 * (n + 2)))
    assert var_standard_error(sorted_losses, c) == pytest.approx(sd, rel=0.05)


def test_var_standard_error_rounding_bias():
    n, c = 2000, 0.99
    sorted_losses = np.arange(1, n + 1) / (n + 1)
    j = math.ceil(c * n - 1e-9)
    sd = math.sqrt(j * (n + 1 - j) / ((n + 1) ** 2 * (n + 2)))
    assert var_standard_error(sorted_losses, c) == pytest.approx(sd, rel=0.05)


def test_es_standard_error_closed_form_exponential():
    """Losses ~ Exp(1): the excess over VaR, given a loss beyond it, is Exp(1) (memoryless), so
    X = (L - VaR)^+ / (1 - c) has E X = 1, E X^2 = 2 / (1 - c) and the ES standard error is
    sqrt((2 / (1 - c) - 1) / n). Relative sampling error of the sample sd here is about 1%."""
    n, c = 400_000, 0.95
    losses = np.random.default_rng(12).exponential(size=n)
    var = -math.log(1 - c)
    p = 1 - c
    expected = math.sqrt((2.0 / p - 1.0) / n)
    assert es_standard_error(losses, c, var) == pytest.approx(expected, rel=0.03)
