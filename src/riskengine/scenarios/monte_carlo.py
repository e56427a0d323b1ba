"""Monte Carlo scenarios: correlated returns over the horizon, simulated directly, in blocks.

Normal: r = h mu + sqrt(h) A z, z ~ N(0, I), A A' = Sigma (Cholesky, or the eigen-decomposition
when Sigma is only semi-definite). Student-t: the multivariate t with ``df`` degrees of freedom
scaled to the same covariance, r = h mu + sqrt(h) sqrt((df-2)/df) A z / sqrt(w/df), w ~ chi2(df).
Returns are simple returns applied as S_now (1 + r), so a linear Gaussian book's Monte Carlo VaR
converges to the parametric one. The log-space model (``return_model="log"``) fits mu and Sigma
to log returns, simulates x the same way and hands on r = exp(x) - 1, so that S_now (1 + r) =
S_now exp(x) and the revaluation code is the same for both models.

Sampling (``sampling``):

* ``plain``: independent paths; block i of the paths draws from
  SeedSequence(seed).spawn(n_blocks)[i] (core.random).
* ``antithetic``: the same blocks and streams; a block of m paths draws ceil(m/2) normal vectors
  z (and, for the Student-t, chi-square draws w) and uses z then -z, the pair sharing its w. An
  odd block has one unpaired path, its last base draw.
* ``sobol``: ``n_scrambles`` independent LMS+shift scrambles of the Sobol sequence
  (scipy.stats.qmc.Sobol), scramble k randomised by SeedSequence(seed).spawn(n_scrambles)[k],
  each with n_scenarios / n_scrambles points (a power of two). Uniforms become normals by the
  inverse normal CDF (and the chi-square by its inverse CDF, taken from the first coordinate).
  ``run_montecarlo`` gives a Sobol model the principal root (``principal_root``: eigenvectors
  by decreasing variance), so that the first, best-distributed Sobol coordinates drive the
  largest directions of variance (the PCA construction); the Student-t chi-square takes
  coordinate 0, the radius being the most important variable of a multivariate t.
  A scramble's points are cut into blocks of consecutive points; blocks are numbered round-robin
  over the scrambles (block i: scramble i % n_scrambles), so that parallel workers start on
  different scrambles and each scramble's generator moves forward block after block.

In every case results depend on the seed and the path count (and the number of scrambles) only.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np
from scipy import special

from riskengine.choices import RETURN_MODELS, SAMPLINGS
from riskengine.core.covariance import CovarianceModel, matrix_root
from riskengine.core.factor_model import FactorCovariance
from riskengine.core.lazy import qmc, stats
from riskengine.core.random import (
    BLOCK_SIZE,
    SOBOL_BLOCK_SIZE,
    block_sizes,
    block_streams,
    is_power_of_two,
    scramble_streams,
)
from riskengine.errors import InputError
from riskengine.scenarios.set import ScenarioSet

# Scenario returns are simulated in single precision: 7 significant digits of a return are far
# finer than Monte Carlo error, and it halves the cost of the normals and the matrix product.
# P&L is always accumulated in double precision.
SCENARIO_DTYPE = np.float32
# Sobol points are multiples of 2**-SOBOL_BITS; each is moved to the centre of its cell, so no
# uniform is 0 or 1 (the extreme normal is ndtri(2**-25), about -5.4: coordinates beyond it,
# probability 3e-8 each, are not drawn). 24 bits (scipy's default is 30) allow 2**24 points
# per scramble and halve the cost of scrambling (~ n_dims * bits**2, under the GIL), a fixed
# cost per scramble that matters with hundreds of factors.
SOBOL_BITS = 24
_SOBOL_HALF_CELL = 2.0 ** -(SOBOL_BITS + 1)


def principal_root(matrix: np.ndarray) -> tuple[np.ndarray, str]:
    """(A, "principal") with A A' = matrix and the columns of A the eigenvectors scaled by
    sqrt(eigenvalue), in decreasing order of eigenvalue (negative eigenvalues clipped to 0).

    Any root gives the same distribution to independent draws; for quasi-Monte Carlo this one
    puts the largest directions of variance on the first coordinates.
    """
    vals, vecs = np.linalg.eigh(0.5 * (matrix + matrix.T))
    order = np.argsort(vals)[::-1]
    return vecs[:, order] * np.sqrt(np.maximum(vals[order], 0.0)), "principal"


@dataclass(frozen=True)
class MonteCarloDesign:
    """The recipe of a Monte Carlo scenario set: with the market data it was fitted to, the
    whole cache key of the scenarios (every field changes them; nothing else does).

    Attributes:
        covariance: the covariance model (its ``returns`` is the return model: "simple" moves
            S (1 + r), "log" moves S exp(x)).
        distribution: "normal" or "student-t".
        df: Student-t degrees of freedom; None for the normal.
        horizon_days: h.
        n_scenarios: paths.
        seed: the run's seed (each block's generator derives from it).
        sampling: "plain", "antithetic" or "sobol".
        n_scrambles: Sobol scrambles; None for the other samplings.
        block_size: rows per block.
    """

    covariance: CovarianceModel
    distribution: str
    df: float | None
    horizon_days: int
    n_scenarios: int
    seed: int
    sampling: str
    n_scrambles: int | None
    block_size: int = BLOCK_SIZE

    @property
    def return_model(self) -> str:
        return self.covariance.returns

    def describe(self, points_per_scramble: int | None, confidences) -> tuple[dict, list[str]]:
        """The design's report parameters and the notes that qualify the numbers it gives
        (``confidences``: the levels reported, for the Sobol tail warning)."""
        params: dict = {"sampling": self.sampling, "return_model": self.return_model}
        notes = []
        k = self.n_scrambles
        if self.sampling == "sobol" and points_per_scramble is not None and k is not None:
            params["n_scrambles"] = k
            params["points_per_scramble"] = points_per_scramble
            notes.append(
                f"scrambled Sobol quasi-Monte Carlo: {k} independent scrambles of "
                f"{points_per_scramble} points; VaR and ES from all points, standard errors "
                "from the spread of the per-scramble estimates"
            )
            per = points_per_scramble
            thin = [c for c in confidences if per * (1.0 - c) < 40]
            if thin:
                notes.append(
                    f"at confidence {', '.join(f'{c:g}' for c in thin)} a scramble's tail holds "
                    f"fewer than 40 of its {points_per_scramble} points: the standard errors "
                    f"(from {k} scrambles, Student-t with {k - 1} degrees of freedom at best) "
                    "are themselves uncertain, the ES one most; use more points per scramble "
                    "for a reliable one"
                )
        elif self.sampling == "antithetic":
            notes.append(
                "antithetic variates: paths come in pairs (z, -z); standard errors from the pair "
                "means, since the two paths of a pair are not independent"
            )
        if self.return_model == "log":
            notes.append(
                "log-space model: factors move as S exp(x), x fitted to daily log returns and "
                "simulated over the horizon"
            )
        if self.distribution == "student-t":
            params["df"] = self.df
        return params, notes


@dataclass(frozen=True)
class MonteCarloModel:
    """A fitted model of daily factor returns, simulated at a horizon.

    Attributes:
        mean: shape (n_columns,), daily mean (zeros for the zero-mean model); of simple returns,
            or of log returns for the log model.
        covariance: shape (n_columns, n_columns), daily covariance (of simple or log returns),
            or a ``FactorCovariance`` (B B' + diag(d)): then a path draws k factor shocks and
            n_columns specific shocks, r = sqrt(h) (B z_k + sqrt(d) z_e), at a cost ~ paths x
            n_columns x k instead of paths x n_columns^2.
        distribution: "normal" or "student-t".
        df: degrees of freedom for the Student-t.
        horizon_days: h.
        root: optional precomputed (A, how) with A A' = covariance (from a cached estimate).
        return_model: "simple" (the draws are the simple returns r) or "log" (the draws are log
            returns x, handed on as r = exp(x) - 1).
    """

    mean: np.ndarray
    covariance: np.ndarray | FactorCovariance
    distribution: str = "normal"
    df: float = 5.0
    horizon_days: int = 1

    root: tuple[np.ndarray, str] | None = None
    return_model: str = "simple"
    # set in __post_init__: the transposed root, in SCENARIO_DTYPE
    _root_t: np.ndarray = field(init=False, repr=False, compare=False)
    _specific: np.ndarray | None = field(init=False, repr=False, compare=False)

    def __post_init__(self):
        if self.return_model not in RETURN_MODELS:
            raise InputError(
                f"return_model {self.return_model!r} is not one of: {', '.join(RETURN_MODELS)}."
            )
        # sqrt(h) (and the Student-t variance factor) folded into the root: one pass less.
        scale = math.sqrt(self.horizon_days)
        if self.distribution == "student-t":
            scale *= math.sqrt((self.df - 2.0) / self.df)
        cov = self.covariance
        if isinstance(cov, FactorCovariance):
            root_t = np.ascontiguousarray(cov.loadings.T) * scale  # (k, n_columns)
            specific = np.sqrt(cov.specific) * scale
            object.__setattr__(self, "_specific", specific.astype(SCENARIO_DTYPE))
            how = "factor"
        else:
            root, how = self.root if self.root is not None else matrix_root(cov)
            root_t = np.ascontiguousarray(root.T) * scale
            object.__setattr__(self, "_specific", None)
        object.__setattr__(self, "_root_t", root_t.astype(SCENARIO_DTYPE))
        object.__setattr__(self, "root_method", how)

    @property
    def n_columns(self) -> int:
        return self.mean.size

    @property
    def n_normals(self) -> int:
        """Independent normals per path: one per column, or, for a factor model, one per
        factor and one per column (the specific shock)."""
        return self._root_t.shape[0] + (0 if self._specific is None else self.n_columns)

    @property
    def n_uniforms(self) -> int:
        """Uniforms per path for quasi-Monte Carlo: one per normal, plus the chi-square of the
        Student-t (the factors' come first: the largest directions of variance)."""
        return self.n_normals + (self.distribution == "student-t")

    def variances(self) -> np.ndarray:
        """Shape (n_columns,): the daily variance of each column."""
        cov = self.covariance
        if isinstance(cov, FactorCovariance):
            return cov.variances()
        return np.diag(cov)

    def _shock(self, z: np.ndarray, specific: np.ndarray | None = None) -> np.ndarray:
        """sqrt(h) A z: shape (size, n_columns). ``z``: shape (size, n_normals); or, for a
        factor model, the factor normals (size, k) with the specific ones (size, n_columns)
        in ``specific``, which becomes the result."""
        if self._specific is None:
            return z @ self._root_t
        k = self._root_t.shape[0]
        if specific is None:
            z, specific = z[:, :k], z[:, k:]
        specific *= self._specific
        specific += z @ self._root_t
        return specific

    def _normals(self, size: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray | None]:
        """``size`` paths' normals: (z, None), or for a factor model the factor normals then
        the specific ones, drawn in that order."""
        if self._specific is None:
            return rng.standard_normal((size, self.n_normals), dtype=SCENARIO_DTYPE), None
        k = self._root_t.shape[0]
        z = rng.standard_normal((size, k), dtype=SCENARIO_DTYPE)
        return z, rng.standard_normal((size, self.n_columns), dtype=SCENARIO_DTYPE)

    def marginal_range(self, tail_probability: float) -> tuple[np.ndarray, np.ndarray]:
        """Per-column simple returns bracketing all but ``tail_probability`` of each marginal
        tail (for the log model, exp(x) - 1 of the log-return range: the map is increasing)."""
        sd = np.sqrt(np.maximum(self.variances(), 0.0) * self.horizon_days)
        if self.distribution == "normal":
            q = float(special.ndtri(1.0 - tail_probability))
        else:
            q = float(stats.t.ppf(1.0 - tail_probability, self.df)) * math.sqrt(
                (self.df - 2.0) / self.df
            )
        centre = self.mean * self.horizon_days
        lo, hi = centre - q * sd, centre + q * sd
        if self.return_model == "log":
            return np.expm1(lo), np.expm1(hi)
        return lo, hi

    def sample(self, size: int, rng: np.random.Generator) -> np.ndarray:
        """One block of independent horizon returns, shape (size, n_columns), SCENARIO_DTYPE."""
        r = self._shock(*self._normals(size, rng))
        w = rng.chisquare(self.df, size) if self.distribution == "student-t" else None
        return self._finish(r, w)

    def sample_antithetic(self, size: int, rng: np.random.Generator) -> np.ndarray:
        """One block of antithetic horizon returns, shape (size, n_columns), SCENARIO_DTYPE.

        Draws ``half = ceil(size/2)`` normal vectors z (then, for the Student-t, ``half``
        chi-square draws w); path j < half uses z_j, path half + j uses -z_j with the same w_j.
        With an odd ``size`` the last base path (j = half - 1) has no partner.
        """
        half = (size + 1) // 2
        y = self._shock(*self._normals(half, rng))  # the matrix product once per pair
        r = np.concatenate([y, -y[: size - half]])
        w = None
        if self.distribution == "student-t":
            w = rng.chisquare(self.df, half)
            w = np.concatenate([w, w[: size - half]])
        return self._finish(r, w)

    def from_uniforms(self, u: np.ndarray) -> np.ndarray:
        """Horizon returns from uniforms, shape (size, n_columns), SCENARIO_DTYPE.

        Args:
            u: shape (size, n_uniforms), strictly inside (0, 1). For the Student-t, column 0
                gives the chi-square by its inverse CDF and the others the normals.
        """
        w = None
        if self.distribution == "student-t":
            w = 2.0 * special.gammaincinv(0.5 * self.df, u[:, 0])  # chi2(df) inverse CDF
            u = u[:, 1:]
        z = special.ndtri(u).astype(SCENARIO_DTYPE)
        return self._finish(self._shock(z), w)

    def _finish(self, r: np.ndarray, w: np.ndarray | None) -> np.ndarray:
        """Student-t mixing, mean and the return model, in place on r = sqrt(h) A z."""
        if w is not None:
            r *= np.sqrt(self.df / w).astype(SCENARIO_DTYPE)[:, None]
        if np.any(self.mean):
            r += (self.mean * self.horizon_days).astype(SCENARIO_DTYPE)
        if self.return_model == "log":
            np.expm1(r, out=r)
        return r


def check_sobol_paths(n_scenarios: int, n_scrambles: int) -> int:
    """Points per scramble for Sobol sampling, or an InputError naming valid path counts.

    Each scramble needs a power-of-two number of points (the balance of the Sobol sequence).
    """
    if n_scrambles < 2:
        raise InputError(
            f"n_scrambles must be >= 2 so that Sobol estimates have a standard error; "
            f"got {n_scrambles}."
        )
    per, rest = divmod(n_scenarios, n_scrambles)
    if rest == 0 and is_power_of_two(per):
        if per > 2**SOBOL_BITS:
            raise InputError(
                f"sampling 'sobol' draws at most 2**{SOBOL_BITS} points per scramble; "
                f"n_scenarios {n_scenarios} over n_scrambles {n_scrambles} gives {per}. "
                "Use more scrambles or fewer paths."
            )
        return per
    below = 2 ** max(int(math.floor(math.log2(max(n_scenarios / n_scrambles, 1)))), 0)
    above = below * 2
    raise InputError(
        f"sampling 'sobol' needs a power-of-two number of points per scramble; n_scenarios "
        f"{n_scenarios} over n_scrambles {n_scrambles} gives {n_scenarios / n_scrambles:g}. "
        f"Use n_scenarios (--paths) {below * n_scrambles} or {above * n_scrambles} ({below} or "
        f"{above} points per scramble), or another n_scrambles (--scrambles)."
    )


@dataclass(frozen=True)
class MonteCarloScenarios:
    """``n_scenarios`` paths of ``model`` from ``seed``, produced block by block.

    Blocks are regenerated from their seeds on every pass unless ``keep_blocks`` was called.

    Attributes:
        sampling: "plain", "antithetic" or "sobol" (see the module docstring).
        n_scrambles: Sobol only: independent scrambles, n_scenarios / n_scrambles points each
            (a power of two). Sobol blocks hold min(points per scramble, SOBOL_BLOCK_SIZE)
            consecutive points of one scramble; ``block_size`` is then ignored.
    """

    model: MonteCarloModel
    n_scenarios: int
    seed: int
    block_size: int = BLOCK_SIZE
    sampling: str = "plain"
    n_scrambles: int = 16

    # Sobol only, set in __post_init__: the generator cursors per scramble and their lock
    _cursors: dict = field(init=False, repr=False, compare=False)
    _cursor_lock: threading.Lock = field(init=False, repr=False, compare=False)

    def __post_init__(self):
        if self.sampling not in SAMPLINGS:
            raise InputError(f"sampling {self.sampling!r} is not one of: {', '.join(SAMPLINGS)}.")
        if self.sampling == "sobol":
            per = check_sobol_paths(self.n_scenarios, self.n_scrambles)
            if self.model.n_uniforms > qmc.Sobol.MAXDIM:
                raise InputError(
                    f"sampling 'sobol' supports at most {qmc.Sobol.MAXDIM} dimensions (risk "
                    f"factors, or PCA factors plus one per name, plus one for the Student-t); got "
                    f"{self.model.n_uniforms}. Use sampling 'plain' or 'antithetic'."
                )
            object.__setattr__(self, "block_size", min(per, SOBOL_BLOCK_SIZE))
            # Per scramble, a generator positioned after the last block drawn (any worker may
            # take it; a worker that finds none builds one): no quadratic fast-forwarding.
            object.__setattr__(self, "_cursors", {})
            object.__setattr__(self, "_cursor_lock", threading.Lock())

    def scenario_set(self) -> ScenarioSet:
        """The paths as the revaluation reads them: block by block, equally weighted."""
        return ScenarioSet(self.n_scenarios, self.block_size, self.block, stored=self.keeps_blocks)

    def blocks(self) -> Iterator[np.ndarray]:
        """Yield the scenario blocks in order, each shape (block, n_columns)."""
        for i in range(self.n_blocks):
            yield self.block(i)

    def block(self, i: int) -> np.ndarray:
        """Block ``i``, shape (block, n_columns): drawn from its own stream (the same bits
        whichever worker asks), or kept from an earlier draw when the set keeps its blocks.

        Plain and antithetic block i draws from SeedSequence(seed).spawn(n_blocks)[i]; Sobol
        block i holds points [j B, (j + 1) B) of scramble k, with k = i % n_scrambles and
        j = i // n_scrambles, randomised by SeedSequence(seed).spawn(n_scrambles)[k]."""
        kept = self.__dict__.get("_kept")
        if kept is not None and kept[i] is not None:
            return kept[i]
        children = self.__dict__.get("_children")
        if children is None:
            if self.sampling == "sobol":
                children = scramble_streams(self.seed, self.n_scrambles)
            else:
                children = block_streams(self.seed, self.n_scenarios, self.block_size)
            object.__setattr__(self, "_children", children)
        if self.sampling == "sobol":
            j, k = divmod(i, self.n_scrambles)
            block = self.model.from_uniforms(self._sobol_points(children, k, j))
        else:
            size = min(self.block_size, self.n_scenarios - i * self.block_size)
            rng = np.random.Generator(np.random.PCG64(children[i]))
            if self.sampling == "antithetic":
                block = self.model.sample_antithetic(size, rng)
            else:
                block = self.model.sample(size, rng)
        if kept is not None:
            block.setflags(write=False)
            kept[i] = block  # each worker fills its own slot
        return block

    def _sobol_points(self, streams, k: int, j: int) -> np.ndarray:
        """Points [j B, (j + 1) B) of scramble ``k``, in (0, 1), shape (B, n_uniforms).

        The points depend only on (seed, k, j): the generator is the scramble's own, built from
        ``streams[k]`` or taken from where an earlier block of the scramble left it, and moved
        forward to point j B either way."""
        with self._cursor_lock:
            cursor = self._cursors.pop(k, None)
        if cursor is not None and cursor[0] <= j:
            at, engine = cursor
        else:
            at = 0
            # scipy spawns the engine's generator from the one it is given, which advances the
            # spawn counter of the SeedSequence behind it: hand it a fresh copy of the
            # scramble's stream each time, so every engine of scramble k is the same.
            stream = streams[k]
            fresh = np.random.SeedSequence(stream.entropy, spawn_key=stream.spawn_key)
            engine = qmc.Sobol(
                self.model.n_uniforms,
                scramble=True,
                bits=SOBOL_BITS,
                rng=np.random.Generator(np.random.PCG64(fresh)),
            )
        if j > at:
            engine.fast_forward((j - at) * self.block_size)
        u = engine.random(self.block_size)
        if j + 1 < self.blocks_per_scramble:
            with self._cursor_lock:
                self._cursors[k] = (j + 1, engine)
        u += _SOBOL_HALF_CELL
        return u

    @property
    def points_per_scramble(self) -> int | None:
        return self.n_scenarios // self.n_scrambles if self.sampling == "sobol" else None

    @property
    def blocks_per_scramble(self) -> int:
        """Sobol: blocks per scramble (0 for the other samplings, which have no scrambles)."""
        per = self.points_per_scramble
        return 0 if per is None else per // self.block_size

    def path_groups(self) -> np.ndarray | None:
        """Group label (0, 1, ..., n_groups - 1) of each path, shape (n_scenarios,), in path
        order: paths in different groups are independent, paths within a group need not be
        (an antithetic pair, a Sobol scramble). None for plain sampling (every path is
        independent)."""
        if self.sampling == "plain":
            return None
        if self.sampling == "sobol":
            return np.repeat(np.arange(self.n_blocks) % self.n_scrambles, self.block_size)
        labels = []
        start = 0  # pairs (and unpaired paths) are numbered 0, 1, ... in path order
        for size in block_sizes(self.n_scenarios, self.block_size):
            half = (size + 1) // 2
            labels.append(start + np.arange(half))
            labels.append(start + np.arange(size - half))
            start += half
        return np.concatenate(labels)

    def __getstate__(self) -> dict:
        """Pickled (sent to a Dask worker) without the kept blocks, the stream cache and the
        Sobol cursors: the worker regenerates what it needs from the seed, the same bits."""
        state = dict(self.__dict__)
        for name in ("_kept", "_children", "_cursors", "_cursor_lock"):
            state.pop(name, None)
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        if self.sampling == "sobol":
            object.__setattr__(self, "_cursors", {})
            object.__setattr__(self, "_cursor_lock", threading.Lock())

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
