"""Tick -> bar aggregation, pure and vectorised (numpy), shared by both backends.

``aggregate`` turns the newly stored ticks of one ``write_ticks`` call into *partial* bars, one
per (symbol, interval, start). The backend merges each partial bar into the stored one with one
upsert per batch (``MERGE_RULES`` below, written in SQL by each backend), so a bar built from
ticks that arrive out of order, in any number of batches, equals the bar built from all its
ticks at once:

- ticks are ordered by the **tick order** ``(ts, venue, trade_id)``: event time, then venue in
  byte order, then trade id (the order in which the latest price is chosen too, so a bar's close
  is the latest price of its symbol in it, on every backend and TimescaleDB's aggregates);
- ``high`` = greatest, ``low`` = least, ``volume`` and ``trades`` are added;
- ``open``: the partial bar's open replaces the stored one if its first tick comes earlier in
  the tick order; ``close``: if its last tick comes later. Each keeps the (ts, venue,
  trade_id) of its tick (``open_ts``, ``open_venue``, ``open_trade_id``, ``close_...``); a bar
  stored before these were kept has them NULL and keeps its open and gives up its close on
  equal times, as it did then.

Times are integer microseconds since the Unix epoch, UTC.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from riskengine.market.tick import Tick

UTC = dt.UTC
EPOCH = dt.datetime(1970, 1, 1, tzinfo=UTC)
ONE_US = dt.timedelta(microseconds=1)

MINUTE_US = 60_000_000
DAY_US = 86_400 * 1_000_000
#: bar interval name -> width in microseconds
INTERVALS: dict[str, int] = {"1m": MINUTE_US, "1d": DAY_US}


def to_us(ts: dt.datetime) -> int:
    """Exact integer microseconds since the epoch of an aware datetime (naive = UTC)."""
    if ts.tzinfo is None:
        ts = ts.replace(tzinfo=UTC)
    return (ts - EPOCH) // ONE_US


def from_us(us: int) -> dt.datetime:
    """Aware UTC datetime from integer microseconds since the epoch."""
    return EPOCH + dt.timedelta(microseconds=int(us))


@dataclass(frozen=True, slots=True)
class PartialBars:
    """Bars of one interval built from one batch of new ticks; arrays of equal length n_bars,
    sorted by (symbol, start).

    Attributes:
        interval: ``1m`` or ``1d``.
        symbol: shape (n_bars,), object array of str.
        start, open_ts, close_ts: shape (n_bars,), int64 microseconds since the epoch (UTC).
        open, high, low, close, volume: shape (n_bars,), float64.
        trades: shape (n_bars,), int64.
        open_venue, close_venue: shape (n_bars,), object array of str; open_trade_id,
            close_trade_id: shape (n_bars,), int64: the rest of the open and close ticks' keys.
    """

    interval: str
    symbol: np.ndarray
    start: np.ndarray
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    volume: np.ndarray
    trades: np.ndarray
    open_ts: np.ndarray
    close_ts: np.ndarray
    open_venue: np.ndarray
    open_trade_id: np.ndarray
    close_venue: np.ndarray
    close_trade_id: np.ndarray

    def __len__(self) -> int:
        return len(self.start)

    def rows(self) -> list[tuple]:
        """(symbol, interval, start_us, open, high, low, close, volume, trades, open_ts_us,
        close_ts_us, open_venue, open_trade_id, close_venue, close_trade_id) as Python scalars,
        one tuple per bar."""
        return list(
            zip(
                self.symbol.tolist(),
                [self.interval] * len(self),
                self.start.tolist(),
                self.open.tolist(),
                self.high.tolist(),
                self.low.tolist(),
                self.close.tolist(),
                self.volume.tolist(),
                self.trades.tolist(),
                self.open_ts.tolist(),
                self.close_ts.tolist(),
                self.open_venue.tolist(),
                self.open_trade_id.tolist(),
                self.close_venue.tolist(),
                self.close_trade_id.tolist(),
                strict=True,
            )
        )


def factorize(symbols: Sequence[str]) -> tuple[np.ndarray, list[str]]:
    """Codes (int64, shape (n,)) and the distinct names in sorted order."""
    names = sorted(set(symbols))
    index = {s: i for i, s in enumerate(names)}
    codes = np.fromiter((index[s] for s in symbols), dtype=np.int64, count=len(symbols))
    return codes, names


def aggregate(
    symbols: Sequence[str],
    ts_us: ArrayLike,
    price: ArrayLike,
    size: ArrayLike,
    venues: Sequence[str],
    trade_ids: ArrayLike,
    intervals: Sequence[str] = ("1m", "1d"),
) -> list[PartialBars]:
    """Partial bars of ``intervals`` from ticks given column-wise (all of shape (n_ticks,)),
    in any order. Returns one ``PartialBars`` per interval (empty ones included)."""
    ts_us = np.asarray(ts_us, dtype=np.int64)
    price = np.asarray(price, dtype=np.float64)
    size = np.asarray(size, dtype=np.float64)
    trade_ids = np.asarray(trade_ids, dtype=np.int64)
    n = len(ts_us)
    if not (len(symbols) == len(price) == len(size) == len(venues) == len(trade_ids) == n):
        raise ValueError("symbols, ts_us, price, size, venues and trade_ids must have one length")
    codes, names = factorize(symbols)
    name_arr = np.array(names, dtype=object)
    venue_codes, venue_names = factorize(venues)  # codes in byte order of the names
    venue_arr = np.array(venue_names, dtype=object)
    out = []
    for interval in intervals:
        width = INTERVALS[interval]
        start = ts_us - ts_us % width  # floor (numpy % follows the divisor's sign)
        if n == 0:
            empty_i = np.empty(0, np.int64)
            empty_f = np.empty(0, np.float64)
            out.append(
                PartialBars(
                    interval,
                    np.empty(0, object),
                    empty_i,
                    empty_f,
                    empty_f,
                    empty_f,
                    empty_f,
                    empty_f,
                    empty_i,
                    empty_i,
                    empty_i,
                    np.empty(0, object),
                    empty_i,
                    np.empty(0, object),
                    empty_i,
                )
            )
            continue
        # by symbol, then bar start, then the tick order (ts, venue, trade_id)
        order = np.lexsort((trade_ids, venue_codes, ts_us, start, codes))
        c, s, t, p, v = codes[order], start[order], ts_us[order], price[order], size[order]
        vc, tid = venue_codes[order], trade_ids[order]
        first = np.flatnonzero(np.r_[True, (c[1:] != c[:-1]) | (s[1:] != s[:-1])])
        last = np.r_[first[1:] - 1, n - 1]
        out.append(
            PartialBars(
                interval=interval,
                symbol=name_arr[c[first]],
                start=s[first],
                open=p[first],
                high=np.maximum.reduceat(p, first),
                low=np.minimum.reduceat(p, first),
                close=p[last],
                volume=np.add.reduceat(v, first),
                trades=np.diff(np.r_[first, n]).astype(np.int64),
                open_ts=t[first],
                close_ts=t[last],
                open_venue=venue_arr[vc[first]],
                open_trade_id=tid[first],
                close_venue=venue_arr[vc[last]],
                close_trade_id=tid[last],
            )
        )
    return out


def tick_columns(
    ticks: Sequence[Tick],
) -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray, list[str], np.ndarray]:
    """(symbols, ts_us, price, size, venues, trade_ids) of a sequence of Tick, for
    ``aggregate``."""
    epoch, one_us = EPOCH, ONE_US
    symbols = [t.symbol for t in ticks]
    ts_us = np.array([(t.ts - epoch) // one_us for t in ticks], dtype=np.int64)
    price = np.array([t.price for t in ticks], dtype=np.float64)
    size = np.array([t.size for t in ticks], dtype=np.float64)
    venues = [t.venue for t in ticks]
    trade_ids = np.array([t.trade_id for t in ticks], dtype=np.int64)
    return symbols, ts_us, price, size, venues, trade_ids


def import_rows(history) -> list[tuple[str, int, float]]:
    """(symbol, day, close) of every finite close of a FactorHistory, symbol by symbol; ``day``
    is days since the Unix epoch."""
    days = history.dates.astype("datetime64[D]").astype(np.int64)
    prices = np.asarray(history.prices, dtype=np.float64)
    rows: list[tuple[str, int, float]] = []
    for j, symbol in enumerate(history.symbols):
        col = prices[:, j]
        ok = np.isfinite(col)
        rows.extend(zip([symbol] * int(ok.sum()), days[ok].tolist(), col[ok].tolist(), strict=True))
    return rows


def latest_by_symbol(ticks) -> list[tuple]:
    """(symbol, venue, ts, price, trade_id) of each symbol's latest tick in ``ticks``: the
    last in the tick order (ts, venue, trade_id), as the store's latest_ticks upsert decides
    between a stored tick and a new one, and as a bar's close is chosen."""
    best: dict = {}
    get = best.get
    for t in ticks:
        cur = get(t.symbol)
        if cur is None or (t.ts, t.venue, t.trade_id) > (cur.ts, cur.venue, cur.trade_id):
            best[t.symbol] = t
    return [(t.symbol, t.venue, t.ts, t.price, t.trade_id) for t in best.values()]


