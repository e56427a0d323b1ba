"""TimescaleDB in the PostgreSQL store: detection (any role), the hypertable, compression, the
``bars_1m`` continuous aggregate and the SQL of its refreshes. Each step is small, logged and
optional: a server without TimescaleDB, or one that refuses a step, keeps plain tables. The
refreshes after a write run in ``postgres.PostgresStore``; the background jobs' health is in
``tsjobs.py``."""

from __future__ import annotations

import logging
from typing import Literal, overload

import psycopg

from riskengine.store.base import Capabilities, StoreError

logger = logging.getLogger("riskengine.store")


def one_row(cur: psycopg.Cursor) -> tuple:
    """The row of a query that always returns one (an aggregate, SHOW, a function call)."""
    row = cur.fetchone()
    if row is None:
        raise StoreError("PostgreSQL returned no row for a query that always returns one")
    return row


def first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


# --- TimescaleDB: detected once at open; each step small, logged, and optional ----------------
# One continuous aggregate, for the 1-minute bars. The daily tick bars are kept by every write
# (the application's upsert, as without TimescaleDB): a refresh re-aggregates whole buckets, so a
# daily aggregate re-read every tick of the day at each refresh of a backfill, while the
# upsert costs what the batch holds. A bars_1d aggregate of an older set-up is folded into the
# bars table and dropped at open.
CAGG_VIEWS = {"1m": "bars_1m"}
CAGG_INTERVAL = {view: interval for interval, view in CAGG_VIEWS.items()}
_CAGG_BUCKETS = {"1m": "1 minute"}
CAGG_BUCKET_US = {"1m": 60_000_000}
DAY_US = 86_400_000_000
# compression: one segment per (venue, symbol) series, ordered by time then trade id; every
# column of the unique key (ts, venue, symbol, trade_id) is in one or the other, so checking a
# key against compressed chunks decompresses only that series' batches around ts (TimescaleDB
# warns about a unique-key column in neither)
COMPRESS_SEGMENTBY = ("venue", "symbol")
COMPRESS_ORDERBY = ("ts", "trade_id")
COMPRESS_AFTER = "7 days"
# The hypertable's continuous-aggregate invalidation threshold (microseconds since the Unix
# epoch): writes below it are logged for a refresh instead of being seen by real-time
# aggregation. TimescaleDB's catalog, unchanged since 2.0.
INVALIDATION_THRESHOLD_SQL = (
    "SELECT watermark FROM _timescaledb_catalog.continuous_aggs_invalidation_threshold "
    "WHERE hypertable_id = %s"
)
MATERIALIZATION_ID_SQL = (
    "SELECT mat_hypertable_id FROM _timescaledb_catalog.continuous_agg "
    "WHERE user_view_schema = current_schema() AND user_view_name = %s"
)
_REFRESH_CAGG = "CALL refresh_continuous_aggregate(%s::regclass, %s::timestamptz, %s::timestamptz"
# refresh policy per view: (start_offset, end_offset, schedule_interval); the window covers
# more than two buckets as TimescaleDB requires
_CAGG_POLICIES = {"1m": ("2 hours", "1 minute", "1 minute")}


def server_version(conn: psycopg.Connection) -> str:
    return str(one_row(conn.execute("SHOW server_version"))[0]).split()[0]


def timescale_available(conn: psycopg.Connection) -> tuple[bool, str]:
    """(usable, why): usable when the extension is installed on the server, preloaded, and
    created in this database or creatable by this role. Works for any role: whether the
    library is preloaded is read from the settings its loader defines at server start
    (``shared_preload_libraries`` itself is readable by superusers and pg_read_all_settings
    only). CREATE EXTENSION on a server that does not preload it kills the connection, so it is
    never attempted then."""
    row = conn.execute(
        "SELECT default_version, installed_version FROM pg_available_extensions "
        "WHERE name = 'timescaledb'"
    ).fetchone()
    if row is None:
        return False, "the timescaledb extension is not installed on the server"
    available, installed = row
    loader = conn.execute(
        "SELECT 1 FROM pg_settings WHERE name = 'timescaledb.max_background_workers' "
        "AND vartype = 'integer'"
    ).fetchone()
    if loader is None:
        return False, (
            f"timescaledb {available} is installed on the server but not preloaded: its "
            "administrator must add it to shared_preload_libraries and restart the server"
        )
    if installed is not None:
        return True, f"timescaledb {installed} preloaded and created in this database"
    role, may_create = one_row(
        conn.execute("SELECT current_user, has_database_privilege(current_database(), 'CREATE')")
    )
    if not may_create:
        return False, (
            f"timescaledb {available} is preloaded but not created in this database, and role "
            f"{role!r} may not create it: run CREATE EXTENSION timescaledb in it as its owner "
            f"or a superuser, or GRANT CREATE ON DATABASE to {role!r} (docs/store.md#roles)"
        )
    return True, f"timescaledb {available} preloaded; created in this database by {role!r}"


