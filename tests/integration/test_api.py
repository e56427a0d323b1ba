"""The HTTP API on a real uvicorn server (127.0.0.1, free port) over a SQLite store holding the
bundled history: CRUD, risk by each method against the Python API, stress and backtests
against their Python functions, problem details, limits, the risk history, operations."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from integration.api_support import assert_problem, book_doc
from riskengine import compute_risk, load_portfolio
from riskengine.backtest import run_backtest
from riskengine.stress import run_scenarios

ROOT = Path(__file__).resolve().parents[2]
BOOK = ROOT / "examples" / "book.json"


@pytest.fixture(scope="module")
def book_id(api):
    r = api.client().post("/api/v1/portfolios", json=book_doc(name="example"))
    assert r.status_code == 201, r.text
    return r.json()["id"]


# --- portfolios ---------------------------------------------------------------------------------
def test_portfolio_crud_round_trip(api):
    c = api.client()
    r = c.post("/api/v1/portfolios", json=book_doc(name="crud"))
    assert r.status_code == 201
    created = r.json()
    assert r.headers["location"] == f"/api/v1/portfolios/{created['id']}"
    assert created["n_positions"] == len(json.loads(BOOK.read_text())["positions"])
    got = c.get(f"/api/v1/portfolios/{created['id']}").json()
    assert got["name"] == "crud" and len(got["positions"]) == created["n_positions"]
    assert {"id": created["id"], "name": "crud"} in c.get("/api/v1/portfolios").json()
    smaller = book_doc(name="crud2", positions=got["positions"][:3])
    r = c.put(f"/api/v1/portfolios/{created['id']}", json=smaller)
    assert r.status_code == 200 and r.json()["n_positions"] == 3
    assert c.get(f"/api/v1/portfolios/{created['id']}").json()["name"] == "crud2"
    assert c.delete(f"/api/v1/portfolios/{created['id']}").status_code == 204
    assert_problem(c.get(f"/api/v1/portfolios/{created['id']}"), 404, "not-found", "portfolio")
    assert_problem(c.delete(f"/api/v1/portfolios/{created['id']}"), 404, "not-found")


def test_upload_a_csv_book_adds_a_portfolio(api):
    c = api.client()
    files = {"file": ("desk.csv", (ROOT / "examples" / "book.csv").read_bytes(), "text/csv")}
    r = c.post("/api/v1/portfolios/upload", files=files)
    assert r.status_code == 201, r.text
    assert r.json()["name"] == "desk"
    expected = load_portfolio(ROOT / "examples" / "book.csv")
    got = c.get(f"/api/v1/portfolios/{r.json()['id']}").json()
    assert [p["id"] for p in got["positions"]] == [p.id for p in expected.positions]


def test_upload_errors_name_the_row_and_field(api):
    c = api.client()
    bad = b"symbol,quantity\nAAPL,100\nMSFT,lots\n"
    r = c.post("/api/v1/portfolios/upload", files={"file": ("b.csv", bad, "text/csv")})
    assert_problem(r, 422, "invalid-input", "position 2", "quantity", "lots")
    r = c.post("/api/v1/portfolios/upload", files={"file": ("b.xlsx", b"PK", "application/zip")})
    assert_problem(r, 415, "unsupported-file", ".csv or .json")


# --- risk ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "options",
    [
        {"method": "historical", "window": 750},
        {"method": "parametric", "distribution": "student-t"},
        {"method": "montecarlo", "n_scenarios": 20_000, "seed": 11},
        {"method": "parametric", "factor_model": "pca", "pca_factors": 2},
        {"method": "montecarlo", "n_scenarios": 20_000, "seed": 11, "factor_model": "pca"},
    ],
    ids=["historical", "parametric", "montecarlo", "parametric-pca", "montecarlo-pca"],
)
def test_risk_by_each_method_equals_the_python_api(api, book_id, bundled_history, options):
    body = {"portfolio_id": book_id, "confidence": [0.95, 0.99], "horizon_days": 5} | options
    r = api.client().post("/api/v1/risk", json=body)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/json"
    report = r.json()
    expected = compute_risk(
        load_portfolio(BOOK),
        bundled_history,
        confidence=(0.95, 0.99),
        horizon_days=5,
        contributions=True,
        contribution_detail="components",
        **options,
    )
    assert report["method"] == options["method"]
    assert report["as_of"] == expected.as_of
    for got, want in zip(report["results"], expected.measures, strict=True):
        assert got["confidence"] == want.confidence
        assert got["value_at_risk"] == pytest.approx(want.value_at_risk, rel=1e-12)
        assert got["expected_shortfall"] == pytest.approx(want.expected_shortfall, rel=1e-12)
    assert report["provenance"]["data_snapshot_id"] == expected.provenance["data_snapshot_id"]
    # contributions by position add up to VaR (the waterfall)
    c99 = [row["component_var"] for row in report["contributions"]["by_position"]
           if row["confidence"] == 0.99]  # fmt: skip
    assert sum(c99) == pytest.approx(report["results"][1]["value_at_risk"], rel=1e-9)
    hist = report["pnl_histogram"]
    if options["method"] != "parametric":
        assert sum(hist["counts"]) == report["n_scenarios"]


def test_inline_book_equals_the_stored_book(api, book_id):
    c = api.client()
    body = {"method": "montecarlo", "seed": 3, "n_scenarios": 5000, "contributions": "none"}
    stored = c.post("/api/v1/risk", json={"portfolio_id": book_id} | body).json()
    inline = c.post("/api/v1/risk", json={"portfolio": book_doc()} | body).json()
    assert inline["results"] == stored["results"]
    assert inline["contributions"] is None


def test_twice_the_book_has_twice_the_var(api):
    c = api.client()
    doc = book_doc()
    double = book_doc(positions=[p | {"quantity": 2 * p["quantity"]} for p in doc["positions"]])
    body = {"method": "historical", "contributions": "none"}
    one = c.post("/api/v1/risk", json={"portfolio": doc} | body).json()["results"][0]
    two = c.post("/api/v1/risk", json={"portfolio": double} | body).json()["results"][0]
    assert two["value_at_risk"] == pytest.approx(2 * one["value_at_risk"], rel=1e-12)


def test_stress_and_backtest_equal_their_python_functions(api, book_id, bundled_history):
    c = api.client()
    r = c.post("/api/v1/stress", json={"portfolio_id": book_id, "scenarios": ["covid-2020"],
                                       "custom": [{"name": "all-down-10", "type": "hypothetical",
                                                   "shocks": ["*=-0.1"]}]})  # fmt: skip
    assert r.status_code == 200, r.text
    book = load_portfolio(BOOK)
    want = run_scenarios(book, bundled_history, ["covid-2020", ["*=-0.1"]])
    got = {s["scenario"]: s["pnl"] for s in r.json()["scenarios"]}
    assert got["covid-2020"] == pytest.approx(want.results[0].pnl, rel=1e-12)
    assert got["all-down-10"] == pytest.approx(want.results[1].pnl, rel=1e-12)
    names = {s["name"] for s in c.get("/api/v1/stress/scenarios").json()}
    assert "covid-2020" in names
    body = {"portfolio_id": book_id, "methods": ["historical"], "start": "2022-11-01"}
    r = c.post("/api/v1/backtest", json=body)
    assert r.status_code == 200, r.text
    want = run_backtest(book, bundled_history, ("historical",), start="2022-11-01")
    got = r.json()["methods"][0]
    assert got["statistics"][0]["n_exceptions"] == want.methods[0].statistics[0].n_exceptions
    assert got["series"][0]["value_at_risk"] == pytest.approx(
        want.methods[0].value_at_risk[:, 0].tolist(), rel=1e-12
    )


def test_no_answer_or_stored_report_carries_a_non_finite_number(api, bundled_history):
    """Quantity 1e308: parametric answered 200 with VaR and ES null and stored that in the
    book's history; AAPL=1e308 as a stress shock answered 200 with pnl null."""
    c = api.client()
    doc = book_doc(name="huge")
    doc["positions"][0] = doc["positions"][0] | {"quantity": 1e308}
    huge_id = doc["positions"][0]["id"]
    pid = c.post("/api/v1/portfolios", json=doc).json()["id"]
    r = c.post("/api/v1/risk", json={"portfolio_id": pid, "method": "parametric"})
    assert r.status_code == 200, r.text
    var = r.json()["results"][0]
    assert all(isinstance(var[k], float) for k in ("value_at_risk", "expected_shortfall"))
    (excluded,) = r.json()["excluded_positions"]
    assert excluded["id"] == huge_id and "limit 1e+15" in excluded["reason"]
    rest = book_doc(name="rest")
    rest["positions"] = rest["positions"][1:]
    want = c.post("/api/v1/risk", json={"portfolio": rest, "method": "parametric"}).json()
    assert var == want["results"][0]  # the oracle: the book without it
    (stored,) = c.get(f"/api/v1/portfolios/{pid}/reports").json()
    assert stored["measures"][0] == var
    only = {"name": "only", "positions": [doc["positions"][0]]}
    r = c.post("/api/v1/risk", json={"portfolio": only, "method": "parametric"})
    assert_problem(r, 422, "no-positions", "1e+308", "limit 1e+15")
    custom = [{"name": "absurd", "type": "hypothetical", "shocks": ["AAPL=1e308"]}]
    r = c.post("/api/v1/stress", json={"portfolio_id": pid, "custom": custom})
    assert_problem(r, 422, "invalid-input", "AAPL=1e308", "beyond the limit 100")