def merge_bars_sql(least: str, greatest: str) -> str:
    """The ``ON CONFLICT (symbol, "interval", start, source) DO UPDATE SET`` clause that merges
    a partial bar into the stored one by the rules above (SET expressions read the old row,
    whatever their order), with the backend's two-argument ``least`` and ``greatest`` (SQLite
    spells them min and max). A bar stored before schema version 5 has NULL venue and trade
    id: it keeps its open and gives up its close on equal times."""
    earlier = (
        "(excluded.open_ts, excluded.open_venue, excluded.open_trade_id) < (bars.open_ts, "
        "coalesce(bars.open_venue, ''), coalesce(bars.open_trade_id, -1))"
    )
    later = (
        "(excluded.close_ts, excluded.close_venue, excluded.close_trade_id) > (bars.close_ts, "
        "coalesce(bars.close_venue, ''), coalesce(bars.close_trade_id, -1))"
    )
    return f"""ON CONFLICT (symbol, "interval", start, source) DO UPDATE SET
    open = CASE WHEN {earlier} THEN excluded.open ELSE bars.open END,
    open_venue = CASE WHEN {earlier} THEN excluded.open_venue ELSE bars.open_venue END,
    open_trade_id = CASE WHEN {earlier} THEN excluded.open_trade_id ELSE bars.open_trade_id END,
    open_ts = {least}(bars.open_ts, excluded.open_ts),
    high = {greatest}(bars.high, excluded.high),
    low = {least}(bars.low, excluded.low),
    close = CASE WHEN {later} THEN excluded.close ELSE bars.close END,
    close_venue = CASE WHEN {later} THEN excluded.close_venue ELSE bars.close_venue END,
    close_trade_id = CASE WHEN {later} THEN excluded.close_trade_id
                          ELSE bars.close_trade_id END,
    close_ts = {greatest}(bars.close_ts, excluded.close_ts),
    volume = bars.volume + excluded.volume,
    trades = bars.trades + excluded.trades
"""
