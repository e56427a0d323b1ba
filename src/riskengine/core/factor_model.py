"""A statistical (PCA) factor model of the covariance, for many names: Sigma = B B' + diag(d).

With p names and N daily returns in the window, the sample covariance has p (p + 1) / 2
entries but rank at most N - 1: with 5,000 names and a 500-day window it is singular, and the
full-rank simulation (cost ~ paths x p^2) and parametric algebra (~ p^3) grow with the square
and cube of the number of names. The factor model keeps k factors and one specific variance
per name, fitted from the window's returns without forming the p x p matrix:

1. X: the returns, centred by their sample mean and divided by sqrt(N - 1) (estimator
   "sample"), or scaled by the square roots of the EWMA weights, zero-mean ("ewma"); so that
   X'X is the full covariance estimate. s = the columns' standard deviations, Z = X / s (so
   Z'Z is the correlation matrix R).
2. The eigen-decomposition of the N x N Gram matrix Z Z' = U diag(lambda) U' gives the leading
   eigenvalues of R and its eigenvectors V = Z'U / sqrt(lambda) (cost ~ N^2 p, not p^3).
3. k: given (``pca_factors``), or by the Marchenko-Pastur rule: the number of eigenvalues of R
   above (1 + sqrt(p / N_eff))^2, the largest eigenvalue of the correlation matrix of p
   independent series over N_eff observations (Laloux, Cizeau, Bouchaud & Potters 1999;
   N_eff = N for "sample", 1 / sum w^2 for "ewma"); at least 1.
4. Loadings by probabilistic PCA (Tipping & Bishop 1999): on the correlation scale
   L = V_k (Lambda_k - sigma2 I)^(1/2), sigma2 the mean of the p - k discarded eigenvalues of R
   ((p - sum_k lambda) / (p - k)), so that a correlation with an exact k-factor structure and
   equal specific variances is recovered exactly. Each name's specific variance makes its
   variance exact: psi_i = 1 - |L_i|^2 (>= 0). Back on the return scale, B = diag(s) L and
   d = s^2 psi: the model's variances are the window's sample (or EWMA) variances; only the
   correlations are smoothed onto k factors.

Names without variance in the window get no loadings and no specific variance.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from riskengine.core.weights import ewma_weights
from riskengine.errors import InputError

MAX_AUTO_FACTORS = 50  # the Marchenko-Pastur rule never keeps more


@dataclass(frozen=True)
class FactorCovariance:
    """Sigma = B B' + diag(d) and how it was fitted.

    Attributes:
        loadings: shape (n_factors, k), B (return scale).
        specific: shape (n_factors,), d, the specific variances.
        mean: shape (n_factors,), daily mean used by the model (zeros for a zero-mean model).
        estimator: "sample" or "ewma".
        rule: how k was chosen: "marchenko-pastur" or "fixed".
        explained: share of the correlation matrix's trace carried by the k factors.
        threshold: the Marchenko-Pastur edge (1 + sqrt(p / N_eff))^2.
        ewma_lambda: the EWMA decay (estimator "ewma"), else None.
    """

    loadings: np.ndarray
    specific: np.ndarray
    mean: np.ndarray
    estimator: str
    rule: str
    explained: float
    threshold: float
    ewma_lambda: float | None = None
    # what the full estimate reports, for the callers that read either
    repaired: bool = False
    min_eigenvalue: float = 0.0
    shrinkage: None = None

    @property
    def k(self) -> int:
        return int(self.loadings.shape[1])

    @property
    def n_names(self) -> int:
        return int(self.specific.size)

    @property
    def report_parameters(self) -> dict:
        """The report's parameters: the estimator, the factor model and its fit."""
        out: dict = {"covariance": self.estimator}
        if self.ewma_lambda is not None:
            out["ewma_lambda"] = self.ewma_lambda
        return out | {
            "factor_model": "pca",
            "pca_factors": self.k,
            "pca_factor_rule": self.rule,
            "pca_explained_variance": self.explained,
        }

    def variances(self) -> np.ndarray:
        """Shape (n_factors,): diag(Sigma) = |B_i|^2 + d_i."""
        return np.einsum("ij,ij->i", self.loadings, self.loadings) + self.specific

    def take(self, columns: np.ndarray) -> FactorCovariance:
        """The model of the names ``columns`` (the same factors)."""
        return _replace(self, self.loadings[columns], self.specific[columns], self.mean[columns])

    def scaled(self, factor: float) -> FactorCovariance:
        """The model of factor x the returns' covariance (e.g. the horizon, factor = h)."""
        root = math.sqrt(factor)
        return _replace(self, self.loadings * root, self.specific * factor, self.mean)

    def times(self, v: np.ndarray) -> np.ndarray:
        """Sigma v, shape (n_factors,) (cost ~ p k)."""
        return self.loadings @ (self.loadings.T @ v) + self.specific * v

    def quad(self, v: np.ndarray) -> float:
        """v' Sigma v."""
        f = self.loadings.T @ v
        return float(f @ f + (self.specific * v) @ v)

    @cached_property
    def matrix(self) -> np.ndarray:
        """The dense p x p matrix B B' + diag(d), for the callers that need it (memory ~ p^2:
        the fast paths never form it)."""
        m = self.loadings @ self.loadings.T
        m[np.diag_indices_from(m)] += self.specific
        return m


