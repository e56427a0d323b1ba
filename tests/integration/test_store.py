"""The TickStore against both backends (SQLite file, real PostgreSQL server): the same tests,
each on a fresh database."""

from __future__ import annotations

import datetime as dt
import io
import logging
import math
import os
import random
import socket
import sqlite3
import threading
import time
import uuid

import numpy as np
import orjson
import psycopg
import pytest

from riskengine.errors import UnknownSymbolError
from riskengine.market.history import FactorHistory
from riskengine.market.tick import Tick
from riskengine.store import (
    Capabilities,
    QualityEvent,
    StoreError,
    StoreUnavailable,
    WriteResult,
    open_store,
)
from riskengine.store import migrations as mig
from riskengine.store.bars import aggregate
from riskengine.store.importer import ProgressBar, import_file
from riskengine.store.open import parse_url
from riskengine.store.postgres import describe_url
from riskengine.store.timescale import (
    CAGG_VIEWS,
    TICK_ORDER,
    compression_sql,
    continuous_aggregate_policy_sql,
    continuous_aggregate_sql,
    hypertable_sql,
    refresh_windows,
    timescale_available,
)

UTC = dt.UTC
T0 = dt.datetime(2024, 3, 1, 23, 50, tzinfo=UTC)  # ten minutes before midnight: 2 days


def tick(i, symbol="BTC-USD", venue="coinbase", price=None, size=0.5, seconds=None):
    ts = T0 + dt.timedelta(seconds=7 * i if seconds is None else seconds)
    return Tick(venue, symbol, ts, 100.0 + i if price is None else price, size, i, ts)


# --- URLs and opening -----------------------------------------------------------------------


def test_parse_url_forms(tmp_path):
    assert parse_url("sqlite:///rel/x.db") == ("sqlite", "rel/x.db")
    assert parse_url("sqlite:////abs/x.db") == ("sqlite", "/abs/x.db")
    assert parse_url("sqlite://:memory:") == ("sqlite", ":memory:")
    assert parse_url("sqlite:///:memory:") == ("sqlite", ":memory:")
    assert parse_url("data/x.sqlite3") == ("sqlite", "data/x.sqlite3")
    assert parse_url("postgresql://u@h:5/d") == ("postgresql", "postgresql://u@h:5/d")
    assert parse_url("postgres://u@h/d")[0] == "postgresql"
    assert describe_url("postgresql://u:secret@db.example:5433/risk") == "db.example:5433/risk"
    for bad in ("mysql://u@h/d", "sqlite://host/x.db", "sqlite:///", "http://x"):
        with pytest.raises(StoreError) as err:
            parse_url(bad)
        assert repr(bad) in str(err.value)
        assert "sqlite:///" in str(err.value) and "postgresql://" in str(err.value)


