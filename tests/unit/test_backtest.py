"""Backtesting: statistics against their closed forms, rolling forecasts against independent
computations and against ``compute_risk``, the hypothetical P&L of the book held constant, the
Z2 statistic under correct and wrong models, and the CLI."""

from __future__ import annotations

import argparse
import contextlib
import csv
import datetime as dt
import io
import json
import math
import re
import shlex
import subprocess
import sys

import numpy as np
import pytest
from scipy import stats

from riskengine import (
    FactorHistory,
    InputError,
    InsufficientHistoryError,
    Portfolio,
    Position,
    compute_risk,
    run_backtest,
)
from riskengine.backtest import (
    acerbi_szekely_z2,
    christoffersen_independence,
    conditional_coverage,
    count_exceptions,
    exception_flags,
    kupiec_pof,
    rolling_traffic_light,
    rolling_var_es,
    simulation_p_value,
    traffic_light,
    traffic_light_bounds,
    transitions,
)
from riskengine.backtest.null import ParametricNull, TailNull
from riskengine.backtest.progress import TextProgress
from riskengine.backtest.rolling import day_seed, rolling_moments
from riskengine.core.measures import var_es
from support import ROOT, black_scholes, gaussian_history, option, stock_book

DATA = str(ROOT / "data" / "us_equities_daily.csv")
BOOK = str(ROOT / "examples" / "book.csv")


def ln(x):
    return math.log(x)


# --------------------------------------------------------------------------------- Kupiec


def test_kupiec_equals_its_closed_form():
    # 250 days, 7 exceptions, p = 0.01.
    t, x, p = 250, 7, 0.01
    lr = -2 * ((t - x) * ln(1 - p) + x * ln(p)) + 2 * ((t - x) * ln(1 - x / t) + x * ln(x / t))
    got = kupiec_pof(x, t, 0.99)
    assert got.statistic == pytest.approx(lr, rel=1e-12)
    assert got.p_value == pytest.approx(stats.chi2.sf(lr, 1), rel=1e-12)
    assert got.df == 1


def test_kupiec_with_zero_and_all_exceptions():
    # x = 0: LR = -2 T ln(1 - p) (0 ln 0 = 0); x = T: LR = -2 T ln p.
    assert kupiec_pof(0, 100, 0.95).statistic == pytest.approx(-2 * 100 * ln(0.95), rel=1e-12)
    assert kupiec_pof(20, 20, 0.95).statistic == pytest.approx(-2 * 20 * ln(0.05), rel=1e-12)
    # exactly the expected rate: LR = 0, p = 1
    exact = kupiec_pof(5, 100, 0.95)
    assert exact.statistic == pytest.approx(0.0, abs=1e-12) and exact.p_value == pytest.approx(1)


# --------------------------------------------------------------------------- Christoffersen


def test_christoffersen_on_a_sequence_with_consecutive_exceptions():
    #        0  1  2  3  4  5  6  7  8  9 10 11
    seq = [0, 0, 1, 1, 0, 0, 0, 1, 0, 1, 1, 1]
    # pairs: 00 x3 (0-1, 4-5, 5-6), 01 x3 (1-2, 6-7, 8-9), 10 x2 (3-4, 7-8),
    #        11 x3 (2-3, 9-10, 10-11)
    n00, n01, n10, n11 = 3, 3, 2, 3
    assert transitions(seq).to_dict() == {"n00": n00, "n01": n01, "n10": n10, "n11": n11}
    pi01, pi11 = n01 / (n00 + n01), n11 / (n10 + n11)
    pi = (n01 + n11) / (n00 + n01 + n10 + n11)
    lr_ind = -2 * (
        (n00 + n10) * ln(1 - pi)
        + (n01 + n11) * ln(pi)
        - n00 * ln(1 - pi01)
        - n01 * ln(pi01)
        - n10 * ln(1 - pi11)
        - n11 * ln(pi11)
    )
    ind = christoffersen_independence(seq)
    assert ind.statistic == pytest.approx(lr_ind, rel=1e-12)
    assert ind.p_value == pytest.approx(stats.chi2.sf(lr_ind, 1), rel=1e-12)
    # conditional coverage = Kupiec on all 12 days + independence, chi2(2)
    x, t, p = 6, 12, 0.1
    lr_pof = -2 * ((t - x) * ln(1 - p) + x * ln(p)) + 2 * ((t - x) * ln(1 - x / t) + x * ln(x / t))
    cc = conditional_coverage(seq, 0.9)
    assert cc.statistic == pytest.approx(lr_pof + lr_ind, rel=1e-12)
    assert cc.p_value == pytest.approx(stats.chi2.sf(lr_pof + lr_ind, 2), rel=1e-12)
    assert cc.df == 2


