"""Reverse stress: the most likely factor move in which today's book loses a given amount.

With Sigma the sample covariance (ddof=1) of the daily simple returns of the book's factors over
the ``window`` returns ending at as_of, scaled to the horizon (``Sigma_h = h Sigma``), the
scenario is the factor-return vector x that minimises the Mahalanobis distance
``d(x) = sqrt(x' Sigma_h^-1 x)`` subject to the book losing exactly L (P&L(x) = -L, an instant
shock with full revaluation, horizon 0, implied volatility unchanged). Under the normal model
``x ~ N(0, Sigma_h)`` it is the most likely point of the set {P&L <= -L}.

* A linear book (no options, no FX cross terms), P&L(x) = b'x with b the dollar exposures, has
  the closed form ``x* = -L Sigma_h b / (b' Sigma_h b)`` and ``d = L / sqrt(b' Sigma_h b)``.
* Otherwise the problem is solved numerically in whitened coordinates x = A z
  (``A A' = Sigma_h`` from the eigen-decomposition, so a singular Sigma is fine and d = |z|):
  (1) a search along directions (the delta direction -A'b, its opposite and the principal axes)
  finds on each the smallest step at which the fully revalued book loses L (bracketing, then
  Brent's method); (2) from the best ones, fixed-point steps along the gradient
  (z proportional to -A' grad P&L(Az), the optimality condition) and SLSQP (scipy) with the exact
  gradient polish the solution. Prices stay >= 0 (x >= -1). The answer is the feasible point of
  smallest distance found, so it is never farther than the delta-direction shock rescaled to lose
  L (reported as ``linear_distance``). It is a local optimum: the loss set of an option book may
  have several.

``probability`` is ``Phi(-d)``: under the normal model, the probability of a move at least d
standard deviations along the scenario's direction (for a linear book exactly the delta-normal
probability of losing L or more over the horizon). ``probability_any_direction`` is
``P(chi2_m >= d^2)``, the probability of a move at least that far in any direction (m the rank of
Sigma).
"""

from __future__ import annotations

import datetime as dt
import json
import math
from dataclasses import dataclass

import numpy as np
from scipy.special import chdtrc, ndtr

from riskengine.core.covariance import estimate_covariance
from riskengine.errors import InputError
from riskengine.instruments.types import Portfolio
from riskengine.market.history import FactorHistory
from riskengine.stress.apply import INSTANT_NOTE, position_results
from riskengine.stress.result import PositionPnL, position_rows
from riskengine.stress.revalue import (
    StressBook,
    factor_moves,
    pnl_gradient,
    position_pnl,
    stress_book,
)

MAX_DISTANCE = 40.0  # standard deviations searched along each direction
_GRID = 64  # steps per direction in the search
_MAX_AXES = 50  # principal axes tried (the largest variances first)
_FEASIBLE = 1e-7  # |P&L + L| <= _FEASIBLE * L


@dataclass(frozen=True)
class FactorShock:
    """The reverse-stress move of one factor.

    Attributes:
        factor: its name.
        shock: the relative return.
        sigma: its standard deviation over the horizon, sqrt(h Sigma_jj).
        z: shock / sigma.
        pnl: P&L of the positions whose own factor it is, under the whole scenario.
    """

    factor: str
    shock: float
    sigma: float
    z: float
    pnl: float

    def to_dict(self) -> dict:
        return {
            "factor": self.factor,
            "shock": self.shock,
            "sigma": self.sigma,
            "z": self.z,
            "pnl": self.pnl,
        }


