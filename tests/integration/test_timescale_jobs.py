"""TimescaleDB's background jobs under real conditions (the extension preloaded by the test server,
RISKENGINE_TEST_PG_SETTINGS; skipped without it): riskengine reports jobs that are switched off or
fail, keeps the bars materialised by running late jobs itself, and leaves a working scheduler
alone."""

from __future__ import annotations

import datetime as dt
import time

import psycopg
import pytest

from riskengine.market.tick import Tick

from .conftest import open_test_store

UTC = dt.UTC
WAIT = 90.0  # seconds: a bound on waiting for a condition


_US = dt.timedelta(microseconds=1)


@pytest.fixture
def ts_store(pg_url):
    s = open_test_store(pg_url)
    if not (s.capabilities.timescaledb and s.capabilities.continuous_aggregates):
        s.close()
        pytest.skip(f"TimescaleDB with continuous aggregates not available: {s.capabilities}")
    yield s
    s.close()


def _sql(url, sql, params=None):
    with psycopg.connect(url, autocommit=True) as conn:
        cur = conn.execute(sql, params)
        return cur.fetchall() if cur.description else []


def _jobs(url) -> dict[str, int]:
    rows = _sql(
        url,
        "SELECT hypertable_name, job_id FROM timescaledb_information.jobs "
        "WHERE proc_name IN ('policy_compression', 'policy_refresh_continuous_aggregate')",
    )
    return dict(rows)


def _watermark(url, view) -> dt.datetime | None:
    """The aggregate's watermark; None while nothing is materialised (TimescaleDB's minimum,
    4714 BC, which Python cannot represent)."""
    (row,) = _sql(
        url,
        "SELECT _timescaledb_functions.cagg_watermark(c.mat_hypertable_id) "
        "FROM _timescaledb_catalog.continuous_agg c WHERE c.user_view_name = %s",
        (view,),
    )
    us = row[0]
    return None if us < 0 else dt.datetime(1970, 1, 1, tzinfo=UTC) + dt.timedelta(microseconds=us)


def _until(condition, what: str, timeout: float = WAIT):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.2)  # polling a condition, bounded by the deadline
    raise AssertionError(f"waited {timeout:g} s for {what}")


def _live_ticks(n=240):
    """Ticks of the last ~40 minutes, 10 s apart, ending a minute ago."""
    now = dt.datetime.now(UTC).replace(microsecond=0)
    return [
        Tick("kraken", "BTC-USD", now - dt.timedelta(seconds=60 + 10 * (n - i)), 100.0 + i, 1.0, i)
        for i in range(n)
    ]


def test_switched_off_jobs_are_reported_and_run_here(pg_url, ts_store):
    ids = _jobs(pg_url)
    assert set(ids) == {"ticks", "bars_1m"}
    for job_id in ids.values():
        _sql(pg_url, "SELECT alter_job(%s, scheduled => false)", (job_id,))
    ticks = _live_ticks()
    ts_store.write_ticks(ticks)
    jobs = {j.name: j for j in ts_store.background_jobs()}
    assert set(jobs) == {"compression of ticks", "refresh of bars_1m"}
    for job in jobs.values():
        assert any("not scheduled" in p for p in job.problems), job
    before = _watermark(pg_url, "bars_1m")
    later = dt.datetime.now(UTC) + dt.timedelta(days=1)  # a day on, the scheduler still off
    late = {j.name: j.problems for j in ts_store.background_jobs(now=later)}
    refreshed = _sql(
        pg_url,
        "SELECT last_successful_finish FROM timescaledb_information.job_stats WHERE job_id = %s",
        (ids["bars_1m"],),
    )
    if refreshed and refreshed[0][0] is not None:  # the scheduler ran it before the switch
        assert any("no successful run for" in p for p in late["refresh of bars_1m"]), late
    else:  # on a busy machine its first run may come after the switch: never, then
        assert late["refresh of bars_1m"] == jobs["refresh of bars_1m"].problems, late
    ran = ts_store.run_late_jobs(now=later)
    assert sorted(j.name for j, error in ran if error is None) == sorted(jobs)
    # the 1-minute bars are materialised to within one refresh interval (1 minute, end offset
    # 1 minute) of the latest tick
    after = _watermark(pg_url, "bars_1m")
    minute = dt.datetime.now(UTC).replace(second=0, microsecond=0)
    # (before: None when the write's own refresh materialised nothing, which TimescaleDB 2.28
    # may do beside a concurrent refresh; the bars were shown from the raw ticks meanwhile)
    assert after is not None and after >= max(before or after, minute - dt.timedelta(minutes=2))
    bars = ts_store.bars("BTC-USD", "1m")
    assert sum(b.trades for b in bars) == len(ticks)  # the bars still hold every tick
    # run again at once: nothing is late yet (the last run is younger than the interval)
    assert ts_store.run_late_jobs(now=later) == []


