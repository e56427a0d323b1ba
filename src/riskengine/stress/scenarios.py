"""Stress scenarios: historical windows and hypothetical shocks, the shipped library and files
of custom scenarios.

A scenario file (and the library, ``library.json`` in this package) is JSON::

    {"scenarios": [
        {"name": "lehman-2008", "type": "historical", "start": "2008-09-12",
         "end": "2008-10-10", "description": "..."},
        {"name": "equity-crash-20", "type": "hypothetical",
         "shocks": ["*=-20%", "vol:*=+15"], "description": "..."}
    ]}

``type`` may be left out: a scenario with ``start``/``end`` is historical, one with ``shocks``
hypothetical. Names are unique (letters, digits, ``-``, ``_``, ``.``).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import field as dc_field
from importlib import resources
from pathlib import Path

from riskengine.errors import InputError
from riskengine.inputfile import iso_date, parse_json, read_text, show
from riskengine.stress.shocks import Shock, parse_shocks

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


@dataclass(frozen=True)
class HistoricalScenario:
    """The factor returns of a past window, applied to today's book as an instant shock.

    Each factor moves by ``P(end) / P(before start) - 1``: from the last close strictly before
    ``start`` to the last close on or before ``end`` (a date that is not a trading day in the
    history falls back to the last close before it).
    """

    name: str
    start: dt.date
    end: dt.date
    description: str = ""

    kind = "historical"

    def __post_init__(self):
        _check_name(self.name)
        for field in ("start", "end"):
            v = getattr(self, field)
            if isinstance(v, str):
                object.__setattr__(self, field, _date(v, f"scenario {self.name!r}: {field}"))
            elif not isinstance(v, dt.date):
                raise InputError(
                    f"scenario {self.name!r}: {field} {show(v)} is not a date; write YYYY-MM-DD."
                )
        if self.end < self.start:
            raise InputError(
                f"scenario {self.name!r}: end {self.end} is before start {self.start}; swap them."
            )

    def to_dict(self) -> dict:
        return {
            "name": self.name,
            "type": self.kind,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "description": self.description,
        }

    def summary(self) -> str:
        return f"{self.start}..{self.end}"


@dataclass(frozen=True)
class HypotheticalScenario:
    """Named hypothetical shocks (syntax and precedence: ``riskengine.stress.shocks``)."""

    name: str
    shocks: tuple[Shock, ...]
    description: str = ""
    from_library: bool = dc_field(default=False, compare=False)  # generic: idle shocks expected

    kind = "hypothetical"

    def __post_init__(self):
        _check_name(self.name)
        if not self.shocks or not all(isinstance(s, Shock) for s in self.shocks):
            object.__setattr__(self, "shocks", parse_shocks(self.shocks, f"scenario {self.name!r}"))

    @classmethod
    def of(cls, name: str, shocks, description: str = "") -> HypotheticalScenario:
        """A scenario from shock texts, e.g. ``of("crash", ["*=-0.2", "vol:*=+10"])``."""
        return cls(name, parse_shocks(shocks, f"scenario {name!r}"), description)

    def to_dict(self) -> dict:
        return {
            "name": self.name,
            "type": self.kind,
            "shocks": [s.text for s in self.shocks],
            "description": self.description,
        }

    def summary(self) -> str:
        return " ".join(s.text for s in self.shocks)


Scenario = HistoricalScenario | HypotheticalScenario


def _check_name(name) -> None:
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise InputError(
            f"scenario name {show(name)} is invalid; use letters, digits, '-', '_' or '.', "
            "e.g. 'lehman-2008'."
        )


def _date(raw, where: str) -> dt.date:
    if isinstance(raw, dt.date) and not isinstance(raw, dt.datetime):
        return raw
    d = iso_date(raw) if isinstance(raw, str) else None
    if d is None:
        raise InputError(
            f"{where} {show(raw)} is not an ISO date; write it as a string YYYY-MM-DD, "
            'e.g. "2008-09-12".'
        )
    return d


def _historical(entry: dict, where: str) -> HistoricalScenario:
    for field in ("start", "end"):
        if field not in entry:
            raise InputError(f"{where}: a historical scenario needs {field!r} (YYYY-MM-DD).")
    return HistoricalScenario(
        entry["name"],
        _date(entry["start"], f"{where}: start"),
        _date(entry["end"], f"{where}: end"),
        str(entry.get("description", "")),
    )


def _hypothetical(entry: dict, where: str) -> HypotheticalScenario:
    shocks = entry.get("shocks")
    if not isinstance(shocks, list) or not shocks:
        raise InputError(
            f"{where}: 'shocks' must be a non-empty list of shock texts, e.g. "
            '["*=-0.1", "vol:*=+10"]; got ' + show(shocks) + "."
        )
    return HypotheticalScenario(
        entry["name"], parse_shocks(shocks, where), str(entry.get("description", ""))
    )


# Scenario type -> builder from a JSON entry.
SCENARIO_TYPES: dict[str, Callable[[dict, str], Scenario]] = {
    "historical": _historical,
    "hypothetical": _hypothetical,
}
_FIELDS = {"name", "type", "start", "end", "shocks", "description"}


def scenario_from_dict(entry: dict, where: str = "scenario") -> Scenario:
    """One scenario from its JSON object (schema: module docstring)."""
    if not isinstance(entry, dict):
        raise InputError(f"{where}: each scenario must be a JSON object; got {show(entry)}.")
    name = entry.get("name")
    if name is None:
        raise InputError(f"{where}: a scenario needs a 'name'.")
    where = f"{where} {show(name)}"
    unknown = sorted(set(entry) - _FIELDS)
    if unknown:
        raise InputError(
            f"{where}: unknown field(s) {', '.join(map(show, unknown))}; valid: "
            f"{', '.join(sorted(_FIELDS))}."
        )
    kind = entry.get("type")
    if kind is None:
        has_dates, has_shocks = "start" in entry or "end" in entry, "shocks" in entry
        if has_dates == has_shocks:
            raise InputError(
                f"{where}: give either 'start' and 'end' (historical) or 'shocks' "
                "(hypothetical), or set 'type'."
            )
        kind = "historical" if has_dates else "hypothetical"
    if not isinstance(kind, str) or kind not in SCENARIO_TYPES:
        raise InputError(f"{where}: type {show(kind)} is not one of: {', '.join(SCENARIO_TYPES)}.")
    return SCENARIO_TYPES[kind](entry, where)


def parse_scenarios(doc, source: str) -> dict[str, Scenario]:
    """Scenarios by name from a parsed scenario document (``{"scenarios": [...]}``)."""
    entries = doc.get("scenarios") if isinstance(doc, dict) else None
    if not isinstance(entries, list):
        raise InputError(
            f'{source}: expected a JSON object {{"scenarios": [...]}} (see docs/stress.md).'
        )
    out: dict[str, Scenario] = {}
    for i, entry in enumerate(entries, start=1):
        s = scenario_from_dict(entry, f"{source}, scenario {i}")
        if s.name in out:
            raise InputError(f"{source}: scenario name {s.name!r} appears twice; rename one.")
        out[s.name] = s
    return out


def load_scenarios(path: str | Path) -> dict[str, Scenario]:
    """Custom scenarios from a JSON file (same schema as the library)."""
    p = Path(path)
    source = f"scenario file {str(p)!r}"
    text = read_text(p, "scenario", InputError)
    doc = parse_json(text, source, InputError, "See docs/stress.md for the scenario format.")
    return parse_scenarios(doc, source)


def load_library() -> dict[str, Scenario]:
    """The named scenarios shipped with riskengine (``library.json``), by name."""
    text = resources.files("riskengine.stress").joinpath("library.json").read_text("utf-8")
    scenarios = parse_scenarios(json.loads(text), "scenario library")
    return {
        n: dataclasses.replace(s, from_library=True) if isinstance(s, HypotheticalScenario) else s
        for n, s in scenarios.items()
    }


def merge_scenarios(library: dict[str, Scenario], custom: dict[str, Scenario], source: str):
    """The library plus custom scenarios; a custom name that is also in the library is an
    error (rename it)."""
    clash = sorted(set(library) & set(custom))
    if clash:
        raise InputError(
            f"{source}: scenario name(s) {', '.join(clash)} are already in the library; "
            "rename them in the file."
        )
    return library | custom


def lookup(name: str, known: dict[str, Scenario]) -> Scenario:
    """The scenario ``name`` among ``known``; the error lists the valid names."""
    try:
        return known[name]
    except KeyError:
        raise InputError(
            f"unknown scenario {name!r}; known: {', '.join(known)}. Define it as a custom "
            "scenario (CLI --scenarios-file; API: the request's custom list), or list the "
            "library (CLI --list; API: GET /api/v1/stress/scenarios)."
        ) from None