@dataclass(frozen=True)
class ReverseStressResult:
    """The most likely scenario in which the book loses ``loss`` (definitions: module doc).

    Attributes:
        loss: the loss limit L, a positive amount in the base currency.
        pnl: the book's full-revaluation P&L in the scenario (-L up to solver tolerance).
        method: "closed-form" (linear book) or "numerical".
        mahalanobis_distance: d = sqrt(x' Sigma_h^-1 x).
        probability: Phi(-d); probability_any_direction: P(chi2_rank >= d^2).
        linear_distance: numerical method: the distance of the delta-direction shock rescaled
            to lose L (d <= linear_distance); None for the closed form.
        factors: per factor of the book, by name.
        positions: per-position P&L in the scenario.
        window, horizon_days, rank: the covariance's window, horizon scaling and rank.
    """

    as_of: str
    base_currency: str
    loss: float
    pnl: float
    method: str
    mahalanobis_distance: float
    probability: float
    probability_any_direction: float
    linear_distance: float | None
    window: int
    horizon_days: int
    rank: int
    factors: tuple[FactorShock, ...]
    positions: tuple[PositionPnL, ...]
    portfolio: dict
    excluded_positions: tuple[dict, ...] = ()
    notes: tuple[str, ...] = ()

    @property
    def shock(self) -> dict[str, float]:
        """Factor -> relative return of the scenario."""
        return {f.factor: f.shock for f in self.factors}

    def to_dict(self) -> dict:
        return {
            "as_of": self.as_of,
            "base_currency": self.base_currency,
            "loss": self.loss,
            "pnl": self.pnl,
            "method": self.method,
            "mahalanobis_distance": self.mahalanobis_distance,
            "probability": self.probability,
            "probability_any_direction": self.probability_any_direction,
            "linear_distance": self.linear_distance,
            "window": self.window,
            "horizon_days": self.horizon_days,
            "rank": self.rank,
            "factors": [f.to_dict() for f in self.factors],
            "positions": [p.to_dict() for p in self.positions],
            "portfolio": dict(self.portfolio),
            "excluded_positions": [dict(e) for e in self.excluded_positions],
            "notes": list(self.notes),
        }

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent, allow_nan=False)

    def format_table(self) -> str:
        d, p, h = self.mahalanobis_distance, self.probability, self.horizon_days
        every = f"about once in {1 / p:,.0f} {h}-day periods" if p > 0 else "never"
        lines = [
            f"reverse stress: loss limit {self.loss:,.2f} {self.base_currency} over {h} day(s) "
            f"(covariance of {self.window} daily returns to {self.as_of}, {self.method})",
            f"the most likely scenario breaching the limit is {d:.3f} standard deviations away: "
            f"probability {p:.3g} of a move at least that far along it ({every}); "
            f"{self.probability_any_direction:.3g} in any direction",
        ]
        if self.linear_distance is not None:
            lines.append(
                f"(the delta direction, rescaled to lose the limit with full revaluation, is "
                f"{self.linear_distance:.3f} standard deviations away)"
            )
        lines.append(f"  {'factor':<10} {'shock':>9} {'sigma':>9} {'z':>8} {'P&L':>16}")
        for f in sorted(self.factors, key=lambda f: f.pnl):
            lines.append(
                f"  {f.factor[:10]:<10} {f.shock:>+9.2%} {f.sigma:>9.2%} {f.z:>+8.2f} "
                f"{f.pnl:>16,.2f}"
            )
        lines += position_rows(self.positions)
        lines.append(f"  total P&L {self.pnl:,.2f}")
        for e in self.excluded_positions:
            lines.append(f"  excluded {e['id']} {e['symbol']}: {e['reason']}")
        lines += [f"note: {n}" for n in self.notes]
        return "\n".join(lines)


def _check(loss, window, horizon_days) -> float:
    if isinstance(loss, bool) or not isinstance(loss, int | float | np.number):
        raise InputError(f"loss must be a positive amount, e.g. 1e6; got {loss!r}.")
    if not (math.isfinite(loss) and loss > 0):
        raise InputError(
            f"loss must be a positive amount (a loss of 1 million is 1e6, not -1e6); got {loss!r}."
        )
    for name, v, lo in (("window", window, 2), ("horizon_days", horizon_days, 1)):
        if isinstance(v, bool) or not isinstance(v, int | np.integer) or v < lo:
            raise InputError(f"{name} must be an integer >= {lo}; got {v!r}.")
    return float(loss)