def _break(url, job_id):
    """Make a job fail at every run: it runs as a role that owns nothing (set in TimescaleDB's
    catalog: alter_job cannot change a job's owner)."""
    _sql(url, "DO $$ BEGIN CREATE ROLE riskengine_no_rights NOLOGIN; "
              "EXCEPTION WHEN duplicate_object THEN NULL; END $$")  # fmt: skip
    _sql(url, "UPDATE _timescaledb_config.bgw_job SET owner = 'riskengine_no_rights' "
              "WHERE id = %s", (job_id,))  # fmt: skip


def _until_failed(url, job_id):
    """Wait for the scheduler to run the broken job ``job_id`` (its last run: Failed)."""
    _until(
        lambda: (
            _sql(
                url,
                "SELECT last_run_status FROM timescaledb_information.job_stats WHERE job_id = %s",
                (job_id,),
            )
            == [("Failed",)]
        ),
        "the scheduler to run the broken job",
    )


def test_a_failing_job_is_reported_with_its_error(pg_url, ts_store):
    job_id = _jobs(pg_url)["bars_1m"]
    _break(pg_url, job_id)
    _sql(pg_url, "SELECT alter_job(%s, next_start => now())", (job_id,))
    _until_failed(pg_url, job_id)
    (job,) = [j for j in ts_store.background_jobs() if j.job_id == job_id]
    assert job.last_run_status == "Failed" and job.failures >= 1
    assert any("last scheduled run failed" in p for p in job.problems)
    assert job.last_error and "last error" in job.describe()
    later = dt.datetime.now(UTC) + dt.timedelta(hours=1)
    # run here, as the store's role (which owns the aggregate): the run the scheduler could not
    # do succeeds; it is not tried again within its interval
    ran = ts_store.run_late_jobs(now=later)
    assert [(j.job_id, error) for j, error in ran] == [(job_id, None)]
    assert ts_store.run_late_jobs(now=later) == []


def test_a_job_that_never_succeeded_is_reported_not_an_error(pg_url, ts_store):
    """TimescaleDB records a job that has never succeeded with last_successful_finish
    '-infinity', which the driver cannot read (seen on a loaded machine, where the scheduler
    had not yet run the refresh before it was broken). A new policy that starts tomorrow,
    broken and run once now, never succeeds."""
    _sql(pg_url, "SELECT remove_continuous_aggregate_policy('bars_1m')")
    ((job_id,),) = _sql(
        pg_url,
        "SELECT add_continuous_aggregate_policy('bars_1m', start_offset => interval '1 day', "
        "end_offset => interval '1 minute', schedule_interval => interval '1 minute', "
        "initial_start => now() + interval '1 day')",
    )
    _break(pg_url, job_id)
    _sql(pg_url, "SELECT alter_job(%s, next_start => now())", (job_id,))
    _until_failed(pg_url, job_id)
    (job,) = [j for j in ts_store.background_jobs() if j.job_id == job_id]
    assert job.last_run_status == "Failed" and job.last_success is None
    assert any("last scheduled run failed" in p for p in job.problems)


