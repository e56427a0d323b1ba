"""A portfolio compiled against a market snapshot into arrays, and its revaluation.

``CompiledBook`` maps every priceable position onto the columns of a scenario matrix (simple
returns of the risk factors) and revalues the book under any matrix of such returns:

* linear instruments exactly: P&L = quantity * multiplier * S_now * r (futures: the change in the
  futures price, which is the same expression);
* European options by full revaluation at ``as_of + h`` trading days, i.e. time to expiry
  T - h/252 (intrinsic value if expiry falls inside the horizon), implied volatility unchanged;
* or, for many paths, options by an interpolation grid (``OptionGrid``) whose error is bounded.

Positions that cannot be priced are excluded with a reason; the rest is compiled.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np

from riskengine.instruments.types import EuropeanOption, Future, Portfolio, Position
from riskengine.pricing.black_scholes import OptionTerms, bsm_price

TRADING_DAYS_PER_YEAR = 252.0
DAYS_PER_YEAR = 365.0


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
    """Every included option as parallel arrays, shape (n_options,) each."""

    column: np.ndarray  # position of the underlying among the scenario columns
    units: np.ndarray  # quantity * multiplier
    strike: np.ndarray
    t_now: np.ndarray  # years to expiry at as_of (ACT/365)
    t_horizon: np.ndarray  # t_now - h/252
    vol: np.ndarray
    rate: np.ndarray
    carry: np.ndarray  # r - q for spot underlyings, 0 for futures (Black-76)
    is_call: np.ndarray
    value_now: np.ndarray  # per unit, at (S_now, t_now)
    at_horizon: OptionTerms  # the pricing constants at t_horizon, shape (n_options,)

    def __len__(self) -> int:
        return int(self.column.size)


@dataclass(frozen=True)
class CompiledBook:
    """A portfolio as arrays over ``n_columns`` scenario columns.

    Attributes:
        columns: shape (n_factors,), the scenario columns the book uses (sorted, unique).
        spot: shape (n_columns,), price of every scenario column at the snapshot.
        linear_exposure: shape (n_columns,), sum of quantity * multiplier * S_now of the linear
            positions per column: their P&L under returns r is ``r @ linear_exposure``.
        options: the included options.
        position_ids: ids of the included positions, in book order.
        excluded: positions left out, with reasons.
        market_value: value of the included positions in the base currency.
    """

    n_columns: int
    columns: np.ndarray
    spot: np.ndarray
    linear_exposure: np.ndarray
    linear_column: np.ndarray  # per linear position
    linear_units_value: np.ndarray  # per linear position: quantity * multiplier * S_now
    options: OptionArrays
    position_ids: tuple[str, ...]
    linear_ids: tuple[str, ...]
    option_ids: tuple[str, ...]
    excluded: tuple[Exclusion, ...]
    market_value: float
    horizon_days: int

    @property
    def n_positions(self) -> int:
        return len(self.position_ids)

    def option_values(self, scen_spot: np.ndarray) -> np.ndarray:
        """Per-unit option values at the horizon for scenario spots of shape (n, n_options)."""
        return self.options.at_horizon.price(scen_spot)

    def option_pnl_full(self, returns: np.ndarray, chunk: int = 2_000) -> np.ndarray:
        """Total option P&L per scenario by full revaluation.

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
        for start in range(0, returns.shape[0], chunk):
            r = returns[start : start + chunk, o.column]
            values = self.option_values(s0 * (1.0 + r))
            out[start : start + chunk] = (values - o.value_now) @ o.units
        return out

    def pnl(self, returns: np.ndarray) -> np.ndarray:
        """Book P&L per scenario with full revaluation of every option.

        Args:
            returns: shape (n_scenarios, n_columns), simple returns of the scenario columns.

        Returns:
            shape (n_scenarios,), gain positive.
        """
        out = np.empty(returns.shape[0])
        for start in range(0, returns.shape[0], 1024):  # widen single precision in cache
            r = returns[start : start + 1024].astype(np.float64, copy=False)
            out[start : start + 1024] = r @ self.linear_exposure
        if len(self.options):
            out += self.option_pnl_full(returns)
        return out

    def position_pnl(self, returns: np.ndarray) -> np.ndarray:
        """Per-position P&L (full revaluation), in ``position_ids`` order.

        Returns:
            shape (n_scenarios, n_positions). Memory grows with both: use on small books or
            on the tail scenarios only.
        """
        lin = returns[:, self.linear_column] * self.linear_units_value
        o = self.options
        if len(o):
            s0 = self.spot[o.column]
            opt = (self.option_values(s0 * (1.0 + returns[:, o.column])) - o.value_now) * o.units
        else:
            opt = np.zeros((returns.shape[0], 0))
        by_id = dict(zip(self.linear_ids, lin.T, strict=True))
        by_id.update(zip(self.option_ids, opt.T, strict=True))
        return np.column_stack([by_id[i] for i in self.position_ids])

    def sensitivities(self) -> tuple[float, np.ndarray, np.ndarray]:
        """Delta-gamma expansion of the horizon P&L in the factor returns r (per column).

        P&L(r) ~= a + b'r + 1/2 r' diag(g) r, with a the value change of the options at
        unchanged spot over the horizon (time decay), b = dP&L/dr and g = d2P&L/dr2 evaluated at
        (S_now, T - h/252). Options depend on one factor each, so the gamma matrix is diagonal.

        Returns:
            (a, b, g) with b and g of shape (n_columns,).
        """
        b = self.linear_exposure.copy()
        g = np.zeros(self.n_columns)
        a = 0.0
        o = self.options
        if len(o):
            s0 = self.spot[o.column]
            gr = o.at_horizon.greeks(s0)
            a = float((gr.price - o.value_now) @ o.units)
            np.add.at(b, o.column, o.units * gr.delta * s0)
            np.add.at(g, o.column, o.units * gr.gamma * s0 * s0)
        return a, b, g


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
        unusable: factor symbol -> reason, for factors in the history that cannot be used
            (e.g. missing closes in the window).
    """
    unusable = unusable or {}
    excluded: list[Exclusion] = []
    lin_ids, lin_col, lin_val = [], [], []
    opt_ids, opt_rows = [], []
    included: list[str] = []

    def reject(p: Position, reason: str):
        excluded.append(Exclusion(p.id, p.symbol, reason))

    for p in portfolio.positions:
        inst = p.instrument
        factor = inst.factor
        currency = inst.currency
        if currency != base_currency:
            reject(
                p,
                f"priced in {currency} but the base currency is {base_currency}; conversion "
                "through FX risk factors is not supported yet. Express the position in "
                f"{base_currency} or set the base currency to {currency}.",
            )
            continue
        if factor in unusable:
            reject(p, unusable[factor])
            continue
        if factor not in column_of:
            reject(
                p,
                f"unknown symbol {factor!r}: not in the price history. Add its closes to the "
                "history file or fix the symbol in the book.",
            )
            continue
        col = column_of[factor]
        s0 = float(spot[col])
        units = p.quantity * p.multiplier
        if isinstance(inst, EuropeanOption):
            if inst.expiry <= as_of:
                reject(
                    p, f"option expired on {inst.expiry} (as_of {as_of}); remove it from the book."
                )
                continue
            t_now = (inst.expiry - as_of).days / DAYS_PER_YEAR
            carry = 0.0 if inst.underlying_type == "future" else inst.rate - inst.dividend_yield
            opt_rows.append(
                (
                    col,
                    units,
                    inst.strike,
                    t_now,
                    t_now - horizon_days / TRADING_DAYS_PER_YEAR,
                    inst.implied_vol,
                    inst.rate,
                    carry,
                    inst.option_type == "call",
                )
            )
            opt_ids.append(p.id)
        else:
            lin_ids.append(p.id)
            lin_col.append(col)
            lin_val.append(units * s0)
        included.append(p.id)

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
        )
    else:
        e = np.zeros(0)
        b = e.astype(bool)
        options = OptionArrays(
            e.astype(np.intp), e, e, e, e, e, e, e, b, e, OptionTerms.of(e, e, e, e, e, b)
        )
    lin_col_arr = np.array(lin_col, dtype=np.intp)
    lin_val_arr = np.array(lin_val, dtype=float)
    exposure = np.zeros(n_columns)
    np.add.at(exposure, lin_col_arr, lin_val_arr)
    futures = {p.id for p in portfolio.positions if isinstance(p.instrument, Future)}
    market_value = float(
        sum(v for i, v in zip(lin_ids, lin_val, strict=True) if i not in futures)
        + (options.value_now @ options.units if len(options) else 0.0)
    )
    used = np.unique(np.concatenate([lin_col_arr, options.column])).astype(np.intp)
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
    )
