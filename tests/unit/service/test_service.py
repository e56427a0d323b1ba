"""The framework-free service layer: settings, limits, keys, the job queue and its executor,
market snapshots of closed bars."""

from __future__ import annotations

import datetime as dt
import threading
import time

import numpy as np
import pytest

from riskengine.errors import InputError, InsufficientHistoryError
from riskengine.scale.local import LocalExecutor
from riskengine.service.jobs import ControlledExecutor, JobCancelled, JobControl, JobQueue
from riskengine.service.keys import KeyChecker, check_tenant, create_key
from riskengine.service.limits import check_limits, utilisation
from riskengine.service.market import closed_before
from riskengine.service.settings import Settings
from riskengine.store import open_store
from riskengine.store.base import StoreUnavailable
from support import history_from_returns


@pytest.fixture
def store():
    s = open_store("sqlite://:memory:")
    yield s
    s.close()


# --- settings ---------------------------------------------------------------------------------
def test_settings_from_environment_variables():
    env = {"RISKENGINE_PORT": "9001", "RISKENGINE_AUTH": "false",
           "RISKENGINE_CORS_ORIGINS": "http://a, http://b", "RISKENGINE_ASYNC_COST": "1_000",
           "RISKENGINE_LIVE_DEBOUNCE": "0.5", "UNRELATED": "x"}  # fmt: skip
    s = Settings.from_env(env)
    assert (s.port, s.auth, s.cors_origins, s.async_cost) == (
        9001,
        False,
        ("http://a", "http://b"),
        1000,
    )
    assert s.live_debounce == 0.5 and s.host == "127.0.0.1"
    assert Settings.from_env(env, port=1).port == 1  # explicit overrides win


@pytest.mark.parametrize(
    "env, words",
    [
        ({"RISKENGINE_PORT": "eighty"}, ["RISKENGINE_PORT", "'eighty'", "integer"]),
        ({"RISKENGINE_AUTH": "maybe"}, ["RISKENGINE_AUTH", "true or false"]),
        ({"RISKENGINE_JOB_WORKERS": "0"}, ["job_workers", ">= 1"]),
        ({"RISKENGINE_LOG_FORMAT": "xml"}, ["log_format", "json or text"]),
    ],
)
def test_bad_settings_name_the_variable(env, words):
    with pytest.raises(InputError) as exc:
        Settings.from_env(env)
    for w in words:
        assert w in str(exc.value)


# --- limits -----------------------------------------------------------------------------------
def test_limit_validation_names_the_entry():
    assert check_limits([{"limit": 5}]) == [
        {"measure": "value_at_risk", "confidence": 0.99, "limit": 5.0, "tag": None}
    ]
    for bad, words in (
        ([{"limit": 0}], ["limits[0].limit", "positive"]),
        ([{"limit": 1, "measure": "vol"}], ["limits[0].measure", "'vol'"]),
        ([{"limit": 1}, {"limit": 1, "confidence": 1.5}], ["limits[1].confidence"]),
        ([{"limit": 1, "tag": "tech"}], ["limits[0].tag", "key=value"]),
        ([{"limit": 1, "colour": "red"}], ["colour"]),
    ):
        with pytest.raises(InputError) as exc:
            check_limits(bad)
        for w in words:
            assert w in str(exc.value)


def test_utilisation_of_book_and_tag_limits():
    report = {
        "results": [{"confidence": 0.99, "value_at_risk": 80.0, "expected_shortfall": 120.0}],
        "contributions": {"by_tag": [
            {"confidence": 0.99, "key": "desk", "value": "a", "component_var": 30.0,
             "component_es": 50.0}]},
    }  # fmt: skip
    limits = check_limits([
        {"limit": 100}, {"limit": 100, "measure": "expected_shortfall"},
        {"limit": 20, "tag": "desk=a"}, {"limit": 20, "tag": "desk=b"},
        {"limit": 20, "confidence": 0.95},
    ])  # fmt: skip
    got = utilisation(limits, report)
    assert [g["value"] for g in got] == [80.0, 120.0, 30.0, 0.0, None]
    assert [g["breached"] for g in got] == [False, True, True, False, False]
    assert got[0]["utilisation"] == pytest.approx(0.8) and got[2]["utilisation"] == 1.5
    assert "0.95" in got[4]["reason"]