def test_where_the_scheduler_works_it_runs_the_jobs(pg_url, ts_store):
    ts_store.write_ticks(_live_ticks(30))
    ids = _jobs(pg_url)
    for job_id in ids.values():
        _sql(pg_url, "SELECT alter_job(%s, next_start => now())", (job_id,))

    def finished():
        rows = _sql(
            pg_url,
            "SELECT job_id, last_run_status FROM timescaledb_information.job_stats "
            "WHERE job_id = ANY(%s)",
            (list(ids.values()),),
        )
        status = dict(rows)
        return status if all(status.get(i) in ("Success", "Failed") for i in ids.values()) else None

    status = _until(finished, "the scheduler to run riskengine's jobs")
    jobs = ts_store.background_jobs()
    if any(s == "Failed" for s in status.values()):
        # a release whose scheduler cannot run jobs (PostgreSQL 15.20, 17.12: upstream)
        assert all(j.problems for j in jobs if status[j.job_id] == "Failed")
        pytest.skip(f"the TimescaleDB scheduler fails on this server: {jobs[0].describe()}")
    assert all(s == "Success" for s in status.values())
    assert [j.problems for j in jobs] == [(), ()]
    assert ts_store.run_late_jobs() == []  # a working scheduler is left alone


def test_the_keeper_thread_runs_late_jobs_until_the_store_closes(pg_url, ts_store):
    for job_id in _jobs(pg_url).values():
        _sql(pg_url, "SELECT alter_job(%s, scheduled => false)", (job_id,))
    ts_store.write_ticks(_live_ticks(30))
    later = dt.timedelta(days=1)  # the keeper's clock: a day on, the scheduler still off
    ts_store.keep_background_jobs(every=0.2, mode="run", clock=lambda: dt.datetime.now(UTC) + later)
    _until(lambda: len(ts_store._ran_here) == 2, "the keeper to run the two jobs")
    ts_store.close()
    ts_store._keeper.join(10)
    assert not ts_store._keeper.is_alive()


