"""Monte Carlo techniques: antithetic variates, scrambled Sobol quasi-Monte Carlo and the
log-space model. Oracles are closed forms (delta-normal, lognormal, chi-square) and the
seed-to-seed spread of the estimates; invariants are the block/seed structure (same seed, same
bits; any number of workers, same bits)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats
from scipy.stats import qmc

from riskengine import RiskCache, compute_risk
from riskengine.core.measures import empirical_estimates, grouped_estimates, var_es
from riskengine.core.random import BLOCK_SIZE
from riskengine.errors import InputError
from riskengine.methods.base import measures_of
from riskengine.scenarios.monte_carlo import MonteCarloModel, MonteCarloScenarios
from support import gaussian_history, history_from_returns, stock_book

QTY = {"S0": 1000.0, "S1": -400.0, "S2": 700.0}
N_SEEDS = 150


@pytest.fixture(scope="module")
def hist():
    return gaussian_history(n_obs=750, k=3, seed=4)


def _book_sd(hist, horizon=1, window=500):
    """Standard deviation of the linear book QTY's horizon P&L under the sample covariance."""
    p = hist.prices[-window - 1 :]
    r = p[1:] / p[:-1] - 1.0
    e = np.array([QTY[s] * hist.prices[-1, hist.column[s]] for s in QTY])
    return math.sqrt(horizon * e @ np.cov(r.T, ddof=1) @ e)


def _delta_normal(hist, confidences=(0.95, 0.99), horizon=1):
    """Closed-form VaR and ES of the linear book QTY: normal with the sample covariance."""
    sd = _book_sd(hist, horizon)
    out = {}
    for c in confidences:
        z = stats.norm.ppf(c)
        out[c] = (sd * z, sd * stats.norm.pdf(z) / (1 - c))
    return out


def _run(hist, sampling, seed, n, cache=None, **kw):
    args = dict(method="montecarlo", window=500, confidence=(0.95, 0.99), n_scenarios=n)
    return compute_risk(
        stock_book(QTY), hist, sampling=sampling, seed=seed, cache=cache, **(args | kw)
    )


def _miss_threshold(n_runs: int, p_miss: float) -> int:
    """Largest miss count a correct standard error gives with probability 0.999."""
    return int(stats.binom.ppf(0.999, n_runs, p_miss))


# ------------------------------------------------------------------------- antithetic


def test_antithetic_blocks_pair_z_with_minus_z_and_share_the_chi_square():
    cov = np.array([[1e-4, 2e-5], [2e-5, 4e-4]])
    for dist in ("normal", "student-t"):
        model = MonteCarloModel(np.zeros(2), cov, dist, 5.0, 3)
        n = BLOCK_SIZE + 7  # the last block is odd
        scen = MonteCarloScenarios(model, n, seed=11, sampling="antithetic")
        full, last = scen.block(0), scen.block(1)
        half = BLOCK_SIZE // 2
        # zero mean: the partner of a path is exactly its negative (same chi-square draw)
        assert np.array_equal(full[half:], -full[:half])
        assert last.shape == (7, 2)
        assert np.array_equal(last[4:], -last[:3])  # 3 pairs and one unpaired path (index 3)
        groups = scen.path_groups()
        assert groups.shape == (n,)
        assert np.array_equal(groups[half:BLOCK_SIZE], groups[:half])
        tail = groups[BLOCK_SIZE:]
        assert np.array_equal(tail[4:], tail[:3]) and np.sum(groups == tail[3]) == 1
        assert np.array_equal(np.unique(groups), np.arange(half + 4))
    # the block is drawn from its own spawned stream (half the normals, then the chi-squares)
    child = np.random.SeedSequence(11).spawn(2)[1]
    rng = np.random.Generator(np.random.PCG64(child))
    assert np.array_equal(last, model.sample_antithetic(7, rng))


def test_antithetic_on_a_linear_book_makes_the_mean_exact_but_not_the_tail():
    """For a linear book with a symmetric model a pair's losses are L and -L: the sample mean
    P&L is exactly 0, but the VaR's partner sits in the other tail. At VaR_c (> 0) the pair
    mean of 1{L <= VaR} is 1 - 1{|L| > VaR}/2, so var(F_n) = (1 - c)(2c - 1)/n against
    c(1 - c)/n for independent paths: the VaR's standard error shrinks only by
    sqrt((2c - 1)/c) (0.995 at 0.99)."""
    cov = np.diag([1e-4, 4e-4, 2.25e-4])
    e = np.array([1e6, -4e5, 7e5])
    model = MonteCarloModel(np.zeros(3), cov)
    scen = MonteCarloScenarios(model, 40_000, seed=3, sampling="antithetic")
    pnl = np.concatenate([b.astype(float) @ e for b in scen.blocks()])
    assert abs(pnl.mean()) < 1e-6 * pnl.std()
    confs = (0.95, 0.99)
    paired = measures_of(grouped_estimates(pnl, scen.path_groups(), confs))
    naive = measures_of(empirical_estimates(pnl, confs, standard_errors=True))
    for c, a, b in zip(confs, paired, naive, strict=True):
        ratio = a.value_at_risk_standard_error / b.value_at_risk_standard_error
        assert ratio == pytest.approx(math.sqrt((2 * c - 1) / c), abs=0.01)
        # ES: the partner of a tail path is never in the tail: again almost no reduction
        es_ratio = a.expected_shortfall_standard_error / b.expected_shortfall_standard_error
        assert 0.97 < es_ratio <= 1.0