def _window_snapshot(
    portfolio, history, as_of, base_currency, window
) -> tuple[StressBook, StressBook]:
    """(full, reduced): the book compiled on the factors with every close of the window, and
    again on the book's own factors only."""
    index = history.index_of(as_of)
    history.check_window(index, window, 1)
    closes = history.prices[index - window : index + 1]
    complete = np.all(np.isfinite(closes), axis=0)
    end = history.date_at(index)
    unusable = {
        history.symbols[j]: (
            f"{history.symbols[j]} has {int(np.sum(~np.isfinite(closes[:, j])))} missing closes "
            f"among the {window + 1} dates of the window ending {end}; import the missing "
            "history or shorten --window."
        )
        for j in np.nonzero(~complete)[0]
    }
    full = stress_book(
        portfolio,
        history,
        end,
        base_currency,
        unusable=unusable,
        universe=np.nonzero(complete)[0],
    )
    reduced = stress_book(
        portfolio, history, end, base_currency, universe=full.universe[full.book.columns]
    )
    return full, reduced


class _Problem:
    """min |z|^2 / 2 subject to P&L(A z) = -L, A z >= -1."""

    def __init__(self, book, root: np.ndarray, loss: float):
        self.book, self.a, self.loss = book, root, loss

    def pnl(self, z: np.ndarray) -> np.ndarray:
        """P&L at the rows of ``z`` (shape (n, m))."""
        return self.book.pnl(np.atleast_2d(z) @ self.a.T)

    def floor_step(self, u: np.ndarray) -> float:
        """The largest step t along u with every price >= 0 (x = t A u >= -1)."""
        v = self.a @ u
        neg = v < 0
        return float(min(MAX_DISTANCE, 1.0 / np.max(-v[neg]) if neg.any() else np.inf))

    def along(self, u: np.ndarray, t_hint: float | None = None) -> float | None:
        """The smallest step t > 0 with P&L(t A u) = -L along unit u (None if not reached)."""
        cap = self.floor_step(u)
        if t_hint is None:
            ts = cap * np.geomspace(1e-4, 1.0, _GRID)
        else:  # around a previous solution first, then the whole range
            ts = np.unique(
                np.concatenate([np.clip(t_hint * np.geomspace(0.25, 4.0, 17), 0, cap), [cap]])
            )
            ts = ts[ts > 0]
        values = self.pnl(ts[:, None] * u) + self.loss
        hit = np.nonzero(values <= 0)[0]
        if hit.size == 0:
            return None if t_hint is None else self.along(u)
        k = int(hit[0])
        hi = float(ts[k])
        lo = float(ts[k - 1]) if k > 0 else 0.0
        if values[k] == 0:
            return hi
        from scipy import optimize

        return float(
            optimize.brentq(
                lambda t: float(self.pnl(t * u)[0]) + self.loss, lo, hi, xtol=1e-14, rtol=1e-14
            )
        )

    def feasible(self, z: np.ndarray) -> bool:
        gap = abs(float(self.pnl(z)[0]) + self.loss)
        return gap <= _FEASIBLE * self.loss and float(np.min(self.a @ z, initial=0.0)) >= -1.0

    def gradient_direction(self, z: np.ndarray) -> np.ndarray | None:
        v = -(self.a.T @ pnl_gradient(self.book, self.a @ z))
        n = np.linalg.norm(v)
        return v / n if n > 0 else None

    def fixed_point(self, z: np.ndarray, steps: int = 100) -> np.ndarray:
        """Steps z <- (the point losing L along -A' grad P&L(A z)) while they shorten z."""
        best = z
        for _ in range(steps):
            u = self.gradient_direction(best)
            if u is None:
                break
            t = self.along(u, float(np.linalg.norm(best)))
            if t is None or t >= np.linalg.norm(best) * (1 - 1e-13):
                break
            best = t * u
        return best

    def slsqp(self, z0: np.ndarray) -> np.ndarray | None:
        from scipy import optimize

        a, loss = self.a, self.loss
        cons = (
            {
                "type": "eq",
                "fun": lambda z: np.array([(float(self.pnl(z)[0]) + loss) / loss]),
                "jac": lambda z: (a.T @ pnl_gradient(self.book, a @ z))[None, :] / loss,
            },
            {"type": "ineq", "fun": lambda z: 1.0 + a @ z, "jac": lambda z: a},
        )
        try:
            res = optimize.minimize(
                lambda z: 0.5 * float(z @ z),
                z0,
                jac=lambda z: z,
                constraints=cons,
                method="SLSQP",
                options={"ftol": 1e-15, "maxiter": 300},
            )
        except (ValueError, np.linalg.LinAlgError):  # pragma: no cover - defensive
            return None
        z = np.asarray(res.x, float)
        if not np.all(np.isfinite(z)):
            return None
        # Put the point back on the constraint exactly, along its own direction.
        n = np.linalg.norm(z)
        if n == 0:
            return None
        t = self.along(z / n, float(n))
        return None if t is None else t * z / n


