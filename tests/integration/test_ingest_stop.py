"""Stopping ingestion at a high rate stores every tick it received, exactly once.

Real parts: ``riskengine feed`` (a simulated feed of the 20 bundled symbols) and ``riskengine
ingest`` as separate processes on 127.0.0.1, each ingest into a fresh SQLite file, stopped by
``--duration``, SIGINT or SIGTERM while trades stream in. Oracle: the ingest's own count of
ticks received (its summary line), the store (each (symbol, trade id) once, consecutive ids per
symbol) and the feed's ``--log`` of every trade it sent. The same stop in process (what
``riskengine serve`` and ``demo`` run), and a store that is down at the stop: the command exits
non-zero saying how many ticks were not stored.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import itertools
import json
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time

import pytest
from websockets.asyncio.server import serve

from riskengine.ingest.exchange import FeedServer
from riskengine.ingest.service import IngestConfig, IngestService, TicksNotStored
from riskengine.ingest.sources import simulated_ticks
from riskengine.ingest.venues import get_venue
from riskengine.store import open_store
from riskengine.store.base import StoreUnavailable
from support import ROOT

DATA = str(ROOT / "data" / "us_equities_daily.csv")
RATE = 5000  # trades per second to each connection (the finding used 3000)
STOPS = 21  # stops while trades stream in (ticks received), three at a time ...
MAX_WAVES = 10  # ... in waves of one by --duration, one by SIGINT and one by SIGTERM
START = dt.datetime(2024, 3, 4, 14, 30, tzinfo=dt.UTC)
SUMMARY = re.compile(r"stored (\d+) ticks \((\d+) received, (\d+) duplicates")


class Command:
    """``riskengine ARGS`` in a subprocess; its stderr read line by line in a thread."""

    def __init__(self, *args: str):
        self.popen = subprocess.Popen(
            [sys.executable, "-m", "riskengine", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=os.environ | {"PYTHONUNBUFFERED": "1"},
        )
        self.stderr: list[str] = []
        self._lines: queue.Queue[str | None] = queue.Queue()
        self._pump = threading.Thread(target=self._read_stderr, daemon=True)
        self._pump.start()

    def _read_stderr(self) -> None:
        for line in self.popen.stderr:
            self.stderr.append(line)
            self._lines.put(line)
        self._lines.put(None)

    def wait_for_line(self, pattern: str, timeout: float) -> re.Match:
        """The first line on stderr (from now on) matching ``pattern``."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                line = self._lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                raise AssertionError(
                    f"no line matching {pattern!r} within {timeout}s:\n{''.join(self.stderr)}"
                ) from None
            if line is None:
                raise AssertionError(
                    f"exited ({self.popen.wait()}) before a line matching {pattern!r}:\n"
                    + "".join(self.stderr)
                )
            if match := re.search(pattern, line):
                return match

    def finish(self, timeout: float = 60) -> tuple[int, str, str]:
        """Wait for the exit: (status, stdout, stderr)."""
        try:
            out, _ = self.popen.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            self.popen.wait()
            raise AssertionError(
                f"still running after {timeout}s:\n{''.join(self.stderr)}"
            ) from None
        self._pump.join(timeout)
        return self.popen.returncode, out, "".join(self.stderr)

    def kill(self) -> None:
        if self.popen.poll() is None:
            self.popen.kill()
            self.popen.wait()


def start_feed(tmp_path, *args: str) -> tuple[Command, str]:
    feed = Command(
        "feed", "--mode", "simulate", "--history", DATA, "--port", "0", "--rate", str(RATE),
        "--log", str(tmp_path / "sent.jsonl"), *args,
    )  # fmt: skip
    url = feed.wait_for_line(r"on (ws://\S+)", 60).group(1)
    return feed, url


def stop_feed(feed: Command, tmp_path) -> set[tuple[str, int]]:
    """SIGINT the feed; the (symbol, trade id) of every trade it sent, from its --log."""
    feed.popen.send_signal(signal.SIGINT)
    status, _, err = feed.finish()
    assert status == 0, err
    lines = (tmp_path / "sent.jsonl").read_text().splitlines()
    return {(r["symbol"], r["trade_id"]) for r in map(json.loads, lines)}


