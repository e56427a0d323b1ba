"""Live updates: when ticks arrive, push the latest prices and a fresh risk report of every
subscribed book to its WebSocket subscribers.

Pushes are debounced: the first move after a push starts a timer of ``debounce`` seconds and
one push follows, whatever the number of ticks meanwhile. Reports are computed off the event
loop, once per distinct (tenant, book, request) however many clients watch it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import orjson

log = logging.getLogger("riskengine.live")


OTHER_MESSAGES = 16  # pongs and errors waiting for a client, beyond which the oldest go


@dataclass(eq=False)
class Subscriber:
    """One WebSocket client: its tenant, the books it watches (book id -> request) and the
    messages waiting to be sent, bounded: the latest prices, the latest report (or error) of
    each watched book, and at most OTHER_MESSAGES others. A newer report replaces the one of
    the same book still waiting (the latest wins), so a client that falls behind costs the
    server one report per book, however far behind it is."""

    tenant: str
    watches: dict[int, dict] = field(default_factory=dict)
    pending: OrderedDict = field(default_factory=OrderedDict)
    ready: asyncio.Event = field(default_factory=asyncio.Event)
    _serial: int = 0

    def send(self, message: dict) -> None:
        kind = message.get("type")
        book = message.get("portfolio_id")
        if kind == "prices":
            key: tuple = ("prices",)
        elif kind in ("report", "error") and book is not None:
            key = ("book", book)
        else:
            self._serial += 1
            key = ("other", self._serial)
            others = [k for k in self.pending if k[0] == "other"]
            for k in others[: max(0, len(others) - OTHER_MESSAGES + 1)]:
                del self.pending[k]
        self.pending.pop(key, None)  # the newer one goes last, in the order of arrival
        self.pending[key] = message
        self.ready.set()

    async def next(self) -> dict:
        """The oldest message waiting (waits for one)."""
        while not self.pending:
            self.ready.clear()
            await self.ready.wait()
        return self.pending.popitem(last=False)[1]


class LiveHub:
    """Subscribers and the debounced push.

    Args:
        report: ``await report(tenant, book_id, request)`` -> a message dict (a report or an
            error); runs the computation off the loop.
        prices: ``await prices()`` -> the prices message (or None when no tick is stored).
        debounce: seconds between the first move after a push and the push.
        stale: ``stale()`` is true when the snapshot a push used may lack the latest move
            (it was read less than the snapshot interval before): another push follows.
    """

    def __init__(
        self,
        report: Callable[[str, int, dict], Awaitable[dict]],
        prices: Callable[[], Awaitable[dict | None]],
        *,
        debounce: float = 1.0,
        stale: Callable[[], bool] = lambda: False,
    ):
        self._report = report
        self._stale = stale
        self._prices = prices
        self.debounce = debounce
        self.subscribers: set[Subscriber] = set()
        self._pending: asyncio.Task | None = None
        self.pushes = 0

    def add(self, sub: Subscriber) -> None:
        self.subscribers.add(sub)

    def remove(self, sub: Subscriber) -> None:
        self.subscribers.discard(sub)

    async def watch(self, sub: Subscriber, book_id: int, request: dict) -> None:
        """Start watching a book: its report now, then on every push."""
        sub.watches[book_id] = request
        sub.send(await self._report(sub.tenant, book_id, request))

    def moved(self, *_event) -> None:
        """The market moved (an ingest listener): schedule one push."""
        if self._pending is None or self._pending.done():
            self._pending = asyncio.get_running_loop().create_task(self._later(), name="live-push")

    async def _later(self) -> None:
        await asyncio.sleep(self.debounce)
        try:
            await self.push()
        except Exception:
            log.exception("live: push failed")
        if self.subscribers and self._stale():  # the last move is not in this push yet
            self._pending = asyncio.get_running_loop().create_task(self._later(), name="live-push")

    async def push(self) -> None:
        """Send the latest prices to everyone and each watched book's fresh report."""
        if not self.subscribers:
            return
        self.pushes += 1
        prices = await self._prices()
        if prices is not None:
            for sub in list(self.subscribers):
                sub.send(prices)
        groups: dict[tuple, list[tuple[Subscriber, int]]] = {}
        for sub in list(self.subscribers):
            for book_id, request in sub.watches.items():
                key = (sub.tenant, book_id, orjson.dumps(request, option=orjson.OPT_SORT_KEYS))
                groups.setdefault(key, []).append((sub, book_id))
        for (tenant, book_id, raw), members in groups.items():
            message = await self._report(tenant, book_id, orjson.loads(raw))
            for sub, _ in members:
                sub.send(message)

    async def close(self) -> None:
        if self._pending is not None:
            self._pending.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._pending