def _replace(f: FactorCovariance, loadings, specific, mean) -> FactorCovariance:
    return FactorCovariance(
        loadings, specific, mean, f.estimator, f.rule, f.explained, f.threshold, f.ewma_lambda
    )


def fit_factor_covariance(
    returns: np.ndarray,
    *,
    mean: str = "zero",
    estimator: str = "sample",
    ewma_lambda: float = 0.94,
    n_pca: int | None = None,
) -> FactorCovariance:
    """The PCA factor model of daily ``returns`` (module docstring).

    Args:
        returns: shape (n_obs, n_factors), oldest first.
        mean: "zero" or "sample": the model's mean (as ``estimate_covariance``).
        estimator: "sample" (ddof=1) or "ewma" (zero-mean, ``ewma_lambda``).
        n_pca: the number of factors k; None: the Marchenko-Pastur rule.
    """
    r = np.asarray(returns, dtype=float)
    n_obs, p = r.shape
    if estimator == "sample":
        if n_obs < 2:
            raise InputError(
                f"a factor model needs at least 2 daily returns; got {n_obs}. Use --window >= 2."
            )
        x = (r - r.mean(axis=0)) / math.sqrt(n_obs - 1)
        n_eff = float(n_obs)
        lam = None
    elif estimator == "ewma":
        w = ewma_weights(n_obs, ewma_lambda)
        x = r * np.sqrt(w)[:, None]
        n_eff = 1.0 / float(w @ w)
        lam = float(ewma_lambda)
    else:
        raise InputError(
            f"factor_model 'pca' fits the 'sample' or 'ewma' covariance; got {estimator!r}. "
            "Ledoit-Wolf shrinks a full matrix: the factor model is itself the regularisation."
        )
    sd = np.sqrt(np.einsum("ij,ij->j", x, x))
    live = sd > 0
    p_live = int(live.sum())
    z = x[:, live] / sd[live]
    gram = z @ z.T
    vals, vecs = np.linalg.eigh(0.5 * (gram + gram.T))
    vals, vecs = vals[::-1], vecs[:, ::-1]  # decreasing
    threshold = (1.0 + math.sqrt(p_live / n_eff)) ** 2
    most = max(1, min(p_live - 1, n_obs - 1))
    if n_pca is None:
        k = int(np.sum(vals > threshold))
        k, rule = min(max(k, 1), most, MAX_AUTO_FACTORS), "marchenko-pastur"
    else:
        if not isinstance(n_pca, int | np.integer) or isinstance(n_pca, bool) or n_pca < 1:
            raise InputError(f"pca_factors must be an integer >= 1; got {n_pca!r}.")
        if n_pca > most:
            raise InputError(
                f"pca_factors {n_pca} is more than a window of {n_obs} returns of {p_live} "
                f"names can identify (at most {most}); use fewer factors, or leave it out to "
                "let the Marchenko-Pastur rule choose."
            )
        k, rule = int(n_pca), "fixed"
    top = np.maximum(vals[:k], 0.0)
    sigma2 = max((p_live - float(top.sum())) / (p_live - k), 0.0) if p_live > k else 0.0
    # V_k sqrt(lambda - sigma2) = Z'U_k sqrt((lambda - sigma2) / lambda)
    with np.errstate(divide="ignore", invalid="ignore"):
        shrink = np.where(top > 0, np.sqrt(np.maximum(top - sigma2, 0.0) / top), 0.0)
    corr_loadings = (z.T @ vecs[:, :k]) * shrink
    psi = np.maximum(1.0 - np.einsum("ij,ij->i", corr_loadings, corr_loadings), 0.0)
    loadings = np.zeros((p, k))
    specific = np.zeros(p)
    loadings[live] = corr_loadings * sd[live, None]
    specific[live] = psi * sd[live] ** 2
    mu = r.mean(axis=0) if mean == "sample" else np.zeros(p)
    explained = float(top.sum()) / p_live if p_live else 0.0
    return FactorCovariance(loadings, specific, mu, estimator, rule, explained, threshold, lam)


