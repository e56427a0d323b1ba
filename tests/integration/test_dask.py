"""The Dask executor on a LocalCluster of 2 worker processes: the same numbers as the local
executor for the same seed (bit for bit), a worker killed mid-run changes nothing, workers that
keep dying fail with a clear error, cancellation, the CLI and the API's job queue."""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

import numpy as np
import pytest

distributed = pytest.importorskip("distributed")

from riskengine import compute_risk, load_portfolio  # noqa: E402
from riskengine.scale.dask import ClusterError, DaskExecutor  # noqa: E402
from riskengine.scale.local import LocalExecutor  # noqa: E402
from riskengine.service.jobs import ControlledExecutor, JobCancelled, JobControl  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
BOOK = ROOT / "examples" / "book.json"


@pytest.fixture(scope="module")
def cluster():
    import dask

    # fail a task after 2 workers died running it (default 3): the dying-worker test is quicker
    # and without the nanny's MALLOC_TRIM_THRESHOLD_ (docs/scale.md)
    config = {
        "distributed.scheduler.allowed-failures": 1,
        "distributed.nanny.pre-spawn-environ": {"MALLOC_TRIM_THRESHOLD_": None},
    }
    with dask.config.set(config):
        cl = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                      dashboard_address=None, silence_logs=40)  # fmt: skip
        client = distributed.Client(cl, set_as_default=False)
        yield cl, client
        client.close()
        cl.close()


@pytest.fixture(scope="module")
def dask_ex(cluster):
    return DaskExecutor(cluster[1])


def measures(report):
    return [(m.value_at_risk, m.expected_shortfall, m.value_at_risk_standard_error)
            for m in report.measures]  # fmt: skip


@pytest.mark.parametrize(
    "options",
    [
        {"method": "montecarlo", "n_scenarios": 60_000, "seed": 3},
        {
            "method": "montecarlo",
            "n_scenarios": 40_000,
            "seed": 5,
            "sampling": "antithetic",
            "distribution": "student-t",
            "revaluation": "full",
        },  # fmt: skip
        {"method": "montecarlo", "n_scenarios": 2**15, "seed": 2, "sampling": "sobol"},
        {"method": "historical", "window": 1000},
        {"method": "parametric", "distribution": "cornish-fisher"},
    ],
    ids=["mc-plain", "mc-antithetic-t-full", "mc-sobol", "historical", "parametric-cf"],
)
def test_the_cluster_gives_the_local_numbers_bit_for_bit(dask_ex, bundled_history, options):
    book = load_portfolio(BOOK)
    kw = dict(confidence=(0.95, 0.99), contributions=True, **options)
    on_cluster = compute_risk(book, bundled_history, executor=dask_ex, **kw)
    for workers in (1, 2):
        local = compute_risk(book, bundled_history, executor=LocalExecutor(workers), **kw)
        assert measures(on_cluster) == measures(local)
        a, b = on_cluster.contributions.positions, local.contributions.positions
        assert np.array_equal(a.component_var, b.component_var)
        assert np.array_equal(a.component_es, b.component_es)
        assert np.array_equal(a.standalone_var, b.standalone_var, equal_nan=True)


def test_a_worker_killed_mid_run_changes_nothing(cluster, dask_ex, bundled_history):
    _, client = cluster
    book = load_portfolio(BOOK)
    kw = dict(method="montecarlo", n_scenarios=1_500_000, seed=8, revaluation="full")
    want = compute_risk(book, bundled_history, executor=LocalExecutor(), **kw)
    seen = []
    control = JobControl(seen.append)
    out = {}

    def run():
        executor = ControlledExecutor(control, dask_ex)
        out["report"] = compute_risk(book, bundled_history, executor=executor, **kw)

    worker_pids = client.run(os.getpid)
    thread = threading.Thread(target=run)
    thread.start()
    deadline = time.monotonic() + 60
    while not seen or seen[-1] < 0.2:  # some blocks are done
        assert time.monotonic() < deadline and thread.is_alive()
        time.sleep(0.01)
    victim = next(iter(worker_pids.values()))
    os.kill(victim, signal.SIGKILL)
    thread.join(300)
    assert not thread.is_alive()
    assert measures(out["report"]) == measures(want)
    assert seen == sorted(seen) and seen[-1] == 1.0
    client.wait_for_workers(2, timeout=60)  # the nanny restarted it for the next tests


def _die_on_three(x):
    if x == 3:
        os._exit(1)
    return x


def test_workers_that_keep_dying_fail_with_a_clear_error(cluster, dask_ex):
    with pytest.raises(
        ClusterError, match="kept dying or lost the work while running item .* of 6.*memory"
    ):
        dask_ex.map(_die_on_three, range(6))
    cluster[1].wait_for_workers(2, timeout=60)
    assert dask_ex.map(abs, [-1, -2]) == [1, 2]  # the cluster still works


def _slow(x):
    time.sleep(0.05)
    return x


def test_cancelling_stops_the_remaining_tasks(dask_ex):
    control = JobControl()
    seen = []

    def stop_soon(fraction):
        seen.append(fraction)
        if len(seen) == 5:
            control.cancelled.set()

    control._on_progress = stop_soon
    t0 = time.monotonic()
    with pytest.raises(JobCancelled):
        ControlledExecutor(control, dask_ex).map(_slow, range(400))
    assert time.monotonic() - t0 < 8  # 400 x 50 ms on 2 workers would take 10 s
    assert len(seen) == 5


