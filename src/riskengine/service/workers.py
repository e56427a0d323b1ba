"""Risk computations in worker processes: every core under one server.

One server process keeps what must be single: the event loop, the store (SQLite writes, job
leases), the book and market caches, admission and fairness. Its synchronous risk computations
(requests and live pushes) run in ``ComputeProcesses``, a pool of worker processes, so that
they are not held to one core by the interpreter's lock:

* the history of closed daily bars is published once per version in shared memory
  (``multiprocessing.shared_memory``); a worker maps it when it first sees that version, and
  never copies it;
* a task carries the request, the market snapshot (the latest prices) and the book's stored
  text; each worker keeps its parsed books by (tenant, id) and stored text, and its own
  ``RiskCache`` (covariances, scenario sets, compiled books and exposures per book version and
  snapshot), so per-book preparation is done once per (version, snapshot) in each worker;
  the results of a request are never reused;
* cancellation (a client that went away) is a flag per task in a shared array, read by the
  worker before each block of work;
* the answer comes back encoded (the JSON bytes sent to the client) with the history entry
  the server stores.

A worker that dies (killed, out of memory) is replaced; the tasks queued behind the one it
was running run on the new worker, and that one fails with ``WorkerLost`` (503): it may be
what killed it.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import multiprocessing as mp
import os
import signal
import threading
import time
import zlib
from collections import OrderedDict
from concurrent.futures import CancelledError, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from multiprocessing import shared_memory

import numpy as np
import orjson

from riskengine.errors import RiskEngineError
from riskengine.market.history import FactorHistory, MarketState

log = logging.getLogger("riskengine.workers")


class WorkerLost(RiskEngineError):
    """A worker process died during the computation, twice (answered 503, retry later)."""


@dataclass(frozen=True)
class HistoryRef:
    """Where a worker finds a history version: a shared memory block holding the dates
    (int64 days) then the prices (float64, row-major), its symbols and its content hash."""

    key: str
    name: str
    n_dates: int
    symbols: tuple[str, ...]
    content_hash: str


class SharedHistory:
    """The parent's side: publishes each history version once; keeps the last two blocks (a
    task may still name the previous one) and unlinks older ones."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._current: tuple[FactorHistory, HistoryRef] | None = None
        self._blocks: list[shared_memory.SharedMemory] = []

    def ref(self, history: FactorHistory) -> HistoryRef:
        with self._lock:
            if self._current is not None and self._current[0] is history:
                return self._current[1]
            n, k = history.prices.shape
            nbytes = max(1, 8 * n + 8 * n * k)
            block = shared_memory.SharedMemory(create=True, size=nbytes)
            dates = np.ndarray((n,), dtype=np.int64, buffer=block.buf)
            dates[:] = history.dates.astype("datetime64[D]").astype(np.int64)
            prices = np.ndarray((n, k), dtype=np.float64, buffer=block.buf, offset=8 * n)
            prices[:] = history.prices
            del dates, prices  # no view of the buffer may outlive close()
            ref = HistoryRef(
                f"{block.name}:{history.content_hash}",
                block.name,
                n,
                tuple(history.symbols),
                history.content_hash,
            )
            self._current = (history, ref)
            self._blocks.append(block)
            while len(self._blocks) > 2:
                self._release(self._blocks.pop(0))
            return ref

    @staticmethod
    def _release(block: shared_memory.SharedMemory) -> None:
        block.close()
        with contextlib.suppress(FileNotFoundError):
            block.unlink()

    def close(self) -> None:
        with self._lock:
            for block in self._blocks:
                self._release(block)
            self._blocks.clear()
            self._current = None


# --- the worker's side --------------------------------------------------------------------------
_flags = None  # the shared cancellation flags (set by _init)
_started = None  # the shared flags "this task has started" (set by _init)
_cache = None  # this worker's RiskCache
_history: tuple[str, FactorHistory, shared_memory.SharedMemory] | None = None
_old_blocks: list = []  # mapped blocks of earlier versions: cached arrays may still view them
_books: OrderedDict = OrderedDict()  # (tenant, id) -> (stored text, Book)
_BOOKS = 64


def _init(flags, started) -> None:
    global _flags, _started, _cache
    from riskengine.cache import RiskCache
    from riskengine.scale.local import set_blas_threads

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the server stops its workers itself
    set_blas_threads(1)
    _flags = flags
    _started = started
    _cache = RiskCache(max_books=64)