def stored_keys(url: str) -> list[tuple[str, int]]:
    with open_store(url) as store:
        return [(s, t) for _, s, t in store.tick_keys(venue="riskengine")]


def assert_consecutive(keys: list[tuple[str, int]]) -> None:
    """One ingest from an empty store joins the feed at its head and gets every later trade:
    per symbol, the stored trade ids leave no hole."""
    ids: dict[str, list[int]] = {}
    for symbol, trade_id in keys:
        ids.setdefault(symbol, []).append(trade_id)
    for symbol, got in ids.items():
        got.sort()
        assert got == list(range(got[0], got[-1] + 1)), f"{symbol}: a trade id is missing"


def test_every_tick_received_is_stored_once_however_ingest_is_stopped(tmp_path, bundled_history):
    """21 stops or more (by --duration, SIGINT, SIGTERM in turn, three at a time) while trades
    stream in at a high rate: each ingest stores exactly the ticks it received, once, and only
    trades the feed sent."""
    symbols = ",".join(bundled_history.symbols)
    feed, url = start_feed(tmp_path)
    runs: list[tuple[str, str, Command]] = []
    lost: list[str] = []
    midstream = 0  # stops after ticks arrived (a --duration may run out before the connection)
    try:
        for wave in range(MAX_WAVES):
            if midstream >= STOPS:
                break
            wave_runs = []
            for how in ("duration", "SIGINT", "SIGTERM"):
                db = f"sqlite:///{tmp_path / f'{wave}-{how}.sqlite3'}"
                extra = ("--duration", "1") if how == "duration" else ()
                ingest = Command(
                    "ingest", "--feed", url, "--venue", "riskengine", "--symbols", symbols,
                    "--database", db, "--batch-size", "200", "--flush-interval", "0.2",
                    "--stats-every", "0.1", *extra,
                )  # fmt: skip
                wave_runs.append((how, db, ingest))
            for how, _, ingest in wave_runs:
                if how != "duration":  # stop it while trades stream in, after a first write
                    ingest.wait_for_line(r"ingest: [1-9]\d* stored", 60)
                    ingest.popen.send_signal(getattr(signal, how))
            runs += wave_runs
            for how, db, ingest in wave_runs:
                status, out, err = ingest.finish()
                assert status == 0, f"{how}: exit {status}\n{out}{err}"
                stored, received, duplicates = map(int, SUMMARY.search(out).groups())
                keys = stored_keys(db)
                assert len(keys) == len(set(keys)) == stored, f"{how}: {out}"
                assert duplicates == 0, f"{how}: {out}"
                if stored != received:
                    lost.append(f"{how}: {out.strip()}")
                midstream += received > 0
                assert_consecutive(keys)
    finally:
        for *_, ingest in runs:
            ingest.kill()
        sent = stop_feed(feed, tmp_path) if feed.popen.poll() is None else set()
    assert not lost, f"{len(lost)} of {len(runs)} stops lost ticks:\n" + "\n".join(lost)
    assert midstream >= STOPS, f"only {midstream} of {len(runs)} stops came after ticks arrived"
    for how, db, _ in runs:
        assert set(stored_keys(db)) <= sent, f"{how}: stored a trade the feed never sent"


