"""Euler allocation of parametric VaR and ES, analytically.

The book's P&L moments are polynomials in the position sizes u (every position scaled by its
u_i; the book is u = 1): with the delta-gamma terms of ``local.py`` and r ~ (m, S) the horizon
mean and covariance of the factor returns,

    k1 = a + b'm [+ 1/2 m'Gm + 1/2 tr(GS)]                     (degree 1)
    kr = 1/2 (r-1)! tr((GS)^r) + r!/2 c' S (GS)^(r-2) c,  c = b + Gm   (degree r; r = 2, 3, 4)

(the bracket and the gamma terms only for "delta-gamma"; delta-only models use k1 = a + b'm
and k2 = b'Sb). VaR = -k1 + sqrt(k2) q(skewness, kurtosis) is homogeneous of degree 1 in u, so
Euler's theorem gives components that add up to VaR exactly:

    component_i = dVaR/du_i = -dk1_i + q dk2_i / (2 sd) + sd (dq/ds ds_i + dq/dk dk_i),

the skewness and kurtosis terms included (they sum to zero over the positions, since those
shapes are homogeneous of degree 0, but they move each position's share). For delta-normal this
is the textbook -mu_i + z b_i (S b)_i / sd; for the Student-t the same with its quantile factor.

Per position the moments of the book with the position scaled by (1 - t) are polynomials in t
of degree <= 4, computed exactly from the position's two-factor terms (``LocalTerms``) and a few
book-wide products (S G S and its entries on the positions' factors): the coefficient of t gives
the derivative (component), their sum at t = 1 the book without the position (incremental VaR).
Standalone VaR uses the position's own two-factor moments. Cornish-Fisher with historical
moments ("cornish-fisher") takes the skewness and kurtosis of the book's daily P&L over the
window; their derivatives and the moments of the book without each position come from one
streamed pass over the window's returns (position P&L chunk by chunk, never the whole cube).
"""

from __future__ import annotations

import itertools
import math

import numpy as np

from riskengine.core.distributions import (
    cornish_fisher_monotone,
    cornish_fisher_var_es,
    population_moments,
)
from riskengine.core.factor_model import (
    FactorCovariance,
    LowRankDiag,
    factor_quadratic_moments,
)
from riskengine.core.quadratic import quadratic_moments
from riskengine.decomposition import shape
from riskengine.decomposition.local import LocalTerms
from riskengine.decomposition.revalue import PositionPnl
from riskengine.methods.base import ParametricModel
from riskengine.pricing.compiled import CompiledBook

_CHUNK_ELEMENTS = 1 << 19  # rows x positions per piece of streamed position P&L


def _bilinear(a0, a1, m, b0, b1) -> np.ndarray:
    """Coefficients (n, 3) in t of (a0 + t a1)' M (b0 + t b1), a/b of shape (n, 2), M (n, 2, 2)."""

    def form(x, y):
        return np.einsum("ni,nij,nj->n", x, m, y)

    return np.stack([form(a0, b0), form(a0, b1) + form(a1, b0), form(a1, b1)], axis=1)


def _pair_entries(mat_rows: np.ndarray, mat_cols_t: np.ndarray) -> np.ndarray:
    """Row-wise dot products: entry p of the result is mat_rows[p] . mat_cols_t[p]."""
    return np.einsum("pk,pk->p", mat_rows, mat_cols_t)


