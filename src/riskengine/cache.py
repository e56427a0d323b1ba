"""Caches of derived market data: covariance estimates and scenario sets.

Keys include the data version (hash of the history), the snapshot index, the window, the
estimator and every model parameter, so an entry can never be served for other inputs. A
``RiskCache`` is passed explicitly (no process-global state); the API holds one for its life.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any


class LruCache:
    """A small LRU map bounded by entry count and by an approximate byte budget."""

    def __init__(self, max_entries: int = 32, max_bytes: int | None = None):
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self._data: OrderedDict[Hashable, tuple[Any, int]] = OrderedDict()
        self._bytes = 0
        self.hits = 0
        self.misses = 0

    def __len__(self) -> int:
        return len(self._data)

    def get_or_create(
        self, key: Hashable, create: Callable[[], Any], size: Callable[[Any], int] = lambda v: 0
    ) -> Any:
        if key in self._data:
            self._data.move_to_end(key)
            self.hits += 1
            return self._data[key][0]
        self.misses += 1
        value = create()
        nbytes = size(value)
        if self.max_bytes is not None and nbytes > self.max_bytes:
            return value  # too big to keep: callers regenerate it next time
        self._data[key] = (value, nbytes)
        self._bytes += nbytes
        while len(self._data) > self.max_entries or (
            self.max_bytes is not None and self._bytes > self.max_bytes
        ):
            _, (_, old) = self._data.popitem(last=False)
            self._bytes -= old
        return value


class RiskCache:
    """Covariance estimates (by data version, window, estimator, mean) and scenario sets (by
    market snapshot and model parameters), shared by every book computed with it."""

    def __init__(self, max_covariances: int = 16, scenario_bytes: int = 512 * 2**20):
        self.covariances = LruCache(max_covariances)
        self.scenarios = LruCache(64, scenario_bytes)