# --- problem details ------------------------------------------------------------------------------
def test_bad_requests_get_problem_details_naming_the_field(api, book_id):
    c = api.client()
    r = c.post("/api/v1/risk", json={"portfolio_id": book_id, "confidence": [1.5]})
    body = assert_problem(r, 422, "validation", "confidence[0]", "1.5")
    assert body["errors"][0]["field"] == "confidence[0]"
    r = c.post("/api/v1/risk", json={"portfolio_id": book_id, "methd": "historical"})
    assert_problem(r, 422, "validation", "methd")
    r = c.post("/api/v1/risk", content=b"{not json", headers={"content-type": "application/json"})
    assert_problem(r, 422, "validation")
    r = c.post("/api/v1/risk", json={"confidence": [0.99]})
    assert_problem(r, 422, "validation", "portfolio_id", "portfolio")
    r = c.post("/api/v1/risk", json={"portfolio_id": book_id, "window": 9000})
    assert_problem(r, 422, "insufficient-history", "window", "9000")
    nothing = {"positions": [{"symbol": "NOPE", "quantity": 1}]}
    r = c.post("/api/v1/risk", json={"portfolio": nothing})
    assert_problem(r, 422, "no-positions", "NOPE")
    option = {"positions": [{"instrument_type": "option", "underlying": "AAPL", "quantity": 1,
                             "expiry": "2023-06-16", "option_type": "call",
                             "implied_vol": 0.3}]}  # fmt: skip
    r = c.post("/api/v1/risk", json={"portfolio": option})
    assert_problem(r, 422, "invalid-input", "strike")
    assert_problem(c.get("/api/v1/nothing-here"), 404, "http", "/api/v1/nothing-here")
    assert_problem(c.patch("/api/v1/risk"), 405, "http", "PATCH")


