"""The page in real Chromium against a real server: it loads without console errors, the VaR
on its cards is the API's for the same request, every chart renders with data, changing the
method recomputes, an uploaded file adds a book, a pushed update changes the numbers, a long
job shows its progress; by keyboard, at 1280 and 1920 pixels. Screenshots of every view go to
test-artifacts/e2e/."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from e2e.conftest import ROOT, book_doc, start_server

# What the page asks for by default (frontend/src/lib/request.ts DEFAULT_CONTROLS).
DEFAULT = {"method": "historical", "confidence": [0.95, 0.99], "horizon_days": 1,
           "contributions": "full"}  # fmt: skip
MONTE_CARLO = DEFAULT | {"method": "montecarlo", "n_scenarios": 10_000, "seed": 7}


def card_value(tab, measure: str, confidence: float) -> float:
    return float(tab.get_by_test_id(f"{measure}-{confidence}").get_attribute("data-value"))


def wait_method(tab, method: str, n_scenarios: int | None = None) -> None:
    tab.wait_for_selector(f"[data-testid=risk-cards][data-method={method}]")
    if n_scenarios:
        tab.get_by_test_id("report-meta").get_by_text(f"{n_scenarios:,} paths").wait_for()


def bars(tab, test_id: str, attr: str = "data-bars") -> int:
    chart = tab.get_by_test_id(test_id)
    chart.wait_for()
    chart.locator("svg .recharts-rectangle, svg .recharts-bar-rectangle").first.wait_for()
    return int(chart.get_attribute(attr))


def test_the_page_loads_without_errors_and_its_var_is_the_apis(server, page_at):
    p = page_at(server)
    tab = p.open()
    wait_method(tab, "historical")
    api = server.risk(**DEFAULT)
    for m in api["results"]:
        c = m["confidence"]
        assert card_value(tab, "var", c) == m["value_at_risk"]
        assert card_value(tab, "es", c) == m["expected_shortfall"]
        assert tab.get_by_test_id(f"var-{c}").inner_text() == f"${m['value_at_risk']:,.0f}"
    assert re.search(r"history to 2022-12-28", tab.get_by_test_id("report-as-of").inner_text())
    tab.get_by_test_id("chart-waterfall").wait_for()
    tab.wait_for_selector("[data-testid=connection][data-state=live]")
    p.shot("dashboard-1280")  # the README's screenshot (docs/img/dashboard.png)
    assert p.errors == []


def test_every_view_renders_its_chart_with_data(server, page_at):
    p = page_at(server)
    tab = p.open()
    wait_method(tab, "historical")
    api = server.risk(**DEFAULT)
    # risk: the loss distribution, both waterfalls, limits
    assert bars(tab, "chart-distribution", "data-bins") == len(api["pnl_histogram"]["counts"])
    n_waterfall = bars(tab, "chart-waterfall")
    assert n_waterfall >= 4  # top positions, other, total
    total = float(tab.get_by_test_id("waterfall-total").get_attribute("data-value"))
    assert total == pytest.approx(api["results"][-1]["value_at_risk"], rel=1e-9)
    assert bars(tab, "chart-diversification") >= 5
    benefit = api["contributions"]["summary"][-1]["diversification_benefit"]
    shown = float(tab.get_by_test_id("diversification").get_attribute("data-value"))
    assert shown == pytest.approx(benefit, rel=1e-12)
    assert bars(tab, "chart-limits") == 3
    states = (
        tab.get_by_test_id("limits-table")
        .locator("tbody tr")
        .evaluate_all("rows => rows.map(r => r.dataset.state)")
    )
    assert [s == "breached" for s in states] == [lim["breached"] for lim in api["limits"]]
    p.shot("view-risk")
    # by tag, top 3
    tab.get_by_test_id("waterfall-by").select_option("tag")
    tab.get_by_test_id("waterfall-tag").select_option("sector")
    tab.get_by_test_id("waterfall-top").select_option("3")
    # five sectors: the top 3, other, the total
    tab.wait_for_selector("[data-testid=chart-waterfall][data-bars='5']")
    p.shot("view-waterfall-by-sector")

    # book: every position valued at the latest prices
    tab.get_by_test_id("tab-book").click()
    rows = tab.get_by_test_id("positions-table").locator("tbody tr")
    rows.first.wait_for()
    assert rows.count() == 10
    value = float(tab.get_by_test_id("book-value").get_attribute("data-value"))
    assert value == pytest.approx(api["portfolio"]["market_value"], rel=1e-12)
    p.shot("view-book")

    # stress: the library's scenarios, and the positions of the one chosen
    tab.get_by_test_id("tab-stress").click()
    library = server.client.get("/api/v1/stress/scenarios").json()
    assert bars(tab, "chart-stress") == len(library)
    tab.get_by_test_id("stress-table").get_by_role("button", name="covid-2020").click()
    tab.get_by_role("heading", name="Positions under covid-2020").wait_for()
    assert bars(tab, "chart-stress-positions") == 10
    p.shot("view-stress")

    # backtest: a job (over 60 days), then VaR against P&L with the exceptions and the tests
    tab.get_by_test_id("tab-backtest").click()
    assert bars(tab, "chart-backtest", "data-days") >= 250
    table = tab.get_by_test_id("backtest-table")
    assert table.locator("tbody tr").count() == 2
    zone = tab.get_by_test_id("zone-historical").inner_text().lower()
    assert re.match(r"(green|yellow|red) \(\d+\)", zone)
    exceptions = tab.get_by_test_id("chart-backtest").get_attribute("data-exceptions").split(",")
    rows = table.locator("tbody tr").evaluate_all("rs => rs.map(r => r.dataset.exceptions)")
    shown = [int(r) for r in rows]
    assert [int(x) for x in exceptions] == shown
    p.shot("view-backtest")

    # methods side by side, each equal to the API's
    tab.get_by_test_id("tab-methods").click()
    # the three methods' answers arrive one by one: wait for the third bar
    tab.wait_for_selector("[data-testid=chart-methods][data-bars='3']")
    assert bars(tab, "chart-methods") == 3
    for method, extra in (("historical", {}), ("parametric", {}),
                          ("montecarlo", {"n_scenarios": 10_000, "seed": 7})):  # fmt: skip
        row = tab.get_by_test_id(f"method-{method}")
        want = server.risk(**(DEFAULT | {"method": method, "contributions": "none"} | extra))
        assert float(row.get_attribute("data-var")) == want["results"][-1]["value_at_risk"]
    p.shot("view-methods")


def test_changing_the_method_recomputes(server, page_at):
    p = page_at(server)
    tab = p.open()
    wait_method(tab, "historical")
    historical = card_value(tab, "var", 0.99)
    tab.get_by_test_id("control-method").select_option("montecarlo")
    wait_method(tab, "montecarlo", 10_000)
    api = server.risk(**MONTE_CARLO)
    assert card_value(tab, "var", 0.99) == api["results"][1]["value_at_risk"] != historical
    assert "s.e." in tab.get_by_test_id("card-0.99").inner_text()
    # parametric has no scenarios to bin: the distribution is its fitted density
    tab.get_by_test_id("control-method").select_option("parametric")
    wait_method(tab, "parametric")
    density = tab.get_by_test_id("panel-distribution").get_by_test_id("chart-density")
    assert int(density.get_attribute("data-points")) > 50
    assert card_value(tab, "var", 0.99) == server.risk(**DEFAULT | {"method": "parametric"})[
        "results"][1]["value_at_risk"]  # fmt: skip
    # a horizon typed and applied with Enter
    tab.get_by_test_id("control-horizon").fill("10")
    tab.get_by_test_id("control-horizon").press("Enter")
    tab.get_by_test_id("card-0.99").get_by_text("10-day").wait_for()
    want = server.risk(**DEFAULT | {"method": "parametric", "horizon_days": 10})
    assert card_value(tab, "var", 0.99) == want["results"][1]["value_at_risk"]
    p.shot("view-parametric-10d")


def test_uploading_a_file_adds_a_book(server, page_at):
    p = page_at(server)
    tab = p.open()
    wait_method(tab, "historical")
    before = len(server.client.get("/api/v1/portfolios").json())
    tab.get_by_test_id("upload-input").set_input_files(str(ROOT / "examples" / "book.csv"))
    tab.get_by_test_id("notice").get_by_text("Uploaded book.csv").wait_for()
    books = server.client.get("/api/v1/portfolios").json()
    assert len(books) == before + 1
    new = books[-1]
    select = tab.get_by_test_id("book-select")
    expect(select.locator("option")).to_have_count(before + 1)
    expect(select).to_have_value(str(new["id"]))
    tab.wait_for_function(f"() => location.hash === '#book={new['id']}'")
    api = server.client.post("/api/v1/risk", json={"portfolio_id": new["id"]} | DEFAULT).json()
    tab.wait_for_function(
        "v => Number(document.querySelector('[data-testid=\"var-0.99\"]')?.dataset.value) === v",
        arg=api["results"][1]["value_at_risk"],
    )
    p.shot("view-uploaded-book")


def test_a_pushed_update_changes_the_numbers(tmp_path, bundled_history, page_at):
    server = start_server(tmp_path, bundled_history, books=[book_doc()])
    try:
        # a VaR limit 3% above the VaR now: not breached until the market moves
        var = server.risk(**DEFAULT)["results"][1]["value_at_risk"]
        limit = {"measure": "value_at_risk", "confidence": 0.99, "limit": round(var * 1.03)}
        r = server.client.put(f"/api/v1/portfolios/{server.book_id}/limits", json=[limit])
        assert r.status_code == 200, r.text
        p = page_at(server)
        tab = p.open()
        wait_method(tab, "historical")
        tab.wait_for_selector("[data-testid=connection][data-state=live]")
        assert card_value(tab, "var", 0.99) == var
        assert tab.get_by_test_id("breaches").count() == 0
        # the server looks for new ticks every 2 s while someone watches; its first look only
        # notes the latest tick: trade at the close until a push arrives
        as_of = tab.get_by_test_id("prices-as-of")
        for _ in range(60):
            server.write_ticks({"AAPL": 0.0})
            tab.wait_for_timeout(500)
            if "UTC" in as_of.inner_text():
                break
        assert "UTC" in as_of.inner_text(), "no prices were pushed"
        value0 = float(tab.get_by_test_id("market-value").get_attribute("data-value"))
        pushes0 = int(tab.get_by_test_id("risk-cards").get_attribute("data-pushes"))
        # every price of the book 10% up: a long book is worth more, and riskier
        server.write_ticks({s: 0.10 for s in ("AAPL", "MSFT", "JPM", "XOM", "JNJ", "KO")})
        tab.wait_for_function(
            "v => Number(document.querySelector('[data-testid=market-value]')?.dataset.value)"
            " !== v",
            arg=value0,
            timeout=30_000,
        )
        assert int(tab.get_by_test_id("risk-cards").get_attribute("data-pushes")) > pushes0
        var1 = card_value(tab, "var", 0.99)
        api = server.risk(**DEFAULT)
        assert var1 == api["results"][1]["value_at_risk"] > limit["limit"]
        assert float(tab.get_by_test_id("market-value").get_attribute("data-value")) == api[
            "portfolio"]["market_value"]  # fmt: skip
        # the breach the push carried is highlighted
        banner = tab.get_by_test_id("breaches")
        banner.wait_for()
        assert banner.inner_text().startswith("1 limit breached: VaR 99% book")
        row = tab.get_by_test_id("limits-table").locator("tbody tr").first
        assert row.get_attribute("data-state") == "breached"
        p.shot("view-pushed-update")
        # the book view follows the pushed prices
        tab.get_by_test_id("tab-book").click()
        price = tab.get_by_test_id("position-eq-aapl").get_by_test_id("position-price")
        last = bundled_history.market_state(len(bundled_history.dates) - 1).prices["AAPL"]
        tab.wait_for_function(
            "v => Number(document.querySelector("
            "'[data-testid=position-eq-aapl] [data-testid=position-price]')?.dataset.value) > v",
            arg=last,
        )
        assert float(price.get_attribute("data-value")) == pytest.approx(last * 1.1, rel=1e-12)
        assert "+10.00%" in tab.get_by_test_id("position-eq-aapl").inner_text()
        p.shot("view-book-live")
        # stress shares of the same (live) book value as the cards
        card_value_now = float(tab.get_by_test_id("market-value").get_attribute("data-value"))
        tab.get_by_test_id("tab-stress").click()
        tab.wait_for_function(
            "v => Number(document.querySelector('[data-testid=stress-book-value]')?.dataset.value)"
            " === v",
            arg=card_value_now,
        )
        stress = server.client.post("/api/v1/stress", json={"portfolio_id": server.book_id})
        assert stress.json()["portfolio"]["market_value"] == card_value_now
        p.close()
    finally:
        server.close()


def test_a_long_job_shows_its_progress(server, page_at):
    p = page_at(server)
    tab = p.open()
    wait_method(tab, "historical")
    tab.get_by_test_id("control-method").select_option("montecarlo")
    wait_method(tab, "montecarlo", 10_000)
    # 1,000,000 paths x 10 positions x 10 (full contributions) is over the server's job threshold
    tab.get_by_test_id("control-paths").fill("1000000")
    tab.get_by_test_id("control-apply").click()
    progress = tab.get_by_test_id("job-progress")
    progress.wait_for()
    assert progress.locator("progress").count() == 1
    p.shot("view-job-progress", full_page=False)
    wait_method(tab, "montecarlo", 1_000_000)
    assert progress.count() == 0
    jobs = server.client.get("/api/v1/jobs").json()
    assert jobs[0]["kind"] == "risk" and jobs[0]["state"] == "succeeded"
    result = server.client.get(jobs[0]["links"]["result"]).json()
    assert card_value(tab, "var", 0.99) == result["results"][1]["value_at_risk"]


def test_keyboard_and_widths(server, page_at):
    for width in (1280, 1920):
        p = page_at(server, width=width, height=1000)
        tab = p.open()
        wait_method(tab, "historical")
        tab.get_by_test_id("chart-waterfall").wait_for()
        overflow = tab.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"the page scrolls sideways at {width} px"
        p.shot(f"width-{width}")
    # tabs by keyboard: focus the active tab, arrows move, Home and End jump
    tab.get_by_test_id("tab-risk").focus()
    tab.keyboard.press("ArrowRight")
    assert tab.get_by_test_id("tab-history").get_attribute("aria-selected") == "true"
    assert tab.evaluate("() => document.activeElement.dataset.testid") == "tab-history"
    tab.get_by_test_id("view-history").wait_for()
    tab.keyboard.press("End")  # the last tab
    assert tab.get_by_test_id("tab-frtb").get_attribute("aria-selected") == "true"
    tab.keyboard.press("Home")
    tab.get_by_test_id("view-risk").wait_for()
    # the method by keyboard
    tab.get_by_test_id("control-method").focus()
    tab.keyboard.press("ArrowDown")  # historical -> parametric
    wait_method(tab, "parametric")


def test_empty_and_error_states_say_what_to_do(tmp_path, bundled_history, page_at, server):
    empty = start_server(tmp_path, bundled_history, books=())
    try:
        p = page_at(empty)
        tab = p.open()
        state = tab.get_by_test_id("state-empty")
        assert "Upload a book file" in state.inner_text()
        p.shot("state-no-book")
        p.close()
    finally:
        empty.close()
    # a custom scenario the server refuses: its problem detail says what to write instead
    p = page_at(server)
    p.allowed.append("status of 422")
    tab = p.open()
    wait_method(tab, "historical")
    tab.get_by_test_id("tab-stress").click()
    tab.get_by_test_id("chart-stress").wait_for()
    tab.get_by_test_id("custom-shocks").fill("AAPL=-20")
    tab.get_by_test_id("custom-add").click()
    error = tab.get_by_test_id("custom-error")
    assert "write -0.2 or -20%" in error.inner_text()
    assert tab.get_by_test_id("chart-stress").count() == 1  # the library's scenarios stay
    p.shot("state-stress-error")
    # a valid one runs and is drawn with the library's
    tab.get_by_test_id("custom-name").fill("Tech crash")
    tab.get_by_test_id("custom-shocks").fill("sector=tech:-30%, vol:*=+10")
    tab.get_by_test_id("custom-add").click()
    tab.get_by_role("heading", name="Positions under tech-crash").wait_for()
    custom = {"name": "tech-crash", "type": "hypothetical",
              "shocks": ["sector=tech:-30%", "vol:*=+10"]}  # fmt: skip
    want = server.client.post("/api/v1/stress", json={"portfolio_id": server.book_id,
                                                      "custom": [custom]})  # fmt: skip
    pnl = want.json()["scenarios"][0]["pnl"]
    assert f"${abs(pnl):,.0f}" in tab.get_by_test_id("stress-table").inner_text()


def test_a_server_with_keys_asks_for_one(tmp_path, bundled_history, page_at):
    from riskengine.service.keys import create_key

    keyed = start_server(tmp_path, bundled_history, books=(), auth=True, key_cache_seconds=0.0)
    try:
        key = create_key(keyed.store, "desk").key
        keyed.client.headers["X-API-Key"] = key
        keyed.client.post("/api/v1/portfolios", json=book_doc())
        p = page_at(keyed)
        # before the key: 401 answers, and the WebSocket's handshake refused (403)
        p.allowed += ["status of 401", "403"]
        tab = p.open()
        tab.get_by_test_id("key-prompt").wait_for()
        tab.get_by_label("API key").fill(key)
        tab.get_by_role("button", name="Use key").click()
        wait_method(tab, "historical")
        tab.wait_for_selector("[data-testid=connection][data-state=live]")
        p.close()
    finally:
        keyed.close()
