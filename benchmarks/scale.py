"""Benchmark: Monte Carlo on a Dask cluster against this machine, on the seed workload
(500 names, 5,000 positions of which 1,000 options), grid revaluation, 99%.

Each case runs in a fresh child process (so its peak resident memory is its own):

* **local**: ``compute_risk`` with the default ``LocalExecutor`` (one thread per CPU);
* **cluster**: the same call with a ``DaskExecutor`` on a ``LocalCluster`` of 2 worker
  processes with one thread each (peak memory: the client process and each worker);

at 1,000,000 paths (``--paths``), then 10,000,000 paths once on the cluster as a scale
demonstration (``--big``, 0 to skip). The VaR and ES of the two executors must be equal bit for
bit. On a 2-core machine the cluster shows the cost of distribution (serialising the book and
the model to each worker, a task per block, the results back), not a speed-up; the script
prints the model of what more machines buy, from the measured parts:

    T(n) = T_setup + T_ship + W / n + n_blocks * t_task / n

``T_setup`` (covariance, grid, merge, measures: on the client), ``W`` (the blocks' work, from
the local run at one worker), ``T_ship`` and ``t_task`` (from the cluster run).

Run with ``.venv/bin/python benchmarks/scale.py [--paths N] [--big N]``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def _peak_mb() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def child(mode: str, paths: int, workers: int) -> dict:
    """One case, in this (child) process; prints a JSON line with its figures."""
    sys.path.insert(0, str(HERE))
    import workload
    from riskengine import RiskCache, compute_risk
    from riskengine.scale.local import LocalExecutor

    history, book = workload.seed_workload()
    kw = dict(method="montecarlo", n_scenarios=paths, seed=7, confidence=(0.99,))
    out: dict = {"mode": mode, "paths": paths}
    if mode == "local":
        executor = LocalExecutor(workers)
        compute_risk(book, history, method="montecarlo", n_scenarios=20_000, seed=1,
                     executor=executor)  # fmt: skip  # warm-up: imports, first allocations
        t0 = time.perf_counter()
        report = compute_risk(book, history, executor=executor, cache=RiskCache(), **kw)
        out["seconds"] = time.perf_counter() - t0
        out["peak_mb"] = {"process": _peak_mb()}
    else:
        import dask
        from distributed import Client, LocalCluster

        from riskengine.scale.dask import DaskExecutor

        # Dask's nanny sets MALLOC_TRIM_THRESHOLD_ in its workers, which stops glibc from
        # raising its mmap threshold: every large NumPy temporary is then mapped and faulted
        # in anew (blocks ran ~1.5x slower). docs/scale.md says how to unset it on a cluster.
        unset_trim = {"distributed.nanny.pre-spawn-environ": {"MALLOC_TRIM_THRESHOLD_": None}}
        with dask.config.set(unset_trim):
            cluster = LocalCluster(
                n_workers=workers,
                threads_per_worker=1,
                processes=True,
                dashboard_address=None,
                silence_logs=40,
            )
        client = Client(cluster, set_as_default=False)
        executor = DaskExecutor(client)
        compute_risk(
            book, history, method="montecarlo", n_scenarios=20_000, seed=1, executor=executor
        )
        t0 = time.perf_counter()
        report = compute_risk(book, history, executor=executor, cache=RiskCache(), **kw)
        out["seconds"] = time.perf_counter() - t0
        worker_peaks = client.run(_peak_mb)
        out["peak_mb"] = {
            "client": _peak_mb(),
            **{f"worker {i + 1}": v for i, v in enumerate(worker_peaks.values())},
        }
        # the cost of distribution: ship the function and run trivial tasks
        t0 = time.perf_counter()
        executor.map(abs, range(200))
        out["task_seconds"] = (time.perf_counter() - t0) / 200
        client.close()
        cluster.close()
    m = report.measures[0]
    out["var"], out["es"] = m.value_at_risk, m.expected_shortfall
    out["n_blocks"] = report.parameters["n_blocks"]
    return out


def run_child(mode: str, paths: int, workers: int) -> dict:
    cmd = [
        sys.executable,
        __file__,
        "--child",
        mode,
        "--paths",
        str(paths),
        "--workers",
        str(workers),
    ]
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{mode} {paths} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def fmt_peaks(peaks: dict) -> str:
    return ", ".join(f"{k} {v:,.0f} MB" for k, v in peaks.items())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--paths", type=int, default=1_000_000)
    ap.add_argument(
        "--big", type=int, default=10_000_000, help="paths of the one big run (0: skip)"
    )
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--child", choices=("local", "cluster"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.paths, args.workers)))
        return
    load = os.getloadavg()[0]
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} CPUs, Python "
        f"{platform.python_version()}; load average {load:.2f} at the start"
    )
    print(
        f"workload: seed workload, Monte Carlo {args.paths:,} paths, grid revaluation, 99%, "
        "seed 7; each case in its own process, one timed call after a small warm-up\n"
    )
    one = run_child("local", args.paths, 1)
    local = run_child("local", args.paths, os.cpu_count() or 1)
    cluster = run_child("cluster", args.paths, args.workers)
    rows = [
        ("local, 1 thread", one),
        (f"local, {os.cpu_count()} threads", local),
        (f"Dask LocalCluster, {args.workers} worker processes", cluster),
    ]
    print(f"{'case':<40} {'seconds':>9} {'ratio':>7}  peak resident memory")
    for name, r in rows:
        print(
            f"{name:<40} {r['seconds']:9.2f} {r['seconds'] / local['seconds']:7.2f}  "
            f"{fmt_peaks(r['peak_mb'])}"
        )
    same = all((r["var"], r["es"]) == (local["var"], local["es"]) for _, r in rows)
    print(
        f"\nVaR 99% {local['var']:,.2f}  ES {local['es']:,.2f}: equal bit for bit on every "
        f"executor: {'ok' if same else 'FAILED'}"
    )
    # the model of what more machines buy
    n_blocks = cluster["n_blocks"]
    work = one["seconds"]  # one thread: the blocks' work plus the client's part
    t_task = cluster["task_seconds"]
    overhead = max(cluster["seconds"] - local["seconds"], 0.0)
    print(
        f"\ncost of distribution here: {overhead:.2f} s over the local run "
        f"({overhead / cluster['seconds']:.0%} of the cluster's time); a trivial task costs "
        f"{t_task * 1e3:.1f} ms round trip, {n_blocks} blocks of 5,000 paths"
    )
    print("model: T(n) ~ T_fixed + W / n, W = the single-thread time (the blocks dominate it),")
    print(
        f"       T_fixed ~ {overhead:.2f} s (shipping the model and book, scheduling); per "
        f"worker core:"
    )
    for n in (2, 4, 8, 16, 32):
        t = overhead + work / n + n_blocks * t_task / n
        print(f"       {n:>3} worker cores: ~{t:6.2f} s  (x{work / t:4.1f} vs one thread)")
    if args.big:
        big = run_child("cluster", args.big, args.workers)
        print(
            f"\n{args.big:,} paths on the cluster: {big['seconds']:.1f} s, peak "
            f"{fmt_peaks(big['peak_mb'])}; VaR {big['var']:,.2f}  ES {big['es']:,.2f}"
        )
    print(f"\nload average {os.getloadavg()[0]:.2f} at the end")


if __name__ == "__main__":
    main()
