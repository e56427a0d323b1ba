"""``riskengine feed``, ``riskengine ingest`` and ``riskengine import``.

``feed`` serves the bundled (or any) daily history as trades over WebSocket in a venue's
protocol; ``ingest`` connects to a feed and stores its ticks; ``import`` loads daily history
files into the store. The store is ``--database`` or ``RISKENGINE_DATABASE_URL`` (default: the
embedded SQLite file ``riskengine.sqlite3`` in the current directory).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import logging
import signal
import sys
import time
from pathlib import Path

from riskengine.cli.options import add_format
from riskengine.errors import InputError

DEFAULT_HISTORY = Path("data") / "us_equities_daily.csv"


def _symbols(raw: list[str] | None) -> tuple[str, ...]:
    out: list[str] = []
    for item in raw or []:
        out.extend(s.strip() for s in item.split(",") if s.strip())
    return tuple(out)


def _history(path: str | None):
    from riskengine.market.loaders import load_prices

    p = Path(path) if path else DEFAULT_HISTORY
    if not p.exists():
        raise InputError(
            f"--history {p} does not exist; pass a daily price CSV (wide or long, "
            "docs/formats.md), or run from the repository root to use the bundled data."
        )
    return load_prices(p)


def add_feed(sub) -> None:
    p = sub.add_parser(
        "feed",
        help="serve trades over WebSocket in a venue's protocol (replay or simulation)",
        description="A WebSocket feed on 127.0.0.1: replays daily history as trades or "
        "simulates intraday trades from a model fitted to it, in a venue's protocol, with "
        "optional faults for testing (docs/feeds.md).",
    )
    add = p.add_argument
    add("--venue", default="riskengine", help="protocol: riskengine, coinbase, "
        "coinbase-advanced, binance, kraken (default riskengine)")  # fmt: skip
    add("--mode", choices=("replay", "simulate"), default="simulate")
    add("--history", default=None, help=f"daily closes CSV (default {DEFAULT_HISTORY})")
    add("--symbols", nargs="+", default=None, help="symbols to serve (default: all)")
    add("--rate", type=float, default=1000.0, help="trades per second (0: unthrottled)")
    add("--batch", type=int, default=1, help="trades per frame where the venue batches")
    add("--host", default="127.0.0.1")
    add("--port", type=int, default=8765, help="port (0: a free one; the URL is printed)")
    add("--limit", type=int, default=None, help="stop publishing after this many trades")
    add("--seed", type=int, default=0, help="simulation seed")
    add("--heartbeat", type=float, default=1.0, help="seconds between venue heartbeats")
    add("--duration", type=float, default=None, help="serve this many seconds, then exit")
    add("--log", default=None, help="write every valid trade sent (JSON lines) here on exit")
    g = p.add_argument_group("faults (for testing clients)")
    g.add_argument("--drop-every", type=int, default=0, help="close after N trade frames")
    g.add_argument("--drop-abruptly", action="store_true", help="drop without a close frame")
    g.add_argument("--duplicate", type=float, default=0.0, help="probability of a repeat")
    g.add_argument("--reorder", type=float, default=0.0, help="probability of a swap")
    g.add_argument("--corrupt", type=float, default=0.0, help="probability of a bad frame")
    g.add_argument("--skip-on-reconnect", type=int, default=0,
                   help="trades published while a client is away")  # fmt: skip


def _source(args, history):
    from riskengine.ingest.sources import replay_ticks, simulated_ticks

    symbols = _symbols(args.symbols) or None
    if args.mode == "replay":
        return replay_ticks(history, symbols, venue=args.venue)
    return simulated_ticks(
        history, symbols, venue=args.venue, seed=args.seed,
        start=dt.datetime.now(dt.UTC).replace(microsecond=0),
    )  # fmt: skip


async def _until_signal(duration: float | None) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), duration)


def run_feed(args) -> str:
    from riskengine.ingest.exchange import Faults, FeedServer

    history = _history(args.history)
    faults = Faults(
        drop_every=args.drop_every, drop_abruptly=args.drop_abruptly, duplicate=args.duplicate,
        reorder=args.reorder, corrupt=args.corrupt, skip_on_reconnect=args.skip_on_reconnect,
        seed=args.seed,
    )  # fmt: skip

    async def serve() -> FeedServer:
        server = FeedServer(
            _source(args, history), venue=args.venue, host=args.host, port=args.port,
            rate=args.rate, batch=args.batch, limit=args.limit,
            heartbeat_interval=args.heartbeat, faults=faults,
        )  # fmt: skip
        async with server:
            print(f"riskengine feed: {args.venue} ({args.mode}) on {server.url}", file=sys.stderr)
            await _until_signal(args.duration)
        return server

    try:
        server = asyncio.run(serve())
    except OSError as exc:
        raise InputError(
            f"cannot serve on {args.host}:{args.port}: {exc.strerror or exc}. Choose another "
            "--port (0 picks a free one) or stop what is listening there."
        ) from None
    flog = server.log
    if args.log:
        with open(args.log, "w") as fh:
            for (symbol, trade_id), times in sorted(flog.sent.items()):
                fh.write(json.dumps({"symbol": symbol, "trade_id": trade_id, "sent": times}))
                fh.write("\n")
    return (
        f"sent {len(flog.sent)} trades in {flog.frames} frames over {flog.connections} "
        f"connections ({flog.duplicate_frames} repeated, {flog.reordered_frames} reordered, "
        f"{flog.corrupt_frames} corrupt frames, {flog.drops} drops)"
    )


def _open_store(url: str | None):
    from riskengine.store.open import open_store

    return open_store(url)


def add_ingest(sub) -> None:
    p = sub.add_parser(
        "ingest",
        help="store a WebSocket feed's trades (and the bars built from them)",
        description="Connect to a WebSocket feed, store its trades exactly once, build 1-minute "
        "and daily bars, record gaps and data-quality findings; reconnects on its own. "
        "Ctrl-C stops after storing what is buffered.",
    )
    add = p.add_argument
    add("--feed", required=True, help="WebSocket URL, e.g. ws://127.0.0.1:8765")
    add("--venue", required=True, help="protocol: riskengine, coinbase, coinbase-advanced, "
        "binance, kraken")  # fmt: skip
    add("--symbols", nargs="+", required=True, help="symbols (canonical, e.g. BTC-USD AAPL)")
    add("--database", default=None, help="store URL (default $RISKENGINE_DATABASE_URL or "
        "sqlite:///riskengine.sqlite3)")  # fmt: skip
    add("--batch-size", type=int, default=5000, help="ticks per write (default 5000)")
    add("--flush-interval", type=float, default=0.25, help="seconds before a partial write")
    add("--duration", type=float, default=None, help="run this many seconds, then stop")
    add("--stats-every", type=float, default=5.0, help="seconds between progress lines")


def _timescale_jobs() -> str:
    """RISKENGINE_TIMESCALE_JOBS (run, report or off), as ``riskengine serve`` reads it."""
    from riskengine.service.settings import Settings

    return Settings.from_env().timescale_jobs


def run_ingest(args) -> str:
    from riskengine.ingest.service import IngestConfig, IngestService

    config = IngestConfig(
        feed=args.feed, venue=args.venue, symbols=_symbols(args.symbols),
        batch_size=args.batch_size, flush_interval=args.flush_interval,
    )  # fmt: skip
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    store = _open_store(args.database)
    print(f"riskengine ingest: store {store.capabilities.describe()}", file=sys.stderr)
    store.keep_background_jobs(mode=_timescale_jobs())  # TimescaleDB's jobs, docs/store.md

    async def main() -> IngestService:
        service = IngestService(store, config)
        service.start()
        stats = asyncio.create_task(_stats(service, args.stats_every))
        try:
            await _until_signal(args.duration)
        finally:
            stats.cancel()
            await service.stop()
        return service

    try:
        service = asyncio.run(main())
    finally:
        store.close()
    m = service.metrics  # a stop that could not store everything raised TicksNotStored (exit 2)
    rejected = f", {m.rejected_ticks} rejected by the store" if m.rejected_ticks else ""
    return (
        f"stored {m.ticks_stored} ticks ({m.ticks_received} received, "
        f"{m.duplicates_dropped + m.store_duplicates} duplicates{rejected}, {m.malformed_frames} "
        f"malformed frames, {m.gaps} gaps / {m.gap_ticks} trades missing, {m.reconnects} "
        "reconnects)"
    )


async def _stats(service, every: float) -> None:
    last, t0 = 0, time.monotonic()
    while True:
        await asyncio.sleep(every)
        m = service.metrics
        now = time.monotonic()
        rate = (m.ticks_stored - last) / (now - t0)
        last, t0 = m.ticks_stored, now
        print(
            f"ingest: {m.ticks_stored} stored ({rate:,.0f}/s), {len(service.latest)} symbols, "
            f"{m.malformed_frames} malformed, {m.gaps} gaps, {m.reconnects} reconnects",
            file=sys.stderr,
        )


def add_import(sub) -> None:
    p = sub.add_parser(
        "import",
        help="import daily history (CSV) into the store",
        description="Load daily closes from wide or long CSV files (docs/formats.md) into the "
        "store as daily bars; re-importing a file replaces its closes.",
    )
    p.add_argument("files", nargs="+", metavar="FILE")
    p.add_argument("--database", default=None, help="store URL (default "
                   "$RISKENGINE_DATABASE_URL or sqlite:///riskengine.sqlite3)")  # fmt: skip
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def run_import(args) -> str:
    from riskengine.store.importer import import_file

    store = _open_store(args.database)
    try:
        lines = []
        for f in args.files:
            rows, bad = import_file(store, f, progress=not args.quiet)
            lines.append(f"{f}: {rows} daily closes imported")
            for b in bad:
                lines.append(f"  data quality: {b.describe()}")
            if bad:
                lines.append(
                    f"  {len(bad)} bad print(s) stored as they are and recorded (riskengine "
                    "quality --kind bad_print); risk runs exclude the positions on them unless "
                    "told otherwise (--bad-prints)"
                )
        lines.append(f"store: {store.capabilities.describe()}")
        return "\n".join(lines)
    finally:
        store.close()


QUALITY_KINDS = ("gap", "jump", "stale", "overflow", "malformed", "rejected", "bad_print")


def add_quality(sub) -> None:
    p = sub.add_parser(
        "quality",
        help="data-quality findings recorded by ingestion, and symbols gone stale",
        description="List the data-quality events the ingest service recorded (gaps, jumps "
        "against the previous close, stale symbols, buffer overflows, malformed frames, "
        "rejected batches) and the symbols whose last tick is older than --stale-after.",
    )
    add = p.add_argument
    add("--database", default=None, help="store URL (default $RISKENGINE_DATABASE_URL or "
        "sqlite:///riskengine.sqlite3)")  # fmt: skip
    add("--kind", choices=QUALITY_KINDS, default=None, help="only events of this kind")
    add("--since", default=None, help="only events at or after this UTC time (ISO 8601)")
    add("--stale-after", type=float, default=300.0,
        help="seconds without a tick after which a symbol is listed as stale")  # fmt: skip
    add_format(add)


def _since(raw: str | None) -> dt.datetime | None:
    if raw is None:
        return None
    try:
        ts = dt.datetime.fromisoformat(raw)
    except ValueError:
        raise InputError(
            f"--since {raw!r} is not an ISO 8601 time; write e.g. 2024-03-04T14:30:00Z."
        ) from None
    return ts.replace(tzinfo=dt.UTC) if ts.tzinfo is None else ts.astimezone(dt.UTC)


def run_quality(args) -> str:
    if args.stale_after <= 0:
        raise InputError(f"--stale-after {args.stale_after}: seconds must be > 0.")
    since = _since(args.since)
    store = _open_store(args.database)
    try:
        events = store.quality_events(kind=args.kind, since=since)
        now = dt.datetime.now(dt.UTC)
        stale = store.stale_symbols(now, dt.timedelta(seconds=args.stale_after))
        jobs = store.background_jobs()  # TimescaleDB's, with their problems; none elsewhere
    finally:
        store.close()
    if args.format == "json":
        return json.dumps(
            {
                "as_of": now.isoformat(),
                "stale_after_seconds": args.stale_after,
                "stale_symbols": {s: ts.isoformat() for s, ts in sorted(stale.items())},
                "events": [
                    {
                        "ts": e.ts.isoformat(),
                        "kind": e.kind,
                        "symbol": e.symbol,
                        "venue": e.venue,
                        "count": e.count,
                        "detail": e.detail,
                    }
                    for e in events
                ],  # fmt: skip
                "store_jobs": [j.to_dict() for j in jobs],
            },
            indent=2,
        )
    lines = [f"data quality as of {now:%Y-%m-%d %H:%M:%S}Z"]
    if stale:
        lines.append(f"stale symbols (no tick for {args.stale_after:g}s): {len(stale)}")
        lines += [f"  {s:<12} last tick {ts:%Y-%m-%d %H:%M:%S}Z" for s, ts in sorted(stale.items())]
    else:
        lines.append(f"stale symbols (no tick for {args.stale_after:g}s): none")
    lines.append(f"events: {len(events)}")
    for e in events:
        where = "/".join(x for x in (e.venue, e.symbol) if x) or "-"
        lines.append(f"  {e.ts:%Y-%m-%d %H:%M:%S}Z  {e.kind:<9} {where:<24} x{e.count:<6} "
                     f"{e.detail}")  # fmt: skip
    if jobs:
        failing = [j for j in jobs if j.problems]
        lines.append(f"TimescaleDB jobs: {len(jobs)}, {len(failing)} with problems")
        lines += [f"  {j.describe()}" for j in jobs]
    return "\n".join(lines)
