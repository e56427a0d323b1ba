"""TimescaleDB's background jobs behind riskengine's store: their health, and running them from
a session when the scheduler cannot.

The store's TimescaleDB set-up adds two jobs: the compression policy on ``ticks`` and the
refresh policy of the continuous aggregate ``bars_1m`` (an older set-up also had ``bars_1d``).
TimescaleDB's scheduler runs them in background workers. On some PostgreSQL releases (15.20,
17.12) every background job fails (``cannot drop portal "" while it is being set up``): the work
is committed, the run recorded as failed, and the scheduler retries ever more rarely, so the
1-minute bars are materialised every ~5 minutes and compression every ~60 hours. ``CALL
run_job(id)`` from an ordinary session works there. A job can also be switched off
(``alter_job(..., scheduled => false)``) or fail for its own reasons.

``job_health`` reads each job's state (``timescaledb_information.jobs``, ``job_stats``,
``job_errors``) and says what is wrong; ``run_late_jobs`` runs, with ``CALL run_job``, the
failing or unscheduled jobs whose last success is older than their schedule interval. The store
calls both from a keeper thread (``PostgresStore.keep_background_jobs``) in the long-running
commands (``serve``, ``ingest``, ``demo``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace

import psycopg

#: what the keeper does: "run" the late jobs itself (and report), "report" only, or nothing
MODES = ("run", "report", "off")
#: a job whose last success is older than this many schedule intervals is late
LATE_AFTER_INTERVALS = 3

_JOBS = """
SELECT j.job_id, j.proc_name, j.hypertable_name, j.scheduled, j.schedule_interval,
       s.last_run_status,
       -- '-infinity' until a first success (Python has no such datetime): NULL
       CASE WHEN isfinite(s.last_successful_finish) THEN s.last_successful_finish END,
       s.total_failures,
       CASE WHEN isfinite(s.next_start) THEN s.next_start END
FROM timescaledb_information.jobs j
LEFT JOIN timescaledb_information.job_stats s ON s.job_id = j.job_id
WHERE j.proc_name IN ('policy_compression', 'policy_refresh_continuous_aggregate')
  AND j.hypertable_schema = current_schema()
  AND j.hypertable_name IN ('ticks', 'bars_1m', 'bars_1d')
ORDER BY j.job_id
"""

_LAST_ERRORS = """
SELECT DISTINCT ON (job_id) job_id, err_message FROM timescaledb_information.job_errors
WHERE job_id = ANY(%s) ORDER BY job_id, finish_time DESC NULLS LAST
"""


@dataclass(frozen=True)
class BackgroundJob:
    """One of riskengine's TimescaleDB jobs and what is wrong with it (``problems`` empty when
    it is healthy).

    Attributes:
        job_id: TimescaleDB's id (``CALL run_job(job_id)`` runs it).
        name: ``compression of ticks``, ``refresh of bars_1m`` ...
        scheduled: False when switched off (``alter_job(..., scheduled => false)``).
        schedule_interval: how often the scheduler should run it.
        last_run_status: ``Success``, ``Failed``, or None before the first run.
        last_success: when a run last succeeded (the scheduler's, or this process's run_job).
        failures: failed runs recorded by TimescaleDB.
        last_error: the message of the last recorded failure.
        problems: sentences saying what is wrong.
    """

    job_id: int
    name: str
    scheduled: bool
    schedule_interval: dt.timedelta
    last_run_status: str | None
    last_success: dt.datetime | None
    failures: int
    last_error: str | None
    problems: tuple[str, ...] = ()

    def describe(self) -> str:
        state = "; ".join(self.problems) if self.problems else "healthy"
        return f"TimescaleDB job {self.job_id} ({self.name}): {state}"

    def to_dict(self) -> dict:
        return {
            "job_id": self.job_id,
            "name": self.name,
            "scheduled": self.scheduled,
            "schedule_interval_seconds": self.schedule_interval.total_seconds(),
            "last_run_status": self.last_run_status,
            "last_success": self.last_success.isoformat() if self.last_success else None,
            "failures": self.failures,
            "last_error": self.last_error,
            "problems": list(self.problems),
        }


def job_health(
    conn: psycopg.Connection,
    now: dt.datetime,
    ran_here: dict[int, dt.datetime] | None = None,
) -> list[BackgroundJob]:
    """riskengine's TimescaleDB jobs with their problems as of ``now``; ``ran_here``: job id ->
    when this process last ran it successfully with run_job (TimescaleDB's statistics record
    only the scheduler's runs)."""
    ran_here = ran_here or {}
    rows = conn.execute(_JOBS).fetchall()
    errors: dict[int, str] = (
        dict(conn.execute(_LAST_ERRORS, ([r[0] for r in rows],)).fetchall()) if rows else {}
    )
    out = []
    for job_id, proc, target, scheduled, every, status, success, failures, next_start in rows:
        name = ("compression of " if proc == "policy_compression" else "refresh of ") + target
        here = ran_here.get(job_id)
        last = max((t for t in (success, here) if t is not None), default=None)
        problems = []
        if not scheduled:
            problems.append("not scheduled (switched off: the TimescaleDB scheduler never runs it)")
        if status == "Failed":
            why = errors.get(job_id)
            problems.append(
                f"its last scheduled run failed ({failures} failed run(s) recorded"
                + (f"; last error: {why}" if why else "")
                + ")"
            )
        late = every * LATE_AFTER_INTERVALS
        if last is not None and now - last > late:
            problems.append(
                f"no successful run for {_span(now - last)} (it should run every {_span(every)})"
            )
        elif last is None and next_start is not None and now - next_start > late:
            problems.append(
                f"never run successfully, {_span(now - next_start)} past its first start"
            )
        out.append(
            BackgroundJob(
                job_id,
                name,
                bool(scheduled),
                every,
                status,
                last,
                int(failures or 0),
                errors.get(job_id),
                tuple(problems),
            )  # fmt: skip
        )
    return out


def run_late_jobs(
    conn: psycopg.Connection,
    jobs: list[BackgroundJob],
    now: dt.datetime,
    tried_here: dict[int, dt.datetime] | None = None,
) -> list[tuple[BackgroundJob, str | None]]:
    """Run, with ``CALL run_job`` (``conn`` in autocommit), each job that has a problem and
    neither succeeded nor was tried here (``tried_here``: job id -> time) for at least its
    schedule interval. Returns (job, error or None) per job run."""
    tried_here = tried_here or {}
    done: list[tuple[BackgroundJob, str | None]] = []
    for job in jobs:
        if not job.problems:
            continue
        recent = [t for t in (job.last_success, tried_here.get(job.job_id)) if t is not None]
        if recent and now - max(recent) < job.schedule_interval:
            continue
        try:
            conn.execute("CALL run_job(%s)", (job.job_id,))
        except psycopg.Error as exc:
            done.append((job, str(exc).strip().splitlines()[0]))
        else:
            done.append((replace(job, last_success=now), None))
    return done


def _span(d: dt.timedelta) -> str:
    s = d.total_seconds()
    if s < 120:
        return f"{s:.0f} s"
    if s < 7200:
        return f"{s / 60:.0f} min"
    if s < 172_800:
        return f"{s / 3600:.1f} h"
    return f"{s / 86400:.1f} days"