def test_christoffersen_handles_zero_counts():
    # no exceptions: independence holds trivially
    none = christoffersen_independence([0] * 50)
    assert none.statistic == 0.0 and none.p_value == pytest.approx(1.0)
    cc = conditional_coverage([0] * 50, 0.99)
    assert cc.statistic == pytest.approx(-2 * 50 * ln(0.99), rel=1e-12)
    # exceptions never follow each other (n11 = 0), one at the very end (n10 = 2)
    seq = [0, 1, 0, 0, 1, 0, 0, 0, 1]
    n00, n01, n10, n11 = 3, 3, 2, 0
    pi01, pi = n01 / (n00 + n01), (n01 + n11) / 8
    lr = -2 * ((n00 + n10) * ln(1 - pi) + (n01 + n11) * ln(pi)) + 2 * (
        n00 * ln(1 - pi01) + n01 * ln(pi01) + n10 * ln(1.0)
    )
    assert christoffersen_independence(seq).statistic == pytest.approx(lr, rel=1e-12)
    # all exceptions clustered in one run: 0 0 0 1 1 1 (n10 = 0)
    seq = [0, 0, 0, 1, 1, 1]
    n00, n01, n11 = 2, 1, 2
    pi01, pi = 1 / 3, 3 / 5
    lr = -2 * (n00 * ln(1 - pi) + (n01 + n11) * ln(pi)) + 2 * (
        n00 * ln(1 - pi01) + n01 * ln(pi01) + n11 * ln(1.0)
    )
    assert christoffersen_independence(seq).statistic == pytest.approx(lr, rel=1e-12)
    # a single day has no pair
    assert math.isnan(christoffersen_independence([1]).statistic)


def test_exception_flags_are_strict_and_counted():
    pnl = np.array([-10.0, -5.0, 3.0, -5.0000001])
    var = np.array([5.0, 5.0, 5.0, 5.0])
    flags = exception_flags(pnl, var)
    assert flags.tolist() == [True, False, False, True]
    assert count_exceptions(flags) == 2
    both = exception_flags(pnl, np.column_stack([var, var * 3]))
    assert both.shape == (4, 2) and both[:, 1].tolist() == [False] * 4
    with pytest.raises(InputError):
        count_exceptions([0, 2, 1])


# --------------------------------------------------------------------------- traffic light


def test_traffic_light_zones_follow_the_binomial_probabilities():
    n, p = 250, 0.01
    cdf = stats.binom.cdf(np.arange(n + 1), n, p)
    green_max = max(k for k in range(n + 1) if cdf[k] < 0.95)
    yellow_max = max(k for k in range(n + 1) if cdf[k] < 0.9999)
    assert (green_max, yellow_max) == (4, 9)  # the Basel table
    assert traffic_light_bounds(250, 0.99) == (green_max, yellow_max)
    plus = {5: 0.40, 6: 0.50, 7: 0.65, 8: 0.75, 9: 0.85}
    for k in range(0, 16):
        tl = traffic_light(k, 250, 0.99)
        zone = "green" if cdf[k] < 0.95 else "yellow" if cdf[k] < 0.9999 else "red"
        assert tl.zone == zone, k
        assert tl.cumulative_probability == pytest.approx(cdf[k], rel=1e-12)
        assert tl.plus_factor == (0.0 if k <= 4 else 1.0 if k >= 10 else plus[k])
    # other samples: still the binomial rule, no regulatory plus factor
    cdf500 = stats.binom.cdf(np.arange(501), 500, 0.01)
    assert traffic_light_bounds(500, 0.99) == (
        int(np.sum(cdf500 < 0.95)) - 1,
        int(np.sum(cdf500 < 0.9999)) - 1,
    )
    assert traffic_light(3, 500, 0.99).plus_factor is None


