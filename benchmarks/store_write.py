"""Benchmark: ``write_ticks`` alone (no feed, no WebSocket) into plain PostgreSQL and into
TimescaleDB, with backfilled ticks (dated 2024: below the aggregate's invalidation threshold, so
each write refreshes the 1-minute buckets it touches, coalesced to about one refresh a second)
and with live ticks (stamped from now on, as a live feed's are: no refresh).

Both servers are throw-away ones started here (fsync off); TimescaleDB runs only when the
server binaries have the extension. Each figure is the median of ``--repeat`` runs into a fresh
database, in batches of ``--batch`` ticks; the ratio TimescaleDB / PostgreSQL is the figure to
read (the issue's target for ingestion: >= 0.9).

Run with ``.venv/bin/python benchmarks/store_write.py [--ticks N] [--batch B] [--repeat R]``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import itertools
import platform
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from riskengine.ingest.sources import simulated_ticks  # noqa: E402
from riskengine.market.loaders import load_prices  # noqa: E402
from riskengine.store.open import open_store  # noqa: E402
from riskengine.store.pgserver import PgServer, find_pg_bindir, parse_settings  # noqa: E402

TIMESCALE = "shared_preload_libraries=timescaledb timescaledb.telemetry_level=off"


def rate(server: PgServer, ticks, batch: int) -> float:
    url = server.new_database()
    store = open_store(url)
    try:
        t = time.perf_counter()
        for i in range(0, len(ticks), batch):
            store.write_ticks(ticks[i : i + batch])
        store.bars(ticks[0].symbol, "1m")  # a read flushes the refreshes still kept
        return len(ticks) / (time.perf_counter() - t)
    finally:
        store.close()
        server.drop_database(url)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--ticks", type=int, default=300_000)
    ap.add_argument("--batch", type=int, default=5_000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    print(f"machine: {platform.machine()}, Python {platform.python_version()}")
    history = load_prices(ROOT / "data" / "us_equities_daily.csv")

    def ticks(start):
        source = simulated_ticks(history, venue="riskengine", seed=1, start=start)
        return list(itertools.islice(source, args.ticks))

    kinds = {
        "backfill (2024)": ticks(dt.datetime(2024, 1, 2, 14, 30, tzinfo=dt.UTC)),
        "live (from now)": ticks(dt.datetime.now(dt.UTC)),
    }
    bindir = find_pg_bindir()
    if bindir is None:
        print("PostgreSQL server binaries not found (make postgres)")
        return 0
    servers = {"PostgreSQL": PgServer(bindir, {})}
    servers["TimescaleDB"] = PgServer(bindir, parse_settings(TIMESCALE))
    rates: dict[tuple[str, str], float] = {}
    try:
        for name, server in servers.items():
            try:
                server.start()
            except RuntimeError as exc:
                print(f"{name}: not started ({str(exc).splitlines()[0]}); skipped")
                continue
            for kind, data in kinds.items():
                runs = [rate(server, data, args.batch) for _ in range(args.repeat)]
                rates[(name, kind)] = statistics.median(runs)
    finally:
        for server in servers.values():
            server.cleanup()
    print(f"\nwrite_ticks, {args.ticks:,} ticks in batches of {args.batch:,}, median of "
          f"{args.repeat} (ticks/s)")  # fmt: skip
    for kind in kinds:
        pg, ts = rates.get(("PostgreSQL", kind)), rates.get(("TimescaleDB", kind))
        ratio = f"{ts / pg:.2f}" if pg and ts else "-"
        print(f"  {kind:26s} PostgreSQL {pg or 0:>9,.0f}  TimescaleDB {ts or 0:>9,.0f}  "
              f"ratio {ratio}")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
