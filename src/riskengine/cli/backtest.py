"""``riskengine backtest``: roll methods through history and print their backtest statistics.

The subcommand's parser (``add_backtest``) and runner (``run_backtest``, returns the text to
print) plug into the ``COMMANDS`` registry of ``riskengine.cli``.
"""

from __future__ import annotations

import sys

from riskengine.choices import METHOD_NAMES
from riskengine.cli.options import add_book_options, add_format, add_model_options, model_fields

FORMATS = ("table", "json", "csv")


def add_backtest(sub) -> None:
    p = sub.add_parser(
        "backtest",
        help="backtest VaR and ES of today's book through history",
        description="Roll 1-day VaR and ES forecasts of today's book (held constant) through "
        "history and test them against its next-day hypothetical P&L: exceptions, Kupiec, "
        "Christoffersen, Basel traffic light, Acerbi-Szekely Z2.",
    )
    add = p.add_argument
    add_book_options(add, required=False, unless="--series")
    add(
        "--series",
        default=None,
        metavar="FILE",
        help="backtest your own series instead: a CSV or Parquet file with date, pnl and "
        "var_<c> (and es_<c>) columns per confidence, e.g. var_99 (docs/backtest.md)",
    )
    add(
        "--method",
        nargs="+",
        choices=METHOD_NAMES,
        default=["historical"],
        metavar="M",
        help="one or more of: historical, parametric, montecarlo (side by side)",
    )
    add("--window", type=int, default=500, help="daily returns per forecast")
    add(
        "--confidence",
        type=float,
        nargs="+",
        default=[0.99],
        metavar="C",
        help="one or more levels in (0, 1)",
    )
    add("--start", default=None, help="first forecast date YYYY-MM-DD (default: first possible)")
    add("--end", default=None, help="last forecast date YYYY-MM-DD (default: the day before as-of)")
    add("--as-of", default=None, help="the book's snapshot date (default: last date)")
    add("--paths", type=int, default=2_000, help="Monte Carlo paths per day")
    add("--seed", type=int, default=None, help="seed of Monte Carlo days and Z2 simulations")
    add_model_options(add)
    add("--simulations", type=int, default=2_000, help="simulated backtests for the Z2 p-value")
    add("--base-currency", default="USD")
    add_format(add, FORMATS)
    add("--progress", action="store_true", help="progress bar on stderr even when not a terminal")
    add(
        "--scheduler",
        default=None,
        help="split the days over the Dask cluster of this scheduler (tcp://host:8786; default "
        "$RISKENGINE_DASK_SCHEDULER, else the days run one after another here)",
    )


def run_backtest(args) -> str:
    from riskengine.backtest.run import run_backtest as backtest
    from riskengine.errors import InputError

    if args.series is not None:
        from riskengine.backtest.series import load_series

        result = load_series(args.series)
        return _render(result, args.format)
    for name in ("portfolio", "prices"):
        if getattr(args, name) is None:
            raise InputError(f"--{name} is required (unless --series backtests your own series).")
    from riskengine.cli.options import read_history
    from riskengine.instruments import load_portfolio
    from riskengine.scale.select import make_executor, scheduler_address

    portfolio = load_portfolio(args.portfolio)
    history = read_history(args.prices)
    result = backtest(
        portfolio,
        history,
        methods=tuple(args.method),
        window=args.window,
        confidence=tuple(args.confidence),
        start=args.start,
        end=args.end,
        progress=True if args.progress or sys.stderr.isatty() else None,
        null_simulations=args.simulations,
        executor=make_executor(args.scheduler) if scheduler_address(args.scheduler) else None,
        as_of=args.as_of,
        n_scenarios=args.paths,
        seed=args.seed,
        **model_fields(args),
        base_currency=args.base_currency.upper(),
    )
    return _render(result, args.format)


def _render(result, fmt: str) -> str:
    if fmt == "json":
        return result.to_json()
    if fmt == "csv":
        return result.to_csv().rstrip("\n")
    return result.format_table()
