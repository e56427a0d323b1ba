"""Jobs (202, progress, cancellation, the cost rule, restart) and tenancy (API keys, every
resource invisible to other tenants), on a real server; tenancy on both store backends."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from integration.api_support import api_settings, assert_problem, book_doc, start_api
from riskengine.service.jobs import lease_error

ROOT = Path(__file__).resolve().parents[2]


def wait_job(client, job_id: str, *, until=("succeeded", "failed", "cancelled"), timeout=120.0):
    seen = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = client.get(f"/api/v1/jobs/{job_id}").json()
        seen.append(job["progress"])
        if job["state"] in until:
            return job, seen
        time.sleep(0.05)
    raise AssertionError(f"job {job_id} still {job['state']} after {timeout} s")


@pytest.fixture(scope="module")
def book_id(api):
    return api.client().post("/api/v1/portfolios", json=book_doc(name="jobs")).json()["id"]


def test_prefer_respond_async_runs_a_job_with_progress_and_the_same_numbers(api, book_id):
    c = api.client()
    body = {"portfolio_id": book_id, "method": "montecarlo", "n_scenarios": 50_000, "seed": 5}
    r = c.post("/api/v1/risk", json=body, headers={"Prefer": "respond-async"})
    assert r.status_code == 202, r.text
    job = r.json()
    assert r.headers["location"] == f"/api/v1/jobs/{job['id']}" == job["links"]["self"]
    assert job["kind"] == "risk" and job["state"] in ("queued", "running", "succeeded")
    done, progress = wait_job(c, job["id"])
    assert done["state"] == "succeeded" and done["progress"] == 1.0
    assert progress == sorted(progress) and all(0 <= p <= 1 for p in progress)
    result = c.get(done["links"]["result"]).json()
    sync = c.post("/api/v1/risk", json=body).json()
    assert result["results"] == sync["results"]
    assert job["id"] in [j["id"] for j in c.get("/api/v1/jobs").json()]


def test_the_cost_rule_sends_heavy_requests_to_the_queue(api, book_id):
    c = api.client()
    threshold = api.state.settings.async_cost  # 2,000,000 in the test settings
    n_positions = len(book_doc()["positions"])
    light = {"portfolio_id": book_id, "method": "montecarlo", "seed": 1,
             "n_scenarios": threshold // n_positions}  # fmt: skip
    assert c.post("/api/v1/risk", json=light).status_code == 200
    heavy = light | {"n_scenarios": threshold // n_positions + 100}
    r = c.post("/api/v1/risk", json=heavy)
    assert r.status_code == 202
    wait_job(c, r.json()["id"])
    long_backtest = {"portfolio_id": book_id, "start": "2022-01-03"}  # ~250 days > 60
    r = c.post("/api/v1/backtest", json=long_backtest)
    assert r.status_code == 202 and r.json()["kind"] == "backtest"
    done, progress = wait_job(c, r.json()["id"])
    assert done["state"] == "succeeded", done
    assert progress == sorted(progress) and progress[-1] == 1.0
    result = c.get(done["links"]["result"]).json()
    assert result["kind"] == "backtest" and result["n_days"] > 200


def test_a_running_job_can_be_cancelled(api, book_id):
    c = api.client()
    body = {"portfolio_id": book_id, "method": "montecarlo", "n_scenarios": 10_000_000,
            "seed": 2, "contributions": "none"}  # fmt: skip
    job = c.post("/api/v1/risk", json=body, headers={"Prefer": "respond-async"}).json()
    running, _ = wait_job(c, job["id"], until=("running",))
    deadline = time.monotonic() + 60
    while c.get(f"/api/v1/jobs/{job['id']}").json()["progress"] == 0:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    r = c.delete(f"/api/v1/jobs/{job['id']}")
    assert r.status_code == 202
    t0 = time.monotonic()
    done, _ = wait_job(c, job["id"])
    assert done["state"] == "cancelled"
    assert time.monotonic() - t0 < 10  # stopped at a block boundary, not at the end
    assert 0 < done["progress"] < 1
    assert_problem(c.get(f"/api/v1/jobs/{job['id']}/result"), 409, "job-not-done", "cancelled")


def test_a_failed_job_says_why(api):
    c = api.client()
    body = {"portfolio": book_doc(), "window": 9000}
    job = c.post("/api/v1/risk", json=body, headers={"Prefer": "respond-async"}).json()
    done, _ = wait_job(c, job["id"])
    assert done["state"] == "failed" and "9000" in done["error"]
    assert_problem(c.get(f"/api/v1/jobs/{job['id']}/result"), 409, "job-not-done", "9000")


def test_jobs_left_by_a_stopped_server_are_marked_failed(tmp_path, bundled_history, monkeypatch):
    import datetime as dt

    from riskengine.store import dialect, open_store

    store = open_store(f"sqlite:///{tmp_path / 'jobs.sqlite3'}")
    last_heartbeat = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=2)  # past the 30 s lease
    with monkeypatch.context() as m:
        m.setattr(dialect, "utc_now", lambda: last_heartbeat)
        store.save_job("alpha", "0e0e0e", "risk", "running", 0.4, "{}")
    server = start_api(store)
    try:
        job = server.client().get("/api/v1/jobs/0e0e0e").json()
        assert job["state"] == "failed" and job["error"] == lease_error(30.0)
    finally:
        server.close()
        store.close()


# --- tenancy --------------------------------------------------------------------------------------
@pytest.fixture
def tenancy_api(store_url, bundled_history, open_test_store):
    store = open_test_store(store_url)
    store.import_daily(bundled_history)
    server = start_api(store, api_settings())
    yield server
    server.close()
    store.close()


def test_every_resource_is_invisible_to_other_tenants(tenancy_api):
    a, b = tenancy_api.client("alpha"), tenancy_api.client("beta")
    pid = a.post("/api/v1/portfolios", json=book_doc(name="alpha-book")).json()["id"]
    a.post("/api/v1/risk", json={"portfolio_id": pid, "method": "parametric"})
    job = a.post("/api/v1/risk", json={"portfolio_id": pid, "method": "parametric"},
                 headers={"Prefer": "respond-async"}).json()  # fmt: skip
    wait_job(a, job["id"])
    assert a.get("/api/v1/portfolios").json() == [{"id": pid, "name": "alpha-book"}]
    assert b.get("/api/v1/portfolios").json() == []
    for r in (
        b.get(f"/api/v1/portfolios/{pid}"),
        b.put(f"/api/v1/portfolios/{pid}", json=book_doc()),
        b.delete(f"/api/v1/portfolios/{pid}"),
        b.get(f"/api/v1/portfolios/{pid}/reports"),
        b.post("/api/v1/risk", json={"portfolio_id": pid}),
        b.post("/api/v1/stress", json={"portfolio_id": pid}),
        b.get(f"/api/v1/jobs/{job['id']}"),
        b.get(f"/api/v1/jobs/{job['id']}/result"),
        b.delete(f"/api/v1/jobs/{job['id']}"),
    ):
        assert_problem(r, 404, "not-found")
    assert b.get("/api/v1/jobs").json() == []
    # alpha still has everything
    assert a.get(f"/api/v1/portfolios/{pid}").status_code == 200
    assert len(a.get(f"/api/v1/portfolios/{pid}/reports").json()) == 2
    assert a.get(f"/api/v1/jobs/{job['id']}/result").status_code == 200


def test_requests_without_a_valid_key_are_refused(tenancy_api):
    from riskengine.service.keys import create_key

    anon = tenancy_api.anonymous
    for r in (anon.get("/api/v1/portfolios"), anon.post("/api/v1/risk", json={})):
        body = assert_problem(r, 401, "unauthorized", "X-API-Key", "riskengine keys create")
        assert r.headers["www-authenticate"] == "Bearer"
        assert body["title"] == "API key required"
    r = anon.get("/api/v1/portfolios", headers={"X-API-Key": "rk_000000000000_" + "x" * 43})
    assert_problem(r, 401, "unauthorized", "unknown or revoked")
    store = tenancy_api.state.store
    key = create_key(store, "gamma")
    bearer = {"Authorization": f"Bearer {key.key}"}
    assert anon.get("/api/v1/portfolios", headers=bearer).status_code == 200
    assert store.revoke_api_key(key.key_id)
    assert_problem(anon.get("/api/v1/portfolios", headers=bearer), 401, "unauthorized")
    # keys are stored hashed, never in clear
    stored = store.api_keys(key_id=key.key_id)[0]
    assert key.key.split("_", 2)[2] not in json.dumps(stored, default=str)
    assert anon.get("/healthz").status_code == 200  # health checks need no key
