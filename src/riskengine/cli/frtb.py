"""``riskengine frtb``: the FRTB internal-model capital of a book (docs/frtb.md).

The subcommand's parser (``add_frtb``) and runner (``run_frtb``, returns the text to print) plug
into the ``COMMANDS`` registry of ``riskengine.cli``.
"""

from __future__ import annotations

from riskengine.cli.options import add_book_options, add_format


def add_frtb(sub) -> None:
    p = sub.add_parser(
        "frtb",
        help="FRTB internal-model capital: liquidity-adjusted stressed ES, IMCC, desk tests",
        description="The Basel FRTB internal-model capital of today's book (MAR33 with MAR32 "
        "and MAR99): 97.5%% ES on 10-day overlapping historical scenarios cascaded over the "
        "liquidity horizons, calibrated to the stressed 12 months of a reduced set of factors, "
        "IMCC by risk class, the multiplier from the 99%% backtest, the desk tests.",
    )
    add = p.add_argument
    add_book_options(add)
    add("--as-of", default=None, help="the book's snapshot date (default: last date)")
    add(
        "--mapping",
        default=None,
        metavar="FILE",
        help="risk class and liquidity horizon per factor: CSV (factor, category or "
        "risk_class + liquidity_horizon) or JSON; wins over position tags and the defaults",
    )
    add(
        "--reduced-set",
        nargs="+",
        default=None,
        metavar="FACTOR",
        help="the reduced set of factors (default: those with a close on the first date)",
    )
    add(
        "--stressed-window",
        default=None,
        metavar="START[:END]",
        help="the stressed 12 months: its first date, or START:END (default: searched, the "
        "window with the largest reduced-set ES)",
    )
    add("--window", type=int, default=250, help="daily returns per ES window (12 months)")
    add("--averaging-days", type=int, default=60, help="days of the averages (12 weeks)")
    add(
        "--backtest-window",
        type=int,
        default=250,
        help="daily returns per 1-day VaR forecast of the desk backtest",
    )
    add(
        "--actual-pnl",
        default=None,
        metavar="FILE",
        help="the book's actual daily P&L (CSV date,pnl) on the 250 desk-test days: exceptions "
        "are counted on it as well",
    )
    add(
        "--risk-model-pnl",
        default=None,
        metavar="FILE",
        help="the risk model's daily P&L (CSV date,pnl) for the P&L attribution test (default: "
        "the book's delta-gamma revaluation)",
    )
    add("--base-currency", default="USD")
    add_format(add)


def run_frtb(args) -> str:
    from riskengine.cli.options import read_history
    from riskengine.instruments import load_portfolio
    from riskengine.pipeline import compute_frtb

    report = compute_frtb(
        load_portfolio(args.portfolio),
        read_history(args.prices),
        as_of=args.as_of,
        mapping=args.mapping,
        reduced_set=args.reduced_set,
        stressed_window=args.stressed_window,
        window=args.window,
        averaging_days=args.averaging_days,
        backtest_window=args.backtest_window,
        base_currency=args.base_currency.upper(),
        actual_pnl=args.actual_pnl,
        risk_model_pnl=args.risk_model_pnl,
    )
    return report.to_json() if args.format == "json" else report.format_table()
