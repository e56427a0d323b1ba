"""Parametric edge cases: options expiring inside the horizon, a Cornish-Fisher expansion that
bends back in the tail, and too short a window for a covariance."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from scipy import integrate, special

from riskengine import InputError, Portfolio, Position, compute_risk
from riskengine.core.distributions import cornish_fisher_monotone, cornish_fisher_var_es
from support import option, stock_book


def test_option_expiring_inside_the_horizon_is_not_riskless(real_history):
    h = real_history
    as_of = h.last_date
    s0 = h.prices[-1, h.column["MSFT"]]
    short_call = Position("c", option("MSFT", round(s0), 9, "call", 0.33, as_of=as_of), -5, 100)
    book = Portfolio((short_call,))
    par = compute_risk(book, h, method="parametric", horizon_days=20, confidence=0.99)
    hist = compute_risk(book, h, method="historical", horizon_days=20, confidence=0.99)
    # the short call loses in the tail: positive VaR of the same order as historical simulation
    assert par.measure(0.99).value_at_risk > 0.3 * hist.measure(0.99).value_at_risk
    assert "options_expire_in_horizon" in {f["code"] for f in par.data_quality}


def test_cornish_fisher_es_is_never_below_var():
    for skew, kurt in ((1.2, 1.0), (2.0, 6.0), (-1.5, 8.0), (0.3, 0.2)):
        for c in (0.95, 0.99, 0.999):
            var, es = cornish_fisher_var_es(0.0, 1.0, c, skew, kurt)
            assert es >= var
            if not cornish_fisher_monotone(c, skew, kurt):
                # ES is the tail mean of the running maximum of the loss quantile
                s, k = -skew, kurt

                def q(u, s=s, k=k):
                    z = special.ndtri(u)
                    return (
                        z
                        + (z * z - 1) * s / 6
                        + (z**3 - 3 * z) * k / 24
                        - (2 * z**3 - 5 * z) * s * s / 36
                    )

                grid = np.linspace(c, 1 - 1e-12, 200_001)
                rearranged = np.maximum.accumulate(q(grid))
                expected = integrate.trapezoid(rearranged, grid) / (1 - c)
                assert es == pytest.approx(expected, rel=2e-3)


def test_long_put_parametric_flags_a_bent_expansion(real_history):
    h = real_history
    put = option(
        "AAPL",
        110.0,
        (dt.date(2023, 1, 20) - h.last_date).days,
        "put",
        0.38,
        rate=0.04,
        as_of=h.last_date,
    )
    rep = compute_risk(
        Portfolio((Position("p", put, 10, 100),)), h, method="parametric", confidence=(0.95, 0.99)
    )
    for m in rep.measures:
        assert m.expected_shortfall >= m.value_at_risk
    assert "cornish_fisher_not_monotone" in {f["code"] for f in rep.data_quality}


@pytest.mark.parametrize("method", ["parametric", "montecarlo"])
def test_window_of_one_return_is_an_input_error(real_history, method):
    with pytest.raises(InputError, match="needs at least 2 daily returns; got 1"):
        compute_risk(stock_book({"JPM": 1.0}), real_history, method=method, window=1, seed=1)


@pytest.mark.parametrize("distribution", ["normal", "cornish-fisher"])
def test_components_sum_to_es_when_the_expansion_is_bent(real_history, distribution):
    h = real_history
    put = option(
        "AAPL",
        110.0,
        (dt.date(2023, 1, 20) - h.last_date).days,
        "put",
        0.38,
        rate=0.04,
        as_of=h.last_date,
    )
    rep = compute_risk(
        Portfolio((Position("p", put, 10, 100),)),
        h,
        method="parametric",
        distribution=distribution,
        confidence=0.99,
        contributions=True,
    )
    rows = rep.to_dict()["contributions"]["by_position"]
    assert sum(r["component_es"] for r in rows) == pytest.approx(
        rep.measure(0.99).expected_shortfall, rel=1e-9
    )
    assert sum(r["component_var"] for r in rows) == pytest.approx(
        rep.measure(0.99).value_at_risk, rel=1e-9
    )
