"""Monte Carlo: convergence to closed forms within the reported standard error, honest standard
errors, reproducibility, block structure, the revaluation grid and bounded memory."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest
from scipy import stats

from riskengine import Portfolio, Position, RiskCache, compute_risk
from riskengine.core.random import BLOCK_SIZE
from riskengine.scenarios.monte_carlo import MonteCarloModel, MonteCarloScenarios
from support import gaussian_history, history_from_returns, option, stock_book

QTY = {"S0": 1000.0, "S1": -400.0, "S2": 700.0}


@pytest.fixture(scope="module")
def hist():
    return gaussian_history(n_obs=750, k=3, seed=4)


def _closed_form(hist, dist="normal", df=5.0, horizon=1, window=500):
    p = hist.prices[-window - 1 :]
    r = p[1:] / p[:-1] - 1.0
    e = np.array([QTY[s] * hist.prices[-1, hist.column[s]] for s in ("S0", "S1", "S2")])
    sd = np.sqrt(horizon * e @ np.cov(r.T, ddof=1) @ e)
    out = {}
    for c in (0.95, 0.99):
        if dist == "normal":
            z = stats.norm.ppf(c)
            out[c] = (sd * z, sd * stats.norm.pdf(z) / (1 - c))
        else:
            s = sd * np.sqrt((df - 2) / df)
            q = stats.t.ppf(c, df)
            out[c] = (s * q, s * stats.t.pdf(q, df) * (df + q * q) / ((df - 1) * (1 - c)))
    return out


@pytest.mark.parametrize("dist,horizon", [("normal", 1), ("normal", 10), ("student-t", 1)])
def test_linear_book_converges_to_parametric_within_reported_se(hist, dist, horizon):
    rep = compute_risk(
        stock_book(QTY),
        hist,
        method="montecarlo",
        distribution=dist,
        df=5.0,
        horizon_days=horizon,
        window=500,
        confidence=(0.95, 0.99),
        n_scenarios=100_000,
        seed=123,
    )
    exact = _closed_form(hist, dist, 5.0, horizon)
    for c, (var, es) in exact.items():
        m = rep.measure(c)
        assert abs(m.value_at_risk - var) < 3 * m.value_at_risk_standard_error
        assert abs(m.expected_shortfall - es) < 3 * m.expected_shortfall_standard_error
        # and the standard error is small relative to the number (it is not vacuous)
        assert m.value_at_risk_standard_error < 0.02 * var
    assert rep.provenance["seed"] == 123
    assert rep.n_scenarios == 100_000


@pytest.mark.slow
def test_standard_errors_are_honest_over_200_seeds(hist):
    exact = _closed_form(hist)[0.99]
    cache = RiskCache()
    misses_var = misses_es = 0
    for seed in range(200):
        m = compute_risk(
            stock_book(QTY),
            hist,
            method="montecarlo",
            window=500,
            confidence=0.99,
            n_scenarios=5_000,
            seed=seed,
            cache=cache,
        ).measure(0.99)
        misses_var += abs(m.value_at_risk - exact[0]) > 3 * m.value_at_risk_standard_error
        misses_es += abs(m.expected_shortfall - exact[1]) > 3 * m.expected_shortfall_standard_error
    # At +-3 SE a correct estimator misses ~0.3% of the time: 0.5 expected in 200 runs.
    assert misses_var <= 5
    assert misses_es <= 5
    assert cache.covariances.hits == 199  # the covariance was estimated once


def test_same_seed_same_bits_and_seed_drawn_when_omitted(hist):
    args = dict(method="montecarlo", window=500, confidence=(0.95, 0.99), n_scenarios=12_345)
    a = compute_risk(stock_book(QTY), hist, seed=9, **args)
    b = compute_risk(stock_book(QTY), hist, seed=9, cache=RiskCache(), **args)
    assert a.to_dict()["results"] == b.to_dict()["results"]
    assert a.pnl_histogram == b.pnl_histogram
    c = compute_risk(stock_book(QTY), hist, seed=10, **args)
    assert c.measure(0.99).value_at_risk != a.measure(0.99).value_at_risk
    drawn = compute_risk(stock_book(QTY), hist, **args)
    seed = drawn.provenance["seed"]
    assert isinstance(seed, int)
    again = compute_risk(stock_book(QTY), hist, seed=seed, **args)
    assert again.measure(0.99).value_at_risk == drawn.measure(0.99).value_at_risk


def test_blocks_come_from_spawned_seed_sequences_in_order():
    cov = np.array([[1e-4, 2e-5], [2e-5, 4e-4]])
    model = MonteCarloModel(np.zeros(2), cov, "student-t", 6.0, 3)
    n = 2 * BLOCK_SIZE + 17
    blocks = list(MonteCarloScenarios(model, n, seed=42).blocks())
    assert [b.shape[0] for b in blocks] == [BLOCK_SIZE, BLOCK_SIZE, 17]
    children = np.random.SeedSequence(42).spawn(3)
    for i, block in enumerate(blocks):
        rng = np.random.Generator(np.random.PCG64(children[i]))
        assert np.array_equal(block, model.sample(block.shape[0], rng))
    # Taking the blocks in any order (as workers would) and merging in block order is the same.
    redo = [None] * 3
    for i in (2, 0, 1):
        rng = np.random.Generator(np.random.PCG64(children[i]))
        redo[i] = model.sample(blocks[i].shape[0], rng)
    assert np.array_equal(np.vstack(redo), np.vstack(blocks))


def test_student_t_scenarios_have_the_model_covariance():
    cov = np.array([[1e-4, 3e-5], [3e-5, 2.5e-4]])
    model = MonteCarloModel(np.zeros(2), cov, "student-t", 8.0, 4)
    r = np.vstack(list(MonteCarloScenarios(model, 400_000, seed=1).blocks()))
    assert np.allclose(np.cov(r.T), 4 * cov, rtol=0.03)
    # excess kurtosis of a t(8) marginal is 6/(8-4) = 1.5
    assert stats.kurtosis(r[:, 0]) == pytest.approx(1.5, abs=0.25)


def test_semidefinite_covariance_uses_eigen_root():
    rng = np.random.default_rng(0)
    base = rng.normal(0, 0.01, (300, 1))
    r = np.hstack([base, base, rng.normal(0, 0.01, (300, 1))])  # two identical factors
    h = history_from_returns(r)
    rep = compute_risk(
        stock_book({"S0": 10.0, "S1": -10.0, "S2": 5.0}),
        h,
        method="montecarlo",
        window=250,
        n_scenarios=20_000,
        seed=1,
        confidence=0.99,
    )
    assert rep.parameters["matrix_root"] == "eigen"
    par = compute_risk(
        stock_book({"S0": 10.0, "S1": -10.0, "S2": 5.0}),
        h,
        method="parametric",
        window=250,
        confidence=0.99,
    )
    m = rep.measure(0.99)
    assert (
        abs(m.value_at_risk - par.measure(0.99).value_at_risk) < 3 * m.value_at_risk_standard_error
    )


def test_grid_revaluation_within_stated_bound_of_full(real_history):
    as_of = real_history.last_date
    spot = {s: real_history.prices[-1, real_history.column[s]] for s in ("AAPL", "JPM", "XOM")}
    positions = [
        Position("c1", option("AAPL", spot["AAPL"], 30, "call", 0.4, as_of=as_of), -30, 100),
        Position("p1", option("AAPL", 0.9 * spot["AAPL"], 90, "put", 0.45, as_of=as_of), 40, 100),
        Position("c2", option("JPM", 1.05 * spot["JPM"], 10, "call", 0.3, as_of=as_of), 25, 100),
        Position("p2", option("XOM", spot["XOM"], 5, "put", 0.35, as_of=as_of), -20, 100),
    ]
    book = Portfolio(tuple(positions))
    args = dict(
        method="montecarlo",
        window=750,
        confidence=(0.95, 0.99),
        n_scenarios=40_000,
        seed=3,
        horizon_days=10,
        distribution="student-t",
    )
    grid = compute_risk(book, real_history, revaluation="grid", **args)
    full = compute_risk(book, real_history, revaluation="full", **args)
    bound = grid.parameters["revaluation_error_bound"]
    # the bound is far inside the Monte Carlo noise of the same run
    assert 0 < bound < 0.25 * full.measure(0.99).value_at_risk_standard_error
    for c in (0.95, 0.99):
        assert abs(grid.measure(c).value_at_risk - full.measure(c).value_at_risk) <= bound
        assert abs(grid.measure(c).expected_shortfall - full.measure(c).expected_shortfall) <= bound


def test_memory_stays_bounded_at_a_million_paths():
    rng = np.random.default_rng(2)
    k = 40
    h = history_from_returns(rng.normal(0, 0.01, (300, k)))
    book = stock_book({f"S{i}": 1.0 + i for i in range(k)})
    cache = RiskCache(scenario_bytes=0)  # nothing kept: blocks stream through
    tracemalloc.start()
    rep = compute_risk(
        book,
        h,
        method="montecarlo",
        window=250,
        n_scenarios=1_000_000,
        seed=5,
        confidence=0.99,
        cache=cache,
    )
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    full_cube = 1_000_000 * k * 8  # 320 MB if every path's factor returns were kept
    assert rep.n_scenarios == 1_000_000
    assert peak < full_cube / 4, f"peak {peak / 2**20:.0f} MiB"


def test_scenarios_are_generated_once_per_snapshot_and_reused_across_books(hist):
    cache = RiskCache()
    args = dict(method="montecarlo", window=500, confidence=0.99, n_scenarios=20_000, seed=8)
    a = compute_risk(stock_book({"S0": 10.0}), hist, cache=cache, **args)
    b = compute_risk(stock_book({"S1": -3.0, "S2": 4.0}), hist, cache=cache, **args)
    assert cache.scenarios.misses == 1 and cache.scenarios.hits == 1
    assert cache.covariances.misses == 1
    fresh = compute_risk(stock_book({"S1": -3.0, "S2": 4.0}), hist, **args)
    assert b.measure(0.99).value_at_risk == fresh.measure(0.99).value_at_risk
    # the covariance key includes the window: a new window is a new estimate
    compute_risk(stock_book({"S0": 10.0}), hist, cache=cache, **(args | {"window": 400}))
    assert cache.covariances.misses == 2
    assert a.provenance["data_snapshot_id"] == b.provenance["data_snapshot_id"]


def test_result_does_not_depend_on_the_number_of_workers(real_history):
    from riskengine import load_portfolio
    from riskengine.scale import LocalExecutor
    from support import ROOT

    book = load_portfolio(ROOT / "examples" / "book.csv")
    reports = [
        compute_risk(
            book,
            real_history,
            method=m,
            window=750,
            confidence=(0.95, 0.99),
            n_scenarios=3 * BLOCK_SIZE + 11,
            seed=21,
            executor=LocalExecutor(w),
        )
        for m in ("montecarlo", "historical")
        for w in (1, 2, 3)
    ]
    for a, b in ((0, 1), (0, 2), (3, 4), (3, 5)):
        assert reports[a].to_dict()["results"] == reports[b].to_dict()["results"]
        assert reports[a].pnl_histogram == reports[b].pnl_histogram


def test_a_drawn_seed_survives_any_json_client():
    """A seed the engine draws is reported so that the run can be repeated; a JavaScript
    client (the page) reads JSON numbers as doubles, exact only up to 2**53 - 1: a 63-bit seed
    came back rounded (3009447881476143022 read as 3009447881476143000)."""
    from riskengine.core.random import draw_seed

    seeds = [draw_seed() for _ in range(200)]
    assert all(0 <= s <= 2**53 - 1 for s in seeds)
    assert all(float(s) == s for s in seeds)  # exact as a double
    assert len(set(seeds)) == 200 and max(seeds) > 2**50  # still drawn from a wide range