def test_riskengine_quality_lists_the_jobs_and_their_problems(pg_url, ts_store):
    import json
    import subprocess
    import sys

    job_id = _jobs(pg_url)["bars_1m"]
    _sql(pg_url, "SELECT alter_job(%s, scheduled => false)", (job_id,))
    out = subprocess.run(
        [sys.executable, "-m", "riskengine", "quality", "--database", pg_url, "--format", "json"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    jobs = {j["job_id"]: j for j in json.loads(out.stdout)["store_jobs"]}
    assert jobs[job_id]["name"] == "refresh of bars_1m" and not jobs[job_id]["scheduled"]
    assert any("not scheduled" in p for p in jobs[job_id]["problems"])
    table = subprocess.run(
        [sys.executable, "-m", "riskengine", "quality", "--database", pg_url],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert "TimescaleDB jobs: 2, 1 with problems" in table.stdout, table.stdout


def test_the_api_reports_the_jobs_in_readiness_and_metrics(pg_url, ts_store, bundled_history):
    from integration.api_support import api_settings, start_api

    ts_store.import_daily(bundled_history)
    job_id = _jobs(pg_url)["bars_1m"]
    _sql(pg_url, "SELECT alter_job(%s, scheduled => false)", (job_id,))
    server = start_api(ts_store, api_settings(timescale_jobs="report"))
    try:
        ready = server.anonymous.get("/readyz")
        assert ready.status_code == 200, ready.text
        (problem,) = ready.json()["store_jobs"]
        assert f"TimescaleDB job {job_id} (refresh of bars_1m)" in problem
        assert "not scheduled" in problem
        text = server.anonymous.get("/metrics").text
        assert "riskengine_store_jobs_failing 1.0" in text
    finally:
        server.close()


def test_a_policy_run_between_writes_loses_no_bar(pg_url, ts_store):
    """Ticks written above the invalidation threshold are not logged by TimescaleDB; a scheduled
    refresh (its window: the last two hours) then moves the threshold past them without
    materialising their buckets. Their bars must still be read (CI caught the scheduler doing
    this during a server restart: a 1-minute bar of the first batch was gone)."""
    from integration.test_store import _bars_as_dict, _oracle_bars, tick

    first, second = [tick(i) for i in range(10)], [tick(i) for i in range(10, 30)]
    assert ts_store.write_ticks(first).inserted == 10
    job_id = _jobs(pg_url)["bars_1m"]
    _sql(pg_url, "CALL run_job(%s)", (job_id,))  # what the scheduler may do at any moment
    assert _bars_as_dict(ts_store, ["BTC-USD"]) == _oracle_bars(first)
    assert ts_store.write_ticks(second).inserted == 20
    assert _bars_as_dict(ts_store, ["BTC-USD"]) == _oracle_bars(first + second)


@pytest.mark.parametrize("left_in", ["materialisation log", "hypertable log", "no log"])
def test_a_refresh_that_leaves_an_invalidation_behind_is_done_again(
    pg_url, ts_store, monkeypatch, left_in
):
    """TimescaleDB 2.28 can return from a refresh that ran beside another (its scheduler's
    policy) without materialising a change committed before it (upstream
    timescale/timescaledb#10219): the change's invalidation stays in a log and, once a later
    refresh moves the watermark past its bucket, that bucket is missing from the bars. CI met
    it twice: the first minute of a backfill gone. The upstream race cannot be timed from here,
    so the first refresh is made to leave the window's invalidation behind, in the
    materialisation log or (not even moved there) in the hypertable's log, or to lose it; the
    write must see that the bars lack ticks and refresh again, and a later refresh must not
    move the watermark past buckets that were never materialised."""
    from integration.test_store import _bars_as_dict, _oracle_bars, tick

    real = ts_store._call_refresh
    skipped = []

    def leave_once(conn, view, start, end, **kw):
        if not skipped:  # the buggy refresh: nothing materialised, the entry left behind
            if left_in == "materialisation log":
                (mat_id,) = conn.execute(
                    "SELECT mat_hypertable_id FROM _timescaledb_catalog.continuous_agg "
                    "WHERE user_view_name = %s",
                    (view,),
                ).fetchone()
                conn.execute(
                    "INSERT INTO "
                    "_timescaledb_catalog.continuous_aggs_materialization_invalidation_log "
                    "VALUES (%s, %s, %s)", (mat_id, start, end - 1)
                )  # fmt: skip
            elif left_in == "no log":  # dropped: the refresh cannot know about it any more
                for table, key in (
                    ("continuous_aggs_hypertable_invalidation_log", "hypertable_id"),
                    ("continuous_aggs_materialization_invalidation_log", "materialization_id"),
                ):
                    conn.execute(
                        f"DELETE FROM _timescaledb_catalog.{table} WHERE {key} IN (SELECT "
                        "raw_hypertable_id FROM _timescaledb_catalog.continuous_agg UNION SELECT "
                        "mat_hypertable_id FROM _timescaledb_catalog.continuous_agg)"
                    )
            skipped.append((view, start, end))
            return
        real(conn, view, start, end, **kw)

    # The ticks (2024) must be a backfill: below the invalidation threshold, which a fresh
    # store has at "now" only once the scheduler has run the refresh policy (under load it may
    # not have yet: the threshold is then at its minimum and no write refreshes anything).
    _sql(pg_url, "CALL run_job(%s)", (_jobs(pg_url)["bars_1m"],))
    threshold = _sql(
        pg_url,
        "SELECT watermark FROM _timescaledb_catalog.continuous_aggs_invalidation_threshold",
    )[0][0]
    assert threshold > (tick(29).ts - dt.datetime(1970, 1, 1, tzinfo=dt.UTC)) // _US
    monkeypatch.setattr(ts_store, "_call_refresh", leave_once)
    first, second = [tick(i) for i in range(10)], [tick(i) for i in range(10, 30)]
    assert ts_store.write_ticks(first).inserted == 10
    assert ts_store.write_ticks(second).inserted == 20
    assert skipped  # the fault was injected
    assert _bars_as_dict(ts_store, ["BTC-USD"]) == _oracle_bars(first + second)
