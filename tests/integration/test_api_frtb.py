"""``POST /api/v1/frtb`` on a real server: the answer equals ``compute_frtb`` on the same book
and history to 1e-12, for a stored book (with its stored mapping), an inline one and an uploaded
one (with its mapping file); the job path (Prefer and the cost rule); bad mappings refused with
the field named."""

from __future__ import annotations

import math

import pytest

from integration.api_support import BOOK, assert_problem, book_doc
from integration.test_api_jobs import wait_job
from riskengine import compute_frtb, load_portfolio

MAPPING = [
    {"factor": "JNJ", "category": "equity_small_cap"},
    {"factor": "KO", "category": "equity_other"},
    {"factor": "XOM", "risk_class": "equity", "liquidity_horizon": 40},
]
REDUCED = ["AAPL", "MSFT", "JPM", "XOM", "JNJ"]


def assert_same(got, want, where="report"):
    """Every number of ``got`` within 1e-12 (relative) of ``want``; everything else equal."""
    if isinstance(want, dict):
        assert set(got) == set(want), where
        for k in want:
            assert_same(got[k], want[k], f"{where}.{k}")
    elif isinstance(want, list):
        assert len(got) == len(want), where
        for i, (g, w) in enumerate(zip(got, want, strict=True)):
            assert_same(g, w, f"{where}[{i}]")
    elif isinstance(want, float) and not isinstance(want, bool):
        assert math.isclose(got, want, rel_tol=1e-12, abs_tol=1e-9), (where, got, want)
    else:
        assert got == want, (where, got, want)


@pytest.fixture(scope="module")
def expected(bundled_history):
    return compute_frtb(
        load_portfolio(BOOK), bundled_history, mapping=MAPPING, reduced_set=REDUCED
    ).to_dict()


@pytest.fixture(scope="module")
def frtb_book(api):
    c = api.client()
    book_id = c.post("/api/v1/portfolios", json=book_doc()).json()["id"]
    r = c.put(f"/api/v1/portfolios/{book_id}/frtb-mapping", json=MAPPING)
    assert r.status_code == 200, r.text
    return book_id


def test_stored_book_with_its_mapping_equals_compute_frtb(api, frtb_book, expected):
    c = api.client()
    summary = c.get(f"/api/v1/portfolios/{frtb_book}").json()
    assert {m["factor"]: m["liquidity_horizon"] for m in summary["frtb_mapping"]} == {
        "JNJ": 20, "KO": 60, "XOM": 40}  # fmt: skip
    r = c.post("/api/v1/frtb", json={"portfolio_id": frtb_book, "reduced_set": REDUCED})
    assert r.status_code == 200, r.text
    got = r.json()
    assert got["portfolio"].pop("id") == frtb_book
    assert_same(got, expected)
    # the OpenAPI schema documents the route with its report
    spec = c.get("/api/v1/openapi.json").json()
    assert "/api/v1/frtb" in spec["paths"] and "FrtbReportOut" in spec["components"]["schemas"]


def test_inline_book_and_request_mapping(api, frtb_book, expected):
    c = api.client()
    inline = {"portfolio": book_doc(frtb_mapping=MAPPING), "reduced_set": REDUCED}
    r = c.post("/api/v1/frtb", json=inline)
    assert r.status_code == 200, r.text
    got = r.json()
    assert got["portfolio"].pop("id") is None
    assert_same(got, expected)
    # a request's mapping wins over the stored one: every factor at 10 days
    flat = [{"factor": f, "category": "equity_large_cap"} for f in ("KO", "JNJ", "XOM")]
    r = c.post(
        "/api/v1/frtb", json={"portfolio_id": frtb_book, "reduced_set": REDUCED, "mapping": flat}
    )
    assert {f["liquidity_horizon"] for f in r.json()["factors"]} == {10}


