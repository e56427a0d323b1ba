"""A book's positions valued at the latest prices and at the last close (the page's book view).

``value_positions`` compiles the book twice on the same snapshot date (the last closed daily
bar): once at the closes, once with the latest tick prices in their place, exactly as
``compute_risk`` revalues a book at live prices. So the total is the report's
``portfolio.market_value``, and a position's day P&L is its value now minus its value at the
close (options by Black-Scholes at both, futures by ``units * (F_now - F_close)``).
"""

from __future__ import annotations

from riskengine.instruments import Portfolio
from riskengine.market import FactorHistory, MarketState
from riskengine.market.snapshot import market_snapshot
from riskengine.pricing.compiled import CompiledBook, compile_snapshot


def value_positions(
    portfolio: Portfolio,
    history: FactorHistory,
    market: MarketState | None = None,
    base_currency: str = "USD",
) -> dict:
    """Every position's price, value and day P&L at the latest prices.

    Args:
        portfolio: the book.
        history: daily closes; the last date is the snapshot (times to expiry count from it).
        market: the latest prices (ticks); None values the book at the closes.
        base_currency: currency of every amount.

    Returns:
        ``{"as_of", "prices_as_of", "base_currency", "market_value", "close_value",
        "day_pnl", "positions": [...], "excluded_positions": [...]}``; one position row per
        included position in book order: ``id``, ``symbol``, ``instrument_type``, ``quantity``,
        ``factor`` (the symbol whose price moves it: the underlying of an option), its
        ``factor_price`` now, ``factor_close`` and relative ``change``, the instrument's unit
        ``price`` (an option's premium) in its own currency, ``market_value`` (0 for futures),
        ``close_value`` and ``day_pnl`` in the base currency.

    Raises:
        NoPositionsError: when no position can be priced.
    """
    base_currency = str(base_currency).upper()
    snapshot = market_snapshot(history, None, live=market)
    date = snapshot.as_of
    column_of, live_spot, close_spot = snapshot.column_of, snapshot.spot, snapshot.closes
    at_close = compile_snapshot(
        portfolio, snapshot, 0, base_currency, at_close=True, require=False
    )  # fmt: skip
    now = compile_snapshot(portfolio, snapshot, 0, base_currency)
    value_now, unit_now, futures = _values(now)
    value_close, _, _ = _values(at_close)
    by_id = {p.id: p for p in portfolio.positions}
    rows = []
    for pid in now.position_ids:
        p = by_id[pid]
        factor = p.instrument.factor
        k = column_of[factor]
        price, close = float(live_spot[k]), float(close_spot[k])
        held = 0.0 if pid in futures else 1.0  # a future's value is 0; its P&L moves
        rows.append(
            {
                "id": pid,
                "symbol": p.symbol,
                "instrument_type": _TYPES.get(type(p.instrument).__name__, "equity"),
                "quantity": float(p.quantity),
                "currency": p.instrument.currency,
                "factor": factor,
                "factor_price": price,
                "factor_close": close,
                "change": price / close - 1.0 if close else None,
                "price": unit_now[pid],
                "market_value": held * value_now[pid],
                "close_value": held * value_close[pid],
                "day_pnl": value_now[pid] - value_close[pid],
            }
        )
    return {
        "as_of": date.isoformat(),
        "prices_as_of": market.as_of.isoformat() if market is not None else None,
        "base_currency": base_currency,
        "market_value": now.market_value,
        "close_value": at_close.market_value,
        "day_pnl": sum(r["day_pnl"] for r in rows),
        "positions": rows,
        "excluded_positions": [e.to_dict() for e in now.excluded],
    }


_TYPES = {"Equity": "equity", "FxSpot": "fx", "Future": "future", "EuropeanOption": "option"}


def _values(book: CompiledBook) -> tuple[dict[str, float], dict[str, float], set[str]]:
    """Position id -> value in the base currency (a future's notional), position id -> unit
    price in its own currency, and the ids of the futures."""
    values, units, futures = {}, {}, set()
    for j, pid in enumerate(book.linear_ids):
        values[pid] = float(book.linear_units_value[j])
        units[pid] = float(book.spot[book.linear_column[j]])
        if book.linear_is_future[j]:
            futures.add(pid)
    opt = book.options
    if len(opt):
        per_book = opt.value_now * opt.units_base
        for j, pid in enumerate(book.option_ids):
            values[pid] = float(per_book[j])
            units[pid] = float(opt.value_now[j])
    return values, units, futures
