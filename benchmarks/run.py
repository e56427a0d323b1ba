"""riskengine benchmarks on the seed workload (500 names x 2,701 closes, 5,000 positions).

Run with ``make bench`` (or ``.venv/bin/python benchmarks/run.py [--quick]``). Prints the
machine, wall times (median, min, max over repetitions after a warm-up) of Monte Carlo VaR
(grid and full revaluation, 10,000 and 100,000 paths; cold, warm covariance, warm scenarios),
historical simulation over 2,500 days, the two baselines of ``baselines.py`` on the same
inputs with the ratio riskengine / baseline, the parallel speed-up (one worker thread against
the default executor, one worker per CPU), accuracy checks, where the time goes in the
warm-covariance case (taken with one worker, see ``stages.py``), and the peak resident memory
of a 1,000,000-path run (``memory.py``, in a subprocess).

Modes: *cold* = a fresh ``RiskCache`` per call (covariance, its root and the scenarios are all
computed); *warm covariance* = one shared cache and a new seed per call (scenarios regenerated);
*warm scenarios* = shared cache and the same seed (a new book revalued on cached scenarios).
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import math
import os
import platform
import pstats
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import baselines  # noqa: E402
import riskengine  # noqa: E402
import riskengine.pipeline  # noqa: E402
import stages  # noqa: E402
import workload  # noqa: E402
from riskengine import RiskCache, compute_risk  # noqa: E402
from riskengine.scale import LocalExecutor  # noqa: E402

HERE = Path(__file__).resolve().parent

CONFIDENCE = 0.99
TARGET_10K_S = 0.200
GOAL_10K_S = 0.100
GOAL_100K_S = 0.600
FLOOR_RATIO_TARGET = 1.25  # warm-covariance 10k run over the normals + root product alone


# ----------------------------------------------------------------------------- timing


@dataclass
class Row:
    """One timed case: wall times in seconds, and what it is compared with."""

    name: str
    times: list[float]
    baselines: list[tuple[str, float]] = field(default_factory=list)  # (label, median seconds)

    @property
    def median(self) -> float:
        return statistics.median(self.times)


def timed(fn, reps: int, *, warmup: int = 1) -> list[float]:
    """Call ``fn(i)`` ``warmup`` times untimed (i < 0), then ``reps`` times timed (i = 0..)."""
    for i in range(warmup):
        fn(-1 - i)
    out = []
    for i in range(reps):
        gc.collect()
        t0 = time.perf_counter()
        fn(i)
        out.append(time.perf_counter() - t0)
    return out


def fmt_s(seconds: float) -> str:
    if not math.isfinite(seconds):
        return "n/a"
    if seconds >= 10:
        return f"{seconds:,.1f} s"
    if seconds >= 1:
        return f"{seconds:.2f} s"
    return f"{seconds * 1e3:.0f} ms" if seconds >= 0.01 else f"{seconds * 1e3:.1f} ms"


def median_of(stage_times: list[dict], keys) -> float:
    """Median over repetitions of the sum of the given stages."""
    return statistics.median(sum(t[k] for k in keys) for t in stage_times)


# ----------------------------------------------------------------------------- machine


def _read(path: str) -> str:
    try:
        return Path(path).read_text()
    except OSError:
        return ""


def machine_lines() -> list[str]:
    cpu = next(
        (
            ln.split(":", 1)[1].strip()
            for ln in _read("/proc/cpuinfo").splitlines()
            if ln.startswith("model name")
        ),
        platform.processor() or "unknown",
    )
    flags = next(
        (
            ln.split(":", 1)[1].split()
            for ln in _read("/proc/cpuinfo").splitlines()
            if ln.startswith("flags")
        ),
        [],
    )
    simd = ",".join(f for f in ("avx2", "avx512f", "fma") if f in flags) or "none listed"
    mem = {}
    for ln in _read("/proc/meminfo").splitlines():
        k, _, v = ln.partition(":")
        if k in ("MemTotal", "MemAvailable"):
            mem[k] = int(v.split()[0]) / 2**20
    try:
        affinity = len(os.sched_getaffinity(0))
    except AttributeError:
        affinity = os.cpu_count()
    lines = [
        f"cpu      : {cpu} ({simd}); nproc {affinity} (os.cpu_count {os.cpu_count()})",
        "memory   : "
        + (
            f"{mem.get('MemTotal', float('nan')):.1f} GiB total, "
            f"{mem.get('MemAvailable', float('nan')):.1f} GiB available"
        ),
        f"load avg : {' '.join(_read('/proc/loadavg').split()[:3]) or 'n/a'} (1/5/15 min)",
        f"python   : {platform.python_version()} ({platform.python_implementation()}), "
        f"numpy {np.__version__}, scipy {_scipy_version()}, riskengine {riskengine.__version__}",
        f"blas     : {blas_line()}",
        f"threads  : {thread_env()}",
        f"source   : {git_line()}",
    ]
    return lines


def _scipy_version() -> str:
    import scipy

    return scipy.__version__


def blas_line() -> str:
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        pass
    else:
        infos = [
            f"{i.get('internal_api')} {i.get('version')} ({i.get('num_threads')} threads, "
            f"{i.get('threading_layer', '?')}, {i.get('architecture', '?')})"
            for i in threadpool_info()
            if i.get("user_api") == "blas"
        ]
        if infos:
            return "; ".join(infos) + " [threadpoolctl]"
    try:
        blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
        cfg = blas.get("openblas configuration", "")
        return (
            f"{blas.get('name')} {blas.get('version')} {cfg} "
            "[numpy build config; threadpoolctl not installed]"
        ).strip()
    except Exception as exc:  # numpy < 1.25 or another layout
        return f"unknown ({exc.__class__.__name__})"


def thread_env() -> str:
    names = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
    set_ = [f"{n}={os.environ[n]}" for n in names if n in os.environ]
    workers = LocalExecutor().max_workers
    return (
        (", ".join(set_) if set_ else "no *_NUM_THREADS set")
        + f"; default executor LocalExecutor({workers} workers), BLAS held to 1 thread "
        "while its workers run"
    )


def git_line() -> str:
    root = Path(__file__).resolve().parent.parent
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "src"],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "not a git checkout"
    return f"git {head}" + (" + uncommitted changes in src/" if dirty else " (src/ clean)")


# ----------------------------------------------------------------------------- riskengine


def mc(book, history, cache, seed, n_scenarios, **kw):
    return compute_risk(
        book,
        history,
        method="montecarlo",
        n_scenarios=n_scenarios,
        confidence=(CONFIDENCE,),
        horizon_days=1,
        seed=seed,
        cache=cache,
        **kw,
    )


def three_modes(label, history, books, n_scenarios, reps, *, cold_reps, base_seed, **kw):
    """Cold, warm-covariance and warm-scenario timings of one Monte Carlo configuration.

    Returns:
        (rows, measures): the three timed rows, and the RiskMeasure of every timed
        warm-covariance call (one seed each; the seed-to-seed spread checks the standard error).
    """
    rows = []
    measures = []
    nb = len(books)

    def cold(i):
        mc(books[i % nb], history, RiskCache(), base_seed, n_scenarios, **kw)

    rows.append(Row(f"{label}, cold", timed(cold, cold_reps)))

    shared = RiskCache()
    mc(books[0], history, shared, base_seed + 999, n_scenarios, **kw)  # covariance in cache

    def warm_cov(i):
        seed = base_seed + 1000 + i if i >= 0 else base_seed - i
        report = mc(portfolio_of(books, i), history, shared, seed, n_scenarios, **kw)
        if i >= 0:
            measures.append(report.measure(CONFIDENCE))

    rows.append(Row(f"{label}, warm covariance", timed(warm_cov, reps)))

    def warm_scen(i):
        mc(books[i % nb], history, shared, base_seed, n_scenarios, **kw)

    rows.append(Row(f"{label}, warm scenarios", timed(warm_scen, reps)))
    return rows, measures


def worker_rows(label, history, books, n_scenarios, reps, *, base_seed):
    """Warm-covariance timings with one worker and with the default executor, interleaved
    call by call (one worker, then all, each with a new seed) so that both see the same
    machine load.

    Returns:
        (rows, speed_ups): the two timed rows, and the per-pair ratio t(1 worker) / t(default).
    """
    one, default = LocalExecutor(1), LocalExecutor()
    cache = RiskCache()
    mc(books[0], history, cache, base_seed + 999, n_scenarios)  # covariance in cache
    t1, tn = [], []
    for i in range(-1, reps):  # i = -1: untimed warm-up of both
        times = []
        # A distinct seed per call: a repeated seed would reuse the cached scenarios.
        for k, ex in enumerate((one, default)):
            gc.collect()
            t0 = time.perf_counter()
            mc(books[0], history, cache, base_seed + 2000 + 2 * i + k, n_scenarios, executor=ex)
            times.append(time.perf_counter() - t0)
        if i >= 0:
            t1.append(times[0])
            tn.append(times[1])
    rows = [
        Row(f"{label}, warm cov, 1 worker", t1),
        Row(f"{label}, warm cov, {default.max_workers} workers", tn),
    ]
    return rows, [a / b for a, b in zip(t1, tn, strict=True)]


def portfolio_of(books, i):
    """The unscaled book for timed warm-covariance calls (their VaRs are compared across
    seeds), another one for the warm-up."""
    return books[0] if i >= 0 else books[-1]


# ----------------------------------------------------------------------------- profile


def cprofile_top(fn, n=12) -> list[str]:
    prof = cProfile.Profile()
    prof.enable()
    fn()
    prof.disable()
    st = pstats.Stats(prof)
    st.calls = None
    rows = []
    for (file, line, name), (_cc, nc, tt, ct, _callers) in st.stats.items():
        short = file.split("/src/")[-1] if "/src/" in file else Path(file).name or file
        rows.append((tt, ct, nc, f"{short}:{line}({name})" if line else name))
    rows.sort(reverse=True)
    total = sum(r[0] for r in rows)
    out = [f"  {'tottime':>9} {'cumtime':>9} {'calls':>6}  function  (total {fmt_s(total)})"]
    for tt, ct, nc, name in rows[:n]:
        out.append(f"  {fmt_s(tt):>9} {fmt_s(ct):>9} {nc:>6}  {name}")
    return out


# ----------------------------------------------------------------------------- main


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="fewer repetitions (a smoke run)")
    args = ap.parse_args(argv)
    reps = 3 if args.quick else 7
    heavy_reps = 1 if args.quick else 3
    loop_paths = 25 if args.quick else 100
    loop_reps = 1 if args.quick else 3
    wall0 = time.perf_counter()

    print("riskengine benchmark")
    extra = " ".join(sys.argv[1:])
    print(f"command  : make bench -> .venv/bin/python benchmarks/run.py {extra}".rstrip())
    for ln in machine_lines():
        print(ln)
    print(
        f"reps     : median/min/max of {reps} timed calls after 1 warm-up "
        f"({heavy_reps} for cold 100,000-path, full-revaluation cold and NumPy 100,000-path; "
        f"the Python loop {loop_reps}x on {loop_paths} paths, scaled linearly)"
    )

    t0 = time.perf_counter()
    history, portfolio = workload.seed_workload()
    gen_s = time.perf_counter() - t0
    n_opt = sum(isinstance(p.instrument, riskengine.EuropeanOption) for p in portfolio.positions)
    print(
        f"workload : {len(history.symbols)} underlyings x {len(history.dates):,} closes "
        f"({history.dates[0]} .. {history.dates[-1]}); "
        f"{len(portfolio):,} positions ({len(portfolio) - n_opt:,} stocks, {n_opt:,} European "
        f"options); generated in {fmt_s(gen_s)} from seed {workload.SEED}, fingerprint "
        f"{workload.fingerprint(history, portfolio)}"
    )
    # Distinct books of the same shape: "a new book" per call in the warm-scenario mode.
    books = [portfolio] + [portfolio.scaled(1.0 + 1e-3 * k) for k in range(1, 4)]
    print()

    rows: list[Row] = []
    accuracy: list[str] = []
    sys.stdout.write("timing riskengine Monte Carlo, grid revaluation, 10,000 paths ...\n")
    sys.stdout.flush()
    grid10, seeds10 = three_modes(
        "MC 10k grid", history, books, 10_000, reps, cold_reps=reps, base_seed=11
    )
    rows += grid10
    sys.stdout.write("timing riskengine Monte Carlo, full revaluation, 10,000 paths ...\n")
    sys.stdout.flush()
    full10, _ = three_modes(
        "MC 10k full",
        history,
        books,
        10_000,
        reps,
        cold_reps=heavy_reps,
        base_seed=11,
        revaluation="full",
    )
    rows += full10
    sys.stdout.write("timing riskengine Monte Carlo, grid revaluation, 100,000 paths ...\n")
    sys.stdout.flush()
    grid100, seeds100 = three_modes(
        "MC 100k grid", history, books, 100_000, reps, cold_reps=heavy_reps, base_seed=21
    )
    rows += grid100
    sys.stdout.write("timing 1 worker against the default executor (interleaved) ...\n")
    sys.stdout.flush()
    par10, speed10 = worker_rows("MC 10k grid", history, books, 10_000, reps, base_seed=31)
    par100, speed100 = worker_rows(
        "MC 100k grid", history, books, 100_000, heavy_reps, base_seed=41
    )
    rows += par10 + par100
    gc.collect()

    sys.stdout.write("timing riskengine historical simulation, 2,500 days ...\n")
    sys.stdout.flush()

    def hist(i, cache=None):
        return compute_risk(
            books[i % len(books)],
            history,
            method="historical",
            window=2500,
            confidence=(CONFIDENCE,),
            cache=cache if cache is not None else RiskCache(),
        )

    hist_rows = [Row("Historical 2,500d full, cold", timed(hist, reps))]
    hcache = RiskCache()
    hist_rows.append(Row("Historical 2,500d full, warm", timed(lambda i: hist(i, hcache), reps)))
    rows += hist_rows

    # ------------------------------------------------------------------ baselines
    sys.stdout.write("timing baselines (NumPy naive, plain Python loop) ...\n")
    sys.stdout.flush()
    barr = baselines.book_arrays(history, portfolio)
    cov_times = timed(lambda i: baselines.covariance_root(history, 500), reps)
    root, root_how = baselines.covariance_root(history, 500)
    cov_s = statistics.median(cov_times)

    np10 = []
    timed(
        lambda i: np10.append(baselines.numpy_naive(barr, root, 10_000, 100 + i, CONFIDENCE)), reps
    )
    np10 = np10[1:]  # drop the warm-up
    np10_t = [t for t, _ in np10]
    np100 = []
    timed(
        lambda i: np100.append(
            baselines.numpy_naive(barr, root, 100_000, 200 + i, CONFIDENCE, chunk=10_000)
        ),
        heavy_reps,
        warmup=0,  # the 10k runs above warmed it up
    )
    np100_t = [t for t, _ in np100]

    loop = []
    timed(
        lambda i: loop.append(baselines.python_loop(barr, root, loop_paths, 300 + i)),
        loop_reps,
        warmup=0,
    )
    loop_t = [t for t, _, _ in loop]
    per_path = {k: median_of(loop_t, [k]) / loop_paths for k in ("simulate", "revalue")}
    # Sorting n losses is n log n; at these sizes the sort is negligible, scaled linearly.
    per_path["measure"] = median_of(loop_t, ["measure"]) / loop_paths

    hret = baselines.window_returns(history, 2500)
    hist_np = []
    timed(lambda i: hist_np.append(_np_hist(barr, hret)), reps)
    hist_np = hist_np[1:]
    hist_sub = hret[: loop_paths * 2]
    hist_loop = []
    timed(lambda i: hist_loop.append(_loop_hist(barr, hist_sub)), loop_reps, warmup=0)
    hist_loop_scale = hret.shape[0] / hist_sub.shape[0]

    def np_base(stage_times, keys):
        return median_of(stage_times, keys)

    def loop_base(n, keys):
        return sum(per_path[k] for k in keys) * n

    for r in grid10 + full10 + grid100 + par10 + par100:
        n = 10_000 if "10k" in r.name else 100_000
        nt = np10_t if n == 10_000 else np100_t
        if r.name.endswith("cold"):
            keys, extra = ("simulate", "revalue", "measure"), cov_s
        elif r.name.endswith("warm covariance") or "warm cov," in r.name:
            keys, extra = ("simulate", "revalue", "measure"), 0.0
        else:
            keys, extra = ("revalue", "measure"), 0.0
        r.baselines = [
            ("NumPy naive", np_base(nt, keys) + extra),
            ("Python loop", loop_base(n, keys) + extra),
        ]
    hist_np_s = statistics.median(hist_np)
    hist_loop_s = statistics.median(t for t, _ in hist_loop) * hist_loop_scale
    for r in hist_rows:
        r.baselines = [("NumPy naive", hist_np_s), ("Python loop", hist_loop_s)]

    # ------------------------------------------------------------------ accuracy
    sys.stdout.write("accuracy checks ...\n")
    sys.stdout.flush()
    acc_cache = RiskCache()
    for n, seed in ((10_000, 11), (100_000, 21)):
        g = mc(portfolio, history, acc_cache, seed, n)
        gm = g.measure(CONFIDENCE)
        bound = g.parameters.get("revaluation_error_bound", float("nan"))
        if n == 10_000 or not args.quick:
            f = mc(portfolio, history, acc_cache, seed, n, revaluation="full")
            fm = f.measure(CONFIDENCE)
            dv = gm.value_at_risk - fm.value_at_risk
            de = gm.expected_shortfall - fm.expected_shortfall
            ok = abs(dv) <= bound and abs(de) <= bound
            accuracy.append(
                f"grid vs full, {n:,} paths (seed {seed}): VaR {gm.value_at_risk:,.0f} vs "
                f"{fm.value_at_risk:,.0f} (diff {dv:+,.1f}), ES diff {de:+,.1f}; "
                f"revaluation_error_bound {bound:,.1f} "
                f"({bound / fm.value_at_risk:.1e} of VaR) -> {'within' if ok else 'VIOLATED'}"
            )
        base = np10 if n == 10_000 else np100
        ours = seeds10 if n == 10_000 else seeds100
        accuracy.append(seed_comparison(n, ours, [m for _, m in base]))
        accuracy.append(
            f"   riskengine: matrix_root {g.parameters.get('matrix_root')}, "
            f"flags {[d['code'] for d in g.data_quality] or 'none'}; baseline root {root_how}"
        )
    nw = LocalExecutor().max_workers
    same = []
    for w in (1, nw):  # fresh caches: each draws its own scenarios
        r = mc(portfolio, history, RiskCache(), 12, 10_000, executor=LocalExecutor(w))
        m = r.measure(CONFIDENCE)
        same.append(
            (
                m.value_at_risk,
                m.expected_shortfall,
                m.value_at_risk_standard_error,
                m.expected_shortfall_standard_error,
                r.pnl_histogram,
            )
        )
    accuracy.append(
        f"1 worker vs {nw} workers, 10,000 paths, seed 12, fresh caches: VaR, ES, their "
        "standard errors and the P&L histogram "
        + ("identical to the last bit" if same[0] == same[1] else "DIFFER")
        + f" (VaR {same[0][0]:,.2f} vs {same[1][0]:,.2f})"
    )
    h = hist(0, hcache).measure(CONFIDENCE)
    _, hist_pnl_np = _np_hist_pnl(barr, hret)
    hv, he, _ = baselines.var_es(hist_pnl_np, CONFIDENCE)
    accuracy.append(
        f"historical 2,500d, same scenarios: riskengine VaR {h.value_at_risk:,.2f} ES "
        f"{h.expected_shortfall:,.2f} vs NumPy VaR {hv:,.2f} ES {he:,.2f} (rel. diff "
        f"{abs(h.value_at_risk - hv) / abs(hv):.1e}, "
        f"{abs(h.expected_shortfall - he) / abs(he):.1e})"
    )
    _, loop_pnl, loop_paths_ = loop[-1]
    np_pnl = baselines.numpy_revalue(barr, np.asarray(loop_paths_))
    from riskengine.pricing.compiled import compile_book  # the same paths through riskengine

    cb = compile_book(
        portfolio,
        history.last_date,
        {s: j for j, s in enumerate(history.symbols)},
        history.prices[-1].copy(),
        1,
    )
    re_pnl = cb.pnl(np.asarray(loop_paths_))
    scale = np.abs(np_pnl).max()
    accuracy.append(
        f"same {len(loop_pnl)} paths through all three revaluations: max |Python loop - NumPy| "
        f"{np.abs(np.asarray(loop_pnl) - np_pnl).max():.2e}, max |riskengine full - NumPy| "
        f"{np.abs(re_pnl - np_pnl).max():.2e} (P&L scale {scale:,.0f})"
    )

    # ------------------------------------------------------------------ profile
    sys.stdout.write("profiling the warm-covariance 10,000-path case ...\n\n")
    sys.stdout.flush()
    pcache = RiskCache()
    mc(portfolio, history, pcache, 5, 10_000)
    mc(portfolio, history, pcache, 5, 100_000)

    def profiled(n):
        def call(seed, executor):
            riskengine.pipeline.compute_risk(
                portfolio,
                history,
                method="montecarlo",
                n_scenarios=n,
                confidence=(CONFIDENCE,),
                horizon_days=1,
                seed=seed,
                cache=pcache,
                executor=executor,
            )

        return call

    prof10 = stages.breakdown(profiled(10_000), range(500, 500 + reps))
    prof100 = stages.breakdown(profiled(100_000), range(600, 600 + heavy_reps))
    # cProfile sees only the thread it runs in: one worker keeps the blocks in this thread.
    one = LocalExecutor(1)
    top = cprofile_top(
        lambda: [mc(portfolio, history, pcache, 700 + i, 10_000, executor=one) for i in range(3)]
    )

    sys.stdout.write("timing the floor: normals and root product alone, 10,000 paths ...\n")
    sys.stdout.flush()
    floor_executor = LocalExecutor()
    floor_times = timed(
        lambda i: baselines.simulation_floor(root, 10_000, 900 + i, floor_executor), reps
    )
    floor10 = statistics.median(floor_times)
    sys.stdout.write("peak memory of 100,000- and 1,000,000-path runs (subprocesses) ...\n\n")
    sys.stdout.flush()
    memory = [memory_run(n) for n in MEMORY_PATHS]

    # ------------------------------------------------------------------ report
    print_table(rows)
    print()
    print(
        "Targets (10,000 paths, warm covariance, grid): "
        + target_line(grid10[1].median, TARGET_10K_S, GOAL_10K_S)
        + f"; 100,000 paths warm covariance {fmt_s(grid100[1].median)} vs goal "
        f"{fmt_s(GOAL_100K_S)} ("
        + (
            "met"
            if grid100[1].median < GOAL_100K_S
            else f"missed by {fmt_s(grid100[1].median - GOAL_100K_S)}, "
            f"x{grid100[1].median / GOAL_100K_S:.2f}"
        )
        + ")"
    )
    ratio = grid10[1].median / floor10
    print(
        f"Floor (10,000 paths: the normals and the root product alone, same blocks and "
        f"workers): {fmt_s(floor10)}; warm covariance {fmt_s(grid10[1].median)} is "
        f"x{ratio:.2f} the floor (target x{FLOOR_RATIO_TARGET:.2f}: "
        + ("met" if ratio <= FLOOR_RATIO_TARGET else "MISSED")
        + ")"
    )
    print()
    print("Baselines (same inputs, same model, their own random numbers):")
    print(
        f"  covariance + root (NumPy, window 500): {fmt_s(cov_s)} ({root_how}); added to "
        "every baseline in the cold rows"
    )
    for label, t in (("NumPy naive 10k", np10_t), ("NumPy naive 100k (10k-path chunks)", np100_t)):
        print(
            f"  {label}: simulate {fmt_s(median_of(t, ['simulate']))}, revalue "
            f"{fmt_s(median_of(t, ['revalue']))}, measure {fmt_s(median_of(t, ['measure']))}"
        )
    print(
        f"  Python loop: {per_path['simulate'] * 1e3:.2f} ms/path simulate, "
        f"{per_path['revalue'] * 1e3:.2f} ms/path revalue (median of {loop_reps} runs on "
        f"{loop_paths} paths, scaled linearly to 10,000 and 100,000 paths)"
    )
    print(
        f"  historical: NumPy {fmt_s(hist_np_s)}; Python loop {fmt_s(hist_loop_s)} "
        f"(timed on {hist_sub.shape[0]} of {hret.shape[0]} scenarios, scaled linearly)"
    )
    print()
    print("Accuracy:")
    for ln in accuracy:
        print("  " + ln)
    print()
    print_speed_up(par10, speed10, par100, speed100)
    print()
    print_profile(prof10, prof100, reps, heavy_reps)
    print()
    print_memory(memory)
    print()
    print(
        "cProfile, 3 warm-covariance 10,000-path calls with 1 worker, by own time (NumPy "
        "ufuncs and Generator methods\nare not seen by cProfile: their time is in the calling "
        "function's tottime):"
    )
    for ln in top:
        print(ln)
    print()
    print(
        f"load avg at end: {' '.join(_read('/proc/loadavg').split()[:3]) or 'n/a'}; "
        f"benchmark wall time {fmt_s(time.perf_counter() - wall0)}"
    )
    return 0


def seed_comparison(n: int, ours, theirs) -> str:
    """riskengine's VaR vs the NumPy baseline's, each averaged over its own seeds.

    Args:
        ours: RiskMeasure per riskengine seed; theirs: (VaR, ES, SE) per baseline seed.
    """
    a = [m.value_at_risk for m in ours]
    a_se = [m.value_at_risk_standard_error or math.nan for m in ours]
    b = [v for v, _, _ in theirs]
    b_se = [s for _, _, s in theirs]
    ma, mb = statistics.fmean(a), statistics.fmean(b)
    se = math.hypot(
        statistics.fmean(a_se) / math.sqrt(len(a)), statistics.fmean(b_se) / math.sqrt(len(b))
    )
    z = (ma - mb) / se
    spread = ""
    if len(a) > 2 and len(b) > 2:
        spread = (
            f"; seed-to-seed sd of VaR: riskengine {statistics.stdev(a):,.0f} vs its reported "
            f"SE {statistics.fmean(a_se):,.0f}, NumPy {statistics.stdev(b):,.0f} vs "
            f"{statistics.fmean(b_se):,.0f}"
        )
    return (
        f"riskengine vs NumPy naive, {n:,} paths: mean VaR {ma:,.0f} ({len(a)} seeds) vs "
        f"{mb:,.0f} ({len(b)} seeds); diff {ma - mb:+,.0f} = {z:+.2f} combined SE of the "
        f"means -> {'agree' if abs(z) < 3 else 'DISAGREE'} (|z| < 3){spread}"
    )


def print_profile(prof10, prof100, reps, heavy_reps) -> None:
    (s10, t10, missing), (s100, t100, _) = prof10, prof100
    e10, e100 = statistics.median(t10), statistics.median(t100)
    print(
        "Where the time goes: Monte Carlo, grid revaluation, warm covariance (new seed per "
        f"call), own time per stage,\nmedian of {reps} calls (10,000 paths) and {heavy_reps} "
        "(100,000 paths), instrumented on the real code path (benchmarks/stages.py).\n"
        "Taken with executor=LocalExecutor(1): the blocks run one after the other in the "
        "calling thread (BLAS held to\n1 thread as under the parallel executor), so the own "
        "times add up to the wall time. With 2 workers the\nblocks' stages overlap; the "
        "parallel speed-up is measured end to end above."
    )
    print(f"  {'stage':<52} {'10k':>9} {'share':>6}  {'100k':>9} {'share':>6}")
    labels = [k for k in stages.ORDER if k in s10 or k in s100]
    for k in labels:
        a = statistics.median(s10.get(k, [0.0]))
        b = statistics.median(s100.get(k, [0.0]))
        print(
            f"  {k:<52} {fmt_s(a):>9} {100 * a / e10:5.1f}%  {fmt_s(b):>9} {100 * b / e100:5.1f}%"
        )
    print(
        f"  {'end-to-end (instrumented, 1 worker)':<52} {fmt_s(e10):>9} {'':>6}  {fmt_s(e100):>9}"
    )
    if missing:
        print(f"  not instrumented (no longer in riskengine): {', '.join(missing)}")


def print_speed_up(par10, speed10, par100, speed100) -> None:
    print(
        "Parallel speed-up, warm covariance, grid: 1 worker vs the default executor, timed "
        "alternately, a new seed\nper call (uninstrumented); ratio = t(1 worker) / "
        "t(default) per consecutive pair:"
    )
    for (one, many), sp in ((par10, speed10), (par100, speed100)):
        print(
            f"  {one.name.split(',')[0]}: 1 worker median {fmt_s(one.median)} (min "
            f"{fmt_s(min(one.times))}), {many.name.rsplit(', ', 1)[1]} median "
            f"{fmt_s(many.median)} (min {fmt_s(min(many.times))}); speed-up median "
            f"x{statistics.median(sp):.2f} (range x{min(sp):.2f}-x{max(sp):.2f}), ratio of "
            f"mins x{min(one.times) / min(many.times):.2f}"
        )


MEMORY_PATHS = (100_000, 1_000_000)


def memory_run(paths: int) -> dict | str:
    """Run ``memory.py`` in a fresh process; its JSON, or why it failed."""
    import json

    try:
        out = subprocess.run(
            [sys.executable, str(HERE / "memory.py"), "--paths", str(paths)],
            capture_output=True,
            text=True,
            timeout=900,
            check=True,
        ).stdout
        return json.loads(out.strip().splitlines()[-1])
    except (OSError, subprocess.SubprocessError, ValueError, IndexError) as exc:
        return f"failed: {exc.__class__.__name__}: {str(exc)[:200]}"


def print_memory(runs: list[dict | str]) -> None:
    print(
        "Peak memory, grid, warm covariance, default executor, each in a fresh process "
        "(benchmarks/memory.py);\npeak = VmHWM, the high-water mark of the process's "
        "resident set:"
    )
    for m in runs:
        if isinstance(m, str):
            print(f"  {m}")
            continue
        full_gib = m["paths"] * m["n_columns"] * 4 / 2**30
        kept = full_gib * 2**10 <= m["scenario_cache_mib"]
        print(
            f"  {m['paths']:,} paths ({m['n_blocks']} blocks of {m['block_size']:,}, "
            f"{m['workers']} workers): time {fmt_s(m['seconds'])}; peak RSS "
            f"{m['peak_after_mib']:,.0f} MiB after the run, {m['peak_before_mib']:,.0f} MiB "
            f"before it (workload + one 10,000-path call): "
            f"+{m['peak_after_mib'] - m['peak_before_mib']:,.0f} MiB\n"
            f"    VaR {m['var']:,.0f} (SE {m['var_se']:,.0f}), ES {m['es']:,.0f}; the "
            f"scenario set ({m['paths']:,} x {m['n_columns']} float32) is "
            f"{full_gib * 2**10:,.0f} MiB: "
            + (
                f"kept in the {m['scenario_cache_mib']:,.0f} MiB scenario cache for the next book"
                if kept
                else f"over the {m['scenario_cache_mib']:,.0f} MiB scenario cache, streamed "
                "block by block"
            )
        )


def _np_hist_pnl(barr, hret):
    t0 = time.perf_counter()
    pnl = baselines.numpy_revalue(barr, hret)
    return time.perf_counter() - t0, pnl


def _np_hist(barr, hret) -> float:
    t0 = time.perf_counter()
    pnl = baselines.numpy_revalue(barr, hret)
    baselines.var_es(pnl, CONFIDENCE)
    return time.perf_counter() - t0


def _loop_hist(barr, sub):
    t0 = time.perf_counter()
    pnl = baselines.python_revalue(barr, sub.tolist())
    sorted(-x for x in pnl)
    return time.perf_counter() - t0, pnl


def target_line(t: float, target: float, goal: float) -> str:
    s = f"{fmt_s(t)} vs target {fmt_s(target)} / goal {fmt_s(goal)}: "
    if t < goal:
        return s + "goal met"
    if t < target:
        return s + f"target met, goal missed by {fmt_s(t - goal)} (x{t / goal:.2f})"
    return s + f"target missed by {fmt_s(t - target)} (x{t / target:.2f} the target)"


def print_table(rows: list[Row]) -> None:
    head = (
        f"{'case':<34} {'median':>9} {'min':>9} {'max':>9} {'n':>2}  "
        f"{'NumPy naive':>11} {'ratio':>6}  {'Python loop':>11} {'ratio':>7}"
    )
    print(head)
    print("-" * len(head))
    for r in rows:
        cells = []
        for _, b in r.baselines:
            cells.append(f"{fmt_s(b):>11} {r.median / b:>6.3f}" if b > 0 else f"{'':>11} {'':>6}")
        while len(cells) < 2:
            cells.append(f"{'':>11} {'':>6}")
        print(
            f"{r.name:<34} {fmt_s(r.median):>9} {fmt_s(min(r.times)):>9} "
            f"{fmt_s(max(r.times)):>9} {len(r.times):>2}  {cells[0]}  {cells[1]}"
        )
    print(
        "modes: cold = a fresh RiskCache per call; warm covariance = a shared RiskCache and a "
        "new seed per call\n(scenarios regenerated); warm scenarios = shared cache, same seed, "
        "another book (scenarios reused).\n"
        "ratio = riskengine median / baseline median (below 1: riskengine faster). Baselines "
        "are compared like with like:\ncold = covariance + simulate + revalue + measure; warm "
        "covariance = simulate + revalue + measure; warm scenarios = revalue + measure.\n"
        "Both baselines revalue options fully (no grid); Python loop figures are scaled from "
        "a subset of paths.\nriskengine runs its blocks on the default executor (one "
        "worker per CPU) unless the row says 1 worker;\nthe NumPy baseline is single-threaded "
        "apart from BLAS in its matrix product. The machine is shared and\nnoisy: load shows "
        "up as slow outliers (see max); min is the best estimate of the uncontended cost."
    )


if __name__ == "__main__":
    raise SystemExit(main())