def test_open_store_default_and_env(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("RISKENGINE_DATABASE_URL", raising=False)
    with open_store() as s:
        assert s.capabilities.backend == "sqlite"
    assert (tmp_path / "riskengine.sqlite3").exists()
    monkeypatch.setenv("RISKENGINE_DATABASE_URL", f"sqlite:///{tmp_path / 'env.db'}")
    with open_store() as s:
        s.write_ticks([tick(1)])
    assert (tmp_path / "env.db").exists()
    with pytest.raises(StoreError, match="ftp://x"):
        open_store("ftp://x")
    with pytest.raises(StoreError, match="cannot open the SQLite database"):
        open_store(str(tmp_path / "missing" / "dir" / "x.db"))


def test_sqlite_wal_and_memory(tmp_path):
    with open_store(f"sqlite:///{tmp_path / 'w.db'}") as s:
        assert s._query("PRAGMA journal_mode")[0][0] == "wal"
        assert s._query("PRAGMA synchronous")[0][0] == 1  # NORMAL
    with open_store("sqlite://:memory:") as s:
        assert s.write_ticks([tick(1), tick(1)]) == WriteResult(2, 1)


def test_capabilities(store):
    caps = store.capabilities
    assert isinstance(caps, Capabilities)
    assert caps.backend in ("sqlite", "postgresql")
    assert caps.version
    text = caps.describe()
    assert ("SQLite" if caps.backend == "sqlite" else "PostgreSQL") in text
    if not caps.timescaledb:
        assert "bars maintained by the application" in text
        assert not caps.compression and not caps.continuous_aggregates


def test_schema_version_and_newer_database_refused(store_url, open_test_store):
    s = open_test_store(store_url)
    latest = mig.latest(mig.SQLITE if s.capabilities.backend == "sqlite" else mig.POSTGRES)
    assert s.schema_version() == latest >= 1
    s.write_ticks([tick(1)])
    s.close()
    s = open_test_store(store_url)  # reopening applies nothing and keeps the data
    assert s.schema_version() == latest and s.count_ticks() == 1
    s.close()
    _record_future_migration(store_url)
    with pytest.raises(StoreError, match="schema version 999, newer than this riskengine"):
        open_test_store(store_url)


def _record_future_migration(url):
    if url.startswith("sqlite:///"):
        with sqlite3.connect(url[len("sqlite:///") :]) as c:
            c.execute(
                "INSERT INTO schema_migrations (version, description, applied_at) "
                "VALUES (999, 'from the future', 0)"
            )
    else:
        with psycopg.connect(url, autocommit=True) as c:
            c.execute(
                "INSERT INTO schema_migrations (version, description) "
                "VALUES (999, 'from the future')"
            )


def test_closed_store_raises(store_url, open_test_store):
    s = open_test_store(store_url)
    s.close()
    s.close()  # idempotent
    with pytest.raises(StoreError, match="closed"):
        s.count_ticks()


# --- ticks: exactly once ---------------------------------------------------------------------


def test_write_ticks_exactly_once(store):
    batch = [tick(i) for i in range(10)]
    assert store.write_ticks([]) == WriteResult(0, 0)
    assert store.write_ticks(batch[:6]) == WriteResult(6, 6)
    r = store.write_ticks(batch)  # overlap: 0..5 again
    assert r == WriteResult(10, 4) and r.duplicates == 6
    assert store.write_ticks(batch) == WriteResult(10, 0)
    # duplicates inside one batch, new and old mixed
    assert store.write_ticks([tick(10), tick(10), tick(3), tick(11)]) == WriteResult(4, 2)
    # same trade id at another time is another key
    assert store.write_ticks([tick(1, seconds=1000)]).inserted == 1
    assert store.count_ticks() == 13
    assert store.count_ticks(venue="coinbase", symbol="BTC-USD") == 13
    assert store.count_ticks(venue="kraken") == 0
    keys = store.tick_keys()
    assert len(keys) == 13 and set(keys) == {("coinbase", "BTC-USD", i) for i in range(12)}
    assert store.tick_keys(venue="kraken") == []
    # gap fill below the stored max: new keys go in, old ones do not
    store.write_ticks([tick(i, symbol="ETH-USD") for i in (1, 2, 8, 9)])
    assert store.write_ticks([tick(i, symbol="ETH-USD") for i in range(10)]).inserted == 6
    assert store.count_ticks(symbol="ETH-USD") == 10
    naive = Tick("coinbase", "BTC-USD", dt.datetime(2024, 1, 1), 1.0, 1.0, 99)
    with pytest.raises(StoreError, match="timezone-aware"):
        store.write_ticks([tick(50), naive])
    naive_received = tick(51)._replace(received_at=dt.datetime(2024, 1, 1))
    with pytest.raises(StoreError, match="timezone-aware"):
        store.write_ticks([tick(50), naive_received])
    assert store.count_ticks() == 23


def test_stored_ticks_round_trip(store):
    ts = dt.datetime(2024, 5, 6, 7, 8, 9, 123456, tzinfo=UTC)
    recv = ts + dt.timedelta(microseconds=789)
    store.write_ticks([Tick("kraken", "ETH-USD", ts, 3012.25, 0.0, 42, recv)])
    store.write_ticks([Tick("kraken", "SOL-USD", ts, 1.5, 2.0, 7)])  # no received_at
    p = store.latest_prices(["ETH-USD"])["ETH-USD"]
    assert (p.venue, p.ts, p.price) == ("kraken", ts, 3012.25)
    assert p.ts.utcoffset() == dt.timedelta(0)
    assert store.tick_keys(venue="kraken") == [("kraken", "ETH-USD", 42), ("kraken", "SOL-USD", 7)]


def _oracle_bars(ticks):
    """Bars computed directly from unique ticks with plain dicts (independent of store/bars)."""
    widths = {"1m": 60, "1d": 86400}
    out = {}
    for t in ticks:
        for interval, width in widths.items():
            epoch = int(t.ts.timestamp())
            start = dt.datetime.fromtimestamp(epoch - epoch % width, UTC)
            key = (t.symbol, interval, start)
            b = out.get(key)
            order = (t.ts, t.venue, t.trade_id)  # the tick order
            if b is None:
                out[key] = {"o": (order, t.price), "c": (order, t.price), "h": t.price,
                            "l": t.price, "v": t.size, "n": 1}  # fmt: skip
                continue
            if order < b["o"][0]:
                b["o"] = (order, t.price)
            if order > b["c"][0]:
                b["c"] = (order, t.price)
            b["h"], b["l"] = max(b["h"], t.price), min(b["l"], t.price)
            b["v"] += t.size
            b["n"] += 1
    return {k: (b["o"][1], b["h"], b["l"], b["c"][1], b["v"], b["n"]) for k, b in out.items()}


def _random_ticks(rng, n, symbols=("BTC-USD", "ETH-USD", "AAPL"), venues=("coinbase", "kraken")):
    """Unique ticks over ~3 days; distinct times per symbol (so open/close are unambiguous),
    sizes multiples of 1/8 (so volume sums are exact in any order)."""
    out, used = [], set()
    next_id = {}
    while len(out) < n:
        sym, venue = rng.choice(symbols), rng.choice(venues)
        secs = rng.uniform(0, 3 * 86400)
        ts = T0 + dt.timedelta(microseconds=int(secs * 1e6))
        if (sym, ts) in used:
            continue
        used.add((sym, ts))
        tid = next_id.get((venue, sym), 1000)
        next_id[(venue, sym)] = tid + rng.randint(1, 3)
        out.append(Tick(venue, sym, ts, round(rng.uniform(50, 150), 4), rng.randint(0, 40) / 8,
                        tid, ts))  # fmt: skip
    return out


def _bars_as_dict(store, symbols):
    got = {}
    for sym in symbols:
        for interval in ("1m", "1d"):
            for b in store.bars(sym, interval):
                assert b.source == "ticks" and b.symbol == sym and b.interval == interval
                got[(sym, interval, b.start)] = (b.open, b.high, b.low, b.close, b.volume,
                                                 b.trades)  # fmt: skip
    return got


def test_bars_from_shuffled_batches_with_duplicates_match_oracle(store):
    rng = random.Random(7)
    unique = _random_ticks(rng, 3000)
    stream = list(unique)
    rng.shuffle(stream)
    batches, i = [], 0
    while i < len(stream):
        k = rng.randint(1, 400)
        batch = stream[i : i + k]
        # re-send some already-sent ticks (reconnect overlap) and duplicate inside the batch
        batch += rng.sample(stream[: i + k], min(len(stream[: i + k]), rng.randint(0, 30)))
        rng.shuffle(batch)
        batches.append(batch)
        i += k
    batches.append(rng.sample(stream, 200))  # a whole re-sent batch at the end
    inserted = sum(store.write_ticks(b).inserted for b in batches)
    assert inserted == len(unique) == store.count_ticks()
    symbols = sorted({t.symbol for t in unique})
    assert _bars_as_dict(store, symbols) == _oracle_bars(unique)
    # range filters: start inclusive, end exclusive
    day1 = dt.datetime(2024, 3, 2, tzinfo=UTC)
    days = store.bars("BTC-USD", "1d", start=day1, end=day1 + dt.timedelta(days=1))
    assert [b.start for b in days] == [day1]
    with pytest.raises(StoreError, match="interval '5m'"):
        store.bars("BTC-USD", "5m")


def test_aggregate_ties_follow_the_tick_order():
    """Pure aggregator: equal times are ordered by venue (byte order), then trade id, whatever
    the batch order (open = first, close = last in the tick order)."""
    ts = np.array([10, 5, 5, 10, 70_000_000, 10], dtype=np.int64)
    venues = ["kraken", "kraken", "binance", "binance", "kraken", "kraken"]
    ids = np.array([4, 9, 8, 3, 1, 2], dtype=np.int64)
    prices = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]
    parts = aggregate(["A"] * 6, ts, prices, [1] * 6, venues, ids)
    m, d = parts
    assert m.interval == "1m" and len(m) == 2 and len(d) == 1
    # at 5: binance#8 (3.0) before kraken#9 (2.0); at 10: ..., kraken#2 (6.0), kraken#4 (1.0)
    assert (m.open[0], m.close[0], m.high[0], m.low[0], m.trades[0]) == (3.0, 1.0, 6.0, 1.0, 5)
    assert (m.open_venue[0], m.open_trade_id[0], m.close_venue[0], m.close_trade_id[0]) == (
        "binance", 8, "kraken", 4)  # fmt: skip
    assert (m.open_ts[0], m.close_ts[0], m.start[1]) == (5, 10, 60_000_000)
    assert (d.open[0], d.close[0], d.volume[0], d.trades[0]) == (3.0, 5.0, 6.0, 6)
    backwards = aggregate(["A"] * 6, ts[::-1], prices[::-1], [1] * 6, venues[::-1], ids[::-1])
    assert backwards[0].rows() == m.rows() and backwards[1].rows() == d.rows()
    empty = aggregate([], np.array([], np.int64), [], [], [], np.array([], np.int64))
    assert [len(p) for p in empty] == [0, 0]
    # before the epoch: floor, not truncation
    (m,) = aggregate(["A"], np.array([-1]), [1.0], [0.0], ["v"], [1], intervals=("1m",))
    assert m.start[0] == -60_000_000


def test_failed_batch_is_not_half_committed(store, monkeypatch):
    store.write_ticks([tick(0)])
    before = _bars_as_dict(store, ["BTC-USD"])

    def boom(*a, **k):
        raise RuntimeError("bars failed")

    monkeypatch.setattr(store, "_upsert_bars", boom)
    with pytest.raises(RuntimeError, match="bars failed"):
        store.write_ticks([tick(i) for i in range(1, 50)])
    assert store.count_ticks() == 1
    monkeypatch.undo()
    assert _bars_as_dict(store, ["BTC-USD"]) == before
    assert store.write_ticks([tick(i) for i in range(50)]).inserted == 49
    assert _bars_as_dict(store, ["BTC-USD"]) == _oracle_bars([tick(i) for i in range(50)])


def test_concurrent_writers_store_each_tick_once(store):
    rng = random.Random(3)
    unique = _random_ticks(rng, 2000, symbols=("BTC-USD", "ETH-USD"))
    errors, results = [], []

    def writer(seed):
        r = random.Random(seed)
        try:
            for _ in range(8):
                results.append(store.write_ticks(r.sample(unique, 400)).inserted)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    stored = store.count_ticks()
    assert sum(results) == stored
    keys = store.tick_keys()
    assert len(keys) == len(set(keys)) == stored
    sent = {t.key: t for t in unique}
    stored_ticks = [sent[k] for k in keys]
    assert _bars_as_dict(store, ["BTC-USD", "ETH-USD"]) == _oracle_bars(stored_ticks)


# --- latest prices, trade ids, staleness, quality ---------------------------------------------


