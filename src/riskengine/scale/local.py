"""The local executor: independent pieces of work on threads of this machine.

NumPy releases the GIL in its array loops and random generators, so threads run blocks in
parallel. BLAS is limited to one thread meanwhile: OpenBLAS's own threads otherwise spin on the
cores that the workers need (measured: a 10,000-path run took 3x longer with them).
Results come back in the order of the inputs, whatever the number of workers.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from functools import cache
from typing import Protocol, TypeVar

T = TypeVar("T")
R = TypeVar("R")


@cache
def _controller():
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController()


@contextmanager
def single_threaded_blas():
    """Limit BLAS to one thread inside the block (process-wide while it runs)."""
    with _controller().limit(limits=1, user_api="blas"):
        yield


def set_blas_threads(n: int) -> None:
    """Limit BLAS to ``n`` threads for the rest of the process (a server whose requests run
    on parallel threads: each should use one)."""
    _controller().limit(limits=n, user_api="blas")


class Executor(Protocol):
    """What the engine asks of an executor (``LocalExecutor``, ``scale.dask.DaskExecutor``, the
    API's job-controlled one): ``map(fn, items)``, the results in the order of the items."""

    def map(self, fn: Callable[[T], R], items: Iterable[T]) -> list[R]: ...


class LocalExecutor:
    """Map a function over items on up to ``max_workers`` threads (default: the CPU count).

    ``check``, when given, is called before each item: it raises to stop the work (a request
    whose client went away, a cancelled job); the items not started are then not run."""

    def __init__(self, max_workers: int | None = None, *, check: Callable[[], None] | None = None):
        if max_workers is not None and max_workers < 1:
            raise ValueError(f"max_workers must be >= 1; got {max_workers}.")
        self.max_workers = max_workers or os.cpu_count() or 1
        self.check = check

    def with_workers(self, max_workers: int) -> LocalExecutor:
        """The same executor (same ``check``) on ``max_workers`` threads."""
        return LocalExecutor(max_workers, check=self.check)

    def map(self, fn: Callable[[T], R], items: Iterable[T]) -> list[R]:
        """``[fn(x) for x in items]``, computed in parallel, returned in input order."""
        items = list(items)
        check = self.check
        if check is not None:
            inner = fn

            def fn(x: T) -> R:
                check()
                return inner(x)

        with single_threaded_blas():
            if self.max_workers == 1 or len(items) <= 1:
                return [fn(x) for x in items]
            with ThreadPoolExecutor(min(self.max_workers, len(items))) as pool:
                return list(pool.map(fn, items))

    def __repr__(self) -> str:
        return f"LocalExecutor(max_workers={self.max_workers})"