def test_rolling_traffic_light_counts_the_last_250_days():
    rng = np.random.default_rng(5)
    x = rng.random(600) < 0.02
    counts, zones = rolling_traffic_light(x)
    assert (counts[:249] == -1).all() and (zones[:249] == "").all()
    for t in (249, 300, 599):
        k = int(x[t - 249 : t + 1].sum())
        assert counts[t] == k
        assert zones[t] == traffic_light(k).zone


# ------------------------------------------------------------------------------------- Z2


def test_z2_formula_on_a_hand_built_sample():
    losses = np.array([1.0, 3.0, 0.5, 4.0])
    var = np.array([2.0, 2.0, 2.0, 3.0])
    es = np.array([2.5, 2.5, 2.5, 4.0])
    c = 0.9
    expected = 1 - (3.0 / 2.5 + 4.0 / 4.0) / (4 * 0.1)
    assert acerbi_szekely_z2(losses, var, es, c) == pytest.approx(expected, rel=1e-12)
    assert math.isnan(acerbi_szekely_z2(losses, var, -es, c))


def test_z2_is_zero_in_expectation_under_a_correct_model_and_negative_when_risk_is_underestimated():
    rng = np.random.default_rng(11)
    c, t, runs = 0.975, 250, 4000
    z = stats.norm.ppf(c)
    var = np.full(t, z)
    es = np.full(t, stats.norm.pdf(z) / (1 - c))
    right = acerbi_szekely_z2(rng.standard_normal((runs, t)), var, es, c)
    se = right.std(ddof=1) / math.sqrt(runs)
    assert abs(right.mean()) < 4 * se
    # true volatility 1.5x the model's: tail losses larger and more frequent than forecast
    wrong = acerbi_szekely_z2(1.5 * rng.standard_normal((runs, t)), var, es, c)
    assert wrong.mean() < -0.5
    # the simulated p-value of a typical wrong-model Z2 against the correct-model null is small
    assert simulation_p_value(float(np.median(wrong)), right) < 0.01


def test_simulation_p_value_counts_the_draws_at_or_below():
    assert simulation_p_value(0.0, [-1.0, 0.0, 1.0, 2.0]) == pytest.approx(3 / 5)
    assert math.isnan(simulation_p_value(float("nan"), [1.0]))


def test_tail_null_draws_tail_losses_with_their_probabilities():
    pnl = -np.arange(10.0)  # losses 0..9
    w = np.linspace(1, 2, 10)
    null = TailNull.from_scenarios([(pnl, w, 7.0)])  # tail: losses 8 and 9
    draws = null.sample(np.random.default_rng(1), 200_000)[:, 0]
    p = w / w.sum()
    assert np.mean(draws == 9.0) == pytest.approx(p[9], abs=0.004)
    assert np.mean(draws == 8.0) == pytest.approx(p[8], abs=0.004)
    assert np.mean(np.isneginf(draws)) == pytest.approx(p[:8].sum(), abs=0.004)


# ------------------------------------------------------------------------- rolling numbers


def test_rolling_var_es_equals_the_measures_on_every_window():
    pnl = np.round(np.random.default_rng(2).standard_normal(260), 1)  # ties
    var, es = rolling_var_es(pnl, 100, (0.95, 0.99, 0.975))
    for i in (0, 17, 160):
        expected = var_es(pnl[i : i + 100], (0.95, 0.99, 0.975))
        np.testing.assert_allclose(var[i], [v for v, _ in expected], rtol=1e-12)
        np.testing.assert_allclose(es[i], [e for _, e in expected], rtol=1e-12)


