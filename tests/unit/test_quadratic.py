"""Tests of riskengine.core.quadratic.quadratic_moments (moments of a + b'x + 1/2 x'Gx,
x ~ N(m, S)) against the noncentral chi-square closed form and a seeded simulation."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from riskengine.core.quadratic import quadratic_moments


def _one_factor_closed_form(a, b, g, m, s):
    """a + b x + g x^2 / 2 with x ~ N(m, s^2), g != 0, by completing the square:

    Q = a - b^2 / (2g) + (g s^2 / 2) Y,  Y = ((x + b/g) / s)^2 ~ chi'^2(1, lam),
    lam = ((m + b/g) / s)^2. With E Y = 1 + lam, Var Y = 2 (1 + 2 lam),
    skew Y = 2^{3/2} (1 + 3 lam) / (1 + 2 lam)^{3/2},
    excess kurt Y = 12 (1 + 4 lam) / (1 + 2 lam)^2.
    """
    lam = ((m + b / g) / s) ** 2
    scale = g * s * s / 2.0
    mean = a - b * b / (2.0 * g) + scale * (1.0 + lam)
    sd = abs(scale) * math.sqrt(2.0 * (1.0 + 2.0 * lam))
    skew = math.copysign(1.0, scale) * 2.0**1.5 * (1.0 + 3.0 * lam) / (1.0 + 2.0 * lam) ** 1.5
    kurt = 12.0 * (1.0 + 4.0 * lam) / (1.0 + 2.0 * lam) ** 2
    return mean, sd, skew, kurt, lam


@pytest.mark.parametrize(
    "a, b, g, m, s",
    [
        (0.0, 0.0, 1.0, 0.0, 1.0),  # chi-square(1)/2: skew sqrt(8), excess kurtosis 12
        (1.5, 2.0, 3.0, 0.1, 0.4),
        (-0.3, 1.0, -4.0, 0.05, 0.2),  # short gamma: negative skew
        (0.0, -2.5, 0.5, -0.2, 1.1),
    ],
)
def test_one_factor_noncentral_chi_square(a, b, g, m, s):
    mean, sd, skew, kurt, lam = _one_factor_closed_form(a, b, g, m, s)
    got = quadratic_moments(a, np.array([b]), np.array([[g]]), np.array([m]), np.array([[s * s]]))
    assert got == pytest.approx((mean, sd, skew, kurt), rel=1e-10, abs=1e-12)
    # Cross-check the closed form itself against scipy's noncentral chi-square moments.
    ym, yv, ys, yk = stats.ncx2.stats(1, lam, moments="mvsk")
    scale = g * s * s / 2.0
    assert mean == pytest.approx(a - b * b / (2.0 * g) + scale * float(ym), rel=1e-12)
    assert sd == pytest.approx(abs(scale) * math.sqrt(float(yv)), rel=1e-12)
    assert skew == pytest.approx(math.copysign(1.0, scale) * float(ys), rel=1e-10)
    assert kurt == pytest.approx(float(yk), rel=1e-10)


def test_one_factor_central_chi_square_values():
    # x^2 / 2 with x ~ N(0, 1): mean 1/2, sd 1/sqrt(2), skew sqrt(8), excess kurtosis 12.
    got = quadratic_moments(0.0, np.zeros(1), np.ones(1), np.zeros(1), np.eye(1))
    assert got == pytest.approx((0.5, 1.0 / math.sqrt(2.0), math.sqrt(8.0), 12.0), rel=1e-12)


def test_linear_case_is_normal():
    b = np.array([1.0, -2.0])
    cov = np.array([[0.04, 0.01], [0.01, 0.09]])
    mean = np.array([0.01, 0.02])
    got = quadratic_moments(0.5, b, np.zeros((2, 2)), mean, cov)
    assert got == pytest.approx((0.5 + b @ mean, math.sqrt(b @ cov @ b), 0.0, 0.0), abs=1e-14)


def test_diagonal_gamma_vector_equals_matrix():
    b = np.array([1.0, -2.0, 0.5])
    g = np.array([0.7, -1.2, 2.0])
    mean = np.array([0.01, 0.02, -0.03])
    cov = np.array([[0.04, 0.01, 0.0], [0.01, 0.09, -0.02], [0.0, -0.02, 0.05]])
    assert quadratic_moments(0.1, b, g, mean, cov) == pytest.approx(
        quadratic_moments(0.1, b, np.diag(g), mean, cov), rel=1e-13
    )


def _moments(q):
    m = q.mean()
    d = q - m
    v = np.mean(d * d)
    return np.array([m, math.sqrt(v), np.mean(d**3) / v**1.5, np.mean(d**4) / v**2 - 3.0])


def test_three_factors_full_gamma_against_simulation():
    a = 0.7
    b = np.array([1.0, -0.5, 2.0])
    gamma = np.array([[2.0, 0.5, -0.3], [0.5, -1.0, 0.4], [-0.3, 0.4, 1.5]])
    mean = np.array([0.1, -0.2, 0.05])
    root = np.array([[0.5, 0.0, 0.0], [0.2, 0.6, 0.0], [-0.1, 0.3, 0.4]])
    cov = root @ root.T
    expected = np.array(quadratic_moments(a, b, gamma, mean, cov))

    # 40 independent batches of 50,000 draws: the spread of the batch moments gives the
    # sampling standard error of the pooled estimate, std(batch) / sqrt(40).
    rng = np.random.default_rng(20240101)
    n_batches, batch = 40, 50_000
    per_batch = np.empty((n_batches, 4))
    pooled = []
    for i in range(n_batches):
        x = mean + rng.standard_normal((batch, 3)) @ root.T
        q = a + x @ b + 0.5 * np.einsum("ni,ij,nj->n", x, gamma, x)
        per_batch[i] = _moments(q)
        pooled.append(q)
    est = _moments(np.concatenate(pooled))
    se = per_batch.std(axis=0, ddof=1) / math.sqrt(n_batches)
    # Non-trivial shape, so the test discriminates: skewed and fat-tailed.
    assert abs(expected[2]) > 0.3 and expected[3] > 0.3
    assert np.all(np.abs(est - expected) <= 4.0 * se), (est, expected, se)
    # And the tolerances are tight in absolute terms.
    assert np.all(se / np.abs(expected) < 0.02)