def test_antithetic_standard_error_counts_a_pair_once_when_its_paths_agree():
    """An even P&L (a short 'variance' position, -a (e'r)^2) gives both paths of a pair the
    same loss: the pairs carry the information, not the paths. The reported standard errors
    are then sqrt(2) times the i.i.d. formula's and match the seed-to-seed spread; the
    estimates stay within 3 SE of the chi-square closed form."""
    cov = np.array([[1e-4, 3e-5], [3e-5, 2.5e-4]])
    e = np.array([1.0, 2.0])
    s2 = e @ cov @ e
    a = 1e6
    model = MonteCarloModel(np.zeros(2), cov)
    c = 0.99
    q = stats.chi2.ppf(c, 1)
    exact_var = a * s2 * q
    exact_es = a * s2 * stats.chi2.sf(q, 3) / (1 - c)  # E[Q 1{Q > q}] = P(chi2_3 > q)
    rows = []
    for seed in range(N_SEEDS):
        scen = MonteCarloScenarios(model, 16_384, seed=seed, sampling="antithetic")
        r = np.vstack(list(scen.blocks())).astype(float)
        pnl = -a * (r @ e) ** 2
        m = measures_of(grouped_estimates(pnl, scen.path_groups(), [c]))[0]
        naive = measures_of(empirical_estimates(pnl, [c], standard_errors=True))[0]
        rows.append(
            (
                m.value_at_risk,
                m.expected_shortfall,
                m.value_at_risk_standard_error,
                m.expected_shortfall_standard_error,
                naive.value_at_risk_standard_error,
                naive.expected_shortfall_standard_error,
            )
        )
    x = np.array(rows)
    assert np.median(x[:, 2] / x[:, 4]) == pytest.approx(math.sqrt(2), rel=0.05)
    assert np.median(x[:, 3] / x[:, 5]) == pytest.approx(math.sqrt(2), rel=0.05)
    # Each loss appears twice, so the VaR's density term rests on half as many distinct order
    # statistics as with independent paths: its pivot has fatter tails (t with ~5 dof).
    _assert_honest(x[:, 0], x[:, 2], exact_var, p_miss=2 * stats.t.sf(3, 5))
    _assert_honest(x[:, 1], x[:, 3], exact_es, p_miss=_P_MISS_MC)


# At +-3 SE a normal pivot misses 0.27% of the time. The standard errors are estimates
# themselves (the VaR's from the ~2 sqrt(n c (1-c)) = 13 order statistics around it at n = 4,096,
# c = 0.99), which fattens the pivot's tails like a Student-t with about 10 degrees of freedom.
_P_MISS_MC = 2 * stats.t.sf(3, 10)  # 1.3%
_P_MISS_SOBOL = 2 * stats.t.sf(3, 15)  # 16 scrambles: the pivot is t with 15 dof; 0.9%


def _assert_honest(estimates, ses, exact, *, p_miss):
    """Misses at +-3 SE within the binomial's 99.9% bound, and the reported SE on average
    within 20% of the seed-to-seed standard deviation (an SE off by sqrt(2) fails both)."""
    estimates, ses = np.asarray(estimates), np.asarray(ses)
    misses = int(np.sum(np.abs(estimates - exact) > 3 * ses))
    assert misses <= _miss_threshold(estimates.size, p_miss), misses
    ratio = ses.mean() / estimates.std(ddof=1)
    assert 0.8 < ratio < 1.25, ratio