def test_prefer_async_and_the_cost_rule_run_a_job(api, frtb_book, expected):
    c = api.client()
    body = {"portfolio_id": frtb_book, "reduced_set": REDUCED}
    r = c.post("/api/v1/frtb", json=body, headers={"Prefer": "respond-async"})
    assert r.status_code == 202 and r.json()["kind"] == "frtb"
    done, progress = wait_job(c, r.json()["id"])
    assert done["state"] == "succeeded" and progress[-1] == 1.0
    got = c.get(done["links"]["result"]).json()
    got["portfolio"].pop("id")
    assert_same(got, expected)
    # the cost rule: closes x positions x 5 over the server's threshold (2,000,000 here)
    doc = book_doc(name="wide")
    positions = [p | {"id": f"{p['id']}-{i}"} for i in range(12) for p in doc["positions"]]
    closes = len(api.state.market.history().dates)
    assert closes * len(positions) * 5 > api.state.settings.async_cost
    assert closes * len(doc["positions"]) * 5 <= api.state.settings.async_cost
    r = c.post("/api/v1/frtb", json={"portfolio": doc | {"positions": positions}})
    assert r.status_code == 202, r.text
    done, _ = wait_job(c, r.json()["id"])
    assert done["state"] == "succeeded", done


@pytest.mark.parametrize(
    "mapping,field,words",
    [
        ([{"factor": "KO", "liquidity_horizon": 30, "risk_class": "equity"}],
         "liquidity_horizon", ()),
        ([{"factor": "KO", "category": "equity_giant"}], "category", ()),
        ([{"factor": "KO", "category": "equity_other", "risk_class": "equity"}], None,
         ("frtb_mapping", "one or the other")),
        ([{"factor": "KO", "category": "equity_other"}, {"factor": "KO",
          "category": "equity_other"}], None, ("mapped twice",)),
    ],
)  # fmt: skip
def test_bad_mappings_are_refused_with_the_field_named(api, frtb_book, mapping, field, words):
    c = api.client()
    r = c.put(f"/api/v1/portfolios/{frtb_book}/frtb-mapping", json=mapping)
    if field is not None:
        body = assert_problem(r, 422, "validation")
        assert any(field in e["field"] for e in body["errors"]), body
    else:
        assert_problem(r, 422, "invalid-input", *words)
    # the stored mapping is unchanged
    stored = c.get(f"/api/v1/portfolios/{frtb_book}").json()["frtb_mapping"]
    assert len(stored) == 3
    r = c.post("/api/v1/frtb", json={"portfolio": book_doc(frtb_mapping=mapping)})
    assert r.status_code == 422


def test_bad_frtb_requests_name_the_field(api, frtb_book):
    c = api.client()
    r = c.post("/api/v1/frtb", json={"portfolio_id": frtb_book, "reduced_set": ["ZZZ"]})
    assert_problem(r, 422, "invalid-input", "reduced_set names ZZZ")
    r = c.post("/api/v1/frtb", json={"portfolio_id": frtb_book, "stressed_window": "2008"})
    body = assert_problem(r, 422, "validation")
    assert any("stressed_window" in e["field"] for e in body["errors"])
    short = {"portfolio_id": frtb_book, "stressed_window": "2008-06-02:2008-07-01"}
    r = c.post("/api/v1/frtb", json=short)
    assert_problem(r, 422, "invalid-input", "must hold 250")


def test_upload_with_a_mapping_file(api, expected, tmp_path):
    c = api.client()
    files = {
        "file": ("book.json", BOOK.read_bytes(), "application/json"),
        "frtb_mapping": ("map.csv", b"factor,category,risk_class,liquidity_horizon\n"
                         b"JNJ,equity_small_cap,,\nKO,equity_other,,\nXOM,,equity,40\n",
                         "text/csv"),
    }  # fmt: skip
    r = c.post("/api/v1/portfolios/upload", files=files)
    assert r.status_code == 201, r.text
    assert len(r.json()["frtb_mapping"]) == 3
    got = c.post("/api/v1/frtb", json={"portfolio_id": r.json()["id"], "reduced_set": REDUCED})
    assert got.status_code == 200, got.text
    assert got.json()["capital"]["charge"] == pytest.approx(
        expected["capital"]["charge"], rel=1e-12
    )
    files["frtb_mapping"] = ("map.csv", b"factor,category\nKO,equity_giant\n", "text/csv")
    r = c.post("/api/v1/portfolios/upload", files=files)
    assert_problem(r, 422, "invalid-input", "map.csv", "equity_giant")