def test_rolling_moments_equal_numpy_on_windows():
    x = np.random.default_rng(4).standard_normal(80)
    mean, var, skew, kurt = rolling_moments(x, 30)
    w = x[10:40]
    d = w - w.mean()
    assert mean[10] == pytest.approx(w.mean()) and var[10] == pytest.approx(w.var(ddof=1))
    assert skew[10] == pytest.approx(np.mean(d**3) / np.mean(d**2) ** 1.5)
    assert kurt[10] == pytest.approx(np.mean(d**4) / np.mean(d**2) ** 2 - 3)


@pytest.fixture(scope="module")
def gauss():
    return gaussian_history(n_obs=420, k=3, seed=8)


def test_rolling_historical_var_equals_an_independent_quantile(gauss):
    quantities = {"S0": 300.0, "S1": -120.0}
    res = run_backtest(
        stock_book(quantities), gauss, window=200, confidence=(0.95, 0.99), null_simulations=0
    )
    p = gauss.prices
    value = np.array([300.0 * p[-1, 0], -120.0 * p[-1, 1]])
    returns = p[1:, :2] / p[:-1, :2] - 1.0
    m = res.method("historical")
    first = 200  # the first day with a full window of 200 returns
    assert res.dates[0] == str(gauss.dates[first]) and res.dates[-1] == str(gauss.dates[-2])
    for i in (0, 55, res.n_days - 1):
        t = first + i
        losses = -(returns[t - 200 : t] @ value)  # the returns ending at row t
        for j, c in enumerate((0.95, 0.99)):
            q = np.quantile(losses, c, method="inverted_cdf")
            assert m.value_at_risk[i, j] == pytest.approx(q, rel=1e-12)
            k = round(200 * (1 - c))  # integer tail: ES = mean of the k worst
            assert m.expected_shortfall[i, j] == pytest.approx(
                np.sort(losses)[-k:].mean(), rel=1e-12
            )
        # realised: the next day's return on today's values
        assert res.realised_pnl[i] == pytest.approx(returns[t] @ value, rel=1e-12)
        assert m.exceptions[i, 0] == (-res.realised_pnl[i] > m.value_at_risk[i, 0])


def test_realised_pnl_of_a_one_stock_book_is_value_times_next_day_return(gauss):
    res = run_backtest(
        stock_book({"S2": 50.0}),
        gauss,
        window=100,
        start=str(gauss.dates[300]),
        end=str(gauss.dates[310]),
        null_simulations=0,
    )
    p = gauss.prices[:, 2]
    value = 50.0 * p[-1]
    rows = np.arange(300, 311)
    np.testing.assert_allclose(res.realised_pnl, value * (p[rows + 1] / p[rows] - 1), rtol=1e-12)
    assert res.pnl_dates[0] == str(gauss.dates[301])


def test_options_are_held_at_constant_time_to_expiry(gauss):
    as_of = gauss.last_date
    opt = option("S1", 100.0, 90, kind="put", vol=0.25, rate=0.03, div=0.01, as_of=as_of)
    book = Portfolio((Position("p", opt, 10.0, 100.0),))
    # a day early in the history: a 2-year-old window, still today's 90-day option
    res = run_backtest(
        book,
        gauss,
        window=100,
        start=str(gauss.dates[120]),
        end=str(gauss.dates[125]),
        null_simulations=0,
    )
    s0 = gauss.prices[-1, 1]
    r = gauss.prices[121:127, 1] / gauss.prices[120:126, 1] - 1
    t_now = 90 / 365
    now = black_scholes(s0, 100.0, t_now, 0.25, 0.03, 0.01, "put")
    later = black_scholes(s0 * (1 + r), 100.0, t_now - 1 / 252, 0.25, 0.03, 0.01, "put")
    np.testing.assert_allclose(res.realised_pnl, 1000.0 * (later - now), rtol=1e-9)
    assert any("constant time to expiry" in n for n in res.notes)