def factor_quadratic_moments(
    a: float, b: np.ndarray, g: np.ndarray, mean: np.ndarray, cov: FactorCovariance
) -> tuple[float, float, float, float]:
    """``core.quadratic.quadratic_moments`` of a + b'x + 1/2 x' diag(g) x, x ~ N(mean, Sigma)
    with Sigma = B B' + diag(d), without forming Sigma (cost ~ p k^2).

    With M = G Sigma = X + E, X = U B' (U = G B, rank k) and E = diag(g d): the traces of M^r
    expand into traces of the k x k matrices C = B'U and K = B'EU and sums over the names
    (e.g. tr(M^2) = tr(C^2) + 2 sum_i e_i U_i.B_i + sum_i e_i^2), and the quadratic forms are
    matrix-vector products.
    """
    bl, d = cov.loadings, cov.specific
    u = g[:, None] * bl
    e = g * d
    c = bl.T @ u
    kk = bl.T @ (e[:, None] * u)
    c2 = c @ c
    ub = np.einsum("ij,ij->i", u, bl)  # (U B')_ii
    ucb = np.einsum("ij,ij->i", u @ c, bl)  # (U C B')_ii
    uc2b = np.einsum("ij,ij->i", u @ c2, bl)  # (U C^2 B')_ii
    tr1 = float(np.trace(c) + e.sum())
    tr2 = float(np.sum(c * c.T) + 2 * e @ ub + e @ e)
    tr3 = float(np.sum(c2 * c.T) + 3 * e @ ucb + 3 * (e * e) @ ub + np.sum(e**3))
    tr4 = float(
        np.sum(c2 * c2.T)
        + 4 * e @ uc2b
        + 4 * (e * e) @ ucb
        + 2 * np.sum(kk * kk.T)
        + 4 * (e**3) @ ub
        + np.sum(e**4)
    )
    gm = g * mean
    beta = b + gm
    w = cov.times(beta)
    x1 = g * w
    x2 = g * cov.times(x1)
    quad = (float(beta @ w), float(w @ x1), float(w @ x2))
    k1 = float(a + b @ mean + 0.5 * mean @ gm + 0.5 * tr1)
    k2, k3, k4 = (
        0.5 * math.factorial(r - 1) * t + 0.5 * math.factorial(r) * q
        for r, t, q in zip((2, 3, 4), (tr2, tr3, tr4), quad, strict=True)
    )
    if k2 <= 0:
        return k1, 0.0, 0.0, 0.0
    return k1, math.sqrt(k2), k3 / k2**1.5, k4 / k2**2


@dataclass(frozen=True)
class LowRankDiag:
    """A p x p matrix U V' + diag(delta), kept as its parts (rank r of U V' small): the
    products of a factor covariance and a diagonal gamma (S, S G S, S G S G S, ...) in the
    parametric decomposition, without p x p arrays.

    Attributes:
        u, v: shape (p, r).
        delta: shape (p,).
    """

    u: np.ndarray
    v: np.ndarray
    delta: np.ndarray

    @classmethod
    def of(cls, cov: FactorCovariance) -> LowRankDiag:
        return cls(cov.loadings, cov.loadings, cov.specific)

    def entries(self, p: np.ndarray, q: np.ndarray) -> np.ndarray:
        """Entries (p, q) (index arrays broadcast together)."""
        p, q = np.broadcast_arrays(np.asarray(p), np.asarray(q))
        out = np.einsum("...r,...r->...", self.u[p], self.v[q])
        return out + np.where(p == q, self.delta[p], 0.0)

    def scale_rows(self, g: np.ndarray) -> LowRankDiag:
        """diag(g) M."""
        return LowRankDiag(g[:, None] * self.u, self.v, g * self.delta)

    def __matmul__(self, other):
        """M x for a vector x, or the product with another ``LowRankDiag`` (ranks add)."""
        if isinstance(other, LowRankDiag):
            u = np.hstack([self.u @ (self.v.T @ other.u) + self.delta[:, None] * other.u, self.u])
            v = np.hstack([other.v, other.delta[:, None] * self.v])
            return LowRankDiag(u, v, self.delta * other.delta)
        return self.u @ (self.v.T @ other) + self.delta * other