def test_latest_prices_last_trade_ids_and_stale(store):
    assert store.latest_prices() == {} and store.last_trade_ids("coinbase") == {}
    store.write_ticks([tick(i, seconds=i) for i in range(5)])  # BTC at T0+0..4 s
    store.write_ticks([tick(9, symbol="ETH-USD", seconds=100, price=3000.0)])
    store.write_ticks([tick(3, symbol="ETH-USD", venue="kraken", seconds=50, price=2990.0)])
    store.write_ticks([tick(2, seconds=1)])  # late duplicate changes nothing
    latest = store.latest_prices()
    assert set(latest) == {"BTC-USD", "ETH-USD"}
    assert latest["BTC-USD"].price == 104.0
    assert latest["BTC-USD"].ts == T0 + dt.timedelta(seconds=4)
    assert (latest["ETH-USD"].venue, latest["ETH-USD"].price) == ("coinbase", 3000.0)
    assert set(store.latest_prices(["ETH-USD", "NOPE"])) == {"ETH-USD"}
    assert store.latest_prices([]) == {}
    assert store.last_trade_ids("coinbase") == {"BTC-USD": 4, "ETH-USD": 9}
    assert store.last_trade_ids("kraken") == {"ETH-USD": 3}
    now = T0 + dt.timedelta(seconds=64)
    assert store.stale_symbols(now, dt.timedelta(seconds=30)) == {
        "BTC-USD": T0 + dt.timedelta(seconds=4)
    }
    assert store.stale_symbols(now, dt.timedelta(minutes=5)) == {}


def test_quality_events(store):
    t = T0
    events = [
        QualityEvent(t, "gap", "BTC-USD", "coinbase", "trade ids 5..9 missing", 5),
        QualityEvent(t + dt.timedelta(seconds=2), "overflow", None, "kraken", "buffer full", 120),
        QualityEvent(t + dt.timedelta(seconds=1), "jump", "ETH-USD", "kraken", "+25%"),
    ]
    store.record_quality(events)
    store.record_quality([])
    got = store.quality_events()
    assert got == [events[0], events[2], events[1]]
    assert store.quality_events(kind="gap") == [events[0]]
    assert store.quality_events(since=t + dt.timedelta(seconds=1)) == [events[2], events[1]]
    assert store.quality_events(kind="stale") == []


# --- instruments, portfolios, reports, jobs ------------------------------------------------


def test_instruments(store):
    store.upsert_instruments(
        [
            {"symbol": "BTC-USD", "asset_class": "crypto", "currency": "USD",
             "venue_symbols": {"coinbase": "BTC-USD", "binance": "BTCUSDT"}, "tick_size": 0.01},
            {"symbol": "AAPL", "asset_class": "equity", "currency": "USD"},
        ]
    )  # fmt: skip
    store.upsert_instruments([{"symbol": "AAPL", "asset_class": "equity", "currency": "EUR"}])
    got = store.instruments()
    assert [i["symbol"] for i in got] == ["AAPL", "BTC-USD"]
    assert got[0] == {"symbol": "AAPL", "asset_class": "equity", "currency": "EUR",
                      "venue_symbols": {}}  # fmt: skip
    assert got[1]["venue_symbols"] == {"coinbase": "BTC-USD", "binance": "BTCUSDT"}
    assert got[1]["tick_size"] == 0.01
    with pytest.raises(StoreError, match="no symbol"):
        store.upsert_instruments([{"currency": "USD"}])


def test_portfolios_per_tenant(store):
    body = '{"positions": [{"id": "p1", "symbol": "AAPL", "quantity": 10}]}'
    a1 = store.save_portfolio("alice", "core", body)
    a2 = store.save_portfolio("alice", "hedge", "{}")
    b1 = store.save_portfolio("bob", "core", '{"positions": []}')
    assert len({a1, a2, b1}) == 3
    assert store.load_portfolio("alice", a1) == ("core", body)
    assert store.load_portfolio("bob", a1) is None  # invisible to another tenant
    assert store.list_portfolios("alice") == [(a1, "core"), (a2, "hedge")]
    assert store.list_portfolios("bob") == [(b1, "core")]
    assert store.list_portfolios("carol") == []
    assert store.save_portfolio("alice", "core v2", "[1]", portfolio_id=a1) == a1
    assert store.load_portfolio("alice", a1) == ("core v2", "[1]")
    with pytest.raises(StoreError, match="no portfolio"):
        store.save_portfolio("bob", "steal", "[]", portfolio_id=a1)
    assert store.delete_portfolio("bob", a1) is False
    assert store.load_portfolio("alice", a1) is not None
    assert store.delete_portfolio("alice", a1) is True
    assert store.delete_portfolio("alice", a1) is False
    assert store.list_portfolios("alice") == [(a2, "hedge")]
    with pytest.raises(StoreError, match="not valid JSON"):
        store.save_portfolio("alice", "bad", "{not json")


def test_portfolio_ids_are_never_reused_and_delete_takes_the_history(store_url, store):
    """Deleting the newest book and creating another gives a new id (SQLite reused the rowid,
    and the new book showed the deleted one's reports), also after reopening the store; the
    deleted book's reports and jobs go with it, other books keep theirs."""
    from .conftest import open_test_store

    keep = store.save_portfolio("alice", "keep", "{}")
    gone = store.save_portfolio("alice", "gone", "{}")
    store.save_report("alice", keep, dt.date(2024, 1, 2), "historical", '{"n": 1}')
    store.save_report("alice", gone, dt.date(2024, 1, 2), "historical", '{"n": 2}')
    store.save_job("alice", "jk", "risk", "succeeded", 1.0, f'{{"portfolio_id": {keep}}}', "{}")
    store.save_job("alice", "jg", "risk", "succeeded", 1.0, f'{{"portfolio_id": {gone}}}', "{}")
    store.save_job("alice", "ji", "risk", "succeeded", 1.0, '{"portfolio": {}}', "{}")
    assert store.delete_portfolio("alice", gone)
    again = store.save_portfolio("alice", "again", "{}")
    assert again > gone
    assert store.reports("alice", again) == [] and store.reports("alice", gone) == []
    assert [r[2] for r in store.reports("alice")] == ['{"n": 1}']
    assert store.load_job("alice", "jg") is None
    assert store.load_job("alice", "jk") is not None and store.load_job("alice", "ji") is not None
    assert store.delete_portfolio("alice", again)
    store.close()
    reopened = open_test_store(store_url)
    try:
        assert reopened.save_portfolio("alice", "after reopening", "{}") > again
    finally:
        reopened.close()


def test_migration_4_never_reuses_an_id_an_old_database_gave(tmp_path, monkeypatch):
    """A SQLite database written before ids were kept unique (schema version 3), whose newest
    book was deleted leaving its reports, gives new books ids above every id it ever gave."""
    from riskengine.store import migrations

    from .conftest import open_test_store

    url = f"sqlite:///{tmp_path / 'old.sqlite3'}"
    monkeypatch.setattr(migrations, "SQLITE", migrations.SQLITE[:3])
    old = open_test_store(url)
    first = old.save_portfolio("alice", "first", "{}")
    second = old.save_portfolio("alice", "second", "{}")
    old.save_report("alice", second, dt.date(2024, 1, 2), "historical", '{"n": 2}')
    old.close()
    with sqlite3.connect(tmp_path / "old.sqlite3") as conn:  # a delete as version 3 did it
        conn.execute("DELETE FROM portfolios WHERE id = ?", (second,))
    monkeypatch.undo()
    new = open_test_store(url)
    try:
        assert new.schema_version() == migrations.latest(migrations.SQLITE) >= 4
        assert new.list_portfolios("alice") == [(first, "first")]
        third = new.save_portfolio("alice", "third", "{}")
        assert third > second
        assert new.reports("alice", third) == []
    finally:
        new.close()


