"""The job queue: heavy requests run in a worker pool off the event loop, report progress, can
be cancelled between blocks of work, and keep their state in the store.

States: ``queued`` -> ``running`` -> ``succeeded`` | ``failed`` | ``cancelled``.

Store outages and dead servers: a finished job whose final state cannot be saved (the store is
down) is kept in memory, answered from there, and saved by a keeper thread that retries with
backoff until it succeeds or the queue shuts down. The keeper is also the heartbeat: every
``heartbeat`` seconds it touches ``updated_at`` of the jobs this queue holds, and fails the
queued or running jobs of the store whose heartbeat is older than ``lease`` (their server
stopped or lost the store). A server never fails a job whose heartbeat is fresh, so several
servers can share one store.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TypeVar, cast

import orjson

from riskengine.errors import InputError, RiskEngineError
from riskengine.scale.local import LocalExecutor
from riskengine.service.fair import FairPool, Ticket
from riskengine.store.base import StoreError, StoreUnavailable, TickStore, utc_now

log = logging.getLogger("riskengine.jobs")

STATES = ("queued", "running", "succeeded", "failed", "cancelled")
FINISHED = ("succeeded", "failed", "cancelled")


def lease_error(lease: float) -> str:
    """The error of a job failed by the lease (no heartbeat for ``lease`` seconds)."""
    return (
        f"no worker has reported on this job for more than {lease:g} s (the server running it "
        "stopped or lost the store); submit it again."
    )


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


@dataclass
class _Unsaved:
    """A finished job whose final state the store has not taken yet (kept and retried)."""

    kind: str
    state: str
    progress: float
    request_json: str
    result_json: str | None
    error: str | None
    created_at: dt.datetime
    finished_at: dt.datetime
    delay: float  # seconds before the next try; doubles up to the heartbeat
    next_try: float  # time.monotonic() of the next try
    tries: int = 1

    def record(self, tenant: str, job_id: str) -> dict:
        """The job's record as the store will have it once saved."""
        return {
            "id": job_id,
            "tenant": tenant,
            "kind": self.kind,
            "state": self.state,
            "progress": self.progress,
            "request": self.request_json,
            "result": self.result_json,
            "error": self.error,
            "created_at": self.created_at,
            "updated_at": self.finished_at,
        }


def _view(record: dict) -> dict:
    """A job record as ``get`` answers it: no result body, no tenant, the request parsed."""
    out = {k: v for k, v in record.items() if k not in ("result", "tenant")}
    out["request"] = orjson.loads(out["request"]) if out["request"] else None
    return out


