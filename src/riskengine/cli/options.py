"""Command-line options shared by several subcommands (``risk``, ``backtest``, ...)."""

from __future__ import annotations

from riskengine.choices import BAD_PRINT_POLICIES, COVARIANCES, FACTOR_MODELS, MEANS, WEIGHTINGS
from riskengine.spec import MIN_STUDENT_T_DF

#: ``--prices`` values that name a store instead of a CSV file
STORE_SCHEMES = ("sqlite:", "postgresql:", "postgres:")
#: ``--format`` of the commands that print a report
OUTPUT_FORMATS = ("table", "json")
PRICES_HELP = (
    "daily closes: wide or long CSV, Parquet, or a store URL (sqlite:///file.db, postgresql://...)"
)


def add_book_options(add, *, required: bool = True, unless: str = "") -> None:
    """``--portfolio`` (a book file) and ``--prices`` (a price file or store URL).

    Args:
        add: a parser's ``add_argument``.
        required: whether both must be given; when not, ``unless`` says when they are needed
            (e.g. "--list") and the command checks.
    """
    tail = f"; required unless {unless}" if unless else ""
    add("--portfolio", required=required, default=None, help=f"book file (.csv or .json){tail}")
    add("--prices", required=required, default=None, help=PRICES_HELP + tail)


def add_format(add, choices: tuple[str, ...] = OUTPUT_FORMATS) -> None:
    """``--format``: how the report is printed (the first choice by default)."""
    add("--format", choices=choices, default=choices[0])


def read_history(prices: str):
    """The FactorHistory behind ``--prices``: a wide or long CSV file, or a store URL
    (``sqlite:///file.db``, ``postgresql://...``) whose daily bars are used: the imported close
    of a day where there is one, else the daily bar built from ingested ticks (so a day with
    ticks for only some symbols is the last date: pass ``--as-of`` for the last full day)."""
    if prices.startswith(STORE_SCHEMES):
        from riskengine.store import open_store

        store = open_store(prices)
        try:
            return store.factor_history()
        finally:
            store.close()
    import datetime as dt

    from riskengine.market import load_prices

    # The CLI is an edge, like the API: it reads the clock (UTC) so that the loader can refuse
    # a close dated in the future; the loader itself takes the date as a parameter.
    return load_prices(prices, today=dt.datetime.now(dt.UTC).date())


def add_model_options(add) -> None:
    """The model options: distribution, df, mean, covariance estimator and historical weighting.

    Args:
        add: a parser's ``add_argument``.
    """
    add(
        "--distribution",
        default="normal",
        help="parametric: normal|student-t|cornish-fisher; montecarlo: normal|student-t",
    )
    add(
        "--df",
        type=float,
        default=5.0,
        help=f"Student-t degrees of freedom (>= {MIN_STUDENT_T_DF:g})",
    )
    add("--mean", choices=MEANS, default="zero")
    add(
        "--covariance",
        choices=COVARIANCES,
        default="sample",
        help="parametric and Monte Carlo covariance estimator",
    )
    add(
        "--factor-model",
        choices=FACTOR_MODELS,
        default="full",
        help="parametric and Monte Carlo: full (every name's covariance) or pca (k statistical "
        "factors plus specific variances: for many names, or a window shorter than the names)",
    )
    add(
        "--pca-factors",
        type=int,
        default=None,
        help="factors of --factor-model pca (default: the Marchenko-Pastur rule chooses)",
    )
    add(
        "--ewma-lambda",
        type=float,
        default=0.94,
        help="EWMA decay (covariance, volatility filtering)",
    )
    add(
        "--weighting",
        choices=WEIGHTINGS,
        default="none",
        help="historical: none, age (BRW, --decay) or filtered (EWMA volatility)",
    )
    add("--decay", type=float, default=0.99, help="age-weighting decay in (0, 1]")
    add(
        "--bad-prints",
        choices=BAD_PRINT_POLICIES,
        default="exclude",
        help="a symbol with a bad print (an isolated close that cannot be real, "
        "docs/conventions.md#bad-prints): exclude its positions (default), refuse, or use it",
    )


def model_fields(args) -> dict:
    """The RiskSpec fields of ``add_model_options``' options."""
    return {
        "distribution": args.distribution,
        "df": args.df,
        "mean": args.mean,
        "covariance": args.covariance,
        "factor_model": args.factor_model,
        "pca_factors": args.pca_factors,
        "ewma_lambda": args.ewma_lambda,
        "historical_weighting": args.weighting,
        "decay": args.decay,
        "bad_prints": args.bad_prints,
    }
