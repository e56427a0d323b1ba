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


def _tags(position: dict) -> dict:
    out = {}
    for part in (position.get("tags") or "").split(";"):
        if "=" in part:
            k, v = (x.strip() for x in part.split("=", 1))
            out.setdefault(k, v)
    return out


def test_a_tag_group_drills_down_to_its_positions(server, page_at):
    p = page_at(server)
    tab = p.open()
    tab.wait_for_selector("[data-testid=risk-cards][data-method=historical]")
    tab.get_by_test_id("waterfall-by").select_option("tag")
    tab.get_by_test_id("waterfall-tag").select_option("sector")
    tab.get_by_test_id("drill-sector=tech").click()
    tab.get_by_test_id("drill-crumbs").wait_for()
    api = server.risk(**DEFAULT)
    (group,) = [r for r in api["contributions"]["by_tag"] if r["confidence"] == 0.99
                and (r["key"], r["value"]) == ("sector", "tech")]  # fmt: skip
    total = tab.get_by_test_id("waterfall-total")
    # the group's positions add up to the group's component VaR (Euler: additive)
    assert float(total.get_attribute("data-group")) == group["component_var"]
    assert abs(float(total.get_attribute("data-value")) - group["component_var"]) <= 1e-9 * abs(
        group["component_var"])  # fmt: skip
    book = server.client.get(f"/api/v1/portfolios/{server.book_id}").json()
    members = {q["id"] for q in book["positions"] if _tags(q).get("sector") == "tech"}
    rows = _csv(_download(tab, "export-contributions-csv"))
    assert {r["position_or_group"] for r in rows} == members and len(members) == group[
        "n_positions"
    ]
    want = {r["id"]: r for r in api["contributions"]["by_position"] if r["confidence"] == 0.99}
    for r in rows:
        assert float(r["component_var"]) == want[r["position_or_group"]]["component_var"]
        assert float(r["component_es"]) == want[r["position_or_group"]]["component_es"]
    p.shot("drill-down-1280")
    tab.get_by_test_id("drill-back").click()
    tab.get_by_test_id("drill-sector=tech").wait_for()
    p.close()


def test_the_parametric_density_puts_one_minus_c_beyond_var(server, page_at):
    p = page_at(server)
    tab = p.open()
    tab.wait_for_selector("[data-testid=risk-cards][data-method=historical]")
    tab.get_by_test_id("control-method").select_option("parametric")
    tab.wait_for_selector("[data-testid=risk-cards][data-method=parametric]")
    tab.get_by_test_id("chart-density").wait_for()
    api = server.risk(**DEFAULT | {"method": "parametric"})
    exported = json.loads(_download(tab, "export-distribution-json"))
    assert exported == api["pnl_density"]
    rows = _csv(_download(tab, "export-distribution-csv"))
    pnl = [float(r["pnl"]) for r in rows]
    dens = [float(r["density"]) for r in rows]
    assert pnl == api["pnl_density"]["pnl"] and dens == api["pnl_density"]["density"]
    var99 = api["results"][-1]["value_at_risk"]
    assert [r["beyond_var"] == "true" for r in rows] == [x <= -var99 for x in pnl]
    # the drawn tail holds 1 - c of the density's area (trapezoids; the grid's resolution)
    area = lambda xs, ys: sum((ys[i] + ys[i - 1]) / 2 * (xs[i] - xs[i - 1])  # noqa: E731
                              for i in range(1, len(xs)))  # fmt: skip
    tail = [i for i, x in enumerate(pnl) if x <= -var99]
    share = area(pnl[: tail[-1] + 1], dens[: tail[-1] + 1]) / area(pnl, dens)
    step = (pnl[tail[-1] + 1] - pnl[tail[-1]]) * dens[tail[-1] + 1] / area(pnl, dens)
    assert abs(share - 0.01) <= step + 1e-3
    p.shot("parametric-density-1280")
    p.close()


