"""RFC 9457 problem details for every error, and orjson-encoded JSON responses.

Each problem has a ``type`` (a URN documented in docs/api.md#problems), the HTTP ``status``,
a ``title`` and a ``detail`` that names the field, the value and the way out. Validation
problems list every bad field in ``errors`` as ``{"field", "value", "problem"}``.
"""

from __future__ import annotations

import logging
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.responses import Response

from riskengine.errors import (
    DataQualityError,
    InputError,
    InsufficientHistoryError,
    NonFiniteResultError,
    NoPositionsError,
    NotFoundError,
    RiskEngineError,
    TooLargeError,
    UnknownSymbolError,
)
from riskengine.service.compute import encode_json
from riskengine.service.fair import QueueFull
from riskengine.service.workers import WorkerLost
from riskengine.store.base import StoreError, StoreUnavailable

log = logging.getLogger("riskengine.api")

PROBLEM_TYPE = "urn:riskengine:problem:"
SCHEMA_HINT = "See the request schema at /api/v1/openapi.json or docs/api.md."


class JSONResponse(Response):
    """JSON encoded by orjson (numpy arrays and scalars included; NaN and inf become null)."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return encode_json(content)


def encode(content) -> bytes:
    """JSON bytes of ``content`` as JSONResponse writes them (call it off the event loop for
    large answers: a 5,000-position report is over a megabyte)."""
    return encode_json(content)


class RawJSONResponse(Response):
    """Pre-encoded JSON text (a stored report or job result)."""

    media_type = "application/json"


class ApiProblem(HTTPException):
    """An error to answer with a problem document. An HTTPException, so that FastAPI passes it
    through when it is raised while the request body is read or parsed."""

    def __init__(
        self,
        status: int,
        kind: str,
        title: str,
        detail: str,
        *,
        errors=None,
        headers: dict[str, str] | None = None,
    ):
        super().__init__(status, detail, headers)
        self.status, self.kind, self.title, self.detail = status, kind, title, detail
        self.errors = errors
        self.headers = headers

    def __str__(self) -> str:
        return self.detail


def problem_response(
    request: Request | None,
    status: int,
    kind: str,
    title: str,
    detail: str,
    errors=None,
    headers=None,
) -> Response:
    body: dict[str, Any] = {
        "type": PROBLEM_TYPE + kind,
        "title": title,
        "status": status,
        "detail": detail,
    }
    if request is not None:
        body["instance"] = request.url.path
    if errors:
        body["errors"] = errors
    return Response(
        orjson.dumps(body, option=orjson.OPT_NON_STR_KEYS),
        status_code=status,
        media_type="application/problem+json",
        headers=headers,
    )


# Engine errors -> (status, type, title), most specific first.
ENGINE_PROBLEMS: tuple[tuple[type, int, str, str], ...] = (
    (NotFoundError, 404, "not-found", "Not found"),
    (TooLargeError, 413, "too-large", "Request too large"),
    (UnknownSymbolError, 422, "unknown-symbol", "Unknown symbol"),
    (InsufficientHistoryError, 422, "insufficient-history", "Not enough history"),
    (NoPositionsError, 422, "no-positions", "No position can be priced"),
    (DataQualityError, 422, "data-quality", "Bad data"),
    (NonFiniteResultError, 422, "non-finite-result", "No finite result"),
    (InputError, 422, "invalid-input", "Invalid input"),
    (StoreUnavailable, 503, "store-unavailable", "Database unavailable"),
    (WorkerLost, 503, "worker-lost", "Computation interrupted"),
    (StoreError, 500, "store-error", "Database error"),
    (RiskEngineError, 422, "invalid-input", "Invalid input"),
)


def _field(loc) -> str:
    parts = []
    for p in loc:
        if isinstance(p, int):
            parts.append(f"[{p}]")
        else:
            parts.append(("." if parts else "") + str(p))
    return "".join(parts)


def _short(value, limit: int = 80) -> str:
    try:
        text = orjson.dumps(value, default=str).decode()
    except TypeError:
        text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def install(app: FastAPI) -> None:
    """Map every error to problem+json."""

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError):
        errors = []
        for e in exc.errors():
            loc = [p for p in e.get("loc", ()) if p != "body"] or list(e.get("loc", ()))
            errors.append(
                {
                    "field": _field(loc),
                    "value": _short(e.get("input")),
                    "problem": e.get("msg", "invalid").removeprefix("Value error, "),
                }
            )
        first = errors[0] if errors else {"field": "body", "value": "", "problem": "invalid"}
        more = f" (and {len(errors) - 1} more, listed in errors)" if len(errors) > 1 else ""
        detail = (
            f"{first['field']} = {first['value']}: {first['problem']}{more}. Fix the field "
            f"and send the request again. {SCHEMA_HINT}"
        )
        return problem_response(request, 422, "validation", "Invalid request", detail, errors)

    @app.exception_handler(ApiProblem)
    async def _api(request: Request, exc: ApiProblem):
        return problem_response(
            request, exc.status, exc.kind, exc.title, exc.detail, exc.errors, exc.headers
        )

    @app.exception_handler(HTTPException)
    async def _http(request: Request, exc: HTTPException):
        titles = {
            400: "Bad request",
            404: "Not found",
            405: "Method not allowed",
            401: "Unauthorized",
        }
        detail = str(exc.detail)
        if exc.status_code == 400:  # a body the server could not read (e.g. broken multipart)
            detail = (
                f"{detail.rstrip('.')}: the request body could not be read; send it as the "
                "operation's schema says (a multipart form for uploads), see /api/v1/docs."
            )
        elif exc.status_code == 404 and detail == "Not Found":
            detail = f"no endpoint at {request.url.path}; the API is listed at /api/v1/docs."
        elif exc.status_code == 405:
            detail = (
                f"{request.method} is not allowed on {request.url.path}; the API lists the "
                "methods of each path at /api/v1/docs."
            )
        return problem_response(
            request,
            exc.status_code,
            "http",
            titles.get(exc.status_code, "HTTP error"),
            detail,
            headers=getattr(exc, "headers", None),
        )

    @app.exception_handler(RiskEngineError)
    async def _engine(request: Request, exc: RiskEngineError):
        return engine_problem(request, exc)

    @app.exception_handler(ClientGone)
    async def _gone(request: Request, exc: ClientGone):
        return Response(status_code=499)  # logged as such; never sent

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception):
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return problem_response(
            request,
            500,
            "internal",
            "Internal error",
            "the server failed unexpectedly; the error is in its log. "
            "Retry, and report it if it persists.",
        )


class ClientGone(Exception):
    """The client of a request closed its connection before the answer: its work was
    stopped, and there is no one to answer."""


def engine_problem(request: Request | None, exc: RiskEngineError) -> Response:
    if isinstance(exc, QueueFull):  # a bound of the fair queues (docs/api.md#load-and-fairness)
        return problem_response(
            request, 429, exc.kind, "Too many requests", str(exc),
            headers={"Retry-After": str(exc.retry_after)},
        )  # fmt: skip
    for cls, status, kind, title in ENGINE_PROBLEMS:
        if isinstance(exc, cls):
            detail = str(exc)
            if isinstance(exc, StoreError) and status >= 500:
                where = f" on {request.method} {request.url.path}" if request is not None else ""
                log.error("store error%s: %s", where, exc)
                detail = public_store_detail(exc)
            headers = {"Retry-After": "5"} if status == 503 else None
            return problem_response(request, status, kind, title, detail, headers=headers)
    raise exc  # unreachable: RiskEngineError is the last entry


def public_store_detail(exc: StoreError) -> str:
    """What a client may read of a store error: what failed and what to do, never the
    database's path, host, port or name, nor the driver's message (the server logs those)."""
    text = str(exc)
    if isinstance(exc, StoreUnavailable):
        if "locked" in text or "busy" in text:
            return (
                "the database is busy (another process is writing to it); retry in a few seconds."
            )
        return (
            "the database does not answer right now; retry in a few seconds. If it persists, "
            "the server's operator will find the cause in its log."
        )
    if "is closed" in text or "shut down" in text:
        return "the server is shutting down; retry in a few seconds."
    return (
        "the database refused the operation: a fault of the server, whose log has the cause. "
        "Retry, and report it to the server's operator if it persists."
    )


def public_store_error(exc: StoreError) -> StoreError:
    """``exc`` with its public detail (for text kept and shown later, such as a job's
    ``error``); the original is logged here and chained by the caller."""
    log.error("store error: %s", exc)
    cls = StoreUnavailable if isinstance(exc, StoreUnavailable) else StoreError
    return cls(public_store_detail(exc))


def engine_problem_body(exc: RiskEngineError) -> dict:
    """The problem document of an engine error (for WebSocket messages)."""
    resp = engine_problem(None, exc)
    return orjson.loads(resp.body)
