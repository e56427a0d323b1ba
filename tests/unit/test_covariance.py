"""Sample covariance, nearest-PSD repair and matrix roots."""

from __future__ import annotations

import numpy as np
import pytest

from riskengine.core.covariance import (
    check_user_psd,
    estimate_covariance,
    matrix_root,
    nearest_psd,
    sample_covariance,
)
from riskengine.errors import NotPositiveSemidefiniteError


def test_sample_covariance_is_numpy_cov_ddof_1():
    r = np.random.default_rng(0).normal(size=(50, 4))
    assert np.allclose(sample_covariance(r), np.cov(r.T, ddof=1), rtol=1e-13, atol=0)


def test_nearest_psd_clips_negative_eigenvalues_and_is_nearest():
    a = np.array([[1.0, 0.9, 0.7], [0.9, 1.0, -0.9], [0.7, -0.9, 1.0]])  # not PSD
    fixed, repaired, lo = nearest_psd(a)
    assert repaired and lo < 0
    assert np.linalg.eigvalsh(fixed).min() > -1e-12
    # Frobenius-nearest: no random PSD matrix is closer to a than the repair
    rng = np.random.default_rng(1)
    best = np.linalg.norm(a - fixed)
    for _ in range(200):
        m = rng.normal(size=(3, 3))
        cand = fixed + 0.05 * (m @ m.T) - 0.05 * np.eye(3) * rng.random()
        if np.linalg.eigvalsh(cand).min() >= 0:
            assert np.linalg.norm(a - cand) >= best - 1e-12
    ok, repaired_ok, _ = nearest_psd(np.eye(3))
    assert not repaired_ok and np.array_equal(ok, np.eye(3))


def test_user_matrix_that_is_not_psd_is_an_error():
    with pytest.raises(NotPositiveSemidefiniteError, match="smallest eigenvalue"):
        check_user_psd(np.array([[1.0, 2.0], [2.0, 1.0]]))
    with pytest.raises(NotPositiveSemidefiniteError, match="not symmetric"):
        check_user_psd(np.array([[1.0, 0.5], [0.0, 1.0]]))


def test_roots_reproduce_the_matrix_cholesky_or_eigen():
    rng = np.random.default_rng(2)
    full = np.cov(rng.normal(size=(100, 5)).T)
    a, how = matrix_root(full)
    assert how == "cholesky" and np.allclose(a @ a.T, full)
    singular = np.cov(rng.normal(size=(4, 8)).T)  # rank 3 < 8
    b, how = matrix_root(singular)
    assert how == "eigen" and np.allclose(b @ b.T, singular, atol=1e-14)
    est = estimate_covariance(rng.normal(size=(4, 8)))
    root, how = est.root
    assert how == "eigen" and np.allclose(root @ root.T, est.matrix, atol=1e-14)