def test_reports_per_tenant_newest_first(store):
    pid = store.save_portfolio("alice", "core", "{}")
    ids = [
        store.save_report("alice", pid, dt.date(2024, 1, d), "historical", f'{{"n": {d}}}')
        for d in (1, 2, 3)
    ]
    other = store.save_report("alice", None, dt.date(2024, 1, 4), "parametric", '{"n": 4}')
    store.save_report("bob", pid, dt.date(2024, 1, 1), "historical", '{"bob": true}')
    got = store.reports("alice", pid)
    assert [r[0] for r in got] == ids[::-1]
    assert [r[2] for r in got] == ['{"n": 3}', '{"n": 2}', '{"n": 1}']
    assert all(r[1].utcoffset() == dt.timedelta(0) for r in got)
    assert [r[0] for r in store.reports("alice")] == [other, *ids[::-1]]
    assert [r[0] for r in store.reports("alice", limit=2)] == [other, ids[2]]
    assert [r[2] for r in store.reports("bob")] == ['{"bob": true}']
    assert store.reports("carol") == []
    with pytest.raises(StoreError, match="not valid JSON"):
        store.save_report("alice", pid, dt.date(2024, 1, 1), "historical", "nope")


def test_the_risk_history_is_thinned_as_reports_are_stored(store):
    """keep_per_day keeps the latest reports of each (book, method, market date), the last of
    the day among them; keep_days drops market dates that many business days before the new
    report's; other books, methods and tenants are untouched."""
    pid = store.save_portfolio("alice", "core", "{}")
    other = store.save_portfolio("alice", "other", "{}")
    days = np.busday_offset(np.datetime64("2023-01-02"), np.arange(300))
    kept = {}
    for day in days.astype(object):
        for n in range(3):  # three intraday reports, the last is the end-of-day one
            rid = store.save_report("alice", pid, day, "historical", f'{{"n": {n}}}',
                                    keep_days=260, keep_per_day=2)  # fmt: skip
        kept[day] = rid
    # a report dated on a weekend (a 24/7 feed) keeps itself, whatever keep_days
    saturday = dt.date(2024, 6, 8)
    rid = store.save_report("alice", other, saturday, "historical", "{}", keep_days=1)
    assert [r[0] for r in store.reports("alice", other)] == [rid]
    store.delete_portfolio("alice", other)
    other = store.save_portfolio("alice", "other", "{}")
    store.save_report("alice", other, days[0].astype(object), "historical", "{}")
    store.save_report("bob", pid, days[0].astype(object), "historical", "{}")
    rows = store.reports("alice", pid, limit=10_000)
    dates = [orjson.loads(b) for _, _, b in rows]
    assert len(rows) == 260 * 2  # the last 260 business days, two reports each
    assert {r[0] for r in rows} >= {kept[d] for d in days[-260:].astype(object)}  # each EOD
    assert all(d["n"] in (1, 2) for d in dates)  # the latest two of each day
    assert min(r[0] for r in rows) > kept[days[-261].astype(object)]
    assert len(store.reports("alice", other)) == 1 and len(store.reports("bob")) == 1


def test_the_risk_history_pages_by_method_and_time(store):
    """reports(before=) continues after a report in the newest-first order; method and since
    narrow it; another tenant's reports are never listed."""
    pid = store.save_portfolio("alice", "core", "{}")
    day = dt.date(2024, 1, 2)
    ids = [store.save_report("alice", pid, day, m, f'{{"n": {n}}}')
           for n, m in enumerate(["historical", "parametric"] * 4)]  # fmt: skip
    store.save_report("bob", pid, day, "historical", "{}")
    everything = store.reports("alice", pid)
    assert [r[0] for r in everything] == ids[::-1]
    pages, before = [], None
    while True:
        page = store.reports("alice", pid, limit=3, before=before)
        if not page:
            break
        pages.append([r[0] for r in page])
        before = page[-1][0]
    assert pages == [ids[::-1][:3], ids[::-1][3:6], ids[::-1][6:]]
    hist = store.reports("alice", pid, method="historical")
    assert [r[0] for r in hist] == ids[-2::-2]
    assert [r[0] for r in store.reports("alice", pid, method="historical", limit=2,
                                        before=hist[1][0])] == ids[-2::-2][2:4]  # fmt: skip
    cut = everything[2][1]
    assert [r[0] for r in store.reports("alice", pid, since=cut)] == [
        r[0] for r in everything if r[1] >= cut]  # fmt: skip
    assert store.reports("bob", pid, before=ids[-1]) == []  # alice's report: not bob's cursor


def test_jobs_per_tenant(store):
    store.save_job("alice", "j1", "backtest", "queued", 0.0, '{"window": 250}')
    j = store.load_job("alice", "j1")
    assert j["state"] == "queued" and j["result"] is None and j["error"] is None
    assert (j["id"], j["tenant"], j["kind"], j["request"]) == (
        "j1", "alice", "backtest", '{"window": 250}',
    )  # fmt: skip
    created = j["created_at"]
    time.sleep(0.002)
    store.save_job("alice", "j1", "backtest", "done", 1.0, '{"window": 250}', '{"var": 1.5}')
    j = store.load_job("alice", "j1")
    assert (j["state"], j["progress"], j["result"]) == ("done", 1.0, '{"var": 1.5}')
    assert j["created_at"] == created < j["updated_at"]
    assert store.load_job("bob", "j1") is None  # invisible to another tenant
    store.save_job("bob", "j1", "risk", "failed", 0.5, "{}", error="no prices for XYZ")
    assert store.load_job("bob", "j1")["error"] == "no prices for XYZ"
    assert store.load_job("alice", "j1")["state"] == "done"
    assert store.load_job("alice", "nope") is None


# --- daily history --------------------------------------------------------------------------


def test_import_daily_round_trip_real_data(store, real_history):
    calls = []
    n = store.import_daily(real_history, progress=lambda d, t: calls.append((d, t)))
    assert n == int(np.isfinite(real_history.prices).sum()) == 4026 * 20
    assert calls[-1] == (n, n) and all(t == n for _, t in calls)
    assert [d for d, _ in calls] == sorted(d for d, _ in calls)
    back = store.factor_history(real_history.symbols)
    assert back.symbols == real_history.symbols
    np.testing.assert_array_equal(back.dates, real_history.dates)
    np.testing.assert_array_equal(back.prices, real_history.prices)
    every = store.factor_history()  # all symbols, sorted
    assert every.symbols == tuple(sorted(real_history.symbols))
    sub = store.factor_history(["MSFT", "AAPL"])
    np.testing.assert_array_equal(
        sub.prices[:, 0], real_history.prices[:, real_history.column["MSFT"]]
    )
    day = real_history.date_at(100)
    assert store.previous_close("AAPL", day) == real_history.prices[99, 0]
    assert store.previous_close("AAPL", real_history.date_at(0)) is None
    bars = store.bars("AAPL", "1d", start=dt.datetime(2007, 1, 3, tzinfo=UTC),
                      end=dt.datetime(2007, 1, 5, tzinfo=UTC))  # fmt: skip
    assert [(b.open, b.high, b.low, b.close, b.volume, b.trades, b.source) for b in bars] == [
        (2.544, 2.544, 2.544, 2.544, 0.0, 0, "import"),
        (2.6, 2.6, 2.6, 2.6, 0.0, 0, "import"),
    ]


def test_reimport_replaces_and_nan_skipped(store):
    dates = np.array(["2024-01-02", "2024-01-03", "2024-01-04"], dtype="datetime64[D]")
    h1 = FactorHistory(dates, ("A", "B"), np.array([[1.0, 10.0], [2.0, np.nan], [3.0, 30.0]]))
    assert store.import_daily(h1) == 5
    h2 = FactorHistory(dates[1:], ("A",), np.array([[2.5], [3.5]]))
    assert store.import_daily(h2) == 2
    back = store.factor_history(["A", "B"])
    np.testing.assert_array_equal(back.dates, dates)
    np.testing.assert_array_equal(back.prices, [[1.0, 10.0], [2.5, np.nan], [3.5, 30.0]])
    assert [b.close for b in store.bars("A", "1d")] == [1.0, 2.5, 3.5]


