"""The built-in feed server: a WebSocket server on 127.0.0.1 that speaks a venue's protocol.

It journals the trades of a source (replay of daily history, or a simulation) and streams them
to every subscriber at a chosen rate, one trade per frame or batched as the venue batches. For
fault tests it can drop connections, repeat, reorder and corrupt frames on purpose, and it keeps
its own log of every valid trade it sent, to count the store against.

Each connection has a cursor into the one journal. A connection that resumes (our own format,
``resume`` in the subscribe frame) continues after the last trade id the client holds; any
other connection joins at the live head, so trades published while a client was away are gaps
it must detect by trade id.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import websockets
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.protocol import State

from riskengine.errors import InputError
from riskengine.ingest.venues import get_venue
from riskengine.ingest.venues.base import MalformedFrame, Subscription, heartbeat_frames
from riskengine.market.tick import Tick

log = logging.getLogger("riskengine.feed")

#: Frames no venue's protocol allows (not JSON, truncated, binary junk, not an object).
CORRUPT_FRAMES = (
    "{not json",
    '{"type": "trades", "data": [{"s": "X"',
    "\x00\x01garbage",
    "[]",
    '"just a string"',
)


@dataclass(frozen=True)
class Faults:
    """Faults the feed injects on purpose (all off by default).

    Attributes:
        drop_every: close each connection after this many trade frames (0: never).
        drop_abruptly: drop the TCP connection without a closing handshake.
        max_drops: stop dropping after this many drops in total (0: no limit).
        duplicate: probability that a trade frame is sent twice.
        reorder: probability that a trade frame is held back and sent after the next one.
        corrupt: probability that a malformed frame is sent before a trade frame (extra: the
            trades still go out in valid frames).
        skip_on_reconnect: trades published while a non-resuming client was away (journalled,
            never sent to it): the gaps it must detect.
        seed: seed of the fault draws.
    """

    drop_every: int = 0
    drop_abruptly: bool = False
    max_drops: int = 0
    duplicate: float = 0.0
    reorder: float = 0.0
    corrupt: float = 0.0
    skip_on_reconnect: int = 0
    seed: int = 0

    def __post_init__(self):
        for name in ("duplicate", "reorder", "corrupt"):
            p = getattr(self, name)
            if not 0.0 <= p <= 1.0:
                raise InputError(f"fault {name}={p} is not a probability; use a value in [0, 1].")
        for name in ("drop_every", "max_drops", "skip_on_reconnect"):
            if getattr(self, name) < 0:
                raise InputError(f"fault {name}={getattr(self, name)} must be >= 0.")


@dataclass
class FeedLog:
    """What the feed sent: every valid trade (by (symbol, trade_id)), frames, faults."""

    sent: Counter  # (symbol, trade_id) -> times sent in a valid frame
    frames: int = 0
    corrupt_frames: int = 0
    duplicate_frames: int = 0
    reordered_frames: int = 0
    drops: int = 0
    connections: int = 0
    # trades not sent on a connection: published while a non-resuming client was away, or the
    # unsent rest of a chunk when a connection closed (a resuming client gets those later)
    skipped: int = 0

    def unique_sent(self) -> set[tuple[str, int]]:
        return set(self.sent)


@dataclass
class _Connection:
    """Per-connection counters of the feed."""

    opened: float
    sequence: int = 0
    trade_frames: int = 0
    recorded: int = 0  # trades sent (first copies and held frames included, repeats not)
    last_ids: dict[str, int] = field(default_factory=dict)


class FeedServer:
    """Serve ``source``'s trades in ``venue``'s protocol on ``host:port`` (0: a free port).

    Args:
        source: iterator of Ticks in journal order (``replay_ticks`` / ``simulated_ticks``).
        venue: protocol name (``coinbase``, ``coinbase-advanced``, ``binance``, ``kraken``,
            ``riskengine``).
        rate: trades per second per connection (0: as fast as the connection takes them).
        batch: trades per frame for venues that batch (1 elsewhere).
        limit: stop publishing after this many trades (None: while the source lasts).
        heartbeat_interval: seconds between venue heartbeats (venues that have them).
        max_connection_age: close connections older than this many seconds (Binance closes
            every connection after 24 hours; set it low to test the client's reconnect).
        prebuild: journal this many trades before serving (benchmarks, so that generation is
            not timed).
    """

    def __init__(
        self,
        source: Iterator[Tick],
        *,
        venue: str = "riskengine",
        host: str = "127.0.0.1",
        port: int = 0,
        rate: float = 0.0,
        batch: int = 1,
        limit: int | None = None,
        heartbeat_interval: float = 1.0,
        max_connection_age: float | None = None,
        faults: Faults | None = None,
        prebuild: int = 0,
    ):
        self.adapter = get_venue(venue)
        if batch < 1:
            raise InputError(f"batch={batch}: trades per frame must be >= 1.")
        if rate < 0:
            raise InputError(f"rate={rate}: trades per second must be >= 0 (0: unthrottled).")
        self.venue = venue
        self.batch = batch if self.adapter.batches else 1
        self.host, self.port = host, port
        self.rate = rate
        self.limit = limit
        self.heartbeat_interval = heartbeat_interval
        self.max_connection_age = max_connection_age
        self.faults = faults or Faults()
        self._source = source
        self._journal: list[Tick] = []
        self._index: dict[tuple[str, int], int] = {}
        self._symbols: set[str] = set()
        self._exhausted = False
        self._head = 0  # live head: where a new non-resuming connection joins
        self._rng = random.Random(self.faults.seed)
        self.log = FeedLog(sent=Counter())
        self._server: Server | None = None
        self._serving: set[asyncio.Task] = set()
        self.finished = asyncio.Event()  # set when the whole journal has been sent once
        if prebuild:
            self._extend(prebuild)

    # --- journal ------------------------------------------------------------------------
    def _extend(self, n: int) -> None:
        if self._exhausted:
            return
        if self.limit is not None:
            n = min(n, self.limit - len(self._journal))
        start = len(self._journal)
        for _ in range(n):
            try:
                tick = next(self._source)
            except StopIteration:
                self._exhausted = True
                break
            self._index[(tick.symbol, tick.trade_id)] = len(self._journal)
            self._symbols.add(tick.symbol)
            self._journal.append(tick)
        if self.limit is not None and len(self._journal) >= self.limit:
            self._exhausted = True
        if len(self._journal) == start:
            self._exhausted = True

    def journal(self) -> Sequence[Tick]:
        return tuple(self._journal)

    def _take(self, cursor: int, n: int) -> list[Tick]:
        while len(self._journal) < cursor + n and not self._exhausted:
            self._extend(max(n, 10_000))
        return self._journal[cursor : cursor + n]

    # --- server ---------------------------------------------------------------------------
    async def start(self) -> FeedServer:
        if not self._journal:
            self._extend(1)  # a bad source (unknown symbol, short history) fails here, not later
        self._server = await serve(
            self._handle, self.host, self.port, max_size=2**20, compression=None
        )
        self.port = self._server.sockets[0].getsockname()[1]
        log.info("feed (%s) on ws://%s:%d", self.venue, self.host, self.port)
        return self

    @property
    def url(self) -> str:
        return f"ws://{self.host}:{self.port}"

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    async def __aenter__(self) -> FeedServer:
        return await self.start()

    async def __aexit__(self, *exc) -> None:
        await self.stop()

    async def serve_forever(self) -> None:
        await self.start()
        server = self._server
        if server is not None:  # None: stopped by another task meanwhile
            await server.serve_forever()

    async def _handle(self, ws: ServerConnection) -> None:
        self.log.connections += 1
        try:
            first = await asyncio.wait_for(ws.recv(), timeout=30)
            try:
                sub = self.adapter.parse_subscribe(first)
            except MalformedFrame as exc:
                await ws.close(1008, f"bad subscribe: {exc}"[:120])
                return
            for frame in self.adapter.subscribed(sub):
                await ws.send(frame)
            reader = asyncio.create_task(self._drain(ws))
            try:
                await self._stream(ws, sub)
            finally:
                reader.cancel()
        except (websockets.ConnectionClosed, TimeoutError, ConnectionError):
            pass

    async def _drain(self, ws: ServerConnection) -> None:
        """Read and ignore what the client sends after subscribing (application pings)."""
        with contextlib.suppress(websockets.ConnectionClosed):
            async for _ in ws:
                pass

    def _start_cursor(self, sub: Subscription) -> tuple[int, dict[str, int]]:
        if self.adapter.resumable and sub.resume_from:
            # Restart after the earliest trade any subscribed symbol still needs; a symbol the
            # client never received (no entry, or id 0) resumes from the journal's start.
            resume = {s: sub.resume_from.get(s, 0) for s in sub.symbols}
            found = [
                -1 if tid <= 0 else self._index.get((symbol, tid)) for symbol, tid in resume.items()
            ]
            positions = [p for p in found if p is not None]
            if positions and len(positions) == len(found):
                return min(positions) + 1, resume
        if self.log.connections > 1 and self.faults.skip_on_reconnect:
            skip = self._take(self._head, self.faults.skip_on_reconnect)
            self._head += len(skip)
            self.log.skipped += len(skip)
        return self._head, {}

    async def _stream(self, ws: ServerConnection, sub: Subscription) -> None:
        wanted = set(sub.symbols)
        cursor, resume = self._start_cursor(sub)
        state = _Connection(opened=time.monotonic())
        next_heartbeat = state.opened + self.heartbeat_interval
        # enough journal trades that each subscribed symbol can fill a frame
        chunk = max(self.batch * max(len(self._symbols), 1), 64)
        while True:
            ticks = self._take(cursor, chunk)
            if not ticks:
                self.finished.set()
                await asyncio.sleep(min(self.heartbeat_interval, 0.05))
                if ws.state is not State.OPEN:  # idle venues (no heartbeats) notice a close here
                    return
            else:
                cursor += len(ticks)
                self._head = max(self._head, cursor)
                selected = [
                    t
                    for t in ticks
                    if t.symbol in wanted and (not resume or t.trade_id > resume.get(t.symbol, 0))
                ]
                before = state.recorded
                try:
                    dropped = await self._send_chunk(ws, selected, state)
                finally:
                    # trades of this chunk that never went out were published while this client
                    # was not listening: gaps it has to detect
                    self.log.skipped += len(selected) - (state.recorded - before)
                if dropped:
                    return
            now = time.monotonic()
            if now >= next_heartbeat:
                next_heartbeat = now + self.heartbeat_interval
                for hb in heartbeat_frames(
                    self.adapter, last_trade_id=state.last_ids, sequence=state.sequence
                ):
                    await ws.send(hb)

    async def _send_chunk(self, ws: ServerConnection, ticks: list[Tick], state: _Connection
                          ) -> bool:  # fmt: skip
        """Send ``ticks`` in frames, with the configured faults; True when the connection was
        dropped on purpose."""
        faults, rng = self.faults, self._rng
        held: tuple[str, list[Tick]] | None = None
        for group in self._frames(ticks):
            state.sequence += 1
            frame = self.adapter.encode_trades(group, sequence=state.sequence)
            if faults.corrupt and rng.random() < faults.corrupt:
                await ws.send(rng.choice(CORRUPT_FRAMES))
                self.log.corrupt_frames += 1
            if faults.reorder and held is None and rng.random() < faults.reorder:
                held = (frame, group)
                self.log.reordered_frames += 1
                continue
            await ws.send(frame)
            self._record(group, state)
            if held is not None:
                await ws.send(held[0])
                self._record(held[1], state)
                held = None
            if faults.duplicate and rng.random() < faults.duplicate:
                await ws.send(frame)
                self.log.frames += 1
                self.log.duplicate_frames += 1
                for t in group:
                    self.log.sent[(t.symbol, t.trade_id)] += 1
            state.trade_frames += 1
            if self._should_drop(state.trade_frames, state.opened):
                await self._drop(ws)
                return True
            if self.rate:
                ahead = state.recorded / self.rate - (time.monotonic() - state.opened)
                if ahead > 0.002:
                    await asyncio.sleep(ahead)
        if held is not None:
            await ws.send(held[0])
            self._record(held[1], state)
        return False

    def _frames(self, ticks: list[Tick]) -> Iterator[list[Tick]]:
        """Frames of up to ``batch`` trades. Venues that batch per symbol (Kraken, Coinbase
        Advanced Trade) get one symbol per frame, in each symbol's trade order; our own format
        mixes symbols in journal order."""
        if self.batch == 1:
            for t in ticks:
                yield [t]
            return
        if not getattr(self.adapter, "per_symbol_frames", True):
            for i in range(0, len(ticks), self.batch):
                yield ticks[i : i + self.batch]
            return
        groups: dict[str, list[Tick]] = {}
        for t in ticks:
            group = groups.setdefault(t.symbol, [])
            group.append(t)
            if len(group) >= self.batch:
                yield group
                groups[t.symbol] = []
        for group in groups.values():
            if group:
                yield group

    def _record(self, group: list[Tick], state: _Connection) -> None:
        self.log.frames += 1
        sent = self.log.sent
        last = state.last_ids
        for t in group:
            sent[(t.symbol, t.trade_id)] += 1
            last[t.symbol] = t.trade_id
        state.recorded += len(group)

    def _should_drop(self, trade_frames: int, opened: float) -> bool:
        f = self.faults
        budget = not f.max_drops or self.log.drops < f.max_drops
        if budget and f.drop_every and trade_frames >= f.drop_every:
            return True
        age = self.max_connection_age  # a venue's rule, not a fault: max_drops does not apply
        return age is not None and time.monotonic() - opened >= age

    async def _drop(self, ws: ServerConnection) -> None:
        self.log.drops += 1
        if self.faults.drop_abruptly:
            ws.transport.abort()
        else:
            await ws.close(1001, "going away")
