"""Command line: ``riskengine risk --portfolio book.csv --prices prices.csv --method ...``.

Exit status: 0 on success, 2 on invalid input (the message names the field, the value and the
way out), 1 on an unexpected failure.
"""

from __future__ import annotations

import argparse
import sys

from riskengine.errors import RiskEngineError

METHOD_NAMES = ("historical", "parametric", "montecarlo")


def _add_risk(sub) -> None:
    p = sub.add_parser(
        "risk",
        help="VaR and ES of a book",
        description="Value-at-Risk and Expected Shortfall of a book on a price history.",
    )
    p.add_argument("--portfolio", required=True, help="book file (.csv or .json)")
    p.add_argument("--prices", required=True, help="daily closes (wide or long CSV)")
    p.add_argument("--method", choices=METHOD_NAMES, default="historical")
    p.add_argument(
        "--confidence",
        type=float,
        nargs="+",
        default=[0.99],
        metavar="C",
        help="one or more levels in (0, 1) (default 0.99)",
    )
    p.add_argument("--horizon-days", type=int, default=1, help="horizon h in trading days")
    p.add_argument("--window", type=int, default=500, help="daily returns ending at as-of")
    p.add_argument("--as-of", default=None, help="snapshot date YYYY-MM-DD (default: last date)")
    p.add_argument(
        "--distribution",
        default="normal",
        help="parametric: normal|student-t|cornish-fisher; montecarlo: normal|student-t",
    )
    p.add_argument("--df", type=float, default=5.0, help="Student-t degrees of freedom (> 2)")
    p.add_argument("--mean", choices=("zero", "sample"), default="zero")
    p.add_argument("--paths", type=int, default=10_000, help="Monte Carlo paths")
    p.add_argument("--seed", type=int, default=None, help="Monte Carlo seed (drawn if omitted)")
    p.add_argument(
        "--revaluation",
        choices=("grid", "full"),
        default="grid",
        help="Monte Carlo option revaluation",
    )
    p.add_argument(
        "--approximation",
        choices=("delta-gamma", "delta"),
        default="delta-gamma",
        help="parametric treatment of options",
    )
    p.add_argument("--historical-scaling", choices=("overlapping", "sqrt"), default="overlapping")
    p.add_argument("--base-currency", default="USD")
    p.add_argument("--format", choices=("table", "json"), default="table")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="riskengine", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    _add_risk(sub)
    return parser


def _run_risk(args) -> str:
    from riskengine.instruments import load_portfolio
    from riskengine.market import load_prices
    from riskengine.pipeline import RiskSpec, compute_risk

    spec = RiskSpec(
        method=args.method,
        confidence=tuple(args.confidence),
        horizon_days=args.horizon_days,
        window=args.window,
        as_of=args.as_of,
        distribution=args.distribution,
        df=args.df,
        mean=args.mean,
        n_scenarios=args.paths,
        seed=args.seed,
        revaluation=args.revaluation,
        approximation=args.approximation,
        historical_scaling=args.historical_scaling,
        base_currency=args.base_currency.upper(),
    )
    portfolio = load_portfolio(args.portfolio)
    history = load_prices(args.prices)
    report = compute_risk(portfolio, history, spec)
    return report.to_json() if args.format == "json" else report.format_table()


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.command == "risk":
            out = _run_risk(args)
        else:  # pragma: no cover - argparse enforces the choices
            raise AssertionError(args.command)
    except RiskEngineError as exc:
        print(f"riskengine: error: {exc}", file=sys.stderr)
        return 2
    except Exception:  # an unexpected failure: say so, keep the traceback for a bug report
        import traceback

        traceback.print_exc()
        print(
            "riskengine: internal error (a bug): please report the traceback above.",
            file=sys.stderr,
        )
        return 1
    print(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
