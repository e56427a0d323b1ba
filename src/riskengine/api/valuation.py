"""A stored book's positions valued at the latest prices: the page's book view."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from riskengine.api.books import BookId
from riskengine.api.jsonbody import JsonRoute
from riskengine.api.problems import JSONResponse
from riskengine.api.schemas import Problem, ValuationOut
from riskengine.api.state import ApiState, get_state, tenant
from riskengine.service.valuation import value_positions

router = APIRouter(prefix="/api/v1/portfolios", tags=["portfolios"], route_class=JsonRoute)
State = Annotated[ApiState, Depends(get_state)]
Tenant = Annotated[str, Depends(tenant)]


def _valuation(state: ApiState, who: str, portfolio_id: int) -> dict:
    book = state.books.get(who, portfolio_id)
    out = value_positions(
        book.portfolio, state.market.history(), state.market.market(), book.base_currency
    )
    return {"portfolio_id": book.id, "name": book.doc["name"]} | out


@router.get(
    "/{portfolio_id}/valuation",
    response_model=ValuationOut,
    responses={404: {"model": Problem}, 422: {"model": Problem}},
    summary="The positions valued at the latest prices, with the day's move",
)
async def valuation(portfolio_id: BookId, state: State, who: Tenant):
    """Each position's price, market value and P&L since the last close, at the latest tick
    prices (the last close where a symbol has no tick): the prices ``POST /risk`` revalues at."""
    return JSONResponse(await state.run(_valuation, state, who, portfolio_id))