# --- keys -------------------------------------------------------------------------------------
def test_keys_resolve_to_their_tenant_until_revoked(store):
    key = create_key(store, "acme", "ci")
    checker = KeyChecker(store, ttl=0)
    assert checker.tenant(key.key) == "acme"
    assert checker.tenant(key.key[:-1] + ("A" if key.key[-1] != "A" else "B")) is None
    assert checker.tenant("rk_nothing") is None and checker.tenant("") is None
    assert store.revoke_api_key(key.key_id) and not store.revoke_api_key(key.key_id)
    assert checker.tenant(key.key) is None
    with pytest.raises(InputError, match="tenant"):
        check_tenant("no spaces please")


def test_a_cached_key_is_trusted_for_the_ttl_only(store):
    key = create_key(store, "acme")
    checker = KeyChecker(store, ttl=0.2)
    assert checker.tenant(key.key) == "acme"
    store.revoke_api_key(key.key_id)
    assert checker.tenant(key.key) == "acme"  # still cached
    time.sleep(0.25)
    assert checker.tenant(key.key) is None


# --- jobs -------------------------------------------------------------------------------------
def test_controlled_executor_returns_what_the_local_one_does_and_reports_progress():
    seen = []
    control = JobControl(seen.append)
    items = list(range(40))
    out = ControlledExecutor(control, max_workers=2).map(lambda x: x * x, items)
    assert out == LocalExecutor(2).map(lambda x: x * x, items)
    assert seen == sorted(seen) and seen[-1] == 1.0 and len(seen) == 40


def test_cancellation_stops_between_items():
    control = JobControl()
    done = []

    def work(x):
        if x == 3:
            control.cancelled.set()
        done.append(x)
        return x

    with pytest.raises(JobCancelled):
        ControlledExecutor(control, max_workers=1).map(work, range(100))
    assert len(done) == 4


def test_job_queue_lifecycle(store):
    queue = JobQueue(store, workers=1, progress_interval=0)
    gate = threading.Event()

    def slow(control):
        for i in range(50):
            control.report(i, 50)
            gate.wait(0.01)
        return {"answer": 42}

    ok = queue.submit("t", "risk", {"n": 1}, slow)
    bad = queue.submit(
        "t", "risk", {}, lambda c: (_ for _ in ()).throw(InputError("window 9 too short"))
    )
    boom = queue.submit("t", "risk", {}, lambda c: 1 / 0)
    for job in (ok, bad, boom):
        deadline = time.monotonic() + 10
        while queue.get("t", job["id"])["state"] not in ("succeeded", "failed"):
            assert time.monotonic() < deadline
            time.sleep(0.01)
    record, text = queue.result("t", ok["id"])
    assert record["state"] == "succeeded" and text == '{"answer":42}'
    assert queue.get("t", bad["id"])["error"] == "window 9 too short"
    assert queue.get("t", boom["id"])["error"].startswith("internal error (ZeroDivisionError)")
    assert queue.get("other tenant", ok["id"]) is None
    queue.shutdown()


def test_shutdown_cancels_queued_and_running_jobs(store):
    queue = JobQueue(store, workers=1, progress_interval=0)

    def forever(control):
        while True:
            control.report(1, 2)
            time.sleep(0.01)

    running = queue.submit("t", "risk", {}, forever)
    queued = queue.submit("t", "risk", {}, forever)
    time.sleep(0.1)
    queue.shutdown()
    assert store.load_job("t", running["id"])["state"] == "cancelled"
    assert store.load_job("t", queued["id"])["state"] == "cancelled"
    assert queue.depth == 0


def wait_for(condition, *, timeout: float = 10.0, what: str = "the condition"):
    deadline = time.monotonic() + timeout
    while not (out := condition()):
        assert time.monotonic() < deadline, f"waited {timeout} s for {what}; last seen {out!r}"
        time.sleep(0.01)
    return out


class FlakyStore:
    """``store`` whose job methods fail with StoreUnavailable while ``down`` is set."""

    def __init__(self, store):
        self.store = store
        self.down = threading.Event()

    def __getattr__(self, name):
        attr = getattr(self.store, name)
        if name not in ("save_job", "load_job", "touch_jobs", "interrupt_jobs"):
            return attr

        def call(*args, **kwargs):
            if self.down.is_set():
                raise StoreUnavailable("the test's store is down; retry later.")
            return attr(*args, **kwargs)

        return call


