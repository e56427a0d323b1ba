"""The ingest service: a WebSocket feed in, ticks stored exactly once, "market moved" out.

One reader task per connection parses frames into ticks and classifies them by trade id
(duplicates dropped, late arrivals accepted, gaps detected); one writer task stores batches (by
count or time) in a worker thread, so the event loop keeps reading while the database writes.
Between them sits a bounded buffer: during a database outage it holds the ticks and the writer
retries with backoff; when it is full the reader stops reading (backpressure on the feed) and
the pause is recorded. Nothing is dropped silently: duplicates, malformed frames, gaps and
pauses are counted in ``metrics`` and recorded as data-quality events in the store.

The service never computes risk: listeners registered with ``add_listener`` receive a
``MarketMoved`` after every batch that stored new ticks.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import datetime as dt
import logging
import operator
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field

import websockets
from websockets.asyncio.client import ClientConnection, connect

from riskengine.errors import InputError
from riskengine.ingest.sequence import DUPLICATE, LATE, TradeSequencer
from riskengine.ingest.venues import get_venue
from riskengine.ingest.venues.base import MalformedFrame
from riskengine.market.tick import UTC, Tick
from riskengine.store.base import QualityEvent, StoreError, StoreUnavailable, TickStore

log = logging.getLogger("riskengine.ingest")
_TS = operator.itemgetter(2)  # Tick.ts

#: a batch the store rejects (an error other than StoreUnavailable) this many times in a row is
#: dropped, counted and recorded, so that one bad batch cannot stop ingestion
REJECTIONS_BEFORE_DROP = 3
#: seconds a missing trade id is asked for again on reconnect (resumable feeds)
RESUME_HORIZON = 300.0
#: failed writes after a stop before the service gives up on the ticks it holds
STOP_ATTEMPTS = 4
#: seconds the closing handshake may take before the connection is dropped
CLOSE_TIMEOUT = 2.0


class TicksNotStored(StoreError):
    """A stopped ingest service holds ticks it received and could not store.

    Attributes:
        not_stored: ticks received and not stored (counted in ``metrics.buffered``).
        received, stored: the service's ``ticks_received`` and ``ticks_stored``.
    """

    def __init__(self, not_stored: int, received: int, stored: int, why: str):
        self.not_stored, self.received, self.stored = not_stored, received, stored
        super().__init__(
            f"ingest stopped with {not_stored} of the {received} ticks received not stored "
            f"({stored} stored): {why}. Once the store is back, ingest again: a resumable feed "
            "(riskengine) sends them again after the last stored trade ids; other venues do not."
        )


@dataclass(frozen=True)
class IngestConfig:
    """Settings of one ingest service (one feed, one venue protocol).

    Attributes:
        feed: WebSocket URL (``ws://127.0.0.1:8765``).
        venue: protocol name (``coinbase``, ``coinbase-advanced``, ``binance``, ``kraken``,
            ``riskengine``).
        symbols: canonical symbols to subscribe to.
        batch_size: write when this many ticks are buffered ...
        flush_interval: ... or when the oldest buffered tick is this many seconds old.
        max_batch: the most ticks one write takes (a backlog drains in batches of this size).
        buffer_limit: ticks held at most; when full, the service stops reading the feed.
        heartbeat_timeout: reconnect when no frame has arrived for this many seconds.
        backoff_initial, backoff_max: reconnect delay bounds in seconds (exponential, with
            "equal" jitter: uniform between half and all of the capped delay); the database
            retry uses the same bounds.
        gap_grace: seconds a missing trade id may stay missing before it counts as a gap.
        max_connection_age: reconnect after this many seconds (None: the venue's own limit,
            23.5 hours for Binance, which closes connections after 24; else never).
        jump_threshold: record a jump when a tick is this far from the previous daily close
            (0.25: 25 %; a split in live ticks against adjusted history looks like this).
        stale_after: record a subscribed symbol as stale when no trade of it has arrived for
            this many seconds (once per silence; counted in ``metrics.stale_symbols``).
    """

    feed: str
    venue: str
    symbols: tuple[str, ...]
    batch_size: int = 5_000
    flush_interval: float = 0.25
    max_batch: int = 50_000
    buffer_limit: int = 500_000
    heartbeat_timeout: float = 15.0
    backoff_initial: float = 0.2
    backoff_max: float = 15.0
    gap_grace: float = 2.0
    max_connection_age: float | None = None
    jump_threshold: float = 0.25
    stale_after: float = 60.0

    def __post_init__(self):
        if not self.feed.startswith(("ws://", "wss://")):
            raise InputError(
                f"feed {self.feed!r} is not a WebSocket URL; write ws://host:port or wss://…"
            )
        if not self.symbols:
            raise InputError("symbols is empty: name at least one symbol to subscribe to.")
        for name in ("batch_size", "max_batch", "buffer_limit"):
            if getattr(self, name) < 1:
                raise InputError(f"{name}={getattr(self, name)} must be >= 1.")
        if self.buffer_limit < self.max_batch:
            raise InputError(
                f"buffer_limit={self.buffer_limit} is below max_batch={self.max_batch}; "
                "raise buffer_limit or lower max_batch."
            )
        get_venue(self.venue)  # a clear error for an unknown venue, before connecting


@dataclass
class IngestMetrics:
    """Counters of one service (monotonic, except ``buffered``)."""

    connections: int = 0
    reconnects: int = 0
    frames: int = 0
    malformed_frames: int = 0
    heartbeats: int = 0
    venue_errors: int = 0
    ticks_received: int = 0
    duplicates_dropped: int = 0  # repeated by the feed, dropped before the store
    late_ticks: int = 0  # arrived out of order, filling a missing id
    gaps: int = 0  # missing ranges confirmed
    gap_ticks: int = 0  # trades in those ranges
    ticks_stored: int = 0
    store_duplicates: int = 0  # already in the store (e.g. overlap after a restart)
    batches: int = 0
    store_errors: int = 0
    backpressure_pauses: int = 0
    watchdog_timeouts: int = 0
    rejected_ticks: int = 0  # in batches the store rejected repeatedly (bad data), dropped
    stale_symbols: int = 0  # silences longer than stale_after, each counted once
    buffered: int = 0

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


@dataclass(frozen=True)
class MarketMoved:
    """New ticks are stored: the symbols they moved, their last prices, the latest event time."""

    symbols: tuple[str, ...]
    prices: dict[str, float]
    as_of: dt.datetime
    ticks: int


@dataclass
class _Pending:
    events: list[QualityEvent] = field(default_factory=list)
    malformed: int = 0


class IngestService:
    """Run with ``await service.run()`` (until ``stop()``), or ``start()`` as a task."""

    def __init__(self, store: TickStore, config: IngestConfig, *, seed: int | None = None):
        self.store = store
        self.config = config
        self.adapter = get_venue(config.venue)
        self.metrics = IngestMetrics()
        self._buffer: collections.deque[Tick] = collections.deque()
        self._sequencer = TradeSequencer(grace=config.gap_grace)
        self._listeners: list[Callable[[MarketMoved], object]] = []
        self._rng = random.Random(seed)
        self._stopping = asyncio.Event()  # set by stop(): no frame is taken after it
        self._stop_deadline: float | None = None  # loop time past which a stop gives up
        self._last_store_error: str | None = None
        self._data = asyncio.Event()  # the buffer reached batch_size (or stop)
        self._space = asyncio.Event()  # the buffer has room again
        self._space.set()
        self._oldest: float | None = None  # loop time of the oldest buffered tick
        self._inflight = 0  # ticks taken off the buffer by a writer, not yet stored
        self._pending = _Pending()
        self._ws: ClientConnection | None = None
        self._jump_seen: set[tuple[str, dt.date]] = set()
        self._prev_close: dict[tuple[str, dt.date], float | None] = {}
        self._store_resume: dict[str, int] | None = None
        self.latest: dict[str, Tick] = {}
        self._max_age = config.max_connection_age or getattr(
            self.adapter, "max_connection_age", None
        )
        self._last_trade_at: dict[str, float] = {}  # loop time a symbol's last trade arrived
        self._stale: set[str] = set()
        self._started_at: float | None = None
        self.connected = asyncio.Event()
        self._task: asyncio.Task | None = None
        self._reader: asyncio.Task | None = None  # the connection loop, while run() runs

    # --- public ---------------------------------------------------------------------------
    def add_listener(self, callback: Callable[[MarketMoved], object]) -> None:
        """Call ``callback(MarketMoved)`` on the event loop after each batch with new ticks."""
        self._listeners.append(callback)

    def start(self) -> asyncio.Task:
        self._task = asyncio.get_running_loop().create_task(self.run(), name="ingest")
        return self._task

    async def stop(self, *, timeout: float = 10.0) -> None:
        """Stop taking frames, store every tick received (waiting up to ``timeout`` seconds for
        the database) and return; raise ``TicksNotStored`` when some could not be stored.

        Every tick parsed before the call is stored exactly once (the store's keys make a write
        retried after an error idempotent); frames that arrive after it are not taken. A write
        that fails is retried with backoff, ``STOP_ATTEMPTS`` times at most, within
        ``timeout``; past that the service gives up, logs how many ticks it did not store and
        raises. A service run with ``await run()`` stops the same way and ``run()`` returns;
        ``held()`` then says how many ticks were not stored.
        """
        loop = asyncio.get_running_loop()
        if self._stop_deadline is None:
            self._stop_deadline = loop.time() + timeout
        self._stopping.set()
        self._data.set()
        self._space.set()
        if self._ws is None and self._reader is not None:
            # connecting or waiting to reconnect: it holds no tick, nothing is lost
            self._reader.cancel()
        task, ws = self._task, self._ws
        if task is None:  # run() awaited by its caller, which it returns to once stopped
            if ws is not None:
                with contextlib.suppress(Exception):
                    await ws.close()
            return
        cut_short = False
        try:
            async with asyncio.timeout_at(self._stop_deadline + CLOSE_TIMEOUT):
                if ws is not None:  # the reader discards what arrives until the close is done
                    with contextlib.suppress(Exception):
                        await ws.close()
                await asyncio.wait([task])
        except TimeoutError:  # a write (or the close) outlived the stop's time: abandon it
            cut_short = True
            task.cancel()
            await asyncio.wait([task])
        failure = None if task.cancelled() else task.exception()
        held = self.held()
        self.metrics.buffered = held
        if held:
            if cut_short:
                why = f"a write to the store did not finish within {timeout:g}s"
            elif failure is not None:
                why = f"the writer failed ({failure!r})"
            else:
                why = f"the store failed ({self._last_store_error})"
            log.error("ingest: %s", why)
            raise TicksNotStored(held, self.metrics.ticks_received, self.metrics.ticks_stored,
                                 why) from failure  # fmt: skip
        if failure is not None:
            raise failure

    async def run(self) -> None:
        log.info(
            "ingest: %s feed %s, %d symbols, store %s",
            self.config.venue,
            self.config.feed,
            len(self.config.symbols),
            self.store.capabilities.describe(),
        )
        # One writer: a second one measured no faster (both encode under the same GIL as the
        # reader) and, committing out of order, pushed batches onto the store's slow path.
        writer = asyncio.create_task(self._writer(), name="ingest-writer")
        writer.add_done_callback(self._writer_done)
        self._reader = asyncio.create_task(self._connection_loop(), name="ingest-reader")
        try:
            await asyncio.wait([self._reader])  # a stop cancels it while it is not connected
            if not self._reader.cancelled():
                self._reader.result()  # a bug in the reader stops the service
        finally:
            self._reader.cancel()
            self._stopping.set()
            self._data.set()
            await writer

    def _writer_done(self, task: asyncio.Task) -> None:
        """A writer that died (a bug) must not leave the reader waiting for buffer space: log
        it and stop the service."""
        if task.cancelled() or task.exception() is None:
            return
        log.error("ingest: the writer failed; stopping the service with %d ticks not stored",
                  self.held(), exc_info=task.exception())  # fmt: skip
        self._stopping.set()
        self._space.set()
        self._data.set()
        if self._ws is not None:
            self._ws.transport.abort()

    # --- reading ----------------------------------------------------------------------------
    async def _resume_points(self) -> dict[str, int] | None:
        if not self.adapter.resumable:
            return None
        if self._store_resume is None:
            try:
                self._store_resume = await asyncio.to_thread(
                    self.store.last_trade_ids, self.config.venue
                )
            except StoreUnavailable as exc:
                log.warning("ingest: cannot read resume points from the store (%s)", exc)
                return None
        points = dict(self._store_resume)
        now = asyncio.get_running_loop().time()
        points.update(self._sequencer.resume_points(now, RESUME_HORIZON))
        return {s: points[s] for s in self.config.symbols if s in points}

    def _backoff(self, attempt: int) -> float:
        cap = min(self.config.backoff_max, self.config.backoff_initial * 2 ** min(attempt, 30))
        return self._rng.uniform(0.5 * cap, cap)  # "equal jitter": never zero, never in step

    async def _connection_loop(self) -> None:
        attempt = 0
        cfg = self.config
        while not self._stopping.is_set():
            frames_before = self.metrics.frames
            try:
                async with connect(
                    cfg.feed,
                    open_timeout=10,
                    ping_interval=cfg.heartbeat_timeout / 2,
                    ping_timeout=cfg.heartbeat_timeout,
                    max_size=2**22,
                    max_queue=64,
                    compression=None,
                    close_timeout=CLOSE_TIMEOUT,
                ) as ws:
                    self._ws = ws
                    self.metrics.connections += 1
                    resume = await self._resume_points()
                    if self._stopping.is_set():  # stopped while connecting: close at once
                        break
                    for frame in self.adapter.subscribe(cfg.symbols, resume_from=resume):
                        await ws.send(frame)
                    self.connected.set()
                    log.info("ingest: connected to %s (resume %s)", cfg.feed, bool(resume))
                    await self._read(ws)
            except (OSError, TimeoutError, websockets.WebSocketException) as exc:
                log.warning("ingest: connection to %s lost: %s", cfg.feed, exc)
            finally:
                self._ws = None
                self.connected.clear()
            if self._stopping.is_set():
                break
            attempt = 0 if self.metrics.frames - frames_before > 10 else attempt + 1
            self.metrics.reconnects += 1
            delay = self._backoff(attempt)
            log.info("ingest: reconnecting in %.2fs", delay)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), delay)

    async def _read(self, ws) -> None:
        cfg, m = self.config, self.metrics
        parse = self.adapter.parse
        loop = asyncio.get_running_loop()
        opened = loop.time()
        watchdog = asyncio.create_task(self._watchdog(ws))
        try:
            async for frame in ws:
                if self._stopping.is_set():
                    # stopped: no frame is taken any more (so everything taken can be stored
                    # before the writer ends); read on, discarding, until the close is done
                    continue
                m.frames += 1
                try:
                    parsed = parse(frame, dt.datetime.now(UTC))
                except MalformedFrame as exc:
                    m.malformed_frames += 1
                    self._pending.malformed += 1
                    if m.malformed_frames <= 10 or m.malformed_frames % 1000 == 0:
                        log.warning("ingest: malformed frame #%d skipped: %s", m.malformed_frames,
                                    exc)  # fmt: skip
                    continue
                if parsed.ticks:
                    self._accept(parsed.ticks, loop.time())
                    if len(self._buffer) + self._inflight >= cfg.buffer_limit:
                        await self._wait_for_space()
                else:
                    kind = parsed.kind
                    if kind == "heartbeat":
                        m.heartbeats += 1
                        now = loop.time()
                        for symbol, last in parsed.last_trade_id.items():
                            self._sequencer.expect(symbol, last, now)
                    elif kind == "error":
                        m.venue_errors += 1
                        log.warning("ingest: venue error: %s", parsed.message)
                    elif kind == "reconnect":
                        log.info("ingest: venue asks to reconnect: %s", parsed.message)
                        return
                for reply in parsed.reply:
                    await ws.send(reply)
                if self._max_age and loop.time() - opened > self._max_age:
                    log.info("ingest: connection older than %ss: reconnecting", self._max_age)
                    return
        finally:
            watchdog.cancel()

    def _accept(self, ticks: Sequence[Tick], now: float) -> None:
        m = self.metrics
        classify = self._sequencer.classify
        buf = self._buffer
        before = len(buf)
        seen = self._last_trade_at
        for t in ticks:
            seen[t.symbol] = now
            verdict = classify(t.symbol, t.trade_id, now)
            if verdict == DUPLICATE:
                m.duplicates_dropped += 1
                continue
            if verdict == LATE:
                m.late_ticks += 1
            buf.append(t)
        m.ticks_received += len(ticks)
        if before == 0 and buf:
            self._oldest = now
        if len(buf) >= self.config.batch_size:
            self._data.set()

    async def _wait_for_space(self) -> None:
        self.metrics.backpressure_pauses += 1
        self._space.clear()
        self._data.set()
        started = time.monotonic()
        held = self.held()
        log.warning("ingest: buffer full (%d ticks): pausing the feed until the store catches up",
                    held)  # fmt: skip
        await self._space.wait()
        self._pending.events.append(
            QualityEvent(
                dt.datetime.now(UTC), "overflow", None, self.config.venue,
                f"buffer full at {held} ticks: feed paused {time.monotonic() - started:.1f}s",
            )
        )  # fmt: skip

    async def _watchdog(self, ws) -> None:
        """Close a connection on which nothing (not even a heartbeat) arrived for too long."""
        timeout = self.config.heartbeat_timeout
        last_frames = -1
        last_change = time.monotonic()
        while True:
            await asyncio.sleep(min(1.0, timeout / 4))
            if self._space.is_set() and self.metrics.frames == last_frames:
                if time.monotonic() - last_change > timeout:
                    self.metrics.watchdog_timeouts += 1
                    log.warning("ingest: no frame for %.0fs: reconnecting", timeout)
                    ws.transport.abort()
                    return
            else:
                last_frames = self.metrics.frames
                last_change = time.monotonic()

    # --- writing ----------------------------------------------------------------------------
    def held(self) -> int:
        """Ticks received and not yet stored: buffered plus being written."""
        return len(self._buffer) + self._inflight

    async def _writer(self) -> None:
        """Take batches off the buffer and store them; a batch that fails goes back to the front
        of the buffer and is retried with backoff.

        Once the service is stopping no tick is added to the buffer (the reader takes no frame
        after ``stop()``), so the writer stores what is left without waiting and ends when the
        buffer is empty, or when the store has failed ``STOP_ATTEMPTS`` times since the stop or
        the stop's time has run out (``held()`` then says how many ticks were not stored)."""
        cfg, m = self.config, self.metrics
        loop = asyncio.get_running_loop()
        failures = rejected = stop_failures = 0
        buf = self._buffer
        while True:
            if not self._stopping.is_set() and len(buf) < cfg.batch_size:
                wait = cfg.flush_interval
                if buf and self._oldest is not None:
                    wait = max(0.0, self._oldest + cfg.flush_interval - loop.time())
                self._data.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._data.wait(), wait)
            stopping = self._stopping.is_set()  # read after the wait: a stop flushes at once
            now = loop.time()
            gaps = self._sequencer.due_gaps(now)
            if gaps:
                self._note_gaps(gaps)
            self._check_stale(now)
            if not buf and not self._pending.events and not self._pending.malformed:
                if stopping:
                    return
                continue
            young = self._oldest is not None and now - self._oldest < cfg.flush_interval
            if buf and len(buf) < cfg.batch_size and not stopping and young:
                continue
            n = min(len(buf), cfg.max_batch)
            batch = [buf.popleft() for _ in range(n)]
            self._inflight += n
            self._oldest = loop.time() if buf else None
            events, malformed = self._take_pending()
            try:
                inserted, unrecorded = await asyncio.to_thread(
                    self._write, batch, events, malformed
                )
            except Exception as exc:  # StoreUnavailable, or a batch the store rejects
                if isinstance(exc, StoreUnavailable):
                    rejected = 0  # "in a row" means rejections, not outages, in a row
                else:
                    rejected += 1
                    log.exception("ingest: the store rejected a batch of %d ticks", n)
                    if rejected >= REJECTIONS_BEFORE_DROP:
                        m.store_errors += 1
                        salvaged: int | None
                        try:
                            salvaged, refused, why = await asyncio.to_thread(self._salvage, batch)
                        except StoreUnavailable:
                            salvaged, refused, why = None, [], None
                        if salvaged is not None:
                            self._restore_pending(events, malformed)
                            if refused:
                                self._drop_batch(refused, why or exc)
                            self._inflight -= n
                            rejected = 0
                            m.ticks_stored += salvaged
                            m.store_duplicates += n - salvaged - len(refused)
                            if self.held() < 0.75 * cfg.buffer_limit:
                                self._space.set()
                            if salvaged:
                                self._publish(batch, salvaged)
                            continue
                buf.extendleft(reversed(batch))  # back to the front: nothing is lost
                self._inflight -= n
                if buf and self._oldest is None:
                    self._oldest = loop.time()
                failures += 1
                m.store_errors += 1
                self._last_store_error = str(exc)
                self._restore_pending(events, malformed)
                if stopping:
                    stop_failures += 1
                    delay = self._backoff(stop_failures)
                    deadline = self._stop_deadline
                    if stop_failures >= STOP_ATTEMPTS or (
                        deadline is not None and loop.time() + delay > deadline
                    ):
                        log.error("ingest: stopping with %d ticks not stored after %d failed "
                                  "writes (%s)", self.held(), stop_failures, exc)  # fmt: skip
                        return
                else:
                    delay = self._backoff(failures)
                log.warning("ingest: store unavailable (%s); %d ticks held, retry in %.1fs",
                            exc, self.held(), delay)  # fmt: skip
                if stopping:
                    await asyncio.sleep(delay)
                else:  # a stop cuts the wait short: it retries at once
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._stopping.wait(), delay)
                continue
            failures = rejected = 0
            if unrecorded:  # the ticks are stored; their quality findings wait for the next try
                self._restore_pending(unrecorded, 0)
            self._inflight -= n
            m.batches += 1
            m.ticks_stored += inserted
            m.store_duplicates += n - inserted
            m.buffered = self.held()
            if self.held() < 0.75 * cfg.buffer_limit:
                self._space.set()
            if batch:
                self._publish(batch, inserted)

    def _check_stale(self, now: float) -> None:
        """Record each subscribed symbol once when it falls silent for ``stale_after``."""
        if self._started_at is None:
            self._started_at = now
        limit = self.config.stale_after
        for symbol in self.config.symbols:
            silent = now - self._last_trade_at.get(symbol, self._started_at)
            if silent < limit:
                self._stale.discard(symbol)
            elif symbol not in self._stale:
                self._stale.add(symbol)
                self.metrics.stale_symbols += 1
                log.warning("ingest: %s stale: no trade for %.0fs", symbol, silent)
                self._pending.events.append(
                    QualityEvent(dt.datetime.now(UTC), "stale", symbol, self.config.venue,
                                 f"no trade for {silent:.0f}s (stale_after {limit:g}s)")
                )  # fmt: skip

    def _note_gaps(self, gaps) -> None:
        now = dt.datetime.now(UTC)
        for g in gaps:
            self.metrics.gaps += 1
            self.metrics.gap_ticks += g.count
            log.warning("ingest: gap on %s: trades %d..%d (%d) missing",
                        g.symbol, g.first, g.last, g.count)  # fmt: skip
            self._pending.events.append(
                QualityEvent(now, "gap", g.symbol, self.config.venue,
                             f"trade ids {g.first}..{g.last} missing", g.count)
            )  # fmt: skip

    def _take_pending(self) -> tuple[list[QualityEvent], int]:
        p = self._pending
        events, malformed = p.events, p.malformed
        self._pending = _Pending()
        return events, malformed

    def _restore_pending(self, events: list[QualityEvent], malformed: int) -> None:
        self._pending.events[:0] = events
        self._pending.malformed += malformed

    def _write(self, batch: list[Tick], events: list[QualityEvent], malformed: int
               ) -> tuple[int, list[QualityEvent]]:  # fmt: skip
        """In a worker thread: store the batch, then the quality findings it produced. Returns
        (ticks inserted, findings not recorded: the caller keeps them for the next write).
        Once the ticks are stored nothing here raises: a failure to find or record quality
        findings must not send stored ticks back to the buffer."""
        inserted = self.store.write_ticks(batch).inserted if batch else 0
        try:
            events = events + self._jumps(batch)
        except Exception as exc:  # e.g. the store went away between the two calls
            log.warning("ingest: jump check skipped for this batch (%s)", exc)
        if malformed:
            events.append(
                QualityEvent(dt.datetime.now(UTC), "malformed", None, self.config.venue,
                             f"{malformed} malformed frames skipped", malformed)
            )  # fmt: skip
        if events:
            try:
                self.store.record_quality(events)
            except Exception as exc:
                log.warning("ingest: %d quality findings kept for later (%s)", len(events), exc)
                return inserted, events
        return inserted, []

    def _salvage(self, batch: list[Tick]) -> tuple[int, list[Tick], Exception | None]:
        """In a worker thread, for a batch the store keeps rejecting: store it in halves,
        recursively, so that only the ticks the store refuses on their own are left out.
        Returns (inserted, refused ticks, the last refusal). StoreUnavailable propagates."""
        try:
            return self.store.write_ticks(batch).inserted, [], None
        except StoreUnavailable:
            raise
        except Exception as exc:
            if len(batch) == 1:
                return 0, list(batch), exc
            mid = len(batch) // 2
            a, ra, ea = self._salvage(batch[:mid])
            b, rb, eb = self._salvage(batch[mid:])
            return a + b, ra + rb, eb or ea

    def _drop_batch(self, batch: list[Tick], exc: Exception) -> None:
        """A batch the store keeps rejecting (not an outage: bad data): dropped, counted and
        recorded, so the service goes on; never silently."""
        self.metrics.rejected_ticks += len(batch)
        first, last = batch[0], batch[-1]
        detail = (f"{len(batch)} ticks refused by the store on their own after their batch was "
                  f"rejected {REJECTIONS_BEFORE_DROP} times, dropped ({first.symbol} "
                  f"#{first.trade_id} .. {last.symbol} #{last.trade_id}): {exc}")  # fmt: skip
        log.error("ingest: %s", detail)
        self._pending.events.append(
            QualityEvent(dt.datetime.now(UTC), "rejected", None, self.config.venue, detail[:500],
                         len(batch))
        )  # fmt: skip

    def _jumps(self, batch: list[Tick]) -> list[QualityEvent]:
        """Ticks further than ``jump_threshold`` from the symbol's previous daily close (one
        event per symbol and day)."""
        extremes: dict[tuple[str, dt.date], tuple[float, float]] = {}
        if not batch:
            return []
        times = list(map(_TS, batch))
        first_day = min(times).date()
        one_day = max(times).date() == first_day  # the usual batch: no date per tick needed
        for t in batch:
            key = (t.symbol, first_day if one_day else t.ts.date())
            lo_hi = extremes.get(key)
            if lo_hi is None:
                extremes[key] = (t.price, t.price)
            elif t.price < lo_hi[0] or t.price > lo_hi[1]:
                extremes[key] = (min(lo_hi[0], t.price), max(lo_hi[1], t.price))
        return self._jump_events(extremes)

    def _jump_events(self, extremes: dict[tuple[str, dt.date], tuple[float, float]]
                     ) -> list[QualityEvent]:  # fmt: skip
        out = []
        threshold = self.config.jump_threshold
        for key, (lo, hi) in extremes.items():
            if key in self._jump_seen:
                continue
            if key not in self._prev_close:
                self._prev_close[key] = self.store.previous_close(*key)
            prev = self._prev_close[key]
            if not prev:
                continue
            worst = hi if abs(hi / prev - 1) >= abs(lo / prev - 1) else lo
            move = worst / prev - 1
            if abs(move) > threshold:
                self._jump_seen.add(key)
                out.append(
                    QualityEvent(dt.datetime.now(UTC), "jump", key[0], self.config.venue,
                                 f"{worst:g} is {move:+.1%} from the previous close {prev:g} "
                                 f"(threshold {threshold:.0%}): a split or a bad print?")
                )  # fmt: skip
        return out

    def _publish(self, batch: list[Tick], inserted: int) -> None:
        latest = self.latest
        for t in batch:
            cur = latest.get(t.symbol)
            if cur is None or t.ts >= cur.ts:
                latest[t.symbol] = t
        if not inserted or not self._listeners:
            return
        symbols = tuple(sorted({t.symbol for t in batch}))
        moved = MarketMoved(
            symbols,
            {s: latest[s].price for s in symbols},
            max(latest[s].ts for s in symbols),
            inserted,
        )
        for callback in self._listeners:
            try:
                callback(moved)
            except Exception:  # a listener's bug must not stop ingestion
                log.exception("ingest: market-moved listener failed")
