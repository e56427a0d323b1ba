"""Stored portfolios: the document kept in the store, and parsed books cached by content.

The stored document is ``{"name", "base_currency", "positions": [records], "limits": [...]}``
with the records in the book format of docs/formats.md (the fields of a CSV row), and
``"frtb_mapping": [{factor, risk_class, liquidity_horizon}]`` when the book has an FRTB mapping
(docs/frtb.md).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, field, replace

import orjson

from riskengine.errors import NotFoundError, PortfolioFormatError, TooLargeError
from riskengine.frtb.mapping import FactorMapping
from riskengine.instruments.bookfile import portfolio_from_records
from riskengine.instruments.types import Portfolio
from riskengine.service.limits import check_limits
from riskengine.store.base import TickStore


@dataclass(frozen=True)
class Book:
    """A portfolio as the service holds it: id (None when inline), document and parsed book."""

    id: int | None
    doc: dict
    portfolio: Portfolio
    text: str | None = field(default=None, compare=False, repr=False)  # the stored JSON

    @property
    def limits(self) -> list[dict]:
        return self.doc.get("limits", [])

    @property
    def frtb_mapping(self) -> list[dict]:
        return self.doc.get("frtb_mapping", [])

    @property
    def base_currency(self) -> str:
        return self.doc.get("base_currency", "USD")

    def summary(self) -> dict:
        return {
            "id": self.id,
            "name": self.doc["name"],
            "n_positions": len(self.portfolio),
            "base_currency": self.base_currency,
            "limits": self.limits,
            "frtb_mapping": self.frtb_mapping,
        }


def clean_record(record: dict) -> dict:
    """A position record without empty fields (what a CSV row leaves blank)."""
    return {k: v for k, v in record.items() if v is not None and v != ""}


def make_book(
    doc: dict,
    *,
    book_id: int | None = None,
    max_positions: int,
    source: str,
    max_limits: int | None = None,
) -> Book:
    """Validate a portfolio document (name, positions, limits, base currency) into a Book;
    at most ``max_positions`` positions and ``max_limits`` limits (TooLargeError: 413)."""
    positions = doc.get("positions")
    if not isinstance(positions, list):
        raise PortfolioFormatError(f"{source}: 'positions' must be a list of position objects.")
    if len(positions) > max_positions:
        raise TooLargeError(
            f"{source}: {len(positions)} positions exceeds the limit of {max_positions}; split "
            "the book or raise RISKENGINE_MAX_POSITIONS on the server."
        )
    limits = doc.get("limits")
    if max_limits is not None and isinstance(limits, list) and len(limits) > max_limits:
        raise TooLargeError(
            f"{source}: {len(limits)} limits exceeds the limit of {max_limits} per book (each "
            "is checked, and kept with every report of the book's history); keep the limits "
            "you act on, or raise RISKENGINE_MAX_LIMITS on the server."
        )
    name = doc.get("name") or "portfolio"
    records = [clean_record(r) for r in positions]
    portfolio = portfolio_from_records(records, str(name), source)
    clean = {
        "name": str(name),
        "base_currency": str(doc.get("base_currency") or "USD").upper(),
        "positions": records,
        "limits": check_limits(doc.get("limits"), f"{source}: limits"),
    }
    mapping = doc.get("frtb_mapping")
    if mapping:
        clean["frtb_mapping"] = FactorMapping.of(mapping, f"{source}: frtb_mapping").records()
    return Book(book_id, clean, portfolio)


class BookStore:
    """Portfolios of each tenant in ``store``, parsed once per stored version."""

    def __init__(
        self, store: TickStore, *, max_positions: int, max_limits: int = 1000, max_cached: int = 64
    ):
        self.store = store
        self.max_positions = max_positions
        self.max_limits = max_limits
        self.max_cached = max_cached
        # (tenant, id) -> (the stored text, the parsed book)
        self._cache: OrderedDict[tuple[str, int], tuple[str, Book]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, tenant: str, book_id: int) -> Book:
        row = self.store.load_portfolio(tenant, book_id)
        if row is None:
            raise NotFoundError(
                f"portfolio {book_id} does not exist for this API key's tenant; "
                "list yours with GET /api/v1/portfolios."
            )
        _, body = row
        key = (tenant, book_id)
        with self._lock:
            hit = self._cache.get(key)
            if hit is not None and hit[0] == body:  # the stored text unchanged: a memcmp
                self._cache.move_to_end(key)
                return hit[1]
        book = make_book(
            orjson.loads(body),
            book_id=book_id,
            max_positions=self.max_positions,
            source=f"portfolio {book_id}",
        )
        book = replace(book, text=body)
        with self._lock:
            self._cache[key] = (body, book)
            while len(self._cache) > self.max_cached:
                self._cache.popitem(last=False)
        return book

    def save(self, tenant: str, doc: dict, book_id: int | None = None) -> Book:
        """Create (``book_id`` None) or replace a portfolio; returns the stored Book."""
        book = make_book(doc, book_id=book_id, max_positions=self.max_positions,
                         max_limits=self.max_limits, source="portfolio")  # fmt: skip
        body = orjson.dumps(book.doc).decode()
        if book_id is not None and self.store.load_portfolio(tenant, book_id) is None:
            raise NotFoundError(
                f"portfolio {book_id} does not exist for this API key's tenant; "
                "create it with POST /api/v1/portfolios."
            )
        new_id = self.store.save_portfolio(tenant, book.doc["name"], body, portfolio_id=book_id)
        return Book(new_id, book.doc, book.portfolio, body)

    def delete(self, tenant: str, book_id: int) -> None:
        if not self.store.delete_portfolio(tenant, book_id):
            raise NotFoundError(f"portfolio {book_id} does not exist for this API key's tenant.")
        with self._lock:
            self._cache.pop((tenant, book_id), None)

    def list(self, tenant: str) -> list[dict]:
        return [{"id": i, "name": n} for i, n in self.store.list_portfolios(tenant)]
