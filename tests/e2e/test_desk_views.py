"""The desk views in real Chromium against a real server: VaR and ES over time from the
book's stored history (its points, limits and breaches checked against the API), and every
export (the history series, the risk tables, the chart data, the whole report) checked
against the API's own numbers. Screenshots go to test-artifacts/e2e/."""

from __future__ import annotations

import csv
import io
import json

from e2e.conftest import book_doc, start_server

DEFAULT = {"method": "historical", "confidence": [0.95, 0.99], "horizon_days": 1,
           "contributions": "full"}  # fmt: skip


def _download(tab, test_id: str) -> str:
    with tab.expect_download() as got:
        tab.get_by_test_id(test_id).click()
    return open(got.value.path(), encoding="utf-8").read()


def _csv(text: str) -> list[dict]:
    return list(csv.DictReader(io.StringIO(text, newline="")))


def test_var_over_time_shows_the_stored_reports_limits_and_breaches(tmp_path, bundled_history,
                                                                    page_at):  # fmt: skip
    server = start_server(tmp_path, bundled_history, books=[book_doc(limits=[])])
    try:
        # three windows, three VaRs; a VaR limit between them: some reports breach it
        answers = [server.risk(method="historical", window=w, live=False, contributions="none")
                   for w in (250, 500, 1000)]  # fmt: skip
        vars_ = sorted(a["results"][-1]["value_at_risk"] for a in answers)
        limit = {"measure": "value_at_risk", "confidence": 0.99,
                 "limit": round((vars_[0] + vars_[1]) / 2)}  # fmt: skip
        r = server.client.put(f"/api/v1/portfolios/{server.book_id}/limits", json=[limit])
        assert r.status_code == 200, r.text
        answers += [server.risk(method="historical", window=w, live=False, contributions="none")
                    for w in (250, 500, 1000)]  # fmt: skip
        api = server.client.get(f"/api/v1/portfolios/{server.book_id}/reports",
                                params={"method": "historical"}).json()  # fmt: skip

        p = page_at(server)
        tab = p.open()
        tab.wait_for_selector("[data-testid=risk-cards][data-method=historical]")
        tab.get_by_test_id("tab-history").click()
        # the page's own request (and its live pushes) add reports too: read the API again
        # once the chart has drawn, and compare with what it drew then
        chart = tab.get_by_test_id("chart-history")
        chart.wait_for()
        tab.get_by_test_id("history-range-all").click()
        points = int(chart.get_attribute("data-points"))
        text = _download(tab, "export-history-csv")
        rows = _csv(text)
        assert len(rows) == points >= len(api)
        stored = {r["id"]: r for r in server.client.get(
            f"/api/v1/portfolios/{server.book_id}/reports",
            params={"method": "historical", "limit": 1000}).json()}  # fmt: skip
        for row in rows:  # oldest first, each one the API's stored report at 99%
            report = stored[int(row["report_id"])]
            (m,) = [m for m in report["measures"] if m["confidence"] == 0.99]
            assert float(row["value_at_risk"]) == m["value_at_risk"]
            assert float(row["expected_shortfall"]) == m["expected_shortfall"]
            book_limits = [x for x in report["limits"] if x["measure"] == "value_at_risk"
                           and x["confidence"] == 0.99 and not x.get("tag")]  # fmt: skip
            if book_limits:
                assert float(row["var_limit"]) == book_limits[0]["limit"]
            else:
                assert row["var_limit"] == ""
            assert row["var_breached"] == ("true" if book_limits and book_limits[0]["breached"]
                                           else "false")  # fmt: skip
        times = [r["created_at"] for r in rows]
        assert times == sorted(times)
        breached = sum(r["var_breached"] == "true" for r in rows)
        assert breached >= 2  # windows 250 and 1000 vs 500 (or the reverse): at least two
        assert int(chart.get_attribute("data-breaches")) == breached
        as_json = json.loads(_download(tab, "export-history-json"))
        assert [x["id"] for x in as_json] == [int(r["report_id"]) for r in rows]
        p.shot("history-breaches-1280")  # docs/img/history-breaches-1280.png

        # one method's history only; the range narrows it to what the API gives since then
        tab.get_by_test_id("history-method").select_option("parametric")
        tab.get_by_test_id("state-empty").wait_for()
        tab.get_by_test_id("history-method").select_option("historical")
        tab.get_by_test_id("history-range-1h").click()
        tab.wait_for_selector("[data-testid=history-caption][data-path*='since=']")
        path = tab.get_by_test_id("history-caption").get_attribute("data-path")
        since = server.client.get(path).json()
        assert int(chart.get_attribute("data-points")) == len(since)
        p.close()
    finally:
        server.close()


def test_every_export_of_the_risk_view_is_the_apis_numbers(server, page_at):
    p = page_at(server)
    tab = p.open()
    tab.wait_for_selector("[data-testid=risk-cards][data-method=historical]")
    tab.get_by_test_id("chart-waterfall").wait_for()
    report = json.loads(_download(tab, "export-report-json"))
    api = server.risk(**DEFAULT)
    assert report["results"] == api["results"]
    assert report["contributions"]["by_position"] == api["contributions"]["by_position"]

    # the contributions table at 99% (the page's default), largest component first
    rows = _csv(_download(tab, "export-contributions-csv"))
    want = {r["id"]: r for r in api["contributions"]["by_position"] if r["confidence"] == 0.99}
    assert [r["position_or_group"] for r in rows] == sorted(
        want, key=lambda i: -abs(want[i]["component_var"])
    )
    var99 = api["results"][-1]["value_at_risk"]
    for r in rows:
        w = want[r["position_or_group"]]
        assert float(r["component_var"]) == w["component_var"]
        assert float(r["component_es"]) == w["component_es"]
        assert float(r["standalone_var"]) == w["standalone_var"]
        assert float(r["share_of_var"]) == w["component_var"] / var99

    # the waterfall's steps end at VaR; the histogram's bins are the server's
    steps = _csv(_download(tab, "export-waterfall-csv"))
    assert steps[-1]["kind"] == "total"
    assert abs(float(steps[-1]["value"]) - var99) <= 1e-6 * var99
    bins = _csv(_download(tab, "export-distribution-csv"))
    h = api["pnl_histogram"]
    assert [int(b["scenarios"]) for b in bins] == h["counts"]
    assert [float(b["pnl_low"]) for b in bins] == h["edges"][:-1]
    assert sum(b["beyond_var"] == "true" for b in bins) >= 1
    limits = _csv(_download(tab, "export-limits-csv"))
    assert [(x["limit"], x["on"]) for x in limits] == [
        ("VaR 99%", "book"), ("ES 95%", "book"), ("VaR 99%", "sector=tech")]  # fmt: skip
    assert [float(x["value"]) for x in limits] == [u["value"] for u in api["limits"]]
    p.close()
