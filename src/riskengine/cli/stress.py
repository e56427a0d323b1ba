"""``riskengine stress``: named and hypothetical scenarios, worst window, reverse stress.

Which scenarios run: those named with ``--scenario`` (library or ``--scenarios-file``), plus one
scenario "custom" made of every ``--shock``; with ``--scenarios-file`` and no ``--scenario``,
every scenario of the file; with no scenario option and neither ``--worst-window`` nor
``--reverse-loss``, the whole library.
"""

from __future__ import annotations

import json

from riskengine.cli.options import add_book_options, add_format
from riskengine.errors import InputError


def add_stress(sub) -> None:
    p = sub.add_parser(
        "stress",
        help="stress scenarios, worst historical window, reverse stress",
        description="Today's book under historical and hypothetical stress scenarios (instant "
        "shocks, full revaluation), its worst h-day window in the history, and the most likely "
        "scenario losing a given amount (reverse stress).",
    )
    add = p.add_argument
    add_book_options(add, required=False, unless="--list")
    add(
        "--scenario",
        nargs="+",
        action="extend",
        default=None,
        metavar="NAME",
        help="named scenario(s) from the library or --scenarios-file (see --list)",
    )
    add(
        "--shock",
        nargs="+",
        action="extend",
        default=None,
        metavar="SPEC",
        help="hypothetical shocks forming one scenario 'custom': AAPL=-0.2, sector=tech:-0.1, "
        "'*=-0.1', vol:AAPL=+5, 'vol:*=+10'",
    )
    add("--scenarios-file", default=None, help="JSON file of custom scenarios (docs/stress.md)")
    add(
        "--keep-idle-shocks",
        action="store_true",
        help="run a custom scenario although some of its shocks reach no position of the book "
        "(refused by default: a mistyped symbol), with a warning",
    )
    add("--list", action="store_true", help="list the known scenarios and exit")
    add("--worst-window", action="store_true", help="search the worst h-day window")
    add(
        "--horizon-days",
        type=int,
        default=1,
        help="h: days per window (--worst-window); covariance scaling (--reverse-loss)",
    )
    add(
        "--reverse-loss",
        type=float,
        default=None,
        metavar="L",
        help="reverse stress: the most likely scenario losing L (a positive loss limit)",
    )
    add("--window", type=int, default=500, help="daily returns for the reverse-stress covariance")
    add("--as-of", default=None, help="snapshot date YYYY-MM-DD (default: last date)")
    add("--base-currency", default="USD")
    add_format(add)
    add(
        "--scheduler",
        default=None,
        help="run the scenarios on the Dask cluster of this scheduler (tcp://host:8786; "
        "default $RISKENGINE_DASK_SCHEDULER, else here)",
    )


def _list(known, fmt: str) -> str:
    if fmt == "json":
        return json.dumps({"scenarios": [s.to_dict() for s in known.values()]}, indent=2)
    lines = [f"{'name':<24} {'type':<12} {'window / shocks':<44} description"]
    for s in known.values():
        lines.append(f"{s.name:<24} {s.kind:<12} {s.summary():<44} {s.description}")
    return "\n".join(lines)


def run_stress(args) -> str:
    import dataclasses

    from riskengine.cli.options import read_history
    from riskengine.instruments import load_portfolio
    from riskengine.stress.apply import as_scenario, run_scenarios
    from riskengine.stress.reverse import reverse_stress
    from riskengine.stress.scenarios import (
        HypotheticalScenario,
        load_library,
        load_scenarios,
        merge_scenarios,
    )
    from riskengine.stress.worst import worst_window

    library = load_library()
    custom = load_scenarios(args.scenarios_file) if args.scenarios_file else {}
    known = merge_scenarios(library, custom, f"scenario file {args.scenarios_file!r}")
    if args.list:
        return _list(known, args.format)
    for name in ("portfolio", "prices"):
        if getattr(args, name) is None:
            raise InputError(f"--{name} is required (except with --list).")
    chosen = [as_scenario(n, known) for n in args.scenario or ()]
    if args.scenarios_file and not args.scenario:
        chosen += list(custom.values())
    if args.shock:
        chosen.append(HypotheticalScenario.of("custom", args.shock, "shocks given with --shock"))
    analyses = args.worst_window or args.reverse_loss is not None
    if not chosen and not analyses:
        chosen = list(library.values())
    portfolio = load_portfolio(args.portfolio)
    history = read_history(args.prices)
    base = args.base_currency.upper()
    from riskengine.scale.select import make_executor, scheduler_address

    report = run_scenarios(
        portfolio,
        history,
        chosen,
        as_of=args.as_of,
        base_currency=base,
        known=known,
        executor=make_executor(args.scheduler) if scheduler_address(args.scheduler) else None,
        keep_idle_shocks=args.keep_idle_shocks,
    )
    if args.worst_window:
        report = dataclasses.replace(
            report,
            worst_window=worst_window(
                portfolio,
                history,
                horizon_days=args.horizon_days,
                as_of=args.as_of,
                base_currency=base,
            ),
        )
    if args.reverse_loss is not None:
        report = dataclasses.replace(
            report,
            reverse_stress=reverse_stress(
                portfolio,
                history,
                args.reverse_loss,
                window=args.window,
                horizon_days=args.horizon_days,
                as_of=args.as_of,
                base_currency=base,
            ),
        )
    return report.to_json() if args.format == "json" else report.format_table()
