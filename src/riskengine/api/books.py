"""Portfolios: create, read, update, delete, upload a file; limits; the stored risk history."""

from __future__ import annotations

import datetime as dt
from typing import Annotated
from urllib.parse import urlencode

import orjson
from fastapi import APIRouter, Depends, File, Form, Path, Query, Request, Response, UploadFile

from riskengine.api.jsonbody import JsonRoute, check_depth
from riskengine.api.problems import ApiProblem, JSONResponse
from riskengine.api.schemas import (
    MAX_ID,
    FrtbMappingEntry,
    LimitIn,
    Method,
    PortfolioDetail,
    PortfolioIn,
    PortfolioItem,
    PortfolioOut,
    Problem,
    StoredReport,
    printable,
)
from riskengine.api.state import ApiState, get_state, tenant
from riskengine.instruments.bookfile import book_records

router = APIRouter(prefix="/api/v1/portfolios", tags=["portfolios"], route_class=JsonRoute)
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


UPLOAD_TYPES = ("csv", "json")
UPLOAD_FIELDS = ("file", "name", "base_currency", "frtb_mapping")


@router.post(
    "/upload",
    status_code=201,
    response_model=PortfolioOut,
    summary="Create a portfolio from a book file (.csv or .json, docs/formats.md)",
    responses={415: {"model": Problem, "description": "The file is not .csv or .json"}},
)
async def upload_portfolio(
    request: Request,
    state: State,
    who: Tenant,
    file: Annotated[UploadFile, File(description="the book: .csv or .json")],
    name: Annotated[str | None, Form(max_length=200)] = None,
    base_currency: Annotated[str, Form(min_length=3, max_length=3)] = "USD",
    frtb_mapping: Annotated[
        UploadFile | None,
        File(description="optional: the book's FRTB mapping file, .csv or .json (docs/frtb.md)"),
    ] = None,
):
    form = await request.form()  # parsed once already: FastAPI keeps it
    for field in UPLOAD_FIELDS:
        if (n := len(form.getlist(field))) > 1:
            raise _upload_problem(
                field,
                f"{n} parts",
                f"the form has {n} parts named {field!r}; send one (one book per upload: "
                "upload each file on its own).",
            )
    text, suffix, filename = await _upload_text(
        state, file, "file", "upload", "a book", "docs/formats.md"
    )
    try:  # off the event loop, and stopped at the position limit
        records, doc_name = await state.run(
            book_records, text, suffix, filename, max_records=state.settings.max_positions
        )
    except RecursionError:  # a loader that recursed too deep: the file is nested too deep
        raise _upload_problem(
            "file",
            filename,
            f"file {filename!r} is nested too deeply to read; a book is a list of flat "
            "position objects (docs/formats.md).",
            kind="invalid-input",
        ) from None
    if name is not None:
        book_name, field, label = name, "name", "the name form field"
    elif doc_name:
        book_name, field, label = doc_name, "file.name", f"the name in file {filename!r}"
    else:
        stem = filename.rsplit(".", 1)[0] if "." in filename else filename
        book_name, field, label = stem or "upload", "file.filename", "the file's name"
    _check_text(field, label, book_name, 1, NAME_LENGTH)
    _check_text("base_currency", "base_currency", base_currency, 3, 3)
    doc = {"name": book_name, "base_currency": base_currency, "positions": records}
    if frtb_mapping is not None:
        from riskengine.frtb.mapping import parse_mapping

        text_, kind, label = await _upload_text(
            state,
            frtb_mapping,
            "frtb_mapping",
            "frtb_mapping",
            "the mapping",
            "docs/frtb.md#mapping-file",
        )
        mapping = await state.run(parse_mapping, text_, kind, label)  # off the event loop
        doc["frtb_mapping"] = mapping.records()
    return _created(await state.run(state.books.save, who, doc))


async def _upload_text(
    state: ApiState, upload: UploadFile, field: str, default_name: str, what: str, doc: str
) -> tuple[str, str, str]:
    """(text, "csv" or "json", file name) of the uploaded file in form ``field``: 415 for
    another extension; a JSON document nested too deep, or bytes that are not UTF-8, refused
    naming the field. Decoded off the event loop."""
    filename = upload.filename or default_name
    label = "file" if field == "file" else f"{field} file"
    suffix = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    if suffix not in UPLOAD_TYPES:
        raise ApiProblem(
            415,
            "unsupported-file",
            "Unsupported file",
            f"{label} {filename!r} is not .csv or .json; upload {what} in one of those formats "
            f"({doc}), named with its extension.",
        )
    raw = await upload.read()
    return await state.run(_decode_upload, raw, suffix, filename, field, label)