def _version_tuple(version: str) -> tuple[int, ...]:
    out = []
    for part in version.split("."):
        digits = "".join(ch for ch in part if ch.isdigit())
        out.append(int(digits) if digits else 0)
    return tuple(out)


def hypertable_sql(timescale_version: str) -> str:
    """create_hypertable for ``ticks`` with 1-day chunks: the dimension-builder form from
    TimescaleDB 2.13, the older positional form before. No index of its own on ts: the unique
    key leads with ts (migration 6) and serves time ranges; a second index would cost every
    insert (about a sixth of the rate)."""
    if _version_tuple(timescale_version) >= (2, 13):
        return (
            "SELECT create_hypertable('ticks', by_range('ts', INTERVAL '1 day'), "
            "create_default_indexes => false, migrate_data => true)"
        )
    return (
        "SELECT create_hypertable('ticks', 'ts', chunk_time_interval => INTERVAL '1 day', "
        "create_default_indexes => false, migrate_data => true)"
    )


# The tick order of store/bars.py, (ts, venue, trade_id), as one bytea whose byte order is
# that order: TimescaleDB's first/last need a type with "<" that its materialisation can store
# (an anonymous row cannot be; a named composite has no "<" there). The timestamp's binary
# form (microseconds since 2000-01-01, big-endian: one C call, where arithmetic on the epoch
# is numeric and cost a third of a refresh; a 1-minute bucket never straddles 2000-01-01, so
# the sign never matters), the venue's bytes, a NUL (text holds none, so "kr" < "kraken"), the
# trade id (never negative). An aggregate defined with an older order is made again at open.
TICK_ORDER = "timestamptz_send(ts) || textsend(venue) || '\\x00'::bytea || int8send(trade_id)"
_TICK_ORDER_MARK = "timestamptz_send("


def continuous_aggregate_sql(interval: str) -> str:
    """The continuous aggregate of tick-built bars of ``interval`` (real-time: rows not yet
    materialised are computed from ticks at query time; TimescaleDB 2.13 and later make new
    ones materialised-only unless told otherwise)."""
    bucket = f"time_bucket(INTERVAL '{_CAGG_BUCKETS[interval]}', ts)"
    return (
        f"CREATE MATERIALIZED VIEW IF NOT EXISTS {CAGG_VIEWS[interval]} "
        "WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS "
        f"SELECT symbol, {bucket} AS start, first(price, {TICK_ORDER}) AS open, "
        f"max(price) AS high, min(price) AS low, last(price, {TICK_ORDER}) AS close, "
        "sum(size) AS volume, "
        "count(*) AS trades, min(ts) AS open_ts, max(ts) AS close_ts "
        f"FROM ticks GROUP BY symbol, {bucket} WITH NO DATA"
    )


def continuous_aggregate_policy_sql(interval: str) -> str:
    start, end, every = _CAGG_POLICIES[interval]
    return (
        f"SELECT add_continuous_aggregate_policy('{CAGG_VIEWS[interval]}', "
        f"start_offset => INTERVAL '{start}', end_offset => INTERVAL '{end}', "
        f"schedule_interval => INTERVAL '{every}', if_not_exists => true)"
    )


def refresh_windows(first_us: int, last_us: int, threshold_us: int) -> list[tuple[str, int, int]]:
    """(view, start_us, end_us) to refresh after ticks in [first_us, last_us] were written:
    each view's buckets from the first tick's to the last tick's, cut at the last whole bucket
    below the invalidation threshold (TimescaleDB materialises nothing beyond it)."""
    out = []
    for interval, width in CAGG_BUCKET_US.items():
        start = first_us - first_us % width
        end = min(last_us - last_us % width + width, threshold_us - threshold_us % width)
        if start < end:
            out.append((CAGG_VIEWS[interval], start, end))
    return out


