"""Portfolios: create, read, update, delete, upload a file; limits; the stored risk history."""

from __future__ import annotations

from typing import Annotated

import orjson
from fastapi import APIRouter, Depends, File, Form, Path, Query, Response, UploadFile

from riskengine.api.problems import ApiProblem, JSONResponse
from riskengine.api.schemas import (
    MAX_ID,
    LimitIn,
    PortfolioDetail,
    PortfolioIn,
    PortfolioItem,
    PortfolioOut,
)
from riskengine.api.state import ApiState, get_state, tenant
from riskengine.instruments.book import book_records

router = APIRouter(prefix="/api/v1/portfolios", tags=["portfolios"])
State = Annotated[ApiState, Depends(get_state)]
Tenant = Annotated[str, Depends(tenant)]
BookId = Annotated[int, Path(ge=1, le=MAX_ID, description="the portfolio's id")]


def _doc(body: PortfolioIn) -> dict:
    return body.model_dump(mode="json", exclude_none=True)


def _created(book) -> JSONResponse:
    return JSONResponse(
        book.summary(), status_code=201, headers={"Location": f"/api/v1/portfolios/{book.id}"}
    )


@router.get("", response_model=list[PortfolioItem], summary="The tenant's portfolios")
async def list_portfolios(state: State, who: Tenant):
    return JSONResponse(await state.run(state.books.list, who))


@router.post("", status_code=201, response_model=PortfolioOut, summary="Create a portfolio")
async def create_portfolio(body: PortfolioIn, state: State, who: Tenant):
    return _created(await state.run(state.books.save, who, _doc(body)))


@router.post(
    "/upload",
    status_code=201,
    response_model=PortfolioOut,
    summary="Create a portfolio from a book file (.csv or .json, docs/formats.md)",
)
async def upload_portfolio(
    state: State,
    who: Tenant,
    file: Annotated[UploadFile, File(description="the book: .csv or .json")],
    name: Annotated[str | None, Form(max_length=200)] = None,
    base_currency: Annotated[str, Form(min_length=3, max_length=3)] = "USD",
):
    filename = file.filename or "upload"
    suffix = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    if suffix not in ("csv", "json", "txt"):
        raise ApiProblem(
            415,
            "unsupported-file",
            "Unsupported file",
            f"file {filename!r} is not .csv or .json; upload a book in the format "
            "of docs/formats.md.",
        )
    raw = await file.read()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ApiProblem(
            422,
            "invalid-input",
            "Invalid file",
            f"file {filename!r} is not UTF-8 text; save it as UTF-8 CSV or JSON.",
        ) from None
    records, doc_name = book_records(text, "json" if suffix == "json" else "csv", filename)
    stem = filename.rsplit(".", 1)[0] if "." in filename else filename
    doc = {"name": name or doc_name or stem, "base_currency": base_currency, "positions": records}
    return _created(await state.run(state.books.save, who, doc))


@router.get("/{portfolio_id}", response_model=PortfolioDetail, summary="A portfolio")
async def get_portfolio(portfolio_id: BookId, state: State, who: Tenant):
    book = await state.run(state.books.get, who, portfolio_id)
    return JSONResponse(book.summary() | {"positions": book.doc["positions"]})


@router.put("/{portfolio_id}", response_model=PortfolioOut, summary="Replace a portfolio")
async def replace_portfolio(portfolio_id: BookId, body: PortfolioIn, state: State, who: Tenant):
    book = await state.run(state.books.save, who, _doc(body), portfolio_id)
    return JSONResponse(book.summary())


@router.put("/{portfolio_id}/limits", response_model=PortfolioOut, summary="Set the limits")
async def set_limits(portfolio_id: BookId, limits: list[LimitIn], state: State, who: Tenant):
    book = await state.run(state.books.get, who, portfolio_id)
    doc = book.doc | {"limits": [lim.model_dump(mode="json") for lim in limits]}
    book = await state.run(state.books.save, who, doc, portfolio_id)
    return JSONResponse(book.summary())


@router.delete("/{portfolio_id}", status_code=204, summary="Delete a portfolio")
async def delete_portfolio(portfolio_id: BookId, state: State, who: Tenant):
    await state.run(state.books.delete, who, portfolio_id)
    return Response(status_code=204)


@router.get("/{portfolio_id}/reports", summary="The stored risk history of a portfolio")
async def reports(
    portfolio_id: BookId,
    state: State,
    who: Tenant,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
):
    await state.run(state.books.get, who, portfolio_id)  # 404 for another tenant's book
    rows = await state.run(state.store.reports, who, portfolio_id, limit=limit)
    out = []
    for report_id, created, body in rows:
        report = orjson.loads(body)
        out.append(
            {
                "id": report_id,
                "created_at": created.isoformat(),
                "as_of": report["as_of"],
                "method": report["method"],
                "measures": report["results"],
                "limits": report.get("limits", []),
            }
        )
    return JSONResponse(out)
