"""The server backend: PostgreSQL through psycopg 3 and a small connection pool, with
TimescaleDB (hypertable, compression, continuous aggregates) where the server has it installed
and preloaded (detected once at open, logged, recorded in ``capabilities``).

Ticks are written exactly once by (venue, symbol, trade_id, ts) with binary COPY; see
``PostgresStore.write_ticks`` and docs/store.md for the design and the measured rates.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager

import numpy as np
import psycopg
from psycopg import errors as pgerrors
from psycopg.conninfo import conninfo_to_dict
from psycopg_pool import ConnectionPool, PoolClosed, PoolTimeout

from riskengine.errors import InputError
from riskengine.market.history import FactorHistory
from riskengine.market.tick import Tick
from riskengine.store import copybin, migrations
from riskengine.store.application import ApplicationStore
from riskengine.store.bars import (
    PartialBars,
    aggregate,
    from_us,
    import_rows,
    latest_by_symbol,
    merge_bars_sql,
    tick_columns,
    to_us,
)
from riskengine.store.base import (
    LatestPrice,
    StoreError,
    StoreUnavailable,
    WriteResult,
    check_ticks,
    daily_history,
    utc_now,
)
from riskengine.store.dialect import POSTGRESQL
from riskengine.store.tickreads import TickReads
from riskengine.store.timescale import (
    CAGG_BUCKET_US,
    CAGG_INTERVAL,
    CAGG_VIEWS,
    DAY_US,
    INVALIDATION_THRESHOLD_SQL,
    MATERIALIZATION_ID_SQL,
    detect_capabilities,
    first_line,
    one_row,
    refresh_sql,
    refresh_windows,
    ticks_hypertable_id,
    watermark_sql,
)
from riskengine.store.tsjobs import MODES as JOB_MODES
from riskengine.store.tsjobs import BackgroundJob, job_health, run_late_jobs

logger = logging.getLogger("riskengine.store")

UTC = dt.UTC
_TICK_TYPES = ["text", "text", "timestamptz", "float8", "float8", "int8", "timestamptz"]
_COPY_TICKS = (
    "COPY ticks (venue, symbol, ts, price, size, trade_id, received_at) FROM STDIN (FORMAT BINARY)"
)
_COPY_STAGE = (
    "COPY stage_ticks (venue, symbol, ts, price, size, trade_id, received_at, n) "
    "FROM STDIN (FORMAT BINARY)"
)
# Per-connection staging tables (created when the pool opens a connection); emptied at commit.
_STAGING = (
    """CREATE TEMP TABLE IF NOT EXISTS stage_ticks (
        venue text, symbol text, ts timestamptz, price float8, size float8, trade_id int8,
        received_at timestamptz, n int4) ON COMMIT DELETE ROWS""",
    """CREATE TEMP TABLE IF NOT EXISTS stage_bars (
        symbol text, day int4, close float8) ON COMMIT DELETE ROWS""",
)

# The slow path: ticks that may already be stored go through the staging table; the first of
# in-batch duplicates wins, ON CONFLICT skips stored ones, RETURNING says which went in.
_INSERT_STAGED = """
INSERT INTO ticks (venue, symbol, ts, price, size, trade_id, received_at)
SELECT DISTINCT ON (venue, symbol, trade_id, ts)
       venue, symbol, ts, price, size, trade_id, received_at
FROM stage_ticks ORDER BY venue, symbol, trade_id, ts, n
ON CONFLICT (venue, symbol, trade_id, ts) DO NOTHING
RETURNING venue, symbol, trade_id, ts
"""

# Transaction-level advisory locks on the batch's (venue, symbol) pairs, taken in one fixed
# order (sorted keys; a DISTINCT subquery so the locks follow the sort): two writers of the same
# pairs queue instead of deadlocking on each other's uncommitted keys, and what the next
# statement reads of those pairs stays true until commit. Two-key form: its own key space.
_LOCK_PAIRS = """
SELECT pg_advisory_xact_lock(1381190475, q.k) FROM (
    SELECT DISTINCT hashtext(u.v || '/' || u.s) AS k
    FROM unnest(%s::text[], %s::text[]) AS u(v, s) ORDER BY k) q
"""

# Highest stored trade id of each (venue, symbol) of a batch: ticks above it cannot be stored
# yet. Kept by every write, in its transaction, under the pairs' locks (a pair whose ticks were
# deleted keeps its top: its older trade ids then take the slow path, still exactly once).
_MAX_TRADE_IDS = """
SELECT venue, symbol, trade_id FROM max_trade_ids
WHERE (venue, symbol) IN (SELECT * FROM unnest(%s::text[], %s::text[]))
"""
_UPSERT_MAX_TRADE_IDS = """
INSERT INTO max_trade_ids (venue, symbol, trade_id)
SELECT * FROM unnest(%s::text[], %s::text[], %s::int8[]) ORDER BY 1, 2
ON CONFLICT (venue, symbol) DO UPDATE SET trade_id = excluded.trade_id
WHERE excluded.trade_id > max_trade_ids.trade_id
"""

# Merge partial bars into the stored ones (rules: bars.merge_bars_sql), one statement per batch;
# rows in key order so concurrent writers lock bars in the same order.
_UPSERT_TICK_BARS = """
INSERT INTO bars (symbol, "interval", start, open, high, low, close, volume, trades, source,
                  open_ts, close_ts, open_venue, open_trade_id, close_venue, close_trade_id)
