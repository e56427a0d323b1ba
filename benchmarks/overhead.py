"""Benchmark: the per-call overhead of ``compute_risk`` on the simplest job (issue "No
overhead"): a linear book of 2,000 stocks, a 2,500-day window, historical 99% VaR and ES.

Baselines measured in the same run (medians of ``--repeat``):

* the numpy one-liner on the window's returns: ``pnl = R @ w``, then ``np.partition`` of the
  losses (VaR) and the tail mean (ES);
* "numpy from prices": the returns from the prices, then the same.

``compute_risk`` is timed warm (the second and later calls on the same history, one
``RiskCache``) and cold (a new history object, as after loading a file). Targets: warm <= 5x the
one-liner, cold <= 3x numpy from prices.

Run with ``.venv/bin/python benchmarks/overhead.py [--repeat N]``.
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

from riskengine import Equity, FactorHistory, Portfolio, Position, compute_risk  # noqa: E402
from riskengine.cache import RiskCache  # noqa: E402

N_ASSETS, N_DAYS, C = 2000, 2500, 0.99


def median_time(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=15)
    args = ap.parse_args(argv)
    rng = np.random.default_rng(1)
    prices = 50 * np.exp(np.cumsum(rng.normal(0, 0.01, (N_DAYS + 1, N_ASSETS)), axis=0))
    dates = np.datetime64("2010-01-04") + np.arange(N_DAYS + 1)
    symbols = tuple(f"S{i}" for i in range(N_ASSETS))
    book = Portfolio(tuple(Position(f"p{i}", Equity(s), 100.0) for i, s in enumerate(symbols)))
    kw = {"method": "historical", "window": N_DAYS, "confidence": (C,), "contributions": False}
    w = 100.0 * prices[-1]
    returns = prices[1:] / prices[:-1] - 1.0
    k = int(np.ceil(C * N_DAYS - 1e-9)) - 1

    def measures(r):
        losses = -(r @ w)
        part = np.partition(losses, k)
        return part[k], part[k + 1 :].mean()

    one_liner = median_time(lambda: measures(returns), args.repeat)
    from_prices = median_time(lambda: measures(prices[1:] / prices[:-1] - 1.0), args.repeat)
    history = FactorHistory(dates, symbols, prices)
    cache = RiskCache()
    compute_risk(book, history, cache=cache, **kw)
    warm = median_time(lambda: compute_risk(book, history, cache=cache, **kw), args.repeat)

    def cold():
        fresh = FactorHistory(dates.copy(), symbols, prices.copy())
        compute_risk(book, fresh, **kw)

    cold_t = median_time(cold, max(3, args.repeat // 5))
    report = compute_risk(book, history, cache=cache, **kw)
    var, es = measures(returns)
    m = report.measures[0]
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} CPUs, Python "
        f"{platform.python_version()}, NumPy {np.__version__}; medians"
    )
    print(f"{N_ASSETS} stocks, {N_DAYS}-day window, historical {C:.0%} VaR and ES")
    print(f"numpy one-liner (R @ w, partition)      {one_liner * 1e3:8.2f} ms")
    print(f"numpy from prices (returns, then same)  {from_prices * 1e3:8.2f} ms")
    print(f"compute_risk warm                       {warm * 1e3:8.2f} ms  "
          f"{warm / one_liner:5.1f}x the one-liner (target <= 5x)")  # fmt: skip
    print(f"compute_risk cold                       {cold_t * 1e3:8.2f} ms  "
          f"{cold_t / from_prices:5.1f}x numpy from prices (target <= 3x)")  # fmt: skip
    print(f"same numbers: VaR {m.value_at_risk:.6f} vs {var:.6f}, ES {m.expected_shortfall:.6f} "
          f"vs {es:.6f}")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