def _history_for(ref: HistoryRef) -> FactorHistory:
    global _history
    if _history is not None and _history[0] == ref.key:
        return _history[1]
    # the parent owns the block (it unlinks it); the workers share its resource tracker
    block = shared_memory.SharedMemory(name=ref.name)
    n, k = ref.n_dates, len(ref.symbols)
    dates = np.ndarray((n,), dtype=np.int64, buffer=block.buf).view("datetime64[D]")
    prices = np.ndarray((n, k), dtype=np.float64, buffer=block.buf, offset=8 * n)
    history = FactorHistory(dates, ref.symbols, prices)
    history.__dict__["content_hash"] = ref.content_hash  # the parent's: not hashed again
    old = _history
    _history = (ref.key, history, block)
    if old is not None:  # its arrays may still be referenced by cached values: left mapped
        _old_blocks.append(old[2])
        _books.clear()
    return history


class BookNotHeld(Exception):
    """The worker does not hold the book version the task names without its text (evicted,
    or a new worker): the server sends the task again with the text."""


def _book_for(tenant: str, book_id: int | None, text: str | None, digest: bytes):
    """The parsed book: the one held for (tenant, book_id) when its ``digest`` (the server's
    hash of the stored text) matches, else parsed from ``text`` (BookNotHeld without it)."""
    from riskengine.service.stored_books import make_book

    key = (tenant, book_id)
    if book_id is not None:
        hit = _books.get(key)
        if hit is not None and hit[0] == digest:
            _books.move_to_end(key)
            return hit[1]
    if text is None:
        raise BookNotHeld(f"book {book_id} of {tenant!r}")
    book = make_book(
        orjson.loads(text), book_id=book_id, max_positions=2**62, source=f"portfolio {book_id}"
    )
    if book_id is not None:
        _books[key] = (digest, book)
        while len(_books) > _BOOKS:
            _books.popitem(last=False)
    return book


def run_risk(
    ref: HistoryRef,
    market: MarketState | None,
    tenant: str,
    book_id: int | None,
    text: str | None,
    digest: bytes,
    request: dict,
    slot: int,
    threads: int,
) -> tuple[bytes, dict, float]:
    """In a worker: the encoded report of the book for the request, the report dict's parts
    the server needs (``method``, ``as_of``, the history entry) and the compute seconds."""
    from riskengine.scale.local import LocalExecutor
    from riskengine.service.compute import encode_json, history_entry, risk_report
    from riskengine.service.jobs import JobCancelled

    flags = _flags
    if _started is not None:
        _started[slot] = 1  # were this worker to die now, this task is the one it ran

    def check() -> None:
        if flags is not None and flags[slot]:
            raise JobCancelled("the request's client went away")

    global _cache
    if _cache is None:  # not started by ComputeProcesses (a direct call)
        from riskengine.cache import RiskCache

        _cache = RiskCache(max_books=64)
    started = time.perf_counter()
    book = _book_for(tenant, book_id, text, digest)
    out, method = risk_report(
        book,
        request,
        _history_for(ref),
        market,
        _cache,
        LocalExecutor(threads, check=check),
    )
    seconds = time.perf_counter() - started
    books = _cache.books
    meta = {
        "method": method,
        "as_of": out["as_of"],
        "entry": history_entry(out),
        "preparation": (os.getpid(), books.hits, books.hits + books.misses),
    }
    return encode_json(out), meta, seconds


