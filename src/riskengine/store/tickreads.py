"""Reads of the stored ticks that both backends answer with the same SQL (over the dialect of
``dialect.py``)."""

from __future__ import annotations

import datetime as dt

from riskengine.store.base import Bar, check_interval
from riskengine.store.dialect import DialectStore


class TickReads(DialectStore):
    """Tick counts and keys, and stale symbols, for a backend that also provides
    ``latest_prices``."""

    def count_ticks(self, *, venue: str | None = None, symbol: str | None = None) -> int:
        sql, params = "SELECT count(*) FROM ticks WHERE 1 = 1", []
        if venue is not None:
            sql += " AND venue = ?"
            params.append(venue)
        if symbol is not None:
            sql += " AND symbol = ?"
            params.append(symbol)
        return int(self._read(sql, params)[0][0])

    def tick_keys(self, *, venue: str | None = None) -> list[tuple[str, str, int]]:
        """(venue, symbol, trade_id) of every stored tick (for tests and audits)."""
        if venue is None:
            rows = self._read(
                "SELECT venue, symbol, trade_id FROM ticks ORDER BY venue, symbol, trade_id"
            )
        else:
            rows = self._read(
                "SELECT venue, symbol, trade_id FROM ticks WHERE venue = ? "
                "ORDER BY symbol, trade_id",
                (venue,),
            )
        return [(v, s, int(t)) for v, s, t in rows]

    def stale_symbols(self, now: dt.datetime, stale_after: dt.timedelta) -> dict[str, dt.datetime]:
        limit = now - stale_after
        return {s: p.ts for s, p in self.latest_prices().items() if p.ts < limit}

    def bars(
        self,
        symbol: str,
        interval: str,
        *,
        start: dt.datetime | None = None,
        end: dt.datetime | None = None,
    ) -> list[Bar]:
        sql = (
            "SELECT start, open, high, low, close, volume, trades, source "
            f"FROM {self._bars_relation(interval)} b WHERE symbol = ?"
        )
        params: list = [symbol]
        if start is not None:
            sql += " AND start >= ?"
            params.append(self.dialect.time_in(start))
        if end is not None:
            sql += " AND start < ?"
            params.append(self.dialect.time_in(end))
        out = self.dialect.time_out
        return [
            Bar(symbol, interval, out(st), o, h, lo, c, v, int(k), src)
            for st, o, h, lo, c, v, k, src in self._read(sql + " ORDER BY start, source", params)
        ]

    def _bars_relation(self, interval: str) -> str:
        """SQL for the bars of ``interval`` (a subquery; PostgreSQL adds the continuous
        aggregate's bars where it keeps them)."""
        check_interval(interval)  # also guards the literal below
        return (
            "(SELECT symbol, start, open, high, low, close, volume, trades, source FROM bars "
            f"WHERE \"interval\" = '{interval}')"
        )

    def latest_prices(self, symbols=None) -> dict:
        raise NotImplementedError
