"""Quickstart: VaR and ES of the example book (stocks and options) on the bundled real data,
by historical simulation, parametric and Monte Carlo. Run with ``make run``."""

from pathlib import Path

import riskengine as re_

ROOT = Path(__file__).resolve().parent.parent

history = re_.load_prices(ROOT / "data" / "us_equities_daily.csv")
book = re_.load_portfolio(ROOT / "examples" / "book.csv")
cache = re_.RiskCache()  # covariance and scenarios are reused across the runs below

for method in ("historical", "parametric", "montecarlo"):
    report = re_.compute_risk(
        book,
        history,
        method=method,
        confidence=(0.95, 0.99),
        horizon_days=10,
        window=1000,
        n_scenarios=100_000,
        seed=7,
        cache=cache,
    )
    print(report.format_table())
    print()
