"""Sensitivities and exposures of a compiled book: per risk factor, per tag and in total.

Every amount is in the base currency, at the snapshot (options at their time to expiry now, T,
not at the horizon). For a position with units = quantity * multiplier on a factor with price S,
priced in a currency converted at the FX rate X (X = 1 in the base currency), with Black-Scholes
greeks delta, gamma and vega (per 1.00 of volatility) for an option (1, 0, 0 for a linear one):

* ``dollar_delta`` = units * delta * S * X: the P&L of a move of the factor by r is about
  dollar_delta * r (a stock: units * S * X, its value; a future: its notional);
* ``delta_units`` (per factor only) = units * delta: share-equivalent delta, in units of the
  factor (shares, contracts' underlying units; for an FX factor, units of its first currency);
* ``dollar_gamma`` = units * gamma * S^2 * X / 100: the change of the dollar delta when the factor
  rises by 1% (S held in the product); the second-order P&L of a relative move m is
  1/2 * dollar_gamma * 100 * m^2 (for m = 1%: dollar_gamma / 200);
* ``vega`` = units * vega * X / 100: the P&L of a rise of implied volatility by 1 vol point;
* ``gross_exposure`` = sum over positions of |dollar_delta|; ``net_exposure`` = sum of
  dollar_delta (the same number as ``dollar_delta``, under its exposure name).

A position priced in another currency also has an FX translation exposure, under its FX factor
(e.g. EURUSD): its dollar delta there is its value in base (units * S * X for a stock,
units * V * X for an option, 0 for a future, which has no value), its delta_units the value in
its own currency, gamma and vega 0. Its cross gamma between the factor and the FX factor is not
part of this report (the parametric method uses it).

Totals and each tag's rows add up the (position, factor) entries: so the FX translation
exposure counts besides the exposure to the underlying (a EUR stock worth 110 USD adds 110 to its
own factor and 110 to EURUSD). For each tag key, the rows of its values plus the row of the
positions without that key (value None) add up to the totals; share-equivalent deltas of
different factors cannot be added, so tags and totals carry none.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from riskengine.instruments.types import Portfolio
from riskengine.market.history import FactorHistory, MarketState
from riskengine.market.snapshot import market_snapshot
from riskengine.pricing.black_scholes import bsm_greeks
from riskengine.pricing.compiled import CompiledBook, compile_snapshot, tag_labels
from riskengine.report import ExposureReport

_METRICS = ("dollar_delta", "dollar_gamma", "vega", "gross_exposure", "net_exposure")


@dataclass(frozen=True)
class ExposureLine:
    """The summed sensitivities of a group of positions, in the base currency."""

    dollar_delta: float
    dollar_gamma: float
    vega: float
    gross_exposure: float
    net_exposure: float
    n_positions: int

    def to_dict(self) -> dict:
        return {name: getattr(self, name) for name in (*_METRICS, "n_positions")}


@dataclass(frozen=True)
class FactorExposure:
    """Exposure to one risk factor (an underlying or an FX factor)."""

    factor: str
    spot: float
    delta_units: float
    line: ExposureLine

    def to_dict(self) -> dict:
        return {"factor": self.factor, "spot": self.spot, "delta_units": self.delta_units} | (
            self.line.to_dict()
        )


@dataclass(frozen=True)
class TagExposure:
    """Exposure of the positions carrying tag ``key=value`` (``value`` None: without ``key``)."""

    key: str
    value: str | None
    line: ExposureLine

    def to_dict(self) -> dict:
        return {"key": self.key, "value": self.value} | self.line.to_dict()


@dataclass(frozen=True)
class Exposures:
    """Sensitivities of a book: totals, per risk factor (sorted by name), per tag (sorted by key,
    then value, positions without the key last).

    ``to_dict()``::

        {"total": {dollar_delta, dollar_gamma, vega, gross_exposure, net_exposure, n_positions},
         "by_underlying": [{factor, spot, delta_units, dollar_delta, ..., n_positions}, ...],
         "by_tag": [{key, value, dollar_delta, ..., n_positions}, ...]}
    """

    total: ExposureLine
    by_underlying: tuple[FactorExposure, ...]
    by_tag: tuple[TagExposure, ...]

    def factor(self, name: str) -> FactorExposure:
        for f in self.by_underlying:
            if f.factor == name:
                return f
        raise KeyError(
            f"no exposure to {name!r}; factors: {', '.join(f.factor for f in self.by_underlying)}"
        )

    def to_frame(self, by: str = "underlying"):
        """The exposures as a pandas DataFrame (``riskengine[pandas]``): ``by="underlying"``
        indexed by factor, ``by="tag"`` by (key, value), ``by="total"`` one row."""
        from riskengine.frames import rows_frame

        if by == "underlying":
            return rows_frame([f.to_dict() for f in self.by_underlying], index="factor")
        if by == "tag":
            return rows_frame([t.to_dict() for t in self.by_tag], index=["key", "value"])
        if by == "total":
            return rows_frame([self.total.to_dict()])
        raise ValueError(f"by {by!r} is not one of: underlying, tag, total")

    def to_dict(self) -> dict:
        return {
            "total": self.total.to_dict(),
            "by_underlying": [f.to_dict() for f in self.by_underlying],
            "by_tag": [t.to_dict() for t in self.by_tag],
        }


def tags_of(portfolio: Portfolio) -> dict[str, tuple[tuple[str, str], ...]]:
    """Position id -> its tags, for ``book_exposures``."""
    return {p.id: p.tags for p in portfolio.positions}


def _entries(book: CompiledBook):
    """One entry per (position, factor) the position is exposed to.

    Returns:
        position index (into ``book.position_ids``), column, dollar delta, delta units, dollar
        gamma and vega, each of shape (n_entries,).
    """
    lin_pos, opt_pos = book.position_index
    pos, col, dd, du, dg, vg = [], [], [], [], [], []
    spot = book.spot
    # Linear positions: the factor, then the FX translation of the foreign ones.
    x0 = np.ones(lin_pos.size)
    foreign = book.linear_fx_column >= 0
    x0[foreign] = spot[book.linear_fx_column[foreign]]
    pos.append(lin_pos)
    col.append(book.linear_column)
    dd.append(book.linear_units_value)
    du.append(book.linear_units)
    dg.append(np.zeros(lin_pos.size))
    vg.append(np.zeros(lin_pos.size))
    value_base = np.where(book.linear_is_future, 0.0, book.linear_units_value)
    pos.append(lin_pos[foreign])
    col.append(book.linear_fx_column[foreign])
    dd.append(value_base[foreign])
    du.append(value_base[foreign] / x0[foreign])
    dg.append(np.zeros(int(foreign.sum())))
    vg.append(np.zeros(int(foreign.sum())))
    o = book.options
    if len(o):
        s0 = spot[o.column]
        gr = bsm_greeks(s0, o.strike, o.t_now, o.vol, o.rate, o.carry, o.is_call)
        ub = o.units_base
        pos.append(opt_pos)
        col.append(o.column)
        dd.append(ub * gr.delta * s0)
        du.append(o.units * gr.delta)
        dg.append(ub * gr.gamma * s0 * s0 / 100.0)
        vg.append(ub * gr.vega / 100.0)
        f = o.foreign
        pos.append(opt_pos[f])
        col.append(o.fx_column[f])
        dd.append(ub[f] * gr.price[f])
        du.append(o.units[f] * gr.price[f])
        dg.append(np.zeros(f.size))
        vg.append(np.zeros(f.size))
    return tuple(
        np.concatenate(a).astype(t)
        for a, t in zip((pos, col, dd, du, dg, vg), (np.intp, np.intp, *[float] * 4), strict=True)
    )


def _line(
    group: np.ndarray, n_groups: int, pos, dd, dg, vg, once: bool = False
) -> list[ExposureLine]:
    """Sums of the entries by ``group`` (shape (n_entries,), values in [0, n_groups));
    ``once``: every position has exactly one entry (no FX translation entries)."""

    def total(w):
        return np.bincount(group, w, minlength=n_groups)

    delta, gross = total(dd), total(np.abs(dd))
    gamma, vega = total(dg), total(vg)
    # positions per group: distinct (group, position) pairs
    if once:
        n_pos = np.bincount(group, minlength=n_groups)
    else:
        stride = int(pos.max(initial=0)) + 1
        pairs = np.unique(group.astype(np.int64) * stride + pos)
        n_pos = np.bincount(pairs // stride, minlength=n_groups)
    # as Python numbers in one conversion per array (the same values as float() of each)
    return [
        ExposureLine(d, g, v, gr, d, n)
        for d, g, v, gr, n in zip(
            delta.tolist(), gamma.tolist(), vega.tolist(), gross.tolist(), n_pos.tolist(),
            strict=True,
        )
    ]  # fmt: skip


def book_exposures(
    book: CompiledBook, tags: Mapping[str, Iterable[tuple[str, str]]] | Sequence | None = None
) -> Exposures:
    """Delta, gamma, vega and gross/net exposure of ``book`` (definitions: module docstring).

    Args:
        book: the compiled book (its included positions; exclusions are not counted).
        tags: position id -> (key, value) pairs, e.g. ``tags_of(portfolio)``, or the
            (key, value) pairs of each included position in order (``book.position_tags``
            of a book compiled from the portfolio); a key repeated
            on one position counts with its first value. Without it, ``by_tag`` is empty.

    Returns:
        An ``Exposures``: totals, by underlying, by tag.
    """
    pos, col, dd, du, dg, vg = _entries(book)
    once = pos.size == book.n_positions  # each position has an entry: then only one
    [total] = _line(np.zeros(pos.size, np.intp), 1, pos, dd, dg, vg, once)

    used = np.unique(col)
    names = book.factor_names or tuple(str(c) for c in range(book.n_columns))
    used = used[np.argsort([names[c] for c in used], kind="stable")]
    row_of = np.full(book.n_columns, -1, dtype=np.intp)
    row_of[used] = np.arange(used.size)
    group = row_of[col]
    lines = _line(group, used.size, pos, dd, dg, vg, once)
    units = np.bincount(group, du, minlength=used.size)
    by_factor = tuple(
        FactorExposure(names[c], s, u, line)
        for c, s, u, line in zip(
            used.tolist(), book.spot[used].tolist(), units.tolist(), lines, strict=True
        )
    )

    by_tag: list[TagExposure] = []
    if tags:
        labels_of = (
            book.tag_labels if tags is book.position_tags else tag_labels(book.position_ids, tags)
        )
        for key, labels, pos_group in labels_of:
            for label, line in zip(
                labels, _line(pos_group[pos], len(labels), pos, dd, dg, vg, once), strict=True
            ):
                by_tag.append(TagExposure(key, label, line))
    return Exposures(total, by_factor, tuple(by_tag))


def compute_exposures(
    portfolio: Portfolio,
    history: FactorHistory,
    as_of: dt.date | str | None = None,
    base_currency: str = "USD",
    *,
    market: MarketState | None = None,
) -> ExposureReport:
    """Exposures of ``portfolio`` at the snapshot ``as_of`` of ``history``.

    Every factor with a close at the snapshot can be used (no window is needed); positions on
    factors without one, unknown symbols, positions whose FX factor is missing and expired
    options are excluded with a reason, as in ``compute_risk``.

    Args:
        portfolio: the book.
        history: a FactorHistory of daily closes (FX factors included).
        as_of: snapshot date (the last date on or before it; default the last date).
        base_currency: currency of every amount (upper-cased).
        market: optional MarketState whose prices replace the closes at as_of.

    Returns:
        An ``ExposureReport`` (``riskengine.report``) holding the ``Exposures``.

    Raises:
        NoPositionsError: when no position can be priced.
    """
    base_currency = str(base_currency).upper()
    snapshot = market_snapshot(history, as_of, live=market)
    book = compile_snapshot(portfolio, snapshot, 1, base_currency)
    date = snapshot.as_of
    return ExposureReport(
        as_of=date.isoformat(),
        base_currency=base_currency,
        portfolio={
            "name": portfolio.name,
            "n_positions": len(portfolio),
            "n_included": book.n_positions,
            "market_value": book.market_value,
        },
        exposures=book_exposures(book, tags_of(portfolio)),
        excluded_positions=tuple(e.to_dict() for e in book.excluded),
    )