@pytest.mark.parametrize("sampling", ["antithetic", "sobol"])
def test_standard_errors_are_honest_over_seeds(hist, sampling):
    exact = _delta_normal(hist, (0.99,))[0.99]
    cache = RiskCache()
    rows = []
    for seed in range(N_SEEDS):
        m = _run(hist, sampling, seed, 4_096, cache, confidence=0.99).measure(0.99)
        rows.append(
            (
                m.value_at_risk,
                m.value_at_risk_standard_error,
                m.expected_shortfall,
                m.expected_shortfall_standard_error,
            )
        )
    got = np.array(rows)
    p = _P_MISS_SOBOL if sampling == "sobol" else _P_MISS_MC
    _assert_honest(got[:, 0], got[:, 1], exact[0], p_miss=p)
    _assert_honest(got[:, 2], got[:, 3], exact[1], p_miss=p)
    # one estimate (and for Sobol its principal root), reused by every seed
    assert cache.covariances.misses == (2 if sampling == "sobol" else 1)


@pytest.mark.parametrize(
    "sampling,horizon,n", [("antithetic", 1, 100_001), ("sobol", 10, 2**16), ("sobol", 1, 2**14)]
)
def test_linear_book_converges_to_delta_normal_within_reported_se(hist, sampling, horizon, n):
    rep = _run(hist, sampling, 5, n, horizon_days=horizon)
    for c, (var, es) in _delta_normal(hist, horizon=horizon).items():
        m = rep.measure(c)
        assert abs(m.value_at_risk - var) < 3 * m.value_at_risk_standard_error
        assert abs(m.expected_shortfall - es) < 3 * m.expected_shortfall_standard_error
        assert 0 < m.value_at_risk_standard_error < 0.02 * var
    assert rep.n_scenarios == n


def test_student_t_sobol_uses_a_chi_square_dimension_and_converges(hist):
    df = 5.0
    rep = _run(hist, "sobol", 3, 2**15, distribution="student-t", df=df)
    s = _book_sd(hist) * math.sqrt((df - 2) / df)
    for c in (0.95, 0.99):
        q = stats.t.ppf(c, df)
        var = s * q
        es = s * stats.t.pdf(q, df) * (df + q * q) / ((df - 1) * (1 - c))
        m = rep.measure(c)
        assert abs(m.value_at_risk - var) < 3 * m.value_at_risk_standard_error
        assert abs(m.expected_shortfall - es) < 3 * m.expected_shortfall_standard_error


# ------------------------------------------------------------------------------ Sobol


def test_sobol_standard_error_is_smaller_than_plain_at_the_same_path_count(hist):
    n = 2**14
    ratios = []
    for seed in range(5):
        plain = _run(hist, "plain", seed, n).measure(0.99)
        sobol = _run(hist, "sobol", seed, n).measure(0.99)
        ratios.append(
            (
                sobol.value_at_risk_standard_error / plain.value_at_risk_standard_error,
                sobol.expected_shortfall_standard_error / plain.expected_shortfall_standard_error,
            )
        )
    assert np.all(np.mean(ratios, axis=0) < 0.75), ratios


def test_sobol_blocks_are_the_scrambles_points_whatever_the_order():
    cov = np.array([[1e-4, 2e-5], [2e-5, 4e-4]])
    model = MonteCarloModel(np.zeros(2), cov, "student-t", 6.0, 1)
    scen = MonteCarloScenarios(model, 4 * 8192, seed=42, sampling="sobol", n_scrambles=4)
    assert scen.block_size == 4096 and scen.n_blocks == 8  # 2 blocks per scramble
    # independent oracle: a fresh generator per block, fast-forwarded to the block's start
    for i in (7, 0, 5, 3, 4, 1, 6, 2):
        j, k = divmod(i, 4)
        stream = np.random.SeedSequence(42).spawn(4)[k]
        rng = np.random.Generator(np.random.PCG64(stream))
        eng = qmc.Sobol(3, scramble=True, bits=24, rng=rng)
        if j:
            eng.fast_forward(j * 4096)
        u = eng.random(4096) + 2.0**-25
        assert np.array_equal(scen.block(i), model.from_uniforms(u))
    assert np.array_equal(scen.block(0), scen.block(0))  # regenerated, not kept: same bits
    again = MonteCarloScenarios(model, 4 * 8192, seed=42, sampling="sobol", n_scrambles=4)
    assert np.array_equal(np.vstack(list(again.blocks())), np.vstack(list(scen.blocks())))
    assert np.array_equal(scen.path_groups(), np.repeat(np.arange(8) % 4, 4096))


def test_sobol_path_count_must_give_power_of_two_scrambles(hist):
    with pytest.raises(InputError, match=r"Use n_scenarios \(--paths\) 8192 or 16384"):
        _run(hist, "sobol", 1, 10_000)
    with pytest.raises(InputError, match="n_scrambles must be >= 2"):
        _run(hist, "sobol", 1, 4096, n_scrambles=1)
    rep = _run(hist, "sobol", 1, 3 * 1024, n_scrambles=3)
    assert rep.parameters["points_per_scramble"] == 1024