def test_a_final_state_the_store_refuses_is_kept_answered_and_saved_later(store):
    flaky = FlakyStore(store)
    queue = JobQueue(flaky, progress_interval=0, heartbeat=0.05, lease=0.3)
    release = threading.Event()

    def job(control):
        assert release.wait(10)
        return {"answer": 42}

    job_id = queue.submit("t", "risk", {"n": 1}, job)["id"]
    try:
        wait_for(lambda: store.load_job("t", job_id)["state"] == "running")
        flaky.down.set()
        release.set()
        wait_for(lambda: queue.depth == 0, what="the job to finish")
        # the store is down: the answers come from memory, the true state
        job = queue.get("t", job_id)
        assert (job["state"], job["progress"], job["request"]) == ("succeeded", 1.0, {"n": 1})
        assert queue.result("t", job_id)[1] == '{"answer":42}'
        assert [j["state"] for j in queue.jobs("t")] == ["succeeded"]
        assert store.load_job("t", job_id)["state"] == "running"  # not saved yet
        time.sleep(0.4)  # an outage longer than the lease: back, the job must not be swept
        flaky.down.clear()
        saved = wait_for(lambda: (r := store.load_job("t", job_id))["state"] == "succeeded" and r)
        assert saved["result"] == '{"answer":42}' and saved["progress"] == 1.0
        assert queue.get("t", job_id)["state"] == "succeeded"
    finally:
        release.set()
        queue.shutdown()


def test_the_heartbeat_keeps_a_held_job_alive_and_stops_one_failed_elsewhere(store):
    queue = JobQueue(store, progress_interval=0, heartbeat=0.05, lease=0.3)

    def forever(control):
        while True:
            control.check()
            time.sleep(0.01)

    job_id = queue.submit("t", "risk", {}, forever)["id"]
    try:
        first = store.load_job("t", job_id)["updated_at"]
        past_lease = first + dt.timedelta(seconds=3 * 0.3)
        wait_for(lambda: store.load_job("t", job_id)["updated_at"] > past_lease, what="beats")
        assert store.load_job("t", job_id)["state"] == "running"  # its own sweep spares it
        # another server, which lost sight of our heartbeat, failed it
        store.interrupt_jobs("failed elsewhere", job=("t", job_id))
        wait_for(lambda: queue.depth == 0, what="the queue to stop the job")
        record = store.load_job("t", job_id)
        assert (record["state"], record["error"]) == ("failed", "failed elsewhere")
    finally:
        queue.shutdown()


@pytest.mark.parametrize(("heartbeat", "lease"), [(0.05, 0.0), (0.05, 0.1), (0.0, 30.0)])
def test_the_lease_must_outlast_several_heartbeats(store, heartbeat, lease):
    with pytest.raises(InputError, match=r"job lease .* at least 3 heartbeats"):
        JobQueue(store, heartbeat=heartbeat, lease=lease)


# --- market snapshots -------------------------------------------------------------------------
def test_closed_before_drops_the_forming_day():
    h = history_from_returns(np.zeros((5, 2)), start="2024-03-01")  # 2024-03-01 .. 03-06
    import datetime as dt

    cut = closed_before(h, dt.date(2024, 3, 5))
    assert cut.last_date == dt.date(2024, 3, 4) and len(cut.dates) == 4
    assert closed_before(h, dt.date(2030, 1, 1)) is h
    with pytest.raises(InsufficientHistoryError, match="import daily history"):
        closed_before(h, dt.date(2024, 3, 1))


def test_keys_command_creates_lists_and_revokes(tmp_path, capsys):
    from riskengine.cli import main

    db = f"sqlite:///{tmp_path / 'keys.sqlite3'}"
    assert main(["keys", "--database", db, "create", "--tenant", "desk-a", "--label", "ui"]) == 0
    key = capsys.readouterr().out.split()[0]
    assert key.startswith("rk_")
    key_id = key.split("_")[1]
    assert main(["keys", "--database", db, "list"]) == 0
    listing = capsys.readouterr().out
    assert key_id in listing and "desk-a" in listing and key.split("_", 2)[2] not in listing
    store = open_store(db)
    try:
        assert KeyChecker(store, ttl=0).tenant(key) == "desk-a"
        assert main(["keys", "--database", db, "revoke", key_id]) == 0
        assert KeyChecker(store, ttl=0).tenant(key) is None
    finally:
        store.close()
    assert main(["keys", "--database", db, "revoke", key_id]) == 2
    assert "no active key" in capsys.readouterr().err
    assert main(["keys", "--database", db, "create", "--tenant", "bad name"]) == 2