def test_each_day_is_what_compute_risk_gives_with_that_calibration_end(gauss):
    as_of = gauss.last_date
    book = Portfolio(
        (
            Position("s", stock_book({"S0": 200.0}).positions[0].instrument, 200.0),
            Position("o", option("S1", 95.0, 60, vol=0.3, as_of=as_of), -5.0, 100.0),
        )
    )
    kw = dict(window=250, confidence=(0.95, 0.99), n_scenarios=1_000, seed=7)
    res = run_backtest(
        book,
        gauss,
        methods=("historical", "parametric", "montecarlo"),
        start=str(gauss.dates[-4]),
        null_simulations=50,
        **kw,
    )
    assert [m.method for m in res.methods] == ["historical", "parametric", "montecarlo"]
    for m in res.methods:
        for i, d in enumerate(res.dates):
            row = gauss.index_of(d)
            rep = compute_risk(
                book, gauss, method=m.method, calibration_end=d, **(kw | {"seed": day_seed(7, row)})
            )
            for j, meas in enumerate(rep.measures):
                assert m.value_at_risk[i, j] == pytest.approx(meas.value_at_risk, rel=1e-10)
                assert m.expected_shortfall[i, j] == pytest.approx(
                    meas.expected_shortfall, rel=1e-10
                )


@pytest.mark.parametrize("weighting", ["age", "filtered"])
def test_weighted_historical_days_are_what_compute_risk_gives(gauss, weighting):
    book = stock_book({"S0": 100.0, "S2": -30.0})
    kw = dict(window=200, confidence=(0.95, 0.99), historical_weighting=weighting, decay=0.98)
    res = run_backtest(book, gauss, start=str(gauss.dates[-3]), null_simulations=100, **kw)
    m = res.methods[0]
    for i, d in enumerate(res.dates):
        rep = compute_risk(book, gauss, method="historical", calibration_end=d, **kw)
        np.testing.assert_allclose(
            m.value_at_risk[i], [x.value_at_risk for x in rep.measures], rtol=1e-12
        )
        np.testing.assert_allclose(
            m.expected_shortfall[i], [x.expected_shortfall for x in rep.measures], rtol=1e-12
        )
    assert 0 < m.statistics[0].z2_p_value <= 1


def test_a_days_monte_carlo_numbers_do_not_depend_on_the_range(gauss):
    book = stock_book({"S0": 10.0, "S1": 10.0})
    kw = dict(methods="montecarlo", window=120, n_scenarios=500, seed=3, null_simulations=0)
    a = run_backtest(book, gauss, start=str(gauss.dates[400]), end=str(gauss.dates[405]), **kw)
    b = run_backtest(book, gauss, start=str(gauss.dates[403]), end=str(gauss.dates[410]), **kw)
    np.testing.assert_array_equal(a.methods[0].value_at_risk[3:], b.methods[0].value_at_risk[:3])


@pytest.mark.parametrize(
    "fields",
    [
        {},
        {"distribution": "student-t", "df": 4.0},
        {"distribution": "cornish-fisher"},
        {"mean": "sample"},
        {"covariance": "ewma"},
    ],
)
def test_parametric_linear_book_rolling_variance_equals_the_covariance_form(gauss, fields):
    # The fast path (rolling variance of the P&L series b'r) against the engine's b' S b.
    book = stock_book({"S0": 100.0, "S1": -40.0, "S2": 70.0})
    res = run_backtest(
        book,
        gauss,
        methods="parametric",
        window=150,
        confidence=(0.95, 0.99),
        start=str(gauss.dates[-3]),
        null_simulations=0,
        **fields,
    )
    m = res.methods[0]
    for i, d in enumerate(res.dates):
        rep = compute_risk(
            book,
            gauss,
            method="parametric",
            window=150,
            confidence=(0.95, 0.99),
            calibration_end=d,
            **fields,
        )
        np.testing.assert_allclose(
            m.value_at_risk[i], [x.value_at_risk for x in rep.measures], rtol=1e-10
        )
        np.testing.assert_allclose(
            m.expected_shortfall[i], [x.expected_shortfall for x in rep.measures], rtol=1e-10
        )


