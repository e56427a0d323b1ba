"""The FRTB tab in real Chromium against a real server: each chart draws the API's numbers (the
cascade, the stressed-window search, the capital and IMCC bars, the desk tests and the PLA
scatter), and breaches and zones are marked: on today's data (the desk passes) and on a history
that ends in the 2008 crisis (the backtest fails the desk). Screenshots go to
test-artifacts/e2e/ (docs/img/frtb.png is the first)."""

from __future__ import annotations

import json

import pytest

from e2e.conftest import start_server

MAPPING = [
    {"factor": "JNJ", "category": "equity_small_cap"},
    {"factor": "KO", "category": "equity_other"},
    {"factor": "XOM", "risk_class": "equity", "liquidity_horizon": 40},
]
REDUCED = ["AAPL", "MSFT", "JPM", "XOM", "JNJ"]


def frtb(server, **request) -> dict:
    r = server.client.post("/api/v1/frtb", json={"portfolio_id": server.book_id} | request)
    assert r.status_code == 200, r.text
    return r.json()


def open_frtb(p, api: dict, reduced: list[str] | None = None):
    tab = p.open()
    tab.get_by_test_id("tab-frtb").click()
    if reduced:
        tab.get_by_label("Reduced set").fill(" ".join(reduced))
        tab.get_by_test_id("frtb-run").click()
    charge = api["capital"]["charge"]
    tab.wait_for_function(
        "c => { const e = document.querySelector('[data-testid=frtb-capital]');"
        " return e && Math.abs(Number(e.dataset.charge) - c) <= 1e-9 * Math.abs(c); }",
        arg=charge,
    )
    for chart in ("frtb-cascade", "frtb-search", "frtb-capital", "frtb-imcc", "frtb-pla"):
        tab.get_by_test_id(f"chart-{chart}").locator("svg").first.wait_for()
    return tab


def test_the_frtb_tab_draws_the_apis_numbers(server, page_at):
    r = server.client.put(f"/api/v1/portfolios/{server.book_id}/frtb-mapping", json=MAPPING)
    assert r.status_code == 200, r.text
    api = frtb(server, reduced_set=REDUCED)
    p = page_at(server)
    tab = open_frtb(p, api, REDUCED)

    # the cascade: ES_T(P, j) of the three sets per bucket, then the liquidity-adjusted ES
    rows = json.loads(tab.get_by_test_id("chart-frtb-cascade").get_attribute("data-rows"))
    es = api["expected_shortfall"]
    for j, row in enumerate(rows[:5]):
        for key in ("reduced_stressed", "full_current", "reduced_current"):
            assert row[key] == pytest.approx(es[key]["all"]["by_bucket"][j], rel=1e-12)
    assert rows[5]["reduced_stressed"] == pytest.approx(
        es["reduced_stressed"]["all"]["liquidity_adjusted"], rel=1e-12
    )
    assert tab.get_by_test_id("chart-frtb-cascade").locator(".recharts-bar-rectangle").count() > 0
    # the search: every window, the stressed one marked on the time line
    search = tab.get_by_test_id("chart-frtb-search")
    assert int(search.get_attribute("data-points")) == len(
        api["stressed_window"]["search"]["end_dates"]
    )
    assert search.get_attribute("data-window").endswith(f"..{api['stressed_window']['end']}")
    assert search.locator(".recharts-reference-area").count() == 1
    stressed = tab.get_by_test_id("frtb-stressed").inner_text()
    assert api["stressed_window"]["start"] in stressed and api["stressed_window"]["end"] in stressed
    # the capital and the IMCC mix
    capital = dict(json.loads(tab.get_by_test_id("chart-frtb-capital").get_attribute("data-rows")))
    assert capital["charge"] == pytest.approx(api["capital"]["charge"], rel=1e-12)
    assert capital["scaled"] == pytest.approx(
        api["capital"]["multiplier"] * api["capital"]["average_imcc"], rel=1e-12
    )
    imcc = dict(json.loads(tab.get_by_test_id("chart-frtb-imcc").get_attribute("data-rows")))
    assert imcc["imcc"] == pytest.approx(api["imcc"]["value"], rel=1e-12)
    assert imcc["class-equity"] == pytest.approx(api["imcc"]["by_class"]["equity"], rel=1e-12)
    assert imcc["unconstrained"] == pytest.approx(
        api["imcc"]["rho"] * api["imcc"]["unconstrained"], rel=1e-12
    )
    # the desk tests: counts, zones
    bt = api["desk_tests"]["backtest"]
    for c in ("0.99", "0.975"):
        row = tab.get_by_test_id(f"frtb-backtest-{c}")
        assert int(row.get_attribute("data-exceptions")) == bt["exceptions"][c]
        marked = row.locator(".zone").inner_text().lower()
        assert marked == ("breach" if bt["exceptions"][c] > bt["limits"][c] else "ok")
    pla = api["desk_tests"]["pla"]
    assert tab.get_by_test_id("frtb-pla-zone").inner_text().lower() == pla["zone"]
    assert "zone " + pla["zone"] in tab.get_by_test_id("frtb-pla-zone").get_attribute("class")
    ks = float(tab.get_by_test_id("frtb-pla-ks").get_attribute("data-value"))
    assert ks == pytest.approx(pla["ks"], rel=1e-12)
    assert int(tab.get_by_test_id("chart-frtb-pla").get_attribute("data-points")) == 250
    assert tab.get_by_test_id("chart-frtb-pla").locator(".recharts-scatter-symbol").count() == 250
    assert tab.get_by_test_id("frtb-factors").locator("tbody tr").count() == len(api["factors"])
    assert tab.get_by_test_id("frtb-ratio-flag").count() == int(api["ratio"]["below_floor"])
    p.shot("view-frtb")


def test_a_desk_that_fails_its_backtest_is_marked(tmp_path, bundled_history, page_at):
    """The history cut at the end of 2008: the 99% VaR of 2008 is breached far more than
    12 times, so the desk fails and m_c is at its largest."""
    from riskengine import FactorHistory

    n = int((bundled_history.dates <= bundled_history.dates.dtype.type("2008-12-31")).sum())
    cut = FactorHistory(bundled_history.dates[:n], bundled_history.symbols,
                        bundled_history.prices[:n])  # fmt: skip
    server = start_server(tmp_path, cut)
    try:
        api = frtb(server)
        bt = api["desk_tests"]["backtest"]
        assert bt["exceptions"]["0.99"] > 12 and bt["zone"] == "fail"
        assert api["capital"]["multiplier"] == 2.0
        p = page_at(server)
        tab = open_frtb(p, api)
        row = tab.get_by_test_id("frtb-backtest-0.99")
        assert row.locator(".zone.red").inner_text().lower() == "breach"
        assert "loss" in row.locator("td.num").get_attribute("class")
        assert "fails" in tab.get_by_test_id("panel-frtb-desk").inner_text()
        assert "2.00" in tab.get_by_test_id("frtb-capital").inner_text()
        p.shot("view-frtb-2008")
        p.close()
    finally:
        server.close()
