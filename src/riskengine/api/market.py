"""Market data: symbols, latest prices, bars."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query
from pydantic import AfterValidator

from riskengine.api.jsonbody import JsonRoute
from riskengine.api.problems import JSONResponse
from riskengine.api.schemas import PRINTABLE, PricesOut, SymbolsOut, printable
from riskengine.api.state import ApiState, get_state, tenant

router = APIRouter(prefix="/api/v1/market", tags=["market data"], route_class=JsonRoute)
State = Annotated[ApiState, Depends(get_state)]
Tenant = Annotated[str, Depends(tenant)]


@router.get(
    "/symbols",
    response_model=SymbolsOut,
    summary="Symbols with daily history, and the dates it covers",
)
async def symbols(state: State, _: Tenant):
    history = await state.run(state.market.history)
    return JSONResponse(
        {
            "symbols": list(history.symbols),
            "first_date": history.date_at(0).isoformat(),
            "last_closed_date": history.last_date.isoformat(),
        }
    )


@router.get(
    "/prices",
    response_model=PricesOut,
    summary="Latest price of each symbol (live ticks, else the last close)",
)
async def prices(
    state: State,
    _: Tenant,
    symbols: Annotated[
        str | None,
        Query(
            max_length=10_000,
            description="comma-separated",
            json_schema_extra={"pattern": PRINTABLE},
        ),
        AfterValidator(lambda v: v if v is None else printable(v)),
    ] = None,
):
    history = await state.run(state.market.history)
    live = await state.run(state.market.market)
    wanted = [s.strip() for s in symbols.split(",") if s.strip()] if symbols else None
    last = history.market_state(len(history.dates) - 1).prices
    out = {}
    for sym in wanted or sorted(set(last) | set(live.prices if live else {})):
        entry = {"close": last.get(sym), "close_date": history.last_date.isoformat()}
        if live is not None and sym in live.prices:
            entry |= {"price": live.prices[sym], "source": "tick"}
        else:
            entry |= {"price": last.get(sym), "source": "close"}
        prev = entry["close"]
        entry["change"] = (entry["price"] / prev - 1) if prev and entry["price"] else None
        out[sym] = entry
    return JSONResponse(
        {"as_of": live.as_of.isoformat() if live else history.last_date.isoformat(), "prices": out}
    )


@router.get("/bars/{symbol}", summary="Bars of a symbol (1-minute or daily)")
async def bars(
    symbol: Annotated[
        str,
        Path(min_length=1, max_length=64, json_schema_extra={"pattern": PRINTABLE}),
        AfterValidator(printable),
    ],
    state: State,
    _: Tenant,
    interval: Literal["1m", "1d"] = "1d",
    start: dt.datetime | None = None,
    end: dt.datetime | None = None,
    limit: Annotated[int, Query(ge=1, le=100_000)] = 1000,
):
    for name, v in (("start", start), ("end", end)):
        if v is not None and v.tzinfo is None:
            from riskengine.api.problems import ApiProblem

            raise ApiProblem(
                422,
                "validation",
                "Invalid request",
                f"{name} = {v.isoformat()} has no time zone; give UTC, e.g. 2022-12-01T00:00:00Z.",
            )
    rows = await state.run(state.store.bars, symbol, interval, start=start, end=end)
    rows = rows[-limit:]
    return JSONResponse(
        {
            "symbol": symbol,
            "interval": interval,
            "bars": [
                {
                    "start": b.start.isoformat(),
                    "open": b.open,
                    "high": b.high,
                    "low": b.low,
                    "close": b.close,
                    "volume": b.volume,
                    "trades": b.trades,
                    "source": b.source,
                }
                for b in rows
            ],
        }
    )
