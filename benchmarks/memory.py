"""Peak resident memory of one large Monte Carlo run, in a fresh process.

``run.py`` starts this script in a subprocess so that the peak belongs to this run alone. It
builds the seed workload, fills the covariance cache with one 10,000-path call, records the
peak so far, then runs ``--paths`` paths (default 1,000,000; grid revaluation, warm covariance,
the default executor) and records the peak again. It prints one JSON object.

The peak is ``VmHWM`` from ``/proc/self/status`` (the high-water mark of this process's
resident set). ``getrusage(RUSAGE_SELF).ru_maxrss`` is printed too, but on Linux it is not
reset by ``exec``: a child started by a large parent inherits the parent's peak, so it is only
meaningful when this script is run by hand.

Blocks of 5,000 paths are drawn and revalued by the workers and only their P&L totals are kept,
so memory should not grow with the path count once a scenario set is larger than the scenario
cache (512 MiB by default) and is therefore not kept. A full 1,000,000 x 500 float32 scenario
matrix would be 2 GB. Smaller sets (100,000 paths: 200 MB) are kept in the cache for reuse by
the next book, by design.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import workload  # noqa: E402
from riskengine import RiskCache, compute_risk  # noqa: E402
from riskengine.scale import LocalExecutor  # noqa: E402


def _status_mib(field: str) -> float:
    """A ``Vm*`` line of /proc/self/status, in MiB (NaN where there is none)."""
    try:
        for ln in Path("/proc/self/status").read_text().splitlines():
            if ln.startswith(field + ":"):
                return int(ln.split()[1]) / 1024.0
    except OSError:
        pass
    return float("nan")


def _ru_maxrss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # KiB on Linux


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--paths", type=int, default=1_000_000)
    args = ap.parse_args(argv)
    history, portfolio = workload.seed_workload()
    cache = RiskCache()

    def run(n, seed):
        return compute_risk(
            portfolio,
            history,
            method="montecarlo",
            n_scenarios=n,
            confidence=(0.99,),
            horizon_days=1,
            seed=seed,
            cache=cache,
        )

    run(10_000, 1)  # covariance and its root in the cache; every code path warmed up
    before_peak, before_now = _status_mib("VmHWM"), _status_mib("VmRSS")
    t0 = time.perf_counter()
    report = run(args.paths, 2)
    seconds = time.perf_counter() - t0
    m = report.measure(0.99)
    print(
        json.dumps(
            {
                "paths": args.paths,
                "seconds": seconds,
                "workers": LocalExecutor().max_workers,
                "n_blocks": report.parameters.get("n_blocks"),
                "block_size": report.parameters.get("block_size"),
                "n_columns": int(history.prices.shape[1]),
                "peak_before_mib": before_peak,
                "rss_before_mib": before_now,
                "peak_after_mib": _status_mib("VmHWM"),
                "rss_after_mib": _status_mib("VmRSS"),
                "ru_maxrss_mib": _ru_maxrss_mib(),
                "scenario_cache_mib": cache.scenarios.max_bytes / 2**20,
                "var": m.value_at_risk,
                "var_se": m.value_at_risk_standard_error,
                "es": m.expected_shortfall,
            }
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
