"""The page's types are generated from the OpenAPI schema, so the response models must say
what the server sends: every answer the page reads validates against its model, and carries
no key the model does not document."""

from __future__ import annotations

import time

import pytest

from e2e.schema_check import check, undocumented_keys
from riskengine.api import schemas


def test_the_checker_finds_undocumented_and_invalid_keys():
    good = {"edges": [0.0, 1.0], "counts": [3]}
    check(schemas.PnlHistogram, good)
    assert undocumented_keys(schemas.PnlHistogram, good | {"extra": 1}) == ["$.extra"]
    assert undocumented_keys(list[schemas.PnlHistogram], [good, good | {"x": 1}]) == ["$[1].x"]
    with pytest.raises(Exception, match="counts"):
        check(schemas.PnlHistogram, {"edges": [0.0]})


@pytest.mark.parametrize("method", ["historical", "parametric", "montecarlo"])
@pytest.mark.parametrize("contributions", ["none", "components", "full"])
def test_risk_reports_match_their_model(server, method, contributions):
    report = server.risk(method=method, confidence=[0.95, 0.99], contributions=contributions,
                         n_scenarios=2000 if method == "montecarlo" else None)  # fmt: skip
    check(schemas.RiskReportOut, report)
    assert len(report["limits"]) == 3


def test_the_other_answers_the_page_reads_match_their_models(server):
    c = server.client
    check(list[schemas.PortfolioItem], c.get("/api/v1/portfolios").json())
    check(schemas.PortfolioDetail, c.get(f"/api/v1/portfolios/{server.book_id}").json())
    check(schemas.ValuationOut, c.get(f"/api/v1/portfolios/{server.book_id}/valuation").json())
    check(schemas.PricesOut, c.get("/api/v1/market/prices").json())
    check(schemas.SymbolsOut, c.get("/api/v1/market/symbols").json())
    check(list[schemas.StressScenarioOut], c.get("/api/v1/stress/scenarios").json())
    custom = [{"name": "down", "type": "hypothetical", "shocks": ["*=-10%", "vol:*=+5"]}]
    stress = c.post("/api/v1/stress", json={"portfolio_id": server.book_id, "custom": custom})
    check(schemas.StressReportOut, stress.json())
    frtb = c.post("/api/v1/frtb", json={"portfolio_id": server.book_id})
    check(schemas.FrtbReportOut, frtb.json())
    body = {"portfolio_id": server.book_id, "methods": ["historical", "montecarlo"],
            "confidence": [0.95, 0.99], "start": "2022-11-01", "n_scenarios": 1000}  # fmt: skip
    r = c.post("/api/v1/backtest", json=body, headers={"Prefer": "respond-async"})
    assert r.status_code == 202
    check(schemas.Job, r.json())
    url = r.json()["links"]["self"]
    deadline = time.monotonic() + 120
    while c.get(url).json()["state"] in ("queued", "running"):
        assert time.monotonic() < deadline
        time.sleep(0.1)
    result = c.get(url + "/result").json()
    check(schemas.BacktestReportOut, result)
    check(list[schemas.Job], c.get("/api/v1/jobs").json())
