"""Live push: ticks from the built-in feed (a real WebSocket on 127.0.0.1) are ingested by the
server, which pushes the latest prices and a fresh risk report of each watched book; the last
report equals compute_risk revalued at the stored latest prices."""

from __future__ import annotations

import asyncio
import datetime as dt
import threading
import time

import orjson
import pytest
from websockets.sync.client import connect

from integration.api_support import book_doc, start_api
from riskengine import MarketState, compute_risk, load_portfolio
from riskengine.ingest.exchange import FeedServer
from riskengine.ingest.sources import simulated_ticks
from riskengine.service.settings import Settings

N_TICKS = 600


class FeedThread:
    """The built-in feed on its own event loop in a thread."""

    def __init__(self, history, n: int):
        self.loop = asyncio.new_event_loop()
        ticks = simulated_ticks(history, seed=3, start=dt.datetime.now(dt.UTC),
                                step=dt.timedelta(milliseconds=5))  # fmt: skip
        self.feed = FeedServer(ticks, rate=150, limit=n)  # about 4 s of ticks
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        asyncio.run_coroutine_threadsafe(self.feed.start(), self.loop).result(30)

    def close(self):
        asyncio.run_coroutine_threadsafe(self.feed.stop(), self.loop).result(30)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


@pytest.fixture
def live_api(tmp_path, bundled_history):
    from riskengine.store import open_store

    store = open_store(f"sqlite:///{tmp_path / 'live.sqlite3'}")
    store.import_daily(bundled_history)
    feed = FeedThread(bundled_history, N_TICKS)
    settings = Settings(port=0, auth=True, key_cache_seconds=0, live_debounce=0.2,
                        feed_url=feed.feed.url, log_format="text")  # fmt: skip
    server = start_api(store, settings)
    yield server, store
    server.close()
    feed.close()
    store.close()


def test_reports_are_pushed_as_ticks_arrive(live_api, bundled_history):
    server, store = live_api
    pid = server.client().post("/api/v1/portfolios", json=book_doc()).json()["id"]
    request = {"method": "montecarlo", "seed": 9, "n_scenarios": 5000, "confidence": [0.99]}
    ws_url = server.url.replace("http", "ws") + f"/api/v1/live?api_key={server.keys['alpha']}"
    reports, prices = [], []
    with connect(ws_url) as ws:
        assert orjson.loads(ws.recv(10))["type"] == "hello"
        ws.send(orjson.dumps({"action": "watch", "portfolio_id": pid, "request": request}).decode())
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                msg = orjson.loads(ws.recv(1.5))
            except TimeoutError:  # quiet: the last push is in once every tick is stored
                if store.count_ticks() == N_TICKS:
                    break
                continue
            if msg["type"] == "prices":
                prices.append(msg)
            elif msg["type"] == "report":
                reports.append(msg["report"])
    assert store.count_ticks() == N_TICKS
    assert len(reports) >= 3 and prices
    values = {r["results"][0]["value_at_risk"] for r in reports}
    assert len(values) >= 2  # the number moved with the market
    assert all(r["provenance"]["seed"] == 9 for r in reports)
    # the last push used the final stored prices: the oracle recomputes it from the store
    latest = store.latest_prices()
    as_of = max(p.ts for p in latest.values())
    market = MarketState(as_of, {s: p.price for s, p in latest.items()})
    fields = request | {"confidence": tuple(request["confidence"])}
    book = load_portfolio_from(book_doc())
    want = compute_risk(
        book,
        bundled_history,
        market=market,
        contributions=True,
        contribution_detail="components",
        **fields,
    )
    assert reports[-1]["results"][0]["value_at_risk"] == pytest.approx(
        want.measures[0].value_at_risk, rel=1e-12
    )
    assert any("live prices" in n for n in reports[-1]["notes"])
    # the pushes were stored as the book's risk history
    assert len(server.client().get(f"/api/v1/portfolios/{pid}/reports").json()) >= len(reports)


def load_portfolio_from(doc):
    import json
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "book.json"
        path.write_text(json.dumps(doc))
        return load_portfolio(path)


def test_live_messages_are_validated(api):
    ws_url = api.url.replace("http", "ws") + f"/api/v1/live?api_key={api.keys['alpha']}"
    with connect(ws_url) as ws:
        assert orjson.loads(ws.recv(10))["type"] == "hello"
        for bad, words in (
            ("not json", "not JSON"),
            ('{"action": "dance"}', "dance"),
            ('{"action": "watch", "portfolio_id": "x"}', "portfolio_id"),
            ('{"action": "watch", "portfolio_id": 1, "request": {"method": "magic"}}', "method"),
            ('{"action": "watch", "portfolio_id": 1, "request": {"bogus": 1}}', "bogus"),
        ):
            ws.send(bad)
            msg = orjson.loads(ws.recv(10))
            while msg["type"] == "prices":
                msg = orjson.loads(ws.recv(10))
            assert msg["type"] == "error" and words in msg["problem"]["detail"], msg
        ws.send('{"action": "watch", "portfolio_id": 424242}')
        msg = orjson.loads(ws.recv(10))
        assert msg["type"] == "error" and msg["problem"]["status"] == 404
        ws.send('{"action": "ping"}')
        assert orjson.loads(ws.recv(10)) == {"type": "pong"}


def test_a_websocket_without_a_key_is_told_why_and_closed(api):
    from websockets.exceptions import ConnectionClosed

    with connect(api.url.replace("http", "ws") + "/api/v1/live?api_key=rk_nope") as ws:
        msg = orjson.loads(ws.recv(10))
        assert msg["type"] == "error" and msg["problem"]["status"] == 401
        assert "riskengine keys create" in msg["problem"]["detail"]
        with pytest.raises(ConnectionClosed) as exc:
            ws.recv(10)
    assert exc.value.rcvd.code == 4401


def test_ticks_from_another_process_are_picked_up_by_polling(api):
    """No ingest service in the server: ticks written to the store by someone else (here,
    directly) are noticed within the polling interval and pushed."""
    from riskengine.market.tick import Tick

    pid = api.client().post("/api/v1/portfolios", json=book_doc(name="polled")).json()["id"]
    ws_url = api.url.replace("http", "ws") + f"/api/v1/live?api_key={api.keys['alpha']}"
    store = api.state.store
    with connect(ws_url) as ws:
        ws.send(orjson.dumps({"action": "watch", "portfolio_id": pid}).decode())
        first = None
        while first is None:
            msg = orjson.loads(ws.recv(30))
            first = msg["report"] if msg["type"] == "report" else None
        now = dt.datetime.now(dt.UTC)
        # AAPL falls 20% in a tick written right after the watch began (the poller tracks
        # the latest tick all the time, so the first one is not missed)
        store.write_ticks([Tick("riskengine", "AAPL", now, 100.0, 1.0, 1, now)])
        pushed = []
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not pushed:
            msg = orjson.loads(ws.recv(20))
            if msg["type"] == "report":
                pushed.append(msg["report"])
    assert pushed, "no report was pushed after the tick"
    assert any("live prices" in n for n in pushed[-1]["notes"])
    assert pushed[-1]["portfolio"]["market_value"] < first["portfolio"]["market_value"]
