"""Benchmark: FRTB internal-model capital (``compute_frtb``) of the benchmark workload.

For each case it times, after a warm-up, the median over repetitions of ``compute_frtb`` (the
stressed-window search over the whole history, the current windows of the last 60 days, the
desk backtest and PLA) and, as the baseline measured in the same run, one ``compute_risk``
historical 10-day 97.5% ES of the same book (one window, one liquidity bucket). Cases:

* ``defaults``: every factor at the default liquidity horizon (10 days), the reduced set every
  factor (all have history from the first date);
* ``buckets``: factor i at liquidity horizon (10, 20, 40, 60, 120)[i % 5] and a reduced set of
  half the factors, so every ES is computed for five buckets and two factor sets.

Run with ``.venv/bin/python benchmarks/frtb.py [--repeat N] [--sizes 500:5000,2000:20000]``.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "benchmarks"))

from riskengine import compute_risk  # noqa: E402
from riskengine.cache import RiskCache  # noqa: E402
from riskengine.pipeline import compute_frtb  # noqa: E402
from workload import workload  # noqa: E402

HORIZONS = (10, 20, 40, 60, 120)


def median_time(fn, repeat: int) -> tuple[float, object]:
    fn()  # warm-up
    times, out = [], None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--sizes", default="500:5000,2000:20000", help="names:positions,...")
    args = ap.parse_args(argv)
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} CPUs, Python "
        f"{platform.python_version()}, NumPy {np.__version__}; medians of {args.repeat}"
    )
    print(
        f"{'names':>6} {'positions':>9} {'case':<9} {'compute_frtb':>12} {'one ES':>8} "
        f"{'ratio':>6}  stressed window"
    )
    for size in args.sizes.split(","):
        names, positions = (int(x) for x in size.split(":"))
        history, book = workload(names, positions)
        symbols = sorted({p.instrument.factor for p in book.positions})
        cache = RiskCache()
        base, _ = median_time(
            lambda h=history, b=book, c=cache: compute_risk(
                b, h, method="historical", horizon_days=10, confidence=0.975, window=250, cache=c
            ),
            args.repeat,
        )
        cases = {
            "defaults": {},
            "buckets": {
                "mapping": {
                    s: {"risk_class": "equity", "liquidity_horizon": HORIZONS[i % 5]}
                    for i, s in enumerate(symbols)
                },
                "reduced_set": symbols[::2],
            },
        }
        for case, kw in cases.items():
            t, report = median_time(
                lambda h=history, b=book, kw=kw: compute_frtb(b, h, **kw), args.repeat
            )
            sw = report.stressed_window
            print(
                f"{names:>6} {positions:>9} {case:<9} {t:>11.3f}s {base:>7.3f}s "
                f"{t / base:>5.1f}x  {sw['start']} .. {sw['end']}"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