class JobQueue:
    """Jobs of every tenant, run by ``workers`` threads; their state lives in ``store``.

    Admission and fairness (``service.fair.FairPool``): a tenant holds at most ``per_tenant``
    jobs queued or running and the queue ``total`` in all (a submission over either is refused
    with ``QueueFull``, before anything is stored); the workers take the tenants' jobs in turn,
    and one tenant runs at most ``workers - 1`` jobs at once (all of them with one worker), so
    another tenant's job starts as soon as it arrives. A queued job that is cancelled is
    cancelled at once.

    A keeper thread keeps the store true when it fails and when servers die (module docstring):
    it retries the final saves the store refused, and every ``heartbeat`` seconds touches the
    jobs this queue holds and fails, store-wide, the queued or running jobs with no heartbeat
    for ``lease`` seconds. Reading a job (``get``, ``result``) fails it at once when its lease
    has run out and this queue does not hold it.

    Args:
        store: where job state, progress and results are kept.
        workers: jobs run at once.
        progress_interval: seconds between progress writes to the store.
        heartbeat: seconds between heartbeats (and sweeps for stale jobs); also the longest wait
            between two tries of a final save.
        lease: seconds without a heartbeat after which any server sharing the store marks a
            queued or running job failed; at least 3 heartbeats, so a slow moment never fails
            a live job. Every server on one store should use the same lease.
        per_tenant: jobs one tenant may have queued or running (default 8).
        total: jobs queued or running in all (default 256).
    """

    def __init__(
        self,
        store: TickStore,
        *,
        workers: int = 1,
        progress_interval: float = 0.2,
        heartbeat: float = 5.0,
        lease: float = 30.0,
        per_tenant: int = 8,
        total: int = 256,
    ):
        if not (heartbeat > 0 and lease >= 3 * heartbeat):
            raise InputError(
                f"job lease {lease:g} s must be at least 3 heartbeats of {heartbeat:g} s (a "
                "positive interval); use e.g. heartbeat=5 and lease=30."
            )
        self.store = store
        self.progress_interval = progress_interval
        self.heartbeat = heartbeat
        self.lease = lease
        self._lease_error = lease_error(lease)
        self._pool = FairPool(
            workers,
            per_tenant=per_tenant,
            total=total,
            running_per_tenant=max(1, workers - 1),
            name="riskengine-job",
            what="jobs",
        )
        self._tickets: dict[tuple[str, str], Ticket] = {}
        self._controls: dict[tuple[str, str], JobControl] = {}
        self._meta: dict[tuple[str, str], tuple[str, str, dt.datetime]] = {}
        self._unsaved: dict[tuple[str, str], _Unsaved] = {}
        self._abandoned: set[tuple[str, str]] = set()
        self._lock = threading.Lock()
        self._closed = False
        self._beat_failing = False
        self._store_down = False  # set by a failed save, cleared by the next heartbeat
        interrupted = self._sweep()
        if interrupted:
            log.warning("jobs: %d job(s) left by a stopped server marked failed", interrupted)
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._keeper = threading.Thread(target=self._keep, name="riskengine-job-keeper")
        self._keeper.daemon = True
        self._keeper.start()

    @property
    def depth(self) -> int:
        """Jobs queued or running."""
        return len(self._controls)

    def submit(
        self, tenant: str, kind: str, request: dict, fn: Callable[[JobControl], dict]
    ) -> dict:
        """Queue ``fn(control)`` (its dict result is stored as JSON); returns the job record.
        ``QueueFull`` (nothing stored) when the tenant's quota or the queue is full."""
        if self._closed:
            raise StoreError("the job queue is shut down; retry when the server is back.")
        job_id = uuid.uuid4().hex
        request_json = orjson.dumps(request).decode()
        last = [0.0]

        def on_progress(fraction: float) -> None:
            now = time.monotonic()
            if now - last[0] >= self.progress_interval:
                last[0] = now
                self._save(tenant, job_id, kind, "running", fraction, request_json)

        control = JobControl(on_progress)
        key = (tenant, job_id)
        stored = threading.Event()  # the worker starts the job once it is stored (or refused)

        def start() -> None:
            stored.wait()
            if key in self._controls:
                self._run(tenant, job_id, kind, request_json, control, fn)

        ticket = self._pool.submit(tenant, start)  # QueueFull: refused before it is stored
        try:
            self.store.save_job(tenant, job_id, kind, "queued", 0.0, request_json)
            # found: it was saved just above (were it not, record["created_at"] raises)
            record = cast(dict, self.store.load_job(tenant, job_id))
            with self._lock:
                self._controls[key] = control
                self._tickets[key] = ticket
                self._meta[key] = (kind, request_json, record["created_at"])
        finally:
            stored.set()
        return _view(record)

    def _save(self, tenant, job_id, kind, state, progress, request_json, result=None, error=None):
        """Save a passing state (running, progress). While the store is known to be down (until
        the next heartbeat goes through) skip it rather than wait for the store's timeout."""
        if self._store_down:
            return
        try:
            self.store.save_job(tenant, job_id, kind, state, progress, request_json, result, error)
        except StoreError as exc:  # the job goes on; its state is written at the next step
            self._store_down = isinstance(exc, StoreUnavailable)
            log.warning("jobs: could not save the state of %s: %s", job_id, exc)

    def _finish(self, tenant, job_id, kind, state, progress, request_json, result=None, error=None):
        """Save a final state; when the store is unreachable, keep it for the keeper to retry."""
        key = (tenant, job_id)
        try:
            self.store.save_job(tenant, job_id, kind, state, progress, request_json, result, error)
            return
        except StoreUnavailable as exc:
            log.warning(
                "jobs: could not save the final state (%s) of %s, kept in memory and retried "
                "until the store takes it: %s",
                state,
                job_id,
                exc,
            )
        except StoreError as exc:
            log.error("jobs: the store refused the final state (%s) of %s: %s", state, job_id, exc)
            return
        meta = self._meta.get(key)
        delay = min(0.25, self.heartbeat)
        unsaved = _Unsaved(
            kind, state, progress, request_json, result, error,
            created_at=meta[2] if meta else utc_now(), finished_at=utc_now(),
            delay=delay, next_try=time.monotonic() + delay,
        )  # fmt: skip
        with self._lock:
            self._unsaved[key] = unsaved
        self._wake.set()

    def _run(self, tenant, job_id, kind, request_json, control: JobControl, fn) -> None:
        key = (tenant, job_id)
        try:
            if control.cancelled.is_set():
                if key not in self._abandoned:
                    self._finish(tenant, job_id, kind, "cancelled", 0.0, request_json)
                return
            self._save(tenant, job_id, kind, "running", 0.0, request_json)
            started = time.perf_counter()
            try:
                result = fn(control)
            except JobCancelled:
                if key in self._abandoned:  # failed by the lease elsewhere: the store says so
                    log.info("jobs: %s (%s) stopped: it was failed by its lease", job_id, kind)
                    return
                self._finish(tenant, job_id, kind, "cancelled", control.progress, request_json)
                log.info("jobs: %s (%s) cancelled at %.0f%%", job_id, kind, 100 * control.progress)
                return
            except RiskEngineError as exc:
                self._finish(
                    tenant, job_id, kind, "failed", control.progress, request_json, error=str(exc)
                )
                return
            except Exception as exc:
                log.exception("jobs: %s (%s) failed", job_id, kind)
                self._finish(
                    tenant,
                    job_id,
                    kind,
                    "failed",
                    control.progress,
                    request_json,
                    error=f"internal error ({type(exc).__name__}); see the server log.",
                )
                return
            self._finish(
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
            self._forget(key)

    def _forget(self, key: tuple[str, str]) -> bool:
        """Drop what this queue holds of the job; False when it held nothing any more."""
        with self._lock:
            self._controls.pop(key, None)
            self._tickets.pop(key, None)
            self._abandoned.discard(key)
            return self._meta.pop(key, None) is not None

    # --- reading --------------------------------------------------------------------------
    def _record(self, tenant: str, job_id: str) -> dict | None:
        """The stored record, with what this queue knows better: the final state of a job the
        store has not taken yet (from memory, without reading the store, so also while it is
        down), the progress of a running job. A queued or running job that this queue does not
        hold and whose heartbeat is older than the lease is failed first."""
        key = (tenant, job_id)
        unsaved = self._unsaved.get(key)
        if unsaved is not None:
            return unsaved.record(tenant, job_id)
        record = self.store.load_job(tenant, job_id)
        if record is None or record["state"] not in ("queued", "running"):
            return record
        control = self._controls.get(key)
        if control is not None:
            record["progress"] = max(record["progress"], control.progress)
            return record
        unsaved = self._unsaved.get(key)  # finished since the first look
        if unsaved is not None:
            return unsaved.record(tenant, job_id)
        stale_before = utc_now() - dt.timedelta(seconds=self.lease)
        if record["updated_at"] < stale_before:
            # conditional: a heartbeat that lands meanwhile keeps the job
            if self.store.interrupt_jobs(self._lease_error, updated_before=stale_before, job=key):
                log.warning("jobs: %s had no heartbeat for %g s; marked failed", job_id, self.lease)
            record = self.store.load_job(tenant, job_id)
        return record

    def get(self, tenant: str, job_id: str) -> dict | None:
        """The job record (without the result body), progress as of now; None when the tenant
        has no such job."""
        record = self._record(tenant, job_id)
        return None if record is None else _view(record)

    def result(self, tenant: str, job_id: str) -> tuple[dict | None, str | None]:
        """(record, result JSON text): the text is None until the job has succeeded."""
        record = self._record(tenant, job_id)
        if record is None:
            return None, None
        return record, record["result"]

    def jobs(self, tenant: str, *, limit: int = 100, before: str | None = None) -> list[dict]:
        """The tenant's jobs, newest first (``store.jobs``: ``limit`` of them, those listed
        after job ``before``), with the final states the store has not taken yet."""
        out = self.store.jobs(tenant, limit=limit, before=before)
        with self._lock:
            unsaved = {job_id: u for (t, job_id), u in self._unsaved.items() if t == tenant}
        for row in out:
            u = unsaved.get(row["id"])
            if u is not None:
                row.update(state=u.state, progress=u.progress, error=u.error,
                           updated_at=u.finished_at)  # fmt: skip
        return out

    def cancel(self, tenant: str, job_id: str) -> dict | None:
        """Cancel a queued job at once; ask a running one to stop (it stops at its next block
        of work); None when unknown."""
        key = (tenant, job_id)
        control = self._controls.get(key)
        if control is not None:
            control.cancelled.set()
            ticket = self._tickets.get(key)
            meta = self._meta.get(key)
            # never started, and not already finished by a shutdown
            if ticket is not None and meta is not None and ticket.cancel() and self._forget(key):
                self._finish(tenant, job_id, meta[0], "cancelled", 0.0, meta[1])
        return self.get(tenant, job_id)

    # --- the keeper: retries, heartbeat, lease ------------------------------------------------
    def _keep(self) -> None:
        next_beat = time.monotonic() + self.heartbeat
        while not self._stop.is_set():
            with self._lock:
                due = min([next_beat, *(u.next_try for u in self._unsaved.values())])
            self._wake.wait(max(0.0, due - time.monotonic()))
            self._wake.clear()
            if self._stop.is_set():
                return
            try:
                self._flush(due_only=True)
                if time.monotonic() >= next_beat:
                    next_beat = time.monotonic() + self.heartbeat
                    self._beat()
            except Exception:  # the keeper must outlive any surprise
                log.exception("jobs: the keeper thread hit an error; it goes on")

    def _flush(self, *, due_only: bool) -> None:
        """Try the final saves that are due (all with ``due_only=False``); back off on failure."""
        now = time.monotonic()
        with self._lock:
            todo = [(k, u) for k, u in self._unsaved.items() if not due_only or u.next_try <= now]
        for i, (key, u) in enumerate(todo):
            try:
                self.store.save_job(*key, u.kind, u.state, u.progress, u.request_json,
                                    u.result_json, u.error)  # fmt: skip
            except StoreUnavailable:
                for _, left in todo[i:]:  # the store is down for all of them
                    left.tries += 1
                    left.delay = min(2 * left.delay, self.heartbeat)
                    left.next_try = time.monotonic() + left.delay
                return
            except StoreError as exc:
                log.error("jobs: the store refused the final state of %s: %s", key[1], exc)
            else:
                log.info("jobs: the final state (%s) of %s saved at try %d, %.1f s late",
                         u.state, key[1], u.tries + 1,
                         (utc_now() - u.finished_at).total_seconds())  # fmt: skip
            with self._lock:
                self._unsaved.pop(key, None)

    def _beat(self) -> None:
        """Touch the jobs this queue holds; stop those the store no longer has as queued or
        running (another server failed them by the lease); then sweep stale jobs."""
        with self._lock:
            running = set(self._controls) - set(self._unsaved)
            held = list(running | set(self._unsaved))
        try:
            live = self.store.touch_jobs(held) if held else set()
            swept = self._sweep()
        except StoreError as exc:
            if not self._beat_failing:
                log.warning("jobs: heartbeat failed (retried every %g s): %s", self.heartbeat, exc)
            self._beat_failing = True
            return
        if self._beat_failing:
            log.info("jobs: heartbeat back")
        self._beat_failing = self._store_down = False
        if swept:
            log.warning("jobs: %d job(s) without heartbeat for %g s failed", swept, self.lease)
        for key in running - live:
            control = self._controls.get(key)
            if control is not None and not control.cancelled.is_set():
                log.warning(
                    "jobs: %s is no longer queued or running in the store (failed by its lease "
                    "while this server could not reach the store, or deleted); stopping it",
                    key[1],
                )
                self._abandoned.add(key)
                control.cancelled.set()

    def _sweep(self) -> int:
        """Fail the store's queued or running jobs whose heartbeat is older than the lease."""
        stale_before = utc_now() - dt.timedelta(seconds=self.lease)
        return self.store.interrupt_jobs(self._lease_error, updated_before=stale_before)

    def shutdown(self) -> None:
        """Cancel every job and wait for the workers to stop; then one last try of the final
        saves the store has not taken (those it still refuses are lost, and the lease fails
        their jobs)."""
        self._closed = True
        for control in list(self._controls.values()):
            control.cancelled.set()
        self._pool.shutdown()
        with self._lock:
            left = list(self._meta.items())
            self._meta.clear()
            self._controls.clear()
        for (tenant, job_id), (kind, request_json, _) in left:
            self._finish(
                tenant,
                job_id,
                kind,
                "cancelled",
                0.0,
                request_json,
                error="the server stopped before the job started.",
            )
        self._stop.set()
        self._wake.set()
        self._keeper.join()
        self._flush(due_only=False)
        with self._lock:
            lost = list(self._unsaved)
            self._unsaved.clear()
        if lost:
            log.error(
                "jobs: the final state of %d job(s) could not be saved (the store is "
                "unreachable): %s; they show failed once their lease (%g s) runs out",
                len(lost),
                ", ".join(job_id for _, job_id in lost),
                self.lease,
            )