def test_ticks_make_daily_bars_and_import_wins(store):
    dates = np.array(["2024-03-01", "2024-03-02"], dtype="datetime64[D]")
    store.import_daily(FactorHistory(dates, ("BTC-USD",), np.array([[60000.0], [61000.0]])))
    # ticks on 2024-03-01 (23:50..), 03-02 and 03-03; ETH only ever has ticks
    store.write_ticks([tick(i, seconds=i * 3600, price=60000.0 + i) for i in range(40)])
    store.write_ticks([tick(i, symbol="ETH-USD", seconds=i * 3600, price=3000.0 + i)
                       for i in range(40)])  # fmt: skip
    h = store.factor_history(["BTC-USD", "ETH-USD"])
    np.testing.assert_array_equal(
        h.dates, np.array(["2024-03-01", "2024-03-02", "2024-03-03"], dtype="datetime64[D]")
    )
    # tick i at 23:50 + i h: 03-01 holds i=0, 03-02 i=1..24, 03-03 i=25..39
    np.testing.assert_array_equal(h.prices[:, 0], [60000.0, 61000.0, 60039.0])
    np.testing.assert_array_equal(h.prices[:, 1], [3000.0, 3024.0, 3039.0])
    assert "ETH-USD" in store.factor_history().symbols
    assert store.previous_close("BTC-USD", dt.date(2024, 3, 3)) == 61000.0
    assert store.previous_close("ETH-USD", dt.date(2024, 3, 3)) == 3024.0
    both = store.bars("BTC-USD", "1d", start=dt.datetime(2024, 3, 2, tzinfo=UTC),
                      end=dt.datetime(2024, 3, 3, tzinfo=UTC))  # fmt: skip
    assert [(b.source, b.close) for b in both] == [("import", 61000.0), ("ticks", 60024.0)]


def test_unknown_symbol_names_the_way_out(store):
    with pytest.raises(Exception, match="import"):
        store.factor_history()  # empty store
    store.write_ticks([tick(1)])
    with pytest.raises(UnknownSymbolError) as err:
        store.factor_history(["BTC-USD", "XYZ"])
    assert "'XYZ'" in str(err.value) and "riskengine import FILE" in str(err.value)


def test_import_file_wide_and_long_with_progress_bar(store, tmp_path, capsys):
    wide = tmp_path / "wide.csv"
    wide.write_text("date,AAA,BBB\n2024-01-02,1.5,\n2024-01-03,1.6,20.0\n")
    long = tmp_path / "long.csv"
    long.write_text("date,symbol,close\n2024-01-02,CCC,7.0\n2024-01-03,CCC,7.5\n")
    assert import_file(store, wide).rows == 3
    assert "importing wide.csv [" in capsys.readouterr().err
    assert import_file(store, long, progress=False).rows == 2
    assert capsys.readouterr().err == ""
    h = store.factor_history(["AAA", "BBB", "CCC"])
    np.testing.assert_array_equal(h.prices, [[1.5, np.nan, 7.0], [1.6, 20.0, 7.5]])


def test_progress_bar_draws_and_ends_line():
    out = io.StringIO()
    bar = ProgressBar("x", stream=out, width=10, interval=0)
    bar(5, 10)
    bar(10, 10)
    bar(10, 10)
    text = out.getvalue()
    assert "\rx [#####-----]  50% 5/10 rows" in text
    assert "[##########] 100% 10/10 rows" in text and text.endswith("\n")
    assert text.count("\n") == 1


# --- PostgreSQL: outages, Timescale detection ---------------------------------------------------


def test_postgres_write_paths(pg_url, open_test_store, monkeypatch):
    """New ticks go straight in by COPY; only possibly-stored ones take the staging path, and
    a COPY that meets a stored key (here a duplicate inside the batch) falls back to it."""
    s = open_test_store(pg_url)
    staged = []
    real = type(s)._insert_staged

    def spy(cur, ticks, idx):
        staged.append(len(idx))
        return real(cur, ticks, idx)

    monkeypatch.setattr(s, "_insert_staged", spy)
    try:
        assert s.write_ticks([tick(i) for i in range(100)]).inserted == 100
        assert staged == []
        assert s.write_ticks([tick(i) for i in range(90, 200)]).inserted == 100
        assert staged == [10]  # the overlap only
        assert s.write_ticks([tick(i) for i in (200, 201, 201, 202)]).inserted == 3
        assert staged == [10, 4]  # COPY failed on the duplicate: the whole batch staged
        assert s.write_ticks([tick(i) for i in range(203)]).inserted == 0
        assert s.count_ticks() == 203
        assert _bars_as_dict(s, ["BTC-USD"]) == _oracle_bars([tick(i) for i in range(203)])
    finally:
        s.close()


def test_postgres_outage_raises_unavailable_then_recovers(pg_server, pg_url):
    s = open_store(pg_url, pool_timeout=1.0, connect_timeout=1)
    try:
        assert s.write_ticks([tick(i) for i in range(10)]).inserted == 10
        batch = [tick(i) for i in range(10, 30)]
        with pg_server.down():
            t = time.perf_counter()
            with pytest.raises(StoreUnavailable, match="unreachable|PostgreSQL at"):
                s.write_ticks(batch)
            assert time.perf_counter() - t < 6
            with pytest.raises(StoreUnavailable):
                s.latest_prices()
        # back: the same object works, the failed batch was not stored, now it is, once
        assert s.write_ticks(batch).inserted == 20
        assert s.write_ticks(batch).inserted == 0
        assert s.count_ticks() == 30
        assert _bars_as_dict(s, ["BTC-USD"]) == _oracle_bars([tick(i) for i in range(30)])
    finally:
        s.close()


def test_postgres_connection_lost_mid_batch_rolls_back(pg_url, monkeypatch, open_test_store):
    s = open_test_store(pg_url)
    try:
        s.write_ticks([tick(0)])
        real = type(s)._upsert_bars

        def kill_connection(conn, parts):
            conn.execute("SELECT pg_terminate_backend(pg_backend_pid())")

        monkeypatch.setattr(s, "_upsert_bars", kill_connection)
        with pytest.raises(StoreUnavailable):
            s.write_ticks([tick(i) for i in range(1, 20)])
        monkeypatch.setattr(s, "_upsert_bars", lambda conn, parts: real(s, conn, parts))
        assert s.count_ticks() == 1  # the COPY before the failure was rolled back
        assert s.write_ticks([tick(i) for i in range(20)]).inserted == 19
        assert _bars_as_dict(s, ["BTC-USD"]) == _oracle_bars([tick(i) for i in range(20)])
    finally:
        s.close()


def test_postgres_unreachable_at_open_is_quick_and_clear():
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"postgresql://postgres@127.0.0.1:{port}/nowhere"
    t = time.perf_counter()
    with pytest.raises(StoreUnavailable, match=r"cannot connect to PostgreSQL at 127\.0\.0\.1"):
        open_store(url, pool_timeout=1.0, connect_timeout=1)
    assert time.perf_counter() - t < 5


def test_postgres_timescale_detection_without_extension(pg_url, open_test_store):
    s = open_test_store(pg_url)
    try:
        with psycopg.connect(pg_url, autocommit=True) as conn:
            usable, why = timescale_available(conn)
            installed = conn.execute("SELECT extname FROM pg_extension").fetchall()
        assert usable == s.capabilities.timescaledb
        if not usable:
            assert "timescaledb" in why
            assert ("timescaledb",) not in installed  # never CREATE EXTENSION without it
            assert s.capabilities == Capabilities("postgresql", version=s.capabilities.version)
    finally:
        s.close()