def test_parametric_null_is_the_forecast_distribution(gauss):
    # The law the Z2 p-value simulates from has the forecast VaR as its c-quantile, for a
    # linear book (normal) and for a book with options (delta-gamma, Cornish-Fisher).
    from riskengine.backtest.rolling import ROLLERS
    from riskengine.backtest.run import _days, _setup, _specs

    as_of = gauss.last_date
    books = [
        stock_book({"S0": 100.0, "S1": 50.0}),
        Portfolio(
            (
                Position("s", stock_book({"S0": 1.0}).positions[0].instrument, 100.0),
                Position("o", option("S0", 100.0, 45, vol=0.35, as_of=as_of), 20.0, 100.0),
            )
        ),
    ]
    for book in books:
        specs, seed = _specs(("parametric",), 200, (0.975,), {"seed": 1})
        spec = specs["parametric"]
        index, universe, compiled, pnl, _ = _setup(book, gauss, spec)
        rows, _ = _days(gauss, index, universe, 200, None, None)
        from riskengine.backtest.rolling import BacktestSetup

        setup = BacktestSetup(gauss, index, book, universe, compiled, pnl, rows[-20:], 200, seed)
        rolled = ROLLERS["parametric"](setup, spec)
        assert isinstance(rolled.null, ParametricNull)
        np.testing.assert_allclose(
            rolled.null.loss_quantile(0.975), rolled.value_at_risk[:, 0], rtol=1e-9
        )


# ------------------------------------------------------------------------------ the result


def test_result_exports_json_csv_and_table(gauss):
    book = stock_book({"S0": 100.0, "S1": 50.0})
    res = run_backtest(
        book,
        gauss,
        methods=("historical", "parametric"),
        window=200,
        confidence=(0.95, 0.99),
        seed=5,
        null_simulations=200,
    )
    doc = json.loads(res.to_json())
    assert doc["kind"] == "backtest" and doc["n_days"] == res.n_days == 420 - 200
    assert doc["provenance"]["seed"] == 5
    assert len(doc["series"]["realised_pnl"]) == res.n_days
    hist = doc["methods"][0]
    assert hist["method"] == "historical"
    assert [s["confidence"] for s in hist["statistics"]] == [0.95, 0.99]
    st = hist["statistics"][1]
    assert set(st) >= {
        "n_exceptions",
        "kupiec_pof",
        "christoffersen_independence",
        "conditional_coverage",
        "traffic_light",
        "z2",
    }
    assert st["n_exceptions"] == sum(hist["series"][1]["exception"])
    assert st["z2"]["n_simulations"] == 200 and 0 < st["z2"]["p_value"] <= 1
    assert hist["series"][1]["traffic_light_zone"] == [None] * res.n_days  # < 250 days
    assert st["traffic_light"] is None
    rows = list(csv.DictReader(io.StringIO(res.to_csv())))
    assert len(rows) == res.n_days * 2 * 2
    first = rows[0]
    assert first["method"] == "historical" and float(first["confidence"]) == 0.95
    assert float(first["value_at_risk"]) == res.methods[0].value_at_risk[0, 0]
    table = res.format_table()
    assert "Kupiec" in table and "parametric" in table and "Z2" in table
    # same seed, same numbers (Z2 p-values included)
    again = run_backtest(
        book,
        gauss,
        methods=("historical", "parametric"),
        window=200,
        confidence=(0.95, 0.99),
        seed=5,
        null_simulations=200,
    )
    assert again.to_dict() == res.to_dict()


