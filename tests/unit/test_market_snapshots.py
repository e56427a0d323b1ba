"""The service's market snapshots (service/market.py): after a move, a snapshot younger than
``min_interval`` is reused and an older one is read again; a live push that used a snapshot
lacking the last move is followed by another (service/live.py), so pushes end on the latest
prices. Real SQLite store; the clock is the snapshot's own age, so each check waits for a
condition (the interval passing), never a fixed sleep."""

from __future__ import annotations

import asyncio
import datetime as dt
import time

from riskengine.market.tick import Tick
from riskengine.service.live import LiveHub, Subscriber
from riskengine.service.market import MarketData
from riskengine.store import open_store

T0 = dt.datetime(2026, 1, 5, 15, 0, tzinfo=dt.UTC)


def _tick(n: int, price: float) -> Tick:
    return Tick("riskengine", "AAPL", T0 + dt.timedelta(seconds=n), price, 1.0, n)


def test_a_snapshot_is_reused_within_the_interval_and_read_again_after(tmp_path):
    store = open_store(f"sqlite:///{tmp_path / 's.sqlite3'}")
    try:
        store.write_ticks([_tick(1, 100.0)])
        slow = MarketData(store, min_interval=3600, price_ttl=7200)
        quick = MarketData(store, min_interval=0.2, price_ttl=7200)
        eager = MarketData(store, min_interval=0.0, price_ttl=7200)
        first = slow.market()
        read_at = time.monotonic()
        assert first is not None and first.prices["AAPL"] == 100.0
        assert quick.market().prices["AAPL"] == eager.market().prices["AAPL"] == 100.0
        store.write_ticks([_tick(2, 101.0)])
        for market in (slow, quick, eager):
            market.moved()
        assert slow.market() is first  # within its interval: the same snapshot
        assert slow.moved_since
        assert eager.market().prices["AAPL"] == 101.0  # no interval: read at once
        while time.monotonic() - read_at < 0.2:  # quick's interval passes
            time.sleep(0.01)
        assert quick.market().prices["AAPL"] == 101.0
        assert not quick.moved_since
        # without a move, a snapshot is kept (for price_ttl)
        assert quick.market() is quick.market()
    finally:
        store.close()


def test_live_pushes_end_on_the_latest_snapshot(tmp_path):
    store = open_store(f"sqlite:///{tmp_path / 'p.sqlite3'}")
    market = MarketData(store, min_interval=0.2, price_ttl=60)

    async def report(tenant, book_id, request):
        state = market.market()
        return {"type": "report", "portfolio_id": book_id, "price": state.prices["AAPL"]}

    async def prices():
        return None

    async def scenario():
        hub = LiveHub(report, prices, debounce=0.05, stale=lambda: market.moved_since)
        sub = Subscriber("t")
        hub.add(sub)
        await hub.watch(sub, 1, {})
        assert (await sub.next())["price"] == 100.0
        store.write_ticks([_tick(2, 105.0)])  # a move inside the snapshot's interval
        market.moved()
        hub.moved()
        seen = []
        deadline = time.monotonic() + 10
        while not seen or seen[-1] != 105.0:  # pushes go on until the latest price is in
            assert time.monotonic() < deadline, seen
            seen.append((await asyncio.wait_for(sub.next(), 5))["price"])
        await hub.close()
        return seen

    try:
        store.write_ticks([_tick(1, 100.0)])
        seen = asyncio.run(scenario())
        assert seen[-1] == 105.0 and set(seen) <= {100.0, 105.0}
    finally:
        store.close()
