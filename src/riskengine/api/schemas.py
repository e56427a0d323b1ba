"""Request and response models of the HTTP API (the OpenAPI schema is generated from them).

Requests are validated by pydantic, then by the engine (which names the field, the value and
the way out). Large responses are encoded with orjson straight from the engine's dicts; the
response models here document them.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from riskengine import choices
from riskengine.frtb import mapping as frtb_mapping
from riskengine.spec import MIN_STUDENT_T_DF

# Numbers in request bodies are JSON numbers: not booleans (true is not 1), not strings, and
# finite. An integer field also refuses 2.5 and 2.0.
Number = Annotated[float, Field(strict=True, allow_inf_nan=False)]
Integer = Annotated[int, Field(strict=True)]
Flag = Annotated[bool, Field(strict=True)]

# Names, symbols, ids, tags and currencies are printable text: no control character (NUL, tab,
# newline, DEL, C1), which one database stores and another refuses, and no page shows.
CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
PRINTABLE = "^[^\\x00-\\x1f\\x7f-\\x9f]*$"


def printable(value: str) -> str:
    """``value`` if it holds no control character, else ValueError naming the first one."""
    bad = CONTROL.search(value)
    if bad is not None:
        raise ValueError(
            f"holds the control character U+{ord(bad.group()):04X} at position {bad.start()}; "
            "names, symbols, ids, tags and currencies are printable text: remove it"
        )
    return value


def text(max_length: int, min_length: int = 0) -> Any:
    """A printable string of ``min_length`` to ``max_length`` characters (the OpenAPI schema
    gives the rule as a pattern; the validator names the character)."""
    return Annotated[
        str,
        Field(
            min_length=min_length, max_length=max_length, json_schema_extra={"pattern": PRINTABLE}
        ),
        AfterValidator(printable),
    ]


def printable_tree(value: Any, name: str = "") -> Any:
    """``value`` (JSON: dicts, lists, strings, numbers) if none of its strings, keys included,
    holds a control character; else ValueError naming where (below ``name``)."""
    stack = [(value, name)]
    while stack:
        node, where = stack.pop()
        if isinstance(node, str):
            try:
                printable(node)
            except ValueError as exc:
                raise ValueError(f"{where or 'the value'} {exc}") from None
        elif isinstance(node, dict):
            for k, v in node.items():
                stack += [(k, f"{where}.{k!r} (a key)"), (v, f"{where}.{k}")]
        elif isinstance(node, list):
            stack += [(v, f"{where}[{i}]") for i, v in enumerate(node)]
    return value


# The checker sees plain str; pydantic gets text()'s length limits and printable check.
if TYPE_CHECKING:
    Name = str
    Symbol = str
    Currency = str
    Tag = str
else:
    Name = text(200, 1)
    Symbol = text(64)
    Currency = text(3, 3)
    Tag = text(200)
Confidence = Annotated[Number, Field(gt=0, lt=1, examples=[0.99])]
MAX_ID = 2**63 - 1
Id = Annotated[Integer, Field(ge=1, le=MAX_ID)]
# The checker sees plain str (it cannot evaluate Literal of a runtime tuple); pydantic gets the
# enum of the choice list in riskengine.choices.
if TYPE_CHECKING:
    Method = str
    DistributionName = str
    MeanName = str
    RevaluationName = str
    ApproximationName = str
    ScalingName = str
    CovarianceName = str
    FactorModelName = str
    WeightingName = str
    SamplingName = str
    ReturnModelName = str
    BadPrintPolicy = str
    PresetName = str
    ContributionsName = str
    FrtbCategory = str
    FrtbRiskClass = str
    LiquidityHorizon = int
else:
    Method = Literal[choices.METHOD_NAMES]
    DistributionName = Literal[choices.PARAMETRIC_DISTRIBUTIONS]
    MeanName = Literal[choices.MEANS]
    RevaluationName = Literal[choices.REVALUATIONS]
    ApproximationName = Literal[choices.APPROXIMATIONS]
    ScalingName = Literal[choices.HISTORICAL_SCALINGS]
    CovarianceName = Literal[choices.COVARIANCES]
    FactorModelName = Literal[choices.FACTOR_MODELS]
    WeightingName = Literal[choices.WEIGHTINGS]
    SamplingName = Literal[choices.SAMPLINGS]
    ReturnModelName = Literal[choices.RETURN_MODELS]
    BadPrintPolicy = Literal[choices.BAD_PRINT_POLICIES]
    PresetName = Literal[choices.PRESET_NAMES]
    ContributionsName = Literal[choices.CONTRIBUTIONS]
    FrtbCategory = Literal[tuple(frtb_mapping.CATEGORIES)]
    FrtbRiskClass = Literal[frtb_mapping.RISK_CLASSES]
    LiquidityHorizon = Literal[frtb_mapping.LIQUIDITY_HORIZONS]
MAX_IMPLIED_VOL = 10.0  # 1000% a year
MAX_RATE = 1.0  # rates and dividend yields within [-100%, 100%] a year


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PositionIn(Strict):
    """One position in the book format of docs/formats.md."""

    id: Tag | None = None
    symbol: Symbol | None = None
    quantity: Number
    instrument_type: Literal["equity", "fx", "future", "option"] = "equity"
    currency: Currency | None = None
    tags: Tag | dict[Tag, Tag] | list[Tag] | None = None
    underlying: Symbol | None = None
    strike: Number | None = None
    expiry: dt.date | None = None
    option_type: Literal["call", "put"] | None = None
    implied_vol: Annotated[Number, Field(gt=0, le=MAX_IMPLIED_VOL)] | None = None
    rate: Annotated[Number, Field(ge=-MAX_RATE, le=MAX_RATE)] | None = None
    dividend_yield: Annotated[Number, Field(ge=-MAX_RATE, le=MAX_RATE)] | None = None
    multiplier: Number | None = None
    exercise: Literal["european", "american"] | None = None
    underlying_type: Literal["equity", "future", "fx"] | None = None


class LimitIn(Strict):
    """A VaR or ES limit on the book (tag null) or on a tag group ("key=value")."""

    measure: Literal["value_at_risk", "expected_shortfall"] = "value_at_risk"
    confidence: Confidence = 0.99
    limit: Annotated[Number, Field(gt=0, examples=[250_000.0])]
    tag: Annotated[Tag, Field(examples=["sector=tech"])] | None = None


class LimitOut(BaseModel):
    measure: Literal["value_at_risk", "expected_shortfall"]
    confidence: float
    limit: float
    tag: str | None


class FrtbMappingEntry(Strict):
    """One risk factor's FRTB class and liquidity horizon: a ``category``, or a ``risk_class``
    and a ``liquidity_horizon`` (docs/frtb.md#mapping-file)."""

    factor: Annotated[Symbol, Field(min_length=1, examples=["KO"])]
    category: FrtbCategory | None = None
    risk_class: FrtbRiskClass | None = None
    liquidity_horizon: LiquidityHorizon | None = None


class FrtbMappingOut(BaseModel):
    factor: str
    risk_class: str
    liquidity_horizon: int


class PortfolioIn(Strict):
    name: Name = "portfolio"
    base_currency: Currency = "USD"
    positions: Annotated[list[PositionIn], Field(min_length=1)]
    limits: list[LimitIn] = []
    frtb_mapping: Annotated[list[FrtbMappingEntry], Field(max_length=100_000)] = []

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
    limits: list[LimitOut]
    frtb_mapping: list[FrtbMappingOut] = []


class PortfolioDetail(PortfolioOut):
    positions: list[dict[str, Any]]


class PortfolioItem(BaseModel):
    id: int
    name: str


class ModelOptions(Strict):
    """Model parameters shared by risk requests and backtests (docs/conventions.md)."""

    window: Annotated[Integer, Field(ge=1, le=100_000)] | None = None
    as_of: dt.date | None = None
    distribution: DistributionName | None = None
    df: Annotated[Number, Field(ge=MIN_STUDENT_T_DF, le=1000)] | None = None
    mean: MeanName | None = None
    n_scenarios: Annotated[Integer, Field(ge=100, le=10_000_000)] | None = None
    seed: Annotated[Integer, Field(ge=0, le=2**63 - 1)] | None = None
    revaluation: RevaluationName | None = None
    approximation: ApproximationName | None = None
    historical_scaling: ScalingName | None = None
    covariance: CovarianceName | None = None
    factor_model: FactorModelName | None = None
    pca_factors: Annotated[Integer, Field(ge=1, le=1000)] | None = None
    ewma_lambda: Annotated[Number, Field(gt=0, lt=1)] | None = None
    half_life: Annotated[Number, Field(gt=0, le=10_000)] | None = None
    historical_weighting: WeightingName | None = None
    decay: Annotated[Number, Field(gt=0, le=1)] | None = None
    sampling: SamplingName | None = None
    n_scrambles: Annotated[Integer, Field(ge=2, le=1024)] | None = None
    return_model: ReturnModelName | None = None
    bad_prints: BadPrintPolicy | None = None


class RiskRequest(ModelOptions):
    """A risk run: a stored book (``portfolio_id``) or an inline one (``portfolio``)."""

    portfolio_id: Id | None = None
    portfolio: PortfolioIn | None = None
    method: Method = "historical"
    confidence: Annotated[list[Confidence], Field(min_length=1, max_length=10)] = [0.99]
    horizon_days: Annotated[Integer, Field(ge=1, le=250)] = 1
    preset: PresetName | None = None
    calibration_end: dt.date | None = None
    contributions: ContributionsName = "components"
    live: Flag = True

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
    portfolio_id: Id | None = None
    portfolio: PortfolioIn | None = None
    scenarios: Annotated[list[Tag], Field(max_length=200)] | None = None
    custom: Annotated[
        list[dict[str, Any]],
        Field(max_length=200),
        AfterValidator(lambda v: printable_tree(v, "custom")),
    ] = []
    as_of: dt.date | None = None
    keep_idle_shocks: Flag = False
    live: Flag = True

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


class PnlPoint(Strict):
    date: dt.date
    pnl: Number


class FrtbRequest(Strict):
    """FRTB internal-model capital of a stored or inline book (docs/frtb.md)."""

    portfolio_id: Id | None = None
    portfolio: PortfolioIn | None = None
    as_of: dt.date | None = None
    mapping: Annotated[list[FrtbMappingEntry], Field(max_length=100_000)] | None = None
    reduced_set: Annotated[list[Symbol], Field(min_length=1, max_length=100_000)] | None = None
    stressed_window: (
        Annotated[
            str,
            Field(
                pattern=r"^\d{4}-\d{2}-\d{2}(:\d{4}-\d{2}-\d{2})?$",
                examples=["2008-06-02", "2008-06-02:2009-05-29"],
            ),
        ]
        | None
    ) = None
    window: Annotated[Integer, Field(ge=10, le=100_000)] | None = None
    averaging_days: Annotated[Integer, Field(ge=1, le=1_000)] | None = None
    backtest_window: Annotated[Integer, Field(ge=100, le=100_000)] | None = None
    actual_pnl: Annotated[list[PnlPoint], Field(max_length=100_000)] | None = None
    risk_model_pnl: Annotated[list[PnlPoint], Field(max_length=100_000)] | None = None


class BacktestRequest(ModelOptions):
    portfolio_id: Id | None = None
    portfolio: PortfolioIn | None = None
    methods: Annotated[list[Method], Field(min_length=1, max_length=3)] = ["historical"]
    confidence: Annotated[list[Confidence], Field(min_length=1, max_length=10)] = [0.99]
    start: dt.date | None = None
    end: dt.date | None = None
    null_simulations: Annotated[Integer, Field(ge=0, le=10_000)] | None = None


# --- responses ----------------------------------------------------------------------------
# The routes answer with orjson-encoded engine dicts (never validated against these models, for
# speed); the models document those dicts exactly, so the OpenAPI schema and the page's types
# generated from it (frontend/, docs/page.md) say what the server sends. Models whose dict has
# keys that vary with the method or estimator allow extra keys; tests/e2e checks the rest
# against real answers.
Amount = float  # in the book's base currency


class Open(BaseModel):
    """A response object that may carry keys beyond the documented ones."""

    model_config = ConfigDict(extra="allow")


class LimitUtilisation(LimitOut):
    """A limit and the report's measure against it (for a tag, the group's component VaR or
    ES); ``value`` is null, with a ``reason``, when the report does not hold the measure."""

    value: Amount | None
    utilisation: float | None
    breached: bool
    reason: str | None = None


class Measure(BaseModel):
    """VaR and ES at one confidence: positive loss amounts (docs/conventions.md)."""

    confidence: float
    value_at_risk: Amount | None
    expected_shortfall: Amount | None
    value_at_risk_standard_error: Amount | None
    expected_shortfall_standard_error: Amount | None


class ReportPortfolio(BaseModel):
    """The book a result is about: ``id`` is the stored book's (null for an inline book)."""

    name: str
    n_positions: int
    n_included: int
    market_value: Amount
    id: int | None = None


class ExcludedPosition(BaseModel):
    id: str
    symbol: str
    reason: str


class DataQualityFlag(Open):
    code: str
    message: str


class Provenance(Open):
    seed: int | None
    data_snapshot_id: str
    code_version: str


class PnlHistogram(BaseModel):
    """The scenario P&L binned on the server: ``counts[i]`` scenarios with P&L in
    [``edges[i]``, ``edges[i + 1]``) (gains positive)."""

    edges: list[float]
    counts: list[int]


class PnlDensity(BaseModel):
    """The parametric method's fitted P&L density: its distribution ("normal", "student-t",
    "cornish-fisher"), mean and standard deviation (and df, or skewness and excess kurtosis),
    and the curve: ``density[i]`` per unit of P&L at ``pnl[i]`` (gains positive, ascending)."""

    distribution: str
    mean: float
    standard_deviation: float
    df: float | None = None
    skewness: float | None = None
    excess_kurtosis: float | None = None
    monotone: bool | None = None
    pnl: list[float]
    density: list[float]


class ExposureLine(BaseModel):
    dollar_delta: Amount
    dollar_gamma: Amount
    vega: Amount
    gross_exposure: Amount
    net_exposure: Amount
    n_positions: int


class FactorExposure(ExposureLine):
    factor: str
    spot: float
    delta_units: float


class TagExposure(ExposureLine):
    key: str
    value: str | None


class Exposures(BaseModel):
    total: ExposureLine
    by_underlying: list[FactorExposure]
    by_tag: list[TagExposure]


class ContributionSummary(Open):
    """Per confidence: VaR and ES, the sums of the components (equal to them), the sum of
    standalone VaRs and the diversification benefit (null without ``contributions: full``),
    and the estimator's diagnostics."""

    confidence: float
    value_at_risk: Amount
    expected_shortfall: Amount
    sum_component_var: Amount
    sum_component_es: Amount
    sum_standalone_var: Amount | None
    diversification_benefit: Amount | None


class ContributionRow(BaseModel):
    """Risk contributions of a position or a tag group at one confidence; incremental and
    standalone VaR are null without ``contributions: full``, marginal VaR where the exposure
    is 0."""

    confidence: float
    exposure: Amount
    marginal_var: float | None
    component_var: Amount | None
    component_es: Amount | None
    incremental_var: Amount | None
    standalone_var: Amount | None


class PositionContribution(ContributionRow):
    id: str
    symbol: str


class TagContribution(ContributionRow):
    key: str
    value: str | None
    n_positions: int


class Contributions(BaseModel):
    """One row per (confidence, position) and per (confidence, tag group), confidence-major."""

    estimator: dict[str, Any]
    summary: list[ContributionSummary]
    by_position: list[PositionContribution]
    by_tag: list[TagContribution]


class RiskReportOut(BaseModel):
    """The RiskReport of docs/formats.md (the CLI's --format json), plus ``limits``."""

    schema_version: int
    method: Method
    as_of: str
    base_currency: str
    results: list[Measure]
    parameters: dict[str, Any]
    n_scenarios: int | None
    portfolio: ReportPortfolio
    excluded_positions: list[ExcludedPosition]
    data_quality: list[DataQualityFlag]
    notes: list[str]
    provenance: Provenance
    pnl_histogram: PnlHistogram | None
    pnl_density: PnlDensity | None = None
    exposures: Exposures | None
    contributions: Contributions | None
    limits: list[LimitUtilisation]


class StoredReport(BaseModel):
    """One entry of a book's risk history (``GET /portfolios/{id}/reports``): when it was
    computed, on which market date, by which method, its VaR and ES, and its limits then."""

    id: int
    created_at: str
    as_of: str
    method: Method
    measures: list[Measure]
    limits: list[LimitUtilisation]


class StressScenarioOut(BaseModel):
    """A scenario of the library: historical (``start``, ``end``) or hypothetical
    (``shocks``)."""

    name: str
    type: Literal["historical", "hypothetical"]
    description: str
    start: str | None = None
    end: str | None = None
    shocks: list[str] | None = None


class StressPosition(BaseModel):
    """A position's P&L under a scenario (``shock``: its factor's relative move, ``vol_shift``
    in volatility points or null)."""

    id: str
    symbol: str
    factor: str
    pnl: Amount
    shock: float
    fx_shock: float
    vol_shift: float | None


class StressResultOut(BaseModel):
    scenario: str
    type: Literal["historical", "hypothetical"]
    description: str
    as_of: str
    base_currency: str
    pnl: Amount
    portfolio: ReportPortfolio
    definition: dict[str, Any]
    factor_returns: dict[str, float]
    positions: list[StressPosition]
    excluded_positions: list[ExcludedPosition]
    notes: list[str]
    warnings: list[str] = []


class StressSkipped(BaseModel):
    scenario: str
    reason: str


class StressReportOut(BaseModel):
    """Named and custom scenarios on a book (docs/stress.md)."""

    schema_version: int
    as_of: str
    base_currency: str
    portfolio: ReportPortfolio
    scenarios: list[StressResultOut]
    skipped: list[StressSkipped]
    worst_window: dict[str, Any] | None
    reverse_stress: dict[str, Any] | None


class LikelihoodRatioOut(BaseModel):
    statistic: float | None
    df: int
    p_value: float | None


class TransitionsOut(BaseModel):
    n00: int
    n01: int
    n10: int
    n11: int


class TrafficLightOut(BaseModel):
    """The Basel traffic light on the last ``n_obs`` (250) days."""

    n_obs: int
    n_exceptions: int
    zone: Literal["green", "yellow", "red"]
    cumulative_probability: float
    plus_factor: float | None
    green_max: int
    yellow_max: int


class Z2Out(BaseModel):
    statistic: float | None
    p_value: float | None
    n_simulations: int


class BacktestStatisticsOut(BaseModel):
    confidence: float
    n_obs: int
    n_exceptions: int
    expected_exceptions: float
    exception_rate: float
    kupiec_pof: LikelihoodRatioOut
    christoffersen_independence: LikelihoodRatioOut
    conditional_coverage: LikelihoodRatioOut
    transitions: TransitionsOut
    traffic_light: TrafficLightOut | None
    z2: Z2Out


class BacktestMethodSeries(BaseModel):
    """One method's daily forecasts at one confidence, aligned with ``series.date``."""

    confidence: float
    value_at_risk: list[Amount | None]
    expected_shortfall: list[Amount | None]
    exception: list[bool]
    traffic_light_exceptions: list[int | None]
    traffic_light_zone: list[Literal["green", "yellow", "red"] | None]


class BacktestMethodOut(BaseModel):
    method: Method
    parameters: dict[str, Any]
    notes: list[str]
    data_quality: list[DataQualityFlag]
    statistics: list[BacktestStatisticsOut]
    series: list[BacktestMethodSeries]


class BacktestSeries(BaseModel):
    """The days: forecast date t, P&L date t + 1, the book's realised P&L from t to t + 1."""

    date: list[str]
    pnl_date: list[str]
    realised_pnl: list[Amount | None]


class BacktestReportOut(BaseModel):
    """A backtest of today's book held constant, methods side by side (docs/backtest.md)."""

    schema_version: int
    kind: Literal["backtest"]
    as_of: str
    base_currency: str
    horizon_days: int
    window: int
    confidence: list[float]
    start: str
    end: str
    n_days: int
    portfolio: ReportPortfolio
    excluded_positions: list[ExcludedPosition]
    parameters: dict[str, Any]
    notes: list[str]
    provenance: Provenance
    series: BacktestSeries
    methods: list[BacktestMethodOut]


class FrtbParameters(BaseModel):
    confidence: float
    base_horizon_days: int
    window: int
    scenarios_per_window: int
    averaging_days: int
    rho: float
    backtest_window: int
    liquidity_horizons: list[int]


class FrtbCapital(BaseModel):
    """capital = max(IMCC today, m_c x the average IMCC); m_c = 1.5 + the add-on of the 99%
    exceptions (MAR33.41-33.42, MAR99)."""

    charge: Amount
    imcc_last: Amount
    average_imcc: Amount
    multiplier: float
    addon: float
    exceptions_99: int
    binding: Literal["last", "average"]


class FrtbImccSeries(BaseModel):
    dates: list[str]
    imcc: list[Amount]


class FrtbImcc(BaseModel):
    """IMCC = rho IMCC(C) + (1 - rho) sum_i IMCC(C_i) (MAR33.15-33.17)."""

    value: Amount
    unconstrained: Amount
    by_class: dict[str, Amount]
    rho: float
    average: Amount
    days: int
    series: FrtbImccSeries


class FrtbSearch(BaseModel):
    """ES_R,S of every 12-month window of the history, by the window's last date (null where
    a factor of the reduced set lacks a close)."""

    end_dates: list[str]
    expected_shortfall: list[Amount | None]


class FrtbStressedWindow(BaseModel):
    start: str
    end: str
    searched: bool
    expected_shortfall: Amount
    search: FrtbSearch


class FrtbRatio(BaseModel):
    """ES_R,C / ES_F,C today and over the averaging days; below_floor when the average is
    under 0.75 (MAR33.5)."""

    reduced_to_full: float
    average: float
    days: int
    floor: float
    below_floor: bool
    series: list[float]


class FrtbCascade(BaseModel):
    """ES_T(P, j) for the buckets LH >= 10, 20, 40, 60, 120 days, and the liquidity-adjusted
    ES (MAR33.4)."""

    by_bucket: list[Amount]
    liquidity_adjusted: Amount


class FrtbExpectedShortfall(BaseModel):
    """Per factor set and window, per risk class ("all": every factor)."""

    reduced_stressed: dict[str, FrtbCascade]
    full_current: dict[str, FrtbCascade]
    reduced_current: dict[str, FrtbCascade]


class FrtbFactor(BaseModel):
    factor: str
    risk_class: str
    liquidity_horizon: int
    source: str
    reduced: bool


class FrtbBacktest(BaseModel):
    """Exceptions of the 1-day VaR at 99% and 97.5% over 250 days, by confidence ("0.99",
    "0.975"); more than the limit fails the desk (MAR32)."""

    exceptions: dict[str, int]
    actual_exceptions: dict[str, int] | None
    limits: dict[str, int]
    zone: Literal["pass", "fail"]


class FrtbPla(BaseModel):
    """The P&L attribution test: Spearman and Kolmogorov-Smirnov between hypothetical and
    risk-theoretical P&L (MAR32); green: Spearman > 0.80 and KS < 0.09; red: Spearman < 0.70
    or KS > 0.12."""

    model: Literal["delta-gamma", "supplied"]
    spearman: float | None
    ks: float
    zone: Literal["green", "amber", "red"]
    dates: list[str]
    hypothetical_pnl: list[Amount]
    risk_theoretical_pnl: list[Amount]


class FrtbDeskTests(BaseModel):
    days: int
    pnl: str
    backtest: FrtbBacktest
    pla: FrtbPla


class FrtbReportOut(BaseModel):
    """The FRTB internal-model capital of a book with every intermediate number
    (docs/frtb.md)."""

    schema_version: int
    kind: Literal["frtb"]
    as_of: str
    base_currency: str
    parameters: FrtbParameters
    portfolio: ReportPortfolio
    capital: FrtbCapital
    imcc: FrtbImcc
    stressed_window: FrtbStressedWindow
    ratio: FrtbRatio
    expected_shortfall: FrtbExpectedShortfall
    factors: list[FrtbFactor]
    desk_tests: FrtbDeskTests
    out_of_scope: list[str]
    excluded_positions: list[ExcludedPosition]
    notes: list[str]
    provenance: dict[str, Any]


class PriceOut(BaseModel):
    """The latest price of a symbol (``source``: a tick, else the last close) and its
    relative ``change`` since that close."""

    close: float | None
    close_date: str
    price: float | None
    source: Literal["tick", "close"]
    change: float | None


class PricesOut(BaseModel):
    as_of: str
    prices: dict[str, PriceOut]


class SymbolsOut(BaseModel):
    symbols: list[str]
    first_date: str
    last_closed_date: str


class PositionValue(BaseModel):
    """A position at the latest prices: its factor's price now and at the last close, the
    instrument's unit price in its own currency (an option's premium), and its value and P&L
    since the close in the base currency (a future's value is 0, its P&L is not)."""

    id: str
    symbol: str
    instrument_type: Literal["equity", "fx", "future", "option"]
    quantity: float
    currency: str
    factor: str
    factor_price: float
    factor_close: float
    change: float | None
    price: float
    market_value: Amount
    close_value: Amount
    day_pnl: Amount


class ValuationOut(BaseModel):
    """A stored book valued at the latest prices (``prices_as_of``: the latest tick's time,
    null without ticks) on the snapshot of the last close ``as_of``."""

    portfolio_id: int
    name: str
    as_of: str
    prices_as_of: str | None
    base_currency: str
    market_value: Amount
    close_value: Amount
    day_pnl: Amount
    positions: list[PositionValue]
    excluded_positions: list[ExcludedPosition]


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
