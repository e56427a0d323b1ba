"""A portfolio compiled against a market snapshot into arrays, and its revaluation.

``CompiledBook`` maps every priceable position onto the columns of a scenario matrix (simple
returns of the risk factors) and revalues the book under any matrix of such returns:

* linear instruments exactly: P&L = quantity * multiplier * S_now * r (futures: the change in the
  futures price, which is the same expression);
* European options by full revaluation at ``as_of + h`` trading days, i.e. time to expiry
  T - h/252 (intrinsic value if expiry falls inside the horizon), implied volatility unchanged;
* or, for many paths, options by an interpolation grid (``OptionGrid``) whose error is bounded.

FX conversion. A position priced in a currency C other than the base currency B is converted at
the FX factor "CB" (B per 1 C, e.g. EURUSD for a EUR position in a USD book), itself a scenario
column with return r_X. With r_S the return of the position's own factor and X0 the rate now:

* an equity or FX spot holding worth v0 = units * S0 * X0 in base gains
  v0 ((1 + r_S)(1 + r_X) - 1) = v0 (r_S + r_X + r_S r_X);
* a future (zero value) gains its local P&L units * S0 * r_S converted at the horizon rate:
  v0 r_S (1 + r_X) = v0 (r_S + r_S r_X), with v0 = units * S0 * X0 its notional in base;
* an option gains units * X0 ((1 + r_X) V(S0 (1 + r_S), T - h/252) - V0).

The first-order terms sit in ``linear_exposure``; the products r_S r_X of the linear positions
are the "cross terms" (``cross_pnl``), added exactly wherever the book is revalued.

Positions that cannot be priced are excluded with a reason; the rest is compiled.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from riskengine.errors import NoPositionsError
from riskengine.instruments.types import EuropeanOption, Future, Portfolio
from riskengine.market.snapshot import MarketSnapshot
from riskengine.pricing.black_scholes import OptionTerms, bsm_price

TRADING_DAYS_PER_YEAR = 252.0
DAYS_PER_YEAR = 365.0
_NO_COLUMN = -1  # fx_column of a position priced in the base currency
_CHUNK_ELEMENTS = 1 << 20  # scenario x option elements per piece of exact revaluation


def fx_factor(currency: str, base_currency: str) -> str:
    """The FX factor converting ``currency`` to ``base_currency``: base per 1 unit of currency,
    e.g. ("EUR", "USD") -> "EURUSD". The inverted quote (USDEUR) is never used."""
    return f"{currency}{base_currency}"


@dataclass(frozen=True)
class Exclusion:
    """A position left out of a report, and why."""

    id: str
    symbol: str
    reason: str

    def to_dict(self) -> dict:
        return {"id": self.id, "symbol": self.symbol, "reason": self.reason}


@dataclass(frozen=True)
class OptionArrays:
    """Every included option as parallel arrays, shape (n_options,) each.

    Values (``value_now``, ``at_horizon``) are per unit in the option's own currency; ``fx_rate``
    converts them to the base currency and ``fx_column`` is the scenario column of that rate
    (``-1`` for options priced in the base currency, whose ``fx_rate`` is 1).
    """

    column: np.ndarray  # position of the underlying among the scenario columns
    units: np.ndarray  # quantity * multiplier
    strike: np.ndarray
    t_now: np.ndarray  # years to expiry at as_of (ACT/365)
    t_horizon: np.ndarray  # t_now - h/252
    vol: np.ndarray
    rate: np.ndarray
    carry: np.ndarray  # r - q for spot underlyings, 0 for futures (Black-76)
    is_call: np.ndarray
    value_now: np.ndarray  # per unit, at (S_now, t_now), in the option's currency
    at_horizon: OptionTerms  # the pricing constants at t_horizon, shape (n_options,)
    fx_column: np.ndarray  # scenario column of the FX factor, -1 when priced in base
    fx_rate: np.ndarray  # base currency per unit of the option's currency now (1 in base)

    def __len__(self) -> int:
        return int(self.column.size)

    @property
    def units_base(self) -> np.ndarray:
        """units * fx_rate: scales a per-unit value in the option's currency to base."""
        return self.units * self.fx_rate

    @property
    def foreign(self) -> np.ndarray:
        """Indices of the options priced in another currency than the base one."""
        return np.nonzero(self.fx_column >= 0)[0]


