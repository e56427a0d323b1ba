"""The cost of each model variant on the seed workload, against the default of its method.

Each row is the median wall time of ``compute_risk`` on the seed workload (500 underlyings,
5,000 positions, 1,000 options; 1-day 99% VaR and ES, window 500) with one variant switched on,
and its ratio to the default variant of the same method timed in the same run. The covariance
cache is shared (a live service estimates it once per snapshot); Monte Carlo draws a new seed
per call, so scenarios are regenerated; historical scenario sets are cached like in a service.
The first call of every variant is a warm-up and is not timed.

Run: ``.venv/bin/python benchmarks/variants.py [--reps 5]``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from riskengine import RiskCache, compute_risk  # noqa: E402
from workload import seed_workload  # noqa: E402

VARIANTS = [
    ("historical", {}),
    ("historical", {"historical_weighting": "age", "decay": 0.99}),
    ("historical", {"historical_weighting": "filtered"}),
    ("parametric", {}),
    ("parametric", {"covariance": "ewma"}),
    ("parametric", {"covariance": "ledoit-wolf"}),
    ("parametric", {"distribution": "student-t"}),
    ("parametric", {"distribution": "cornish-fisher"}),
    ("montecarlo", {}),
    ("montecarlo", {"sampling": "antithetic"}),
    ("montecarlo", {"sampling": "sobol", "n_scrambles": 16, "n_scenarios": 16 * 1024}),
    ("montecarlo", {"return_model": "log"}),
    ("montecarlo", {"covariance": "ewma"}),
    ("montecarlo", {"distribution": "student-t"}),
]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--reps", type=int, default=5)
    args = ap.parse_args(argv)
    history, book = seed_workload()
    cache = RiskCache()
    seed = iter(range(1, 10_000))
    baseline: dict[str, float] = {}
    print("command: make bench (benchmarks/variants.py)")
    print(f"{'method':<11} {'variant':<44} {'median':>9} {'min':>9} {'vs default':>10}")
    for method, kw in VARIANTS:
        spec = {"method": method, "confidence": (0.99,), "n_scenarios": 10_000} | kw

        def call(spec=spec):
            return compute_risk(book, history, cache=cache, seed=next(seed), **spec)

        call()  # warm-up: estimates and caches the covariance of this estimator
        times = []
        for _ in range(args.reps):
            t = time.perf_counter()
            call()
            times.append(time.perf_counter() - t)
        med = statistics.median(times)
        baseline.setdefault(method, med)
        label = ", ".join(f"{k}={v}" for k, v in kw.items()) or "default"
        print(
            f"{method:<11} {label:<44} {med * 1e3:>7.0f}ms {min(times) * 1e3:>7.0f}ms "
            f"{med / baseline[method]:>9.2f}x"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