# ---------------------------------------------------------------- reproducibility


@pytest.mark.parametrize("sampling", ["antithetic", "sobol"])
def test_same_seed_same_bits_and_independent_of_workers(real_history, sampling):
    from riskengine import load_portfolio
    from riskengine.scale import LocalExecutor
    from support import ROOT

    book = load_portfolio(ROOT / "examples" / "book.csv")
    n = 2 * BLOCK_SIZE + 11 if sampling == "antithetic" else 4 * 8192
    args = dict(
        method="montecarlo",
        window=750,
        confidence=(0.95, 0.99),
        n_scenarios=n,
        seed=21,
        sampling=sampling,
        n_scrambles=4,
        distribution="student-t",
    )
    reports = [
        compute_risk(book, real_history, executor=LocalExecutor(w), cache=RiskCache(), **args)
        for w in (1, 3, 3)
    ]
    for other in reports[1:]:
        assert other.to_dict()["results"] == reports[0].to_dict()["results"]
        assert other.pnl_histogram == reports[0].pnl_histogram
    changed = compute_risk(book, real_history, **(args | {"seed": 22}))
    assert changed.measure(0.99).value_at_risk != reports[0].measure(0.99).value_at_risk


def test_report_names_the_technique(hist):
    plain = _run(hist, "plain", 1, 4096)
    assert plain.parameters["sampling"] == "plain"
    assert plain.parameters["return_model"] == "simple"
    assert "n_scrambles" not in plain.parameters
    sob = _run(hist, "sobol", 1, 4096, n_scrambles=8, return_model="log")
    p = sob.parameters
    assert (p["sampling"], p["n_scrambles"], p["points_per_scramble"]) == ("sobol", 8, 512)
    assert p["return_model"] == "log"
    assert any("Sobol" in n for n in sob.notes) and any("log-space" in n for n in sob.notes)
    anti = _run(hist, "antithetic", 1, 4096)
    assert anti.parameters["sampling"] == "antithetic"


# ------------------------------------------------------------------------ log model


@pytest.fixture(scope="module")
def one_stock():
    rng = np.random.default_rng(3)
    return history_from_returns(np.expm1(rng.normal(0.001, 0.03, (400, 1))))


@pytest.mark.parametrize("mean", ["zero", "sample"])
@pytest.mark.parametrize("sampling", ["plain", "sobol"])
def test_log_model_matches_the_lognormal_closed_form(one_stock, mean, sampling):
    h = 10
    x = np.diff(np.log(one_stock.prices[:, 0]))
    sigma = x.std(ddof=1)
    mu = x.mean() if mean == "sample" else 0.0
    spot = one_stock.prices[-1, 0]
    for qty in (100.0, -100.0):
        rep = compute_risk(
            stock_book({"S0": qty}),
            one_stock,
            method="montecarlo",
            window=400,
            horizon_days=h,
            n_scenarios=2**16,
            seed=1,
            return_model="log",
            mean=mean,
            sampling=sampling,
            confidence=(0.95, 0.99),
        )
        for c in (0.95, 0.99):
            z = stats.norm.ppf(c)
            if qty > 0:  # the loss is large when the price falls
                var = qty * spot * (1 - math.exp(mu * h - sigma * math.sqrt(h) * z))
            else:
                var = -qty * spot * (math.exp(mu * h + sigma * math.sqrt(h) * z) - 1)
            m = rep.measure(c)
            assert abs(m.value_at_risk - var) < 3 * m.value_at_risk_standard_error
            # the lognormal differs from a normal simple return by far more than the error
            normal = abs(qty) * spot * (sigma * math.sqrt(h) * z - np.sign(qty) * mu * h)
            assert abs(normal - var) > 10 * m.value_at_risk_standard_error


def test_log_model_grid_range_is_the_simple_return_range():
    cov = np.array([[4e-4]])
    model = MonteCarloModel(np.array([1e-3]), cov, horizon_days=10, return_model="log")
    lo, hi = model.marginal_range(1e-5)
    sd = math.sqrt(10 * 4e-4)
    z = stats.norm.ppf(1 - 1e-5)
    assert lo[0] == pytest.approx(math.expm1(1e-2 - z * sd))
    assert hi[0] == pytest.approx(math.expm1(1e-2 + z * sd))
    r = np.vstack(list(MonteCarloScenarios(model, 20_000, seed=1).blocks()))
    assert r.min() > -1.0  # a price never turns negative in the log model
    assert np.log1p(r.astype(float)).std() == pytest.approx(sd, rel=0.02)
    assert var_es(-r[:, 0], [0.5])[0][0] == pytest.approx(math.expm1(1e-2), abs=3e-3)
