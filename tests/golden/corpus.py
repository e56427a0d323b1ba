"""The reference corpus: reports that a change meant to move no number must leave as they are.

Every method and variant (with and without contributions), presets, live prices, the what-if,
stress (library scenarios, worst window, reverse), the backtest and exposures, on the bundled
data (``data/us_equities_daily.csv`` with ``examples/book.json``) and on the benchmark workload
(``benchmarks/workload.py``), each with 1 and 2 workers where an executor is taken.

Two uses:

* ``tests/unit/test_golden.py`` recomputes the ``quick`` cases and compares them with the stored
  values in ``tests/golden/reports.json`` at relative 1e-12 (BLAS and LAPACK may differ in the
  last bits across CPUs). The quick corpus uses a slice of the workload (60 names, 400
  positions) and fewer Monte Carlo paths, so it runs in seconds.
* Before and after a refactor, on one machine: ``python tests/golden/corpus.py --dump DIR
  --full`` writes each case's canonical JSON to ``DIR/<case>.json``; ``diff -r`` of the two
  directories must be empty (byte-identical). ``--full`` adds the whole workload (500 names,
  5,000 positions, 10,000 paths).

When a change is meant to move numbers, regenerate the stored values with ``python
tests/golden/corpus.py --write`` (or ``make golden``) and say in the commit which cases moved
and why.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import functools
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
STORED = Path(__file__).resolve().parent / "reports.json"
if str(ROOT) not in sys.path:  # benchmarks/ is a folder of the repository, not a package
    sys.path.insert(0, str(ROOT))

from riskengine import (  # noqa: E402
    FactorHistory,
    MarketState,
    Position,
    RiskCache,
    RiskSpec,
    compute_exposures,
    compute_risk,
    load_portfolio,
    load_prices,
    reverse_stress,
    run_backtest,
    run_scenarios,
    trade_impact,
    worst_window,
)
from riskengine.instruments import Equity  # noqa: E402
from riskengine.scale.local import LocalExecutor  # noqa: E402

QUICK_NAMES = 60
QUICK_POSITIONS = 400


@functools.cache
def bundled():
    history = load_prices(ROOT / "data" / "us_equities_daily.csv", today=dt.date(2026, 1, 1))
    return history, load_portfolio(ROOT / "examples" / "book.json")


@functools.cache
def workload(full: bool):
    from benchmarks.workload import seed_workload

    history, portfolio = seed_workload()
    if full:
        return history, portfolio
    names = set(history.symbols[:QUICK_NAMES])
    keep = [p for p in portfolio.positions if _underlying(p) in names][:QUICK_POSITIONS]
    sliced = FactorHistory(
        history.dates.copy(), history.symbols[:QUICK_NAMES], history.prices[:, :QUICK_NAMES].copy()
    )
    return sliced, dataclasses.replace(portfolio, positions=tuple(keep))


def _underlying(position) -> str:
    inst = position.instrument
    return getattr(inst, "underlying", None) or inst.symbol


def _risk(data: str, workers: int = 1, **fields):
    def run(full: bool) -> dict:
        history, portfolio = bundled() if data == "bundled" else workload(full)
        spec = dict(fields)
        if not full and spec.get("method") == "montecarlo":
            spec.setdefault("n_scenarios", 2_000)
        preset = spec.pop("preset", None)
        extra = {"preset": preset} if preset else {}
        return compute_risk(
            portfolio,
            history,
            RiskSpec(**spec),
            cache=RiskCache(),
            executor=LocalExecutor(workers),
            **extra,
        ).to_dict()

    return run


def _live(full: bool) -> dict:
    history, portfolio = bundled()
    last = history.date_at(len(history.dates) - 1)
    prices = {"AAPL": 150.0, "MSFT": 250.0, "JPM": 120.0}
    market = MarketState(last + dt.timedelta(days=1), prices)
    return compute_risk(portfolio, history, RiskSpec(method="historical"), market=market).to_dict()


def _what_if(full: bool) -> dict:
    history, portfolio = bundled()
    trade = [Position("what-if-xom", Equity("XOM"), -500.0)]
    return trade_impact(
        portfolio, history, trade, RiskSpec(method="historical", confidence=(0.99, 0.975))
    ).to_dict()


def _stress(workers: int) -> Callable[[bool], dict]:
    def run(full: bool) -> dict:
        history, portfolio = bundled()
        return run_scenarios(portfolio, history, executor=LocalExecutor(workers)).to_dict()

    return run


def _worst(full: bool) -> dict:
    history, portfolio = bundled()
    return worst_window(portfolio, history, horizon_days=10, n_worst=3).to_dict()


def _reverse(full: bool) -> dict:
    history, portfolio = bundled()
    return reverse_stress(portfolio, history, 50_000.0, window=250).to_dict()


def _backtest(workers: int, methods=("historical", "parametric", "montecarlo")):
    def run(full: bool) -> dict:
        history, portfolio = bundled()
        last = history.date_at(len(history.dates) - 1)
        return run_backtest(
            portfolio, history, methods=methods, window=250, confidence=(0.99, 0.975),
            start=(last - dt.timedelta(days=120)).isoformat(), null_simulations=200,
            executor=LocalExecutor(workers), n_scenarios=1_000, seed=11,
        ).to_dict()  # fmt: skip

    return run


def _exposures(data: str):
    def run(full: bool) -> dict:
        history, portfolio = bundled() if data == "bundled" else workload(full)
        return compute_exposures(portfolio, history).to_dict()

    return run


MC = {"method": "montecarlo", "seed": 7}
CASES: dict[str, Callable[[bool], dict]] = {
    # historical simulation
    "hs": _risk("bundled"),
    "hs-contrib-full": _risk("bundled", contributions=True, contribution_detail="full"),
    "hs-sqrt-10d": _risk("bundled", horizon_days=10, historical_scaling="sqrt"),
    "hs-overlap-10d": _risk("bundled", horizon_days=10, confidence=(0.99, 0.975)),
    "hs-age": _risk("bundled", historical_weighting="age", decay=0.99, contributions=True),
    "hs-filtered": _risk("bundled", historical_weighting="filtered", contributions=True),
    "hs-log": _risk("bundled", return_model="log"),
    "hs-basel": _risk("bundled", preset="basel"),
    "hs-stressed": _risk("bundled", preset="stressed"),
    "hs-workload-1w": _risk("workload", 1, contributions=True),
    "hs-workload-2w": _risk("workload", 2, contributions=True),
    # parametric
    "pm-normal": _risk(
        "bundled", method="parametric", contributions=True, contribution_detail="full"
    ),  # fmt: skip
    "pm-t-ewma": _risk(
        "bundled",
        method="parametric",
        distribution="student-t",
        df=4.0,
        covariance="ewma",
        contributions=True,
    ),  # fmt: skip
    "pm-cf-lw": _risk(
        "bundled",
        method="parametric",
        distribution="cornish-fisher",
        covariance="ledoit-wolf",
        mean="sample",
    ),  # fmt: skip
    "pm-delta-10d": _risk("bundled", method="parametric", approximation="delta", horizon_days=10),
    "pm-half-life": _risk("bundled", method="parametric", covariance="ewma", half_life=30.0),
    "pm-frtb": _risk("bundled", method="parametric", preset="frtb"),
    "pm-workload-1w": _risk("workload", 1, method="parametric", contributions=True),
    "pm-workload-2w": _risk("workload", 2, method="parametric", contributions=True),
    # Monte Carlo
    "mc": _risk("bundled", **MC),
    "mc-contrib-full": _risk("bundled", **MC, contributions=True, contribution_detail="full"),
    "mc-t-antithetic": _risk(
        "bundled", **MC, distribution="student-t", df=5.0, sampling="antithetic", contributions=True
    ),  # fmt: skip
    "mc-sobol": _risk("bundled", **MC, sampling="sobol", n_scrambles=4, n_scenarios=4096),
    "mc-full-reval-log": _risk(
        "bundled", **MC, revaluation="full", return_model="log", horizon_days=10
    ),  # fmt: skip
    "mc-ewma-sample-mean": _risk("bundled", **MC, covariance="ewma", mean="sample"),
    "mc-workload-1w": _risk("workload", 1, **MC, contributions=True),
    "mc-workload-2w": _risk("workload", 2, **MC, contributions=True),
    "mc-workload-sobol-2w": _risk(
        "workload", 2, **MC, sampling="sobol", n_scrambles=4, n_scenarios=4096
    ),  # fmt: skip
    # around the methods
    "live-prices": _live,
    "what-if": _what_if,
    "stress-1w": _stress(1),
    "stress-2w": _stress(2),
    "worst-window": _worst,
    "reverse-stress": _reverse,
    "backtest-1w": _backtest(1),
    "backtest-2w": _backtest(2),
    "exposures": _exposures("bundled"),
    "exposures-workload": _exposures("workload"),
}


def compute(names=None, *, full: bool = False, log=None) -> dict[str, dict]:
    out = {}
    for name in names or CASES:
        t = time.perf_counter()
        doc = json.loads(json.dumps(CASES[name](full), allow_nan=False))
        if isinstance(doc.get("provenance"), dict):  # a version bump moves no number
            doc["provenance"].pop("code_version", None)
        out[name] = doc
        if log:
            log(f"{name}: {time.perf_counter() - t:.2f} s")
    return out


def canonical(doc) -> str:
    return json.dumps(doc, indent=1, sort_keys=True, allow_nan=False) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--write", action="store_true", help=f"store the quick corpus in {STORED}")
    parser.add_argument("--dump", metavar="DIR", help="write each case's canonical JSON to DIR")
    parser.add_argument("--full", action="store_true", help="the whole benchmark workload")
    parser.add_argument("cases", nargs="*", help="case names (default: all)")
    args = parser.parse_args(argv)
    reports = compute(args.cases or None, full=args.full, log=lambda m: print(m, file=sys.stderr))
    if args.dump:
        out = Path(args.dump)
        out.mkdir(parents=True, exist_ok=True)
        for name, doc in reports.items():
            (out / f"{name}.json").write_text(canonical(doc))
    if args.write:
        if args.full or args.cases:
            parser.error("--write stores the whole quick corpus: no --full, no case names")
        STORED.write_text(canonical(reports))
    return 0


if __name__ == "__main__":
    sys.exit(main())
