"""Today's book as an instant-shock revaluation engine (horizon 0), built on ``CompiledBook``.

A stress scenario is an *instant* shock: the book is compiled at the as-of snapshot with
horizon 0, so options keep today's time to expiry (ACT/365 from as-of) and a zero shock gives a
zero P&L. Every position is fully revalued:

* a linear position worth v0 in the base currency (a future: its notional) gains
  ``v0 (r_S (1 + r_X) + r_X)`` (a future: ``v0 r_S (1 + r_X)``), with r_S the return of its own
  factor and r_X that of its FX factor (0 for a position priced in the base currency);
* an option gains ``units X0 ((1 + r_X) V(S0 (1 + r_S), T, vol + dvol) - V(S0, T, vol))`` by
  Black-Scholes(-76), with dvol the implied-volatility shift (floored so that vol stays
  >= ``MIN_VOL``).

Shocks here are per position (own factor, FX factor, volatility), so two positions on one
factor can move differently (tag shocks); ``factor_moves`` turns one return per factor into
per-position moves.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from riskengine.instruments.types import Portfolio, Position
from riskengine.market.history import FactorHistory, MarketState
from riskengine.market.snapshot import market_snapshot
from riskengine.pricing.black_scholes import OptionTerms
from riskengine.pricing.compiled import CompiledBook, compile_snapshot

MIN_VOL = 1e-4  # 0.01 volatility points: the floor of a shocked implied volatility


@dataclass(frozen=True)
class StressBook:
    """A book compiled at an as-of snapshot for instant shocks.

    Attributes:
        book: the compiled book (horizon 0).
        portfolio: the book it was compiled from.
        index: the history row of as_of.
        universe: shape (n_columns,), the history column of every scenario column.
        as_of: the snapshot date (the history's date at ``index``).
    """

    book: CompiledBook
    portfolio: Portfolio
    index: int
    universe: np.ndarray
    as_of: dt.date

    @cached_property
    def positions(self) -> tuple[Position, ...]:
        """The included positions, in ``book.position_ids`` order."""
        by_id = {p.id: p for p in self.portfolio.positions}
        return tuple(by_id[i] for i in self.book.position_ids)

    @cached_property
    def layout(self) -> PositionLayout:
        return PositionLayout.of(self.book)

    def portfolio_summary(self) -> dict:
        return {
            "name": self.portfolio.name,
            "n_positions": len(self.portfolio),
            "n_included": self.book.n_positions,
            "market_value": self.book.market_value,
        }


@dataclass(frozen=True)
class PositionLayout:
    """Where each included position (``position_ids`` order) sits in the book's arrays.

    Attributes:
        linear, option: shape (n_linear,), (n_options,): the position index of each linear
            position and each option.
        column: shape (n_positions,), the scenario column of each position's own factor.
        fx_column: shape (n_positions,), the column of its FX factor, -1 in the base currency.
        is_option: shape (n_positions,).
    """

    linear: np.ndarray
    option: np.ndarray
    column: np.ndarray
    fx_column: np.ndarray
    is_option: np.ndarray

    @classmethod
    def of(cls, book: CompiledBook) -> PositionLayout:
        where = {pid: i for i, pid in enumerate(book.position_ids)}
        lin = np.array([where[i] for i in book.linear_ids], dtype=np.intp)
        opt = np.array([where[i] for i in book.option_ids], dtype=np.intp)
        n = book.n_positions
        column = np.zeros(n, np.intp)
        fx = np.full(n, -1, np.intp)
        column[lin] = book.linear_column
        column[opt] = book.options.column
        if lin.size:
            fx[lin] = book.linear_fx_column
        if opt.size:
            fx[opt] = book.options.fx_column
        is_option = np.zeros(n, bool)
        is_option[opt] = True
        return cls(lin, opt, column, fx, is_option)


def stress_book(
    portfolio: Portfolio,
    history: FactorHistory,
    as_of: dt.date | str | None,
    base_currency: str = "USD",
    *,
    unusable: dict[str, str] | None = None,
    universe: np.ndarray | None = None,
    market: MarketState | None = None,
) -> StressBook:
    """Compile ``portfolio`` at the close of ``as_of`` (or at the latest prices ``market``)
    with horizon 0.

    Args:
        universe: history columns to use (default: every symbol with a close at as_of).
        unusable: symbol -> reason, for factors whose positions must be excluded (besides
            those without a close at as_of).
        market: latest prices to value the book at instead of the closes (a live feed's);
            the scenarios' moves apply to them.

    Raises:
        NoPositionsError: when no position can be priced (the message gives the reasons).
    """
    snapshot = market_snapshot(history, as_of, live=market, universe=universe, unusable=unusable)
    book = compile_snapshot(portfolio, snapshot, 0, base_currency)
    return StressBook(book, portfolio, snapshot.index, snapshot.universe, snapshot.as_of)


@dataclass(frozen=True)
class Moves:
    """Per-position moves of one scenario, each shape (n_positions,) in ``position_ids`` order:
    ``own`` the return of the own factor, ``fx`` the return of the FX factor (0 in base),
    ``dvol`` the implied-volatility shift (0 for linear positions)."""

    own: np.ndarray
    fx: np.ndarray
    dvol: np.ndarray


def factor_moves(snapshot: StressBook, returns: np.ndarray) -> Moves:
    """Per-position moves from one return per scenario column, shape (n_columns,)."""
    lay = snapshot.layout
    r = np.asarray(returns, float)
    own = r[lay.column]
    fx = np.where(lay.fx_column >= 0, r[np.maximum(lay.fx_column, 0)], 0.0)
    return Moves(own, fx, np.zeros_like(own))


def position_pnl(snapshot: StressBook, moves: Moves) -> tuple[np.ndarray, np.ndarray]:
    """Full-revaluation P&L of every included position, in the base currency.

    Returns:
        (pnl, floored): shape (n_positions,) in ``position_ids`` order, gain positive; and a
        boolean mask of the options whose shocked volatility was floored at ``MIN_VOL``.
    """
    book, lay = snapshot.book, snapshot.layout
    pnl = np.zeros(book.n_positions)
    floored = np.zeros(book.n_positions, bool)
    if lay.linear.size:
        r_s, r_x = moves.own[lay.linear], moves.fx[lay.linear]
        spot_like = ~book.linear_is_future
        pnl[lay.linear] = book.linear_units_value * (r_s * (1.0 + r_x) + spot_like * r_x)
    o = book.options
    if len(o):
        i = lay.option
        shocked = o.vol + moves.dvol[i]
        floored[i] = shocked < MIN_VOL
        vol = np.maximum(shocked, MIN_VOL)
        if np.any(moves.dvol[i] != 0):
            terms = OptionTerms.of(o.strike, o.t_horizon, vol, o.rate, o.carry, o.is_call)
        else:
            terms = o.at_horizon
        value = terms.price(book.spot[o.column] * (1.0 + moves.own[i]))
        pnl[i] = o.units_base * ((1.0 + moves.fx[i]) * value - o.value_now)
    return pnl, floored


def pnl_gradient(book: CompiledBook, returns: np.ndarray) -> np.ndarray:
    """Gradient of the book's full-revaluation P&L with respect to the factor returns.

    Args:
        returns: shape (n_columns,), one return per scenario column.

    Returns:
        shape (n_columns,): dP&L/dr at ``returns``.
    """
    r = np.asarray(returns, float)
    g = book.linear_exposure.astype(float).copy()
    if book.has_cross_terms:
        w = book.cross_weight
        np.add.at(g, book.cross_first, w * r[book.cross_second])
        np.add.at(g, book.cross_second, w * r[book.cross_first])
    o = book.options
    if len(o):
        s0 = book.spot[o.column]
        gr = o.at_horizon.greeks(s0 * (1.0 + r[o.column]))
        growth = np.where(o.fx_column >= 0, 1.0 + r[np.maximum(o.fx_column, 0)], 1.0)
        np.add.at(g, o.column, o.units_base * growth * gr.delta * s0)
        f = o.foreign
        if f.size:
            np.add.at(g, o.fx_column[f], o.units_base[f] * gr.price[f])
    return g
