"""The ingest service over real WebSocket connections on 127.0.0.1, into real stores.

Oracle: the feed's own log of every valid trade it sent. Afterwards each of them is stored
exactly once, bad frames and gaps are counted, and the service is still running.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time

import numpy as np
import pytest

from riskengine.ingest.exchange import Faults, FeedServer
from riskengine.ingest.service import IngestConfig, IngestService
from riskengine.ingest.sources import replay_ticks, simulated_ticks
from riskengine.ingest.venues import VENUES
from support import gaussian_history

START = dt.datetime(2024, 3, 4, 14, 30, tzinfo=dt.UTC)
HISTORY = gaussian_history(n_obs=300, k=3, seed=11)
SYMBOLS = HISTORY.symbols


def fast_config(url: str, venue: str, **over) -> IngestConfig:
    settings = dict(
        batch_size=400,
        flush_interval=0.05,
        max_batch=2000,
        buffer_limit=20_000,
        heartbeat_timeout=5.0,
        backoff_initial=0.01,
        backoff_max=0.2,
        gap_grace=0.3,
    )
    settings.update(over)
    return IngestConfig(feed=url, venue=venue, symbols=SYMBOLS, **settings)


async def wait_for(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        await asyncio.sleep(0.02)


def stored_keys(store, venue: str) -> list[tuple[str, int]]:
    return [(s, t) for _, s, t in store.tick_keys(venue=venue)]


def assert_exactly_once(store, venue: str, sent: set) -> None:
    keys = stored_keys(store, venue)
    assert len(keys) == len(set(keys)), "a trade is stored twice"
    assert set(keys) == sent


@pytest.mark.parametrize("venue", sorted(VENUES))
def test_every_venue_protocol_fills_ticks_and_daily_bars(store, venue):
    """Replay three symbols' daily closes in each venue's protocol: the store holds each trade
    once and its daily bars' closes are the history's closes."""

    async def main():
        batch = 7 if VENUES[venue].batches else 1
        feed = FeedServer(replay_ticks(HISTORY, venue=venue), venue=venue, batch=batch)
        async with feed:
            service = IngestService(store, fast_config(feed.url, venue))
            task = service.start()
            n = len(HISTORY.dates) * len(SYMBOLS)
            await wait_for(lambda: service.metrics.ticks_stored >= n, 30, "all ticks stored")
            assert not task.done()
            await service.stop()
        return feed, service

    feed, service = asyncio.run(main())
    assert_exactly_once(store, venue, feed.log.unique_sent())
    assert service.metrics.malformed_frames == 0 and service.metrics.gaps == 0
    for j, sym in enumerate(SYMBOLS):
        bars = store.bars(sym, "1d")
        closes = np.array([b.close for b in bars])
        np.testing.assert_array_equal(closes, HISTORY.prices[:, j])
        assert [b.start.date() for b in bars] == [HISTORY.date_at(i) for i in range(len(bars))]


def test_faults_on_the_feed_lose_nothing_and_store_nothing_twice(store):
    """Drops (clean and abrupt), repeated, reordered and corrupt frames on our own protocol,
    which resumes after the last trade held: every trade the feed sent is stored once."""
    faults = Faults(drop_every=60, max_drops=6, duplicate=0.05, reorder=0.05, corrupt=0.03, seed=3)

    async def main():
        source = simulated_ticks(HISTORY, seed=2, start=START)
        feed = FeedServer(source, venue="riskengine", batch=5, limit=6000, faults=faults)
        async with feed:
            service = IngestService(store, fast_config(feed.url, "riskengine"), seed=1)
            task = service.start()
            await wait_for(feed.finished.is_set, 60, "the feed to send everything")
            await wait_for(
                lambda: service.metrics.ticks_stored >= len(feed.log.sent), 30, "all stored"
            )
            await asyncio.sleep(0.2)
            assert not task.done(), "the service stopped"
            metrics = dict(service.metrics.as_dict())
            await service.stop()
        return feed, metrics

    feed, m = asyncio.run(main())
    flog = feed.log
    assert flog.drops == 6 and flog.duplicate_frames > 0 and flog.reordered_frames > 0
    assert_exactly_once(store, "riskengine", flog.unique_sent())
    assert len(flog.unique_sent()) == 6000
    assert m["malformed_frames"] == flog.corrupt_frames > 0
    assert m["reconnects"] >= flog.drops
    assert m["duplicates_dropped"] + m["store_duplicates"] >= flog.duplicate_frames
    assert m["gaps"] == 0  # every trade came back on resume
    malformed = store.quality_events(kind="malformed")
    assert sum(e.count for e in malformed) == flog.corrupt_frames


@pytest.mark.parametrize("abrupt", [False, True])
def test_abrupt_drops_resume_exactly_once(store, abrupt):
    faults = Faults(drop_every=40, max_drops=4, drop_abruptly=abrupt, seed=5)

    async def main():
        source = simulated_ticks(HISTORY, seed=4, start=START)
        feed = FeedServer(source, venue="riskengine", batch=10, limit=3000, faults=faults)
        async with feed:
            service = IngestService(store, fast_config(feed.url, "riskengine"))
            service.start()
            await wait_for(lambda: service.metrics.ticks_stored >= 3000, 60, "all stored")
            await service.stop()
        return feed

    feed = asyncio.run(main())
    assert feed.log.drops == 4
    assert_exactly_once(store, "riskengine", feed.log.unique_sent())


def test_gaps_without_resume_are_counted_and_recorded(store):
    """Coinbase cannot resume: trades published while the client reconnects are gaps, found by
    trade id; everything that was sent is stored once."""
    faults = Faults(drop_every=100, max_drops=3, skip_on_reconnect=25, seed=2)

    async def main():
        source = simulated_ticks(HISTORY, seed=6, start=START)
        feed = FeedServer(source, venue="coinbase", limit=1500, faults=faults)
        async with feed:
            service = IngestService(store, fast_config(feed.url, "coinbase"))
            service.start()
            await wait_for(feed.finished.is_set, 60, "the feed to send everything")
            sent = len(feed.log.sent)
            await wait_for(lambda: service.metrics.ticks_stored >= sent, 30, "all stored")
            await wait_for(
                lambda: service.metrics.gap_ticks >= feed.log.skipped, 5, "gaps confirmed"
            )
            await asyncio.sleep(0.1)
            metrics = service.metrics.as_dict()
            await service.stop()
        return feed, metrics

    feed, m = asyncio.run(main())
    # the 25 trades published during each of the 3 reconnects, and what the feed had not yet
    # sent of its current chunk when it hung up
    assert feed.log.skipped >= 3 * 25
    assert_exactly_once(store, "coinbase", feed.log.unique_sent())
    assert m["gap_ticks"] == feed.log.skipped and m["gaps"] >= 3
    recorded = store.quality_events(kind="gap")
    assert sum(e.count for e in recorded) == feed.log.skipped


def test_silent_feed_trips_the_watchdog_and_the_service_reconnects(store):
    async def main():
        source = simulated_ticks(HISTORY, seed=6, start=START)
        # a feed that sends a few trades, then nothing at all (no heartbeats: Binance)
        feed = FeedServer(source, venue="binance", limit=30, heartbeat_interval=60)
        async with feed:
            service = IngestService(store, fast_config(feed.url, "binance", heartbeat_timeout=0.6))
            service.start()
            await wait_for(lambda: service.metrics.watchdog_timeouts >= 1, 10, "the watchdog")
            await wait_for(lambda: service.metrics.connections >= 2, 10, "a reconnect")
            await service.stop()
        return service

    service = asyncio.run(main())
    assert service.metrics.ticks_stored == 30


def test_connection_age_limit_reconnects_like_binance_24h(store):
    async def main():
        source = simulated_ticks(HISTORY, seed=8, start=START)
        feed = FeedServer(source, venue="binance", rate=2000, limit=1200)
        async with feed:
            cfg = fast_config(feed.url, "binance", max_connection_age=0.15)
            service = IngestService(store, cfg)
            service.start()
            await wait_for(feed.finished.is_set, 30, "the feed to send everything")
            await asyncio.sleep(0.5)
            await service.stop()
        return feed, service

    feed, service = asyncio.run(main())
    m = service.metrics
    assert m.connections >= 3
    keys = stored_keys(store, "binance")
    assert len(keys) == len(set(keys))
    # what was sent but not read when the client hung up is a gap, never a silent loss
    assert len(feed.log.sent) - len(keys) == m.gap_ticks - feed.log.skipped


class SlowStore:
    """The real store behind a slow disk: each write takes ``delay`` seconds."""

    def __init__(self, store, delay: float):
        self._store, self._delay = store, delay

    def write_ticks(self, ticks):
        time.sleep(self._delay)
        return self._store.write_ticks(ticks)

    def __getattr__(self, name):
        return getattr(self._store, name)


def test_full_buffer_pauses_the_feed_and_records_it(store):
    async def main():
        source = simulated_ticks(HISTORY, seed=9, start=START)
        feed = FeedServer(source, venue="riskengine", batch=50, limit=20_000)
        async with feed:
            cfg = fast_config(feed.url, "riskengine", buffer_limit=2000, max_batch=500)
            service = IngestService(SlowStore(store, 0.02), cfg)
            service.start()
            await wait_for(lambda: service.metrics.ticks_stored >= 20_000, 60, "all stored")
            await asyncio.sleep(0.1)
            await service.stop()
        return feed, service

    feed, service = asyncio.run(main())
    assert service.metrics.backpressure_pauses > 0
    assert store.quality_events(kind="overflow")
    assert_exactly_once(store, "riskengine", feed.log.unique_sent())


def test_market_moved_is_signalled_after_new_ticks_are_stored(store):
    moves = []

    async def main():
        source = simulated_ticks(HISTORY, seed=10, start=START)
        feed = FeedServer(source, venue="kraken", batch=20, limit=600)
        async with feed:
            service = IngestService(store, fast_config(feed.url, "kraken"))
            service.add_listener(moves.append)
            service.start()
            await wait_for(lambda: service.metrics.ticks_stored >= 600, 30, "all stored")
            await service.stop()
        return feed

    feed = asyncio.run(main())
    assert moves and sum(m.ticks for m in moves) == 600
    last = {t.symbol: t for t in feed.journal()}
    assert moves[-1].prices == {s: last[s].price for s in moves[-1].symbols}
    latest = store.latest_prices()
    assert {s: latest[s].price for s in SYMBOLS} == {s: last[s].price for s in SYMBOLS}


def test_database_stopped_mid_stream_and_restarted(pg_server, pg_url, open_test_store):
    """PostgreSQL goes down while trades stream in: the buffer holds them, the writer retries,
    and after the restart every trade the feed sent is stored exactly once."""
    store = open_test_store(pg_url)

    async def main():
        source = simulated_ticks(HISTORY, seed=12, start=START)
        feed = FeedServer(source, venue="riskengine", batch=10, rate=4000, limit=8000)
        async with feed:
            service = IngestService(store, fast_config(feed.url, "riskengine"))
            task = service.start()
            await wait_for(lambda: service.metrics.ticks_stored >= 1500, 30, "first writes")
            await asyncio.to_thread(pg_server.stop)
            stopped_at = service.metrics.ticks_stored
            await wait_for(lambda: service.metrics.store_errors >= 2, 30, "failed writes")
            held = service.metrics.ticks_received - stopped_at
            await asyncio.sleep(0.5)
            await asyncio.to_thread(pg_server.start)
            await wait_for(feed.finished.is_set, 60, "the feed to send everything")
            await wait_for(lambda: service.metrics.ticks_stored >= 8000, 60, "all stored")
            assert not task.done(), "the service stopped"
            await service.stop()
        return feed, service, stopped_at, held

    try:
        feed, service, stopped_at, held = asyncio.run(main())
        assert service.metrics.store_errors >= 2
        assert held > 0 and stopped_at < 8000  # trades really arrived during the outage
        assert_exactly_once(store, "riskengine", feed.log.unique_sent())
        assert len(feed.log.unique_sent()) == 8000
    finally:
        store.close()


def test_a_silent_symbol_is_recorded_stale_once(store):
    async def main():
        two = simulated_ticks(HISTORY, SYMBOLS[:2], seed=13, start=START)
        feed = FeedServer(two, venue="riskengine", batch=5, rate=3000)
        async with feed:
            service = IngestService(store, fast_config(feed.url, "riskengine", stale_after=0.3))
            service.start()
            await wait_for(lambda: service.metrics.stale_symbols >= 1, 10, "a stale symbol")
            await asyncio.sleep(0.6)  # still silent: not recorded again
            await service.stop()
        return service

    service = asyncio.run(main())
    assert service.metrics.stale_symbols == 1
    events = store.quality_events(kind="stale")
    assert [(e.symbol, e.venue) for e in events] == [(SYMBOLS[2], "riskengine")]


def test_a_jump_against_the_previous_close_is_recorded(store):
    """Imported history closes at 100; live ticks the next day at 48 (a 2:1 split in the feed,
    against adjusted history) are a -52% jump, recorded once per symbol and day."""
    from riskengine.market.history import FactorHistory

    days = np.array(["2024-03-01", "2024-03-04"], dtype="datetime64[D]")
    imported = FactorHistory(days[:1], ("X",), np.array([[100.0]]))
    store.import_daily(imported)
    live = FactorHistory(days, ("X",), np.array([[100.0], [48.0]]))

    async def main():
        ticks = (t for t in replay_ticks(live) if t.ts.date() == dt.date(2024, 3, 4))
        feed = FeedServer(ticks, venue="riskengine")
        async with feed:
            cfg = IngestConfig(feed=feed.url, venue="riskengine", symbols=("X",),
                               batch_size=1, flush_interval=0.05)  # fmt: skip
            service = IngestService(store, cfg)
            service.start()
            await wait_for(lambda: service.metrics.ticks_stored >= 1, 10, "the tick stored")
            await asyncio.sleep(0.2)
            await service.stop()

    asyncio.run(main())
    (event,) = store.quality_events(kind="jump")
    assert event.symbol == "X" and "-52.0%" in event.detail and "100" in event.detail


class PoisonStore(SlowStore):
    """The real store, rejecting (as bad data, not an outage) any batch holding trade 50 of
    the first symbol."""

    def __init__(self, store):
        super().__init__(store, 0.0)

    def write_ticks(self, ticks):
        from riskengine.store.base import StoreError

        if any(t.symbol == SYMBOLS[0] and t.trade_id == 50 for t in ticks):
            raise StoreError("value out of range for column price")
        return self._store.write_ticks(ticks)


def test_a_batch_the_store_keeps_rejecting_is_dropped_recorded_and_ingestion_goes_on(store):
    async def main():
        source = simulated_ticks(HISTORY, seed=14, start=START)
        feed = FeedServer(source, venue="riskengine", batch=10, rate=3000, limit=3000)
        async with feed:
            cfg = fast_config(feed.url, "riskengine", batch_size=100, max_batch=100)
            service = IngestService(PoisonStore(store), cfg)
            task = service.start()
            await wait_for(feed.finished.is_set, 30, "the feed to send everything")
            await wait_for(lambda: service.metrics.ticks_stored
                           + service.metrics.rejected_ticks >= 3000, 30, "all handled")  # fmt: skip
            assert not task.done()
            await service.stop()
        return service

    service = asyncio.run(main())
    m = service.metrics
    # the batch is stored in halves until only the one tick the store refuses is left out
    assert m.rejected_ticks == 1 and m.ticks_stored == 2999
    (event,) = store.quality_events(kind="rejected")
    assert event.count == m.rejected_ticks and "out of range" in event.detail
    assert store.count_ticks(venue="riskengine") == m.ticks_stored