def test_an_ordinary_role_opens_the_store_ingests_and_reads_bars(pg_server, pg_url):
    """The normal deployment: a login role owning its database (docs/store.md#roles), not a
    superuser. It could not open the store on a server with TimescaleDB ("must be superuser or
    have privileges of pg_read_all_settings to examine shared_preload_libraries")."""
    from .conftest import open_test_store

    db = pg_url.rsplit("/", 1)[1]
    role = f"risk_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(f"CREATE ROLE {role} LOGIN PASSWORD 'secret' NOSUPERUSER")
        conn.execute(f"ALTER DATABASE {db} OWNER TO {role}")
        conn.execute(f"ALTER SCHEMA public OWNER TO {role}")
        super_caps = conn.execute(
            "SELECT count(*) FROM pg_available_extensions WHERE name = 'timescaledb'"
        ).fetchone()[0]
    url = pg_url.replace("postgresql://postgres@", f"postgresql://{role}:secret@")
    s = open_test_store(url)
    try:
        with psycopg.connect(url, autocommit=True) as conn:
            usable, why = timescale_available(conn)
            assert conn.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user"
                                ).fetchone() == (False,)  # fmt: skip
        assert "superuser" not in why or not usable
        assert s.capabilities.timescaledb == usable
        if (
            super_caps
            and os.environ.get("RISKENGINE_TEST_PG_SETTINGS", "").find("timescaledb") >= 0
        ):
            assert usable, why  # TimescaleDB preloaded for these tests: the role uses it
        ticks = [tick(i) for i in range(50)]
        assert s.write_ticks(ticks).inserted == 50
        assert _bars_as_dict(s, ["BTC-USD"]) == _oracle_bars(ticks)
        assert s.latest_prices()["BTC-USD"].price == ticks[-1].price
    finally:
        s.close()
        with psycopg.connect(pg_url.replace(db, "postgres"), autocommit=True) as conn:
            conn.execute(f"ALTER DATABASE {db} OWNER TO postgres")
        with psycopg.connect(pg_url, autocommit=True) as conn:
            conn.execute(f"REASSIGN OWNED BY {role} TO postgres")
            conn.execute(f"DROP OWNED BY {role}")
            conn.execute(f"DROP ROLE {role}")


def test_timescale_sql_by_version():
    assert "by_range('ts', INTERVAL '1 day')" in hypertable_sql("2.13.0")
    assert "by_range" in hypertable_sql("2.17.2")
    old = hypertable_sql("2.11.2")
    assert "'ticks', 'ts', chunk_time_interval => INTERVAL '1 day'" in old
    view = continuous_aggregate_sql("1m")
    assert "bars_1m" in view and "timescaledb.continuous" in view
    assert f"first(price, {TICK_ORDER})" in view and f"last(price, {TICK_ORDER})" in view
    assert "time_bucket(INTERVAL '1 minute', ts)" in view
    assert "add_continuous_aggregate_policy('bars_1m'" in continuous_aggregate_policy_sql("1m")
    assert list(CAGG_VIEWS) == ["1m"]  # the daily tick bars are kept by the writes
    assert "compress_segmentby = 'venue, symbol'" in compression_sql()
    assert "compress_orderby = 'ts, trade_id'" in compression_sql()


def test_timescale_refresh_windows():
    """The buckets a write refreshes: from its first tick's to its last tick's, cut at the last
    whole bucket below the invalidation threshold; none at or above it."""

    def us(*args):
        return int(dt.datetime(*args, tzinfo=UTC).timestamp() * 1_000_000)

    first, last = us(2024, 3, 1, 10, 0, 30), us(2024, 3, 2, 5, 0, 10)
    assert refresh_windows(first, last, us(2024, 3, 2, 5, 0, 30)) == [
        ("bars_1m", us(2024, 3, 1, 10, 0), us(2024, 3, 2, 5, 0)),
    ]
    assert refresh_windows(first, last, us(2024, 3, 9)) == [
        ("bars_1m", us(2024, 3, 1, 10, 0), us(2024, 3, 2, 5, 1)),
    ]
    # inside the bucket that holds the threshold: real-time aggregation shows it
    assert refresh_windows(first, first, us(2024, 3, 1, 10, 0, 50)) == []
    assert refresh_windows(first, last, -210866803200000000) == []  # nothing materialised


def _timescale_rows(url, sql, params=None):
    with psycopg.connect(url, autocommit=True) as conn:
        cur = conn.execute(sql, params)
        return cur.fetchall() if cur.description else []


def test_timescale_features(pg_url, open_test_store, caplog):
    """With TimescaleDB installed and preloaded (RISKENGINE_TEST_PG_SETTINGS, docs/store.md):
    ticks is a hypertable with 1-day chunks, compressed by (venue, symbol) / (ts, trade_id)
    after 7 days, and the tick-built bars come from the continuous aggregates bars_1m and
    bars_1d, equal to an oracle right after every write: fresh ticks (real-time aggregation),
    ticks below what TimescaleDB has already materialised (write_ticks refreshes those
    buckets), ticks into compressed chunks, and after reopening the store."""
    with caplog.at_level(logging.INFO, logger="riskengine.store"):
        s = open_test_store(pg_url)
    try:
        caps = s.capabilities
        if not caps.timescaledb:
            with psycopg.connect(pg_url, autocommit=True) as conn:
                _, why = timescale_available(conn)
            pytest.skip(f"TimescaleDB extension not available: {why}")
        dims = _timescale_rows(
            pg_url,
            "SELECT column_name, time_interval FROM timescaledb_information.dimensions "
            "WHERE hypertable_schema = current_schema() AND hypertable_name = 'ticks'",
        )
        assert dims == [("ts", dt.timedelta(days=1))]
        if not (caps.compression and caps.continuous_aggregates):
            pytest.skip(f"TimescaleDB without community features: {caps.describe()}")
        opened = [r.getMessage() for r in caplog.records if "TimescaleDB:" in r.getMessage()]
        assert opened and opened[-1].endswith(
            "+ TimescaleDB: hypertable, compression, continuous aggregates"
        )

        # compression as documented, with its policy
        settings = _timescale_rows(
            pg_url,
            "SELECT attname, segmentby_column_index, orderby_column_index, orderby_asc "
            "FROM timescaledb_information.compression_settings "
            "WHERE hypertable_schema = current_schema() AND hypertable_name = 'ticks' "
            "AND (segmentby_column_index IS NOT NULL OR orderby_column_index IS NOT NULL) "
            "ORDER BY segmentby_column_index NULLS LAST, orderby_column_index",
        )
        assert settings == [
            ("venue", 1, None, None),
            ("symbol", 2, None, None),
            ("ts", None, 1, True),
            ("trade_id", None, 2, True),
        ]
        jobs = _timescale_rows(
            pg_url,
            "SELECT proc_name, hypertable_name, config FROM timescaledb_information.jobs "
            "WHERE proc_name IN ('policy_compression', 'policy_refresh_continuous_aggregate') "
            "ORDER BY hypertable_name",
        )
        assert [(p, h) for p, h, _ in jobs] == [
            ("policy_refresh_continuous_aggregate", "bars_1m"),
            ("policy_compression", "ticks"),
        ]
        assert jobs[1][2]["compress_after"] == "7 days"

        # the continuous aggregates, real-time
        views = _timescale_rows(
            pg_url,
            "SELECT view_name, materialized_only, materialization_hypertable_schema, "
            "materialization_hypertable_name FROM timescaledb_information.continuous_aggregates "
            "WHERE hypertable_schema = current_schema() AND hypertable_name = 'ticks' "
            "ORDER BY view_name",
        )
        assert [(v, m) for v, m, _, _ in views] == [("bars_1m", False)]
        materialized = [f"{sch}.{tab}" for _, _, sch, tab in views]

        def check(stored, what):
            assert s.count_ticks() == len(stored), what
            symbols = sorted({t.symbol for t in stored})
            assert _bars_as_dict(s, symbols) == _oracle_bars(stored), what
            # the 1-minute tick bars come from the aggregate, the daily ones from the table
            kept = _timescale_rows(pg_url, 'SELECT DISTINCT "interval" FROM bars')
            assert kept in ([], [("1d",)]), what

        rng = random.Random(11)
        unique = _random_ticks(rng, 1500)
        first, second, third = unique[:600], unique[600:1200], unique[1200:]

        def write(ticks, resent):
            stream = ticks + rng.sample(resent, min(len(resent), 50))
            rng.shuffle(stream)
            return sum(
                s.write_ticks(stream[i : i + 97]).inserted for i in range(0, len(stream), 97)
            )

        assert write(first, first) == len(first)
        check(first, "fresh ticks (real-time aggregation)")
        chunks = _timescale_rows(
            pg_url,
            "SELECT range_end - range_start FROM timescaledb_information.chunks "
            "WHERE hypertable_schema = current_schema() AND hypertable_name = 'ticks'",
        )
        assert len(chunks) == 4 and set(chunks) == {(dt.timedelta(days=1),)}

        # materialise everything (as the refresh policies do for recent data), then write
        # ticks in between: the buckets they land in must not stay as materialised
        for view in CAGG_VIEWS.values():
            _timescale_rows(pg_url, f"CALL refresh_continuous_aggregate('{view}', NULL, NULL)")
        for table in materialized:
            assert _timescale_rows(pg_url, f"SELECT count(*) > 0 FROM {table}") == [(True,)]
        assert write(second, first) == len(second)
        check(first + second, "ticks below the materialised watermark")

        # compressed chunks: new ticks and re-sent ones go in exactly once
        compressed = _timescale_rows(
            pg_url, "SELECT count(compress_chunk(c)) FROM show_chunks('ticks') c"
        )
        assert compressed == [(4,)]
        assert write(third, first + second) == len(third)
        check(unique, "ticks into compressed chunks")
        assert s.write_ticks(rng.sample(unique, 300)).inserted == 0
        assert sorted(s.tick_keys()) == sorted((t.venue, t.symbol, t.trade_id) for t in unique)
    finally:
        s.close()
    # reopening: the set-up is idempotent and the bars stay as they were
    s = open_test_store(pg_url)
    try:
        assert s.capabilities == caps
        check(unique, "after reopening")
    finally:
        s.close()


