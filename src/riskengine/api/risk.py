"""Risk, stress and backtests, synchronous or as jobs; the job resources."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Path, Query, Request

from riskengine.api.jsonbody import JsonRoute
from riskengine.api.problems import (
    ApiProblem,
    JSONResponse,
    RawJSONResponse,
    public_store_error,
)
from riskengine.api.schemas import (
    BacktestReportOut,
    BacktestRequest,
    FrtbReportOut,
    FrtbRequest,
    Job,
    Problem,
    RiskReportOut,
    RiskRequest,
    StressReportOut,
    StressRequest,
    StressScenarioOut,
)
from riskengine.api.state import ApiState, get_state, tenant
from riskengine.errors import InputError
from riskengine.service.jobs import ControlledExecutor
from riskengine.service.risk import frtb_cost, risk_cost
from riskengine.service.stored_books import Book, make_book
from riskengine.store.base import StoreError
from riskengine.stress.scenarios import load_library

router = APIRouter(prefix="/api/v1", tags=["risk"], route_class=JsonRoute)
State = Annotated[ApiState, Depends(get_state)]
Tenant = Annotated[str, Depends(tenant)]
JobId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[0-9a-f]+$")]
Prefer = Annotated[str | None, Header(description="respond-async: run as a job (202)")]

ASYNC: dict[int | str, dict[str, Any]] = {
    202: {"model": Job, "description": "Accepted as a job: poll the Location"},
    422: {"model": Problem, "description": "Invalid input"},
    429: {"model": Problem, "description": "The tenant's queue is full: retry after Retry-After"},
}


def _book(state: ApiState, who: str, body) -> Book:
    if (body.portfolio_id is None) == (body.portfolio is None):
        raise ApiProblem(
            422,
            "validation",
            "Invalid request",
            "give exactly one of portfolio_id (a stored book) or portfolio (an inline book).",
            errors=[
                {
                    "field": "portfolio_id",
                    "value": str(body.portfolio_id),
                    "problem": "exactly one of portfolio_id, portfolio",
                }
            ],
        )
    if body.portfolio_id is not None:
        return state.books.get(who, body.portfolio_id)
    doc = body.portfolio.model_dump(mode="json", exclude_none=True)
    return make_book(
        doc,
        max_positions=state.settings.max_positions,
        max_limits=state.settings.max_limits,
        source="portfolio",
    )


def _public_errors(fn):
    """A job's function whose store errors carry their public detail: a job's ``error`` is
    shown to clients, and must not show the database's path, host or driver message."""

    def job(control):
        try:
            return fn(control)
        except StoreError as exc:
            if isinstance(exc, InputError):  # the request's fault, said as such
                raise
            raise public_store_error(exc) from exc

    return job


def _wants_async(prefer: str | None) -> bool:
    return prefer is not None and "respond-async" in prefer.lower()


def _job_response(state: ApiState, record: dict) -> JSONResponse:
    url = f"/api/v1/jobs/{record['id']}"
    return JSONResponse(job_view(record), status_code=202, headers={"Location": url})


def job_view(record: dict) -> dict:
    out = {k: v for k, v in record.items() if k not in ("result", "tenant")}
    for k in ("created_at", "updated_at"):
        out[k] = out[k].isoformat()
    url = f"/api/v1/jobs/{record['id']}"
    out["links"] = {"self": url, "result": url + "/result"}
    return out


@router.post(
    "/risk",
    response_model=RiskReportOut,
    responses=ASYNC,
    summary="VaR and ES of a stored or inline book",
)
async def risk(body: RiskRequest, state: State, who: Tenant, http: Request, prefer: Prefer = None):
    """Answers the RiskReport, or 202 with a job when the request's cost (scenarios x
    positions, docs/api.md#jobs) exceeds the server's threshold or the client sends
    ``Prefer: respond-async``."""
    book = await state.run(_book, state, who, body)
    request = body.model_dump(mode="json", exclude_none=True)
    if _wants_async(prefer) or risk_cost(request, len(book.portfolio)) > state.settings.async_cost:

        def job(control):
            return state.risk.risk(
                book,
                request,
                executor=ControlledExecutor(control, state.job_executor()),
                tenant=who,
            )

        record = await state.run(state.jobs.submit, who, "risk", request, _public_errors(job))
        return _job_response(state, record)

    def answer(control) -> bytes:  # computed and encoded on the compute pool, off the loop
        return state.risk.risk_json(book, request, tenant=who, control=control)

    return RawJSONResponse(await state.compute(who, answer, request=http))


@router.get(
    "/stress/scenarios",
    response_model=list[StressScenarioOut],
    summary="The named scenarios of the library",
)
async def scenarios(_: Tenant):
    return JSONResponse([s.to_dict() for s in load_library().values()])


@router.post(
    "/stress",
    response_model=StressReportOut,
    responses=ASYNC,
    summary="Named and custom stress scenarios on a book",
)
async def stress(
    body: StressRequest, state: State, who: Tenant, http: Request, prefer: Prefer = None
):
    book = await state.run(_book, state, who, body)
    request = body.model_dump(mode="json", exclude_none=True)
    if _wants_async(prefer):
        record = await state.run(
            state.jobs.submit,
            who,
            "stress",
            request,
            _public_errors(
                lambda control: state.risk.stress(
                    book, request, ControlledExecutor(control, state.job_executor())
                )
            ),
        )
        return _job_response(state, record)
    return JSONResponse(
        await state.compute(
            who,
            lambda _control: state.risk.stress(book, request),
            request=http,
        )
    )


