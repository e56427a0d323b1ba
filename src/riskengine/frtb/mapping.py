"""Risk factors of a book with their FRTB risk class and liquidity horizon (MAR33.12).

Every scenario column a compiled book uses is one modellable risk factor: an equity price (a
stock, the underlying of an option, a futures price) or an FX rate (an ``FxSpot`` pair, or the
rate that converts a foreign position to the base currency). Implied volatilities are held
constant (DESIGN §2), so volatility factors are out of scope.

The liquidity horizon of a factor comes from, in order of precedence:

1. a mapping (``FactorMapping``, from a file or a dict), factor by factor;
2. the tags of the positions on the factor: ``frtb_category=<category>`` or
   ``liquidity_horizon=<days>``;
3. the default: an equity is large cap (10 days: riskengine has no market capitalisation data),
   an FX pair is a specified pair (10 days) when both its currencies are in
   ``SPECIFIED_CURRENCIES`` (the pairs MAR33.12 lists and their first-order crosses), else 20.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from riskengine.errors import InputError

LIQUIDITY_HORIZONS = (10, 20, 40, 60, 120)  # LH_1..LH_5 of MAR33.4, in days
RISK_CLASSES = ("equity", "fx", "commodity")

# category -> (risk class, liquidity horizon in days): MAR33.12 Table 2, the rows of the
# factors riskengine models (price factors; volatilities are held constant).
CATEGORIES: dict[str, tuple[str, int]] = {
    "equity_large_cap": ("equity", 10),
    "equity_small_cap": ("equity", 20),
    "equity_other": ("equity", 60),
    "fx_specified": ("fx", 10),
    "fx_other": ("fx", 20),
    "commodity_energy": ("commodity", 20),
    "commodity_metals": ("commodity", 20),
    "commodity_other": ("commodity", 60),
}

# MAR33.12: the specified currency pairs are USD/EUR, USD/JPY, USD/GBP, USD/AUD, USD/CAD,
# USD/CHF, USD/MXN, USD/CNY, USD/NZD, USD/RUB, USD/HKD, USD/SGD, USD/TRY, USD/KRW, USD/SEK,
# USD/ZAR, USD/INR, USD/NOK, USD/BRL, EUR/JPY, EUR/GBP, EUR/CHF and JPY/AUD, and the pairs forming
# first-order crosses across them: every pair of two of these currencies.
SPECIFIED_CURRENCIES = frozenset(
    ("USD", "EUR", "JPY", "GBP", "AUD", "CAD", "CHF", "MXN", "CNY", "NZD")
    + ("RUB", "HKD", "SGD", "TRY", "KRW", "SEK", "ZAR", "INR", "NOK", "BRL")
)

CATEGORY_TAG = "frtb_category"
HORIZON_TAG = "liquidity_horizon"


@dataclass(frozen=True)
class FactorClass:
    """One risk factor's FRTB classification.

    Attributes:
        factor: the factor symbol (a scenario column).
        risk_class: one of ``RISK_CLASSES``.
        liquidity_horizon: days, one of ``LIQUIDITY_HORIZONS``.
        source: where it came from: "mapping", "tag <position id>" or "default (...)".
    """

    factor: str
    risk_class: str
    liquidity_horizon: int
    source: str

    def to_dict(self) -> dict:
        return {
            "factor": self.factor,
            "risk_class": self.risk_class,
            "liquidity_horizon": self.liquidity_horizon,
            "source": self.source,
        }


def _horizon(value, where: str) -> int:
    try:
        days = int(str(value).strip())
    except ValueError:
        days = -1
    if days not in LIQUIDITY_HORIZONS or str(value).strip() in ("", "True", "False"):
        raise InputError(
            f"{where}: liquidity_horizon {value!r} is not one of "
            f"{', '.join(map(str, LIQUIDITY_HORIZONS))} days (MAR33.12)."
        )
    return days


def _category(value, where: str) -> tuple[str, int]:
    try:
        return CATEGORIES[str(value).strip()]
    except KeyError:
        raise InputError(
            f"{where}: category {value!r} is not one of: {', '.join(CATEGORIES)}."
        ) from None


def _entry(factor: str, spec, where: str) -> tuple[str, int]:
    """(risk class, horizon) of one mapping entry: a category name, or a dict with
    ``category``, or ``risk_class`` and ``liquidity_horizon``."""
    if isinstance(spec, str):
        return _category(spec, where)
    if not isinstance(spec, Mapping):
        raise InputError(
            f"{where}: the entry of {factor!r} must be a category name or an object with "
            f"category, or risk_class and liquidity_horizon; got {spec!r}."
        )
    unknown = sorted(set(spec) - {"factor", "category", "risk_class", "liquidity_horizon"})
    if unknown:
        raise InputError(
            f"{where}: unknown field(s) {', '.join(unknown)} for {factor!r}; valid: category, "
            "risk_class, liquidity_horizon."
        )
    category = spec.get("category") or None
    if category is not None:
        if spec.get("risk_class") or spec.get("liquidity_horizon"):
            raise InputError(
                f"{where}: {factor!r} has a category and a risk_class/liquidity_horizon; give "
                "one or the other."
            )
        return _category(category, where)
    risk_class = str(spec.get("risk_class") or "").strip()
    if risk_class not in RISK_CLASSES:
        raise InputError(
            f"{where}: risk_class {risk_class!r} of {factor!r} is not one of: "
            f"{', '.join(RISK_CLASSES)} (or give a category: {', '.join(CATEGORIES)})."
        )
    return risk_class, _horizon(spec.get("liquidity_horizon"), f"{where} ({factor})")


@dataclass(frozen=True)
class FactorMapping:
    """Risk class and liquidity horizon per factor, given by the user.

    Attributes:
        entries: factor -> (risk class, liquidity horizon in days).
        name: where it was read from (for messages).
    """

    entries: Mapping[str, tuple[str, int]]
    name: str = "mapping"

    @classmethod
    def of(cls, mapping, name: str = "mapping") -> FactorMapping:
        """From a dict ``factor -> category`` or ``factor -> {risk_class, liquidity_horizon}``
        (or ``{category}``), or a list of records with a ``factor`` field."""
        if isinstance(mapping, FactorMapping):
            return mapping
        if isinstance(mapping, Mapping):
            items = list(mapping.items())
        elif isinstance(mapping, list | tuple):
            items = []
            for i, record in enumerate(mapping):
                if not isinstance(record, Mapping) or not str(record.get("factor") or "").strip():
                    raise InputError(f"{name}: record {i + 1} has no factor; got {record!r}.")
                items.append((str(record["factor"]).strip(), record))
        else:
            raise InputError(
                f"{name} must map factors to categories (a dict or a list of records); "
                f"got {type(mapping).__name__}."
            )
        entries: dict[str, tuple[str, int]] = {}
        for factor, spec in items:
            factor = str(factor).strip()
            if factor in entries:
                raise InputError(f"{name}: factor {factor!r} is mapped twice; keep one entry.")
            entries[factor] = _entry(factor, spec, name)
        return cls(entries, name)

    def records(self) -> list[dict]:
        """The entries as records ``{factor, risk_class, liquidity_horizon}`` (sorted)."""
        return [
            {"factor": f, "risk_class": c, "liquidity_horizon": lh}
            for f, (c, lh) in sorted(self.entries.items())
        ]


def load_mapping(path: str | Path) -> FactorMapping:
    """A mapping file: CSV with a ``factor`` column and either ``category`` or ``risk_class``
    and ``liquidity_horizon`` (docs/frtb.md#mapping-file), or JSON (an object factor ->
    category or entry, or a list of records).

    Raises:
        InputError: an unreadable file, a missing column, an unknown category or class, a
            horizon outside MAR33.12's, a factor mapped twice.
    """
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read the mapping file {str(path)!r}: {exc}.") from None
    return parse_mapping(text, "json" if p.suffix.lower() == ".json" else "csv", p.name)


def parse_mapping(text: str, kind: str, filename: str = "mapping") -> FactorMapping:
    """A mapping file's text (``kind`` "csv" or "json"), as ``load_mapping`` reads it."""
    name = f"mapping file {filename}"
    if kind == "json":
        try:
            return FactorMapping.of(json.loads(text), name)
        except json.JSONDecodeError as exc:
            raise InputError(f"{name} is not valid JSON: {exc}.") from None
    reader = csv.DictReader(io.StringIO(text))
    fields = [f.strip() for f in reader.fieldnames or []]
    if "factor" not in fields or not ({"category", "risk_class"} & set(fields)):
        raise InputError(
            f"{name} needs a header with factor and category (or risk_class and "
            f"liquidity_horizon); got {', '.join(fields) or 'no header'}."
        )
    records = []
    for line, row in enumerate(reader, start=2):
        row = {k.strip(): (v or "").strip() for k, v in row.items() if k is not None}
        if not any(row.values()):
            continue
        if not row.get("factor"):
            raise InputError(f"{name} line {line}: the factor is empty.")
        records.append({k: v for k, v in row.items() if v != "" or k == "factor"})
    return FactorMapping.of(records, name)