def test_a_body_over_the_limit_is_refused_before_it_is_read(api):
    limit = api.state.settings.max_body_bytes
    r = api.client().post("/api/v1/portfolios", content=b" " * (limit + 1),
                          headers={"content-type": "application/json"})  # fmt: skip
    assert_problem(r, 413, "too-large", str(limit), "RISKENGINE_MAX_BODY_BYTES")


def test_one_bad_position_degrades_the_report(api):
    doc = {"positions": [{"id": "good", "symbol": "AAPL", "quantity": 10},
                         {"id": "bad", "symbol": "NOPE", "quantity": 5}]}  # fmt: skip
    r = api.client().post("/api/v1/risk", json={"portfolio": doc})
    assert r.status_code == 200
    excluded = r.json()["excluded_positions"]
    assert [e["id"] for e in excluded] == ["bad"] and "NOPE" in excluded[0]["reason"]


# --- limits and the risk history ------------------------------------------------------------------
def test_limits_report_utilisation_and_breaches(api):
    c = api.client()
    limits = [
        {"measure": "value_at_risk", "confidence": 0.99, "limit": 1.0},
        {"measure": "expected_shortfall", "confidence": 0.99, "limit": 1e12},
        {"measure": "value_at_risk", "confidence": 0.99, "limit": 1e12, "tag": "sector=tech"},
        {"measure": "value_at_risk", "confidence": 0.95, "limit": 5.0},
    ]
    pid = c.post("/api/v1/portfolios", json=book_doc(name="limited", limits=limits)).json()["id"]
    report = c.post("/api/v1/risk", json={"portfolio_id": pid, "contributions": "none"}).json()
    var99 = report["results"][0]
    got = report["limits"]
    assert got[0]["value"] == var99["value_at_risk"] and got[0]["breached"]
    assert got[0]["utilisation"] == pytest.approx(var99["value_at_risk"] / 1.0)
    assert got[1]["value"] == var99["expected_shortfall"] and not got[1]["breached"]
    # a tag limit turns contributions on; its value is the tag's component VaR
    by_tag = report["contributions"]["by_tag"]
    tech = [
        r for r in by_tag if (r["key"], r["value"], r["confidence"]) == ("sector", "tech", 0.99)
    ]
    assert got[2]["value"] == pytest.approx(tech[0]["component_var"])
    assert got[3]["value"] is None and "0.95" in got[3]["reason"]
    r = c.put(f"/api/v1/portfolios/{pid}/limits", json=[{"limit": -3}])
    assert_problem(r, 422, "validation", "limit")
    history = c.get(f"/api/v1/portfolios/{pid}/reports").json()
    assert len(history) == 1 and history[0]["measures"][0] == var99
    assert history[0]["limits"][0]["breached"]


