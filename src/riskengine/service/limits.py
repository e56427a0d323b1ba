"""VaR and ES limits per book and per tag, and their utilisation in a report.

A limit is ``{"measure": "value_at_risk" | "expected_shortfall", "confidence": 0.99,
"limit": 1e6, "tag": null | "key=value"}``. A book limit compares with the report's total; a
tag limit with the tag group's component VaR or ES (Euler contributions, which add up to the
total), so a report for a book with tag limits computes contributions.
"""

from __future__ import annotations

import math

from riskengine.errors import InputError

MEASURES = ("value_at_risk", "expected_shortfall")
_COMPONENT = {"value_at_risk": "component_var", "expected_shortfall": "component_es"}
_FIELDS = ("measure", "confidence", "limit", "tag")


def check_limits(raw, where: str = "limits") -> list[dict]:
    """Validated limits (a list of dicts in the form above); InputError names the entry."""
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise InputError(f"{where} must be a list of limits; got {type(raw).__name__}.")
    out = []
    for i, item in enumerate(raw):
        at = f"{where}[{i}]"
        if not isinstance(item, dict):
            raise InputError(f"{at} must be an object with measure, confidence and limit.")
        unknown = sorted(set(item) - set(_FIELDS))
        if unknown:
            raise InputError(
                f"{at} has unknown field(s) {', '.join(unknown)}; valid: {', '.join(_FIELDS)}."
            )
        measure = item.get("measure", "value_at_risk")
        if measure not in MEASURES:
            raise InputError(f"{at}.measure {measure!r} is not one of: {', '.join(MEASURES)}.")
        c = item.get("confidence", 0.99)
        if isinstance(c, bool) or not isinstance(c, int | float) or not 0 < c < 1:
            raise InputError(f"{at}.confidence must be in (0, 1), e.g. 0.99; got {c!r}.")
        limit = item.get("limit")
        if (
            isinstance(limit, bool)
            or not isinstance(limit, int | float)
            or not math.isfinite(limit)
            or limit <= 0
        ):
            raise InputError(
                f"{at}.limit must be a positive amount in the base currency; got {limit!r}."
            )
        tag = item.get("tag")
        if tag is not None and (
            not isinstance(tag, str)
            or tag.count("=") != 1
            or not all(part.strip() for part in tag.split("="))
        ):
            raise InputError(
                f"{at}.tag must be 'key=value' (e.g. 'sector=tech') or null for "
                f"the whole book; got {tag!r}."
            )
        out.append(
            {
                "measure": measure,
                "confidence": float(c),
                "limit": float(limit),
                "tag": tag.strip() if tag else None,
            }
        )
    return out


def needs_contributions(limits: list[dict]) -> bool:
    return any(limit["tag"] for limit in limits)


def utilisation(limits: list[dict], report: dict) -> list[dict]:
    """Each limit with ``value`` (the measure now), ``utilisation`` (value / limit) and
    ``breached``; ``value`` is None, with a ``reason``, when the report does not hold it."""
    measures = {round(m["confidence"], 12): m for m in report.get("results", [])}
    by_tag: dict[tuple[float, str], dict] = {}
    contributions = report.get("contributions") or {}
    for row in contributions.get("by_tag", []):
        by_tag[(round(row["confidence"], 12), f"{row['key']}={row['value']}")] = row
    out = []
    for limit in limits:
        c = round(limit["confidence"], 12)
        value, reason = None, None
        if c not in measures:
            reason = f"the report has no confidence {limit['confidence']}"
        elif limit["tag"] is None:
            value = measures[c][limit["measure"]]
        elif not contributions:
            reason = "the report has no contributions by tag"
        else:
            row = by_tag.get((c, limit["tag"]))
            # no position carries the tag: it contributes nothing
            value = 0.0 if row is None else row[_COMPONENT[limit["measure"]]]
        entry = dict(limit)
        if value is None:
            entry |= {"value": None, "utilisation": None, "breached": False, "reason": reason}
        else:
            entry |= {
                "value": value,
                "utilisation": value / limit["limit"],
                "breached": bool(value > limit["limit"]),
            }
        out.append(entry)
    return out
