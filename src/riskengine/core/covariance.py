"""Covariance estimation, PSD repair and matrix square roots.

Sample covariance uses ddof=1. Matrices estimated from data are repaired to the nearest PSD
matrix (Frobenius norm: eigenvalues clipped at zero, Higham 1988) and the caller flags it; a
user-supplied matrix that is not PSD beyond a tolerance is an error.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from riskengine.errors import NotPositiveSemidefiniteError

PSD_TOLERANCE = 1e-10
_CHOLESKY_MIN_RATIO = 1e-12  # below this eigenvalue ratio, use the eigen root


@dataclass(frozen=True)
class CovarianceEstimate:
    """A covariance matrix and how it was obtained.

    Attributes:
        matrix: shape (n_factors, n_factors), daily covariance of simple returns.
        mean: shape (n_factors,), daily mean used by the model (zeros for a zero-mean model).
        estimator: name of the estimator, e.g. "sample".
        repaired: True when the estimate was projected onto the PSD cone.
        min_eigenvalue: smallest eigenvalue before repair.
    """

    matrix: np.ndarray
    mean: np.ndarray
    estimator: str
    repaired: bool
    min_eigenvalue: float
    eigen: tuple[np.ndarray, np.ndarray] | None = field(default=None, repr=False, compare=False)

    @cached_property
    def root(self) -> tuple[np.ndarray, str]:
        """(A, how) with A A' = matrix; computed once per estimate (see ``matrix_root``).

        A singular estimate (e.g. more factors than observations) reuses the eigen-decomposition
        made while checking it, instead of a failed Cholesky and a second decomposition.
        """
        if self.eigen is not None:
            vals, vecs = self.eigen
            if vals[0] <= _CHOLESKY_MIN_RATIO * max(vals[-1], 1e-300):
                return vecs * np.sqrt(np.maximum(vals, 0.0)), "eigen"
        return matrix_root(self.matrix)


def estimate_covariance(returns: np.ndarray, *, mean: str = "zero") -> CovarianceEstimate:
    """Sample covariance (ddof=1) of daily returns, repaired to PSD if needed.

    Args:
        returns: shape (n_obs, n_factors).
        mean: "zero" (RiskMetrics: the model mean is 0) or "sample" (the window's sample mean).
    """
    cov = sample_covariance(returns)
    vals, vecs = np.linalg.eigh(cov)
    fixed, repaired, lo = nearest_psd(cov, (vals, vecs))
    mu = returns.mean(axis=0) if mean == "sample" else np.zeros(returns.shape[1])
    eigen = (np.maximum(vals, 0.0), vecs)
    return CovarianceEstimate(fixed, mu, "sample", repaired, lo, eigen)


def sample_covariance(returns: np.ndarray) -> np.ndarray:
    """Sample covariance, ddof=1.

    Args:
        returns: shape (n_obs, n_factors).

    Returns:
        shape (n_factors, n_factors).
    """
    r = np.asarray(returns, dtype=float)
    if r.shape[0] < 2:
        raise ValueError("sample covariance needs at least 2 observations")
    d = r - r.mean(axis=0)
    cov = d.T @ d / (r.shape[0] - 1)
    return 0.5 * (cov + cov.T)


def nearest_psd(matrix: np.ndarray, eigen=None) -> tuple[np.ndarray, bool, float]:
    """Nearest symmetric PSD matrix in Frobenius norm (eigenvalues clipped at 0).

    ``eigen`` may pass the (values, vectors) of the symmetric matrix if already computed.

    Returns:
        (matrix, repaired, min_eigenvalue): ``repaired`` is False and the symmetrised input is
        returned unchanged when its smallest eigenvalue is >= -tol * max(|eigenvalue|).
    """
    a = 0.5 * (matrix + matrix.T)
    vals, vecs = eigen if eigen is not None else np.linalg.eigh(a)
    lo = float(vals[0])
    scale = max(float(np.abs(vals).max()), 1e-300)
    if lo >= -PSD_TOLERANCE * scale:
        return a, False, lo
    clipped = (vecs * np.maximum(vals, 0.0)) @ vecs.T
    return 0.5 * (clipped + clipped.T), True, lo


def check_user_psd(matrix: np.ndarray, name: str = "covariance") -> np.ndarray:
    """Validate a user-supplied covariance: square, symmetric, finite and PSD within tolerance."""
    m = np.asarray(matrix, dtype=float)
    if m.ndim != 2 or m.shape[0] != m.shape[1]:
        raise NotPositiveSemidefiniteError(f"{name} must be a square matrix; got shape {m.shape}.")
    if not np.all(np.isfinite(m)):
        raise NotPositiveSemidefiniteError(f"{name} contains NaN or infinite entries.")
    if not np.allclose(m, m.T, rtol=1e-8, atol=1e-12):
        raise NotPositiveSemidefiniteError(f"{name} is not symmetric; pass (C + C.T) / 2.")
    vals = np.linalg.eigvalsh(m)
    if vals[0] < -PSD_TOLERANCE * max(abs(vals).max(), 1e-300):
        raise NotPositiveSemidefiniteError(
            f"{name} is not positive semi-definite: smallest eigenvalue {vals[0]:.3g}. "
            "Supply a valid covariance or let riskengine estimate one from the price history."
        )
    return m


def matrix_root(matrix: np.ndarray) -> tuple[np.ndarray, str]:
    """A factor A with A @ A.T == matrix: Cholesky when positive definite, otherwise the
    symmetric eigen-decomposition V sqrt(max(lambda, 0)) (semi-definite matrices).

    Returns:
        (A, how) with A of shape (n_factors, n_factors) and how in {"cholesky", "eigen"}.
    """
    try:
        return np.linalg.cholesky(matrix), "cholesky"
    except np.linalg.LinAlgError:
        vals, vecs = np.linalg.eigh(0.5 * (matrix + matrix.T))
        return vecs * np.sqrt(np.maximum(vals, 0.0)), "eigen"