class _Book:
    """The book-wide quantities the position polynomials need, for a dense covariance S.
    ``_FactorBook`` keeps S and its powers factored instead; both read them through
    ``_g_dot_s``, ``_powers`` and ``entries``."""

    def __init__(self, terms: LocalTerms, mean: np.ndarray, cov, with_gamma: bool):
        k = mean.size
        self.k = k
        self.a, self.b, g = terms.book_terms(k)
        self.with_gamma = with_gamma
        self.g = g if with_gamma else np.zeros((k, k))
        self.m, self.s = mean, cov
        self.c = self.b + self.g @ mean
        sc = cov @ self.c
        self.k1 = self.a + self.b @ mean
        if not with_gamma:
            self.u = [sc]
            self.cTc = [float(self.c @ sc)]
            self.cumulants = (self.k1, self.cTc[0], 0.0, 0.0)
            return
        gi, gj = np.nonzero(self.g)
        vals = self.g[gi, gj]
        self.k1 += 0.5 * mean @ self.g @ mean + 0.5 * self._g_dot_s(gi, gj, vals)
        u1, u2 = self._powers(sc)  # S G S c, S G S G S c
        self.u = [sc, u1, u2]
        self.cTc = [float(self.c @ sc), float(self.c @ u1), float(self.c @ u2)]
        # traces of (GS)^r: tr(GSGS) = sum G .* (SGS)... from entries of S(GS)^(r-1) on G's
        # non-zero pattern: tr(G T_r) with T_r = S (GS)^(r-1), r = 1..3.
        self.traces = {
            2: float(vals @ self.entries(1, gj, gi)),
            3: float(vals @ self.entries(2, gj, gi)),
            4: float(vals @ self.entries(3, gj, gi)),
        }
        k2 = 0.5 * self.traces[2] + self.cTc[0]
        k3 = self.traces[3] + 3.0 * self.cTc[1]
        k4 = 3.0 * self.traces[4] + 12.0 * self.cTc[2]
        self.cumulants = (float(self.k1), float(k2), float(k3), float(k4))

    def _g_dot_s(self, gi, gj, vals) -> float:
        """sum G .* S (G's non-zero entries ``vals`` at ``gi``, ``gj``)."""
        return float(np.sum(self.g * self.s))

    def _powers(self, sc: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Set up ``entries`` for j >= 1; returns (S G S c, S G S G S c)."""
        cov = self.s
        support = np.nonzero(np.any(self.g != 0, axis=1))[0]
        g_supp = self.g[np.ix_(support, support)]
        diagonal = not np.any(g_supp - np.diag(np.diag(g_supp)))
        g_diag = np.diag(g_supp) if diagonal else None
        self.g_diag = g_diag
        # rows of G S on the support of G (a row scaling when G is diagonal)
        gs = g_diag[:, None] * cov[support] if g_diag is not None else self.g[support] @ cov
        t2 = cov[:, support] @ gs  # S G S
        self.t2, self.gs, self.support = t2, gs, support
        return t2 @ self.c, t2 @ (self.g @ sc)

    def entries(self, j: int, p: np.ndarray, q: np.ndarray) -> np.ndarray:
        """Entries (p, q) of T_(j+1) = S (GS)^j, j = 0..3 (S, SGS, SGSGS, SGSGSGS)."""
        if j == 0:
            return self.s[p, q]
        if j == 1:
            return self.t2[p, q]
        if j == 2:  # (SGS G S)[p, q] = T2[p, supp] . (G S)[supp, q]
            return _pair_entries(self.t2[p][:, self.support], self.gs[:, q].T)
        # (SGS G SGS)[p, q] = (T2 G)[p, :] . T2[:, q]
        rows = self.t2[p][:, self.support]
        if self.g_diag is not None:
            t2g = rows * self.g_diag
        else:
            t2g = rows @ self.g[np.ix_(self.support, self.support)]
        return _pair_entries(t2g, self.t2[self.support][:, q].T)


class _FactorBook(_Book):
    """``_Book`` for a factor covariance S = B B' + diag(d) (a ``LowRankDiag``) and a diagonal
    gamma: the powers S (G S)^j are kept low-rank plus diagonal, never as p x p arrays, with
    the same entries."""

    def _g_dot_s(self, gi, gj, vals) -> float:
        return float(vals @ self.s.entries(gi, gj))

    def _powers(self, sc: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        g_full = np.diag(self.g).copy()
        gs = self.s.scale_rows(g_full)  # G S
        t2 = self.s @ gs
        self.powers = [self.s, t2, t2 @ gs]
        self.powers.append(self.powers[2] @ gs)
        return t2 @ self.c, t2 @ (g_full * sc)

    def entries(self, j: int, p: np.ndarray, q: np.ndarray) -> np.ndarray:
        return self.powers[j].entries(p, q) if j else self.s.entries(p, q)


def _pairs(cov, p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Entries (p, q) of a dense covariance or a ``LowRankDiag``."""
    return cov.entries(p, q) if isinstance(cov, LowRankDiag) else cov[p, q]


def _diagonal_gamma(terms: LocalTerms) -> bool:
    """Whether the book's gamma over the model columns is diagonal: no position has a cross
    gamma between two different columns (an FX-converted position's)."""
    same = terms.index[:, 0] == terms.index[:, 1]
    return bool(np.all(same | ((terms.gamma[:, 0, 1] == 0) & (terms.gamma[:, 1, 0] == 0))))


def position_polynomials(terms: LocalTerms, book: _Book) -> list[np.ndarray]:
    """Cumulants k1..k4 of the book with each position scaled by (1 - t), as polynomial
    coefficients in t, each of shape (n_positions, 5) (k3 = k4 = 0 for delta-only models)."""
    n = terms.n_positions
    idx = terms.index
    m_j = book.m[idx]
    d = terms.gamma if book.with_gamma else np.zeros_like(terms.gamma)
    gamma_vec = terms.beta + np.einsum("nij,nj->ni", d, m_j)
    out = [np.zeros((n, 5)) for _ in range(4)]
    dk1 = terms.alpha + np.einsum("ni,ni->n", terms.beta, m_j)
    pp, qq = np.broadcast_arrays(idx[:, :, None], idx[:, None, :])
    keys, inverse = np.unique(pp.ravel() * book.k + qq.ravel(), return_inverse=True)
    up, uq = keys // book.k, keys % book.k  # the distinct (row, column) entries needed
    n_w = 4 if book.with_gamma else 1
    w = [book.entries(j, up, uq)[inverse].reshape(n, 2, 2) for j in range(n_w)]
    if book.with_gamma:
        dk1 = dk1 + 0.5 * np.einsum("ni,nij,nj->n", m_j, d, m_j)
        dk1 = dk1 + 0.5 * np.einsum("nij,nji->n", d, w[0])
    out[0][:, 0] = book.k1
    out[0][:, 1] = -dk1
    n_u = 3 if book.with_gamma else 1
    u = [book.u[j][idx] for j in range(n_u)]  # (n, 2): (T_(j+1) c) on J
    v = [(u[j], -np.einsum("nij,nj->ni", w[j], gamma_vec)) for j in range(n_u)]

    def quadratic(qpow: int) -> np.ndarray:
        """c' S (GS)^qpow c for the book minus t * position."""
        poly = np.zeros((n, 5))
        poly[:, 0] = book.cTc[qpow]
        poly[:, 1] = -2.0 * np.einsum("ni,ni->n", gamma_vec, u[qpow])
        poly[:, 2] = np.einsum("ni,nij,nj->n", gamma_vec, w[qpow], gamma_vec)
        if not book.with_gamma:
            return poly
        for word in itertools.product((0, 1), repeat=qpow):
            n_b = sum(word)
            if n_b == 0:
                continue
            at = [i for i, x in enumerate(word) if x]
            j0, jl = at[0], qpow - 1 - at[-1]
            mid = np.broadcast_to(d, d.shape)
            for left, right in itertools.pairwise(at):
                mid = mid @ w[right - left - 1] @ d
            coef = _bilinear(*v[j0], mid, *v[jl]) * (-1.0) ** n_b
            poly[:, n_b : n_b + 3] += coef
        return poly

    dw = [d @ wj for wj in w]  # D W_j
    trace_of: dict[tuple[int, ...], np.ndarray] = {}

    def cyclic(runs: tuple[int, ...]) -> np.ndarray:
        """tr(D W_j1 D W_j2 ...), the same for every rotation of the runs: computed once."""
        key = min(runs[i:] + runs[:i] for i in range(len(runs)))
        if key not in trace_of:
            prod = dw[key[0]]
            for j in key[1:]:
                prod = prod @ dw[j]
            trace_of[key] = np.trace(prod, axis1=1, axis2=2)
        return trace_of[key]

    def trace(r: int) -> np.ndarray:
        """tr((GS - t E D E'S)^r): every word in GS and the position's term, by cyclicity a
        trace of products of D W_j, j the number of GS factors after each position term."""
        poly = np.zeros((n, 5))
        poly[:, 0] = book.traces[r]
        for word in itertools.product((0, 1), repeat=r):
            n_b = sum(word)
            if n_b == 0:
                continue
            at = [i for i, x in enumerate(word) if x]
            runs = tuple((at[(i + 1) % n_b] - at[i] - 1) % r for i in range(n_b))
            if n_b == 1:
                runs = (r - 1,)
            poly[:, n_b] += (-1.0) ** n_b * cyclic(runs)
        return poly

    if book.with_gamma:
        for r in (2, 3, 4):
            out[r - 1] = 0.5 * math.factorial(r - 1) * trace(r) + 0.5 * math.factorial(
                r
            ) * quadratic(r - 2)
    else:
        out[1] = quadratic(0)
    return out


def standalone_cumulants(terms: LocalTerms, mean, cov, with_gamma: bool):
    """k1..k4 of each position alone, each of shape (n_positions,)."""
    idx = terms.index
    m_j = mean[idx]
    w0 = _pairs(cov, idx[:, :, None], idx[:, None, :])
    d = terms.gamma if with_gamma else np.zeros_like(terms.gamma)
    gv = terms.beta + np.einsum("nij,nj->ni", d, m_j)
    k1 = terms.alpha + np.einsum("ni,ni->n", terms.beta, m_j)
    if not with_gamma:
        z = np.zeros_like(k1)
        return k1, np.einsum("ni,nij,nj->n", gv, w0, gv), z, z
    k1 = k1 + 0.5 * np.einsum("ni,nij,nj->n", m_j, d, m_j) + 0.5 * np.einsum("nij,nji->n", d, w0)
    dw = d @ w0
    dw2 = dw @ dw
    tr2 = np.trace(dw2, axis1=1, axis2=2)
    tr3 = np.trace(dw2 @ dw, axis1=1, axis2=2)
    tr4 = np.trace(dw2 @ dw2, axis1=1, axis2=2)
    x = np.einsum("nij,nj->ni", w0, gv)  # W0 gamma
    q0 = np.einsum("ni,ni->n", gv, x)
    q1 = np.einsum("ni,nij,nj->n", x, d, x)  # g' W0 D W0 g
    y = np.einsum("nij,nj->ni", dw, np.einsum("nij,nj->ni", d, x))  # D W0 D W0 g
    q2 = np.einsum("ni,ni->n", x, y)
    return k1, 0.5 * tr2 + q0, tr3 + 3.0 * q1, 3.0 * tr4 + 12.0 * q2


def group_cumulants(a, b, g, mean, cov, with_gamma: bool) -> tuple[float, float, float, float]:
    """k1..k4 of a sub-book given its (a, b, G) over the model columns (``cov`` dense, or a
    ``FactorCovariance``)."""
    if not with_gamma or not np.any(g):
        var = cov.quad(b) if isinstance(cov, FactorCovariance) else float(b @ cov @ b)
        return float(a + b @ mean), float(var), 0.0, 0.0
    if isinstance(cov, FactorCovariance):
        diagonal = g.ndim == 1 or not np.any(g - np.diag(np.diag(g)))
        if diagonal:
            k1, sd, skew, kurt = factor_quadratic_moments(
                a, b, g if g.ndim == 1 else np.diag(g), mean, cov
            )
        else:
            k1, sd, skew, kurt = quadratic_moments(a, b, g, mean, cov.matrix)
    else:
        k1, sd, skew, kurt = quadratic_moments(a, b, g, mean, cov)
    return k1, sd * sd, skew * sd**3, kurt * sd**4


class HistoricalShape:
    """Skewness and excess kurtosis of the book's daily P&L over the window (Cornish-Fisher),
    with their derivatives per unit and the shapes of each unit alone and of the book without
    it. Units are the positions and the tag groups (``members``: n_positions x n_groups 0/1).

    Position P&L is computed chunk by chunk over the window's rows, in one pass: memory
    O(chunk x units).
    """

    def __init__(
        self,
        book: CompiledBook,
        returns: np.ndarray,
        members: np.ndarray,
        pnl: np.ndarray | None = None,
        executor=None,
    ):
        p = book.pnl(returns) if pnl is None else pnl
        _, _, self.skew, self.kurt = population_moments(p)
        n_obs = p.size
        d = p - p.mean()
        self.m2, self.m3, self.m4 = (float(np.mean(d**j)) for j in (2, 3, 4))
        rows = max(1, _CHUNK_ELEMENTS // max(book.n_positions, 1))
        revalue = PositionPnl(book)

        def units(start):
            block = revalue(returns[start : start + rows])
            return np.hstack([block, block @ members]) if members.shape[1] else block

        # One pass of power sums of y = x - shift (shift: the first chunk's mean, so that the
        # sums do not cancel), turned into central moments of x at the end.
        def power_sums(s, shift):
            y = units(s)
            if shift is None:
                shift = y.mean(axis=0)
            y -= shift
            y2 = y * y
            y3 = y2 * y
            dd = d[s : s + rows]
            d_pow = np.stack([dd, dd * dd, dd * dd * dd])  # d, d^2, d^3 per row
            return (
                shift,
                {
                    "y": y.sum(axis=0),
                    "d_y": d_pow @ y,  # sum d^j y, j = 1, 2, 3
                    "d_y2": d_pow[:2] @ y2,  # sum d^j y^2, j = 1, 2
                    "d_y3": dd @ y3,
                    "y2": y2.sum(axis=0),
                    "y3": y3.sum(axis=0),
                    "y4": (y2 * y2).sum(axis=0),
                },
            )

        shift, sums = power_sums(0, None)
        rest = range(rows, n_obs, rows)
        run = executor.map if executor is not None else lambda f, xs: [f(x) for x in xs]
        for _, part in run(lambda s: power_sums(s, shift), rest):  # in row order
            for key, value in part.items():
                sums[key] = sums[key] + value
        e = {key: value / n_obs for key, value in sums.items()}
        mu = e["y"]  # mean of x - shift
        d1, d2, d3 = float(d.mean()), float(np.mean(d**2)), float(np.mean(d**3))
        dy1, dy2, dy3 = e["d_y"]
        d1y2, d2y2 = e["d_y2"]
        self.e_x2 = e["y2"] - mu**2
        self.e_x3 = e["y3"] - 3 * mu * e["y2"] + 2 * mu**3
        self.e_x4 = e["y4"] - 4 * mu * e["y3"] + 6 * mu**2 * e["y2"] - 3 * mu**4
        self.e_d1x, self.e_d2x, self.e_d3x = dy1 - mu * d1, dy2 - mu * d2, dy3 - mu * d3
        self.e_dx2 = d1y2 - 2 * mu * dy1 + mu**2 * d1
        self.e_d2x2 = d2y2 - 2 * mu * dy2 + mu**2 * d2
        self.e_dx3 = e["d_y3"] - 3 * mu * d1y2 + 3 * mu**2 * dy1 - mu**3 * d1

    @staticmethod
    def _shape(m2, m3, m4):
        m2 = np.asarray(m2, float)
        ok = m2 > 0
        safe = np.where(ok, m2, 1.0)
        return np.where(ok, m3 / safe**1.5, 0.0), np.where(ok, m4 / safe**2 - 3.0, 0.0)

    def derivatives(self):
        """(d skewness, d kurtosis) per unit when the unit is scaled (directional)."""
        dm2, dm3, dm4 = 2.0 * self.e_d1x, 3.0 * self.e_d2x, 4.0 * self.e_d3x
        m2, m3, m4 = self.m2, self.m3, self.m4
        if m2 <= 0:
            return np.zeros_like(dm2), np.zeros_like(dm2)
        ds = dm3 / m2**1.5 - 1.5 * m3 * dm2 / m2**2.5
        dk = dm4 / m2**2 - 2.0 * m4 * dm2 / m2**3
        return ds, dk

    def alone(self):
        """(skewness, kurtosis) of each unit's own P&L."""
        return self._shape(self.e_x2, self.e_x3, self.e_x4)

    def without(self):
        """(skewness, kurtosis) of the book's P&L without each unit."""
        m2 = self.m2 - 2.0 * self.e_d1x + self.e_x2
        m3 = self.m3 - 3.0 * self.e_d2x + 3.0 * self.e_dx2 - self.e_x3
        m4 = self.m4 - 4.0 * self.e_d3x + 6.0 * self.e_d2x2 - 4.0 * self.e_dx3 + self.e_x4
        return self._shape(m2, m3, m4)


def decompose_parametric(
    book: CompiledBook,
    model: ParametricModel,
    terms: LocalTerms,
    members: np.ndarray,
    confidences,
    *,
    standalone: bool = True,
    incremental: bool = True,
    executor=None,
) -> dict:
    """Components (VaR, ES), incremental and standalone VaR per position and per group.

    Args:
        members: shape (n_positions, n_groups), 1 where a position belongs to a tag group.
        executor: optional ``LocalExecutor`` for the Cornish-Fisher pass over the window.

    Returns:
        dict of lists (one array per confidence): "component_var", "component_es" of shape
        (n_positions,); "incremental_var", "standalone_var" of shape (n_positions,) and
        "group_incremental_var", "group_standalone_var" of shape (n_groups,) (None when not
        asked). Group components are the sums of their positions'.
    """
    kind, df = model.quantile, model.df
    n_pos, n_groups = terms.n_positions, members.shape[1]
    with_gamma = kind == "delta-gamma"
    factor = model.covariance if isinstance(model.covariance, FactorCovariance) else None
    cov: np.ndarray | LowRankDiag
    bk: _Book
    if factor is not None and _diagonal_gamma(terms):
        low = LowRankDiag.of(factor)  # S (G S)^j low-rank plus diagonal: no p x p array
        cov, bk = low, _FactorBook(terms, model.mean, low, with_gamma)
    else:
        # a factor model with cross gammas: the book's names' dense matrix
        dense = factor.matrix if factor is not None else model.covariance
        assert isinstance(dense, np.ndarray)  # for the type checker: a factor model is handled
        cov, bk = dense, _Book(terms, model.mean, dense, with_gamma)
    polys = position_polynomials(terms, bk)
    k1, k2, k3, k4 = bk.cumulants
    sd, skew, kurt = shape.standardised_shape(k2, k3, k4)
    d_mean, d_var = -polys[0][:, 1], -polys[1][:, 1]
    hist = None
    if kind == "cornish-fisher":
        if model.history_returns is None or model.history_pnl is None:
            raise ValueError("a Cornish-Fisher model carries its window's returns and P&L")
        hist = HistoricalShape(
            book, model.history_returns, members, model.history_pnl, executor=executor
        )
        skew, kurt = hist.skew, hist.kurt
        d_skew, d_kurt = (x[:n_pos] for x in hist.derivatives())
    elif with_gamma and k2 > 0:
        dk3, dk4 = -polys[2][:, 1], -polys[3][:, 1]
        d_skew = dk3 / k2**1.5 - 1.5 * k3 * d_var / k2**2.5
        d_kurt = dk4 / k2**2 - 2.0 * k4 * d_var / k2**3
    else:
        d_skew = d_kurt = np.zeros(n_pos)

    out: dict = {"component_var": [], "component_es": []}
    for c in confidences:
        cv, ce = shape.var_es_derivative(
            kind, c, df, k1, sd, skew, kurt, d_mean, d_var, d_skew, d_kurt
        )
        ce = np.broadcast_to(ce, (n_pos,)).astype(float)
        if kind in shape.CORNISH_FISHER and not cornish_fisher_monotone(c, skew, kurt):
            # The reported ES integrates the monotone rearrangement of a bent expansion, which
            # has no closed-form derivative: scale the Euler components of the closed form to it.
            total = cornish_fisher_var_es(float(k1), float(sd), c, float(skew), float(kurt))[1]
            if ce.sum() != 0:
                ce = ce * (total / ce.sum())
        out["component_var"].append(np.broadcast_to(cv, (n_pos,)).astype(float))
        out["component_es"].append(ce)

    def var_of(cumulants, hist_shape=None) -> list[np.ndarray]:
        c1, c2, c3, c4 = (np.asarray(x, float) for x in cumulants)
        s_d, s_k, s_u = shape.standardised_shape(c2, c3, c4)
        if hist_shape is not None:
            s_k, s_u = hist_shape
        return [shape.var_es(kind, c, df, c1, s_d, s_k, s_u)[0] for c in confidences]

    def split(pair, part):
        """The position (part 0) or group (part 1) entries of a (skewness, kurtosis) pair."""
        if pair is None:
            return None
        return tuple(x[:n_pos] if part == 0 else x[n_pos:] for x in pair)

    def groups_var(which, hist_shape) -> list[np.ndarray]:
        if not n_groups:
            return [np.zeros(0) for _ in confidences]
        cum = []
        for j in range(n_groups):
            mem = np.nonzero(members[:, j])[0]
            sub = mem if which == "alone" else np.setdiff1d(np.arange(n_pos), mem)
            a, b, g = terms.group_terms(sub, model.mean.size)
            cum.append(
                group_cumulants(a, b, g, model.mean, factor if factor is not None else cov,
                                with_gamma)
            )  # fmt: skip
        return var_of(np.array(cum).T, hist_shape)

    book_var = var_of(bk.cumulants, (skew, kurt) if hist else None)
    for key in ("incremental_var", "standalone_var"):
        out[key] = out["group_" + key] = None
    if incremental:
        without_shape = hist.without() if hist else None
        reduced = var_of([poly.sum(axis=1) for poly in polys], split(without_shape, 0))
        out["incremental_var"] = [t - w for t, w in zip(book_var, reduced, strict=True)]
        g_reduced = groups_var("without", split(without_shape, 1))
        out["group_incremental_var"] = [t - w for t, w in zip(book_var, g_reduced, strict=True)]
    if standalone:
        alone_shape = hist.alone() if hist else None
        alone = standalone_cumulants(terms, model.mean, cov, with_gamma)
        out["standalone_var"] = var_of(alone, split(alone_shape, 0))
        out["group_standalone_var"] = groups_var("alone", split(alone_shape, 1))
    return out
