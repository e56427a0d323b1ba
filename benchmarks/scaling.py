"""Benchmark: how the cost of ``compute_risk`` grows with names, positions and paths.

A listed grid of cases (``CASES``: names, positions, method, Monte Carlo paths, factor model,
contributions) varies one axis at a time from a base of 500 names / 5,000 positions / 10,000
paths: the names axis (500 to 10,000) at 50,000 positions, the positions axis (5,000 to
200,000) at 500 names, the paths axis (10,000 to 1,000,000) at 500 names and 5,000 positions,
each with and without the full decomposition (``contributions=True``, ``contribution_detail=
"full"``), and the names axis again with ``factor_model="pca"`` (parametric and Monte Carlo,
2,000 to 10,000 names). Books from ``workload(n_underlyings, n_positions)`` (one fifth
options); 99%, seed 7.

Each case runs in a fresh child process: it builds the workload (not timed), makes one warm-up
call (not timed; it fits the covariance into a ``RiskCache`` that the timed calls share: warm
covariance), then ``--reps`` timed calls (a different seed per call for Monte Carlo), and
reports their median and min, its peak resident memory (ru_maxrss, workload included) and the
VaR of the warm-up call. A case has ``--cap`` seconds (default 60) from the moment its workload
is built, warm-up included: it does the reps that fit, and a child still running at the cap is
killed ("over 60 s"). A child that asks for more than ``--mem-cap`` GiB of address space stops
("over N GiB"). The script then fits the growth exponent of each series along each axis: the
least-squares slope of log(median) against log(size).

Run with ``.venv/bin/python benchmarks/scaling.py [--cap S] [--reps N] [--only SUBSTRING]
[--quick] [--markdown FILE] [--mem-cap GIB] [--list]``; ``--quick`` is a 3-case smoke grid at
small sizes, ``--list`` prints the labels. The whole grid (45 cases) takes at most about 50
minutes on 2 cores, most of it in the cases that reach the cap.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import queue
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
TAG = "@@scaling "  # prefix of the child's JSON lines on stdout
BUILD_LIMIT_S = 300.0  # workload generation is not capped by --cap, but a hung build is killed

H, P, MC = "historical", "parametric", "montecarlo"
# (n_underlyings, n_positions, method, n_scenarios or None, factor_model, contributions)
CASES: list[tuple[int, int, str, int | None, str, bool]] = [
    # names axis at 50,000 positions, risk only
    *[(n, 50_000, H, None, "full", False) for n in (500, 2_000, 5_000, 10_000)],
    *[(n, 50_000, P, None, "full", False) for n in (500, 2_000, 5_000, 10_000)],
    *[(n, 50_000, MC, 10_000, "full", False) for n in (500, 2_000, 5_000, 10_000)],
    # names axis at 50,000 positions, full contributions
    *[(n, 50_000, H, None, "full", True) for n in (500, 5_000)],
    *[(n, 50_000, P, None, "full", True) for n in (500, 5_000)],
    *[(n, 50_000, MC, 10_000, "full", True) for n in (500, 2_000, 5_000, 10_000)],
    # names axis with the PCA factor model
    *[(n, 50_000, P, None, "pca", False) for n in (2_000, 5_000, 10_000)],
    *[(n, 50_000, MC, 10_000, "pca", False) for n in (2_000, 5_000, 10_000)],
    (5_000, 50_000, MC, 10_000, "pca", True),
    # positions axis at 500 names (the 50,000 points are above)
    *[(500, p, H, None, "full", c) for p in (5_000, 200_000) for c in (False, True)],
    *[(500, p, P, None, "full", c) for p in (5_000, 200_000) for c in (False, True)],
    *[(500, p, MC, 10_000, "full", c) for p in (5_000, 200_000) for c in (False, True)],
    # paths axis at 500 names / 5,000 positions (the 10,000 points are above)
    *[(500, 5_000, MC, s, "full", c) for s in (100_000, 1_000_000) for c in (False, True)],
    # the largest books
    (10_000, 200_000, H, None, "full", False),
    (10_000, 200_000, MC, 10_000, "full", False),
]
QUICK: list[tuple[int, int, str, int | None, str, bool]] = [
    (100, 1_000, MC, 2_000, "full", True),
    (200, 1_000, MC, 2_000, "full", True),
    (200, 1_000, P, None, "pca", False),
]
AXES = {"names": 0, "positions": 1, "paths": 3}


def short(n: int) -> str:
    """500 -> '500', 5000 -> '5k', 1000000 -> '1m'."""
    if n >= 1_000_000 and n % 1_000_000 == 0:
        return f"{n // 1_000_000}m"
    return f"{n // 1000}k" if n >= 1000 and n % 1000 == 0 else str(n)


def label(case) -> str:
    names, positions, method, paths, fm, contrib = case
    mid = f"{method}-{short(paths)}" if paths else method
    return f"n{short(names)}-p{short(positions)}-{mid}-{fm}-{'contrib' if contrib else 'risk'}"


# -- child ---------------------------------------------------------------------------------


def emit(**fields) -> None:
    import resource

    fields["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB
    print(TAG + json.dumps(fields), flush=True)


def child(case, reps: int, cap: float, mem_cap_gib: float) -> None:
    """One case in this (child) process; its figures go to stdout as tagged JSON lines."""
    import resource

    if mem_cap_gib > 0:
        limit = int(mem_cap_gib * 2**30)
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    sys.path.insert(0, str(HERE))
    import workload
    from riskengine import RiskCache, compute_risk
    from riskengine.errors import InputError

    names, positions, method, paths, fm, contrib = case
    t0 = time.perf_counter()
    history, book = workload.workload(names, positions)
    emit(ready=time.perf_counter() - t0)
    start = time.perf_counter()  # the cap's clock (the parent's starts at the same line)
    kw: dict = dict(method=method, confidence=(0.99,), contributions=contrib)
    if contrib:
        kw["contribution_detail"] = "full"
    if paths:
        kw["n_scenarios"] = paths
    if fm != "full":
        kw["factor_model"] = fm
    cache = RiskCache()
    try:
        t0 = time.perf_counter()
        report = compute_risk(book, history, cache=cache, seed=7, **kw)
    except InputError as exc:
        if str(exc).startswith("unknown parameter(s)"):
            emit(na="n/a (no factor_model)")
            return
        raise
    except MemoryError:
        emit(na=f"over {mem_cap_gib:g} GiB")
        return
    warm = time.perf_counter() - t0
    emit(warmup=warm, var=report.measure(0.99).value_at_risk)
    times: list[float] = []
    for rep in range(reps):
        guess = min(times) if times else warm  # the warm-up also fits the covariance
        if times and time.perf_counter() - start + guess > cap:
            break  # the next rep would not fit in the cap
        t0 = time.perf_counter()
        try:
            compute_risk(book, history, cache=cache, seed=7 + rep + 1, **kw)
        except MemoryError:
            emit(na=f"over {mem_cap_gib:g} GiB")
            return
        times.append(time.perf_counter() - t0)
        emit(rep=times[-1])


# -- parent --------------------------------------------------------------------------------


def run_case(case, args) -> dict:
    """Run ``case`` in a child; returns its figures or ``{"status": why not}``."""
    cmd = [sys.executable, __file__, "--child", json.dumps(case), "--reps", str(args.reps)]
    cmd += ["--cap", str(args.cap), "--mem-cap", str(args.mem_cap)]
    lines: queue.Queue = queue.Queue()
    out: dict = {"times": [], "peak_mb": float("nan")}
    with tempfile.TemporaryFile("w+") as err:
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=err, text=True)

        def pump() -> None:
            for ln in proc.stdout or ():
                lines.put(ln)
            lines.put(None)

        threading.Thread(target=pump, daemon=True).start()
        deadline = time.monotonic() + BUILD_LIMIT_S
        while True:
            try:
                ln = lines.get(timeout=max(deadline - time.monotonic(), 0.0))
            except queue.Empty:
                proc.kill()
                proc.wait()
                if "build_s" not in out:
                    out["status"] = f"workload over {BUILD_LIMIT_S:.0f} s"
                elif not out["times"]:
                    out["status"] = f"over {args.cap:g} s"
                break
            if ln is None:
                break
            if not ln.startswith(TAG):
                continue
            msg = json.loads(ln[len(TAG) :])
            out["peak_mb"] = msg["peak_mb"]
            if "ready" in msg:
                out["build_s"] = msg["ready"]
                deadline = time.monotonic() + args.cap
            elif "na" in msg:
                out["status"] = msg["na"]
            elif "warmup" in msg:
                out["warmup"], out["var"] = msg["warmup"], msg["var"]
            elif "rep" in msg:
                out["times"].append(msg["rep"])
        if proc.wait() != 0 and "status" not in out and not out["times"]:
            err.seek(0)
            tail = err.read().strip().splitlines()
            out["status"] = f"FAILED: {tail[-1] if tail else f'exit {proc.returncode}'}"
    if "status" not in out and not out["times"]:
        out["status"] = f"over {args.cap:g} s"
    return out


def machine_line() -> str:
    mem = "?"
    try:
        for ln in Path("/proc/meminfo").read_text().splitlines():
            if ln.startswith("MemTotal:"):
                mem = f"{int(ln.split()[1]) / 2**20:.1f} GiB"
    except OSError:
        pass
    return (
        f"machine: {platform.platform()}, {platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} CPUs, memory {mem}, Python {platform.python_version()}; "
        f"load average {os.getloadavg()[0]:.2f} at the start"
    )


HEAD = (
    "names", "positions (options)", "method", "paths", "factor model", "contributions",
    "median s", "min s", "reps", "peak MiB", "VaR 99%",
)  # fmt: skip


def row(case, r: dict, reps: int) -> list[str]:
    names, positions, method, paths, fm, contrib = case
    cells = [
        f"{names:,}",
        f"{positions:,} ({positions // 5:,})",
        method,
        f"{paths:,}" if paths else "-",
        fm,
        "full" if contrib else "no",
    ]
    if r["times"]:
        n = len(r["times"])
        cells += [
            f"{statistics.median(r['times']):.3f}",
            f"{min(r['times']):.3f}",
            str(n) if n == reps else f"{n} of {reps}",
        ]
    else:
        cells += [r["status"], "", ""]
    peak = r["peak_mb"]
    cells.append("" if math.isnan(peak) else f"{peak:,.0f}")
    cells.append(f"{r['var']:,.0f}" if "var" in r else "")
    return cells


def exponents(results) -> list[tuple[str, str, str, int, str]]:
    """(axis, series, range, points, slope) for each series with >= 2 finished points."""
    fits = []
    for axis, i in AXES.items():
        groups: dict[tuple, list[tuple[int, float]]] = {}
        for case, r in results:
            if r["times"] and case[i]:
                key = case[:i] + case[i + 1 :]
                groups.setdefault(key, []).append((case[i], statistics.median(r["times"])))
        for key, pts in groups.items():
            pts = sorted(set(pts))
            if len({x for x, _ in pts}) < 2:
                continue
            xs = [math.log(x) for x, _ in pts]
            ys = [math.log(y) for _, y in pts]
            mx, my = statistics.fmean(xs), statistics.fmean(ys)
            slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sum(
                (x - mx) ** 2 for x in xs
            )
            full = list(key[:i]) + [None] + list(key[i:])
            names, positions, method, paths, fm, contrib = full
            sizes = (("names", names), ("positions", positions), ("paths", paths))
            fixed = [f"{short(v)} {a}" for a, v in sizes if a != axis and v]
            series = (
                f"{method}, {fm}, {'contributions' if contrib else 'risk only'} "
                f"({', '.join(fixed)})"
            )
            span = f"{short(pts[0][0])}..{short(pts[-1][0])}"
            fits.append((axis, series, span, len(pts), f"{slope:.2f}"))
    return fits


def table(rows: list[list[str]], head) -> str:
    widths = [max(len(str(c)) for c in col) for col in zip(head, *rows, strict=True)]
    fmt = "  ".join(f"{{:<{w}}}" if j < 6 else f"{{:>{w}}}" for j, w in enumerate(widths))
    return "\n".join(fmt.format(*r) for r in [list(head), *rows])


def markdown(rows: list[list[str]], head) -> str:
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    return "\n".join(lines + ["| " + " | ".join(r) + " |" for r in rows])


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cap", type=float, default=60.0, help="seconds per case (default 60)")
    ap.add_argument("--reps", type=int, default=5, help="timed calls per case (default 5)")
    ap.add_argument("--only", help="run only the cases whose label contains this")
    ap.add_argument("--quick", action="store_true", help="a 3-case smoke grid, reps 1")
    ap.add_argument("--markdown", help="also write the table as markdown to this file")
    ap.add_argument("--mem-cap", type=float, default=12.0, help="GiB per child (0: no cap)")
    ap.add_argument("--list", action="store_true", help="print the cases' labels and stop")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        child(tuple(json.loads(args.child)), args.reps, args.cap, args.mem_cap)
        return 0
    cases = QUICK if args.quick else CASES
    if args.quick:
        args.reps = 1
    if args.only:
        cases = [c for c in cases if args.only in label(c)]
    if args.list or not cases:
        print("\n".join(label(c) for c in cases) or f"no case matches {args.only!r}")
        return 0
    print("command: .venv/bin/python benchmarks/scaling.py " + " ".join(sys.argv[1:]))
    print(machine_line())
    print(
        f"{len(cases)} cases, each in its own process: workload built (not timed), one warm-up "
        f"call (warm covariance), {args.reps} timed call(s); cap {args.cap:g} s per case from "
        f"the built workload, {args.mem_cap:g} GiB of address space; 99%, seed 7\n"
    )
    results, rows = [], []
    for case in cases:
        r = run_case(case, args)
        results.append((case, r))
        rows.append(row(case, r, args.reps))
        build = f"workload {r['build_s']:.1f} s" if "build_s" in r else "no workload"
        warm = f", warm-up {r['warmup']:.2f} s" if "warmup" in r else ""
        print(f"  {label(case):<44} {build}{warm}: {rows[-1][6]}", flush=True)
    print()
    print(table(rows, HEAD))
    fits = exponents(results)
    fit_head = ("axis", "series", "range", "points", "exponent")
    fit_rows = [[str(c) for c in f] for f in fits]
    print("\ngrowth exponents (slope of log median time against log size):")
    print(table(fit_rows, fit_head) if fits else "  none: no axis has 2 finished points")
    print(f"\nload average {os.getloadavg()[0]:.2f} at the end")
    if args.markdown:
        text = markdown(rows, HEAD)
        if fits:
            text += "\n\nGrowth exponents:\n\n" + markdown(fit_rows, fit_head)
        Path(args.markdown).write_text(text + "\n")
    return 0  # figures only: a case over the cap must not stop the other benchmarks


if __name__ == "__main__":
    sys.exit(main())
