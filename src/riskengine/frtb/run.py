"""``compute_frtb`` (exported by ``riskengine.pipeline`` and ``riskengine``): the book's
factors classified, its T-day historical P&L per liquidity bucket, the stressed window, the ES
ratio, IMCC, the desk tests and the capital."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np

from riskengine.backtest.stats import exception_flags
from riskengine.errors import InputError, InsufficientHistoryError
from riskengine.frtb.capital import (
    ALL,
    RATIO_FLOOR,
    RHO,
    EsSeries,
    es_series,
    imcc,
    search_stressed,
)
from riskengine.frtb.cascade import BASE_HORIZON_DAYS, FRTB_CONFIDENCE
from riskengine.frtb.desk import (
    DESK_DAYS,
    DESK_LIMITS,
    backtest_zone,
    delta_gamma_pnl,
    ks_statistic,
    multiplier,
    multiplier_addon,
    pla_zone,
    spearman,
)
from riskengine.frtb.mapping import (
    LIQUIDITY_HORIZONS,
    FactorMapping,
    classify_factors,
    load_mapping,
)
from riskengine.frtb.report import FrtbReport
from riskengine.frtb.series import aligned
from riskengine.instruments.types import FxSpot, Portfolio
from riskengine.market.history import FactorHistory
from riskengine.market.snapshot import market_snapshot
from riskengine.pricing.compiled import CompiledBook, compile_snapshot
from riskengine.version import __version__

_SETS = ("reduced_stressed", "full_current", "reduced_current")


def _positive_int(value, name: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < minimum:
        raise InputError(f"{name} must be an integer >= {minimum}; got {value!r}.")
    return int(value)


def _mapping(mapping) -> FactorMapping | None:
    if mapping is None:
        return None
    if isinstance(mapping, str | Path):
        return load_mapping(mapping)
    return FactorMapping.of(mapping)


def _fx_factors(book: CompiledBook, portfolio: Portfolio) -> set[str]:
    names = book.factor_names
    fx = {names[c] for c in book.linear_fx_column if c >= 0}
    fx |= {names[c] for c in book.options.fx_column if c >= 0}
    fx |= {p.instrument.factor for p in portfolio.positions if isinstance(p.instrument, FxSpot)}
    return fx & set(names)


def _date_row(history: FactorHistory, value, name: str) -> int:
    try:
        day = value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))
    except ValueError:
        raise InputError(f"{name} {value!r} is not an ISO date (YYYY-MM-DD).") from None
    row = int(np.searchsorted(history.dates, np.datetime64(day, "D")))
    if row >= len(history.dates):
        raise InputError(
            f"{name} {day} is after the history's last date {history.last_date}; choose a "
            "date inside the history."
        )
    return row


def _stressed_end(history: FactorHistory, given, window: int, index: int) -> int:
    """The end row of a given stressed window: ``window`` returns from its start."""
    if isinstance(given, str) and ":" in given:
        given = tuple(given.split(":", 1))
    start, end = (given, None) if not isinstance(given, tuple | list) else (given[0], given[1])
    first = _date_row(history, start, "stressed_window start")
    last = first + window
    if last > index:
        raise InputError(
            f"the stressed window of {window} returns from {history.date_at(first)} ends after "
            f"the as-of {history.date_at(index)}; start it earlier."
        )
    if end is not None:
        stop = _date_row(history, end, "stressed_window end")
        if stop != last:
            raise InputError(
                f"the stressed window {history.date_at(first)} .. {end} holds {stop - first} "
                f"daily returns; it must hold {window} (twelve months): give only its start, "
                f"or end it on {history.date_at(last)}."
            )
    return last


def _reduced(reduced_set, names: tuple[str, ...], history: FactorHistory, universe) -> np.ndarray:
    if reduced_set is None:
        return np.isfinite(history.prices[0, universe])
    if isinstance(reduced_set, str):
        reduced_set = [s for s in reduced_set.replace(",", " ").split() if s]
    wanted = [str(s).strip() for s in reduced_set]
    unknown = sorted(set(wanted) - set(names))
    if unknown:
        raise InputError(
            f"reduced_set names {', '.join(unknown)}, not a risk factor of the book; its "
            f"factors: {', '.join(names)}."
        )
    return np.isin(np.asarray(names), wanted)


def _cascade(series: EsSeries, end: int) -> dict:
    by_bucket, adjusted = series.at(end)
    return {"by_bucket": by_bucket.tolist(), "liquidity_adjusted": adjusted}


def compute_frtb(
    portfolio: Portfolio,
    history: FactorHistory,
    *,
    as_of=None,
    mapping=None,
    reduced_set=None,
    stressed_window=None,
    window: int = 250,
    averaging_days: int = 60,
    backtest_window: int = 250,
    base_currency: str = "USD",
    actual_pnl=None,
    risk_model_pnl=None,
) -> FrtbReport:
    """The FRTB internal-model capital of ``portfolio`` (MAR33 with MAR32 and MAR99), with every
    intermediate number: docs/frtb.md.

    Args:
        portfolio: the book, held constant through history (today's positions and prices).
        history: daily closes of the risk factors.
        as_of: the book's snapshot date (default: the last date).
        mapping: risk class and liquidity horizon per factor, over the position tags and the
            defaults: a ``FactorMapping``, a dict factor -> category (or {risk_class,
            liquidity_horizon}), or the path of a mapping file (CSV or JSON).
        reduced_set: the factors of the reduced set (default: those with a close on the first
            date of the history).
        stressed_window: the first date of the stressed window (its ``window`` returns follow),
            or (start, end); default: searched, the window with the largest ES_R,S.
        window: daily returns per ES window (250: twelve months).
        averaging_days: days of the averages (60: twelve weeks).
        backtest_window: daily returns per 1-day VaR forecast of the desk backtest.
        base_currency: the currency of every amount.
        actual_pnl: the book's actual daily P&L on the 250 desk-test days, to count backtest
            exceptions on it as well: a mapping date -> P&L, a sequence of 250 values, or the
            path of a ``date,pnl`` CSV file (default: hypothetical P&L only).
        risk_model_pnl: the risk model's daily P&L for the P&L attribution test, in the same
            forms (default: the book's delta-gamma revaluation).

    Returns:
        An ``FrtbReport``.

    Raises:
        InputError: a bad mapping, reduced set or window. InsufficientHistoryError: too little
        history. NoPositionsError: no position can be priced.
    """
    from riskengine.backtest.run import run_backtest

    horizon = BASE_HORIZON_DAYS
    window = _positive_int(window, "window", horizon)
    averaging_days = _positive_int(averaging_days, "averaging_days", 1)
    backtest_window = _positive_int(backtest_window, "backtest_window", 100)
    user_mapping = _mapping(mapping)
    index = history.index_of(as_of)
    history.check_window(index, window, horizon)
    days = min(averaging_days, index - window + 1)  # windows ending in the averaging period
    snapshot = market_snapshot(history, as_of, window=window + days - 1)
    first = compile_snapshot(portfolio, snapshot, horizon, base_currency)
    universe = snapshot.universe[first.columns]  # the book's own factors
    book = compile_snapshot(portfolio, snapshot.restricted(universe), horizon, base_currency)
    names = tuple(book.factor_names)

    own: dict[str, list] = {}
    for p in portfolio.positions:
        own.setdefault(p.instrument.factor, []).append((p.id, p.tags))
    classes = classify_factors(names, _fx_factors(book, portfolio), own, user_mapping)
    horizons = np.array([f.liquidity_horizon for f in classes])
    risk_classes = sorted({f.risk_class for f in classes})
    reduced = _reduced(reduced_set, names, history, universe)
    if not reduced.any():
        raise InputError(
            "the reduced set is empty: no factor of the book has a close on the history's first "
            f"date {history.date_at(0)}. Give reduced_set (--reduced-set) explicitly."
        )
    class_masks = {c: np.array([f.risk_class == c for f in classes]) for c in risk_classes}
    for c, in_class in class_masks.items():
        if not (in_class & reduced).any():
            raise InputError(
                f"risk class {c} has no factor in the reduced set, so IMCC({c}) = ES_R,S ES_F,C "
                f"/ ES_R,C is undefined; add one of {', '.join(np.asarray(names)[in_class])} to "
                "the reduced set."
            )

    prices = history.prices[: index + 1, universe]
    with np.errstate(invalid="ignore", divide="ignore"):
        returns = prices[horizon:] / prices[:-horizon] - 1.0  # row s: from s to s + T
    start_current = index - days + 1 - window  # first scenario row of the first current window
    current = returns[start_current:]
    memo: dict = {}
    subsets = {ALL: np.ones(len(names), bool)} | class_masks
    if len(risk_classes) == 1:  # one class: it is the whole book
        subsets.pop(risk_classes[0])
        subset_of = {ALL: ALL, risk_classes[0]: ALL}
    else:
        subset_of = {c: c for c in subsets}
    reduced_series = {
        k: es_series(book, returns, 0, m & reduced, horizons, window, horizon, memo)
        for k, m in subsets.items()
    }
    full_series = {
        k: es_series(book, current, start_current, m, horizons, window, horizon, memo)
        for k, m in subsets.items()
    }

    search = reduced_series[ALL]
    if stressed_window is None:
        try:
            stressed_end = search_stressed(search)
        except ValueError:
            raise InsufficientHistoryError(
                f"no window of {window} returns has a close for every factor of the reduced set "
                f"({', '.join(np.asarray(names)[reduced])}); shorten the reduced set or import "
                "more history."
            ) from None
    else:
        stressed_end = _stressed_end(history, stressed_window, window, index)
    if not np.isfinite(search.at(stressed_end)[1]):
        raise InputError(
            f"the stressed window ending {history.date_at(stressed_end)} lacks closes of factors "
            "of the reduced set; choose a window where they all trade, or shorten the set."
        )
    ends = np.arange(index - days + 1, index + 1)
    es: dict[str, dict] = {key: {} for key in _SETS}
    stressed, full, red = {}, {}, {}
    for k in (ALL, *risk_classes):
        s = subset_of[k]
        es["reduced_stressed"][k] = _cascade(reduced_series[s], stressed_end)
        es["full_current"][k] = _cascade(full_series[s], index)
        es["reduced_current"][k] = _cascade(reduced_series[s], index)
        stressed[k] = es["reduced_stressed"][k]["liquidity_adjusted"]
        full[k] = np.array([full_series[s].at(e)[1] for e in ends])
        red[k] = np.array([reduced_series[s].at(e)[1] for e in ends])
        if not np.all(red[k] > 0):
            raise InputError(
                f"the reduced-set ES of {k} over a current window is <= 0 (the reduced factors "
                "carry no loss in the tail), so ES_F,C / ES_R,C is undefined; choose a reduced "
                "set that carries the book's risk."
            )
    total, unconstrained, by_class = imcc(stressed, full, red)
    ratio = red[ALL] / full[ALL]

    # desk tests: 1-day VaR of the book held constant, over the last 250 days
    bt_start = index - DESK_DAYS
    if bt_start - backtest_window < 0:
        raise InsufficientHistoryError(
            f"the desk backtest needs {DESK_DAYS} days of 1-day VaR forecasts from windows of "
            f"{backtest_window} returns: {DESK_DAYS + backtest_window + 1} closes up to the as-of; "
            f"the history has {index + 1}. Shorten backtest_window or import more history."
        )
    confidences = tuple(DESK_LIMITS)
    backtest = run_backtest(
        portfolio,
        history,
        methods="historical",
        window=backtest_window,
        confidence=confidences,
        start=history.date_at(bt_start),
        end=history.date_at(index - 1),
        null_simulations=0,
        as_of=history.date_at(index),
        base_currency=base_currency,
    )
    dates = history.dates
    desk_dates = [str(d) for d in dates[bt_start + 1 : index + 1]]  # the P&L days
    hpl = np.asarray(backtest.realised_pnl)
    var = backtest.methods[0].value_at_risk
    exceptions = {
        c: int(backtest.methods[0].exceptions[:, j].sum()) for j, c in enumerate(confidences)
    }
    actual = aligned(actual_pnl, desk_dates, "actual_pnl")
    actual_exceptions = None
    if actual is not None:
        flags = exception_flags(actual, var)
        actual_exceptions = {c: int(flags[:, j].sum()) for j, c in enumerate(confidences)}
    rtpl = aligned(risk_model_pnl, desk_dates, "risk_model_pnl")
    pla_model = "supplied"
    if rtpl is None:
        one_day = compile_snapshot(portfolio, snapshot.restricted(universe), 1, base_currency)
        daily = prices[bt_start + 1 : index + 1] / prices[bt_start:index] - 1.0
        rtpl = delta_gamma_pnl(one_day, daily)
        pla_model = "delta-gamma"
    rho_s, ks = spearman(hpl, rtpl), ks_statistic(hpl, rtpl)
    counted = (
        exceptions[0.99]
        if actual_exceptions is None
        else max(exceptions[0.99], actual_exceptions[0.99])
    )

    m_c = multiplier(counted)
    last, average = float(total[-1]), float(total.mean())
    charge = max(last, m_c * average)
    reduced_names = set(np.asarray(names)[reduced])
    notes = [
        f"the book as of {history.date_at(index)} held constant (today's positions and prices) "
        "in every window; options revalued at T - 10/252 in the ES, T - 1/252 in the desk tests",
        "backtest exceptions counted on hypothetical P&L (the book held constant); actual P&L "
        "is not supplied"
        if actual is None
        else "backtest exceptions counted on hypothetical P&L (the book held constant) and on the "
        "actual P&L supplied; the multiplier and the desk zone take the larger count",
        "P&L attribution: hypothetical P&L (full revaluation) against the risk model's P&L, the "
        + (
            "delta-gamma revaluation of the same daily returns"
            if pla_model == "delta-gamma"
            else "series supplied"
        ),
        f"the averages over {days} days hold today's book and the stressed window fixed; only "
        "the current windows roll",
    ]
    if days < averaging_days:
        notes.append(
            f"only {days} of the {averaging_days} averaging days have a complete current window "
            "in the history"
        )
    if user_mapping is not None:
        unused = sorted(set(user_mapping.entries) - set(names))
        if unused:
            notes.append(
                f"{len(unused)} factor(s) of {user_mapping.name} are not in the book: "
                f"{', '.join(unused[:10])}"
            )
    return FrtbReport(
        as_of=history.date_at(index).isoformat(),
        base_currency=base_currency,
        parameters={
            "confidence": FRTB_CONFIDENCE,
            "base_horizon_days": horizon,
            "window": window,
            "scenarios_per_window": window - horizon + 1,
            "averaging_days": averaging_days,
            "rho": RHO,
            "backtest_window": backtest_window,
            "liquidity_horizons": list(LIQUIDITY_HORIZONS),
        },
        portfolio={
            "name": portfolio.name,
            "n_positions": len(portfolio),
            "n_included": book.n_positions,
            "market_value": book.market_value,
        },
        factors=tuple(f.to_dict() | {"reduced": f.factor in reduced_names} for f in classes),
        stressed_window={
            "start": str(dates[stressed_end - window]),
            "end": str(dates[stressed_end]),
            "searched": stressed_window is None,
            "expected_shortfall": stressed[ALL],
            "search": {
                "end_dates": [str(d) for d in dates[search.ends]],
                "expected_shortfall": search.adjusted.tolist(),
            },
        },
        expected_shortfall=es,
        ratio={
            "reduced_to_full": float(ratio[-1]),
            "average": float(ratio.mean()),
            "days": days,
            "floor": RATIO_FLOOR,
            "below_floor": bool(ratio.mean() < RATIO_FLOOR),
            "series": ratio.tolist(),
        },
        imcc={
            "value": last,
            "unconstrained": float(unconstrained[-1]),
            "by_class": {c: float(v[-1]) for c, v in by_class.items()},
            "rho": RHO,
            "average": average,
            "days": days,
            "series": {"dates": [str(d) for d in dates[ends]], "imcc": total.tolist()},
        },
        capital={
            "charge": charge,
            "imcc_last": last,
            "average_imcc": average,
            "multiplier": m_c,
            "addon": multiplier_addon(counted),
            "exceptions_99": counted,
            "binding": "last" if last >= m_c * average else "average",
        },
        desk_tests={
            "days": DESK_DAYS,
            "pnl": "hypothetical" if actual is None else "hypothetical and actual",
            "backtest": {
                "exceptions": {str(c): n for c, n in exceptions.items()},
                "actual_exceptions": None
                if actual_exceptions is None
                else {str(c): n for c, n in actual_exceptions.items()},
                "limits": {str(c): n for c, n in DESK_LIMITS.items()},
                "zone": "fail"
                if "fail" in (backtest_zone(exceptions), backtest_zone(actual_exceptions or {}))
                else "pass",
            },
            "pla": {
                "model": pla_model,
                "spearman": rho_s,
                "ks": ks,
                "zone": pla_zone(rho_s, ks),
                "dates": desk_dates,
                "hypothetical_pnl": hpl.tolist(),
                "risk_theoretical_pnl": rtpl.tolist(),
            },
        },
        excluded_positions=tuple(e.to_dict() for e in book.excluded),
        notes=tuple(notes),
        provenance={
            "data_snapshot_id": history.snapshot_id(index, index, universe),
            "code_version": __version__,
        },
    )
