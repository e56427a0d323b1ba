"""Where the built-in feed's trades come from: a replay of daily history, or a simulation from
a model fitted to it (correlated moves with the historical covariance).

Both yield ``Tick`` values with consecutive trade ids per symbol starting at 1, in event-time
order; the feed server journals them and speaks them in any venue's protocol.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterator, Sequence

import numpy as np

from riskengine.core.covariance import matrix_root, nearest_psd
from riskengine.errors import InputError, InsufficientHistoryError, UnknownSymbolError
from riskengine.market.history import FactorHistory
from riskengine.market.tick import UTC, Tick

#: Trading seconds in a day: intraday variance is the daily variance times dt / this.
TRADING_SECONDS = 6.5 * 3600
CLOSE_TIME = dt.time(20, 0, tzinfo=UTC)  # 16:00 New York in summer: the replayed close


def _columns(history: FactorHistory, symbols: Sequence[str] | None) -> list[int]:
    if not symbols:
        return list(range(len(history.symbols)))
    unknown = [s for s in symbols if s not in history.column]
    if unknown:
        raise UnknownSymbolError(
            f"cannot serve {', '.join(map(repr, unknown))}: not in the price history "
            f"({len(history.symbols)} symbols: {', '.join(history.symbols[:20])}). Choose "
            "symbols of the history, or pass a history that has them (--history)."
        )
    return [history.column[s] for s in symbols]


def replay_ticks(
    history: FactorHistory, symbols: Sequence[str] | None = None, *, venue: str = "riskengine"
) -> Iterator[Tick]:
    """Every daily close of ``symbols`` as one trade at 20:00 UTC that day, dates in order.

    Days without a close (NaN) are skipped; sizes are 100 (one round lot). Within a day the
    symbols trade one microsecond apart, so event times are unique per symbol and ordered.
    """
    cols = _columns(history, symbols)
    names = [history.symbols[j] for j in cols]
    next_id = dict.fromkeys(names, 1)
    for i in range(len(history.dates)):
        day = dt.datetime.combine(history.date_at(i), CLOSE_TIME)
        row = history.prices[i]
        for k, (j, name) in enumerate(zip(cols, names, strict=True)):
            price = row[j]
            if not math.isfinite(price):
                continue
            tid = next_id[name]
            next_id[name] = tid + 1
            yield Tick(venue, name, day + dt.timedelta(microseconds=k), float(price), 100.0, tid)


def simulated_ticks(
    history: FactorHistory,
    symbols: Sequence[str] | None = None,
    *,
    venue: str = "riskengine",
    seed: int = 0,
    start: dt.datetime,
    step: dt.timedelta = dt.timedelta(milliseconds=1),
    window: int = 500,
    decimals: int = 2,
) -> Iterator[Tick]:
    """Endless intraday trades from a model fitted to the last ``window`` daily returns.

    Each round moves every symbol by one correlated draw: log-price increments normal with the
    covariance of daily log returns scaled by ``len(symbols) * step / 6.5 h`` (one round spans
    one step per symbol), starting at the last close. Symbols trade round-robin, one ``step``
    apart in event time from ``start``; prices are rounded to ``decimals`` (a tick size), sizes
    drawn from 1..500 shares. The same ``seed`` and ``start`` give the same trades.
    """
    if start.tzinfo is None:
        raise InputError(f"start {start} must be timezone-aware (UTC).")
    cols = _columns(history, symbols)
    names = [history.symbols[j] for j in cols]
    prices = history.prices[:, cols]
    ok = np.isfinite(prices).all(axis=1)
    closes = prices[ok]
    if len(closes) < 3:
        raise InsufficientHistoryError(
            f"simulating {', '.join(names)} needs >= 3 common daily closes; got {len(closes)}. "
            "Import more history or choose other symbols."
        )
    logr = np.diff(np.log(closes[-(window + 1) :]), axis=0)
    cov = np.atleast_2d(np.cov(logr, rowvar=False, ddof=1))
    cov, _, _ = nearest_psd(cov)
    root, _ = matrix_root(cov)
    n = len(names)
    scale = math.sqrt(n * step.total_seconds() / TRADING_SECONDS)
    rng = np.random.default_rng(seed)
    level = np.log(closes[-1])
    tick = 10.0**-decimals
    ts = start
    tid = 1
    rounds = max(1, 4096 // n)
    while True:
        z = rng.standard_normal((rounds, n)) @ root.T * scale
        path = level + np.cumsum(z, axis=0)
        level = path[-1]
        px = np.maximum(np.round(np.exp(path), decimals), tick)
        sizes = rng.integers(1, 501, size=(rounds, n))
        for r in range(rounds):
            row, srow = px[r].tolist(), sizes[r].tolist()
            for k in range(n):
                yield Tick(venue, names[k], ts, row[k], float(srow[k]), tid)
                ts += step
            tid += 1