def test_traffic_light_statistic_is_the_last_250_days(real_history):
    book = stock_book({"AAPL": 100.0, "XOM": 100.0})
    res = run_backtest(book, real_history, start="2021-01-04", seed=1, null_simulations=0)
    m = res.methods[0]
    k = int(m.exceptions[-250:, 0].sum())
    assert m.statistics[0].traffic_light == traffic_light(k, 250, 0.99)
    assert m.traffic_light_exceptions[-1, 0] == k
    assert m.traffic_light_zone[-1, 0] == traffic_light(k).zone
    assert m.traffic_light_exceptions[248, 0] == -1 and m.traffic_light_exceptions[249, 0] >= 0


def test_progress_reaches_the_total(gauss):
    seen = []
    run_backtest(
        stock_book({"S0": 1.0}),
        gauss,
        methods=("historical", "montecarlo"),
        window=100,
        start=str(gauss.dates[-6]),
        n_scenarios=200,
        seed=1,
        null_simulations=0,
        progress=lambda m, done, total: seen.append((m, done, total)),
    )
    assert ("historical", 5, 5) in seen and seen[-1] == ("montecarlo", 5, 5)
    out = io.StringIO()
    bar = TextProgress(out, width=10)
    bar("montecarlo", 5, 10)
    bar("montecarlo", 10, 10)
    assert out.getvalue().endswith("[##########] 10/10 days    0.0 s\n")


# ---------------------------------------------------------------------------------- errors


def test_invalid_requests_raise_riskengine_errors(gauss):
    book = stock_book({"S0": 1.0})
    last = str(gauss.dates[-1])
    with pytest.raises(InputError, match="method 'var' is not one of"):
        run_backtest(book, gauss, methods=("var",))
    with pytest.raises(InputError, match="horizon_days must be 1"):
        run_backtest(book, gauss, window=100, horizon_days=10)
    with pytest.raises(InputError, match="unknown or fixed parameter"):
        run_backtest(book, gauss, window=100, preset="basel")
    with pytest.raises(InputError, match="leaves no next-day P&L"):
        run_backtest(book, gauss, window=100, end=last)
    with pytest.raises(InsufficientHistoryError, match="earliest possible start"):
        run_backtest(book, gauss, window=100, start=str(gauss.dates[50]))
    with pytest.raises(InsufficientHistoryError, match="needs at least 502 closes"):
        run_backtest(book, gauss, window=500)
    with pytest.raises(InputError, match="is after end"):
        run_backtest(book, gauss, window=100, start=str(gauss.dates[300]), end="2020-06-01")
    with pytest.raises(InsufficientHistoryError, match="needs >= 100 scenarios"):
        run_backtest(book, gauss, window=60, confidence=0.99)
    with pytest.raises(InsufficientHistoryError, match="earliest possible day"):
        run_backtest(book, gauss, window=100, end=str(gauss.dates[20]))
    with pytest.raises(InputError, match="null_simulations"):
        run_backtest(book, gauss, window=100, null_simulations=-1)


def test_missing_closes_limit_the_days_and_name_the_gap():
    base = gaussian_history(n_obs=300, k=3, seed=2)
    prices = base.prices.copy()
    prices[100, 1] = np.nan  # a gap in a factor of the book
    prices[200, 2] = np.nan  # a gap in a factor the book does not hold
    h = FactorHistory(base.dates.copy(), base.symbols, prices)
    book = stock_book({"S0": 1.0, "S1": 1.0})
    kw = dict(window=50, confidence=0.95, null_simulations=0)
    res = run_backtest(book, h, methods=("historical", "parametric", "montecarlo"), **kw)
    assert res.dates[0] == str(h.dates[151])  # the first window after the gap
    assert any("earlier windows miss closes" in n for n in res.notes)
    with pytest.raises(InsufficientHistoryError, match=f"S1 has no close on {h.dates[100]}"):
        run_backtest(book, h, start=str(h.dates[120]), **kw)


# ------------------------------------------------------------------------------------- CLI


def cli(*args):
    return subprocess.run(
        [sys.executable, "-m", "riskengine", "backtest", *args],
        capture_output=True,
        text=True,
        timeout=120,
    )


COMMON = ("--portfolio", BOOK, "--prices", DATA, "--start", "2022-10-03", "--seed", "4")