_OLD_TICK_ORDERS = {
    "no tick order": "ts",
    "numeric epoch": (
        "int8send((extract(epoch FROM ts - TIMESTAMPTZ '1970-01-01 00:00:00+00') * 1000000)"
        "::bigint) || textsend(venue) || '\\x00'::bytea || int8send(trade_id)"
    ),
}


@pytest.mark.parametrize("order", list(_OLD_TICK_ORDERS))
def test_timescale_aggregates_of_an_older_set_up_are_made_again(pg_url, open_test_store, order):
    """A store set up before the tick order (bars_1m and bars_1d with first/last(price, ts)),
    or with the earlier spelling of it (the epoch in numeric arithmetic, three times slower to
    refresh): at open bars_1m is made again with today's tick order, and bars_1d's daily bars
    are moved into the bars table (kept by the writes from then on) and the aggregate
    dropped."""
    s = open_test_store(pg_url)
    if not s.capabilities.continuous_aggregates:
        s.close()
        pytest.skip("TimescaleDB with continuous aggregates not available")
    ticks = _random_ticks(random.Random(4), 300)
    s.write_ticks(ticks)
    s.close()
    old = (
        "CREATE MATERIALIZED VIEW {v} WITH (timescaledb.continuous, "
        "timescaledb.materialized_only = false) AS SELECT symbol, time_bucket(INTERVAL '{b}', ts) "
        "AS start, first(price, {o}) AS open, max(price) AS high, min(price) AS low, "
        "last(price, {o}) AS close, sum(size) AS volume, count(*) AS trades, min(ts) AS open_ts, "
        "max(ts) AS close_ts FROM ticks GROUP BY symbol, time_bucket(INTERVAL '{b}', ts)"
    )
    _timescale_rows(pg_url, "DROP MATERIALIZED VIEW bars_1m")
    _timescale_rows(pg_url, "DELETE FROM bars WHERE source = 'ticks'")
    for view, bucket in (("bars_1m", "1 minute"), ("bars_1d", "1 day")):
        _timescale_rows(pg_url, old.format(v=view, b=bucket, o=_OLD_TICK_ORDERS[order]))
    s = open_test_store(pg_url)
    try:
        views = _timescale_rows(
            pg_url,
            "SELECT view_name, view_definition FROM timescaledb_information.continuous_aggregates",
        )
        assert [v for v, _ in views] == ["bars_1m"]
        assert "timestamptz_send(" in views[0][1] and "extract" not in views[0][1]
        symbols = sorted({t.symbol for t in ticks})
        assert _bars_as_dict(s, symbols) == _oracle_bars(ticks)
    finally:
        s.close()


def test_migration_6_keys_ticks_by_time_and_carries_trade_ids_over(
    pg_url, monkeypatch, open_test_store
):
    """A database written at schema version 5 (unique key (venue, symbol, trade_id, ts), with
    TimescaleDB its own index on ts as well): version 6 keys the ticks by (ts, venue, symbol,
    trade_id) alone and carries each pair's highest trade id into max_trade_ids, so the writes'
    fast path still stores every tick exactly once: a re-sent batch stores nothing, newer
    trades go in, and an older trade id never stored before goes in once."""
    from riskengine.store import migrations

    monkeypatch.setattr(migrations, "POSTGRES", migrations.POSTGRES[:5])
    old = open_test_store(pg_url)
    assert old.schema_version() == 5
    timescale = old.capabilities.timescaledb
    old.close()
    ticks = _random_ticks(random.Random(6), 400)
    ticks = [t for t in ticks if t.trade_id % 7]  # some gaps: older ids never stored
    with psycopg.connect(pg_url) as conn:
        if timescale:  # as create_hypertable made it before version 6
            conn.execute("CREATE INDEX IF NOT EXISTS ticks_ts_idx ON ticks (ts DESC)")
        conn.cursor().executemany(
            "INSERT INTO ticks (venue, symbol, ts, price, size, trade_id) "
            "VALUES (%s, %s, %s, %s, %s, %s)",
            [t[:6] for t in ticks],
        )
    monkeypatch.undo()
    new = open_test_store(pg_url)
    try:
        assert new.schema_version() == migrations.latest(migrations.POSTGRES) >= 6
        indexes = _timescale_rows(
            pg_url,
            "SELECT indexrelid::regclass::text, pg_get_indexdef(indexrelid) FROM pg_index "
            "WHERE indrelid = 'ticks'::regclass",
        )
        assert [d.split(" USING ")[1] for _, d in indexes] == [
            "btree (ts, venue, symbol, trade_id)"
        ], indexes
        tops: dict = {}
        for t in ticks:
            tops[t.venue, t.symbol] = max(tops.get((t.venue, t.symbol), -1), t.trade_id)
        stored = dict(((v, s), m) for v, s, m in _timescale_rows(
            pg_url, "SELECT venue, symbol, trade_id FROM max_trade_ids"
        ))  # fmt: skip
        assert stored == tops
        assert new.write_ticks(ticks).inserted == 0
        later = [
            t._replace(trade_id=tops[t.venue, t.symbol] + 1 + k) for k, t in enumerate(ticks[:5])
        ]
        gaps = [t._replace(trade_id=t.trade_id - t.trade_id % 7) for t in ticks[:30]]
        gaps = list({(t.venue, t.symbol, t.trade_id): t for t in gaps}.values())
        assert new.write_ticks([*gaps, *later]).inserted == len(gaps) + len(later)
        assert new.write_ticks([*gaps, *later]).inserted == 0
        assert new.count_ticks() == len(ticks) + len(gaps) + len(later)
    finally:
        new.close()