def test_a_recomputing_answer_is_marked_stale_and_methods_show_the_cards_numbers(server, page_at):
    p = page_at(server)
    tab = p.open()
    tab.wait_for_selector("[data-testid=risk-cards][data-method=historical]")
    # the new request held in the browser until the previous answer is seen marked stale
    held = []

    def hold(route):
        if held:  # only the first request is held
            route.continue_()
        else:
            held.append(route)

    tab.route("**/api/v1/risk", hold)
    tab.get_by_test_id("control-method").select_option("montecarlo")
    tab.wait_for_selector("[data-testid=report-area][data-stale=true]")
    tab.get_by_test_id("recomputing").wait_for()
    assert tab.get_by_test_id("risk-cards").get_attribute("data-method") == "historical"
    assert len(held) == 1
    held[0].continue_()
    tab.wait_for_selector("[data-testid=risk-cards][data-method=montecarlo]")
    tab.wait_for_selector("[data-testid=report-area][data-stale=false]")
    assert tab.get_by_test_id("recomputing").count() == 0
    tab.get_by_test_id("tab-methods").click()
    row = tab.get_by_test_id("method-montecarlo")
    row.wait_for()
    card = float(tab.get_by_test_id("var-0.99").get_attribute("data-value"))
    tab.wait_for_function(
        "v => Number(document.querySelector('[data-testid=method-montecarlo]')?.dataset.var) === v",
        arg=card,
    )
    p.close()


def test_every_other_views_export_is_the_apis_numbers(server, page_at):
    p = page_at(server)
    tab = p.open()
    tab.wait_for_selector("[data-testid=risk-cards][data-method=historical]")

    tab.get_by_test_id("tab-book").click()
    tab.get_by_test_id("positions-table").wait_for()
    valuation = server.client.get(f"/api/v1/portfolios/{server.book_id}/valuation").json()
    rows = _csv(_download(tab, "export-book-csv"))
    assert [r["id"] for r in rows] == [q["id"] for q in valuation["positions"]]
    assert [float(r["market_value"]) for r in rows] == [
        q["market_value"] for q in valuation["positions"]]  # fmt: skip

    tab.get_by_test_id("tab-stress").click()
    tab.get_by_test_id("chart-stress").wait_for()
    stress = json.loads(_download(tab, "export-stress-json"))
    library = [s["name"] for s in server.client.get("/api/v1/stress/scenarios").json()]
    api = server.client.post("/api/v1/stress", json={"portfolio_id": server.book_id,
                                                     "scenarios": library}).json()  # fmt: skip
    assert {s["scenario"]: s["pnl"] for s in stress["scenarios"]} == {
        s["scenario"]: s["pnl"] for s in api["scenarios"]}  # fmt: skip
    rows = _csv(_download(tab, "export-stress-csv"))
    mv = api["portfolio"]["market_value"]
    for r in rows:
        (s,) = [s for s in api["scenarios"] if s["scenario"] == r["scenario"]]
        assert float(r["pnl"]) == s["pnl"] and float(r["share_of_value"]) == s["pnl"] / abs(mv)

    tab.get_by_test_id("tab-backtest").click()
    chart = tab.get_by_test_id("chart-backtest")
    chart.wait_for()
    backtest = json.loads(_download(tab, "export-backtest-json"))
    (job,) = [j for j in server.client.get("/api/v1/jobs").json()
              if j["kind"] == "backtest" and j["state"] == "succeeded"][:1]  # fmt: skip
    assert backtest == server.client.get(f"/api/v1/jobs/{job['id']}/result").json()
    series = _csv(_download(tab, "export-backtest-series-csv"))
    assert len(series) == int(chart.get_attribute("data-days"))
    methods = [m["method"] for m in backtest["methods"]]
    counts = [sum(r[f"exception_{m}"] == "true" for r in series) for m in methods]
    assert counts == [int(x) for x in chart.get_attribute("data-exceptions").split(",")]
    tests = _csv(_download(tab, "export-backtest-csv"))
    assert [int(t["exceptions"]) for t in tests] == counts

    tab.get_by_test_id("tab-methods").click()
    tab.wait_for_selector("[data-testid=chart-methods][data-bars='3']")
    rows = {r["method"]: r for r in _csv(_download(tab, "export-methods-csv"))}
    for method, extra in (("historical", {}), ("parametric", {}),
                          ("montecarlo", {"n_scenarios": 10_000, "seed": 7})):  # fmt: skip
        want = server.risk(**(DEFAULT | {"method": method, "contributions": "none"} | extra))
        assert float(rows[method]["valueAtRisk"]) == want["results"][-1]["value_at_risk"]

    tab.get_by_test_id("tab-frtb").click()
    tab.get_by_test_id("frtb-capital").wait_for()
    frtb = json.loads(_download(tab, "export-frtb-json"))
    api = server.client.post("/api/v1/frtb", json={"portfolio_id": server.book_id}).json()
    assert frtb["capital"] == api["capital"]
    cascade = _csv(_download(tab, "export-frtb-cascade-csv"))
    es = api["expected_shortfall"]["reduced_stressed"]["all"]
    assert [float(r["reduced_stressed"]) for r in cascade] == [
        *es["by_bucket"], es["liquidity_adjusted"]]  # fmt: skip
    p.close()