def _refresh_takes(conn: psycopg.Connection, argument: str) -> bool:
    return one_row(
        conn.execute(
            "SELECT EXISTS (SELECT 1 FROM pg_proc WHERE proname = 'refresh_continuous_aggregate' "
            "AND %s = ANY(proargnames))",
            (argument,),
        )
    )[0]


@overload
def refresh_sql(conn: psycopg.Connection, *, force: Literal[False]) -> str: ...


@overload
def refresh_sql(conn: psycopg.Connection, *, force: bool = False) -> str | None: ...


def refresh_sql(conn: psycopg.Connection, *, force: bool = False) -> str | None:
    """CALL refresh_continuous_aggregate(view, start, end): in one pass where the procedure
    takes ``options`` (TimescaleDB 2.28 and later split a manual refresh into batches of 10
    buckets by default, three transactions each: about 1.2 s for a few days of 1-minute
    buckets, against 10 ms in one pass). With ``force``: re-aggregating the window whatever
    its invalidation logs say (TimescaleDB 2.18 and later; None before)."""
    sql = _REFRESH_CAGG
    if force:
        if not _refresh_takes(conn, "force"):
            return None
        sql += ", force => true"
    if _refresh_takes(conn, "options"):
        sql += ", options => '{\"buckets_per_batch\": 0}'::jsonb"
    return sql + ")"


def watermark_sql(conn: psycopg.Connection) -> str:
    """SELECT the watermark of a continuous aggregate (its materialisation id) in microseconds:
    below it the view shows materialised buckets only. The function moved from
    ``_timescaledb_internal`` to ``_timescaledb_functions`` in TimescaleDB 2.12."""
    row = conn.execute(
        "SELECT n.nspname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
        "WHERE p.proname = 'cagg_watermark' AND n.nspname IN "
        "('_timescaledb_functions', '_timescaledb_internal') "
        "ORDER BY n.nspname = '_timescaledb_functions' DESC LIMIT 1"
    ).fetchone()
    if row is None:
        raise StoreError("TimescaleDB's cagg_watermark function was not found")
    return f"SELECT {row[0]}.cagg_watermark(%s)"


def ticks_hypertable_id(conn: psycopg.Connection) -> int:
    """TimescaleDB's id of the ``ticks`` hypertable (its invalidation threshold's key)."""
    row = conn.execute(
        "SELECT id FROM _timescaledb_catalog.hypertable "
        "WHERE schema_name = current_schema() AND table_name = 'ticks'"
    ).fetchone()
    if row is None:
        raise StoreError("ticks is not a TimescaleDB hypertable")
    return int(row[0])


def _make_hypertable(conn: psycopg.Connection, version: str) -> None:
    exists = conn.execute(
        "SELECT 1 FROM timescaledb_information.hypertables "
        "WHERE hypertable_schema = current_schema() AND hypertable_name = 'ticks'"
    ).fetchone()
    if not exists:
        conn.execute(hypertable_sql(version))
        logger.info("store: ticks is now a hypertable (1-day chunks)")


def compression_sql() -> str:
    return (
        "ALTER TABLE ticks SET (timescaledb.compress, "
        f"timescaledb.compress_segmentby = '{', '.join(COMPRESS_SEGMENTBY)}', "
        f"timescaledb.compress_orderby = '{', '.join(COMPRESS_ORDERBY)}')"
    )


def _enable_compression(conn: psycopg.Connection) -> bool:
    enabled = conn.execute(
        "SELECT compression_enabled FROM timescaledb_information.hypertables "
        "WHERE hypertable_schema = current_schema() AND hypertable_name = 'ticks'"
    ).fetchone()
    if not (enabled and enabled[0]):
        conn.execute(compression_sql())
        logger.info(
            "store: compression enabled on ticks (segment by %s; order by %s)",
            ", ".join(COMPRESS_SEGMENTBY),
            ", ".join(COMPRESS_ORDERBY),
        )
    conn.execute(
        f"SELECT add_compression_policy('ticks', INTERVAL '{COMPRESS_AFTER}', "
        "if_not_exists => true)"
    )
    return True


