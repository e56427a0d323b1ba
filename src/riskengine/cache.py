"""Caches of derived market data: covariance estimates and scenario sets.

Keys include the data version (hash of the history), the snapshot index, the window, the
estimator and every model parameter, so an entry can never be served for other inputs. A
``RiskCache`` is passed explicitly (no process-global state); the API holds one for its life.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any


class _Build:
    """A value being built for a key: the requests that want it wait on ``done``."""

    __slots__ = ("done", "value", "error", "waiters")

    def __init__(self) -> None:
        self.done = threading.Event()
        self.value: Any = None
        self.error: BaseException | None = None
        self.waiters = 0


class LruCache:
    """A small LRU map bounded by entry count and by an approximate byte budget, safe to share
    between threads: one thread builds a missing value while the others asking for the same
    key wait for it (a failed build is raised to them too and not kept)."""

    def __init__(self, max_entries: int = 32, max_bytes: int | None = None):
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self._data: OrderedDict[Hashable, tuple[Any, int]] = OrderedDict()
        self._building: dict[Hashable, _Build] = {}
        self._lock = threading.Lock()
        self._bytes = 0
        self.hits = 0
        self.misses = 0

    def __len__(self) -> int:
        return len(self._data)

    @property
    def nbytes(self) -> int:
        """The approximate bytes held (the sizes given at insertion)."""
        return self._bytes

    def waiting(self, key: Hashable) -> int:
        """Requests waiting for ``key``'s value to be built (0 when none is being built)."""
        with self._lock:
            build = self._building.get(key)
            return build.waiters if build is not None else 0

    def get_or_create(
        self, key: Hashable, create: Callable[[], Any], size: Callable[[Any], int] = lambda v: 0
    ) -> Any:
        """The value for ``key``: cached, being built by another thread (waits for it), or
        built here by ``create()`` and kept when ``size(value)`` fits the byte budget."""
        with self._lock:
            entry = self._data.get(key)
            if entry is not None:
                self._data.move_to_end(key)
                self.hits += 1
                return entry[0]
            build = self._building.get(key)
            owner = build is None
            if build is None:  # i.e. owner; testing build itself lets mypy narrow it
                build = self._building[key] = _Build()
                self.misses += 1
            else:
                build.waiters += 1
                self.hits += 1
        if not owner:
            build.done.wait()
            if build.error is not None:
                raise build.error
            return build.value
        try:
            value = create()
            nbytes = size(value)
        except BaseException as exc:
            build.error = exc
            with self._lock:
                del self._building[key]
            build.done.set()
            raise
        with self._lock:
            del self._building[key]
            if self.max_bytes is None or nbytes <= self.max_bytes:  # else too big to keep
                self._data[key] = (value, nbytes)
                self._bytes += nbytes
                while len(self._data) > self.max_entries or (
                    self.max_bytes is not None and self._bytes > self.max_bytes
                ):
                    _, (_, old) = self._data.popitem(last=False)
                    self._bytes -= old
        build.value = value
        build.done.set()
        return value


class RiskCache:
    """Covariance estimates (by data version, window, estimator, mean), scenario sets (by
    market snapshot and model parameters), shared by every book computed with it, and compiled
    books (by the book's positions, the market snapshot, the horizon and the base currency), so
    that a book recomputed on the same snapshot is not compiled again, and their exposures; a
    book's layout (what compiling it reads besides the prices) is kept per book version, so
    that a new snapshot costs arrays only."""

    def __init__(
        self, max_covariances: int = 16, scenario_bytes: int = 512 * 2**20, max_books: int = 8
    ):
        self.covariances = LruCache(max_covariances)
        self.scenarios = LruCache(64, scenario_bytes)
        self.books = LruCache(max_books)
        # what compiling a book reads besides the prices, per book version and universe
        self.layouts = LruCache(max_books)
        # Monte Carlo option grids, by compiled book and model range (a new seed reuses them)
        self.grids = LruCache(2 * max_books)
        # the compiled books' exposures (frozen values: delta, gamma, vega by factor and tag)
        self.exposures = LruCache(max_books)