# --- the parent's pool ----------------------------------------------------------------------------
class ComputeProcesses:
    """``processes`` worker processes (started from a fork server, at their first task).

    A book's computations go to the same worker while it is not busier than the others by
    two tasks or more (its preparation per book version and snapshot is then found ready
    there); else to the least busy one."""

    def __init__(self, processes: int, *, slots: int = 1024):
        self.processes = processes
        context = mp.get_context("forkserver")
        context.set_forkserver_preload(["riskengine.service.workers", "riskengine.pipeline"])
        self._context = context
        self._flags = context.Array("b", slots, lock=False)  # a slot per task in flight
        self._started = context.Array("b", slots, lock=False)
        self._free = list(range(slots))
        self._lock = threading.Lock()
        self.history = SharedHistory()
        self._pools = [self._new_pool() for _ in range(processes)]
        self._busy = [0] * processes
        self.tasks = 0
        self.texts_sent = 0  # tasks that carried their book's text
        self.restarts = 0
        self._prepared: dict[int, tuple[int, int]] = {}  # worker pid -> (hits, lookups)
        # per worker: (tenant, book id) -> the digest of the book text it was last sent, so
        # that a book's text (megabytes for a large book) is sent once per version and worker
        self._sent: list[OrderedDict] = [OrderedDict() for _ in range(processes)]
        self._digests: OrderedDict = OrderedDict()  # id(text) -> (text, digest)

    def _new_pool(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(
            1,
            mp_context=self._context,
            initializer=_init,
            initargs=(self._flags, self._started),
        )

    def _pick(self, tenant: str, book_id: int | None) -> int:
        """The worker for a book (called with the lock held)."""
        busy = self._busy
        home = zlib.crc32(f"{tenant}\x1f{book_id}".encode()) % self.processes
        least = min(range(self.processes), key=busy.__getitem__)
        return home if busy[home] < busy[least] + 2 else least

    def pids(self) -> list[int]:
        """The worker processes' ids (those started)."""
        return [pid for pool in self._pools for pid in (pool._processes or {})]  # noqa: SLF001

    def run(self, history: FactorHistory, market, tenant, book_id, text, request, control,
            threads: int) -> tuple[bytes, dict, float]:  # fmt: skip
        """``run_risk`` in a worker; ``control.cancelled`` set meanwhile stops it at its next
        block (JobCancelled)."""
        from riskengine.service.jobs import JobCancelled

        ref = self.history.ref(history)
        digest = self._digest(text)
        key = (tenant, book_id)
        with self._lock:
            slot = self._free.pop()
            i = self._pick(tenant, book_id)
            self._busy[i] += 1
            held = book_id is not None and self._sent[i].get(key) == digest
        self._flags[slot] = 0
        self._started[slot] = 0
        try:
            for attempt in (1, 2):
                pool = self._pools[i]
                try:
                    task = [ref, market, tenant, book_id, None if held else text, digest,
                            request, threads]  # fmt: skip
                    try:
                        result = self._await(pool, control, slot, *task)
                    except BookNotHeld:  # evicted there: once more, with the text
                        task[4] = text
                        result = self._await(pool, control, slot, *task)
                    if book_id is not None:
                        with self._lock:
                            sent = self._sent[i]
                            sent[key] = digest
                            sent.move_to_end(key)
                            while len(sent) > _BOOKS:
                                sent.popitem(last=False)
                    pid, hits, lookups = result[1]["preparation"]
                    self._prepared[pid] = (hits, lookups)
                    return result
                except CancelledError:  # withdrawn before the worker took it
                    raise JobCancelled("the request's client went away") from None
                except BrokenProcessPool:
                    if control.cancelled.is_set():
                        raise JobCancelled("the request's client went away") from None
                    self._restart(i, pool)
                    # the task the worker was running when it died is not run again: it may be
                    # what killed it; the tasks queued behind it are
                    if attempt == 2 or self._started[slot]:
                        raise WorkerLost(
                            "the worker process computing this request died (see the server "
                            "log: out of memory?); retry later, or lower n_scenarios or the "
                            "book's size."
                        ) from None
            raise AssertionError("unreachable")
        finally:
            with self._lock:
                self._free.append(slot)
                self._busy[i] -= 1

    def _await(self, pool, control, slot, *task) -> tuple[bytes, dict, float]:
        """Submit ``run_risk(*task)`` (its slot inserted) to ``pool`` and wait for it,
        passing a cancellation on to the worker."""
        ref, market, tenant, book_id, text, digest, request, threads = task
        self._started[slot] = 0
        future = pool.submit(run_risk, ref, market, tenant, book_id, text, digest, request,
                             slot, threads)  # fmt: skip
        self.tasks += 1
        self.texts_sent += text is not None
        while not wait((future,), timeout=0.05).done:
            if control.cancelled.is_set():
                self._flags[slot] = 1
                future.cancel()
                break
        return future.result()

    def _digest(self, text: str) -> bytes:
        """A hash of a book's stored text, computed once per text object the server holds."""
        with self._lock:
            hit = self._digests.get(id(text))
            if hit is not None and hit[0] is text:
                return hit[1]
        digest = hashlib.blake2b(text.encode(), digest_size=16).digest()
        with self._lock:
            self._digests[id(text)] = (text, digest)
            while len(self._digests) > 4 * _BOOKS:
                self._digests.popitem(last=False)
        return digest

    def preparation(self) -> tuple[int, int]:
        """(hits, lookups) of the workers' compiled-book caches (a book's preparation: its
        compiled positions, per book version and market snapshot), over their lifetimes."""
        counts = list(self._prepared.values())
        return sum(h for h, _ in counts), sum(n for _, n in counts)

    def _restart(self, i: int, broken: ProcessPoolExecutor) -> None:
        with self._lock:
            if self._pools[i] is broken:
                log.error("workers: worker process %d died; starting a new one", i)
                self._pools[i] = self._new_pool()
                self._sent[i].clear()
                self.restarts += 1
        broken.shutdown(wait=False, cancel_futures=True)

    def shutdown(self) -> None:
        for pool in self._pools:
            pool.shutdown(wait=True, cancel_futures=True)
        self.history.close()
