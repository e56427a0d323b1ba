"""The Dask executor: whole blocks of work on a Dask distributed cluster.

``DaskExecutor("tcp://scheduler:8786").map(fn, items)`` returns ``[fn(x) for x in items]`` in
the order of ``items``, like ``LocalExecutor``. The function (and what it holds: the model, the
compiled book, the option grid) is sent to every worker once per call, then each task carries
only its item (a block index); workers return only their result (a block's P&L totals). Blocks
draw from their own seeded streams, so the merged result is bit-identical whatever the number
of workers or where each block ran.

A worker that dies takes its tasks with it; the scheduler gives them to the others (each task is
a pure function of its block). A task that keeps killing workers fails the call with a
``ClusterError`` naming the block: never a partial or wrong number.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from typing import TypeVar

from riskengine.errors import RiskEngineError

log = logging.getLogger("riskengine.scale")

T = TypeVar("T")
R = TypeVar("R")

INSTALL_HINT = "DaskExecutor needs dask: pip install 'riskengine[dask]'"


class ClusterError(RiskEngineError):
    """The Dask cluster could not run the work (unreachable, or workers dying)."""


def _apply(fn, item):
    from riskengine.scale.local import single_threaded_blas

    with single_threaded_blas():  # one task per worker thread: BLAS threads would fight them
        return fn(item)


def _lost() -> tuple[type[BaseException], ...]:
    """The errors of a task the cluster lost (not raised by the work itself)."""
    import asyncio
    import concurrent.futures

    from distributed.client import FutureCancelledError

    return (FutureCancelledError, asyncio.CancelledError, concurrent.futures.CancelledError)


def _import_distributed():
    try:
        import distributed
    except ImportError:
        raise ImportError(INSTALL_HINT) from None
    return distributed


class DaskExecutor:
    """Map functions over items on a Dask cluster.

    Args:
        scheduler: the scheduler's address (``tcp://host:8786``), or a ``distributed.Client``
            to use (the caller keeps closing it), or a ``LocalCluster``.
        timeout: seconds to wait for the scheduler when connecting.
    """

    def __init__(self, scheduler, *, timeout: float = 10.0):
        distributed = _import_distributed()
        self._own = False
        if isinstance(scheduler, distributed.Client):
            self.client = scheduler
        else:
            try:
                self.client = distributed.Client(scheduler, timeout=timeout, set_as_default=False)
            except (OSError, TimeoutError) as exc:
                raise ClusterError(
                    f"cannot reach the Dask scheduler at {scheduler!r} ({exc}); start one with "
                    "`dask scheduler` and workers with `dask worker ADDRESS`, or unset "
                    "RISKENGINE_DASK_SCHEDULER / --scheduler to compute on this machine."
                ) from None
            self._own = True
        self._lock = threading.Lock()

    @property
    def address(self) -> str:
        return self.client.scheduler.address

    @property
    def n_workers(self) -> int:
        return len(self.client.scheduler_info(n_workers=-1).get("workers", {}))

    def map(self, fn: Callable[[T], R], items: Iterable[T], *, control=None) -> list[R]:
        """``[fn(x) for x in items]`` on the cluster, in input order.

        ``control`` (a ``riskengine.service.jobs.JobControl``) is checked and given progress as
        tasks finish; when it is cancelled the remaining tasks are cancelled on the cluster.
        """
        distributed = _import_distributed()
        items = list(items)
        if not items:
            return []
        client = self.client
        [remote_fn] = client.scatter([fn], broadcast=True, hash=False)
        futures = client.map(_apply, [remote_fn] * len(items), items, pure=False)
        position = {f.key: i for i, f in enumerate(futures)}
        results: list = [None] * len(items)
        done = 0
        try:
            for future in distributed.as_completed(futures, loop=client.loop):
                if control is not None:
                    control.check()
                i = position[future.key]
                try:
                    results[i] = future.result()
                except (distributed.KilledWorker, *_lost()) as exc:
                    raise ClusterError(
                        f"Dask workers kept dying or lost the work while running item {i} of "
                        f"{len(items)} ({type(exc).__name__}: {exc}); no result was formed "
                        "from part of the work. Check the workers' memory (--memory-limit) "
                        "and logs, then run it again."
                    ) from None
                done += 1
                if control is not None:
                    control.report(done, len(items))
        except BaseException:
            client.cancel(futures)
            raise
        finally:
            client.cancel([remote_fn])
        return results

    def close(self) -> None:
        if self._own:
            self.client.close()

    def __enter__(self) -> DaskExecutor:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"DaskExecutor({self.address!r})"


_SHARED: dict[str, DaskExecutor] = {}
_SHARED_LOCK = threading.Lock()


def dask_executor(address: str) -> DaskExecutor:
    """One executor (one client connection) per scheduler address for the process."""
    with _SHARED_LOCK:
        ex = _SHARED.get(address)
        if ex is None:
            ex = _SHARED[address] = DaskExecutor(address)
        return ex