SELECT b.symbol, b.iv, b.start, b.open, b.high, b.low, b.close, b.volume, b.trades, 'ticks',
       b.open_ts, b.close_ts, b.open_venue, b.open_trade_id, b.close_venue, b.close_trade_id
FROM unnest(%s::text[], %s::text[], %s::timestamptz[], %s::float8[], %s::float8[],
            %s::float8[], %s::float8[], %s::float8[], %s::int8[], %s::timestamptz[],
            %s::timestamptz[], %s::text[], %s::int8[], %s::text[], %s::int8[])
     AS b(symbol, iv, start, open, high, low, close, volume, trades, open_ts, close_ts,
          open_venue, open_trade_id, close_venue, close_trade_id)
ORDER BY b.symbol, b.iv, b.start
""" + merge_bars_sql("least", "greatest")

_UPSERT_IMPORT = """
INSERT INTO bars (symbol, "interval", start, open, high, low, close, volume, trades, source,
                  open_ts, close_ts)
SELECT symbol, '1d', d, close, close, close, close, 0, 0, 'import', d, d
FROM (SELECT symbol, (DATE '1970-01-01' + day)::timestamp AT TIME ZONE 'UTC' AS d, close
      FROM stage_bars) s
ORDER BY symbol, d
ON CONFLICT (symbol, "interval", start, source) DO UPDATE SET
    open = excluded.open, high = excluded.high, low = excluded.low, close = excluded.close,
    volume = 0, trades = 0, open_ts = excluded.open_ts, close_ts = excluded.close_ts
"""

_LATEST_ALL = "SELECT symbol, venue, ts, price FROM latest_ticks"
_LATEST_SOME = "SELECT symbol, venue, ts, price FROM latest_ticks WHERE symbol = ANY(%s)"
# keeps the stored tick unless the new one is later (as late: from a venue earlier in byte
# order, or a later trade of the same venue): the same choice as bars.latest_by_symbol
_UPSERT_LATEST = """
INSERT INTO latest_ticks (symbol, venue, ts, price, trade_id)
SELECT * FROM unnest(%s::text[], %s::text[], %s::timestamptz[], %s::float8[], %s::int8[])
ON CONFLICT (symbol) DO UPDATE SET
    venue = excluded.venue, ts = excluded.ts, price = excluded.price, trade_id = excluded.trade_id
WHERE (excluded.ts, excluded.venue, excluded.trade_id)
    > (latest_ticks.ts, latest_ticks.venue, latest_ticks.trade_id)