def test_a_deleted_book_takes_its_history_and_its_id_is_not_given_again(api):
    """Delete the newest book and create another: on SQLite it got the same id and showed the
    deleted book's reports and breaches."""
    c = api.client()
    limits = [{"measure": "value_at_risk", "confidence": 0.99, "limit": 1.0}]
    gone = c.post("/api/v1/portfolios", json=book_doc(name="gone", limits=limits)).json()["id"]
    r = c.post("/api/v1/risk", json={"portfolio_id": gone, "method": "parametric"})
    assert r.status_code == 200 and r.json()["limits"][0]["breached"]
    assert len(c.get(f"/api/v1/portfolios/{gone}/reports").json()) == 1
    assert c.delete(f"/api/v1/portfolios/{gone}").status_code == 204
    assert_problem(c.get(f"/api/v1/portfolios/{gone}/reports"), 404, "not-found", "portfolio")
    new = c.post("/api/v1/portfolios", json=book_doc(name="new")).json()["id"]
    assert new > gone
    assert c.get(f"/api/v1/portfolios/{new}/reports").json() == []
    assert c.get(f"/api/v1/portfolios/{new}").json()["limits"] == []


# --- operations -----------------------------------------------------------------------------------
def test_health_readiness_metrics_and_openapi(api, book_id):
    assert api.anonymous.get("/healthz").json() == {"status": "ok"}
    ready = api.anonymous.get("/readyz").json()
    assert ready["status"] == "ready" and ready["symbols"] == 20
    api.client().post("/api/v1/risk", json={"portfolio_id": book_id, "method": "parametric"})
    text = api.anonymous.get("/metrics").text
    assert 'riskengine_compute_seconds_count{method="parametric"}' in text
    assert 'route="/api/v1/risk"' in text and "riskengine_job_queue_depth" in text
    spec = api.anonymous.get("/api/v1/openapi.json").json()
    assert "/api/v1/risk" in spec["paths"]
    assert spec["components"]["schemas"]["RiskRequest"]["examples"]


def test_market_data_endpoints(api, bundled_history):
    c = api.client()
    syms = c.get("/api/v1/market/symbols").json()
    assert syms["symbols"] == list(bundled_history.symbols)
    assert syms["last_closed_date"] == bundled_history.last_date.isoformat()
    prices = c.get("/api/v1/market/prices", params={"symbols": "AAPL"}).json()["prices"]
    assert prices["AAPL"]["close"] == bundled_history.prices[-1, bundled_history.column["AAPL"]]
    bars = c.get("/api/v1/market/bars/AAPL", params={"limit": 5}).json()["bars"]
    assert len(bars) == 5 and bars[-1]["close"] == prices["AAPL"]["close"]
    r = c.get("/api/v1/market/bars/AAPL", params={"start": "2022-01-01T00:00:00"})
    assert_problem(r, 422, "validation", "time zone")


def test_cors_and_json_logs(tmp_path, bundled_history, capsys):
    """CORS answers only the configured origins; each request is logged as one JSON line."""
    import io
    import logging

    from integration.api_support import api_settings, start_api
    from riskengine.api.observe import JsonFormatter
    from riskengine.store import open_store

    store = open_store(f"sqlite:///{tmp_path / 'cors.sqlite3'}")
    store.import_daily(bundled_history)
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    access = logging.getLogger("riskengine.access")
    access.addHandler(handler)
    access.setLevel(logging.INFO)
    server = start_api(store, api_settings(cors_origins=("http://desk.example",)))
    try:
        c = server.client()
        ok = c.get("/api/v1/portfolios", headers={"Origin": "http://desk.example"})
        assert ok.headers["access-control-allow-origin"] == "http://desk.example"
        other = c.get("/api/v1/portfolios", headers={"Origin": "http://evil.example"})
        assert "access-control-allow-origin" not in other.headers
    finally:
        server.close()
        store.close()
        access.removeHandler(handler)
    lines = [json.loads(x) for x in stream.getvalue().splitlines()]
    mine = [x for x in lines if x.get("route") == "/api/v1/portfolios"]
    assert len(mine) == 2 and mine[0]["status"] == 200 and mine[0]["tenant"] == "alpha"
    assert mine[0]["level"] == "info" and mine[0]["ms"] >= 0


