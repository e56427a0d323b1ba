"""Covariance estimation, PSD repair and matrix square roots.

Estimators (``riskengine.choices.COVARIANCES``), all on daily returns of shape (n_obs, n_factors):

* ``sample``: sample covariance with ddof=1.
* ``ewma``: RiskMetrics exponentially weighted, zero-mean: ``sum_k w_k r_k r_k'`` with
  ``w_k = (1 - lambda) lambda^(N-k) / (1 - lambda^N)`` (k = 1..N, r_N the most recent; the
  weights sum to 1 over the finite window).
* ``ledoit-wolf``: Ledoit & Wolf (2004) shrinkage of the empirical covariance (centred, divided
  by n) towards the scaled identity ``mu I``, ``mu = trace(S) / p``, with the optimal intensity.

Matrices estimated from data are repaired to the nearest PSD matrix (Frobenius norm:
eigenvalues clipped at zero, Higham 1988) and the caller flags it; a user-supplied matrix that is
not PSD beyond a tolerance is an error.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from riskengine.choices import COVARIANCES
from riskengine.core.factor_model import FactorCovariance, fit_factor_covariance
from riskengine.core.weights import ewma_weights
from riskengine.errors import InputError, NotPositiveSemidefiniteError

PSD_TOLERANCE = 1e-10
DEFAULT_EWMA_LAMBDA = 0.94
_CHOLESKY_MIN_RATIO = 1e-12  # below this eigenvalue ratio, use the eigen root


@dataclass(frozen=True)
class CovarianceEstimate:
    """A covariance matrix and how it was obtained.

    Attributes:
        matrix: shape (n_factors, n_factors), daily covariance of simple returns.
        mean: shape (n_factors,), daily mean used by the model (zeros for a zero-mean model).
        estimator: name of the estimator: "sample", "ewma" or "ledoit-wolf".
        repaired: True when the estimate was projected onto the PSD cone.
        min_eigenvalue: smallest eigenvalue before repair.
        ewma_lambda: the EWMA decay (estimator "ewma"), else None.
        shrinkage: the Ledoit-Wolf shrinkage intensity in [0, 1] (estimator "ledoit-wolf"),
            else None.
    """

    matrix: np.ndarray
    mean: np.ndarray
    estimator: str
    repaired: bool
    min_eigenvalue: float
    eigen: tuple[np.ndarray, np.ndarray] | None = field(default=None, repr=False, compare=False)
    ewma_lambda: float | None = None
    shrinkage: float | None = None

    @property
    def report_parameters(self) -> dict:
        """The report's parameters for this estimate: ``covariance`` (the estimator's name),
        plus ``ewma_lambda`` (ewma) or ``shrinkage`` (ledoit-wolf)."""
        out: dict = {"covariance": self.estimator}
        if self.ewma_lambda is not None:
            out["ewma_lambda"] = self.ewma_lambda
        if self.shrinkage is not None:
            out["shrinkage"] = self.shrinkage
        return out

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


@dataclass(frozen=True)
class CovarianceModel:
    """How a window's covariance is estimated: a small hashable part of a risk model, and so
    of the cache keys of everything fitted with it.

    Attributes:
        estimator: "sample", "ewma" or "ledoit-wolf" (``riskengine.choices.COVARIANCES``).
        ewma_lambda: the EWMA decay; None for the estimators without a free parameter.
        mean: "zero" or "sample" (``estimate_covariance``).
        returns: the daily returns it is fitted to: "simple", or "log" (ln(1 + r)).
        factor_model: "full" (the estimator's p x p matrix) or "pca" (``core.factor_model``:
            k statistical factors plus specific variances).
        pca_factors: k for "pca"; None lets the Marchenko-Pastur rule choose.
    """

    estimator: str = "sample"
    ewma_lambda: float | None = None
    mean: str = "zero"
    returns: str = "simple"
    factor_model: str = "full"
    pca_factors: int | None = None

    @classmethod
    def of(
        cls,
        estimator: str,
        ewma_lambda: float,
        mean: str,
        returns: str = "simple",
        factor_model: str = "full",
        pca_factors: int | None = None,
    ):
        """The model, keeping ``ewma_lambda`` only where the estimator uses it."""
        lam = float(ewma_lambda) if estimator == "ewma" else None
        return cls(estimator, lam, mean, returns, factor_model, pca_factors)

    def estimate(self, returns: np.ndarray) -> CovarianceEstimate | FactorCovariance:
        """The estimate of ``returns`` (shape (n_obs, n_factors), already of the kind
        ``self.returns`` says): ``estimate_covariance``'s, or the PCA factor model's."""
        lam = DEFAULT_EWMA_LAMBDA if self.ewma_lambda is None else self.ewma_lambda
        if self.factor_model == "pca":
            return fit_factor_covariance(
                returns,
                mean=self.mean,
                estimator=self.estimator,
                ewma_lambda=lam,
                n_pca=self.pca_factors,
            )
        return estimate_covariance(
            returns, mean=self.mean, estimator=self.estimator, ewma_lambda=lam
        )


def estimate_covariance(
    returns: np.ndarray,
    *,
    mean: str = "zero",
    estimator: str = "sample",
    ewma_lambda: float = DEFAULT_EWMA_LAMBDA,
) -> CovarianceEstimate:
    """Covariance of daily returns by ``estimator``, repaired to PSD if needed.

    Args:
        returns: shape (n_obs, n_factors), oldest first.
        mean: "zero" (RiskMetrics: the model mean is 0) or "sample" (the window's sample mean).
            It sets the model's mean only: the sample and Ledoit-Wolf matrices are always
            centred, the EWMA matrix is always zero-mean (RiskMetrics).
        estimator: "sample" (ddof=1), "ewma" (zero-mean, ``ewma_lambda``) or "ledoit-wolf".
        ewma_lambda: EWMA decay in (0, 1); used by "ewma" only.
    """
    r = np.asarray(returns, dtype=float)
    lam = shrinkage = None
    if estimator == "sample":
        cov = sample_covariance(r)
    elif estimator == "ewma":
        lam = float(ewma_lambda)
        cov = ewma_covariance(r, lam)
    elif estimator == "ledoit-wolf":
        cov, shrinkage = ledoit_wolf(r)
    else:
        raise ValueError(
            f"covariance estimator {estimator!r} is not one of: {', '.join(COVARIANCES)}"
        )
    vals, vecs = np.linalg.eigh(cov)
    fixed, repaired, lo = nearest_psd(cov, (vals, vecs))
    mu = r.mean(axis=0) if mean == "sample" else np.zeros(r.shape[1])
    eigen = (np.maximum(vals, 0.0), vecs)
    return CovarianceEstimate(fixed, mu, estimator, repaired, lo, eigen, lam, shrinkage)


def sample_covariance(returns: np.ndarray) -> np.ndarray:
    """Sample covariance, ddof=1.

    Args:
        returns: shape (n_obs, n_factors).

    Returns:
        shape (n_factors, n_factors).
    """
    r = np.asarray(returns, dtype=float)
    if r.shape[0] < 2:
        raise InputError(
            f"a covariance needs at least 2 daily returns; got {r.shape[0]}. Use --window >= 2 "
            "(default 500)."
        )
    d = r - r.mean(axis=0)
    cov = d.T @ d / (r.shape[0] - 1)
    return 0.5 * (cov + cov.T)


def ewma_covariance(returns: np.ndarray, ewma_lambda: float = DEFAULT_EWMA_LAMBDA) -> np.ndarray:
    """RiskMetrics EWMA covariance, zero-mean, with weights normalised over the window.

    Args:
        returns: shape (n_obs, n_factors), oldest first (the last row is the most recent).
        ewma_lambda: decay in (0, 1).

    Returns:
        shape (n_factors, n_factors): ``sum_k w_k r_k r_k'`` (see ``ewma_weights``).
    """
    r = np.asarray(returns, dtype=float)
    if r.shape[0] < 1:
        raise ValueError("EWMA covariance needs at least 1 observation")
    w = ewma_weights(r.shape[0], ewma_lambda)
    cov = (r * w[:, None]).T @ r
    return 0.5 * (cov + cov.T)


def ledoit_wolf(returns: np.ndarray) -> tuple[np.ndarray, float]:
    """Ledoit-Wolf (2004) shrinkage towards the scaled identity.

    With X the returns centred by their sample mean, n observations and p factors:
    ``S = X'X / n`` (the empirical covariance, divided by n), ``mu = trace(S) / p``,
    ``d2 = ||S - mu I||^2 / p``, ``b2 = min(d2, sum_k ||x_k x_k' - S||^2 / (p n^2))`` (Frobenius
    norms), shrinkage ``s = b2 / d2`` (0 when d2 = 0), and the estimate ``(1 - s) S + s mu I``.
    This is the definition of scikit-learn's ``LedoitWolf(assume_centered=False)``.

    Args:
        returns: shape (n_obs, n_factors).

    Returns:
        (matrix of shape (n_factors, n_factors), shrinkage intensity in [0, 1]).
    """
    r = np.asarray(returns, dtype=float)
    n, p = r.shape
    if n < 2:
        raise ValueError("Ledoit-Wolf covariance needs at least 2 observations")
    x = r - r.mean(axis=0)
    s = x.T @ x / n
    s = 0.5 * (s + s.T)
    mu = float(np.trace(s)) / p
    if p == 1:
        return s, 0.0  # the target is the estimate itself: any intensity gives the same matrix
    target_gap = s - mu * np.eye(p)
    d2 = float(np.sum(target_gap**2)) / p
    # sum_k ||x_k x_k' - S||^2 = sum_k ||x_k||^4 - n ||S||^2
    sq_norms = np.sum(x**2, axis=1)
    b2_bar = (float(np.sum(sq_norms**2)) / n - float(np.sum(s**2))) / (p * n)
    b2 = min(max(b2_bar, 0.0), d2)
    shrinkage = 0.0 if d2 == 0.0 else b2 / d2
    return (1.0 - shrinkage) * s + shrinkage * mu * np.eye(p), float(shrinkage)


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
