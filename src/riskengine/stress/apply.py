"""Apply stress scenarios to today's book: ``run_scenario`` and ``run_scenarios``."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from functools import partial

import numpy as np

from riskengine.errors import InputError, InsufficientHistoryError, NoPositionsError
from riskengine.instruments.types import Portfolio
from riskengine.market.history import FactorHistory, MarketState
from riskengine.stress.result import PositionPnL, StressReport, StressResult
from riskengine.stress.revalue import (
    MIN_VOL,
    Moves,
    StressBook,
    factor_moves,
    position_pnl,
    stress_book,
)
from riskengine.stress.scenarios import (
    HistoricalScenario,
    HypotheticalScenario,
    Scenario,
    load_library,
    lookup,
)
from riskengine.stress.shocks import fx_shock, resolve

INSTANT_NOTE = (
    "instant shock at as_of with full revaluation: options keep today's time to expiry (horizon 0)"
)


def as_scenario(scenario, known: dict[str, Scenario] | None = None) -> Scenario:
    """A scenario from a name (looked up in ``known``, default the library), a scenario
    object, or a sequence of shock texts (a hypothetical scenario named "custom")."""
    if isinstance(scenario, HistoricalScenario | HypotheticalScenario):
        return scenario
    if isinstance(scenario, str):
        return lookup(scenario, known if known is not None else load_library())
    if isinstance(scenario, Sequence) and all(isinstance(s, str) for s in scenario):
        return HypotheticalScenario.of("custom", list(scenario))
    raise InputError(
        f"scenario {scenario!r} is not a scenario name, a HistoricalScenario, a "
        "HypotheticalScenario or a list of shock texts."
    )


def window_rows(history: FactorHistory, scenario: HistoricalScenario) -> tuple[int, int]:
    """History rows of the closes a historical scenario uses: the last close strictly before
    ``start`` and the last close on or before ``end``."""
    dates = history.dates
    base = int(np.searchsorted(dates, np.datetime64(scenario.start, "D"), side="left")) - 1
    end = int(np.searchsorted(dates, np.datetime64(scenario.end, "D"), side="right")) - 1
    first, last = history.date_at(0), history.last_date
    where = f"scenario {scenario.name!r} ({scenario.start}..{scenario.end})"
    if base < 0:
        raise InsufficientHistoryError(
            f"{where} needs the close before {scenario.start}, but the history starts "
            f"{first}; import older prices or choose another scenario."
        )
    if scenario.end > last:
        raise InsufficientHistoryError(
            f"{where} ends after the last date of the history ({last}); import more recent "
            "prices or choose another scenario."
        )
    if end <= base:
        raise InsufficientHistoryError(
            f"{where} holds no trading day of the history; widen its dates."
        )
    return base, end


def _historical(
    portfolio: Portfolio,
    history: FactorHistory,
    scenario: HistoricalScenario,
    as_of,
    base_currency: str,
    market: MarketState | None = None,
) -> StressResult:
    base, end = window_rows(history, scenario)
    base_date, end_date = history.date_at(base), history.date_at(end)
    p0, p1 = history.prices[base], history.prices[end]
    unusable = {}
    for j, sym in enumerate(history.symbols):
        missing = [d for d, p in ((base_date, p0[j]), (end_date, p1[j])) if not np.isfinite(p)]
        if missing:
            unusable[sym] = (
                f"{sym} has no close on {' and '.join(map(str, missing))}, which scenario "
                f"{scenario.name!r} uses ({base_date} -> {end_date}); import that history or "
                "drop the position from this scenario."
            )
    snap = stress_book(portfolio, history, as_of, base_currency, unusable=unusable, market=market)
    with np.errstate(invalid="ignore", divide="ignore"):
        r = p1[snap.universe] / p0[snap.universe] - 1.0
    r = np.where(np.isfinite(r), r, 0.0)  # only factors no included position uses
    moves = factor_moves(snap, r)
    pnl, _ = position_pnl(snap, moves)
    book = snap.book
    notes = [INSTANT_NOTE]
    if len(book.options):
        notes.append("implied volatility unchanged: a historical scenario moves prices only")
    if end_date > snap.as_of:
        notes.append(f"the scenario's window ends after as_of ({snap.as_of})")
    return StressResult(
        scenario=scenario.name,
        kind=scenario.kind,
        description=scenario.description,
        as_of=snap.as_of.isoformat(),
        base_currency=book.base_currency,
        pnl=float(pnl.sum()),
        portfolio=snap.portfolio_summary(),
        positions=position_results(snap, moves, pnl),
        definition=scenario.to_dict()
        | {"base_date": base_date.isoformat(), "end_date": end_date.isoformat()},
        factor_returns={book.factor_names[c]: float(r[c]) for c in book.columns},
        excluded_positions=tuple(e.to_dict() for e in book.excluded),
        notes=tuple(notes),
    )


def position_results(snap: StressBook, moves: Moves, pnl: np.ndarray) -> tuple[PositionPnL, ...]:
    """One ``PositionPnL`` per included position (book order) from its moves and P&L."""
    names, lay = snap.book.factor_names, snap.layout
    return tuple(
        PositionPnL(
            id=p.id,
            symbol=p.symbol,
            factor=names[lay.column[i]],
            pnl=float(pnl[i]),
            shock=float(moves.own[i]),
            fx_shock=float(moves.fx[i]),
            vol_shift=float(moves.dvol[i] * 100.0) if lay.is_option[i] else None,
        )
        for i, p in enumerate(snap.positions)
    )


def _first_tags(tags) -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in tags:
        out.setdefault(key, value)
    return out


IDLE_WAY_OUT = (
    "check the spelling against the book's symbols, tags and currencies, or keep the scenario "
    "anyway (Python keep_idle_shocks=True; CLI --keep-idle-shocks; API keep_idle_shocks: true)"
)


def _hypothetical(
    snap: StressBook, scenario: HypotheticalScenario, keep_idle_shocks: bool = False
) -> StressResult:
    book, lay = snap.book, snap.layout
    names = book.factor_names
    n = book.n_positions
    own, fx, dvol = np.zeros(n), np.zeros(n), np.zeros(n)
    used: set[str] = set()  # the shocks that apply to a position
    matched: set[str] = set()  # the shocks that match a position (applied or overridden)
    notes = [INSTANT_NOTE]
    shocks = scenario.shocks
    for i, p in enumerate(snap.positions):
        factor, tags = names[lay.column[i]], _first_tags(p.tags)
        kinds = (False, True) if lay.is_option[i] else (False,)
        for vol in kinds:
            matched.update(s.text for s in shocks if s.vol == vol and s.matches(factor, tags))
            res = resolve(shocks, factor, tags, vol=vol)
            if res.shock is None:
                continue
            used.add(res.shock.text)
            (dvol if vol else own)[i] = res.amount
            if res.shadowed:
                notes.append(
                    f"position {p.id} matches several tag shocks "
                    f"({', '.join(s.text for s in (res.shock, *res.shadowed))}); the first "
                    f"written, {res.shock.text}, applies"
                )
        if lay.fx_column[i] >= 0:
            pair = names[lay.fx_column[i]]
            matched.update(
                s.text for s in shocks if not s.vol and s.target == "symbol" and s.key == pair
            )
            fx[i] = fx_shock(shocks, pair)
            if fx[i]:
                used.add(
                    next(
                        s.text
                        for s in shocks
                        if s.target == "symbol" and s.key == pair and not s.vol
                    )
                )
    moves = Moves(own, fx, dvol)
    pnl, floored = position_pnl(snap, moves)
    idle = [s.text for s in shocks if s.text not in used]
    unmatched = [t for t in idle if t not in matched]
    warnings = []
    if scenario.from_library:  # a generic scenario: part of it may miss any book
        unmatched = []
    overridden = [t for t in idle if t not in unmatched]
    if overridden:
        notes.append(
            f"shock(s) reaching no position of the book (overridden by more specific ones, or "
            f"matching nothing in this generic scenario): {', '.join(overridden)}"
        )
    if unmatched:
        what = (
            f"scenario {scenario.name!r}: shock(s) {', '.join(unmatched)} reach no position of "
            f"the book (its symbols: {', '.join(sorted(set(snap.book.factor_names))[:20])})"
        )
        if not keep_idle_shocks:
            raise InputError(f"{what}; {IDLE_WAY_OUT}.")
        warnings.append(f"{what}: kept as asked, they add nothing to the P&L")
    for at in np.nonzero(floored)[0]:
        notes.append(
            f"position {book.position_ids[at]}: shocked implied volatility below zero, floored "
            f"at {MIN_VOL * 100:g} volatility points"
        )
    return StressResult(
        scenario=scenario.name,
        kind=scenario.kind,
        description=scenario.description,
        as_of=snap.as_of.isoformat(),
        base_currency=book.base_currency,
        pnl=float(pnl.sum()),
        portfolio=snap.portfolio_summary(),
        positions=position_results(snap, moves, pnl),
        definition=scenario.to_dict(),
        factor_returns={},
        excluded_positions=tuple(e.to_dict() for e in book.excluded),
        notes=tuple(notes),
        warnings=tuple(warnings),
    )


def run_scenario(
    portfolio: Portfolio,
    history: FactorHistory,
    scenario,
    *,
    as_of: dt.date | str | None = None,
    base_currency: str = "USD",
    known: dict[str, Scenario] | None = None,
    keep_idle_shocks: bool = False,
    market: MarketState | None = None,
) -> StressResult:
    """Today's book under one stress scenario: an instant shock at ``as_of`` (at the latest
    prices ``market`` when given) with full revaluation (horizon 0: options keep today's time
    to expiry).

    Args:
        portfolio: the book.
        history: daily closes; the book is valued at the close of ``as_of`` (default: the
            last date), and a historical scenario takes its factor returns from it.
        scenario: a library name (or a name in ``known``), a ``HistoricalScenario``, a
            ``HypotheticalScenario``, or a list of shock texts such as ``["*=-0.1"]``.
        base_currency: currency of every amount.
        known: scenarios by name to look names up in (default: the library).
        keep_idle_shocks: run a scenario of your own although some of its shocks reach no
            position of the book (a mistyped symbol), with a warning; by default it is refused
            (the library's generic scenarios only note such shocks).

    Returns:
        A ``StressResult``: the total and per-position P&L (gain positive), exclusions, notes.

    Raises:
        InputError: an unknown name or an invalid scenario.
        InsufficientHistoryError: a historical window outside the history.
        NoPositionsError: no position can be priced.
    """
    sc = as_scenario(scenario, known)
    base_currency = str(base_currency).upper()
    if isinstance(sc, HistoricalScenario):
        return _historical(portfolio, history, sc, as_of, base_currency, market)
    snap = stress_book(portfolio, history, as_of, base_currency, market=market)
    return _hypothetical(snap, sc, keep_idle_shocks)


def _one_scenario(portfolio, history, snap, base_currency, keep, market, sc) -> StressResult | dict:
    """One scenario's result, or ``{"scenario", "reason"}`` when it cannot run."""
    try:
        if isinstance(sc, HistoricalScenario):
            return _historical(portfolio, history, sc, snap.as_of, base_currency, market)
        return _hypothetical(snap, sc, keep)
    except (InsufficientHistoryError, NoPositionsError) as exc:
        return {"scenario": sc.name, "reason": str(exc)}


def run_scenarios(
    portfolio: Portfolio,
    history: FactorHistory,
    scenarios=None,
    *,
    as_of: dt.date | str | None = None,
    base_currency: str = "USD",
    known: dict[str, Scenario] | None = None,
    executor=None,
    keep_idle_shocks: bool = False,
    market: MarketState | None = None,
) -> StressReport:
    """Several scenarios (default: the whole library) on today's book, valued at the close of
    ``as_of`` or at the latest prices ``market`` (a live feed's).

    A scenario that cannot run (its window outside the history, every position excluded)
    is listed in ``skipped`` with the reason; the others still run. With ``executor`` (a
    LocalExecutor or a DaskExecutor) the scenarios are split over it, one task each; the
    results are the same, in the same order. A scenario of your own with a shock that reaches
    no position of the book is refused (InputError) unless ``keep_idle_shocks`` (see
    ``run_scenario``).
    """
    known = known if known is not None else load_library()
    chosen = (
        list(known.values()) if scenarios is None else [as_scenario(s, known) for s in scenarios]
    )
    base_currency = str(base_currency).upper()
    snap = stress_book(portfolio, history, as_of, base_currency, market=market)
    one = partial(_one_scenario, portfolio, history, snap, base_currency, keep_idle_shocks, market)
    outcomes = executor.map(one, chosen) if executor is not None else [one(s) for s in chosen]
    results = [r for r in outcomes if isinstance(r, StressResult)]
    skipped = [r for r in outcomes if not isinstance(r, StressResult)]
    return StressReport(
        as_of=snap.as_of.isoformat(),
        base_currency=base_currency,
        portfolio=snap.portfolio_summary(),
        results=tuple(results),
        skipped=tuple(skipped),
    )
