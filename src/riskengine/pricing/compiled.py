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
from riskengine.instruments.types import EuropeanOption, Future, Portfolio, Position
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
        position_of = {pid: i for i, pid in enumerate(self.position_ids)}
        linear_at = np.array([position_of[i] for i in self.linear_ids], dtype=np.intp)
        option_at = np.array([position_of[i] for i in self.option_ids], dtype=np.intp)
        return linear_at, option_at

    @cached_property
    def tag_labels(self) -> list[tuple[str, list[str | None], np.ndarray]]:
        """``tag_labels(position_ids, position_tags)``: the tag groups of the included
        positions (exposures and contributions by tag)."""
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
    unusable = unusable or {}
    excluded: list[Exclusion] = []
    lin_ids, lin_col, lin_fx, lin_units, lin_val, lin_fut = [], [], [], [], [], []
    opt_ids, opt_rows = [], []
    included: list[str] = []
    symbols: list[str] = []
    tags: list[tuple[tuple[str, str], ...]] = []

    def reject(p: Position, reason: str):
        excluded.append(Exclusion(p.id, p.symbol, reason))

    # One pass over the positions, on every request for a served book: the prices as Python
    # floats once (the same values as float(spot[k])), each lookup once.
    spot_of = np.asarray(spot, dtype=float).tolist()
    for p in portfolio.positions:
        inst = p.instrument
        option = inst if isinstance(inst, EuropeanOption) else None
        factor = option.underlying if option is not None else inst.factor
        currency = inst.currency
        fx_col, x0 = _NO_COLUMN, 1.0
        if currency != base_currency:
            pair = fx_factor(currency, base_currency)
            head = (
                f"priced in {currency} but the base currency is {base_currency}: it converts at "
                f"the FX factor {pair} ({base_currency} per 1 {currency})"
            )
            way_out = f"set the base currency to {currency}."
            if pair in unusable:
                reject(p, f"{head}, which cannot be used: {unusable[pair]} Or {way_out}")
                continue
            if pair not in column_of:
                reject(
                    p,
                    f"{head}, which is not in the price history. Add the closes of {pair} to "
                    f"the history file (an inverted quote {base_currency}{currency} is not "
                    f"used), or {way_out}",
                )
                continue
            fx_col = column_of[pair]
            x0 = spot_of[fx_col]
        col = column_of.get(factor)
        if col is None or factor in unusable:
            if factor in unusable:
                reject(p, unusable[factor])
            else:
                reject(
                    p,
                    f"unknown symbol {factor!r}: not in the price history. Add its closes to "
                    "the history file or fix the symbol in the book.",
                )
            continue
        s0 = spot_of[col]
        units = p.quantity * p.multiplier
        notional = abs(units * s0 * x0)
        if not notional <= MAX_NOTIONAL:  # also NaN and inf
            reject(
                p,
                f"notional quantity x multiplier x price = {p.quantity:g} x {p.multiplier:g} x "
                f"{s0 * x0:,.6g} = {notional:.3g} {base_currency} is beyond the limit "
                f"{MAX_NOTIONAL:.0e} {base_currency} (no finite risk can be computed with it); "
                "check the quantity and the multiplier.",
            )
            continue
        if option is not None:
            if option.expiry <= as_of:
                reject(
                    p,
                    f"option expired on {option.expiry} (as_of {as_of}); remove it from the book.",
                )
                continue
            t_now = (option.expiry - as_of).days / DAYS_PER_YEAR
            carry = (
                0.0 if option.underlying_type == "future" else option.rate - option.dividend_yield
            )
            opt_rows.append(
                (
                    col,
                    units,
                    option.strike,
                    t_now,
                    t_now - horizon_days / TRADING_DAYS_PER_YEAR,
                    option.implied_vol,
                    option.rate,
                    carry,
                    option.option_type == "call",
                    fx_col,
                    x0,
                )
            )
            opt_ids.append(p.id)
        else:
            lin_ids.append(p.id)
            lin_col.append(col)
            lin_fx.append(fx_col)
            lin_units.append(units)
            lin_val.append(units * s0 * x0)
            lin_fut.append(isinstance(inst, Future))
        included.append(p.id)
        symbols.append((option.symbol or option.underlying) if option is not None else inst.symbol)
        tags.append(p.tags)

    n_columns = len(spot)
    if opt_rows:
        cols = np.array(opt_rows, dtype=float).T
        column = cols[0].astype(np.intp)
        is_call = cols[8].astype(bool)
        value_now = bsm_price(spot[column], cols[2], cols[3], cols[5], cols[6], cols[7], is_call)
        options = OptionArrays(
            column,
            cols[1],
            cols[2],
            cols[3],
            cols[4],
            cols[5],
            cols[6],
            cols[7],
            is_call,
            value_now,
            OptionTerms.of(cols[2], cols[4], cols[5], cols[6], cols[7], is_call),
            cols[9].astype(np.intp),
            cols[10],
        )
    else:
        e = np.zeros(0)
        b = e.astype(bool)
        i = e.astype(np.intp)
        options = OptionArrays(i, e, e, e, e, e, e, e, b, e, OptionTerms.of(e, e, e, e, e, b), i, e)
    lin_col_arr = np.array(lin_col, dtype=np.intp)
    lin_fx_arr = np.array(lin_fx, dtype=np.intp)
    lin_val_arr = np.array(lin_val, dtype=float)
    lin_fut_arr = np.array(lin_fut, dtype=bool)
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
    market_value = float(
        sum(v for v, fut in zip(lin_val, lin_fut, strict=True) if not fut)
        + (options.value_now @ options.units_base if len(options) else 0.0)
    )
    used = np.unique(
        np.concatenate(
            [lin_col_arr, lin_fx_arr[foreign], options.column, options.fx_column[options.foreign]]
        )
    ).astype(np.intp)
    names = [""] * n_columns
    for sym, k in column_of.items():
        if 0 <= k < n_columns:
            names[k] = sym
    return CompiledBook(
        n_columns=n_columns,
        columns=used,
        spot=np.asarray(spot, float),
        linear_exposure=exposure,
        linear_column=lin_col_arr,
        linear_units_value=lin_val_arr,
        options=options,
        position_ids=tuple(included),
        linear_ids=tuple(lin_ids),
        option_ids=tuple(opt_ids),
        excluded=tuple(excluded),
        market_value=market_value,
        horizon_days=horizon_days,
        linear_fx_column=lin_fx_arr,
        linear_units=np.array(lin_units, dtype=float),
        linear_is_future=lin_fut_arr,
        cross_first=cross_pairs[0].astype(np.intp),
        cross_second=cross_pairs[1].astype(np.intp),
        cross_weight=cross_weight.astype(float),
        factor_names=tuple(names),
        base_currency=base_currency,
        position_symbols=tuple(symbols),
        position_tags=tuple(tags),
    )


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


def compile_snapshot(
    portfolio: Portfolio,
    snapshot: MarketSnapshot,
    horizon_days: int,
    base_currency: str = "USD",
    *,
    at_close: bool = False,
    require: bool = True,
) -> CompiledBook:
    """Compile ``portfolio`` against ``snapshot``: its universe as the scenario columns, valued
    at its spot (or at its closes with ``at_close``); positions on unusable symbols are
    excluded with the snapshot's reason.

    Raises:
        NoPositionsError: with ``require`` (the default), when no position can be priced.
    """
    book = compile_book(
        portfolio,
        snapshot.as_of,
        snapshot.column_of,
        snapshot.closes if at_close else snapshot.spot,
        horizon_days,
        base_currency,
        dict(snapshot.unusable),
    )
    if require and book.n_positions == 0:
        reasons = "; ".join(f"{e.id} ({e.symbol}): {e.reason}" for e in book.excluded[:5])
        raise NoPositionsError(
            f"no position of {portfolio.name!r} could be priced ({len(portfolio)} excluded). "
            f"{reasons}"
        )
    return book