def _create_continuous_aggregates(conn: psycopg.Connection) -> bool:
    """bars_1m over ticks, with its refresh policy (autocommit: TimescaleDB refuses to create or
    refresh it inside a transaction). The invalidation threshold that write_ticks reads must be
    readable, else the application keeps building the bars. A bars_1d aggregate of an older
    set-up is folded into the bars table (its daily tick bars, kept by the writes from now on)
    and dropped."""
    conn.execute(INVALIDATION_THRESHOLD_SQL, (ticks_hypertable_id(conn),)).fetchall()
    for interval in CAGG_VIEWS:
        view = CAGG_VIEWS[interval]
        existed = _cagg_definition(conn, view)
        if existed and _TICK_ORDER_MARK not in existed:  # an older tick order: made again
            conn.execute(f"DROP MATERIALIZED VIEW {view}")
            logger.info("store: continuous aggregate %s made again (tick order on ties)", view)
            existed = None
        conn.execute(continuous_aggregate_sql(interval))
        conn.execute(continuous_aggregate_policy_sql(interval))
        if not existed:
            conn.execute(refresh_sql(conn, force=False), (view, None, None))
            logger.info("store: continuous aggregate %s created", view)
    if _cagg_definition(conn, "bars_1d") is not None:
        with conn.transaction():
            moved = conn.execute(
                'INSERT INTO bars (symbol, "interval", start, open, high, low, close, volume, '
                "trades, source, open_ts, close_ts) SELECT symbol, '1d', start, open, high, low, "
                "close, volume, trades, 'ticks', open_ts, close_ts FROM bars_1d "
                'ON CONFLICT (symbol, "interval", start, source) DO NOTHING'
            ).rowcount
            conn.execute("DROP MATERIALIZED VIEW bars_1d")
        logger.info("store: %d daily tick bars moved from the aggregate bars_1d to bars", moved)
    return True


def _cagg_definition(conn: psycopg.Connection, view: str) -> str | None:
    row = conn.execute(
        "SELECT view_definition FROM timescaledb_information.continuous_aggregates "
        "WHERE view_schema = current_schema() AND view_name = %s",
        (view,),
    ).fetchone()
    return row[0] if row else None


def detect_capabilities(conn: psycopg.Connection) -> Capabilities:
    """Detect (and set up, idempotently) what TimescaleDB offers; plain tables otherwise.
    ``conn`` must be in autocommit mode. A failing optional step is logged and left off."""
    version = server_version(conn)
    usable, why = timescale_available(conn)
    if not usable:
        logger.info("store: TimescaleDB not used: %s", why)
        return Capabilities("postgresql", version=version)
    try:
        conn.execute("CREATE EXTENSION IF NOT EXISTS timescaledb")
        ts_version = one_row(
            conn.execute("SELECT extversion FROM pg_extension WHERE extname = 'timescaledb'")
        )[0]
        _make_hypertable(conn, ts_version)
    except psycopg.errors.DatabaseError as exc:
        logger.warning(
            "store: TimescaleDB present but not usable (%s); plain tables", first_line(exc)
        )
        return Capabilities("postgresql", version=version)
    licence = one_row(conn.execute("SELECT current_setting('timescaledb.license', true)"))[0]
    compression = caggs = False
    if licence == "timescale":
        try:
            compression = _enable_compression(conn)
        except psycopg.errors.DatabaseError as exc:
            logger.warning("store: TimescaleDB compression not enabled: %s", first_line(exc))
        try:
            caggs = _create_continuous_aggregates(conn)
        except (psycopg.errors.DatabaseError, StoreError) as exc:
            logger.warning("store: continuous aggregates not created: %s", first_line(exc))
    else:
        logger.info(
            "store: TimescaleDB licence %r: no compression, no continuous aggregates "
            "(community features need timescaledb.license = 'timescale')",
            licence,
        )
    caps = Capabilities(
        "postgresql",
        timescaledb=True,
        compression=compression,
        continuous_aggregates=caggs,
        version=f"{version} (timescaledb {ts_version})",
    )
    return caps
