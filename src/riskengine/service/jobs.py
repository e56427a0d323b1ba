"""The job queue: heavy requests run in a worker pool off the event loop, report progress, can
be cancelled between blocks of work, and keep their state in the store.

States: ``queued`` -> ``running`` -> ``succeeded`` | ``failed`` | ``cancelled``. A job that was
queued or running when the server stopped is marked failed at the next start.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import orjson

from riskengine.errors import RiskEngineError
from riskengine.scale.local import LocalExecutor
from riskengine.store.base import StoreError, TickStore

log = logging.getLogger("riskengine.jobs")

STATES = ("queued", "running", "succeeded", "failed", "cancelled")
FINISHED = ("succeeded", "failed", "cancelled")
RESTART_ERROR = "the server stopped while the job was queued or running; submit it again."

T = TypeVar("T")
R = TypeVar("R")


class JobCancelled(RiskEngineError):
    """The job was cancelled by its owner (raised between blocks of work)."""


class JobControl:
    """What a running job sees: ``report(done, total)`` for progress, ``check()`` to stop
    when cancelled. Progress never goes down (a job with several stages of blocks keeps the
    furthest fraction)."""

    def __init__(self, on_progress: Callable[[float], None] | None = None):
        self.cancelled = threading.Event()
        self.progress = 0.0
        self._on_progress = on_progress

    def check(self) -> None:
        if self.cancelled.is_set():
            raise JobCancelled("the job was cancelled")

    def report(self, done: int, total: int) -> None:
        self.check()
        fraction = min(1.0, done / total) if total > 0 else 0.0
        if fraction > self.progress:
            self.progress = fraction
            if self._on_progress is not None:
                self._on_progress(fraction)


class ControlledExecutor:
    """Runs ``inner``'s map (a LocalExecutor by default, or a DaskExecutor) with the job's
    control: cancellation is checked before each item (locally) or as tasks finish (on a
    cluster), and the items done are reported as progress. The results are ``inner``'s (same
    order, same numbers)."""

    def __init__(self, control: JobControl, inner=None, *, max_workers: int | None = None):
        self.control = control
        self.inner = inner if inner is not None else LocalExecutor(max_workers)
        self.max_workers = getattr(self.inner, "max_workers", None)

    def map(self, fn: Callable[[T], R], items: Iterable[T]) -> list[R]:
        items = list(items)
        control = self.control
        if not isinstance(self.inner, LocalExecutor):  # a cluster: the control stays here
            return self.inner.map(fn, items, control=control)
        total = len(items)
        done = 0
        lock = threading.Lock()

        def step(x):
            nonlocal done
            control.check()
            out = fn(x)
            with lock:
                done += 1
                n = done
            control.report(n, total)
            return out

        return self.inner.map(step, items)


class JobQueue:
    """Jobs of every tenant, run by ``workers`` threads; their state lives in ``store``.

    Args:
        store: where job state, progress and results are kept.
        workers: jobs run at once.
        progress_interval: seconds between progress writes to the store.
    """

    def __init__(self, store: TickStore, *, workers: int = 1, progress_interval: float = 0.2):
        self.store = store
        self.progress_interval = progress_interval
        self._pool = ThreadPoolExecutor(workers, thread_name_prefix="riskengine-job")
        self._controls: dict[tuple[str, str], JobControl] = {}
        self._meta: dict[tuple[str, str], tuple[str, str]] = {}
        self._lock = threading.Lock()
        self._closed = False
        interrupted = store.interrupt_jobs(RESTART_ERROR)
        if interrupted:
            log.warning("jobs: %d job(s) left by a previous server marked failed", interrupted)

    @property
    def depth(self) -> int:
        """Jobs queued or running."""
        return len(self._controls)

    def submit(
        self, tenant: str, kind: str, request: dict, fn: Callable[[JobControl], dict]
    ) -> dict:
        """Queue ``fn(control)`` (its dict result is stored as JSON); returns the job record."""
        if self._closed:
            raise StoreError("the job queue is shut down; retry when the server is back.")
        job_id = uuid.uuid4().hex
        request_json = orjson.dumps(request).decode()
        self.store.save_job(tenant, job_id, kind, "queued", 0.0, request_json)
        last = [0.0]

        def on_progress(fraction: float) -> None:
            now = time.monotonic()
            if now - last[0] >= self.progress_interval:
                last[0] = now
                self._save(tenant, job_id, kind, "running", fraction, request_json)

        control = JobControl(on_progress)
        with self._lock:
            self._controls[(tenant, job_id)] = control
            self._meta[(tenant, job_id)] = (kind, request_json)
        self._pool.submit(self._run, tenant, job_id, kind, request_json, control, fn)
        return self.get(tenant, job_id)

    def _save(self, tenant, job_id, kind, state, progress, request_json, result=None, error=None):
        try:
            self.store.save_job(tenant, job_id, kind, state, progress, request_json, result, error)
        except StoreError as exc:  # the job goes on; its state is written at the next step
            log.warning("jobs: could not save the state of %s: %s", job_id, exc)

    def _run(self, tenant, job_id, kind, request_json, control: JobControl, fn) -> None:
        try:
            if control.cancelled.is_set():
                self._save(tenant, job_id, kind, "cancelled", 0.0, request_json)
                return
            self._save(tenant, job_id, kind, "running", 0.0, request_json)
            started = time.perf_counter()
            try:
                result = fn(control)
            except JobCancelled:
                self._save(tenant, job_id, kind, "cancelled", control.progress, request_json)
                log.info("jobs: %s (%s) cancelled at %.0f%%", job_id, kind, 100 * control.progress)
                return
            except RiskEngineError as exc:
                self._save(
                    tenant, job_id, kind, "failed", control.progress, request_json, error=str(exc)
                )
                return
            except Exception as exc:
                log.exception("jobs: %s (%s) failed", job_id, kind)
                self._save(
                    tenant,
                    job_id,
                    kind,
                    "failed",
                    control.progress,
                    request_json,
                    error=f"internal error ({type(exc).__name__}); see the server log.",
                )
                return
            self._save(
                tenant,
                job_id,
                kind,
                "succeeded",
                1.0,
                request_json,
                result=orjson.dumps(result, option=orjson.OPT_SERIALIZE_NUMPY).decode(),
            )
            log.info("jobs: %s (%s) done in %.2f s", job_id, kind, time.perf_counter() - started)
        finally:
            with self._lock:
                self._controls.pop((tenant, job_id), None)
                self._meta.pop((tenant, job_id), None)

    def get(self, tenant: str, job_id: str) -> dict | None:
        """The job record (without the result body), progress as of now; None when the tenant
        has no such job."""
        record = self.store.load_job(tenant, job_id)
        if record is None:
            return None
        control = self._controls.get((tenant, job_id))
        if control is not None and record["state"] in ("queued", "running"):
            record["progress"] = max(record["progress"], control.progress)
        record.pop("result", None)
        record.pop("tenant", None)
        record["request"] = orjson.loads(record["request"]) if record["request"] else None
        return record

    def result(self, tenant: str, job_id: str) -> tuple[dict | None, str | None]:
        """(record, result JSON text): the text is None until the job has succeeded."""
        record = self.store.load_job(tenant, job_id)
        if record is None:
            return None, None
        return record, record["result"]

    def cancel(self, tenant: str, job_id: str) -> dict | None:
        """Ask the job to stop (it stops at its next block of work); None when unknown."""
        control = self._controls.get((tenant, job_id))
        if control is not None:
            control.cancelled.set()
        return self.get(tenant, job_id)

    def shutdown(self) -> None:
        """Cancel every job and wait for the workers to stop."""
        self._closed = True
        for control in list(self._controls.values()):
            control.cancelled.set()
        self._pool.shutdown(wait=True, cancel_futures=True)
        with self._lock:
            left = list(self._meta.items())
            self._meta.clear()
            self._controls.clear()
        for (tenant, job_id), (kind, request_json) in left:
            self._save(
                tenant,
                job_id,
                kind,
                "cancelled",
                0.0,
                request_json,
                error="the server stopped before the job started.",
            )