def test_readiness_checks_the_store(pg_server, pg_url, open_test_store, bundled_history):
    """/readyz answered ready while PostgreSQL was down (the history was cached) and every data
    route answered 503: it asks the store each time."""
    from integration.api_support import start_api

    store = open_test_store(pg_url)
    store.import_daily(bundled_history)
    server = start_api(store)
    try:
        anon = server.anonymous
        assert anon.get("/readyz").json()["status"] == "ready"
        pg_server.stop()
        r = anon.get("/readyz")
        body = assert_problem(r, 503, "not-ready", "store")
        assert r.headers["retry-after"] == "5" and "retry" in body["detail"]
        assert server.client().get("/api/v1/portfolios").status_code == 503
        pg_server.start()
        deadline = time.monotonic() + 30  # the pool reconnects on its own
        while anon.get("/readyz").status_code != 200 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert anon.get("/readyz").json()["status"] == "ready"
    finally:
        if not pg_server.running:
            pg_server.start()
        server.close()
        store.close()


def test_a_bad_pca_factors_is_refused_naming_it(api, book_id):
    body = {"portfolio_id": book_id, "method": "parametric", "factor_model": "pca"}
    r = api.client().post("/api/v1/risk", json=body | {"pca_factors": 0})
    assert r.status_code == 422 and "pca_factors" in r.text
    r = api.client().post("/api/v1/risk", json=body | {"pca_factors": 3, "factor_model": "full"})
    assert_problem(r, 422, "invalid-input", "pca_factors 3 needs factor_model 'pca'")


def test_the_risk_history_pages_by_method_and_time(api):
    """``GET /portfolios/{id}/reports``: newest first, ``limit`` per page and a ``Link`` to
    the next one; ``method`` and ``since`` narrow it; the pages together are the whole list."""
    c = api.client()
    pid = c.post("/api/v1/portfolios", json=book_doc(name="paged")).json()["id"]
    methods = ["historical", "parametric", "historical", "parametric", "historical"]
    answers = []
    for m in methods:
        r = c.post("/api/v1/risk", json={"portfolio_id": pid, "method": m, "live": False})
        assert r.status_code == 200, r.text
        answers.append(r.json())
    everything = c.get(f"/api/v1/portfolios/{pid}/reports").json()
    assert [row["method"] for row in everything] == methods[::-1]
    assert [row["measures"] for row in everything] == [a["results"] for a in answers[::-1]]
    assert "link" not in c.get(f"/api/v1/portfolios/{pid}/reports").headers

    pages, url = [], f"/api/v1/portfolios/{pid}/reports?limit=2"
    while url:
        r = c.get(url)
        assert r.status_code == 200, r.text
        pages.append(r.json())
        link = r.headers.get("link")
        url = link[1 : link.index(">")] if link else None
    assert [len(p) for p in pages] == [2, 2, 1]
    assert [row for p in pages for row in p] == everything

    r = c.get(f"/api/v1/portfolios/{pid}/reports", params={"method": "historical", "limit": 2})
    assert [row["id"] for row in r.json()] == [row["id"] for row in everything if
                                               row["method"] == "historical"][:2]  # fmt: skip
    nxt = r.headers["link"]
    assert "method=historical" in nxt and 'rel="next"' in nxt
    rest = c.get(nxt[1 : nxt.index(">")]).json()
    assert [row["method"] for row in rest] == ["historical"]

    since = everything[1]["created_at"]
    newer = c.get(f"/api/v1/portfolios/{pid}/reports", params={"since": since}).json()
    assert newer == [row for row in everything if row["created_at"] >= since]
    assert len(newer) >= 2
    r = c.get(f"/api/v1/portfolios/{pid}/reports", params={"method": "var"})
    assert_problem(r, 422, "validation", "method")
    c.delete(f"/api/v1/portfolios/{pid}")