@dataclass(frozen=True)
class CompiledBook:
    """A portfolio as arrays over ``n_columns`` scenario columns.

    Attributes:
        columns: shape (n_factors,), the scenario columns the book uses (sorted, unique),
            FX factors of foreign positions included.
        spot: shape (n_columns,), price of every scenario column at the snapshot.
        linear_exposure: shape (n_columns,), first-order P&L of the linear positions per unit
            return of each column (quantity * multiplier * S_now, times X_now for foreign ones,
            on the position's factor and, for foreign non-futures, on its FX factor): their P&L
            under returns r is ``r @ linear_exposure + cross_pnl(r)``.
        linear_column, linear_fx_column, linear_units, linear_units_value, linear_is_future:
            per linear position (``linear_ids`` order): scenario column, FX column (-1 in base),
            quantity * multiplier, value (notional for futures) in base, whether a future.
        cross_first, cross_second, cross_weight: shape (n_cross,): the exact second-order
            terms of foreign linear positions, P&L += sum_k w_k r[first_k] r[second_k].
        options: the included options.
        position_ids: ids of the included positions, in book order.
        excluded: positions left out, with reasons.
        market_value: value of the included positions in the base currency.
        factor_names: shape (n_columns,), the factor symbol of every scenario column.
        base_currency: the currency of every amount.
        position_symbols, position_tags: per included position (``position_ids`` order), its
            symbol and its tags (empty when compiled without them).
    """

    n_columns: int
    columns: np.ndarray
    spot: np.ndarray
    linear_exposure: np.ndarray
    linear_column: np.ndarray  # per linear position
    linear_units_value: np.ndarray  # per linear position: quantity * multiplier * S_now * X_now
    options: OptionArrays
    position_ids: tuple[str, ...]
    linear_ids: tuple[str, ...]
    option_ids: tuple[str, ...]
    excluded: tuple[Exclusion, ...]
    market_value: float
    horizon_days: int
    linear_fx_column: np.ndarray = field(default_factory=lambda: np.zeros(0, np.intp))
    linear_units: np.ndarray = field(default_factory=lambda: np.zeros(0))
    linear_is_future: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))
    cross_first: np.ndarray = field(default_factory=lambda: np.zeros(0, np.intp))
    cross_second: np.ndarray = field(default_factory=lambda: np.zeros(0, np.intp))
    cross_weight: np.ndarray = field(default_factory=lambda: np.zeros(0))
    factor_names: tuple[str, ...] = ()
    base_currency: str = "USD"
    position_symbols: tuple[str, ...] = ()
    position_tags: tuple[tuple[tuple[str, str], ...], ...] = ()
    # what it was compiled from (shared by every snapshot's book of one book version)
    layout: BookLayout | None = field(default=None, compare=False, repr=False)

    @property
    def n_positions(self) -> int:
        return len(self.position_ids)

    @property
    def has_cross_terms(self) -> bool:
        return bool(self.cross_weight.size)

    def option_values(self, scen_spot: np.ndarray) -> np.ndarray:
        """Per-unit option values at the horizon for scenario spots of shape (n, n_options),
        in each option's own currency."""
        return self.options.at_horizon.price(scen_spot)

    def cross_pnl(self, returns: np.ndarray) -> np.ndarray:
        """The exact second-order P&L of foreign linear positions, sum_k w_k r_a r_b.

        Args:
            returns: shape (n_scenarios, n_columns).

        Returns:
            shape (n_scenarios,) (zeros for a book without foreign linear positions).
        """
        if not self.has_cross_terms:
            return np.zeros(returns.shape[0])
        r = returns.astype(np.float64, copy=False)
        return (r[:, self.cross_first] * r[:, self.cross_second]) @ self.cross_weight

    def linear_pnl(self, returns: np.ndarray) -> np.ndarray:
        """Exact P&L of the linear positions: ``returns @ linear_exposure + cross_pnl``.

        Args:
            returns: shape (n_scenarios, n_columns).

        Returns:
            shape (n_scenarios,).
        """
        r = returns.astype(np.float64, copy=False)
        out = r @ self.linear_exposure
        if self.has_cross_terms:
            out += self.cross_pnl(r)
        return out

    def _fx_growth(self, returns: np.ndarray, index: np.ndarray) -> np.ndarray | None:
        """1 + r_X per scenario for the options ``index`` (1 for those priced in base), shape
        (n_scenarios, len(index)); None when none of them is foreign."""
        fx = self.options.fx_column[index]
        foreign = fx >= 0
        if not foreign.any():
            return None
        growth = np.ones((returns.shape[0], index.size))
        growth[:, foreign] += returns[:, fx[foreign]]
        return growth

    def option_pnl_full(self, returns: np.ndarray, chunk: int = 2_000) -> np.ndarray:
        """Total option P&L per scenario by full revaluation, in the base currency.

        Args:
            returns: shape (n_scenarios, n_columns).

        Returns:
            shape (n_scenarios,).
        """
        o = self.options
        out = np.zeros(returns.shape[0])
        if not len(o):
            return out
        s0 = self.spot[o.column]
        units = o.units_base
        every = np.arange(len(o))
        for start in range(0, returns.shape[0], chunk):
            block = returns[start : start + chunk]
            values = self.option_values(s0 * (1.0 + block[:, o.column].astype(np.float64)))
            growth = self._fx_growth(block, every)
            if growth is not None:
                values *= growth
            out[start : start + chunk] = (values - o.value_now) @ units
        return out

    def option_pnl_exact(self, returns: np.ndarray, index: np.ndarray) -> np.ndarray:
        """Exact total P&L of the options ``index`` per scenario, in the base currency
        (intrinsic value for those expiring inside the horizon).

        Args:
            returns: shape (n_scenarios, n_columns).
            index: indices into ``options``.

        Returns:
            shape (n_scenarios,).
        """
        index = np.asarray(index, dtype=np.intp)
        out = np.zeros(returns.shape[0])
        if index.size == 0:
            return out
        o = self.options
        col = o.column[index]
        s0 = self.spot[col]
        live = o.t_horizon[index] > 0
        terms = o.at_horizon.take(index[live]) if live.any() else None
        sign = np.where(o.is_call[index], 1.0, -1.0)
        units = o.units_base[index]
        value_now = o.value_now[index]
        rows = max(1, _CHUNK_ELEMENTS // index.size)  # bound the (rows, options) temporaries
        for start in range(0, returns.shape[0], rows):
            block = returns[start : start + rows]
            s = s0 * (1.0 + block[:, col].astype(np.float64))  # widen before adding 1
            # terms is None only when no option is live, and index is not empty here, so the
            # test on terms never changes the branch taken; it tells the checker the type
            if terms is not None and live.all():
                v = terms.price(s)
            else:
                v = np.maximum(sign * (s - o.strike[index]), 0.0)
                if terms is not None:
                    v[:, live] = terms.price(s[:, live])
            growth = self._fx_growth(block, index)
            if growth is not None:
                v *= growth
            out[start : start + rows] = (v - value_now) @ units
        return out

    def pnl(self, returns: np.ndarray) -> np.ndarray:
        """Book P&L per scenario with full revaluation of every option.

        Args:
            returns: shape (n_scenarios, n_columns), simple returns of the scenario columns.

        Returns:
            shape (n_scenarios,), gain positive, in the base currency.
        """
        out = np.empty(returns.shape[0])
        for start in range(0, returns.shape[0], 1024):  # widen single precision in cache
            r = returns[start : start + 1024].astype(np.float64, copy=False)
            out[start : start + 1024] = r @ self.linear_exposure
            if self.has_cross_terms:
                out[start : start + 1024] += self.cross_pnl(r)
        if len(self.options):
            out += self.option_pnl_full(returns)
        return out

    @cached_property
    def position_index(self) -> tuple[np.ndarray, np.ndarray]:
        """(linear_at, option_at): the index among ``position_ids`` of each linear position
        (``linear_ids`` order) and of each option (``option_ids`` order)."""
        if self.layout is not None:
            return self.layout.derived(self)[0]
        position_of = {pid: i for i, pid in enumerate(self.position_ids)}
        linear_at = np.array([position_of[i] for i in self.linear_ids], dtype=np.intp)
        option_at = np.array([position_of[i] for i in self.option_ids], dtype=np.intp)
        return linear_at, option_at

    @cached_property
    def tag_labels(self) -> list[tuple[str, list[str | None], np.ndarray]]:
        """``tag_labels(position_ids, position_tags)``: the tag groups of the included
        positions (exposures and contributions by tag)."""
        if self.layout is not None:
            return self.layout.derived(self)[1]
        return tag_labels(self.position_ids, self.position_tags)

    @cached_property
    def _position_layout(self):
        """Where the linear and option positions sit among ``position_ids`` (a slice when they
        form a run, as books usually list their stocks, then their options)."""
        linear_at, option_at = self.position_index
        return _as_slice(linear_at), _as_slice(option_at)

    def position_pnl(
        self,
        returns: np.ndarray,
        out: np.ndarray | None = None,
        *,
        positions: np.ndarray | None = None,
    ) -> np.ndarray:
        """Per-position P&L (full revaluation), in ``position_ids`` order, in base currency.

        Single-precision scenario returns are widened before any product, so the positions add
        up to ``pnl`` to rounding. Each value is computed the same way whichever positions and
        rows are asked for (the same bits).

        Args:
            returns: shape (n_scenarios, n_columns).
            out: optional output array of shape (n_scenarios, n_positions) (or
                (n_scenarios, len(positions))).
            positions: optional ascending indices into ``position_ids``: only these positions,
                in that order.

        Returns:
            shape (n_scenarios, n_positions), or (n_scenarios, len(positions)). Memory grows
            with both: use on small books or on the tail scenarios only.
        """
        linear: slice | np.ndarray
        option: slice | np.ndarray
        if positions is None:
            linear_to, option_to = self._position_layout
            linear, option = slice(None), slice(None)
            width, any_option = self.n_positions, len(self.options) > 0
        else:
            positions = np.asarray(positions, dtype=np.intp)
            linear_of, option_of = self._position_kinds
            is_linear = linear_of[positions] >= 0
            linear_to, option_to = np.nonzero(is_linear)[0], np.nonzero(~is_linear)[0]
            linear, option = linear_of[positions[is_linear]], option_of[positions[~is_linear]]
            width, any_option = positions.size, not is_linear.all()
        if out is None:
            out = np.empty((returns.shape[0], width))
        out[:, linear_to] = self._linear_position_pnl(returns, linear)
        if any_option:
            out[:, option_to] = self._option_position_pnl(returns, option)
        return out

    @cached_property
    def _position_kinds(self) -> tuple[np.ndarray, np.ndarray]:
        """Per position (``position_ids`` order): its index among the linear positions and
        among the options, -1 where it is not one."""
        linear_at, option_at = self.position_index
        linear_of = np.full(self.n_positions, -1, dtype=np.intp)
        option_of = np.full(self.n_positions, -1, dtype=np.intp)
        linear_of[linear_at] = np.arange(linear_at.size)
        option_of[option_at] = np.arange(option_at.size)
        return linear_of, option_of

    def _linear_position_pnl(self, returns: np.ndarray, index) -> np.ndarray:
        """P&L of the linear positions ``index`` (a slice or indices, ``linear_ids`` order),
        shape (n_scenarios, n_selected)."""
        column, fx_column = self.linear_column[index], self.linear_fx_column[index]
        units_value = self.linear_units_value[index]
        r_s = returns[:, column].astype(np.float64, copy=False)
        lin = r_s * units_value
        foreign = np.nonzero(fx_column >= 0)[0]
        if foreign.size:
            r_x = returns[:, fx_column[foreign]].astype(np.float64)
            spot_like = ~self.linear_is_future[index][foreign]
            # futures: r_S (1 + r_X); others: (1 + r_S)(1 + r_X) - 1
            lin[:, foreign] = units_value[foreign] * (
                r_s[:, foreign] * (1.0 + r_x) + spot_like * r_x
            )
        return lin

    def _option_position_pnl(self, returns: np.ndarray, index) -> np.ndarray:
        """P&L of the options ``index`` (a slice or indices, ``option_ids`` order), shape
        (n_scenarios, n_selected)."""
        o = self.options
        column, fx_column = o.column[index], o.fx_column[index]
        terms = o.at_horizon if isinstance(index, slice) else o.at_horizon.take(index)
        s0 = self.spot[column]
        values = terms.price(s0 * (1.0 + returns[:, column].astype(np.float64)))
        option_fx = np.nonzero(fx_column >= 0)[0]
        if option_fx.size:
            growth = np.ones((returns.shape[0], column.size))
            growth[:, option_fx] += returns[:, fx_column[option_fx]]
            values *= growth
        return (values - o.value_now[index]) * o.units_base[index]

    def second_order_terms(self) -> tuple[float, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """The delta-gamma expansion over all columns, gamma in sparse (coordinate) form.

        Returns:
            (a, b, rows, cols, values): b of shape (n_columns,); the gamma matrix is
            G[i, j] = sum of ``values`` over the entries with rows == i and cols == j (both
            halves of every off-diagonal term are listed, so G is symmetric).
        """
        b = self.linear_exposure.copy()
        rows = [self.cross_first, self.cross_second]
        cols = [self.cross_second, self.cross_first]
        vals = [self.cross_weight, self.cross_weight]
        a = 0.0
        o = self.options
        if len(o):
            s0 = self.spot[o.column]
            gr = o.at_horizon.greeks(s0)
            expiring = o.t_horizon <= 0
            if expiring.any():
                # A payoff at intrinsic has a kink no quadratic can follow, and its horizon
                # delta/gamma (the exercise indicator, 0) would show no risk at all: take delta
                # and gamma at today's time to expiry for these options (flagged by the methods).
                now = OptionTerms.of(o.strike, o.t_now, o.vol, o.rate, o.carry, o.is_call)
                today = now.greeks(s0)
                gr = type(gr)(
                    gr.price,
                    np.where(expiring, today.delta, gr.delta),
                    np.where(expiring, today.gamma, gr.gamma),
                    gr.vega,
                )
            units = o.units_base
            a = float((gr.price - o.value_now) @ units)
            np.add.at(b, o.column, units * gr.delta * s0)
            rows.append(o.column)
            cols.append(o.column)
            vals.append(units * gr.gamma * s0 * s0)
            f = o.foreign
            if f.size:
                # d/dr_X = X0 V(S0, T_h); d2/dr_S dr_X = X0 delta S0; d2/dr_X2 = 0.
                np.add.at(b, o.fx_column[f], units[f] * gr.price[f])
                cross = units[f] * gr.delta[f] * s0[f]
                rows += [o.column[f], o.fx_column[f]]
                cols += [o.fx_column[f], o.column[f]]
                vals += [cross, cross]
        return (
            a,
            b,
            np.concatenate(rows).astype(np.intp),
            np.concatenate(cols).astype(np.intp),
            np.concatenate(vals).astype(float),
        )

    def sensitivities(
        self, columns: np.ndarray | None = None
    ) -> tuple[float, np.ndarray, np.ndarray]:
        """Delta-gamma expansion of the horizon P&L in the factor returns r.

        P&L(r) ~= a + b'r + 1/2 r'Gr, with a the value change of the options at unchanged
        prices over the horizon (time decay), b = dP&L/dr and G = d2P&L/dr2 at r = 0, options at
        (S_now, T - h/252) (options expiring inside the horizon: delta and gamma at today's time
        to expiry, since at intrinsic they would be the exercise indicator and 0). Options on one
        factor priced in the base currency only fill the
        diagonal; positions priced in another currency add their FX delta to b and the cross
        gamma between their factor and their FX factor (off-diagonal): v0 for a linear
        position, units * X0 * delta * S0 for an option.

        Args:
            columns: optional scenario columns to restrict to (e.g. ``self.columns``); default
                every column. Terms on columns outside it are dropped.

        Returns:
            (a, b, g): b of shape (k,) with k = len(columns) (n_columns by default); g of shape
            (k,) (the diagonal) when the gamma matrix is diagonal, else the full symmetric
            (k, k) matrix.
        """
        a, b, rows, cols, vals = self.second_order_terms()
        if columns is None:
            columns = np.arange(self.n_columns)
        columns = np.asarray(columns, dtype=np.intp)
        k = columns.size
        where = np.full(self.n_columns, -1, dtype=np.intp)
        where[columns] = np.arange(k)
        i, j = where[rows], where[cols]
        keep = (i >= 0) & (j >= 0)
        i, j, vals = i[keep], j[keep], vals[keep]
        off = (i != j) & (vals != 0)
        g: np.ndarray  # (k, k) or (k,)
        if off.any():
            g = np.zeros((k, k))
            np.add.at(g, (i, j), vals)
        else:
            g = np.zeros(k)
            np.add.at(g, i, vals)
        return a, b[columns], g


# The largest notional one position may have, in the base currency: far above any real book
# (world GDP is about 1e14 USD), low enough that 50,000 such positions under any scenario
# return, squared and summed, stay finite in float64.
MAX_NOTIONAL = 1e15


@dataclass(frozen=True, eq=False)
class BookLayout:
    """What compiling a book reads besides the prices: for every position that no price can
    exclude (a known factor, a usable FX factor), its scenario columns, units and pricing
    constants, and the positions excluded whatever the prices; the same for every market
    snapshot of one book version, as-of date, universe, horizon and base currency, so it is
    built once (a pass over the positions in Python) and every snapshot's ``CompiledBook`` is
    arrays from it (``compile_layout``).

    Per candidate position (book order; ``index`` its place in the book): ``column``,
    ``fx_column`` (-1 in base), ``units`` (quantity * multiplier), ``quantity`` and
    ``multiplier`` (for the notional's message), ``is_option``, ``is_future``, ``expired``
    (an option expired at as-of: excluded, unless its notional excludes it first), ``ids``,
    ``symbols``, ``tags``; per candidate option (``option_of``: its row in these), its
    contract: ``strike``, ``t_now``, ``t_horizon``, ``vol``, ``rate``, ``carry``,
    ``is_call`` and ``at_horizon`` (the pricing constants of them all).
    """

    n_columns: int
    excluded: tuple[tuple[int, Exclusion], ...]  # (place in the book, why), price-independent
    index: np.ndarray
    ids: tuple[str, ...]
    column: np.ndarray
    fx_column: np.ndarray
    units: np.ndarray
    quantity: np.ndarray
    multiplier: np.ndarray
    is_option: np.ndarray
    is_future: np.ndarray
    expired: np.ndarray
    expiry_reasons: dict[int, str]  # candidate row -> the reason of an expired option
    symbols: tuple[str, ...]
    tags: tuple[tuple[tuple[str, str], ...], ...]
    option_rows: np.ndarray  # the candidate row of each option candidate
    strike: np.ndarray
    t_now: np.ndarray
    t_horizon: np.ndarray
    vol: np.ndarray
    rate: np.ndarray
    carry: np.ndarray
    is_call: np.ndarray
    at_horizon: OptionTerms
    factor_names: tuple[str, ...]
    horizon_days: int
    base_currency: str

    def __getstate__(self) -> dict:
        """Pickled (e.g. to a Dask worker) without what was derived from its books."""
        return {k: v for k, v in self.__dict__.items() if k not in ("latest", "_groups")}

    @cached_property
    def latest(self) -> dict:
        """What was last derived from a book of this layout, for the next snapshot's book to
        start from (e.g. the option grid: only the underlyings whose price moved are priced
        again), by kind."""
        return {}

    @cached_property
    def _groups(self) -> dict:
        """(position_ids, linear ids, option ids) -> (position_index, tag labels) of the
        books compiled from this layout: shared while no price excludes a position."""
        return {}

    def derived(self, book: CompiledBook) -> tuple:
        """(position_index, tag_labels) of ``book``, computed once per set of included
        positions (the usual case: one for every snapshot)."""
        key = (book.position_ids, book.linear_ids, book.option_ids)
        found = self._groups.get(key)
        if found is None:
            position_of = {pid: i for i, pid in enumerate(book.position_ids)}
            linear_at = np.array([position_of[i] for i in book.linear_ids], dtype=np.intp)
            option_at = np.array([position_of[i] for i in book.option_ids], dtype=np.intp)
            found = ((linear_at, option_at), tag_labels(book.position_ids, book.position_tags))
            if len(self._groups) >= 4:  # prices that exclude positions: rare, keep a few
                self._groups.clear()
            self._groups[key] = found
        return found


def book_layout(
    portfolio: Portfolio,
    as_of: dt.date,
    column_of: dict[str, int],
    n_columns: int,
    horizon_days: int,
    base_currency: str = "USD",
    unusable: dict[str, str] | None = None,
) -> BookLayout:
    """The ``BookLayout`` of ``portfolio`` (arguments as ``compile_book``'s)."""
    unusable = unusable or {}
    excluded: list[tuple[int, Exclusion]] = []
    index: list[int] = []
    ids: list[str] = []
    column: list[int] = []
    fx_column: list[int] = []
    units_of: list[float] = []
    quantity: list[float] = []
    multiplier: list[float] = []
    is_option: list[bool] = []
    is_future: list[bool] = []
    expired: list[bool] = []
    expiry_reasons: dict[int, str] = {}
    symbols: list[str] = []
    tags: list[tuple[tuple[str, str], ...]] = []
    option_rows: list[int] = []
    contracts: list[tuple] = []

    for at, p in enumerate(portfolio.positions):
        inst = p.instrument
        option = inst if isinstance(inst, EuropeanOption) else None
        factor = option.underlying if option is not None else inst.factor
        currency = inst.currency
        fx_col = _NO_COLUMN
        if currency != base_currency:
            pair = fx_factor(currency, base_currency)
            head = (
                f"priced in {currency} but the base currency is {base_currency}: it converts at "
                f"the FX factor {pair} ({base_currency} per 1 {currency})"
            )
            way_out = f"set the base currency to {currency}."
            if pair in unusable:
                reason = f"{head}, which cannot be used: {unusable[pair]} Or {way_out}"
                excluded.append((at, Exclusion(p.id, p.symbol, reason)))
                continue
            if pair not in column_of:
                reason = (
                    f"{head}, which is not in the price history. Add the closes of {pair} to "
                    f"the history file (an inverted quote {base_currency}{currency} is not "
                    f"used), or {way_out}"
                )
                excluded.append((at, Exclusion(p.id, p.symbol, reason)))
                continue
            fx_col = column_of[pair]
        col = column_of.get(factor)
        if col is None or factor in unusable:
            if factor in unusable:
                reason = unusable[factor]
            else:
                reason = (
                    f"unknown symbol {factor!r}: not in the price history. Add its closes to "
                    "the history file or fix the symbol in the book."
                )
            excluded.append((at, Exclusion(p.id, p.symbol, reason)))
            continue
        row = len(index)
        index.append(at)
        ids.append(p.id)
        column.append(col)
        fx_column.append(fx_col)
        units_of.append(p.quantity * p.multiplier)
        quantity.append(p.quantity)
        multiplier.append(p.multiplier)
        is_option.append(option is not None)
        is_future.append(isinstance(inst, Future))
        tags.append(p.tags)
        if option is not None:
            gone = option.expiry <= as_of
            expired.append(gone)
            if gone:
                expiry_reasons[row] = (
                    f"option expired on {option.expiry} (as_of {as_of}); remove it from the book."
                )
            t_now = (option.expiry - as_of).days / DAYS_PER_YEAR
            carry = (
                0.0 if option.underlying_type == "future" else option.rate - option.dividend_yield
            )
            option_rows.append(row)
            contracts.append(
                (
                    option.strike,
                    t_now,
                    t_now - horizon_days / TRADING_DAYS_PER_YEAR,
                    option.implied_vol,
                    option.rate,
                    carry,
                    option.option_type == "call",
                )
            )
            symbols.append(option.symbol or option.underlying)
        else:
            expired.append(False)
            symbols.append(inst.symbol)

    c = np.array(contracts, dtype=float).reshape(-1, 7).T
    is_call = c[6].astype(bool)
    names = [""] * n_columns
    for sym, k in column_of.items():
        if 0 <= k < n_columns:
            names[k] = sym
    return BookLayout(
        n_columns=n_columns,
        excluded=tuple(excluded),
        index=np.array(index, dtype=np.intp),
        ids=tuple(ids),
        column=np.array(column, dtype=np.intp),
        fx_column=np.array(fx_column, dtype=np.intp),
        units=np.array(units_of, dtype=float),
        quantity=np.array(quantity, dtype=float),
        multiplier=np.array(multiplier, dtype=float),
        is_option=np.array(is_option, dtype=bool),
        is_future=np.array(is_future, dtype=bool),
        expired=np.array(expired, dtype=bool),
        expiry_reasons=expiry_reasons,
        symbols=tuple(symbols),
        tags=tuple(tags),
        option_rows=np.array(option_rows, dtype=np.intp),
        strike=c[0],
        t_now=c[1],
        t_horizon=c[2],
        vol=c[3],
        rate=c[4],
        carry=c[5],
        is_call=is_call,
        at_horizon=OptionTerms.of(c[0], c[2], c[3], c[4], c[5], is_call),
        factor_names=tuple(names),
        horizon_days=horizon_days,
        base_currency=base_currency,
    )


def _notional_reason(layout: BookLayout, row: int, s0: float, x0: float, notional: float) -> str:
    quantity, multiplier = float(layout.quantity[row]), float(layout.multiplier[row])
    base = layout.base_currency
    return (
        f"notional quantity x multiplier x price = {quantity:g} x {multiplier:g} x "
        f"{s0 * x0:,.6g} = {notional:.3g} {base} is beyond the limit "
        f"{MAX_NOTIONAL:.0e} {base} (no finite risk can be computed with it); "
        "check the quantity and the multiplier."
    )


def compile_layout(layout: BookLayout, spot: np.ndarray) -> CompiledBook:
    """The ``CompiledBook`` of ``layout`` at the prices ``spot`` (shape (n_columns,)): arrays
    only, no pass over the positions in Python (but over the few a price excludes)."""
    spot = np.asarray(spot, dtype=float)
    n_columns = spot.size
    s0 = spot[layout.column]
    foreign_row = layout.fx_column >= 0
    x0 = np.ones(s0.size)
    x0[foreign_row] = spot[layout.fx_column[foreign_row]]
    value = layout.units * s0 * x0
    notional = np.abs(value)
    too_big = ~(notional <= MAX_NOTIONAL)  # also NaN and inf
    keep = ~(too_big | layout.expired)
    excluded = list(layout.excluded)
    if not keep.all():
        for row in np.nonzero(~keep)[0].tolist():
            at = int(layout.index[row])
            if too_big[row]:
                reason = _notional_reason(layout, row, float(s0[row]), float(x0[row]),
                                          float(notional[row]))  # fmt: skip
            else:
                reason = layout.expiry_reasons[row]
            excluded.append((at, Exclusion(layout.ids[row], layout.symbols[row], reason)))
        excluded.sort(key=lambda e: e[0])
    kept_rows = np.nonzero(keep)[0]
    linear_rows = kept_rows[~layout.is_option[kept_rows]]
    option_keep = keep[layout.option_rows]
    option_rows = layout.option_rows[option_keep]

    if option_rows.size:
        column = layout.column[option_rows]
        strike = layout.strike[option_keep]
        t_now = layout.t_now[option_keep]
        t_horizon = layout.t_horizon[option_keep]
        vol = layout.vol[option_keep]
        rate = layout.rate[option_keep]
        carry = layout.carry[option_keep]
        is_call = layout.is_call[option_keep]
        value_now = bsm_price(spot[column], strike, t_now, vol, rate, carry, is_call)
        terms = (
            layout.at_horizon
            if option_keep.all()
            else OptionTerms.of(strike, t_horizon, vol, rate, carry, is_call)
        )
        options = OptionArrays(
            column,
            layout.units[option_rows],
            strike,
            t_now,
            t_horizon,
            vol,
            rate,
            carry,
            is_call,
            value_now,
            terms,
            layout.fx_column[option_rows],
            x0[option_rows],
        )
    else:
        e = np.zeros(0)
        b = e.astype(bool)
        i = e.astype(np.intp)
        options = OptionArrays(i, e, e, e, e, e, e, e, b, e, OptionTerms.of(e, e, e, e, e, b), i, e)
    lin_col_arr = layout.column[linear_rows]
    lin_fx_arr = layout.fx_column[linear_rows]
    lin_val_arr = value[linear_rows]
    lin_fut_arr = layout.is_future[linear_rows]
    exposure = np.zeros(n_columns)
    np.add.at(exposure, lin_col_arr, lin_val_arr)
    foreign = lin_fx_arr >= 0
    # FX delta: the value converted (a future has none); the cross term r_S r_X: v0 for all.
    translated = foreign & ~lin_fut_arr
    np.add.at(exposure, lin_fx_arr[translated], lin_val_arr[translated])
    pairs = np.stack([lin_col_arr[foreign], lin_fx_arr[foreign]])
    cross_pairs, cross_of = np.unique(pairs, axis=1, return_inverse=True)
    cross_weight = np.bincount(
        np.ravel(cross_of), lin_val_arr[foreign], minlength=cross_pairs.shape[1]
    )
    # summed in book order as Python floats (the same bits as a sum over the positions)
    market_value = float(
        sum(lin_val_arr[~lin_fut_arr].tolist())
        + (options.value_now @ options.units_base if len(options) else 0.0)
    )
    used = np.unique(
        np.concatenate(
            [lin_col_arr, lin_fx_arr[foreign], options.column, options.fx_column[options.foreign]]
        )
    ).astype(np.intp)
    rows = kept_rows.tolist()
    ids, symbols, tags = layout.ids, layout.symbols, layout.tags
    everything = kept_rows.size == len(ids)
    return CompiledBook(
        n_columns=n_columns,
        columns=used,
        spot=spot,
        linear_exposure=exposure,
        linear_column=lin_col_arr,
        linear_units_value=lin_val_arr,
        options=options,
        position_ids=ids if everything else tuple(ids[r] for r in rows),
        linear_ids=tuple(ids[r] for r in linear_rows.tolist()),
        option_ids=tuple(ids[r] for r in option_rows.tolist()),
        excluded=tuple(e for _, e in excluded),
        market_value=market_value,
        horizon_days=layout.horizon_days,
        linear_fx_column=lin_fx_arr,
        linear_units=layout.units[linear_rows],
        linear_is_future=lin_fut_arr,
        cross_first=cross_pairs[0].astype(np.intp),
        cross_second=cross_pairs[1].astype(np.intp),
        cross_weight=cross_weight.astype(float),
        factor_names=layout.factor_names,
        base_currency=layout.base_currency,
        position_symbols=symbols if everything else tuple(symbols[r] for r in rows),
        position_tags=tags if everything else tuple(tags[r] for r in rows),
        layout=layout,
    )


def compile_book(
    portfolio: Portfolio,
    as_of: dt.date,
    column_of: dict[str, int],
    spot: np.ndarray,
    horizon_days: int,
    base_currency: str = "USD",
    unusable: dict[str, str] | None = None,
) -> CompiledBook:
    """Compile ``portfolio`` against scenario columns.

    Args:
        as_of: the snapshot date (time to expiry is ACT/365 from it).
        column_of: factor symbol -> scenario column.
        spot: shape (n_columns,), the snapshot price of each column.
        horizon_days: h; options are revalued at T - h/252.
        base_currency: currency of every amount; a position priced in currency C converts at
            the factor C + base_currency (e.g. EURUSD), which must be a usable column.
        unusable: factor symbol -> reason, for factors in the history that cannot be used
            (e.g. missing closes in the window).
    """
    layout = book_layout(
        portfolio, as_of, column_of, len(spot), horizon_days, base_currency, unusable
    )
    return compile_layout(layout, spot)


def _as_slice(index: np.ndarray):
    """``index`` as a slice when it is a run of consecutive integers, else itself."""
    if index.size and np.array_equal(index, np.arange(index[0], index[0] + index.size)):
        return slice(int(index[0]), int(index[0]) + index.size)
    return index


def tag_labels(
    position_ids, tags: Mapping | Sequence
) -> list[tuple[str, list[str | None], np.ndarray]]:
    """Per tag key (sorted): its labels (the values sorted, then None when some positions
    lack the key) and each position's label, as an index into them, shape (n_positions,).

    Args:
        position_ids: the positions, in order.
        tags: position id -> (key, value) pairs, or one tuple of pairs per position (in
            ``position_ids`` order); a key repeated on one position counts with its first value.
    """
    n = len(position_ids)
    columns: dict[str, list] = {}  # key -> each position's first value of it (or None)
    if isinstance(tags, Mapping):
        tags = [tags.get(pid, ()) for pid in position_ids]
    elif len(tags) != n:
        raise ValueError(f"tags of {len(tags)} positions for {n} position ids")
    for i, pairs in enumerate(tags):
        for key, value in pairs:
            column = columns.get(key)
            if column is None:
                column = columns[key] = [None] * n
            if column[i] is None:
                column[i] = value
    out = []
    for key in sorted(columns):
        column = columns[key]
        present = set(column)
        has_none = None in present
        present.discard(None)
        labels: list[str | None] = sorted(present)
        if has_none:
            labels.append(None)
        index = {label: i for i, label in enumerate(labels)}
        out.append((key, labels, np.array([index[x] for x in column], dtype=np.intp)))
    return out


def snapshot_layout(
    portfolio: Portfolio, snapshot: MarketSnapshot, horizon_days: int, base_currency: str = "USD"
) -> BookLayout:
    """The ``BookLayout`` of ``portfolio`` on ``snapshot``'s universe, as-of date and unusable
    symbols (the same for every snapshot that differs from it only in its prices)."""
    return book_layout(
        portfolio,
        snapshot.as_of,
        snapshot.column_of,
        len(snapshot.universe),
        horizon_days,
        base_currency,
        dict(snapshot.unusable),
    )


def compile_snapshot(
    portfolio: Portfolio,
    snapshot: MarketSnapshot,
    horizon_days: int,
    base_currency: str = "USD",
    *,
    at_close: bool = False,
    require: bool = True,
    layout: BookLayout | None = None,
) -> CompiledBook:
    """Compile ``portfolio`` against ``snapshot``: its universe as the scenario columns, valued
    at its spot (or at its closes with ``at_close``); positions on unusable symbols are
    excluded with the snapshot's reason. ``layout``: the book's ``snapshot_layout`` when the
    caller keeps it (the same book then costs arrays only on every new snapshot).

    Raises:
        NoPositionsError: with ``require`` (the default), when no position can be priced.
    """
    if layout is None:
        layout = snapshot_layout(portfolio, snapshot, horizon_days, base_currency)
    book = compile_layout(layout, snapshot.closes if at_close else snapshot.spot)
    if require and book.n_positions == 0:
        reasons = "; ".join(f"{e.id} ({e.symbol}): {e.reason}" for e in book.excluded[:5])
        raise NoPositionsError(
            f"no position of {portfolio.name!r} could be priced ({len(portfolio)} excluded). "
            f"{reasons}"
        )
    return book