@router.post(
    "/backtest",
    response_model=BacktestReportOut,
    responses=ASYNC,
    summary="Backtest of VaR and ES forecasts of a book",
)
async def backtest(
    body: BacktestRequest, state: State, who: Tenant, http: Request, prefer: Prefer = None
):
    """Runs as a job when forecast days x methods exceeds the server's threshold (default 60)
    or the client sends ``Prefer: respond-async``."""
    book = await state.run(_book, state, who, body)
    request = body.model_dump(mode="json", exclude_none=True)
    days = await state.run(state.risk.forecast_days, request)
    if _wants_async(prefer) or days > state.settings.async_backtest_days:
        record = await state.run(
            state.jobs.submit,
            who,
            "backtest",
            request,
            _public_errors(
                lambda control: state.risk.backtest(
                    book, request, control, ControlledExecutor(control, state.job_executor())
                )
            ),
        )
        return _job_response(state, record)
    return JSONResponse(
        await state.compute(
            who,
            lambda control: state.risk.backtest(book, request, control),
            request=http,
        )
    )


@router.post(
    "/frtb",
    response_model=FrtbReportOut,
    responses=ASYNC,
    summary="FRTB internal-model capital of a stored or inline book",
)
async def frtb(body: FrtbRequest, state: State, who: Tenant, http: Request, prefer: Prefer = None):
    """The ``FrtbReport`` of docs/frtb.md (the book's stored mapping unless ``mapping`` is
    given); runs as a job when its cost (the history's days x positions x 5,
    docs/api.md#jobs) exceeds the server's threshold or the client sends
    ``Prefer: respond-async``."""
    book = await state.run(_book, state, who, body)
    request = body.model_dump(mode="json", exclude_none=True)
    history = await state.run(state.risk.market.history)
    cost = frtb_cost(len(history.dates), len(book.portfolio))
    if _wants_async(prefer) or cost > state.settings.async_cost:
        record = await state.run(
            state.jobs.submit,
            who,
            "frtb",
            request,
            _public_errors(lambda control: state.risk.frtb(book, request, control)),
        )
        return _job_response(state, record)
    return JSONResponse(
        await state.compute(
            who, lambda control: state.risk.frtb(book, request, control), request=http
        )
    )


@router.get("/jobs", response_model=list[Job], tags=["jobs"], summary="The tenant's jobs")
async def jobs(
    state: State,
    who: Tenant,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    before: Annotated[
        str | None,
        Query(min_length=1, max_length=64, pattern=r"^[0-9a-f]+$",
              description="the id of the last job of the previous page"),
    ] = None,
):  # fmt: skip
    """The tenant's jobs, newest first, ``limit`` per page; when there are more, the
    ``Link`` header's ``rel="next"`` URL is the next page (``before`` = the page's last id)."""
    rows = await state.run(state.jobs.jobs, who, limit=limit + 1, before=before)
    headers = None
    if len(rows) > limit:
        rows = rows[:limit]
        headers = {"Link": f'</api/v1/jobs?limit={limit}&before={rows[-1]["id"]}>; rel="next"'}
    return JSONResponse([job_view(r) for r in rows], headers=headers)


def _missing(job_id: str) -> ApiProblem:
    return ApiProblem(
        404,
        "not-found",
        "Not found",
        f"job {job_id!r} does not exist for this "
        "API key's tenant; list yours with GET /api/v1/jobs.",
    )


@router.get("/jobs/{job_id}", response_model=Job, tags=["jobs"], summary="A job's state")
async def job(job_id: JobId, state: State, who: Tenant):
    record = await state.run(state.jobs.get, who, job_id)
    if record is None:
        raise _missing(job_id)
    return JSONResponse(job_view(record))


@router.get(
    "/jobs/{job_id}/result",
    response_model=RiskReportOut | StressReportOut | BacktestReportOut,
    tags=["jobs"],
    summary="A finished job's result",
    responses={409: {"model": Problem}},
)
async def job_result(job_id: JobId, state: State, who: Tenant):
    record, text = await state.run(state.jobs.result, who, job_id)
    if record is None:
        raise _missing(job_id)
    if record["state"] != "succeeded":
        why = f": {record['error']}" if record.get("error") else ""
        raise ApiProblem(
            409,
            "job-not-done",
            "Job has no result",
            f"job {job_id} is {record['state']}{why}; poll GET /api/v1/jobs/{job_id} "
            "until its state is succeeded.",
        )
    return RawJSONResponse(text)


@router.delete(
    "/jobs/{job_id}",
    response_model=Job,
    status_code=202,
    tags=["jobs"],
    summary="Cancel a job (it stops at its next block of work)",
)
async def cancel_job(job_id: JobId, state: State, who: Tenant, request: Request):
    record = await state.run(state.jobs.cancel, who, job_id)
    if record is None:
        raise _missing(job_id)
    return JSONResponse(job_view(record), status_code=202)