def _solve_nonlinear(problem: _Problem, b0: np.ndarray) -> tuple[np.ndarray | None, float | None]:
    """The smallest feasible z found (None when no direction reaches the loss), and the
    distance of the delta direction rescaled."""
    m = problem.a.shape[1]
    dirs = []
    delta = problem.a.T @ b0
    linear = None
    if np.linalg.norm(delta) > 0:
        u = -delta / np.linalg.norm(delta)
        linear = problem.along(u)
        dirs += [u, -u]
    eye = np.eye(m)[:, ::-1][:, :_MAX_AXES]  # eigh sorts ascending: largest variances first
    dirs += [*eye.T, *(-eye.T)]
    found = []
    for u in dirs:
        t = problem.along(u)
        if t is not None:
            found.append(t * u)
    if not found:
        return None, linear
    found.sort(key=np.linalg.norm)
    best = found[0]
    for z in found[:3]:
        for candidate in (problem.fixed_point(z),):
            polished = problem.slsqp(candidate)
            for c in (candidate, polished):
                if (
                    c is not None
                    and problem.feasible(c)
                    and np.linalg.norm(c) < np.linalg.norm(best)
                ):
                    best = c
    return best, linear


def reverse_stress(
    portfolio: Portfolio,
    history: FactorHistory,
    loss: float,
    *,
    window: int = 500,
    horizon_days: int = 1,
    as_of: dt.date | str | None = None,
    base_currency: str = "USD",
) -> ReverseStressResult:
    """The most likely factor move (under N(0, h Sigma)) in which the book loses ``loss``.

    Args:
        loss: the loss limit L, a positive amount in the base currency.
        window: daily returns ending at as_of for the sample covariance (ddof=1).
        horizon_days: h; the covariance is scaled by h (the shock is still instant).

    Returns:
        A ``ReverseStressResult`` (definitions in the module docstring).

    Raises:
        InputError: invalid arguments, a book with no exposure, or a loss the book cannot
            reach (e.g. beyond the premium of a book of long options).
        InsufficientHistoryError: too little history for the window.
        NoPositionsError: no position can be priced.
    """
    loss = _check(loss, window, horizon_days)
    base_currency = str(base_currency).upper()
    full, snap = _window_snapshot(portfolio, history, as_of, base_currency, window)
    book = snap.book
    returns = history.returns(snap.index, window, snap.universe)
    estimate = estimate_covariance(returns, estimator="sample")
    sigma = estimate.matrix * horizon_days
    vals, vecs = np.linalg.eigh(sigma)
    keep = vals > 1e-12 * max(float(vals[-1]), 1e-300)
    root = vecs[:, keep] * np.sqrt(vals[keep])
    rank = int(keep.sum())
    notes = [
        INSTANT_NOTE,
        f"covariance: sample (ddof=1) of the {window} daily returns ending {snap.as_of}, "
        f"times {horizon_days} (horizon)",
    ]
    if estimate.repaired:
        notes.append(
            f"the covariance was repaired to the nearest PSD matrix (smallest eigenvalue "
            f"{estimate.min_eigenvalue:.3g})"
        )
    if len(book.options):
        notes.append("implied volatility unchanged")
    ccy = base_currency
    linear_book = not len(book.options) and not book.has_cross_terms
    b = pnl_gradient(book, np.zeros(book.n_columns))
    if linear_book:
        var = float(b @ sigma @ b)
        if not var > 0:
            raise InputError(
                f"the book has no exposure to its factors' moves (P&L variance {var:g}); a loss "
                f"of {loss:,.2f} {ccy} cannot be reached."
            )
        x = -loss * (sigma @ b) / var
        distance = loss / math.sqrt(var)
        method, linear_distance = "closed-form", None
        if np.any(x < -1):
            notes.append(
                "the closed-form shock takes a price below zero (a return below -100%): the "
                "loss is beyond what the normal model on simple returns can explain sensibly"
            )
    else:
        problem = _Problem(book, root, loss)
        z, linear_t = _solve_nonlinear(problem, b)
        if z is None:
            worst = _largest_loss(problem)
            raise InputError(
                f"the book cannot lose {loss:,.2f} {ccy} within {MAX_DISTANCE:g} standard "
                f"deviations along any searched direction with prices >= 0 (largest loss "
                f"found: {worst:,.2f}); lower --reverse-loss."
            )
        x = root @ z
        distance = float(np.linalg.norm(z))
        method, linear_distance = "numerical", linear_t
        notes.append(
            "numerical solution (direction search, fixed-point steps along the gradient, "
            "SLSQP): a local optimum, never farther than the delta direction rescaled"
        )
    moves = factor_moves(snap, x)
    per_position, _ = position_pnl(snap, moves)
    own = {c: 0.0 for c in book.columns}
    for i, c in enumerate(snap.layout.column):
        own[int(c)] = own.get(int(c), 0.0) + float(per_position[i])
    sd = np.sqrt(np.maximum(np.diag(sigma), 0.0))
    factors = tuple(
        FactorShock(
            factor=book.factor_names[c],
            shock=float(x[c]),
            sigma=float(sd[c]),
            z=float(x[c] / sd[c]) if sd[c] > 0 else 0.0,
            pnl=own.get(int(c), 0.0),
        )
        for c in sorted(book.columns, key=lambda c: book.factor_names[c])
    )
    return ReverseStressResult(
        as_of=snap.as_of.isoformat(),
        base_currency=ccy,
        loss=loss,
        pnl=float(book.pnl(x[None, :])[0]),
        method=method,
        mahalanobis_distance=float(distance),
        probability=float(ndtr(-distance)),
        probability_any_direction=float(chdtrc(rank, distance**2)),
        linear_distance=None if linear_distance is None else float(linear_distance),
        window=int(window),
        horizon_days=int(horizon_days),
        rank=rank,
        factors=factors,
        positions=position_results(snap, moves, per_position),
        portfolio=full.portfolio_summary(),
        excluded_positions=tuple(e.to_dict() for e in full.book.excluded),
        notes=tuple(notes),
    )


def _largest_loss(problem: _Problem) -> float:
    """The largest loss seen on the search grid (for the error message)."""
    m = problem.a.shape[1]
    worst = 0.0
    for u in [*np.eye(m), *(-np.eye(m))]:
        ts = problem.floor_step(u) * np.geomspace(1e-4, 1.0, _GRID)
        worst = max(worst, -float(np.min(problem.pnl(ts[:, None] * u))))
    return worst
