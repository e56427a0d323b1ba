"""Monte Carlo scenarios: correlated returns over the horizon, simulated directly, in blocks.

Normal: r = h mu + sqrt(h) A z, z ~ N(0, I), A A' = Sigma (Cholesky, or the eigen-decomposition
when Sigma is only semi-definite). Student-t: the multivariate t with ``df`` degrees of freedom
scaled to the same covariance, r = h mu + sqrt(h) sqrt((df-2)/df) A z / sqrt(w/df), w ~ chi2(df).
Returns are simple returns applied as S_now (1 + r), so a linear Gaussian book's Monte Carlo VaR
converges to the parametric one.

Block i of the paths draws from SeedSequence(seed).spawn(n_blocks)[i] (core.random), so results
depend on the seed and the path count only.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
from scipy import special, stats

from riskengine.core.covariance import matrix_root
from riskengine.core.random import BLOCK_SIZE, block_sizes, block_streams

DISTRIBUTIONS = ("normal", "student-t")
# Scenario returns are simulated in single precision: 7 significant digits of a return are far
# finer than Monte Carlo error, and it halves the cost of the normals and the matrix product.
# P&L is always accumulated in double precision.
SCENARIO_DTYPE = np.float32


@dataclass(frozen=True)
class MonteCarloModel:
    """A fitted model of daily factor returns, simulated at a horizon.

    Attributes:
        mean: shape (n_columns,), daily mean (zeros for the zero-mean model).
        covariance: shape (n_columns, n_columns), daily covariance.
        distribution: "normal" or "student-t".
        df: degrees of freedom for the Student-t.
        horizon_days: h.
        root: optional precomputed (A, how) with A A' = covariance (from a cached estimate).
    """

    mean: np.ndarray
    covariance: np.ndarray
    distribution: str = "normal"
    df: float = 5.0
    horizon_days: int = 1

    root: tuple[np.ndarray, str] | None = None

    def __post_init__(self):
        root, how = self.root if self.root is not None else matrix_root(self.covariance)
        # sqrt(h) (and the Student-t variance factor) folded into the root: one pass less.
        scale = math.sqrt(self.horizon_days)
        if self.distribution == "student-t":
            scale *= math.sqrt((self.df - 2.0) / self.df)
        root_t = np.ascontiguousarray(root.T) * scale
        object.__setattr__(self, "_root_t", root_t.astype(SCENARIO_DTYPE))
        object.__setattr__(self, "root_method", how)

    @property
    def n_columns(self) -> int:
        return self.mean.size

    def marginal_range(self, tail_probability: float) -> tuple[np.ndarray, np.ndarray]:
        """Per-column returns bracketing all but ``tail_probability`` of each marginal tail."""
        sd = np.sqrt(np.maximum(np.diag(self.covariance), 0.0) * self.horizon_days)
        if self.distribution == "normal":
            q = float(special.ndtri(1.0 - tail_probability))
        else:
            q = float(stats.t.ppf(1.0 - tail_probability, self.df)) * math.sqrt(
                (self.df - 2.0) / self.df
            )
        centre = self.mean * self.horizon_days
        return centre - q * sd, centre + q * sd

    def sample(self, size: int, rng: np.random.Generator) -> np.ndarray:
        """One block of horizon returns, shape (size, n_columns), dtype SCENARIO_DTYPE."""
        z = rng.standard_normal((size, self.n_columns), dtype=SCENARIO_DTYPE)
        r = z @ self._root_t
        if self.distribution == "student-t":
            w = rng.chisquare(self.df, size)
            r *= np.sqrt(self.df / w).astype(SCENARIO_DTYPE)[:, None]
        if np.any(self.mean):
            r += (self.mean * self.horizon_days).astype(SCENARIO_DTYPE)
        return r


@dataclass(frozen=True)
class MonteCarloScenarios:
    """``n_scenarios`` paths of ``model`` from ``seed``, produced block by block.

    Blocks are regenerated from their seeds on every pass unless ``keep_blocks`` was called.
    """

    model: MonteCarloModel
    n_scenarios: int
    seed: int
    block_size: int = BLOCK_SIZE

    def blocks(self) -> Iterator[np.ndarray]:
        """Yield the scenario blocks in order, each shape (block, n_columns)."""
        for i in range(self.n_blocks):
            yield self.block(i)

    def block(self, i: int) -> np.ndarray:
        """Block ``i``, shape (block, n_columns): drawn from its own stream
        SeedSequence(seed).spawn(n_blocks)[i] (the same bits whichever worker asks), or kept
        from an earlier draw when the set keeps its blocks."""
        kept = self.__dict__.get("_kept")
        if kept is not None and kept[i] is not None:
            return kept[i]
        children = self.__dict__.get("_children")
        if children is None:
            children = block_streams(self.seed, self.n_scenarios, self.block_size)
            object.__setattr__(self, "_children", children)
        size = min(self.block_size, self.n_scenarios - i * self.block_size)
        block = self.model.sample(size, np.random.Generator(np.random.PCG64(children[i])))
        if kept is not None:
            block.setflags(write=False)
            kept[i] = block  # each worker fills its own slot
        return block

    @property
    def nbytes(self) -> int:
        return self.n_scenarios * self.model.n_columns * np.dtype(SCENARIO_DTYPE).itemsize

    @property
    def keeps_blocks(self) -> bool:
        return "_kept" in self.__dict__

    def keep_blocks(self) -> MonteCarloScenarios:
        """Keep every block once drawn, so that other books reuse the same scenarios."""
        if not self.keeps_blocks:
            object.__setattr__(self, "_kept", [None] * self.n_blocks)
        return self

    @property
    def n_blocks(self) -> int:
        return len(block_sizes(self.n_scenarios, self.block_size))