def test_cli_json_holds_series_and_statistics_per_method():
    out = cli(
        *COMMON,
        "--method",
        "historical",
        "parametric",
        "--confidence",
        "0.95",
        "0.99",
        "--simulations",
        "100",
        "--format",
        "json",
    )
    assert out.returncode == 0, out.stderr
    assert out.stderr == ""  # no progress bar when stderr is not a terminal
    doc = json.loads(out.stdout)
    assert doc["as_of"] == "2022-12-28" and doc["start"] == "2022-10-03"
    assert doc["end"] == "2022-12-27" and doc["window"] == 500
    assert [m["method"] for m in doc["methods"]] == ["historical", "parametric"]
    for m in doc["methods"]:
        assert len(m["series"]) == 2
        assert len(m["series"][0]["value_at_risk"]) == doc["n_days"]
        assert m["statistics"][1]["kupiec_pof"]["df"] == 1


def test_cli_table_and_progress():
    out = cli(*COMMON, "--method", "historical", "--simulations", "100", "--progress")
    assert out.returncode == 0, out.stderr
    assert "Backtest of 'book' held as of 2022-12-28" in out.stdout
    assert "historical" in out.stdout and "Kupiec LR (p)" in out.stdout
    assert "[##############################]" in out.stderr


def test_cli_bad_input_exits_2():
    out = cli("--portfolio", BOOK, "--prices", DATA, "--window", "5000")
    assert out.returncode == 2 and out.stdout == ""
    assert out.stderr.startswith("riskengine: error: ") and "needs at least 5002 closes" in (
        out.stderr
    )


def test_dates_accept_date_objects(gauss):
    res = run_backtest(
        stock_book({"S0": 1.0}),
        gauss,
        window=100,
        start=gauss.date_at(400),
        end=gauss.date_at(401),
        null_simulations=0,
    )
    assert res.dates == (str(gauss.dates[400]), str(gauss.dates[401]))
    assert isinstance(gauss.date_at(400), dt.date)


# ------------------------------------------------------------------------------------ docs

DOC = ROOT / "docs" / "backtest.md"


def _blocks(text: str, language: str) -> list[str]:
    return re.findall(rf"^```{language}[ \t]*\n(.*?)^```", text, flags=re.S | re.M)


def _backtest_parser():
    from riskengine.cli import build_parser

    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return parser, sub.choices["backtest"]


def test_backtest_md_option_table_matches_the_parser_and_its_command_parses():
    text = DOC.read_text(encoding="utf-8")
    parser, backtest = _backtest_parser()
    options = {
        s: a
        for a in backtest._actions
        for s in a.option_strings
        if s.startswith("--") and s != "--help"
    }
    rows = [
        [c.strip() for c in line.strip().strip("|").split("|")]
        for line in text.splitlines()
        if line.startswith("| `--")
    ]
    named = [re.search(r"`(--[a-z-]+)", r[0]).group(1) for r in rows]
    assert sorted(named) == sorted(options)
    for row, name in zip(rows, named, strict=True):
        action = options[name]
        literal = re.fullmatch(r"`([^`]+)`", row[1])
        if action.required:
            assert row[1] == "required", row
        elif literal:
            default = action.default[0] if isinstance(action.default, list) else action.default
            assert literal.group(1) == str(default), row
        for choice in action.choices or ():
            assert f"`{choice}`" in row[2], (name, choice)
    for block in _blocks(text, "sh"):
        words = shlex.split(re.sub(r"\\\n", " ", block))
        parser.parse_args(words[words.index("backtest") :])


def test_backtest_md_python_example_prints_what_the_doc_shows(monkeypatch):
    text = DOC.read_text(encoding="utf-8")
    code = _blocks(text, "python")[0]
    shown = text.split(code, 1)[1]
    shown = _blocks(shown, "text")[0]
    monkeypatch.chdir(ROOT)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code, str(DOC), "exec"), {"__name__": "__docs__"})
    assert out.getvalue() == shown
