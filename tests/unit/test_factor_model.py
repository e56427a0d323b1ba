"""The PCA factor model (``core.factor_model``): exact recovery of a factor structure, the
low-rank delta-gamma moments, and parametric and Monte Carlo VaR of a factor-model book
against the closed form."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from riskengine import Portfolio, Position, compute_risk
from riskengine.core.factor_model import factor_quadratic_moments, fit_factor_covariance
from riskengine.core.quadratic import quadratic_moments
from riskengine.errors import InputError
from riskengine.instruments import Equity
from riskengine.scale.local import LocalExecutor
from support import history_from_returns

N_OBS, N_NAMES, K, PSI = 400, 40, 3, 0.4


def _structure(seed=3):
    """(vols, L, Sigma): a correlation L L' + PSI I with 3 factors and rows of L of equal
    norm (equal specific variances), and Sigma = diag(vols) (L L' + PSI I) diag(vols)."""
    rng = np.random.default_rng(seed)
    vols = rng.uniform(0.01, 0.03, N_NAMES)
    directions = rng.normal(size=(N_NAMES, K)) + np.array([2.0, 0.0, 0.0])  # a market factor
    loadings = directions / np.linalg.norm(directions, axis=1, keepdims=True)
    loadings *= np.sqrt(1.0 - PSI)
    corr = loadings @ loadings.T + PSI * np.eye(N_NAMES)
    return vols, loadings, corr * np.outer(vols, vols)


def _returns_with_covariance(sigma, n_obs=N_OBS, seed=4):
    """Returns of shape (n_obs, p) whose sample covariance (ddof=1) is exactly ``sigma``:
    centred orthonormal columns times a root of sigma."""
    rng = np.random.default_rng(seed)
    w = rng.normal(size=(n_obs, sigma.shape[0]))
    w -= w.mean(axis=0)
    q, _ = np.linalg.qr(w)
    vals, vecs = np.linalg.eigh(sigma)
    root = (vecs * np.sqrt(vals)) @ vecs.T
    return np.sqrt(n_obs - 1) * q @ root


@pytest.fixture(scope="module")
def structure():
    vols, loadings, sigma = _structure()
    returns = _returns_with_covariance(sigma)
    names = tuple(f"N{i:02d}" for i in range(N_NAMES))
    return sigma, returns, history_from_returns(returns, symbols=names)


def test_an_exact_factor_structure_is_recovered(structure):
    sigma, returns, _ = structure
    assert np.allclose(np.cov(returns, rowvar=False), sigma, rtol=1e-10, atol=1e-16)
    fit = fit_factor_covariance(returns)
    assert fit.k == K and fit.rule == "marchenko-pastur"
    assert fit.threshold == pytest.approx((1 + np.sqrt(N_NAMES / N_OBS)) ** 2)
    scale = np.abs(sigma).max()
    assert np.allclose(fit.matrix, sigma, rtol=0, atol=1e-10 * scale)
    assert np.allclose(fit.variances(), np.diag(sigma), rtol=1e-10)
    # specific variances: PSI of each name's variance
    assert np.allclose(fit.specific, PSI * np.diag(sigma), rtol=1e-8)
    # Sigma v and v' Sigma v without the dense matrix
    v = np.linspace(-1.0, 2.0, N_NAMES)
    assert np.allclose(fit.times(v), sigma @ v, rtol=1e-9, atol=1e-12 * scale)
    assert fit.quad(v) == pytest.approx(v @ sigma @ v, rel=1e-10)


def test_fewer_factors_keep_every_variance_and_smooth_the_correlations(structure):
    sigma, returns, _ = structure
    fit = fit_factor_covariance(returns, n_pca=1)
    assert fit.k == 1 and fit.rule == "fixed"
    assert np.allclose(fit.variances(), np.diag(sigma), rtol=1e-10)
    assert not np.allclose(fit.matrix, sigma, rtol=1e-3)


def test_ewma_factor_model_has_the_ewma_variances():
    rng = np.random.default_rng(8)
    r = rng.normal(0.0, 0.01, (300, 25)) + rng.normal(0.0, 0.01, (300, 1))
    fit = fit_factor_covariance(r, estimator="ewma", ewma_lambda=0.97)
    from riskengine.core.covariance import ewma_covariance

    assert np.allclose(fit.variances(), np.diag(ewma_covariance(r, 0.97)), rtol=1e-10)
    assert fit.report_parameters["ewma_lambda"] == 0.97


def test_low_rank_delta_gamma_moments_equal_the_dense_ones():
    rng = np.random.default_rng(2)
    p, k = 30, 4
    b_mat = rng.normal(0, 0.01, (p, k))
    d = rng.uniform(1e-5, 4e-4, p)
    fit = fit_factor_covariance(rng.normal(size=(50, p)))  # any fit, then our own B and d
    from riskengine.core.factor_model import FactorCovariance

    cov = FactorCovariance(b_mat, d, np.zeros(p), "sample", "fixed", 0.5, 2.0)
    dense = b_mat @ b_mat.T + np.diag(d)
    a = 12.0
    b = rng.normal(0, 1e4, p)
    g = rng.normal(0, 1e5, p)
    g[::3] = 0.0
    mean = rng.normal(0, 1e-3, p)
    got = factor_quadratic_moments(a, b, g, mean, cov)
    want = quadratic_moments(a, b, g, mean, dense)
    assert np.allclose(got, want, rtol=1e-10, atol=1e-12)
    assert fit.k >= 1


def _book(history):
    rng = np.random.default_rng(9)
    qty = rng.integers(-500, 1000, N_NAMES).astype(float)
    return Portfolio(
        tuple(
            Position(f"p{i}", Equity(s), q)
            for i, (s, q) in enumerate(zip(history.symbols, qty, strict=True))
        )
    )


def _closed_form(history, book, sigma, c):
    spot = history.prices[-1]
    v = np.array([p.quantity for p in book.positions]) * spot
    sd = float(np.sqrt(v @ sigma @ v))
    z = stats.norm.ppf(c)
    return z * sd, sd * stats.norm.pdf(z) / (1 - c)


def test_parametric_var_of_a_factor_model_book_is_the_closed_form(structure):
    sigma, _, history = structure
    book = _book(history)
    rep = compute_risk(
        book, history, method="parametric", factor_model="pca", window=N_OBS, confidence=(0.99,)
    )
    var, es = _closed_form(history, book, sigma, 0.99)
    m = rep.measures[0]
    assert m.value_at_risk == pytest.approx(var, rel=1e-8)
    assert m.expected_shortfall == pytest.approx(es, rel=1e-8)
    assert rep.parameters["factor_model"] == "pca" and rep.parameters["pca_factors"] == K
    assert not [f for f in rep.data_quality if f["code"] == "covariance_singular"]


@pytest.mark.parametrize("sampling", ["plain", "sobol"])
def test_monte_carlo_var_of_a_factor_model_book_converges_to_the_closed_form(structure, sampling):
    sigma, _, history = structure
    book = _book(history)
    paths = 32_768 if sampling == "sobol" else 30_000
    rep = compute_risk(
        book,
        history,
        method="montecarlo",
        factor_model="pca",
        window=N_OBS,
        confidence=(0.99,),
        n_scenarios=paths,
        seed=5,
        sampling=sampling,
        n_scrambles=8,
    )
    var, es = _closed_form(history, book, sigma, 0.99)
    m = rep.measures[0]
    assert rep.parameters["matrix_root"] == "factor"
    assert abs(m.value_at_risk - var) <= 3.5 * m.value_at_risk_standard_error
    assert abs(m.expected_shortfall - es) <= 3.5 * m.expected_shortfall_standard_error


def test_monte_carlo_factor_model_does_not_depend_on_the_workers(structure):
    _, _, history = structure
    book = _book(history)
    kw = dict(method="montecarlo", factor_model="pca", pca_factors=2, window=N_OBS, seed=3)
    one = compute_risk(book, history, executor=LocalExecutor(1), n_scenarios=12_000, **kw)
    two = compute_risk(book, history, executor=LocalExecutor(2), n_scenarios=12_000, **kw)
    assert one.measures == two.measures
    assert one.parameters["pca_factors"] == 2


def test_a_singular_sample_covariance_is_flagged_and_points_to_the_factor_model(structure):
    _, _, history = structure
    book = _book(history)
    for method in ("parametric", "montecarlo"):
        rep = compute_risk(book, history, method=method, window=30, n_scenarios=2_000, seed=1)
        flags = [f for f in rep.data_quality if f["code"] == "covariance_singular"]
        assert flags and "factor_model 'pca'" in flags[0]["message"]
        assert "30 daily returns of 40 names" in flags[0]["message"]
        rep = compute_risk(
            book, history, method=method, window=30, n_scenarios=2_000, seed=1, factor_model="pca"
        )
        assert not [f for f in rep.data_quality if f["code"] == "covariance_singular"]


@pytest.mark.parametrize(
    "kw, words",
    [
        ({"factor_model": "pca", "covariance": "ledoit-wolf"}, "covariance 'ledoit-wolf'"),
        ({"pca_factors": 3}, "needs factor_model 'pca'"),
        ({"factor_model": "pca", "pca_factors": 0}, "pca_factors must be an integer >= 1"),
        ({"factor_model": "spectral"}, "factor_model 'spectral' is not one of: full, pca"),
        ({"factor_model": "pca", "pca_factors": 45}, "pca_factors 45 is more than"),
    ],
)
def test_bad_factor_model_parameters_are_refused_by_name(structure, kw, words):
    _, _, history = structure
    with pytest.raises(InputError, match=words.replace("(", r"\(")):
        compute_risk(_book(history), history, method="parametric", window=N_OBS, **kw)


@pytest.mark.parametrize("approximation", ["delta-gamma", "delta"])
def test_parametric_contributions_with_the_factor_model_equal_the_dense_algebra(
    structure, monkeypatch, approximation
):
    """The low-rank decomposition (S (G S)^j kept as factors plus a diagonal) gives the same
    contributions as the same factor model's dense matrix, for positions and tag groups."""
    import datetime as dt

    import riskengine.decomposition.parametric as parametric
    from riskengine import EuropeanOption

    _, _, history = structure
    base = _book(history)
    last = history.prices[-1]
    options = tuple(
        Position(
            f"o{i}",
            EuropeanOption(
                underlying=history.symbols[i],
                strike=round(float(last[i]) * (0.95 + 0.01 * (i % 10)), 2),
                expiry=history.last_date + dt.timedelta(days=30 + 20 * (i % 5)),
                option_type="call" if i % 2 else "put",
                implied_vol=0.25,
                rate=0.02,
            ),
            float(5 + i % 7) * (1 if i % 3 else -1),
            multiplier=100.0,
            tags=(("desk", f"d{i % 3}"),),
        )
        for i in range(0, N_NAMES, 2)
    )
    stocks = tuple(
        Position(p.id, p.instrument, p.quantity, tags=(("desk", f"d{i % 3}"),))
        for i, p in enumerate(base.positions)
    )
    book = Portfolio(stocks + options)
    kw = dict(
        method="parametric", factor_model="pca", pca_factors=3, window=N_OBS,
        confidence=(0.95, 0.99), contributions=True, approximation=approximation,
    )  # fmt: skip
    low = compute_risk(book, history, **kw).contributions
    monkeypatch.setattr(parametric, "_diagonal_gamma", lambda terms: False)
    dense = compute_risk(book, history, **kw).contributions
    for table in ("positions", "tags"):
        for name in ("component_var", "component_es", "incremental_var", "standalone_var"):
            got = getattr(getattr(low, table), name)
            want = getattr(getattr(dense, table), name)
            scale = np.abs(want).max()
            assert np.allclose(got, want, rtol=1e-9, atol=1e-9 * scale), (table, name)
