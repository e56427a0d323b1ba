"""Jobs across store outages and dead servers, on real stores: a job that finishes while
PostgreSQL is down reaches the store once it is back (answered from memory meanwhile), and the
heartbeat/lease fails a job no live worker reports on, never one whose heartbeat is fresh."""

from __future__ import annotations

import datetime as dt
import json
import threading
import time

from integration.api_support import api_settings, book_doc, start_api
from riskengine.service.jobs import JobQueue, lease_error
from riskengine.store import dialect


def wait_for(condition, *, timeout: float = 20.0, what: str = "the condition"):
    """Poll ``condition()`` until it is truthy (returns it); fail after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while True:
        out = condition()
        if out:
            return out
        if time.monotonic() > deadline:
            raise AssertionError(f"waited {timeout} s for {what}; last seen: {out!r}")
        time.sleep(0.02)


def stored_state(store, tenant: str, job_id: str) -> str:
    return store.load_job(tenant, job_id)["state"]


def save_job_at(monkeypatch, store, when: dt.datetime, *args) -> None:
    """``store.save_job(*args)`` as if written at ``when`` (a heartbeat that old)."""
    with monkeypatch.context() as m:
        m.setattr(dialect, "utc_now", lambda: when)  # the clock of both backends' shared SQL
        store.save_job(*args)


# --- a store outage while a job finishes ----------------------------------------------------------
def test_a_job_that_finishes_during_a_postgres_outage_is_stored_when_it_is_back(
    pg_server, pg_url, open_test_store
):
    store = open_test_store(pg_url)
    queue = JobQueue(store, progress_interval=0)
    started, release = threading.Event(), threading.Event()

    def job(control):
        control.report(99, 100)
        started.set()
        assert release.wait(30)
        return {"value_at_risk": 1.5}

    job_id = queue.submit("alpha", "risk", {"n_scenarios": 4}, job)["id"]
    try:
        assert started.wait(10)
        wait_for(lambda: store.load_job("alpha", job_id)["progress"] == 0.99, what="progress")
        with pg_server.down():
            release.set()  # the job finishes now: its final save meets the outage
            wait_for(lambda: queue.depth == 0, what="the worker to finish the job")
        assert pg_server.running
        wait_for(
            lambda: stored_state(store, "alpha", job_id) == "succeeded",
            what=f"job {job_id} to be stored as succeeded (it stays running without a retry)",
        )
        record, text = queue.result("alpha", job_id)
        assert record["progress"] == 1.0 and json.loads(text) == {"value_at_risk": 1.5}
    finally:
        release.set()
        queue.shutdown()
        store.close()


def test_the_api_answers_a_finished_job_from_memory_until_the_store_is_back(
    pg_server, pg_url, open_test_store, bundled_history, monkeypatch
):
    store = open_test_store(pg_url)
    store.import_daily(bundled_history)
    server = start_api(store, api_settings(auth=False))
    started, release = threading.Event(), threading.Event()
    real = server.state.risk.risk

    def gated(*args, **kwargs):  # the real computation (store up), then wait for the outage
        out = real(*args, **kwargs)
        started.set()
        assert release.wait(30)
        return out

    monkeypatch.setattr(server.state.risk, "risk", gated)
    c = server.client()
    body = {"portfolio": book_doc(), "method": "montecarlo", "n_scenarios": 2000, "seed": 3}
    try:
        r = c.post("/api/v1/risk", json=body, headers={"Prefer": "respond-async"})
        assert r.status_code == 202, r.text
        job_id = r.json()["id"]
        assert started.wait(60)
        with pg_server.down():
            release.set()
            wait_for(lambda: server.state.jobs.depth == 0, what="the worker to finish the job")
            job = c.get(f"/api/v1/jobs/{job_id}")
            assert job.status_code == 200, job.text
            assert job.json()["state"] == "succeeded" and job.json()["progress"] == 1.0
            during = c.get(f"/api/v1/jobs/{job_id}/result")
            assert during.status_code == 200, during.text
        wait_for(lambda: stored_state(store, "demo", job_id) == "succeeded", what="the save")
        after = c.get(f"/api/v1/jobs/{job_id}/result")
        assert after.status_code == 200 and after.json() == during.json()
        assert after.json()["results"] == c.post("/api/v1/risk", json=body).json()["results"]
    finally:
        release.set()
        server.close()
        store.close()


# --- the heartbeat and the lease ----------------------------------------------------------------
def test_the_store_job_methods_behind_the_heartbeat(store, monkeypatch):
    old = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)
    save_job_at(monkeypatch, store, old, "alpha", "run", "risk", "running", 0.5, "{}")
    save_job_at(monkeypatch, store, old, "alpha", "wait", "risk", "queued", 0.0, "{}")
    save_job_at(monkeypatch, store, old, "beta", "run", "risk", "running", 0.5, "{}")
    save_job_at(monkeypatch, store, old, "alpha", "done", "risk", "succeeded", 1.0, "{}", "{}")
    # the heartbeat touches queued and running jobs only, and says which it touched
    pairs = [("alpha", "run"), ("alpha", "done"), ("alpha", "gone")]
    assert store.touch_jobs(pairs) == {("alpha", "run")}
    assert store.touch_jobs([]) == set()
    assert store.load_job("alpha", "run")["updated_at"] > old
    assert store.load_job("alpha", "done")["updated_at"] == old
    # the sweep fails only the stale ones; with job=, only that one
    cut = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)
    assert store.interrupt_jobs("gone quiet", updated_before=cut, job=("beta", "run")) == 1
    assert store.interrupt_jobs("gone quiet", updated_before=cut) == 1  # alpha/wait
    assert [store.load_job(t, i)["state"] for t, i in [("alpha", "run"), ("alpha", "wait")]] == [
        "running",
        "failed",
    ]
    # a late progress write never brings a finished job back; a final state replaces it
    store.save_job("alpha", "wait", "risk", "running", 0.9, "{}")
    assert store.load_job("alpha", "wait")["error"] == "gone quiet"
    store.save_job("alpha", "wait", "risk", "succeeded", 1.0, "{}", '{"v": 1}')
    assert store.load_job("alpha", "wait")["state"] == "succeeded"


def test_jobs_whose_heartbeat_is_older_than_the_lease_are_marked_failed(
    store_url, open_test_store, monkeypatch
):
    store = open_test_store(store_url)
    old = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)
    save_job_at(monkeypatch, store, old, "alpha", "left-running", "risk", "running", 0.4, "{}")
    save_job_at(monkeypatch, store, old, "alpha", "left-queued", "risk", "queued", 0.0, "{}")
    save_job_at(monkeypatch, store, old, "alpha", "done", "risk", "succeeded", 1.0, "{}", "{}")
    queue = JobQueue(store)  # 5 s heartbeat, 30 s lease: the start sweeps the old ones
    try:
        for job_id in ("left-running", "left-queued"):
            job = queue.get("alpha", job_id)
            assert job["state"] == "failed" and job["error"] == lease_error(30.0)
            assert "no worker has reported on this job for more than 30 s" in job["error"]
            assert "submit it again" in job["error"]
        assert queue.get("alpha", "done")["state"] == "succeeded"
        # left after the start: the next GET finds it stale (no need to wait for a sweep)
        save_job_at(monkeypatch, store, old, "alpha", "later", "risk", "running", 0.7, "{}")
        assert queue.get("alpha", "later")["state"] == "failed"
        # and the periodic sweep finds one nobody reads
        fast = JobQueue(store, heartbeat=0.05, lease=0.3)
        try:
            save_job_at(monkeypatch, store, old, "alpha", "unread", "risk", "running", 0.1, "{}")
            wait_for(lambda: stored_state(store, "alpha", "unread") == "failed", timeout=5)
            assert store.load_job("alpha", "unread")["error"] == lease_error(0.3)
        finally:
            fast.shutdown()
    finally:
        queue.shutdown()
        store.close()


def test_a_job_with_a_fresh_heartbeat_from_another_server_is_not_failed(store_url, open_test_store):
    """Two servers on one store: B starts, sweeps and reads A's job for several leases while
    A's heartbeat keeps it alive (a server that stopped beating: the test above)."""
    a_store, b_store = open_test_store(store_url), open_test_store(store_url)
    a = JobQueue(a_store, heartbeat=0.05, lease=0.4)
    started, release = threading.Event(), threading.Event()

    def job(control):
        started.set()
        assert release.wait(30)
        return {"ok": True}

    job_id = a.submit("alpha", "risk", {}, job)["id"]
    b = None
    try:
        assert started.wait(10)
        b = JobQueue(b_store, heartbeat=0.05, lease=0.4)  # its start sweep leaves A's job
        watch_until = time.monotonic() + 5 * 0.4
        while time.monotonic() < watch_until:  # B's GETs and sweeps see a fresh heartbeat
            assert b.get("alpha", job_id)["state"] == "running"
            time.sleep(0.02)
        release.set()
        wait_for(lambda: b.get("alpha", job_id)["state"] == "succeeded", timeout=10)
        assert json.loads(b.result("alpha", job_id)[1]) == {"ok": True}
    finally:
        release.set()
        a.shutdown()
        if b is not None:
            b.shutdown()
        a_store.close()
        b_store.close()