def _default(factor: str, fx: bool) -> tuple[str, int, str]:
    if fx:
        pair = (factor[:3], factor[3:6])
        if len(factor) == 6 and set(pair) <= SPECIFIED_CURRENCIES:
            return "fx", 10, "default (specified currency pair)"
        return "fx", 20, "default (other currency pair)"
    return "equity", 10, "default (equity, large cap)"


def classify_factors(
    factor_names, fx_factors, position_tags, mapping: FactorMapping | None = None
) -> tuple[FactorClass, ...]:
    """The class and liquidity horizon of every factor.

    Args:
        factor_names: the factors, in scenario-column order.
        fx_factors: the names among them that are FX rates.
        position_tags: factor -> [(position id, tags)] of the positions whose own factor it is.
        mapping: the user's mapping (it wins over tags and defaults).

    Raises:
        InputError: a bad tag value, or positions on one factor tagged differently.
    """
    out = []
    fx = set(fx_factors)
    for factor in factor_names:
        if mapping is not None and factor in mapping.entries:
            risk_class, days = mapping.entries[factor]
            out.append(FactorClass(factor, risk_class, days, mapping.name))
            continue
        tagged: list[tuple[str, tuple[str, int]]] = []
        for pid, tags in position_tags.get(factor, ()):
            tags = dict(tags)
            where = f"position {pid} tag"
            if CATEGORY_TAG in tags and HORIZON_TAG in tags:
                raise InputError(
                    f"{where}s: {CATEGORY_TAG} and {HORIZON_TAG} both given; keep one."
                )
            if CATEGORY_TAG in tags:
                tagged.append((pid, _category(tags[CATEGORY_TAG], f"{where} {CATEGORY_TAG}")))
            elif HORIZON_TAG in tags:
                default_class = _default(factor, factor in fx)[0]
                tagged.append(
                    (pid, (default_class, _horizon(tags[HORIZON_TAG], f"{where} {HORIZON_TAG}")))
                )
        if tagged:
            first_id, first = tagged[0]
            for pid, value in tagged[1:]:
                if value != first:
                    raise InputError(
                        f"positions {first_id} and {pid} on {factor} are tagged with different "
                        f"FRTB classes {first} and {value}; a risk factor has one liquidity "
                        "horizon: tag them alike or map the factor in a mapping file."
                    )
            out.append(FactorClass(factor, first[0], first[1], f"tag ({first_id})"))
            continue
        risk_class, days, source = _default(factor, factor in fx)
        out.append(FactorClass(factor, risk_class, days, source))
    return tuple(out)
