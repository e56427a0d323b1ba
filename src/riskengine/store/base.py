"""The TickStore protocol: one interface, two backends (SQLite embedded default; PostgreSQL,
with TimescaleDB where it is installed and preloaded). The same tests run against both."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from operator import attrgetter, itemgetter
from typing import Protocol

import numpy as np

from riskengine._moved import moved_names
from riskengine.errors import RiskEngineError
from riskengine.market.history import FactorHistory
from riskengine.market.tick import MAX_TRADE_ID, Tick

_TS, _RECEIVED, _TZINFO = itemgetter(2), itemgetter(6), attrgetter("tzinfo")
_PRICE, _SIZE, _ID = itemgetter(3), itemgetter(4), itemgetter(5)


class StoreError(RiskEngineError):
    """The store rejected a request (bad URL, schema newer than this code, ...)."""


class StoreUnavailable(StoreError):
    """The database cannot be reached right now; the caller keeps its data and retries."""


@dataclass(frozen=True, slots=True)
class WriteResult:
    """What one ``write_ticks`` call did.

    Attributes:
        received: ticks passed in.
        inserted: ticks stored by this call (the rest were already stored: duplicates).
    """

    received: int
    inserted: int

    @property
    def duplicates(self) -> int:
        return self.received - self.inserted


@dataclass(frozen=True, slots=True)
class Bar:
    """An OHLCV bar. ``interval`` is ``1m`` or ``1d``; ``start`` is the bar's opening time
    (UTC, minute or midnight); ``source`` is ``ticks`` (built from stored ticks) or
    ``import`` (imported daily history)."""

    symbol: str
    interval: str
    start: dt.datetime
    open: float
    high: float
    low: float
    close: float
    volume: float
    trades: int
    source: str = "ticks"


@dataclass(frozen=True, slots=True)
class LatestPrice:
    symbol: str
    venue: str
    ts: dt.datetime
    price: float


@dataclass(frozen=True, slots=True)
class QualityEvent:
    """A recorded data-quality finding: ``kind`` is ``gap`` (missing trades by id), ``jump``
    (a tick far from the previous close), ``stale`` (no tick for too long), ``overflow`` (the
    ingest buffer was full: trades not read while it was), ``malformed`` (bad frames),
    ``rejected`` (a batch the store refused repeatedly, dropped)."""

    ts: dt.datetime
    kind: str
    symbol: str | None
    venue: str | None
    detail: str
    count: int = 1


@dataclass(frozen=True, slots=True)
class Capabilities:
    """What the backend runs with, detected once at open and logged."""

    backend: str  # "sqlite" | "postgresql"
    timescaledb: bool = False  # hypertable for ticks
    compression: bool = False  # community licence: compression + policy
    continuous_aggregates: bool = False  # 1m/1d bars as continuous aggregates
    version: str = ""

    def describe(self) -> str:
        if self.backend == "sqlite":
            return f"SQLite {self.version} (embedded, WAL), bars maintained by the application"
        if not self.timescaledb:
            return f"PostgreSQL {self.version}, plain tables, bars maintained by the application"
        parts = ["hypertable"]
        parts.append("compression" if self.compression else "no compression (licence)")
        parts.append(
            "continuous aggregates" if self.continuous_aggregates else "application-built bars"
        )
        return f"PostgreSQL {self.version} + TimescaleDB: " + ", ".join(parts)


class MarketDataStore(Protocol):
    """Ticks, bars, daily history and data quality (per backend: ``sqlite.py``,
    ``postgres.py``; the data-quality events are written by ``application.py``'s SQL).

    Every method is synchronous and thread-safe (the ingest service calls it from a worker
    thread). Connection failures raise ``StoreUnavailable`` and leave nothing half-written: a
    batch of ticks and the bars built from it commit together or not at all.
    """

    capabilities: Capabilities

    # --- ticks and bars ---------------------------------------------------------------
    def write_ticks(self, ticks: Sequence[Tick]) -> WriteResult:
        """Store ticks exactly once by (venue, symbol, trade_id, ts) and fold the newly stored
        ones into the 1-minute and daily bars, in one transaction."""
        ...

    def count_ticks(self, *, venue: str | None = None, symbol: str | None = None) -> int: ...

    def tick_keys(self, *, venue: str | None = None) -> list[tuple[str, str, int]]:
        """(venue, symbol, trade_id) of every stored tick (for tests and audits)."""
        ...

    def last_trade_ids(self, venue: str) -> dict[str, int]:
        """symbol -> highest stored trade id on ``venue`` (where a restarted ingest resumes)."""
        ...

    def latest_prices(self, symbols: Iterable[str] | None = None) -> dict[str, LatestPrice]: ...

    def bars(self, symbol: str, interval: str, *, start: dt.datetime | None = None,
             end: dt.datetime | None = None) -> list[Bar]: ...  # fmt: skip

    def import_daily(self, history: FactorHistory, *,
                     progress: Callable[[int, int], None] | None = None) -> int:  # fmt: skip
        """Store daily closes as ``1d`` bars with source ``import`` (re-import replaces them);
        returns rows written. ``progress(done, total)`` is called as rows go in."""
        ...

    def factor_history(self, symbols: Sequence[str] | None = None) -> FactorHistory:
        """Daily closes from the ``1d`` bars (imported or built from ticks; an imported close
        wins on a day that has both), aligned on the union of dates."""
        ...

    def previous_close(self, symbol: str, before: dt.date) -> float | None:
        """The last daily close strictly before ``before`` (for jump checks)."""
        ...

    # --- data quality -----------------------------------------------------------------
    def record_quality(self, events: Sequence[QualityEvent]) -> None: ...

    def quality_events(self, *, kind: str | None = None, since: dt.datetime | None = None
                       ) -> list[QualityEvent]: ...  # fmt: skip

    def stale_symbols(self, now: dt.datetime, stale_after: dt.timedelta) -> dict[str, dt.datetime]:
        """symbol -> last tick time, for symbols whose last tick is older than ``stale_after``."""
        ...

    # --- background work of the database (TimescaleDB's jobs; none elsewhere) --------------
    def background_jobs(self, *, now: dt.datetime | None = None) -> list: ...

    def run_late_jobs(self, *, now: dt.datetime | None = None) -> list: ...

    def keep_background_jobs(
        self, *, every: float = 30.0, mode: str = "run", clock=None
    ) -> None: ...

    # --- lifecycle ----------------------------------------------------------------------
    def schema_version(self) -> int: ...

    def close(self) -> None: ...


class AppStore(Protocol):
    """Instruments, books, risk reports, jobs and API keys: the application's rows, written
    once for both backends over a dialect (``application.ApplicationStore``). Synchronous and
    thread-safe; connection failures raise ``StoreUnavailable``."""

    # --- instruments, books, reports, jobs -------------------------------------------
    def upsert_instruments(self, rows: Sequence[dict]) -> None:
        """Insert or replace instruments by ``symbol``: keys ``symbol`` (required),
        ``asset_class``, ``currency``, ``venue_symbols`` (venue -> the venue's name); any other
        key is kept as extra data and given back by ``instruments``."""
        ...

    def instruments(self) -> list[dict]:
        """Every instrument as ``upsert_instruments`` stored it, by symbol."""
        ...

    def save_portfolio(self, tenant: str, name: str, portfolio_json: str, *,
                       portfolio_id: int | None = None) -> int:  # fmt: skip
        """A new book (its id), or with ``portfolio_id`` that book of ``tenant`` replaced
        (StoreError if the tenant has none)."""
        ...

    def load_portfolio(self, tenant: str, portfolio_id: int) -> tuple[str, str] | None:
        """(name, portfolio JSON) or None."""
        ...

    def list_portfolios(self, tenant: str) -> list[tuple[int, str]]: ...

    def delete_portfolio(self, tenant: str, portfolio_id: int) -> bool: ...

    def save_report(self, tenant: str, portfolio_id: int | None, as_of: dt.date,
                    method: str, report_json: str, *, keep_days: int = 0,
                    keep_per_day: int = 0) -> int:  # fmt: skip
        """Add a report to the risk history and thin the book's history (keep the
        ``keep_per_day`` latest per method and market date, drop market dates ``keep_days``
        business days or more before ``as_of``; 0: keep)."""
        ...

    def reports(self, tenant: str, portfolio_id: int | None = None, *, limit: int = 100,
                before: int | None = None, method: str | None = None,
                since: dt.datetime | None = None,
                ) -> list[tuple[int, dt.datetime, str]]:  # fmt: skip
        """(id, created_at, report JSON), newest first (then by id, descending): with
        ``before`` (a report id) those that come after that report, with ``method`` that
        method's only, with ``since`` those created at or after it."""
        ...

    def save_job(self, tenant: str, job_id: str, kind: str, state: str, progress: float,
                 request_json: str, result_json: str | None = None,
                 error: str | None = None) -> None:  # fmt: skip
        """Insert or replace the job's row, ``updated_at`` = now (a heartbeat too). A finished
        row (succeeded, failed, cancelled) is replaced only by another finished state: a late
        progress write never brings a job back to queued or running."""
        ...

    def load_job(self, tenant: str, job_id: str) -> dict | None: ...

    def jobs(self, tenant: str, *, limit: int = 100, before: str | None = None) -> list[dict]: ...

    def touch_jobs(self, jobs: Sequence[tuple[str, str]]) -> set[tuple[str, str]]:
        """The heartbeat: ``updated_at`` = now for those of ``jobs`` ((tenant, id) pairs) that
        are still queued or running; returns those pairs (a pair left out has finished, or
        has gone)."""
        ...

    def interrupt_jobs(self, error: str, *, updated_before: dt.datetime | None = None,
                       job: tuple[str, str] | None = None) -> int:  # fmt: skip
        """Mark queued or running jobs failed with ``error``: every one, or with
        ``updated_before`` only those whose heartbeat (``updated_at``) is older; with ``job``
        ((tenant, id)) only that one. Returns how many."""
        ...

    def save_api_key(self, key_id: str, tenant: str, secret_hash: str, label: str = "") -> None: ...

    def api_keys(self, tenant: str | None = None, key_id: str | None = None) -> list[dict]: ...

    def revoke_api_key(self, key_id: str) -> bool: ...


class TickStore(MarketDataStore, AppStore, Protocol):
    """Both parts on one database: what ``open_store`` returns (``SQLiteStore``,
    ``PostgresStore``)."""


# --- helpers shared by the backends ---------------------------------------------------------

INTERVAL_NAMES = ("1m", "1d")


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def check_interval(interval: str) -> str:
    if interval not in INTERVAL_NAMES:
        raise StoreError(f"bar interval {interval!r} is not stored; use one of {INTERVAL_NAMES}.")
    return interval


def check_json(text: str | None, what: str) -> str | None:
    """``text`` unchanged if it is valid JSON (or None); StoreError naming ``what`` otherwise."""
    if text is None:
        return None
    import orjson

    try:
        orjson.loads(text)
    except (orjson.JSONDecodeError, TypeError) as exc:
        raise StoreError(f"{what} is not valid JSON ({exc}); pass a JSON document.") from None
    return text


_INSTRUMENT_COLUMNS = ("symbol", "asset_class", "currency", "venue_symbols")


def split_instrument(row: dict) -> tuple[str, str | None, str | None, str, str]:
    """(symbol, asset_class, currency, venue_symbols JSON, extra JSON) of an instrument dict."""
    import orjson

    symbol = row.get("symbol")
    if not isinstance(symbol, str) or not symbol:
        raise StoreError(f"instrument {row!r} has no symbol; every row needs a 'symbol' key.")
    extra = {k: v for k, v in row.items() if k not in _INSTRUMENT_COLUMNS and k != "extra"}
    extra.update(row.get("extra") or {})
    return (
        symbol,
        row.get("asset_class"),
        row.get("currency"),
        orjson.dumps(row.get("venue_symbols") or {}).decode(),
        orjson.dumps(extra, option=orjson.OPT_SORT_KEYS).decode(),
    )


def join_instrument(symbol, asset_class, currency, venue_symbols_json, extra_json) -> dict:
    import orjson

    out = {
        "symbol": symbol,
        "asset_class": asset_class,
        "currency": currency,
        "venue_symbols": orjson.loads(venue_symbols_json or "{}"),
    }
    out.update(orjson.loads(extra_json or "{}"))
    return out


def unknown_symbol(symbol: str) -> Exception:
    from riskengine.errors import UnknownSymbolError

    return UnknownSymbolError(
        f"no daily bars for {symbol!r} in the store: import its history "
        "(riskengine import FILE) or ingest its ticks first."
    )


def daily_history(symbols: Sequence[str] | None, rows_symbol: Sequence[str], day, close
                  ) -> FactorHistory:  # fmt: skip
    """FactorHistory from daily closes given column-wise, sorted by (symbol, day) with, on a
    day that has several closes, the winning one last (imported after tick-built).

    ``day`` is days since the Unix epoch (int), ``close`` floats; ``symbols`` None means every
    symbol present, sorted. Dates are the union of the dates of the chosen symbols.
    """
    import numpy as np

    day = np.asarray(day, dtype=np.int64)
    close = np.asarray(close, dtype=np.float64)
    present = sorted(set(rows_symbol))
    if symbols is None:
        if not present:
            from riskengine.errors import InsufficientHistoryError

            raise InsufficientHistoryError(
                "the store holds no daily bars: import history (riskengine import FILE) "
                "or ingest ticks first."
            )
        symbols = present
    symbols = tuple(symbols)
    have = set(present)
    for s in symbols:
        if s not in have:
            raise unknown_symbol(s)
    column = {s: j for j, s in enumerate(symbols)}
    codes = np.fromiter((column.get(s, -1) for s in rows_symbol), np.int64, len(rows_symbol))
    keep = codes >= 0
    n = len(codes)
    # the last row of each (symbol, day) run wins
    last = np.ones(n, dtype=bool)
    if n > 1:
        last[:-1] = (codes[1:] != codes[:-1]) | (day[1:] != day[:-1])
    keep &= last
    codes, day, close = codes[keep], day[keep], close[keep]
    days, row = np.unique(day, return_inverse=True)
    prices = np.full((len(days), len(symbols)), np.nan)
    prices[row, codes] = close
    return FactorHistory(days.astype("datetime64[D]"), symbols, prices)


def check_ticks(ticks: Sequence[Tick]) -> None:
    """StoreError unless every tick time is timezone-aware (naive times are ambiguous).

    Written with C-level getters: it runs on every batch of the ingest hot path."""
    naive = None in set(map(_TZINFO, map(_TS, ticks)))
    if not naive:
        received = set(map(_RECEIVED, ticks))
        received.discard(None)
        naive = None in set(map(_TZINFO, received))
    if naive:
        t = next(t for t in ticks if t.ts.tzinfo is None
                 or (t.received_at is not None and t.received_at.tzinfo is None))  # fmt: skip
        raise StoreError(
            f"tick {t.venue}/{t.symbol}/{t.trade_id} has a naive time; ts and received_at "
            "must be timezone-aware (UTC)."
        )
    price = np.fromiter(map(_PRICE, ticks), np.float64, len(ticks))
    size = np.fromiter(map(_SIZE, ticks), np.float64, len(ticks))
    ids = list(map(_ID, ticks))
    if (
        not (np.isfinite(price).all() and (price > 0).all())
        or not (np.isfinite(size).all() and (size >= 0).all())
        or min(ids) < 0
        or max(ids) >= MAX_TRADE_ID
    ):
        t = next(t for t in ticks if not (0 < t.price < math.inf and 0 <= t.size < math.inf
                                          and 0 <= t.trade_id < MAX_TRADE_ID))  # fmt: skip
        raise StoreError(
            f"tick {t.venue}/{t.symbol}/{t.trade_id} cannot be stored: price {t.price!r} must "
            f"be finite and > 0, size {t.size!r} finite and >= 0, trade_id an integer from 0 "
            "to 2**63 - 1. Fix the feed's parser or drop the tick."
        )


# ``check_aware`` checked more than time zones; its name until this release
__getattr__ = moved_names(
    "riskengine.store.base", {"check_aware": ("riskengine.store.base", "check_ticks")}
)