# --- in process: the stop that `riskengine serve` and `riskengine demo` run --------------------
async def wait_for(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        await asyncio.sleep(0.01)


def config(url: str, symbols, **over) -> IngestConfig:
    return IngestConfig(
        feed=url, venue="riskengine", symbols=tuple(symbols), batch_size=200,
        flush_interval=0.2, backoff_initial=0.01, backoff_max=0.05, **over,
    )  # fmt: skip


def test_stop_in_process_stores_every_tick_received_once(tmp_path, bundled_history):
    """Twelve services one after another on one store and one feed, stopped while connecting,
    as the first frames arrive, or after one, two or three writes: each stores what it received
    (the next resumes where the store ends)."""
    symbols = bundled_history.symbols
    source = simulated_ticks(bundled_history, seed=3, start=START)

    async def main(store):
        runs = []
        async with FeedServer(source, rate=RATE) as feed:
            for i in range(12):
                before = store.count_ticks()
                service = IngestService(store, config(feed.url, symbols))
                service.start()
                when, accepted = i % 4, feed.log.connections
                if when == 0:  # the feed accepted the connection: the client is connecting
                    await wait_for(lambda n=accepted: feed.log.connections > n, 30, "connecting")
                elif when == 1:
                    await wait_for(lambda s=service: s.metrics.ticks_received, 30, "a tick")
                elif when > 1:
                    await wait_for(lambda s=service, n=(when - 1) * 400: s.metrics.ticks_stored
                                   >= n, 30, "ticks stored")  # fmt: skip
                await service.stop()
                runs.append((when, service.metrics, store.count_ticks() - before))
        return feed.log.unique_sent(), runs

    with open_store(f"sqlite:///{tmp_path / 'store.sqlite3'}") as store:
        sent, runs = asyncio.run(main(store))
        keys = [(s, t) for _, s, t in store.tick_keys(venue="riskengine")]
    for when, m, added in runs:
        assert m.ticks_stored == added == m.ticks_received - m.duplicates_dropped, (when, m)
        assert m.store_duplicates == 0 and m.buffered == 0, (when, m)
        assert when == 0 or added > 0, (when, m)
    assert len(keys) == len(set(keys)) and set(keys) <= sent
    assert_consecutive(keys)  # each run resumed after the last stored trade ids


@contextlib.asynccontextmanager
async def burst_feed(ticks, *, per_frame: int = 10):
    """A feed in our protocol that, on subscription, sends all of ``ticks`` at once: at a stop
    most of them are on their way (in the sockets, not yet read). Yields its URL."""
    adapter = get_venue("riskengine")

    async def handler(ws):
        subscription = adapter.parse_subscribe(await ws.recv())
        for frame in adapter.subscribed(subscription):
            await ws.send(frame)
        for i in range(0, len(ticks), per_frame):  # queued without waiting (write_limit)
            await ws.send(adapter.encode_trades(ticks[i : i + per_frame]))
        await ws.wait_closed()

    async with serve(handler, "127.0.0.1", 0, write_limit=2**26, compression=None) as server:
        host, port = server.sockets[0].getsockname()[:2]
        yield f"ws://{host}:{port}"


def test_a_stop_stores_the_ticks_taken_and_takes_none_after_it(tmp_path, bundled_history):
    """Stopped while a burst of 20,000 trades is on its way: the ticks received before the stop
    are stored, and what arrives after it is not taken (the store and the counters agree)."""
    symbols = bundled_history.symbols
    ticks = list(itertools.islice(simulated_ticks(bundled_history, seed=5, start=START), 20_000))

    async def main(store):
        async with burst_feed(ticks) as url:
            service = IngestService(store, config(url, symbols))
            service.start()
            await wait_for(lambda: service.metrics.ticks_received, 30, "the first ticks")
            await service.stop()
        return service.metrics

    with open_store(f"sqlite:///{tmp_path / 'store.sqlite3'}") as store:
        m = asyncio.run(main(store))
        keys = [(s, t) for _, s, t in store.tick_keys(venue="riskengine")]
    assert len(keys) == len(set(keys)) == m.ticks_stored == m.ticks_received, m
    assert 0 < m.ticks_received < len(ticks), m  # the stop came while trades arrived
    assert set(keys) == {(t.symbol, t.trade_id) for t in ticks[: m.ticks_received]}


class DownAfter:
    """The real store, down (StoreUnavailable) for writes after its first ``writes`` writes."""

    def __init__(self, store, writes: int):
        self._store, self.writes = store, writes

    def write_ticks(self, ticks):
        if self.writes <= 0:
            raise StoreUnavailable("SQLite database 'store.sqlite3': database is locked")
        self.writes -= 1
        return self._store.write_ticks(ticks)

    def __getattr__(self, name):
        return getattr(self._store, name)


def test_stop_with_the_store_down_raises_how_many_ticks_were_not_stored(tmp_path, bundled_history):
    source = simulated_ticks(bundled_history, seed=4, start=START)

    async def main(store):
        async with FeedServer(source, rate=RATE) as feed:
            service = IngestService(DownAfter(store, 2), config(feed.url, bundled_history.symbols))
            service.start()
            await wait_for(lambda: service.metrics.store_errors >= 2, 30, "failed writes")
            with pytest.raises(TicksNotStored) as caught:
                await service.stop(timeout=5)
        return service.metrics, caught.value

    with open_store(f"sqlite:///{tmp_path / 'store.sqlite3'}") as store:
        m, error = asyncio.run(main(store))
        assert store.count_ticks() == m.ticks_stored == error.stored > 0
    assert error.not_stored == m.buffered == m.ticks_received - m.ticks_stored > 0
    assert error.received == m.ticks_received
    assert f"{error.not_stored} of the {m.ticks_received} ticks received not stored" in str(error)
    assert "database is locked" in str(error)


def test_the_command_exits_2_saying_how_many_ticks_were_not_stored(
    tmp_path, bundled_history, monkeypatch, capsys
):
    """``riskengine ingest`` (in this process, so that its store can fail on cue) against a real
    ``riskengine feed``: the store goes down after two writes; at the end of ``--duration`` the
    command exits 2 and says how many of the ticks it received it did not store."""
    from riskengine import cli
    from riskengine.cli import ingest as ingest_cli

    url = f"sqlite:///{tmp_path / 'store.sqlite3'}"
    monkeypatch.setattr(ingest_cli, "_open_store", lambda _: DownAfter(open_store(url), 2))
    feed, feed_url = start_feed(tmp_path)
    try:
        status = cli.main([
            "ingest", "--feed", feed_url, "--venue", "riskengine", "--symbols",
            *bundled_history.symbols, "--database", url, "--batch-size", "200",
            "--flush-interval", "0.2", "--duration", "1",
        ])  # fmt: skip
    finally:
        stop_feed(feed, tmp_path)
    err = capsys.readouterr().err
    assert status == 2, err
    found = re.search(r"riskengine: error: ingest stopped with (\d+) of the (\d+) ticks received "
                      r"not stored \((\d+) stored\): the store failed \(.*database is locked",
                      err)  # fmt: skip
    assert found, err
    not_stored, received, stored = map(int, found.groups())
    with open_store(url) as store:
        assert store.count_ticks() == stored > 0
    assert not_stored == received - stored > 0


@pytest.mark.parametrize("store_down", [False, True], ids=["store-up", "store-down"])
def test_serve_stops_its_ingest_storing_every_tick_or_saying_how_many_not(
    tmp_path, bundled_history, store_down
):
    """The API server with in-process ingestion (``riskengine serve`` with RISKENGINE_FEED_URL)
    against a real ``riskengine feed``: its shutdown stores every tick received; with the store
    down, the app keeps the error that makes ``serve`` exit 2 saying how many were not."""
    from integration.api_support import api_settings
    from riskengine.api.server import ServerThread

    feed, feed_url = start_feed(tmp_path)
    try:
        with open_store(f"sqlite:///{tmp_path / 'store.sqlite3'}") as store:
            settings = api_settings(feed_url=feed_url, feed_symbols=bundled_history.symbols)
            server = ServerThread(settings, store=DownAfter(store, 2) if store_down else store)
            server.start()
            try:
                m = server.state.ingest.metrics
                deadline = time.monotonic() + 30
                while not (m.store_errors if store_down else m.ticks_stored):
                    assert time.monotonic() < deadline, f"nothing stored or failed: {m}"
                    time.sleep(0.01)
            finally:
                server.stop()
            error = getattr(server.app.state, "ingest_error", None)
            assert store.count_ticks() == m.ticks_stored > 0
    finally:
        stop_feed(feed, tmp_path)
    if store_down:
        assert isinstance(error, TicksNotStored), m
        assert error.not_stored == m.ticks_received - m.ticks_stored == m.buffered > 0
    else:
        assert error is None and m.ticks_stored == m.ticks_received and m.buffered == 0, m