def test_errors_of_a_block_arrive_as_themselves(dask_ex):
    from riskengine.errors import InputError

    def bad(x):
        if x == 2:
            raise InputError("block 2 is wrong")
        return x

    with pytest.raises(InputError, match="block 2 is wrong"):
        dask_ex.map(bad, range(4))


def test_an_unreachable_scheduler_says_what_to_do():
    with pytest.raises(ClusterError, match="cannot reach the Dask scheduler.*dask scheduler"):
        DaskExecutor("tcp://127.0.0.1:9", timeout=1)


def test_without_dask_the_error_says_how_to_install(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "distributed", None)
    with pytest.raises(ImportError, match=r"pip install 'riskengine\[dask\]'"):
        DaskExecutor("tcp://127.0.0.1:8786")


def test_cli_scheduler_option_gives_the_local_report(cluster, capsys):
    import json

    from riskengine.cli import main

    args = ["risk", "--portfolio", str(BOOK), "--prices", str(ROOT / "data" /
            "us_equities_daily.csv"), "--method", "montecarlo", "--paths", "30000", "--seed",
            "4", "--format", "json"]  # fmt: skip
    assert main([*args, "--scheduler", cluster[0].scheduler_address]) == 0
    remote = json.loads(capsys.readouterr().out)
    assert main([*args, "--scheduler", "local"]) == 0
    local = json.loads(capsys.readouterr().out)
    assert remote["results"] == local["results"]
    assert main([*args, "--scheduler", "not-an-address"]) == 2
    assert "tcp://host:8786" in capsys.readouterr().err


def test_api_jobs_run_on_the_cluster(cluster, tmp_path, bundled_history):
    from integration.api_support import api_settings, book_doc, start_api
    from riskengine.store import open_store

    store = open_store(f"sqlite:///{tmp_path / 'dask.sqlite3'}")
    store.import_daily(bundled_history)
    server = start_api(store, api_settings(dask_scheduler=cluster[0].scheduler_address))
    try:
        c = server.client()
        pid = c.post("/api/v1/portfolios", json=book_doc()).json()["id"]
        body = {"portfolio_id": pid, "method": "montecarlo", "n_scenarios": 40_000, "seed": 6}
        backtest = {"portfolio_id": pid, "methods": ["montecarlo"], "start": "2022-11-01",
                    "seed": 2, "n_scenarios": 1000, "null_simulations": 20}  # fmt: skip
        stress = {"portfolio_id": pid}

        def run_job(path, payload):
            r = c.post(path, json=payload, headers={"Prefer": "respond-async"})
            assert r.status_code == 202
            deadline = time.monotonic() + 120
            while (job := c.get(r.headers["location"]).json())["state"] not in (
                "succeeded", "failed"):  # fmt: skip
                assert time.monotonic() < deadline
                time.sleep(0.05)
            assert job["state"] == "succeeded", job
            return c.get(job["links"]["result"]).json()

        for path, payload, tasks, compare in (
            ("/api/v1/risk", body, 8, lambda d: d["results"]),  # 8 blocks of 5,000 paths
            ("/api/v1/backtest", backtest, 4, lambda d: d["methods"][0]["series"]),  # 4x10 days
            ("/api/v1/stress", stress, 10, lambda d: [x["pnl"] for x in d["scenarios"]]),
        ):
            with distributed.get_task_stream(client=cluster[1]) as stream:
                result = run_job(path, payload)
            assert len(stream.data) >= tasks, path  # the pieces ran on the workers
            sync = c.post(path, json=payload).json()  # synchronous: on the server itself
            assert compare(result) == compare(sync), path
    finally:
        server.close()
        store.close()


@pytest.mark.parametrize("method", ["montecarlo", "historical"])
def test_backtest_days_split_over_the_cluster_give_the_same_numbers(dask_ex, bundled_history,
                                                                    method):  # fmt: skip
    from riskengine.backtest import run_backtest

    book = load_portfolio(BOOK)
    kw = dict(start="2022-09-01", seed=3, n_scenarios=2000, null_simulations=50,
              historical_weighting="filtered" if method == "historical" else "none")  # fmt: skip
    plain = run_backtest(book, bundled_history, (method,), **kw)
    for executor in (dask_ex, LocalExecutor(2)):
        split = run_backtest(book, bundled_history, (method,), executor=executor, **kw)
        a, b = split.methods[0], plain.methods[0]
        assert np.array_equal(a.value_at_risk, b.value_at_risk)
        assert np.array_equal(a.expected_shortfall, b.expected_shortfall)
        assert a.statistics[0].n_exceptions == b.statistics[0].n_exceptions
        assert a.statistics[0].z2_p_value == b.statistics[0].z2_p_value


def test_stress_scenarios_split_over_the_cluster_give_the_same_report(dask_ex, bundled_history):
    from riskengine.stress import run_scenarios

    book = load_portfolio(BOOK)
    plain = run_scenarios(book, bundled_history).to_dict()
    assert run_scenarios(book, bundled_history, executor=dask_ex).to_dict() == plain
    assert run_scenarios(book, bundled_history, executor=LocalExecutor(2)).to_dict() == plain
    assert plain["scenarios"] and plain["skipped"] is not None