def _decode_upload(
    raw: bytes, suffix: str, filename: str, field: str, label: str
) -> tuple[str, str, str]:
    if suffix == "json":  # a deep document is refused here, before the loader recurses into it
        check_depth(raw, what=f"file {filename!r}", field=field)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise _upload_problem(
            field,
            filename,
            f"{label} {filename!r} is not UTF-8 text (byte 0x{raw[exc.start]:02x} at offset "
            f"{exc.start}); save it as UTF-8 CSV or JSON.",
            kind="invalid-input",
        ) from None
    return text, suffix, filename


NAME_LENGTH = 200


def _check_text(field: str, label: str, value: str, min_length: int, max_length: int) -> None:
    """``value`` (``label`` in the detail) is printable text of ``min_length`` to
    ``max_length`` characters, as the same field of a JSON request must be."""
    if not min_length <= len(value) <= max_length:
        raise _upload_problem(
            field,
            value,
            f"{label} is {len(value)} characters long; it must have {min_length} to "
            f"{max_length}. Shorten it, or give the name form field (it overrides the file's).",
        )
    try:
        printable(value)
    except ValueError as exc:
        raise _upload_problem(field, value, f"{label} {exc}.") from None


def _upload_problem(field: str, value: str, detail: str, *, kind: str = "validation"):
    short = value if len(value) <= 80 else value[:77] + "..."
    title = "Invalid request" if kind == "validation" else "Invalid file"
    return ApiProblem(
        422,
        kind,
        title,
        detail,
        errors=[{"field": field, "value": short, "problem": detail}],
    )


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


@router.put(
    "/{portfolio_id}/frtb-mapping",
    response_model=PortfolioOut,
    summary="Set the FRTB mapping (risk class and liquidity horizon per factor)",
)
async def set_frtb_mapping(
    portfolio_id: BookId, mapping: list[FrtbMappingEntry], state: State, who: Tenant
):
    """Stores the mapping with the book; ``POST /api/v1/frtb`` uses it unless the request
    gives one (docs/frtb.md#mapping-file). An empty list removes it."""
    book = await state.run(state.books.get, who, portfolio_id)
    doc = book.doc | {
        "frtb_mapping": [m.model_dump(mode="json", exclude_none=True) for m in mapping]
    }
    book = await state.run(state.books.save, who, doc, portfolio_id)
    return JSONResponse(book.summary())


@router.delete("/{portfolio_id}", status_code=204, summary="Delete a portfolio")
async def delete_portfolio(portfolio_id: BookId, state: State, who: Tenant):
    await state.run(state.books.delete, who, portfolio_id)
    return Response(status_code=204)


@router.get(
    "/{portfolio_id}/reports",
    response_model=list[StoredReport],
    summary="The stored risk history of a portfolio",
)
async def reports(
    portfolio_id: BookId,
    state: State,
    who: Tenant,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    before: Annotated[
        int | None, Query(ge=1, description="the id of the last report of the previous page")
    ] = None,
    method: Annotated[Method | None, Query(description="that method's reports only")] = None,
    since: Annotated[
        dt.datetime | None,
        Query(description="reports created at or after this time (ISO 8601; UTC if naive)"),
    ] = None,
):
    """The book's stored reports, newest first, ``limit`` per page; when there are more, the
    ``Link`` header's ``rel="next"`` URL is the next page (``before`` = the page's last id,
    the same ``method`` and ``since``)."""
    await state.run(state.books.get, who, portfolio_id)  # 404 for another tenant's book
    if since is not None and since.tzinfo is None:
        since = since.replace(tzinfo=dt.UTC)
    rows = await state.run(
        state.store.reports, who, portfolio_id, limit=limit + 1, before=before, method=method,
        since=since,
    )  # fmt: skip
    headers = None
    if len(rows) > limit:
        rows = rows[:limit]
        query = {"limit": limit, "before": rows[-1][0], "method": method,
                 "since": since.isoformat() if since else None}  # fmt: skip
        link = urlencode({k: v for k, v in query.items() if v is not None})
        headers = {"Link": f'</api/v1/portfolios/{portfolio_id}/reports?{link}>; rel="next"'}
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
    return JSONResponse(out, headers=headers)
