"""Request and response models of the HTTP API (the OpenAPI schema is generated from them).

Requests are validated by pydantic, then by the engine (which names the field, the value and
the way out). Large responses are encoded with orjson straight from the engine's dicts; the
response models here document them.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Confidence = Annotated[float, Field(gt=0, lt=1, examples=[0.99])]
MAX_ID = 2**63 - 1
Method = Literal["historical", "parametric", "montecarlo"]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PositionIn(Strict):
    """One position in the book format of docs/formats.md."""

    id: Annotated[str, Field(max_length=200)] | None = None
    symbol: Annotated[str, Field(max_length=64)] | None = None
    quantity: float
    instrument_type: Literal["equity", "fx", "future", "option"] = "equity"
    currency: Annotated[str, Field(min_length=3, max_length=3)] | None = None
    tags: str | dict[str, str] | list[str] | None = None
    underlying: Annotated[str, Field(max_length=64)] | None = None
    strike: float | None = None
    expiry: dt.date | None = None
    option_type: Literal["call", "put"] | None = None
    implied_vol: float | None = None
    rate: float | None = None
    dividend_yield: float | None = None
    multiplier: float | None = None
    exercise: Literal["european", "american"] | None = None
    underlying_type: Literal["equity", "future", "fx"] | None = None


class LimitIn(Strict):
    """A VaR or ES limit on the book (tag null) or on a tag group ("key=value")."""

    measure: Literal["value_at_risk", "expected_shortfall"] = "value_at_risk"
    confidence: Confidence = 0.99
    limit: Annotated[float, Field(gt=0, examples=[250_000.0])]
    tag: Annotated[str, Field(max_length=200, examples=["sector=tech"])] | None = None


class PortfolioIn(Strict):
    name: Annotated[str, Field(min_length=1, max_length=200)] = "portfolio"
    base_currency: Annotated[str, Field(min_length=3, max_length=3)] = "USD"
    positions: Annotated[list[PositionIn], Field(min_length=1)]
    limits: list[LimitIn] = []

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "name": "tech book",
                    "positions": [
                        {"symbol": "AAPL", "quantity": 1000, "tags": "sector=tech"},
                        {"symbol": "MSFT", "quantity": -400, "tags": "sector=tech"},
                        {
                            "instrument_type": "option",
                            "underlying": "AAPL",
                            "quantity": 10,
                            "strike": 130,
                            "expiry": "2023-06-16",
                            "option_type": "put",
                            "implied_vol": 0.32,
                            "multiplier": 100,
                        },
                    ],
                    "limits": [{"measure": "value_at_risk", "confidence": 0.99, "limit": 50000}],
                }
            ]
        },
    )


class PortfolioOut(BaseModel):
    id: int
    name: str
    base_currency: str
    n_positions: int
    limits: list[dict[str, Any]]


class PortfolioDetail(PortfolioOut):
    positions: list[dict[str, Any]]


class PortfolioItem(BaseModel):
    id: int
    name: str


class ModelOptions(Strict):
    """Model parameters shared by risk requests and backtests (docs/conventions.md)."""

    window: Annotated[int, Field(ge=1, le=100_000)] | None = None
    as_of: dt.date | None = None
    distribution: Literal["normal", "student-t", "cornish-fisher"] | None = None
    df: Annotated[float, Field(gt=2, le=1000)] | None = None
    mean: Literal["zero", "sample"] | None = None
    n_scenarios: Annotated[int, Field(ge=100, le=10_000_000)] | None = None
    seed: Annotated[int, Field(ge=0, le=2**63 - 1)] | None = None
    revaluation: Literal["grid", "full"] | None = None
    approximation: Literal["delta-gamma", "delta"] | None = None
    historical_scaling: Literal["overlapping", "sqrt"] | None = None
    covariance: Literal["sample", "ewma", "ledoit-wolf"] | None = None
    ewma_lambda: Annotated[float, Field(gt=0, lt=1)] | None = None
    half_life: Annotated[float, Field(gt=0, le=10_000)] | None = None
    historical_weighting: Literal["none", "age", "filtered"] | None = None
    decay: Annotated[float, Field(gt=0, le=1)] | None = None
    sampling: Literal["plain", "antithetic", "sobol"] | None = None
    n_scrambles: Annotated[int, Field(ge=2, le=1024)] | None = None
    return_model: Literal["simple", "log"] | None = None


class RiskRequest(ModelOptions):
    """A risk run: a stored book (``portfolio_id``) or an inline one (``portfolio``)."""

    portfolio_id: Annotated[int, Field(ge=1, le=MAX_ID)] | None = None
    portfolio: PortfolioIn | None = None
    method: Method = "historical"
    confidence: Annotated[list[Confidence], Field(min_length=1, max_length=10)] = [0.99]
    horizon_days: Annotated[int, Field(ge=1, le=250)] = 1
    preset: Literal["basel", "frtb", "stressed"] | None = None
    calibration_end: dt.date | None = None
    contributions: Literal["none", "components", "full"] = "components"
    live: bool = True

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "portfolio_id": 1,
                    "method": "montecarlo",
                    "confidence": [0.95, 0.99],
                    "horizon_days": 1,
                    "n_scenarios": 10000,
                    "seed": 7,
                }
            ]
        },
    )


class StressRequest(Strict):
    portfolio_id: Annotated[int, Field(ge=1, le=MAX_ID)] | None = None
    portfolio: PortfolioIn | None = None
    scenarios: (
        Annotated[list[Annotated[str, Field(max_length=200)]], Field(max_length=200)] | None
    ) = None
    custom: Annotated[list[dict[str, Any]], Field(max_length=200)] = []
    as_of: dt.date | None = None

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "portfolio_id": 1,
                    "scenarios": ["gfc-2008"],
                    "custom": [
                        {
                            "name": "tech -20%",
                            "type": "hypothetical",
                            "shocks": ["sector=tech:-0.2"],
                        }
                    ],
                }
            ]
        },
    )


class BacktestRequest(ModelOptions):
    portfolio_id: Annotated[int, Field(ge=1, le=MAX_ID)] | None = None
    portfolio: PortfolioIn | None = None
    methods: Annotated[list[Method], Field(min_length=1, max_length=3)] = ["historical"]
    confidence: Annotated[list[Confidence], Field(min_length=1, max_length=10)] = [0.99]
    start: dt.date | None = None
    end: dt.date | None = None
    null_simulations: Annotated[int, Field(ge=0, le=10_000)] | None = None


class Measure(BaseModel):
    confidence: float
    value_at_risk: float | None
    expected_shortfall: float | None
    value_at_risk_standard_error: float | None = None
    expected_shortfall_standard_error: float | None = None


class RiskReportOut(BaseModel):
    """The RiskReport of docs/formats.md (the CLI's --format json), plus ``limits``."""

    schema_version: int
    method: Method
    as_of: str
    base_currency: str
    measures: list[Measure]
    parameters: dict[str, Any]
    n_scenarios: int | None
    portfolio: dict[str, Any]
    excluded_positions: list[dict[str, Any]]
    data_quality: Any
    notes: list[str]
    provenance: dict[str, Any]
    pnl_histogram: dict[str, Any] | None
    exposures: Any = None
    contributions: Any = None
    limits: list[dict[str, Any]] = []


class Job(BaseModel):
    id: str
    kind: str
    state: Literal["queued", "running", "succeeded", "failed", "cancelled"]
    progress: float
    error: str | None = None
    created_at: dt.datetime
    updated_at: dt.datetime
    request: dict[str, Any] | None = None
    links: dict[str, str] = {}


class Problem(BaseModel):
    """RFC 9457 problem details."""

    type: str
    title: str
    status: int
    detail: str
    instance: str | None = None
    errors: list[dict[str, Any]] | None = None
