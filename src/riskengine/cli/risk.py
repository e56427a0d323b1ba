"""``riskengine risk`` (VaR and ES of a book) and ``riskengine exposures`` (its deltas, gammas,
vegas and gross/net exposures by underlying, by tag and in total); docs/cli.md."""

from __future__ import annotations

from typing import Any

from riskengine.choices import (
    APPROXIMATIONS,
    HISTORICAL_SCALINGS,
    METHOD_NAMES,
    PRESET_NAMES,
    RETURN_MODELS,
    REVALUATIONS,
    SAMPLINGS,
)
from riskengine.cli.options import add_book_options, add_format, add_model_options, model_fields


def add_risk(sub) -> None:
    p = sub.add_parser(
        "risk",
        help="VaR and ES of a book",
        description="Value-at-Risk and Expected Shortfall of a book on a price history.",
    )
    add = p.add_argument
    add_book_options(add)
    add("--method", choices=METHOD_NAMES, default="historical")
    add(
        "--confidence",
        type=float,
        nargs="+",
        default=None,
        metavar="C",
        help="one or more levels in (0, 1) (default 0.99)",
    )
    add("--horizon-days", type=int, default=None, help="horizon h in trading days (default 1)")
    add("--window", type=int, default=None, help="daily returns ending at as-of (default 500)")
    add("--as-of", default=None, help="snapshot date YYYY-MM-DD (default: last date)")
    add(
        "--preset",
        choices=PRESET_NAMES,
        default=None,
        help="basel: 10-day 99%%; frtb: 10-day 97.5%%; stressed: 10-day 99%% calibrated on "
        "250 days from June 2008 (explicit options win)",
    )
    add(
        "--calibration-end",
        default=None,
        help="calibrate on the window ending this date, revalue at as-of",
    )
    add_model_options(add)
    add(
        "--half-life",
        type=float,
        default=None,
        help="EWMA half-life in days (instead of --ewma-lambda)",
    )
    add("--paths", type=int, default=10_000, help="Monte Carlo paths")
    add("--seed", type=int, default=None, help="Monte Carlo seed (drawn if omitted)")
    add(
        "--scheduler",
        default=None,
        help="run the blocks on the Dask cluster of this scheduler (tcp://host:8786; default "
        "$RISKENGINE_DASK_SCHEDULER, else this machine; needs the dask extra)",
    )
    add(
        "--sampling",
        choices=SAMPLINGS,
        default="plain",
        help="Monte Carlo: plain, antithetic or sobol (scrambled quasi-Monte Carlo)",
    )
    add("--scrambles", type=int, default=16, help="independent Sobol scrambles")
    add(
        "--return-model",
        choices=RETURN_MODELS,
        default="simple",
        help="simple: S(1+r); log: S exp(x) (lognormal)",
    )
    add(
        "--revaluation",
        choices=REVALUATIONS,
        default="grid",
        help="Monte Carlo option revaluation",
    )
    add(
        "--approximation",
        choices=APPROXIMATIONS,
        default="delta-gamma",
        help="parametric treatment of options",
    )
    add("--historical-scaling", choices=HISTORICAL_SCALINGS, default="overlapping")
    add("--base-currency", default="USD")
    add(
        "--contributions",
        action="store_true",
        help="add marginal, component, incremental and standalone VaR and component ES by "
        "position and by tag",
    )
    add_format(add)


def add_exposures(sub) -> None:
    p = sub.add_parser(
        "exposures",
        help="deltas, gammas, vegas and exposures of a book",
        description="Dollar delta, dollar gamma, vega, gross and net exposure of a book at a "
        "snapshot, by underlying, by tag and in total.",
    )
    add = p.add_argument
    add_book_options(add)
    add("--as-of", default=None, help="snapshot date YYYY-MM-DD (default: last date)")
    add("--base-currency", default="USD")
    add_format(add)


def run_risk(args) -> str:
    from riskengine.cli.options import read_history
    from riskengine.instruments import load_portfolio
    from riskengine.pipeline import RiskSpec, compute_risk

    explicit: dict[str, Any] = {  # RiskSpec fields of several types
        k: v
        for k, v in (
            ("confidence", tuple(args.confidence) if args.confidence else None),
            ("horizon_days", args.horizon_days),
            ("window", args.window),
            ("calibration_end", args.calibration_end),
        )
        if v is not None
    }
    make = (lambda **kw: RiskSpec.from_preset(args.preset, **kw)) if args.preset else RiskSpec
    spec = make(
        **explicit,
        **model_fields(args),
        method=args.method,
        as_of=args.as_of,
        n_scenarios=args.paths,
        seed=args.seed,
        revaluation=args.revaluation,
        approximation=args.approximation,
        historical_scaling=args.historical_scaling,
        base_currency=args.base_currency.upper(),
        half_life=args.half_life,
        sampling=args.sampling,
        n_scrambles=args.scrambles,
        return_model=args.return_model,
        contributions=args.contributions,
    )
    portfolio = load_portfolio(args.portfolio)
    history = read_history(args.prices)
    from riskengine.scale.select import make_executor

    report = compute_risk(portfolio, history, spec, executor=make_executor(args.scheduler))
    return report.to_json() if args.format == "json" else report.format_table()


def run_exposures(args) -> str:
    from riskengine.cli.options import read_history
    from riskengine.instruments import load_portfolio
    from riskengine.pricing.exposures import compute_exposures

    portfolio = load_portfolio(args.portfolio)
    history = read_history(args.prices)
    report = compute_exposures(portfolio, history, args.as_of, args.base_currency.upper())
    return report.to_json() if args.format == "json" else report.format_table()
