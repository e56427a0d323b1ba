"""Command line: ``riskengine risk --portfolio book.csv --prices prices.csv --method ...``.

``riskengine exposures --portfolio book.csv --prices prices.csv`` prints the book's deltas,
gammas, vegas and gross/net exposures by underlying, by tag and in total; ``riskengine frtb``
the FRTB internal-model capital.

One module per command family in this package (``risk``, ``stress``, ``backtest``, ``frtb``,
``ingest``, ``serve``; option helpers in ``options``), each an ``add_<command>(subparsers)`` and a
``run_<command>(args) -> str`` registered in ``COMMANDS``.

Exit status: 0 on success, 2 on invalid input (the message names the field, the value and the
way out), 1 on an unexpected failure.
"""

from __future__ import annotations

import argparse
import os
import sys

from riskengine.cli.backtest import add_backtest, run_backtest
from riskengine.cli.frtb import add_frtb, run_frtb
from riskengine.cli.ingest import (
    add_feed,
    add_import,
    add_ingest,
    add_quality,
    run_feed,
    run_import,
    run_ingest,
    run_quality,
)
from riskengine.cli.risk import add_exposures, add_risk, run_exposures, run_risk
from riskengine.cli.serve import add_demo, add_keys, add_serve, run_demo, run_keys, run_serve
from riskengine.cli.stress import add_stress, run_stress
from riskengine.errors import RiskEngineError


def build_parser() -> argparse.ArgumentParser:
    from riskengine.version import __version__

    parser = argparse.ArgumentParser(prog="riskengine", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"riskengine {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    for add, _ in COMMANDS.values():
        add(sub)
    return parser


# Subcommand name -> (add its parser to the subparsers, run it and return the text to print).
COMMANDS = {
    "risk": (add_risk, run_risk),
    "exposures": (add_exposures, run_exposures),
    "stress": (add_stress, run_stress),
    "backtest": (add_backtest, run_backtest),
    "frtb": (add_frtb, run_frtb),
    "import": (add_import, run_import),
    "feed": (add_feed, run_feed),
    "ingest": (add_ingest, run_ingest),
    "quality": (add_quality, run_quality),
    "serve": (add_serve, run_serve),
    "demo": (add_demo, run_demo),
    "keys": (add_keys, run_keys),
}


# Packages of the extras, by the extra that installs them (pyproject.toml).
EXTRAS = {
    "server": ("orjson", "websockets", "psycopg", "psycopg_pool", "fastapi", "fastapi_offline",
               "pydantic", "uvicorn", "httptools", "uvloop", "multipart", "python_multipart",
               "prometheus_client", "starlette"),
    "pandas": ("pandas",),
    "parquet": ("pyarrow",),
    "dask": ("dask", "distributed"),
}  # fmt: skip


def install_hint(exc: ImportError) -> str | None:
    """What to install for a missing optional package, or None when it is not one of ours."""
    text = str(exc)
    if "pip install 'riskengine[" in text:  # our own hint (pandas, Parquet, Dask)
        return f"needs an optional part: {text}"
    name = (getattr(exc, "name", None) or "").split(".")[0]
    for extra, packages in EXTRAS.items():
        if name in packages:
            return (
                f"needs the {extra} extra ({name} is not installed): "
                f"pip install 'riskengine[{extra}]'"
            )
    return None


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        out = COMMANDS[args.command][1](args)
    except RiskEngineError as exc:
        print(f"riskengine: error: {exc}", file=sys.stderr)
        return 2
    except ImportError as exc:  # an optional part that is not installed: say which extra
        hint = install_hint(exc)
        if hint is None:
            raise
        print(f"riskengine: error: riskengine {args.command} {hint}", file=sys.stderr)
        return 2
    except Exception:  # an unexpected failure: say so, keep the traceback for a bug report
        import traceback

        traceback.print_exc()
        print(
            "riskengine: internal error (a bug): please report the traceback above.",
            file=sys.stderr,
        )
        return 1
    try:
        print(out)
        sys.stdout.flush()
    except BrokenPipeError:  # e.g. `riskengine stress ... | head`: the reader left, not a failure
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return 0


if __name__ == "__main__":
    sys.exit(main())
