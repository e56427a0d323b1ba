"""Variance reduction for the same time budget: plain, antithetic and scrambled Sobol sampling.

For each workload and each sampling technique the script

1. measures its cost, fixed and per path (a warm-up run, then timed runs at two path counts,
   covariance cached as in a live service, scenarios regenerated);
2. picks the path count that fits the time budget (Sobol: the largest ``n_scrambles * 2**m``
   predicted to fit, so a Sobol run may take up to half the budget less);
3. runs that path count for several seeds (seed by seed, the techniques in turn, so that any
   other load on the machine weighs on all of them alike) and prints the median wall time,
   the mean VaR, the root-mean-square reported VaR standard error, the seed-to-seed standard
   deviation of the VaR (a check on the reported one, itself uncertain by about
   1/sqrt(2 (seeds - 1))), the root-mean-square reported ES standard error, and the
   efficiency gain: plain's time x variance over the technique's.

Workloads: a linear book on 3 Gaussian factors (the low-dimensional case), the 4,000 equity
positions of the seed workload alone (linear, 500 factors), and the whole seed workload
(5,000 positions, 1,000 options on the revaluation grid). For the linear books the table also
gives the parametric (delta-normal) VaR, which the Monte Carlo numbers converge to.

Run: ``.venv/bin/python benchmarks/variance_reduction.py [--budget 1.0] [--seeds 6]``.
Timings depend on the machine and on what else runs on it; the script prints the CPU count.
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

import workload  # noqa: E402
from riskengine import Portfolio, RiskCache, compute_risk  # noqa: E402
from riskengine.instruments import Equity  # noqa: E402

CONFIDENCE = 0.99
N_SCRAMBLES = 16
CALIBRATION_PATHS = {"plain": 16_384, "antithetic": 16_384, "sobol": N_SCRAMBLES * 1024}
TECHNIQUES = ("plain", "antithetic", "sobol")


def small_linear():
    """A 3-factor Gaussian history and a long/short linear book on it."""
    from support import gaussian_history, stock_book

    hist = gaussian_history(n_obs=750, k=3, seed=4)
    return hist, stock_book({"S0": 1000.0, "S1": -400.0, "S2": 700.0}, name="linear-3")


def seed_equities():
    history, book = workload.seed_workload()
    linear = tuple(p for p in book.positions if isinstance(p.instrument, Equity))
    return history, Portfolio(linear, name="seed-equities")


def seed_full():
    return workload.seed_workload()


WORKLOADS = (
    ("linear, 3 factors", small_linear, True),
    ("linear, 500 factors (seed equities)", seed_equities, True),
    ("seed workload (5,000 positions, 1,000 options)", seed_full, False),
)


def run(history, book, cache, sampling, n, seed):
    start = time.perf_counter()
    report = compute_risk(
        book,
        history,
        method="montecarlo",
        confidence=(CONFIDENCE,),
        n_scenarios=n,
        seed=seed,
        sampling=sampling,
        n_scrambles=N_SCRAMBLES,
        cache=cache,
    )
    return time.perf_counter() - start, report.measure(CONFIDENCE)


def paths_for_budget(sampling: str, fixed: float, per_path: float, budget: float) -> int:
    """Paths that fit ``budget`` seconds at ``fixed + per_path * n``."""
    n = max(budget - fixed, 0.1 * budget) / per_path
    if sampling == "sobol":
        per = 2 ** max(int(math.floor(math.log2(max(n / N_SCRAMBLES, 1.0)))), 1)
        return per * N_SCRAMBLES
    return max(int(round(n, -3)), 1_000)


def calibrate(history, book, cache, sampling):
    """(fixed seconds, seconds per path) from timed runs at n0 and 4 n0 paths (best of 2)."""
    n0 = CALIBRATION_PATHS[sampling]
    run(history, book, cache, sampling, n0, 10_000)  # warm-up (covariance, imports)
    t = {
        n: min(run(history, book, cache, sampling, n, 10_001 + k)[0] for k in range(2))
        for n in (n0, 4 * n0)
    }
    per_path = max((t[4 * n0] - t[n0]) / (3 * n0), 1e-9)
    return max(t[n0] - per_path * n0, 0.0), per_path


def bench_workload(label, make, linear, budget, n_seeds):
    history, book = make()
    cache = RiskCache(scenario_bytes=0)  # scenarios regenerated on every call, as for new seeds
    reference = None
    if linear:
        par = compute_risk(book, history, method="parametric", confidence=(CONFIDENCE,))
        reference = par.measure(CONFIDENCE).value_at_risk
    sizes = {}
    for sampling in TECHNIQUES:
        fixed, per_path = calibrate(history, book, cache, sampling)
        sizes[sampling] = paths_for_budget(sampling, fixed, per_path, budget)
    # Seed by seed, the techniques in turn: whatever else loads the machine meanwhile weighs on
    # all of them alike.
    runs = {sampling: [] for sampling in TECHNIQUES}
    for seed in range(n_seeds):
        for sampling in TECHNIQUES:
            runs[sampling].append(run(history, book, cache, sampling, sizes[sampling], 1 + seed))
    rows = []
    for sampling in TECHNIQUES:
        times = [t for t, _ in runs[sampling]]
        ms = [m for _, m in runs[sampling]]
        var = [m.value_at_risk for m in ms]
        n = sizes[sampling]
        rows.append(
            {
                "sampling": sampling,
                "n": n,
                "time": statistics.median(times),
                "us_per_path": 1e6 * statistics.median(times) / n,
                "var": float(np.mean(var)),
                "var_se": float(np.sqrt(np.mean([m.value_at_risk_standard_error**2 for m in ms]))),
                "var_sd": float(np.std(var, ddof=1)),
                "es_se": float(
                    np.sqrt(np.mean([m.expected_shortfall_standard_error**2 for m in ms]))
                ),
            }
        )
    plain = rows[0]
    for r in rows:
        r["gain"] = (plain["time"] * plain["var_se"] ** 2) / (r["time"] * r["var_se"] ** 2)
        r["gain_es"] = (plain["time"] * plain["es_se"] ** 2) / (r["time"] * r["es_se"] ** 2)
    return label, reference, rows


def fmt(x: float) -> str:
    return f"{x:,.0f}" if abs(x) >= 100 else f"{x:.3g}"


def print_table(results, budget, n_seeds):
    head = (
        f"| workload | sampling | paths | time (s) | µs/path | VaR 99% | reported SE | "
        f"sd over {n_seeds} seeds | ES SE | gain VaR | gain ES |"
    )
    print(head)
    print("|" + "---|" * (head.count("|") - 1))
    for label, reference, rows in results:
        for r in rows:
            print(
                f"| {label} | {r['sampling']} | {r['n']:,} | {r['time']:.3f} | "
                f"{r['us_per_path']:.1f} | {fmt(r['var'])} | {fmt(r['var_se'])} | "
                f"{fmt(r['var_sd'])} | {fmt(r['es_se'])} | {r['gain']:.1f} | "
                f"{r['gain_es']:.1f} |"
            )
        if reference is not None:
            print(f"| {label} | parametric (delta-normal) | | | | {fmt(reference)} | | | | | |")
    print()
    print(
        f"Budget {budget:g} s per run; time = median wall time over {n_seeds} seeds; VaR = mean "
        f"over the seeds; reported SE and ES SE = root mean square of the reported standard "
        f"errors; gain = (time x SE^2) of plain over that of the technique (> 1: fewer seconds "
        f"for the same error). Sobol: {N_SCRAMBLES} scrambles."
    )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=float, default=1.0, help="seconds per run")
    parser.add_argument("--seeds", type=int, default=6, help="seeds per technique")
    args = parser.parse_args(argv)
    print(
        f"# variance reduction at equal time: {platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} CPUs, Python {platform.python_version()}, NumPy {np.__version__}"
    )
    results = [
        bench_workload(label, make, linear, args.budget, args.seeds)
        for label, make, linear in WORKLOADS
    ]
    print_table(results, args.budget, args.seeds)


if __name__ == "__main__":
    main()
