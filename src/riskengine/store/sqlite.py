"""The embedded backend: one SQLite file (stdlib sqlite3), WAL mode, one connection behind a
lock. Timestamps are stored as integer microseconds since the Unix epoch (UTC)."""

from __future__ import annotations

import datetime as dt
import logging
import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager

import numpy as np
import orjson

from riskengine.market.history import FactorHistory
from riskengine.market.tick import Tick
from riskengine.store import migrations
from riskengine.store.application import ApplicationStore
from riskengine.store.bars import (
    DAY_US,
    PartialBars,
    aggregate,
    from_us,
    import_rows,
    latest_by_symbol,
    merge_bars_sql,
    to_us,
)
from riskengine.store.base import (
    Capabilities,
    LatestPrice,
    StoreError,
    StoreUnavailable,
    WriteResult,
    check_ticks,
    daily_history,
    utc_now,
)
from riskengine.store.dialect import SQLITE
from riskengine.store.tickreads import TickReads

logger = logging.getLogger("riskengine.store")

# ON CONFLICT on the key only: INSERT OR IGNORE would also swallow NOT NULL failures silently
_INSERT_TICK = (
    "INSERT INTO ticks (venue, symbol, ts, price, size, trade_id, received_at) "
    "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (venue, symbol, trade_id, ts) DO NOTHING"
)

# Merge a partial bar into the stored one (rules: bars.merge_bars_sql).
_UPSERT_TICK_BARS = """
INSERT INTO bars (symbol, "interval", start, open, high, low, close, volume, trades, source,
                  open_ts, close_ts, open_venue, open_trade_id, close_venue, close_trade_id)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'ticks', ?, ?, ?, ?, ?, ?)
""" + merge_bars_sql("min", "max")

_UPSERT_IMPORT = """
INSERT INTO bars (symbol, "interval", start, open, high, low, close, volume, trades, source,
                  open_ts, close_ts)
VALUES (?1, '1d', ?2 * 86400000000, ?3, ?3, ?3, ?3, 0, 0, 'import',
        ?2 * 86400000000, ?2 * 86400000000)
ON CONFLICT (symbol, "interval", start, source) DO UPDATE SET
    open = excluded.open, high = excluded.high, low = excluded.low, close = excluded.close,
    volume = 0, trades = 0, open_ts = excluded.open_ts, close_ts = excluded.close_ts
"""

_LATEST_ALL = "SELECT symbol, venue, ts, price FROM latest_ticks"
_LATEST_SOME = """
SELECT symbol, venue, ts, price FROM latest_ticks
WHERE symbol IN (SELECT value FROM json_each(?))
"""
# keeps the stored tick unless the new one comes later in the tick order (ts, venue,
# trade_id): the same choice as bars.latest_by_symbol and a bar's close
_UPSERT_LATEST = """
INSERT INTO latest_ticks (symbol, venue, ts, price, trade_id) VALUES (?, ?, ?, ?, ?)
ON CONFLICT (symbol) DO UPDATE SET
    venue = excluded.venue, ts = excluded.ts, price = excluded.price, trade_id = excluded.trade_id
WHERE (excluded.ts, excluded.venue, excluded.trade_id)
    > (latest_ticks.ts, latest_ticks.venue, latest_ticks.trade_id)
"""

_LAST_TRADE_IDS = """
WITH RECURSIVE syms(symbol) AS (
    SELECT (SELECT symbol FROM ticks WHERE venue = ?1 ORDER BY symbol LIMIT 1)
    UNION ALL
    SELECT (SELECT symbol FROM ticks WHERE venue = ?1 AND symbol > syms.symbol
            ORDER BY symbol LIMIT 1)
    FROM syms WHERE syms.symbol IS NOT NULL
)
SELECT symbol, (SELECT max(trade_id) FROM ticks WHERE venue = ?1 AND symbol = syms.symbol)
FROM syms WHERE symbol IS NOT NULL
"""

_IMPORT_CHUNK = 10_000