"""

_LAST_TRADE_IDS = "SELECT symbol, trade_id FROM max_trade_ids WHERE venue = %(v)s"

_IMPORT_PROGRESS_EVERY = 10_000
_RETRIES = 4


class _Prepared:
    """A batch encoded as if every tick were new: the binary COPY payload, its partial bars
    (when the application keeps bars), each symbol's latest tick, the (venue, symbol) pairs and
    the highest trade id of each, its earliest and latest tick times (microseconds)."""

    __slots__ = ("first_us", "last_us", "latest", "parts", "payload", "symbols", "tops", "venues")

    def __init__(self, ticks: Sequence[Tick], bars: tuple[str, ...]):
        cols = copybin.tick_columns(ticks)
        self.first_us, self.last_us = int(cols.ts_us.min()), int(cols.ts_us.max())
        self.payload = copybin.encode(cols)
        self.parts = (
            aggregate(
                cols.symbol, cols.ts_us, cols.price, cols.size, cols.venue, cols.trade_id, bars
            )
            if bars
            else None
        )
        self.latest = latest_by_symbol(ticks)
        tops: dict[tuple[str, str], int] = {}
        for v, s, i in zip(cols.venue, cols.symbol, cols.trade_id.tolist(), strict=True):
            if tops.get((v, s), -1) < i:
                tops[v, s] = i
        self.venues = [v for v, _ in tops]
        self.symbols = [s for _, s in tops]
        # the highest trade id of each pair: (venues, symbols, trade ids) for max_trade_ids
        self.tops = (self.venues, self.symbols, list(tops.values()))


def describe_url(url: str) -> str:
    """``host:port/dbname`` of a PostgreSQL URL, without user or password (for messages)."""
    try:
        info = conninfo_to_dict(url)
    except psycopg.Error:
        return "<unparsable URL>"
    host = info.get("host") or info.get("hostaddr") or "localhost"
    return f"{host}:{info.get('port') or 5432}/{info.get('dbname') or info.get('user') or ''}"


class _Transaction:
    """A connection as the application store writes through it (``execute``, ``executemany``)."""

    def __init__(self, conn: psycopg.Connection):
        self.conn = conn

    def execute(self, sql: str, params: Sequence = (), /) -> psycopg.Cursor:
        return self.conn.execute(sql, params)

    def executemany(self, sql: str, rows: Sequence[Sequence], /) -> None:
        with self.conn.cursor() as cur:
            cur.executemany(sql, rows)


class NulInText(InputError, StoreError):
    """Text holding NUL, which PostgreSQL cannot store (SQLite can): the caller's input, refused
    as an InputError (422 in the API), and a StoreError for callers that handle those."""


NUL_TEXT = (
    "a text value (a name, symbol, id or tag) holds a NUL character (U+0000), which the "
    "database cannot store; remove it and try again."
)


def _configure(conn: psycopg.Connection) -> None:
    """Run once per new pool connection."""
    conn.execute("SET TIME ZONE 'UTC'")
    for sql in _STAGING:
        conn.execute(sql)
    conn.commit()


class PostgresStore(ApplicationStore, TickReads):
    """TickStore on PostgreSQL (optionally TimescaleDB).

    Args:
        url: ``postgresql://user:password@host:port/dbname?...`` (libpq URL).
        pool_timeout: seconds to wait for a working connection before StoreUnavailable.
        connect_timeout: libpq connect timeout (seconds), unless the URL sets one.
        min_size, max_size: connection pool bounds.

    Thread-safe (the pool hands each call its own connection). When the server goes away,
    calls raise StoreUnavailable after at most ``pool_timeout`` seconds and the failed
    transaction is rolled back; once the server is back the pool reconnects and the same
    object works again.
    """

    dialect = POSTGRESQL

    def __init__(
        self,
        url: str,
        *,
        pool_timeout: float = 3.0,
        connect_timeout: int = 3,
        min_size: int = 1,
        max_size: int = 4,
    ):
        self.url = url
        self.where = describe_url(url)
        self._timeout = float(pool_timeout)
        try:
            info = conninfo_to_dict(url)
        except psycopg.Error as exc:
            raise StoreError(
                f"database URL for PostgreSQL is malformed ({first_line(exc)}); use "
                "postgresql://USER[:PASSWORD]@HOST[:PORT]/DBNAME."
            ) from None
        kwargs: dict = {}
        if "connect_timeout" not in info:
            kwargs["connect_timeout"] = int(connect_timeout)
        # One direct connection first: its error says why (refused, no such database, bad
        # password), then migrations and capability detection.
        try:
            with psycopg.connect(url, autocommit=True, **kwargs) as conn:
                conn.execute("SET TIME ZONE 'UTC'")
                _migrate(conn, self.where)
                self.capabilities = detect_capabilities(conn)
                # continuous aggregates: the id of the ticks hypertable, whose invalidation
                # threshold says which buckets a write may have to refresh (write_ticks)
                self._ticks_hypertable: int | None = None
                self._refresh_sql = ""  # set with continuous aggregates, used only with them
                self._force_refresh_sql: str | None = None
                if self.capabilities.continuous_aggregates:
                    self._ticks_hypertable = ticks_hypertable_id(conn)
                    self._refresh_sql = refresh_sql(conn, force=False)
                    self._force_refresh_sql = refresh_sql(conn, force=True)
                    self._watermark_sql = watermark_sql(conn)
        except psycopg.OperationalError as exc:
            raise StoreUnavailable(
                f"cannot connect to PostgreSQL at {self.where}: {first_line(exc)}. Check that "
                "the server runs and the URL (RISKENGINE_DATABASE_URL) is right."
            ) from exc
        except psycopg.Error as exc:
            raise StoreError(f"PostgreSQL at {self.where}: {first_line(exc)}") from exc
        logger.info("store %s: %s", self.where, self.capabilities.describe())
        # the bar intervals the application keeps with every write (the others: aggregates)
        self._app_bars = tuple(i for i in ("1m", "1d") if not self._aggregated(i))
        self._refresh_lock = threading.Lock()
        self.refresh_every = 1.0  # seconds between refreshes of backfilled buckets
        self._pending: list[tuple[int, int]] = []  # (first_us, last_us) still to refresh
        self._pending_lock = threading.Lock()
        self._last_refresh = 0.0
        self._mat_ids: dict[str, int] = {}  # continuous aggregate -> materialisation id
        self._ran_here: dict[int, dt.datetime] = {}  # TimescaleDB job id -> our last run_job
        self._tried_here: dict[int, dt.datetime] = {}  # ... -> our last attempt
        self._keeper: threading.Thread | None = None
        #: the jobs as last read (by the keeper or a caller), for metrics that must not query
        self.last_background_jobs: list[BackgroundJob] = []
        self._closing = threading.Event()
        self._pool = ConnectionPool(
            url,
            min_size=min_size,
            max_size=max_size,
            kwargs=kwargs,
            configure=_configure,
            check=ConnectionPool.check_connection,
            timeout=self._timeout,
            # give up a background reconnection attempt soon, so that a later call starts a
            # fresh one at once instead of waiting for a long backoff
            reconnect_timeout=max(self._timeout, 1.0),
            name=f"riskengine {self.where}",
            open=False,
        )
        try:
            self._pool.open(wait=True, timeout=self._timeout)
        except PoolTimeout as exc:
            self._pool.close(timeout=0)
            raise StoreUnavailable(
                f"cannot open connections to PostgreSQL at {self.where} within {self._timeout:g} s."
            ) from exc

    # --- plumbing -----------------------------------------------------------------------
    @contextmanager
    def _connection(self) -> Iterator[psycopg.Connection]:
        """A pooled connection (committed at the end of the block, rolled back on error), with
        driver errors turned into StoreUnavailable / StoreError."""
        try:
            with self._pool.connection() as conn:
                yield conn
        except PoolTimeout as exc:
            raise StoreUnavailable(
                f"PostgreSQL at {self.where} is unreachable (no working connection within "
                f"{self._timeout:g} s); retry later."
            ) from exc
        except PoolClosed:
            raise StoreError(f"the store {self.where} is closed") from None
        except (psycopg.OperationalError, psycopg.InterfaceError) as exc:
            raise StoreUnavailable(
                f"PostgreSQL at {self.where}: {first_line(exc)} (rolled back; retry later)."
            ) from exc
        except psycopg.DataError as exc:
            if "NUL" in str(exc):  # the caller's text, not a fault of the store
                raise NulInText(NUL_TEXT) from exc
            raise StoreError(f"PostgreSQL at {self.where}: {first_line(exc)}") from exc
        except psycopg.Error as exc:
            raise StoreError(f"PostgreSQL at {self.where}: {first_line(exc)}") from exc

    def _query(self, sql: str, params: Sequence | dict | None = None) -> list[tuple]:
        with self._connection() as conn:
            return conn.execute(sql, params).fetchall()

    @contextmanager
    def _transaction(self) -> Iterator[_Transaction]:
        """The application store's writes (store/application.py): one pooled connection,
        committed at the end of the block."""
        with self._connection() as conn:
            yield _Transaction(conn)

    def _aggregated(self, interval: str) -> bool:
        """Whether the tick bars of ``interval`` come from a continuous aggregate."""
        return self.capabilities.continuous_aggregates and interval in CAGG_VIEWS

    def _bars_relation(self, interval: str) -> str:
        """SQL for the bars of ``interval`` (a subquery): the bars table, and where continuous
        aggregates are in force, their tick-built bars instead of the table's."""
        plain = super()._bars_relation(interval)  # checks the interval
        if self._pending:  # a read sees every write made through this store
            self._flush_refresh()
        if not self._aggregated(interval):
            return plain
        view = CAGG_VIEWS[interval]
        return (
            f"({plain[1:-1]} AND source <> 'ticks' UNION ALL SELECT symbol, start, open, high, "
            f"low, close, volume, trades, 'ticks' FROM {view})"
        )

    # --- ticks and bars -------------------------------------------------------------------
    def write_ticks(self, ticks: Sequence[Tick]) -> WriteResult:
        """Exactly once, in one transaction with the bars.

        Fast path: one query gives the highest stored trade id of each (venue, symbol) in the
        batch; ticks above it cannot be stored yet and go straight into ``ticks`` by binary
        COPY. The others (a reconnect overlap, a re-sent batch) go through a staging table and
        ``INSERT ... ON CONFLICT DO NOTHING RETURNING``. If the COPY still meets a stored key
        (a concurrent writer, a duplicate inside the batch), the transaction is rolled back and
        the whole batch takes the staging path. Only the ticks that went in are folded into the
        bars.

        With continuous aggregates the bars come from the ticks themselves; after the commit,
        the buckets of the batch that TimescaleDB may already have materialised are refreshed
        (``_refresh_bars``), so the bars read right after this call include the batch.
        """
        n = len(ticks)
        if n == 0:
            return WriteResult(0, 0)
        check_ticks(ticks)
        # Encoded before the transaction, as if every tick were new (the usual case): a second
        # writer encodes its batch here while the first one's COPY holds the pairs' locks.
        prep = _Prepared(ticks, self._app_bars)
        slow = False
        with self._connection() as conn:
            for attempt in range(_RETRIES):
                try:
                    with conn.transaction():
                        new, parts = self._insert_ticks(conn, ticks, slow, prep)
                        all_new = len(new) == n
                        if new:
                            if self._app_bars:
                                parts = parts or self._fold(ticks, new, self._app_bars)
                            self._upsert_bars(conn, parts if self._app_bars else None)
                            rows = prep.latest if all_new else latest_by_symbol(
                                [ticks[i] for i in new]
                            )  # fmt: skip
                            conn.execute(_UPSERT_LATEST, [list(c) for c in zip(*rows, strict=True)])
                            # every tick of the batch is stored now: its tops bound the pairs'
                            conn.execute(_UPSERT_MAX_TRADE_IDS, prep.tops)
                    if self._ticks_hypertable is not None:
                        # every tick of the batch, stored now or before: a batch retried after
                        # a failed refresh (StoreUnavailable) refreshes what the first try stored
                        self._note_refresh(conn, prep.first_us, prep.last_us)
                    return WriteResult(n, len(new))
                except pgerrors.UniqueViolation:
                    if slow:
                        raise
                    slow = True
                except (pgerrors.DeadlockDetected, pgerrors.SerializationFailure):
                    if attempt == _RETRIES - 1:
                        raise
                    slow = True
        raise AssertionError("unreachable")  # pragma: no cover

    @staticmethod
    def _fold(
        ticks: Sequence[Tick], new: Sequence[int], intervals: tuple[str, ...]
    ) -> list[PartialBars]:
        batch = ticks if len(new) == len(ticks) else [ticks[i] for i in new]
        return aggregate(*tick_columns(batch), intervals=intervals)

    def _insert_ticks(
        self, conn: psycopg.Connection, ticks: Sequence[Tick], slow: bool, prep: _Prepared
    ) -> tuple[list[int], list[PartialBars] | None]:
        """Indices (in batch order) of the ticks this call stored, and their bars when the whole
        batch was new (then they were folded before the transaction)."""
        n = len(ticks)
        conn.execute(_LOCK_PAIRS, (prep.venues, prep.symbols))
        if slow:
            fresh: Sequence[int] = ()
            maybe: Sequence[int] = range(n)
        else:
            stored = self._max_trade_ids(conn, prep.venues, prep.symbols)
            if not stored:
                fresh, maybe = range(n), ()
            else:
                fresh, maybe = [], []
                for i, t in enumerate(ticks):
                    top = stored.get((t.venue, t.symbol))
                    (maybe if top is not None and t.trade_id <= top else fresh).append(i)
        with conn.cursor() as cur:
            if len(fresh) == n:
                with cur.copy(_COPY_TICKS) as copy:
                    copy.write(prep.payload)
                return list(fresh), prep.parts
            if fresh:
                cols = copybin.tick_columns([ticks[i] for i in fresh])
                with cur.copy(_COPY_TICKS) as copy:
                    copy.write(copybin.encode(cols))
            staged = self._insert_staged(cur, ticks, maybe)
        return sorted([*fresh, *staged]), None

    @staticmethod
    def _max_trade_ids(conn: psycopg.Connection, venues: list, symbols: list) -> dict:
        return {(v, s): m for v, s, m in conn.execute(_MAX_TRADE_IDS, (venues, symbols))}

    @staticmethod
    def _insert_staged(cur: psycopg.Cursor, ticks: Sequence[Tick], idx: Sequence[int]) -> list[int]:
        with cur.copy(_COPY_STAGE) as copy:
            copy.set_types([*_TICK_TYPES, "int4"])
            for i in idx:
                t = ticks[i]
                copy.write_row(
                    (t.venue, t.symbol, t.ts, t.price, t.size, t.trade_id, t.received_at, i)
                )
        cur.execute(_INSERT_STAGED)
        inserted = cur.fetchall()
        if not inserted:
            return []
        first: dict = {}
        for i in idx:
            t = ticks[i]
            first.setdefault((t.venue, t.symbol, t.trade_id, to_us(t.ts)), i)
        return [first[(v, s, tid, to_us(ts))] for v, s, tid, ts in inserted]

    def _upsert_bars(self, conn: psycopg.Connection, parts: list[PartialBars] | None) -> None:
        """The bars part of a write, inside its transaction: merge the partial bars into
        ``bars``. None with continuous aggregates: TimescaleDB derives those bars from the
        ticks of the same transaction, so there is nothing to merge."""
        parts = [p for p in parts or () if len(p)]
        if not parts:
            return

        def cat(name):
            return np.concatenate([getattr(p, name) for p in parts])

        def times(name):
            return [from_us(x) for x in cat(name).tolist()]

        conn.execute(
            _UPSERT_TICK_BARS,
            (
                cat("symbol").tolist(),
                [p.interval for p in parts for _ in range(len(p))],
                times("start"),
                cat("open").tolist(),
                cat("high").tolist(),
                cat("low").tolist(),
                cat("close").tolist(),
                cat("volume").tolist(),
                cat("trades").tolist(),
                times("open_ts"),
                times("close_ts"),
                cat("open_venue").tolist(),
                cat("open_trade_id").tolist(),
                cat("close_venue").tolist(),
                cat("close_trade_id").tolist(),
            ),
        )

    def _note_refresh(self, conn: psycopg.Connection, first_us: int, last_us: int) -> None:
        """After a committed write of ticks in [first_us, last_us]: nothing when they are all at
        or above the invalidation threshold (live ticks: real-time aggregation shows them). Else
        their window is refreshed now, or, when a refresh ran less than ``refresh_every``
        seconds ago, kept and refreshed (merged with the next windows) by the first write after
        that, by any read of bars through this store, and at close: a backfill refreshes the
        buckets it touches about once a second instead of once a batch."""
        threshold = conn.execute(INVALIDATION_THRESHOLD_SQL, (self._ticks_hypertable,)).fetchone()
        conn.commit()
        if threshold is None or first_us >= threshold[0]:
            return
        with self._pending_lock:
            self._pending.append((first_us, last_us))
            due = time.monotonic() - self._last_refresh >= self.refresh_every
        if due:
            self._flush_refresh(conn)

    def _flush_refresh(self, conn: psycopg.Connection | None = None) -> None:
        """Refresh the kept windows (merged where they touch the same days); a window whose
        refresh fails is kept for the next try and the error raised."""
        with self._pending_lock:
            pending, self._pending = sorted(self._pending), []
            self._last_refresh = time.monotonic()
        merged: list[list[int]] = []
        for first, last in pending:
            if merged and first <= merged[-1][1] + DAY_US:
                merged[-1][1] = max(merged[-1][1], last)
            else:
                merged.append([first, last])
        for k, (first, last) in enumerate(merged):
            try:
                if conn is None:
                    with self._connection() as own:
                        self._refresh_bars(own, first, last)
                else:
                    self._refresh_bars(conn, first, last)
            except BaseException:
                with self._pending_lock:
                    self._pending.extend((w[0], w[1]) for w in merged[k:])
                raise

    def _refresh_bars(self, conn: psycopg.Connection, first_us: int, last_us: int) -> None:
        """After a committed write: refresh the continuous aggregates' buckets that hold ticks
        of [first_us, last_us] and lie wholly below the invalidation threshold (TimescaleDB may
        have materialised them; a write there is only logged, and real-time aggregation reads
        raw ticks from the watermark up, never below it). Buckets at or above the threshold are
        never materialised before the threshold moves past them, so real-time aggregation
        already shows their ticks: live ticks cost one catalog read here, no refresh.

        The threshold is read after the commit: a concurrent refresh that moved it before the
        commit is then seen. A refresh blocked by a concurrent one of an overlapping window
        is retried until ``pool_timeout``, then StoreUnavailable (the ticks are stored; the
        same batch written again refreshes their buckets)."""
        threshold = conn.execute(INVALIDATION_THRESHOLD_SQL, (self._ticks_hypertable,)).fetchone()
        conn.commit()
        if threshold is None or first_us >= threshold[0]:
            return
        windows = refresh_windows(first_us, last_us, threshold[0])
        if not windows:
            return
        deadline = time.monotonic() + self._timeout
        delay = 0.02
        with self._refresh_lock:
            conn.autocommit = True  # TimescaleDB refuses to refresh inside a transaction
            try:
                for view, start, end in windows:
                    start = self._unmaterialised_start(conn, view, start)
                    force = False
                    while True:
                        cause: BaseException | None = None
                        try:
                            self._call_refresh(conn, view, start, end, force=force)
                        except pgerrors.LockNotAvailable as exc:
                            why, cause = first_line(exc), exc
                        else:
                            missing = self._missing_ticks(conn, view, start, end)
                            if not missing:
                                break
                            why = f"{missing} ticks of the window missing from it after a refresh"
                            logger.warning(
                                "store: %s [%s, %s): %s; refreshing again (forced)",
                                view, from_us(start), from_us(end), why,
                            )  # fmt: skip
                            force = True
                        if time.monotonic() + delay > deadline:
                            raise StoreUnavailable(
                                f"PostgreSQL at {self.where}: the ticks are stored but "
                                f"{view} could not be refreshed ({why}); "
                                "write the batch again to refresh it."
                            ) from cause
                        time.sleep(delay)  # back-off before the next try, bounded above
                        delay = min(delay * 2, 0.5)
            finally:
                if not conn.closed:
                    conn.autocommit = False

    def _call_refresh(
        self, conn: psycopg.Connection, view: str, start: int, end: int, *, force: bool = False
    ) -> None:
        sql = self._force_refresh_sql if force and self._force_refresh_sql else self._refresh_sql
        conn.execute(sql, (view, from_us(start), from_us(end)))

    def _materialization_id(self, conn: psycopg.Connection, view: str) -> int:
        mat_id = self._mat_ids.get(view)
        if mat_id is None:
            row = conn.execute(MATERIALIZATION_ID_SQL, (view,)).fetchone()
            if row is None:
                raise StoreError(f"{view} is not a continuous aggregate")
            mat_id = self._mat_ids[view] = int(row[0])
        return mat_id

    def _unmaterialised_start(self, conn: psycopg.Connection, view: str, start: int) -> int:
        """Where a refresh of ``view`` up from ``start`` must begin so that it never moves the
        watermark past a bucket it has not refreshed: a refresh moves the watermark to its end,
        and below the watermark the view shows only materialised buckets. When the watermark is
        below ``start``, the ticks between it and ``start`` are shown from the raw ticks; a
        refresh of [start, end) alone would hide every one of them that TimescaleDB never
        materialised (its invalidation lost to a concurrent refresh, timescale/timescaledb
        #10219). So the window starts at the bucket of the first tick above the watermark."""
        (watermark,) = one_row(
            conn.execute(self._watermark_sql, (self._materialization_id(conn, view),))
        )
        if watermark is not None and watermark >= start:
            return start
        lower = "" if watermark is None or watermark < 0 else "AND ts >= %s "
        params = (from_us(start),) if not lower else (from_us(start), from_us(watermark))
        (first,) = one_row(
            conn.execute(
                "SELECT (extract(epoch FROM min(ts)) * 1000000)::bigint FROM ticks WHERE ts < %s "
                + lower,
                params,
            )
        )
        if first is None:
            return start
        width = CAGG_BUCKET_US[CAGG_INTERVAL[view]]
        return min(start, first - first % width)

    def _missing_ticks(self, conn: psycopg.Connection, view: str, start: int, end: int) -> int:
        """Ticks in [start, end) that ``view`` does not count (its buckets' trades), as a reader
        sees it: the oracle of a refresh. TimescaleDB 2.28 can return from a refresh that ran
        beside another (the scheduler's policy) without materialising a change committed
        before it (timescale/timescaledb#10219); a forced refresh of the window repairs it."""
        (missing,) = one_row(
            conn.execute(
                "SELECT (SELECT count(*) FROM ticks WHERE ts >= %(s)s AND ts < %(e)s) - "
                f"(SELECT coalesce(sum(trades), 0) FROM {view} WHERE start >= %(s)s "
                "AND start < %(e)s)",
                {"s": from_us(start), "e": from_us(end)},
            )
        )
        return int(missing)

    def last_trade_ids(self, venue: str) -> dict[str, int]:
        return {s: int(t) for s, t in self._query(_LAST_TRADE_IDS, {"v": venue})}

    def latest_prices(self, symbols: Iterable[str] | None = None) -> dict[str, LatestPrice]:
        if symbols is None:
            rows = self._query(_LATEST_ALL)
        else:
            rows = self._query(_LATEST_SOME, (list(symbols),))
        return {s: LatestPrice(s, v, POSTGRESQL.time_out(ts), float(p)) for s, v, ts, p in rows}

    def import_daily(
        self, history: FactorHistory, *, progress: Callable[[int, int], None] | None = None
    ) -> int:
        """COPY the closes into a staging table, then one upsert (a re-import replaces)."""
        rows = import_rows(history)
        total = len(rows)
        with self._connection() as conn, conn.transaction(), conn.cursor() as cur:
            with cur.copy("COPY stage_bars (symbol, day, close) FROM STDIN (FORMAT BINARY)") as cp:
                cp.set_types(["text", "int4", "float8"])
                for k, row in enumerate(rows, start=1):
                    cp.write_row(row)
                    if progress is not None and k % _IMPORT_PROGRESS_EVERY == 0 and k < total:
                        progress(k, total)
            cur.execute(_UPSERT_IMPORT)
        if progress is not None:
            progress(total, total)
        return total

    def factor_history(self, symbols: Sequence[str] | None = None) -> FactorHistory:
        sql = (
            "SELECT symbol, ((start AT TIME ZONE 'UTC')::date - DATE '1970-01-01'), close "
            f"FROM {self._bars_relation('1d')} b"
        )
        params: list = []
        if symbols is not None:
            symbols = list(symbols)
            sql += " WHERE symbol = ANY(%s)"
            params.append(symbols)
        sql += " ORDER BY symbol, start, source = 'import'"
        rows = self._query(sql, params)
        if not rows:
            return daily_history(symbols, [], [], [])
        sym, day, close = zip(*rows, strict=True)
        return daily_history(symbols, sym, day, close)

    def previous_close(self, symbol: str, before: dt.date) -> float | None:
        limit = dt.datetime(before.year, before.month, before.day, tzinfo=UTC)
        rows = self._query(
            f"SELECT close FROM {self._bars_relation('1d')} b WHERE symbol = %s AND start < %s "
            "ORDER BY start DESC, source = 'import' DESC LIMIT 1",
            (symbol, limit),
        )
        return float(rows[0][0]) if rows else None

    # shared over the dialect: tick counts and keys, stale symbols (tickreads.py); data
    # quality, instruments, books, reports, jobs, API keys (application.py)

    # --- lifecycle ------------------------------------------------------------------------
    # --- TimescaleDB's background jobs ---------------------------------------------------
    def background_jobs(self, *, now: dt.datetime | None = None) -> list[BackgroundJob]:
        """riskengine's TimescaleDB jobs with what is wrong with each as of ``now`` (default
        the clock; ``store/tsjobs.py``); empty without TimescaleDB."""
        if not self.capabilities.timescaledb:
            return []
        with self._connection() as conn:
            jobs = job_health(conn, now or utc_now(), dict(self._ran_here))
        self.last_background_jobs = jobs
        return jobs

    def run_late_jobs(
        self, *, now: dt.datetime | None = None
    ) -> list[tuple[BackgroundJob, str | None]]:
        """Run with ``CALL run_job`` the failing or unscheduled jobs not run (by the scheduler,
        or tried here) for at least their schedule interval as of ``now``; (job, error) per
        run. Errors are logged and returned, never raised."""
        if not self.capabilities.timescaledb:
            return []
        now = now or utc_now()
        with self._connection() as conn:
            conn.autocommit = True  # run_job commits as it goes: not inside a transaction
            try:
                jobs = job_health(conn, now, dict(self._ran_here))
                done = run_late_jobs(conn, jobs, now, dict(self._tried_here))
            finally:
                if not conn.closed:
                    conn.autocommit = False
        for job, error in done:
            self._tried_here[job.job_id] = now
            if error is None:
                self._ran_here[job.job_id] = now
                logger.info("store: ran %s here (%s)", job.name, "; ".join(job.problems))
            else:
                logger.warning("store: running %s here failed too: %s", job.name, error)
        return done

    def keep_background_jobs(
        self,
        *,
        every: float = 30.0,
        mode: str = "run",
        clock: Callable[[], dt.datetime] = utc_now,
    ) -> None:
        """Watch the TimescaleDB jobs from a daemon thread every ``every`` seconds: log each
        change in their problems and, with ``mode`` "run", run the late ones here (JOB_MODES).
        Nothing without TimescaleDB or with ``mode`` "off"; once per store."""
        if mode not in JOB_MODES:
            raise InputError(
                f"TimescaleDB jobs mode {mode!r} is not one of: {', '.join(JOB_MODES)}."
            )
        if mode == "off" or not self.capabilities.timescaledb or self._keeper is not None:
            return
        self._keeper = threading.Thread(
            target=self._keep_jobs, args=(every, mode, clock), name="riskengine-timescale-jobs",
            daemon=True,
        )  # fmt: skip
        self._keeper.start()

    def _keep_jobs(self, every: float, mode: str, clock: Callable[[], dt.datetime]) -> None:
        reported: dict[int, tuple[str, ...]] = {}
        while not self._closing.is_set():
            try:
                jobs = self.background_jobs(now=clock())
                for job in jobs:
                    if job.problems and reported.get(job.job_id) != job.problems:
                        logger.warning("store: %s", job.describe())
                    elif not job.problems and reported.get(job.job_id):
                        logger.info("store: %s", job.describe())
                    reported[job.job_id] = job.problems
                if mode == "run" and any(j.problems for j in jobs):
                    self.run_late_jobs(now=clock())
            except StoreError as exc:  # the store is down or closing: the next round tries again
                if not self._closing.is_set():
                    logger.warning("store: could not check the TimescaleDB jobs: %s", exc)
            self._closing.wait(every)

    def close(self) -> None:
        self._closing.set()
        if self._pending:
            try:
                self._flush_refresh()
            except StoreError as exc:
                logger.warning("store: closing with aggregate buckets not refreshed: %s", exc)
        self._pool.close()

    def __repr__(self) -> str:
        return f"PostgresStore({self.where!r})"


# --- migrations -------------------------------------------------------------------------------
_MIGRATION_LOCK = 0x52_49_53_4B  # pg_advisory_xact_lock key: one migrator at a time


def _migrate(conn: psycopg.Connection, where: str) -> None:
    """Apply the pending migrations in one transaction (``conn`` is in autocommit mode)."""
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK,))
        conn.execute(migrations.POSTGRES_BOOTSTRAP)
        current = conn.execute("SELECT coalesce(max(version), 0) FROM schema_migrations")
        current = one_row(current)[0]
        for m in migrations.pending(migrations.POSTGRES, current, where):
            for statement in m.statements:
                conn.execute(statement)
            conn.execute(
                "INSERT INTO schema_migrations (version, description) VALUES (%s, %s)",
                (m.version, m.description),
            )
            logger.info("store %s: applied migration %d (%s)", where, m.version, m.description)
