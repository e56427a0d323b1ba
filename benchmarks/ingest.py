"""Benchmark: end-to-end ingestion, feed server -> WebSocket -> ingest service -> store.

In one run, on 127.0.0.1, with the feed server in its own process (the client and the server
each get a core), over simulated trades of the 20 bundled stocks:

* **bare WebSocket**: the feed's frames received and parsed into ticks, nothing stored (the
  ceiling of the client side);
* **ingest -> PostgreSQL** and **ingest -> SQLite**: the ingest service storing every trade
  exactly once (checked by counting the store afterwards), bars built;
* **raw binary COPY** of the same rows into the same ticks table (no de-duplication, no bars):
  the database's own ceiling;

each with batched frames (``--batch`` trades per frame, our own protocol) and with one trade per
frame. Targets (issue): batched, >= 100,000 ticks/s into PostgreSQL and >= half the raw COPY
rate; one trade per frame, >= half the bare WebSocket rate. Medians over ``--repeat`` runs.

With TimescaleDB installed for the server binaries (the extension's control file in their
share directory), the batched ingest also runs into a second server that preloads it, in the
same run, alternating with plain PostgreSQL, twice: with live trades (stamped from now on) and
with a backfill (trades dated 2024, below the continuous aggregate's invalidation threshold, so
the buckets they touch are refreshed). Target >= 0.9x plain PostgreSQL. ``--database URL``
(repeatable) adds any store of yours (a TimescaleDB deployment, say) to the batched row; its
database gets the ticks.

Run with ``.venv/bin/python benchmarks/ingest.py [--ticks N] [--repeat R] [--database URL]``.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from riskengine.ingest.service import IngestConfig, IngestService  # noqa: E402
from riskengine.ingest.venues import get_venue  # noqa: E402
from riskengine.market.loaders import load_prices  # noqa: E402
from riskengine.store.open import open_store  # noqa: E402
from riskengine.store.pgserver import TemporaryPostgres  # noqa: E402

DATA = ROOT / "data" / "us_equities_daily.csv"
VENUE = "riskengine"


BACKFILL = "2024-01-02T14:30:00+00:00"  # the simulated trades' first time, unless live


def _feed_process(conn, n_ticks: int, batch: int, live: bool) -> None:
    import datetime as dt

    from riskengine.ingest.exchange import FeedServer
    from riskengine.ingest.sources import simulated_ticks

    history = load_prices(DATA)
    # live: stamped from now on, as a live feed's trades are (one a millisecond)
    start = dt.datetime.now(dt.UTC) if live else dt.datetime.fromisoformat(BACKFILL)
    source = simulated_ticks(history, venue=VENUE, seed=1, start=start)

    async def serve():
        feed = FeedServer(source, venue=VENUE, batch=batch, limit=n_ticks, prebuild=n_ticks)
        async with feed:
            conn.send(feed.port)
            await asyncio.get_running_loop().run_in_executor(None, conn.recv)  # until told

    asyncio.run(serve())


class Feed:
    """A feed server in a child process, journal prebuilt before the clock starts."""

    def __init__(self, n_ticks: int, batch: int, live: bool = False):
        ctx = mp.get_context("spawn")
        self._conn, child = ctx.Pipe()
        self._proc = ctx.Process(
            target=_feed_process, args=(child, n_ticks, batch, live), daemon=True
        )

    def __enter__(self) -> str:
        self._proc.start()
        port = self._conn.recv()
        return f"ws://127.0.0.1:{port}"

    def __exit__(self, *exc) -> None:
        self._conn.send("stop")
        self._proc.join(10)
        if self._proc.is_alive():
            self._proc.kill()


def symbols() -> tuple[str, ...]:
    return load_prices(DATA).symbols


async def bare_client(url: str, n_ticks: int) -> float:
    """Receive and parse frames until n_ticks trades have arrived; seconds from subscribe."""
    import datetime as dt

    from websockets.asyncio.client import connect

    adapter = get_venue(VENUE)
    got = 0
    async with connect(url, max_size=2**22, compression=None) as ws:
        t0 = time.perf_counter()
        for frame in adapter.subscribe(symbols()):
            await ws.send(frame)
        async for frame in ws:
            got += len(adapter.parse(frame, dt.datetime.now(dt.UTC)).ticks)
            if got >= n_ticks:
                return time.perf_counter() - t0
    raise RuntimeError(f"feed closed after {got} of {n_ticks} ticks")


async def service_client(url: str, store, n_ticks: int) -> float:
    cfg = IngestConfig(feed=url, venue=VENUE, symbols=symbols(), batch_size=10_000,
                       flush_interval=0.05, max_batch=40_000)  # fmt: skip
    service = IngestService(store, cfg)
    t0 = time.perf_counter()
    service.start()
    while service.metrics.ticks_stored < n_ticks:
        await asyncio.sleep(0.002)
    elapsed = time.perf_counter() - t0
    await service.stop()
    return elapsed


def run_bare(n: int, batch: int) -> float:
    with Feed(n, batch) as url:
        return n / asyncio.run(bare_client(url, n))


def run_service(n: int, batch: int, store_url: str, live: bool = False) -> float:
    store = open_store(store_url)
    try:
        with Feed(n, batch, live) as url:
            rate = n / asyncio.run(service_client(url, store, n))
        stored = store.count_ticks(venue=VENUE)
        if stored != n:
            raise AssertionError(f"stored {stored} ticks, the feed sent {n}: not exactly once")
        return rate
    finally:
        store.close()


def run_raw_copy(n: int, pg: TemporaryPostgres) -> float:
    """Binary COPY of the same rows, in batches of 50,000, into a fresh ticks table."""
    import datetime as dt
    import itertools

    from riskengine.ingest.sources import simulated_ticks

    history = load_prices(DATA)
    start = dt.datetime.fromisoformat(BACKFILL)
    ticks = list(itertools.islice(simulated_ticks(history, venue=VENUE, seed=1, start=start), n))
    import psycopg

    from riskengine.store.postgres import _COPY_TICKS, _TICK_TYPES

    url = pg.new_database()
    open_store(url).close()  # the schema, indexes included
    with psycopg.connect(url) as conn:
        t0 = time.perf_counter()
        for i in range(0, n, 50_000):
            with conn.cursor() as cur, cur.copy(_COPY_TICKS) as copy:
                copy.set_types(_TICK_TYPES)
                for t in ticks[i : i + 50_000]:
                    copy.write_row(
                        (t.venue, t.symbol, t.ts, t.price, t.size, t.trade_id, t.received_at)
                    )
            conn.commit()
        elapsed = time.perf_counter() - t0
        assert conn.execute("SELECT count(*) FROM ticks").fetchone()[0] == n
    return n / elapsed


TIMESCALE = {"shared_preload_libraries": "timescaledb", "timescaledb.telemetry_level": "off"}


def timescale_installed(pg: TemporaryPostgres) -> bool:
    """Whether the server binaries have TimescaleDB (its control file in their share dir)."""
    import psycopg

    with psycopg.connect(pg.url, autocommit=True) as conn:
        row = conn.execute(
            "SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb'"
        ).fetchone()
    return row is not None


def median(fn, repeat: int) -> float:
    return statistics.median(fn() for _ in range(repeat))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--ticks", type=int, default=300_000, help="ticks per batched run")
    ap.add_argument("--single-ticks", type=int, default=150_000, help="ticks per 1-per-frame run")
    ap.add_argument("--batch", type=int, default=100, help="trades per frame when batched")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument(
        "--database",
        action="append",
        default=[],
        help="another store URL to ingest into (batched), e.g. a TimescaleDB",
    )
    ap.add_argument(
        "--no-timescale",
        action="store_true",
        help="skip the TimescaleDB server even when the extension is installed",
    )
    args = ap.parse_args()
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"Python {platform.python_version()}")  # fmt: skip
    r = args.repeat
    with TemporaryPostgres() as pg, tempfile.TemporaryDirectory() as tmp:
        counter = iter(range(10_000))

        def sqlite_url() -> str:
            return f"sqlite:///{tmp}/bench{next(counter)}.db"

        rows = {}
        for label, n, batch in (
            ("batched", args.ticks, args.batch),
            ("1 per frame", args.single_ticks, 1),
        ):
            bare = median(lambda n=n, b=batch: run_bare(n, b), r)
            pg_rate = median(lambda n=n, b=batch: run_service(n, b, pg.new_database()), r)
            lite = median(lambda n=n, b=batch: run_service(n, b, sqlite_url()), r)
            rows[label] = (n, bare, pg_rate, lite)
        copy = median(lambda: run_raw_copy(args.ticks, pg), r)
        batched = (args.ticks, args.batch)
        extra = {}
        timescale: dict[str, tuple[float, float]] = {}
        if not args.no_timescale and timescale_installed(pg):
            with TemporaryPostgres(TIMESCALE) as ts:
                check = open_store(ts.new_database())
                caps = check.capabilities.describe()
                check.close()
                # plain PostgreSQL again, alternating with TimescaleDB: the same load on both;
                # live trades (stamped from now on: above the aggregate's invalidation threshold)
                # and a backfill (dated 2024: the buckets it touches are refreshed)
                for kind, live in (("live", True), ("backfill", False)):
                    plain, tsdb = [], []
                    for _ in range(r):
                        plain.append(run_service(*batched, pg.new_database(), live))
                        tsdb.append(run_service(*batched, ts.new_database(), live))
                    timescale[kind] = (statistics.median(plain), statistics.median(tsdb))
                print(f"TimescaleDB: {caps}")
        for url in args.database:
            extra[url.rsplit("@", 1)[-1]] = median(lambda u=url: run_service(*batched, u), r)

    print(f"\nticks/s, median of {r} runs ({args.batch} trades per frame when batched)")
    print(f"{'frames':<12} {'ticks':>8} {'bare WS':>10} {'-> PostgreSQL':>14} {'-> SQLite':>10}"
          f" {'PG / bare':>10}")  # fmt: skip
    for label, (n, bare, pg_rate, lite) in rows.items():
        print(f"{label:<12} {n:>8,} {bare:>10,.0f} {pg_rate:>14,.0f} {lite:>10,.0f} "
              f"{pg_rate / bare:>10.2f}")  # fmt: skip
    print(f"raw binary COPY into PostgreSQL: {copy:,.0f} rows/s")
    for name, rate in extra.items():
        print(f"batched -> {name}: {rate:,.0f} ticks/s")
    for kind, (again, tsdb) in timescale.items():
        print(f"batched, {kind} trades: -> PostgreSQL {again:,.0f} ticks/s, -> TimescaleDB "
              f"{tsdb:,.0f} ticks/s (alternated runs), ratio {tsdb / again:.2f}")  # fmt: skip
    n, bare, pg_rate, _ = rows["batched"]
    _, bare1, pg1, lite1 = rows["1 per frame"]
    checks = [
        ("batched into PostgreSQL >= 100,000 ticks/s", pg_rate >= 100_000, f"{pg_rate:,.0f}"),
        ("batched into PostgreSQL >= 1/2 raw COPY", pg_rate >= copy / 2,
         f"ratio {pg_rate / copy:.2f}"),
        ("1 per frame into PostgreSQL >= 1/2 bare WebSocket", pg1 >= bare1 / 2,
         f"ratio {pg1 / bare1:.2f}"),
        ("1 per frame into SQLite >= 1/2 bare WebSocket", lite1 >= bare1 / 2,
         f"ratio {lite1 / bare1:.2f}"),
    ]  # fmt: skip
    for kind, (again, tsdb) in timescale.items():
        checks.append((f"batched {kind} into TimescaleDB >= 0.9x plain PostgreSQL (alternated)",
                       tsdb >= 0.9 * again, f"ratio {tsdb / again:.2f}"))  # fmt: skip
    if not timescale:
        print("TimescaleDB: not installed for these server binaries (skipped)")
    print()
    for what, ok, figure in checks:
        print(f"{'met   ' if ok else 'MISSED'} {what}: {figure}")


if __name__ == "__main__":
    main()
