"""Covariance estimators (sample, EWMA, Ledoit-Wolf) against independent oracles, as used by the
parametric and Monte Carlo methods, and their cache keys."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from riskengine import InputError, RiskCache, compute_risk
from riskengine.core.covariance import estimate_covariance, ewma_covariance, ledoit_wolf
from support import gaussian_history, stock_book

QTY = {"S0": 1000.0, "S1": -400.0, "S2": 700.0}
WINDOW = 250


@pytest.fixture(scope="module")
def hist():
    return gaussian_history(n_obs=400, k=3, seed=11)


def _window_returns(h, window=WINDOW):
    p = h.prices[-window - 1 :]
    return p[1:] / p[:-1] - 1.0


def _exposure(h):
    return np.array([QTY[s] * h.prices[-1, h.column[s]] for s in ("S0", "S1", "S2")])


def _hand_ewma(returns, lam):
    """RiskMetrics zero-mean EWMA by an explicit loop: weights (1-l) l^(N-k) / (1 - l^N)."""
    n, p = returns.shape
    sigma = np.zeros((p, p))
    for k in range(1, n + 1):
        w = (1.0 - lam) * lam ** (n - k) / (1.0 - lam**n)
        r = returns[k - 1]
        for i in range(p):
            for j in range(p):
                sigma[i, j] += w * r[i] * r[j]
    return sigma


@pytest.mark.parametrize("lam", [0.94, 0.97, 0.5])
def test_ewma_covariance_equals_hand_loop(lam):
    r = np.random.default_rng(5).normal(0.001, 0.02, size=(40, 3))
    expected = _hand_ewma(r, lam)
    assert np.allclose(ewma_covariance(r, lam), expected, rtol=1e-12, atol=0)
    est = estimate_covariance(r, estimator="ewma", ewma_lambda=lam)
    assert np.allclose(est.matrix, expected, rtol=1e-12, atol=0)
    assert est.estimator == "ewma" and est.ewma_lambda == lam and est.shrinkage is None
    assert est.report_parameters == {"covariance": "ewma", "ewma_lambda": lam}
    # zero-mean: the mean of the returns is not removed, and the model mean stays zero
    assert np.all(est.mean == 0.0)


@pytest.mark.parametrize("n_obs,n_factors", [(200, 5), (30, 40), (60, 2)])
def test_ledoit_wolf_matches_scikit_learn(n_obs, n_factors):
    sk = pytest.importorskip("sklearn.covariance")
    rng = np.random.default_rng(n_obs + n_factors)
    a = rng.normal(size=(n_factors, n_factors))
    r = 0.01 * rng.normal(size=(n_obs, n_factors)) @ a + 0.002
    ref = sk.LedoitWolf(assume_centered=False).fit(r)
    matrix, shrinkage = ledoit_wolf(r)
    assert shrinkage == pytest.approx(ref.shrinkage_, rel=1e-10, abs=1e-14)
    assert np.allclose(matrix, ref.covariance_, rtol=1e-10, atol=1e-18)
    est = estimate_covariance(r, estimator="ledoit-wolf", mean="sample")
    assert np.allclose(est.matrix, ref.covariance_, rtol=1e-10, atol=1e-18)
    assert est.report_parameters == {"covariance": "ledoit-wolf", "shrinkage": est.shrinkage}
    assert np.allclose(est.mean, r.mean(axis=0))
    assert not est.repaired


def _normal_var_es(sd, c):
    z = stats.norm.ppf(c)
    return sd * z, sd * stats.norm.pdf(z) / (1 - c)


@pytest.mark.parametrize(
    "extra,lam",
    [
        (dict(ewma_lambda=0.97), 0.97),
        (dict(), 0.94),
        (dict(half_life=30), 0.5 ** (1 / 30)),
    ],
)
def test_parametric_ewma_matches_closed_form_on_hand_ewma(hist, extra, lam):
    e = _exposure(hist)
    cov = _hand_ewma(_window_returns(hist), lam)
    horizon = 10
    sd = np.sqrt(horizon * e @ cov @ e)
    rep = compute_risk(
        stock_book(QTY),
        hist,
        method="parametric",
        covariance="ewma",
        window=WINDOW,
        horizon_days=horizon,
        confidence=(0.95, 0.99),
        **extra,
    )
    for c in (0.95, 0.99):
        var, es = _normal_var_es(sd, c)
        assert rep.measure(c).value_at_risk == pytest.approx(var, rel=1e-10)
        assert rep.measure(c).expected_shortfall == pytest.approx(es, rel=1e-10)
    assert rep.parameters["covariance"] == "ewma"
    assert rep.parameters["ewma_lambda"] == pytest.approx(lam, rel=1e-15)
    assert "shrinkage" not in rep.parameters


def test_parametric_ledoit_wolf_reports_estimator_and_shrinkage(hist):
    sk = pytest.importorskip("sklearn.covariance")
    ref = sk.LedoitWolf().fit(_window_returns(hist))
    e = _exposure(hist)
    rep = compute_risk(
        stock_book(QTY),
        hist,
        method="parametric",
        covariance="ledoit-wolf",
        window=WINDOW,
        confidence=0.99,
    )
    var, es = _normal_var_es(np.sqrt(e @ ref.covariance_ @ e), 0.99)
    assert rep.measure(0.99).value_at_risk == pytest.approx(var, rel=1e-10)
    assert rep.measure(0.99).expected_shortfall == pytest.approx(es, rel=1e-10)
    assert rep.parameters["covariance"] == "ledoit-wolf"
    assert rep.parameters["shrinkage"] == pytest.approx(ref.shrinkage_, rel=1e-10)
    assert "ewma_lambda" not in rep.parameters


def test_montecarlo_ledoit_wolf_converges_to_parametric_ledoit_wolf(hist):
    # A short window (40 days, 3 factors) shrinks strongly (about 0.17), so the Ledoit-Wolf
    # VaR is far (> 3 standard errors) from the sample-covariance one: the test tells them apart.
    common = dict(window=40, confidence=(0.95, 0.99))
    par = compute_risk(
        stock_book(QTY), hist, method="parametric", covariance="ledoit-wolf", **common
    )
    sample = compute_risk(stock_book(QTY), hist, method="parametric", **common)
    mc = compute_risk(
        stock_book(QTY),
        hist,
        method="montecarlo",
        covariance="ledoit-wolf",
        n_scenarios=60_000,
        seed=2024,
        **common,
    )
    assert mc.parameters["covariance"] == "ledoit-wolf"
    assert mc.parameters["shrinkage"] == par.parameters["shrinkage"] > 0.1
    for c in (0.95, 0.99):
        m, p = mc.measure(c), par.measure(c)
        assert abs(m.value_at_risk - p.value_at_risk) < 3 * m.value_at_risk_standard_error
        assert abs(m.expected_shortfall - p.expected_shortfall) < (
            3 * m.expected_shortfall_standard_error
        )
        far = abs(m.value_at_risk - sample.measure(c).value_at_risk)
        assert far > 3 * m.value_at_risk_standard_error


def test_covariance_cache_keys_differ_per_estimator_and_lambda(hist):
    cache = RiskCache()
    book = stock_book(QTY)

    def var(**kw):
        rep = compute_risk(book, hist, method="parametric", window=WINDOW, cache=cache, **kw)
        return rep.measure(0.99).value_at_risk

    covs = cache.covariances
    sample = var()
    assert (covs.hits, covs.misses) == (0, 1)
    assert var() == sample
    assert (covs.hits, covs.misses) == (1, 1)
    ewma94 = var(covariance="ewma", ewma_lambda=0.94)
    assert (covs.hits, covs.misses) == (1, 2)
    ewma97 = var(covariance="ewma", ewma_lambda=0.97)
    assert (covs.hits, covs.misses) == (1, 3)
    assert var(covariance="ewma", ewma_lambda=0.94) == ewma94
    assert (covs.hits, covs.misses) == (2, 3)
    lw = var(covariance="ledoit-wolf")
    assert (covs.hits, covs.misses) == (2, 4)
    # lambda is no parameter of the sample or Ledoit-Wolf estimators: same entries
    assert var(ewma_lambda=0.8) == sample
    assert var(covariance="ledoit-wolf", ewma_lambda=0.8) == lw
    assert (covs.hits, covs.misses) == (4, 4)
    assert len({sample, ewma94, ewma97, lw}) == 4


@pytest.mark.parametrize("method", ["parametric", "montecarlo"])
def test_bad_ewma_lambda_is_an_input_error_naming_the_field(hist, method):
    with pytest.raises(InputError, match="ewma_lambda"):
        compute_risk(
            stock_book(QTY), hist, method=method, covariance="ewma", ewma_lambda=1.2, seed=1
        )
    with pytest.raises(InputError, match="half_life"):
        compute_risk(stock_book(QTY), hist, method=method, covariance="ewma", half_life=0)
