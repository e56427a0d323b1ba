"""Fair, bounded work queues: one tenant cannot take the server from the others.

A ``FairPool`` runs work on ``workers`` threads. Each tenant has its own first-in first-out
queue; a free worker takes the next item of the next tenant in turn (round robin), so a tenant
with a hundred items waiting delays another tenant's single item by at most one item per
worker. Bounds: ``per_tenant`` items queued or running per tenant, ``total`` in all; a
submission over a bound is refused at once with ``QueueFull`` (the API answers 429 with
``Retry-After``), never queued without limit. ``running_per_tenant`` caps the workers one
tenant may hold at once, so that another tenant's work starts as soon as it arrives.
"""

from __future__ import annotations

import itertools
import logging
import math
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

from riskengine.errors import RiskEngineError

log = logging.getLogger("riskengine.fair")


class QueueFull(RiskEngineError):
    """A submission over a bound of a ``FairPool``: ``scope`` is "tenant" or "total";
    ``retry_after`` the seconds after which a try is likely to be accepted."""

    def __init__(self, message: str, *, scope: str, limit: int, retry_after: int, kind: str):
        super().__init__(message)
        self.kind = kind  # the problem type the API answers: too-many-jobs, too-many-requests
        self.scope = scope
        self.limit = limit
        self.retry_after = retry_after


@dataclass(eq=False)
class Ticket:
    """One submitted item: its future (the result, or the exception), its tenant, and
    ``cancel()`` (removes it when still queued; True then)."""

    tenant: str
    fn: Callable[[], Any]
    future: Future = field(default_factory=Future)
    pool: FairPool | None = None
    started: bool = False

    def cancel(self) -> bool:
        return self.pool is not None and self.pool._withdraw(self)


class FairPool:
    """Round robin between tenants over ``workers`` threads, bounded (module docstring).

    Args:
        workers: items run at once.
        per_tenant: items of one tenant queued or running at once (more: QueueFull).
        total: items queued or running at once, all tenants (more: QueueFull).
        running_per_tenant: workers one tenant may hold at once (default: all).
        name: the threads' name prefix.
        what: the word for the items in a refusal ("jobs"); its problem type is
            ``too-many-<what>``.
    """

    def __init__(
        self,
        workers: int,
        *,
        per_tenant: int,
        total: int,
        running_per_tenant: int | None = None,
        name: str = "work",
        what: str = "requests",
    ):
        self.workers = workers
        self.per_tenant = per_tenant
        self.total = total
        self.running_per_tenant = running_per_tenant or workers
        self.what = what
        self._queues: dict[str, deque[Ticket]] = {}
        self._running: dict[str, int] = {}
        self._order: deque[str] = deque()  # tenants with items waiting, in turn
        self._count = 0
        self._cond = threading.Condition()
        self._closed = False
        self._seconds = 1.0  # moving average of an item's run time (Retry-After)
        self._threads = [
            threading.Thread(target=self._work, name=f"{name}-{i}", daemon=True)
            for i in range(workers)
        ]
        for t in self._threads:
            t.start()

    # --- submitting -------------------------------------------------------------------------
    def submit(self, tenant: str, fn: Callable[[], Any]) -> Ticket:
        """Queue ``fn()`` for ``tenant``; QueueFull over a bound."""
        with self._cond:
            if self._closed:
                raise RuntimeError("the pool is shut down")
            held = len(self._queues.get(tenant, ())) + self._running.get(tenant, 0)
            if held >= self.per_tenant:
                raise QueueFull(
                    f"tenant {tenant!r} has {held} {self.what} queued or running, the most "
                    f"one tenant may have ({self.per_tenant}); retry after the Retry-After "
                    "seconds, or when one of them has finished.",
                    scope="tenant",
                    limit=self.per_tenant,
                    retry_after=self._retry_after(held - self.running_per_tenant + 1),
                    kind=f"too-many-{self.what}",
                )
            if self._count >= self.total:
                raise QueueFull(
                    f"the server has {self._count} {self.what} queued or running, its limit "
                    f"({self.total}); retry after the Retry-After seconds.",
                    scope="total",
                    limit=self.total,
                    retry_after=self._retry_after(self._count - self.workers + 1),
                    kind=f"too-many-{self.what}",
                )
            ticket = Ticket(tenant, fn, pool=self)
            queue = self._queues.setdefault(tenant, deque())
            if not queue:
                self._order.append(tenant)
            queue.append(ticket)
            self._count += 1
            self._cond.notify()
        return ticket

    def _retry_after(self, ahead: int) -> int:
        """Seconds until ``ahead`` items have run on the workers (at least 1)."""
        return max(1, math.ceil(self._seconds * max(1, ahead) / self.workers))

    def _withdraw(self, ticket: Ticket) -> bool:
        with self._cond:
            if ticket.started:
                return False
            queue = self._queues.get(ticket.tenant)
            if queue is None or ticket not in queue:
                return False
            queue.remove(ticket)
            if not queue:
                del self._queues[ticket.tenant]
                self._order.remove(ticket.tenant)
            self._count -= 1
            ticket.future.cancel()
            return True

    # --- the workers --------------------------------------------------------------------------
    def _next(self) -> Ticket | None:
        """The next ticket in turn (a tenant under its running cap); None when none may run."""
        for _ in range(len(self._order)):
            tenant = self._order[0]
            self._order.rotate(-1)  # whatever happens, the next tenant comes next
            if self._running.get(tenant, 0) >= self.running_per_tenant:
                continue
            queue = self._queues[tenant]
            ticket = queue.popleft()
            if not queue:
                del self._queues[tenant]
                self._order.remove(tenant)
            return ticket
        return None

    def _work(self) -> None:
        while True:
            with self._cond:
                ticket = None
                while not self._closed and (ticket := self._next()) is None:
                    self._cond.wait()
                if ticket is None:
                    return
                ticket.started = True
                self._running[ticket.tenant] = self._running.get(ticket.tenant, 0) + 1
            started = time.monotonic()
            try:
                if ticket.future.set_running_or_notify_cancel():
                    try:
                        ticket.future.set_result(ticket.fn())
                    except BaseException as exc:  # the caller's to see
                        ticket.future.set_exception(exc)
            finally:
                with self._cond:
                    n = self._running[ticket.tenant] - 1
                    if n:
                        self._running[ticket.tenant] = n
                    else:
                        del self._running[ticket.tenant]
                    self._count -= 1
                    self._seconds = 0.8 * self._seconds + 0.2 * (time.monotonic() - started)
                    self._cond.notify_all()

    def shutdown(self) -> list[Ticket]:
        """Stop taking items; withdraw the queued ones (returned) and wait for the running."""
        with self._cond:
            self._closed = True
            left = list(itertools.chain.from_iterable(self._queues.values()))
            for ticket in left:
                ticket.future.cancel()
            self._count -= len(left)
            self._queues.clear()
            self._order.clear()
            self._cond.notify_all()
        for t in self._threads:
            t.join()
        return left