class SQLiteStore(ApplicationStore, TickReads):
    """TickStore on one SQLite database (``path``, or ``:memory:``).

    Thread-safe: one connection, every call under one lock. Writes run in ``BEGIN IMMEDIATE``
    transactions, so a batch and its bars commit together or not at all, and another process
    writing the same file waits (up to ``timeout`` seconds, then StoreUnavailable).
    """

    dialect = SQLITE

    def __init__(self, path: str, *, timeout: float = 10.0):
        self.path = path
        self._lock = threading.RLock()
        self._closed = False
        try:
            self._conn = sqlite3.connect(
                path, timeout=timeout, isolation_level=None, check_same_thread=False
            )
        except sqlite3.Error as exc:
            raise StoreError(
                f"cannot open the SQLite database {path!r}: {exc}. Check that the directory "
                "exists and is writable, or set RISKENGINE_DATABASE_URL."
            ) from None
        try:
            with self._errors():
                if path != ":memory:":
                    self._conn.execute("PRAGMA journal_mode=WAL")
                self._conn.execute("PRAGMA synchronous=NORMAL")
                self._conn.execute("PRAGMA foreign_keys=ON")
                self._migrate()
        except BaseException:
            self._conn.close()
            raise
        self.capabilities = Capabilities("sqlite", version=sqlite3.sqlite_version)
        logger.info("store %s: %s", path, self.capabilities.describe())

    # --- plumbing -----------------------------------------------------------------------
    @contextmanager
    def _errors(self) -> Iterator[None]:
        try:
            yield
        except sqlite3.OperationalError as exc:
            msg = str(exc)
            if "locked" in msg or "busy" in msg:
                raise StoreUnavailable(
                    f"SQLite database {self.path!r} is busy ({msg}): another process is "
                    "writing to it; retry in a few seconds."
                ) from exc
            if "disk I/O" in msg or "unable to open" in msg:
                raise StoreUnavailable(
                    f"SQLite database {self.path!r} cannot be read or written ({msg}); check "
                    "the file, its directory and the free disk space, then retry."
                ) from exc
            raise StoreError(f"SQLite database {self.path!r}: {msg}") from exc
        except sqlite3.ProgrammingError as exc:
            if self._closed:
                raise StoreError(f"the store {self.path!r} is closed") from None
            raise StoreError(f"SQLite database {self.path!r}: {exc}") from exc
        except sqlite3.Error as exc:
            raise StoreError(f"SQLite database {self.path!r}: {exc}") from exc

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        """A write transaction under the lock: commit on success, roll back on any error."""
        with self._lock, self._errors():
            self._check_open()
            conn = self._conn
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise

    _transaction = _tx  # the application store's writes (store/application.py)

    def _query(self, sql: str, params: Sequence | dict = ()) -> list[tuple]:
        with self._lock, self._errors():
            self._check_open()
            return self._conn.execute(sql, params).fetchall()

    def _check_open(self) -> None:
        if self._closed:
            raise StoreError(f"the store {self.path!r} is closed")

    def _migrate(self) -> None:
        conn = self._conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            conn.execute(migrations.SQLITE_BOOTSTRAP)
            current = conn.execute(
                "SELECT coalesce(max(version), 0) FROM schema_migrations"
            ).fetchone()[0]
            for m in migrations.pending(migrations.SQLITE, current, repr(self.path)):
                for statement in m.statements:
                    conn.execute(statement)
                conn.execute(
                    "INSERT INTO schema_migrations (version, description, applied_at) "
                    "VALUES (?, ?, ?)",
                    (m.version, m.description, to_us(utc_now())),
                )
                logger.info(
                    "store %s: applied migration %d (%s)", self.path, m.version, m.description
                )
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise

    # --- ticks and bars -------------------------------------------------------------------
    def write_ticks(self, ticks: Sequence[Tick]) -> WriteResult:
        """Exactly once: ``INSERT OR IGNORE`` by the unique key, then the rows this call
        inserted (ids above the highest id before it; the write lock is held) are folded into
        the bars, all in one transaction."""
        if not ticks:
            return WriteResult(0, 0)
        check_ticks(ticks)
        rows = [
            (t.venue, t.symbol, to_us(t.ts), t.price, t.size, t.trade_id,
             None if t.received_at is None else to_us(t.received_at))
            for t in ticks
        ]  # fmt: skip
        with self._tx() as conn:
            before = conn.execute("SELECT coalesce(max(id), 0) FROM ticks").fetchone()[0]
            changes = conn.total_changes
            conn.executemany(_INSERT_TICK, rows)
            inserted = conn.total_changes - changes
            if inserted == len(rows):  # all new: fold the batch as given
                venues, symbols, ts, price, size, trade_ids, _ = zip(*rows, strict=True)
            elif inserted:
                new = conn.execute(
                    "SELECT symbol, ts, price, size, venue, trade_id FROM ticks WHERE id > ? "
                    "ORDER BY id",
                    (before,),
                ).fetchall()
                symbols, ts, price, size, venues, trade_ids = zip(*new, strict=True)
            if inserted:
                self._upsert_bars(
                    conn,
                    aggregate(symbols, np.array(ts, np.int64), price, size, venues, trade_ids),
                )
                if inserted == len(rows):
                    latest = latest_by_symbol(ticks)
                else:
                    latest = latest_by_symbol(
                        Tick(v, s, from_us(t), p, 0.0, i)
                        for v, s, t, p, i in conn.execute(
                            "SELECT venue, symbol, ts, price, trade_id FROM ticks WHERE id > ?",
                            (before,),
                        )
                    )
                conn.executemany(
                    _UPSERT_LATEST, [(s, v, to_us(t), p, i) for s, v, t, p, i in latest]
                )
        return WriteResult(len(ticks), inserted)

    def _upsert_bars(self, conn: sqlite3.Connection, parts: list[PartialBars]) -> None:
        for part in parts:
            if len(part):
                conn.executemany(_UPSERT_TICK_BARS, part.rows())

    def last_trade_ids(self, venue: str) -> dict[str, int]:
        return {s: int(t) for s, t in self._query(_LAST_TRADE_IDS, (venue,))}

    def latest_prices(self, symbols: Iterable[str] | None = None) -> dict[str, LatestPrice]:
        if symbols is None:
            rows = self._query(_LATEST_ALL)
        else:
            rows = self._query(_LATEST_SOME, (orjson.dumps(list(symbols)).decode(),))
        return {s: LatestPrice(s, v, from_us(ts), float(p)) for s, v, ts, p in rows}

    def import_daily(
        self, history: FactorHistory, *, progress: Callable[[int, int], None] | None = None
    ) -> int:
        rows = import_rows(history)
        total = len(rows)
        with self._tx() as conn:
            for i in range(0, total, _IMPORT_CHUNK):
                conn.executemany(_UPSERT_IMPORT, rows[i : i + _IMPORT_CHUNK])
                if progress is not None and i + _IMPORT_CHUNK < total:
                    progress(i + _IMPORT_CHUNK, total)
        if progress is not None:
            progress(total, total)
        return total

    def factor_history(self, symbols: Sequence[str] | None = None) -> FactorHistory:
        sql = "SELECT symbol, start, close FROM bars WHERE \"interval\" = '1d'"
        params: list = []
        if symbols is not None:
            symbols = list(symbols)
            sql += " AND symbol IN (SELECT value FROM json_each(?))"
            params.append(orjson.dumps(symbols).decode())
        sql += " ORDER BY symbol, start, source = 'import'"
        rows = self._query(sql, params)
        if not rows:
            return daily_history(symbols, [], [], [])
        sym, start, close = zip(*rows, strict=True)
        return daily_history(symbols, sym, np.array(start, dtype=np.int64) // DAY_US, close)

    def previous_close(self, symbol: str, before: dt.date) -> float | None:
        limit = to_us(dt.datetime(before.year, before.month, before.day, tzinfo=dt.UTC))
        rows = self._query(
            "SELECT close FROM bars WHERE symbol = ? AND \"interval\" = '1d' AND start < ? "
            "ORDER BY start DESC, source = 'import' DESC LIMIT 1",
            (symbol, limit),
        )
        return float(rows[0][0]) if rows else None

    # shared over the dialect: tick counts and keys, stale symbols (tickreads.py); data
    # quality, instruments, books, reports, jobs, API keys (application.py)

    # --- lifecycle ------------------------------------------------------------------------
    # SQLite has no background jobs: bars are kept by every write
    def background_jobs(self, *, now: dt.datetime | None = None) -> list:
        return []

    def run_late_jobs(self, *, now: dt.datetime | None = None) -> list:
        return []

    def keep_background_jobs(self, *, every: float = 30.0, mode: str = "run", clock=None) -> None:
        return None

    def close(self) -> None:
        with self._lock:
            if not self._closed:
                self._closed = True
                self._conn.close()

    def __repr__(self) -> str:
        return f"SQLiteStore({self.path!r})"


__all__ = ["SQLiteStore"]