def test_migration_2_carries_latest_prices_over(store_url, monkeypatch):
    """A database written at schema version 1 (latest prices read from the ticks) keeps its
    latest prices when version 2 moves them into latest_ticks."""
    from riskengine.store import migrations

    from .conftest import open_test_store

    monkeypatch.setattr(migrations, "SQLITE", migrations.SQLITE[:1])
    monkeypatch.setattr(migrations, "POSTGRES", migrations.POSTGRES[:1])
    t0 = dt.datetime(2024, 5, 1, 12, tzinfo=dt.UTC)
    ticks = [
        Tick("kraken", "BTC-USD", t0, 100.0, 1.0, 1),
        Tick("kraken", "BTC-USD", t0 + dt.timedelta(seconds=2), 101.0, 1.0, 2),
        Tick("coinbase", "BTC-USD", t0 + dt.timedelta(seconds=1), 99.0, 1.0, 7),
        Tick("kraken", "ETH-USD", t0, 10.0, 1.0, 3),
    ]
    old = open_test_store(store_url)
    assert old.schema_version() == 1
    old.close()
    # rows as version 1 stored them (today's code would also write latest_ticks)
    if store_url.startswith("sqlite"):
        rows = [(*t[:2], int(t.ts.timestamp() * 1e6), *t[3:6]) for t in ticks]
        with sqlite3.connect(store_url.removeprefix("sqlite:///")) as conn:
            conn.executemany(
                "INSERT INTO ticks (venue, symbol, ts, price, size, trade_id) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                rows,
            )
    else:
        with psycopg.connect(store_url) as conn:
            conn.cursor().executemany(
                "INSERT INTO ticks (venue, symbol, ts, price, size, trade_id) "
                "VALUES (%s, %s, %s, %s, %s, %s)",
                [t[:6] for t in ticks],
            )
    monkeypatch.undo()
    new = open_test_store(store_url)
    try:
        backend = migrations.SQLITE if store_url.startswith("sqlite") else migrations.POSTGRES
        assert new.schema_version() == migrations.latest(backend) >= 2
        latest = new.latest_prices()
        assert {s: (p.venue, p.price) for s, p in latest.items()} == {
            "BTC-USD": ("kraken", 101.0),
            "ETH-USD": ("kraken", 10.0),
        }
        # and later writes keep it: an older tick does not replace a newer one
        new.write_ticks(
            [
                Tick("coinbase", "BTC-USD", t0 + dt.timedelta(seconds=3), 98.0, 1.0, 8),
                Tick("kraken", "ETH-USD", t0 - dt.timedelta(seconds=5), 9.0, 1.0, 2),
            ]
        )
        latest = new.latest_prices(["BTC-USD", "ETH-USD"])
        assert (latest["BTC-USD"].venue, latest["BTC-USD"].price) == ("coinbase", 98.0)
        assert latest["ETH-USD"].price == 10.0
    finally:
        new.close()


def test_stored_ticks_read_back_exactly(store_url, open_test_store):
    """Every column of every tick comes back as written (the PostgreSQL fast path encodes the
    binary COPY with numpy; NULL received_at, several venues and symbols mixed in one batch)."""
    rng = random.Random(4)
    t0 = dt.datetime(2024, 2, 29, 23, 59, 59, 999_999, tzinfo=dt.UTC)
    recv = dt.datetime(2024, 3, 1, tzinfo=dt.UTC)
    ticks = [
        Tick(
            rng.choice(["kraken", "coinbase", "riskengine"]),
            rng.choice(["BTC-USD", "ETH-USD", "AAPL", "BRK.B"]),
            t0 + dt.timedelta(microseconds=rng.randrange(10**9)),
            rng.uniform(0.0001, 1e6),
            rng.choice([0.0, 1e-8, 3.5, 1e9]),
            i,
            None if rng.random() < 0.3 else recv + dt.timedelta(microseconds=i),
        )
        for i in range(1, 3001)
    ]
    s = open_test_store(store_url)
    try:
        assert s.write_ticks(ticks).inserted == len(ticks)
        sql = "SELECT venue, symbol, ts, price, size, trade_id, received_at FROM ticks"
        if store_url.startswith("sqlite"):
            from riskengine.store.bars import from_us

            with sqlite3.connect(store_url.removeprefix("sqlite:///")) as conn:
                rows = [
                    Tick(v, sy, from_us(ts), p, q, i, None if r is None else from_us(r))
                    for v, sy, ts, p, q, i, r in conn.execute(sql)
                ]
        else:
            with psycopg.connect(store_url) as conn:
                rows = [Tick(*r) for r in conn.execute(sql)]
        assert sorted(rows) == sorted(ticks)
    finally:
        s.close()


def test_latest_tick_on_equal_times_is_the_later_trade_of_the_venue(store):
    """Binance stamps in milliseconds: two trades of one venue often share a time. The later
    trade (higher id) is the latest price, whatever the order the batches arrive in, as it is
    the close of the bar."""
    t5 = dt.datetime(2024, 5, 1, 10, 5, tzinfo=UTC)
    store.write_ticks([Tick("binance", "BTC-USD", t5, 110.0, 1.0, 5)])
    store.write_ticks([Tick("binance", "BTC-USD", t5 - dt.timedelta(minutes=5), 100.0, 1.0, 1)])
    store.write_ticks([Tick("binance", "BTC-USD", t5, 120.0, 1.0, 6)])
    assert store.latest_prices()["BTC-USD"].price == 120.0
    (bar,) = [b for b in store.bars("BTC-USD", "1d")]
    assert (bar.open, bar.high, bar.low, bar.close) == (100.0, 120.0, 100.0, 120.0)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_bar_ties_follow_the_latest_price_order(store, seed):
    """Ticks are ordered by time, then venue (byte order), then trade id: the open is the first,
    the close and the latest price the last, whatever the batches and their order. TimescaleDB's
    aggregates picked another trade than latest_ticks for ticks at the same time."""
    t0 = dt.datetime(2024, 5, 1, 10, 5, tzinfo=UTC)
    same = [("kraken", 7), ("binance", 9), ("kraken", 3), ("binance", 2), ("coinbase", 5)]
    ticks = [Tick(v, "BTC-USD", t0, 100.0 + i, 1.0, tid) for i, (v, tid) in enumerate(same)]
    ticks += [Tick(v, "ETH-USD", t0 - dt.timedelta(seconds=30), 10.0 + i, 1.0, tid)
              for i, (v, tid) in enumerate(same)]  # fmt: skip
    rng = random.Random(seed)
    order = ticks[:]
    rng.shuffle(order)
    cut = sorted(rng.sample(range(1, len(order)), 3))
    batches = [order[a:b] for a, b in zip([0, *cut], [*cut, len(order)], strict=True)]
    for batch in batches:
        store.write_ticks(batch)
    for symbol in ("BTC-USD", "ETH-USD"):
        mine = sorted((t for t in ticks if t.symbol == symbol),
                      key=lambda t: (t.ts, t.venue, t.trade_id))  # fmt: skip
        assert store.latest_prices([symbol])[symbol].price == mine[-1].price
        for interval in ("1m", "1d"):
            (bar,) = store.bars(symbol, interval)
            assert (bar.open, bar.close) == (mine[0].price, mine[-1].price), (symbol, interval)


@pytest.mark.parametrize(
    ("field", "value"),
    [("price", math.nan), ("price", -1.0), ("price", 0.0), ("size", math.inf), ("size", -2.0),
     ("trade_id", 2**63), ("trade_id", -5)],
)  # fmt: skip
def test_impossible_values_are_refused_naming_the_field(store, field, value):
    good = Tick("kraken", "BTC-USD", dt.datetime(2024, 5, 1, tzinfo=UTC), 100.0, 1.0, 1)
    bad = good._replace(**{"trade_id": 2, field: value})
    with pytest.raises(StoreError, match=field):
        store.write_ticks([good, bad])
    assert store.count_ticks() == 0  # nothing of the batch
