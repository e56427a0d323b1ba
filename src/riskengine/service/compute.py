"""The risk computation of the service, wherever it runs (a thread of the server or a worker
process, ``service.workers``): a request's fields to ``compute_risk``, the report dict with the
book's limits, and what the risk history keeps of it."""

from __future__ import annotations

import orjson

from riskengine.cache import RiskCache
from riskengine.choices import CONTRIBUTIONS
from riskengine.errors import InputError
from riskengine.market.history import FactorHistory, MarketState
from riskengine.pipeline import compute_risk
from riskengine.scale.local import Executor
from riskengine.service.limits import needs_contributions, utilisation
from riskengine.service.stored_books import Book

# Request fields that are not RiskSpec fields.
SERVICE_FIELDS = ("portfolio_id", "portfolio", "live", "contributions")


def spec_fields(request: dict) -> dict:
    """compute_risk keyword arguments from a risk request (None values left to defaults)."""
    fields = {k: v for k, v in request.items() if k not in SERVICE_FIELDS and v is not None}
    if "confidence" in fields:
        fields["confidence"] = tuple(fields["confidence"])
    detail = request.get("contributions") or "none"
    if detail not in CONTRIBUTIONS:
        raise InputError(f"contributions {detail!r} is not one of: {', '.join(CONTRIBUTIONS)}.")
    fields["contributions"] = detail != "none"
    if detail != "none":
        fields["contribution_detail"] = detail
    return fields


def risk_report(
    book: Book,
    request: dict,
    history: FactorHistory,
    market: MarketState | None,
    cache: RiskCache,
    executor: Executor,
) -> tuple[dict, str]:
    """The report dict of ``book`` for the risk ``request`` (``limits`` utilisation and
    ``portfolio.id`` added) and its method: the computation itself, wherever it runs (a
    thread of the server or a worker process). ``market`` is used unless ``live`` is false."""
    request = dict(request)
    if needs_contributions(book.limits) and (request.get("contributions") or "none") == "none":
        request["contributions"] = "components"
    fields = spec_fields(request)
    fields.setdefault("base_currency", book.base_currency)
    report = compute_risk(
        book.portfolio,
        history,
        market=market if request.get("live", True) else None,
        cache=cache,
        executor=executor,
        **fields,
    )
    out = report.to_dict()
    out["portfolio"]["id"] = book.id
    out["limits"] = utilisation(book.limits, out)
    return out, report.method


# What the stored risk history keeps of a report: the numbers, limits and provenance, not the
# per-position detail (a 5,000-position report is megabytes; its history entry a few kB).
HISTORY_KEYS = (
    "schema_version", "method", "as_of", "base_currency", "results", "parameters",
    "n_scenarios", "portfolio", "data_quality", "notes", "provenance", "limits",
)  # fmt: skip


def history_entry(report: dict) -> dict:
    """The part of ``report`` kept in the risk history (docs/api.md)."""
    entry = {k: report.get(k) for k in HISTORY_KEYS}
    entry["n_excluded_positions"] = len(report.get("excluded_positions") or ())
    return entry


def dumps(obj) -> str:
    return orjson.dumps(obj, option=orjson.OPT_SERIALIZE_NUMPY).decode()


def encode_json(obj) -> bytes:
    """JSON bytes of an answer as the API writes them (its responses and the worker
    processes' answers): NaN and infinities as null, numpy values as numbers."""
    return orjson.dumps(obj, option=orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS)
