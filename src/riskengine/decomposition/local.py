"""Each position's own terms of the book's delta-gamma expansion.

The parametric method expands the book's horizon P&L in the factor returns r
(``CompiledBook.sensitivities``): P&L(r) ~= a + b'r + 1/2 r'Gr. The book is the sum of its
positions, and every position depends on at most two factors, its own and (priced in another
currency) its FX factor. Position i contributes

    a_i + beta_i' r_J + 1/2 r_J' D_i r_J,   J = (own factor, FX factor or own factor again),

with, for units = quantity * multiplier * X_now (X_now = 1 in the base currency):

* a linear position of value (notional for a future) v in base: beta = (v, v) when it is
  converted at an FX factor and is not a future, (v, 0) otherwise; D = [[0, v], [v, 0]] when
  converted (the cross term v r_S r_X), else 0; a = 0;
* an option with greeks at (S_now, T - h/252): a = units (V_h - V_now), beta = (units delta S,
  units V_h if converted else 0), D = [[units gamma S^2, c], [c, 0]] with the cross gamma
  c = units delta S when converted, else 0.

When a position has one factor, J repeats it and the second entries of beta and D are zero, so
``E_J beta`` and ``E_J D E_J'`` (E_J the columns J of the identity) are the position's terms in
the book's coordinates either way. Summed over the positions, these are exactly the book's
(a, b, G) (a test checks it).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from riskengine.pricing.compiled import CompiledBook


@dataclass(frozen=True)
class LocalTerms:
    """Per-position delta-gamma terms on (at most) two model columns.

    Attributes:
        alpha: shape (n_positions,), constant term (options' time decay over the horizon).
        index: shape (n_positions, 2), the position's columns J among the model's columns.
        beta: shape (n_positions, 2), first-order sensitivities on J.
        gamma: shape (n_positions, 2, 2), second-order terms on J (symmetric).
    """

    alpha: np.ndarray
    index: np.ndarray
    beta: np.ndarray
    gamma: np.ndarray

    @property
    def n_positions(self) -> int:
        return self.alpha.size

    @property
    def exposure(self) -> np.ndarray:
        """shape (n_positions,): first-order P&L per unit return of the position's own factor
        (its dollar delta at the horizon greeks): the value of a stock, the notional of a
        future, units * delta * S of an option (in base)."""
        return self.beta[:, 0]

    def book_terms(self, k: int) -> tuple[float, np.ndarray, np.ndarray]:
        """(a, b, G) of the whole book over k model columns, G of shape (k, k)."""
        b = np.zeros(k)
        np.add.at(b, self.index, self.beta)
        g = np.zeros((k, k))
        rows = np.repeat(self.index[:, :, None], 2, axis=2)
        cols = np.repeat(self.index[:, None, :], 2, axis=1)
        np.add.at(g, (rows, cols), self.gamma)
        return float(self.alpha.sum()), b, g

    def group_terms(self, members: np.ndarray, k: int) -> tuple[float, np.ndarray, np.ndarray]:
        """(a, b, G) of the positions ``members`` (indices) over k model columns."""
        sub = LocalTerms(
            self.alpha[members], self.index[members], self.beta[members], self.gamma[members]
        )
        return sub.book_terms(k)


def local_terms(book: CompiledBook, columns: np.ndarray) -> LocalTerms:
    """The positions' delta-gamma terms on the model columns ``columns`` (sorted scenario
    columns that hold every factor of the book, e.g. ``book.columns``), in
    ``book.position_ids`` order."""
    where = np.full(book.n_columns, -1, dtype=np.intp)
    where[np.asarray(columns, dtype=np.intp)] = np.arange(len(columns))
    n = book.n_positions
    lin, opt = book.position_index
    alpha = np.zeros(n)
    index = np.zeros((n, 2), dtype=np.intp)
    beta = np.zeros((n, 2))
    gamma = np.zeros((n, 2, 2))

    if lin.size:
        own = where[book.linear_column]
        fx = book.linear_fx_column
        foreign = fx >= 0
        index[lin, 0] = own
        index[lin, 1] = np.where(foreign, where[np.maximum(fx, 0)], own)
        v = book.linear_units_value
        beta[lin, 0] = v
        beta[lin, 1] = np.where(foreign & ~book.linear_is_future, v, 0.0)
        cross = np.where(foreign, v, 0.0)
        gamma[lin, 0, 1] = cross
        gamma[lin, 1, 0] = cross

    o = book.options
    if len(o):
        s0 = book.spot[o.column]
        gr = o.at_horizon.greeks(s0)
        units = o.units_base
        foreign = o.fx_column >= 0
        own = where[o.column]
        index[opt, 0] = own
        index[opt, 1] = np.where(foreign, where[np.maximum(o.fx_column, 0)], own)
        alpha[opt] = (gr.price - o.value_now) * units
        beta[opt, 0] = units * gr.delta * s0
        beta[opt, 1] = np.where(foreign, units * gr.price, 0.0)
        gamma[opt, 0, 0] = units * gr.gamma * s0 * s0
        cross = np.where(foreign, units * gr.delta * s0, 0.0)
        gamma[opt, 0, 1] = cross
        gamma[opt, 1, 0] = cross
    if np.any(index < 0):
        raise ValueError("local_terms: a position's factor is not among the model columns")
    return LocalTerms(alpha, index, beta, gamma)
