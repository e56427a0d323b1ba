"""The page says what the engine said, and every number can be read (the findings of a new
user's first run): notes and missing standard errors shown as such, a stress shock on an
unknown symbol refused with the server's message, both methods' backtest exceptions visible
and counted per method, the demo's breach and simulated prices, the API docs offline, and no
card, table cell or label cut at 1280 px with three confidences and 7-digit amounts."""

from __future__ import annotations

import pytest

from e2e.conftest import start_server


def test_the_api_docs_render_with_every_non_local_request_blocked(server, page_at):
    p = page_at(server)
    tab = p.tab
    blocked: list[str] = []

    def only_local(route):
        url = route.request.url
        if url.startswith(server.url):
            route.continue_()
        else:
            blocked.append(url)
            route.abort()

    tab.route("**/*", only_local)
    tab.goto(server.url + "/api/v1/docs")
    tab.locator(".swagger-ui .opblock").first.wait_for()
    assert tab.locator(".swagger-ui .opblock").count() > 20
    assert "/api/v1/frtb" in tab.locator(".swagger-ui").inner_text()
    assert blocked == []


# What the page checks on every box: nothing cut (scrollWidth <= clientWidth), an amount on one
# line, no text below 12 px.
CUT = """(selector) => Array.from(document.querySelectorAll(selector)).flatMap((e) => {
  const style = getComputedStyle(e);
  const out = [];
  if (e.scrollWidth > e.clientWidth + 1) out.push(`cut: ${e.textContent}`);
  if (parseFloat(style.fontSize) < 12 && e.textContent.trim()) out.push(`small: ${e.textContent}`);
  if (e.matches('.big') && e.getClientRects().length && e.getBoundingClientRect().height >
      1.6 * parseFloat(style.lineHeight || style.fontSize)) out.push(`wrapped: ${e.textContent}`);
  return out;
})"""


def cut(tab, selector: str) -> list[str]:
    return tab.evaluate(CUT, selector)


def test_nothing_is_cut_at_1280_px_with_three_confidences_and_7_digit_amounts(
    tmp_path, bundled_history, page_at
):
    from e2e.conftest import book_doc

    doc = book_doc()
    big = book_doc(positions=[p | {"quantity": 60 * p["quantity"]} for p in doc["positions"]])
    server = start_server(tmp_path, bundled_history, books=[big])
    try:
        p = page_at(server, width=1280)
        tab = p.open()
        tab.wait_for_selector("[data-testid=risk-cards][data-method=historical]")
        tab.get_by_test_id("confidence-0_975").check()
        tab.get_by_test_id("card-0.975").wait_for()
        var99 = float(tab.get_by_test_id("var-0.99").get_attribute("data-value"))
        assert var99 >= 1_000_000  # 7-digit amounts
        tab.get_by_test_id("chart-waterfall").wait_for()
        selectors = (".card", ".card .big", ".card dd", ".card h2", ".table th", ".table td",
                     ".table-wrap")  # fmt: skip
        for selector in selectors:
            assert cut(tab, selector) == [], selector
        # option labels on the waterfall are whole
        labels = (
            tab.get_by_test_id("chart-waterfall")
            .locator(".recharts-cartesian-axis-tick-value")
            .all_text_contents()
        )
        assert labels and not any(t.endswith("…") for t in labels), labels
        assert "MSFT 2023-06-16 C 250" in labels
        # every chart has axis titles
        for chart in ("chart-distribution", "chart-waterfall"):
            titles = tab.get_by_test_id(chart).locator(".recharts-label").all_text_contents()
            assert titles, chart
        p.shot("cards-1280-three-confidences")
        tab.get_by_test_id("tab-methods").click()
        tab.wait_for_selector("[data-testid=chart-methods][data-bars='3']")
        assert cut(tab, ".table th, .table td, .table-wrap") == []
        p.shot("methods-1280-7-digits")
    finally:
        server.close()


def test_notes_are_visible_and_a_missing_standard_error_says_why(server, page_at):
    p = page_at(server)
    tab = p.open()
    tab.wait_for_selector("[data-testid=risk-cards][data-method=historical]")
    tab.get_by_test_id("control-horizon").fill("10")
    tab.get_by_test_id("control-horizon").press("Enter")
    tab.get_by_test_id("card-0.99").get_by_text("10-day").wait_for()
    card = tab.get_by_test_id("card-0.99").inner_text()
    assert "exact for the model" not in card and "no standard error" in card
    api = server.risk(method="historical", confidence=[0.95, 0.99], horizon_days=10,
                      contributions="full")  # fmt: skip
    notes = tab.get_by_test_id("report-notes")
    assert notes.is_visible()
    shown = notes.inner_text()
    for n in api["notes"]:
        assert n in shown
    assert any("overlapping" in n for n in api["notes"])
    tab.get_by_test_id("control-method").select_option("parametric")
    tab.wait_for_selector("[data-testid=risk-cards][data-method=parametric]")
    assert "exact for the model" in tab.get_by_test_id("card-0.99").inner_text()


def test_a_shock_on_an_unknown_symbol_is_refused_with_the_message(server, page_at):
    p = page_at(server)
    p.allowed.append("422")  # the refusal is an answer the page shows, not an error
    tab = p.open()
    tab.get_by_test_id("tab-stress").click()
    tab.get_by_test_id("chart-stress").wait_for()
    tab.get_by_test_id("custom-name").fill("typo")
    tab.get_by_test_id("custom-shocks").fill("APPL=-20%")
    tab.get_by_test_id("custom-add").click()
    error = tab.get_by_test_id("custom-error")
    error.wait_for()
    assert "APPL=-20%" in error.inner_text() and "reach no position" in error.inner_text()
    assert "typo" not in tab.get_by_test_id("stress-table").inner_text()
    # a library name is refused by the page itself
    tab.get_by_test_id("custom-name").fill("covid-2020")
    tab.get_by_test_id("custom-shocks").fill("AAPL=-20%")
    tab.get_by_test_id("custom-add").click()
    tab.get_by_test_id("custom-error").get_by_text(
        "the library has a scenario of that name"
    ).wait_for()
    # kept on request: shown with its warning
    tab.get_by_test_id("custom-name").fill("typo-kept")
    tab.get_by_test_id("custom-shocks").fill("APPL=-20%, MSFT=-5%")
    tab.get_by_test_id("custom-keep").check()
    tab.get_by_test_id("custom-add").click()
    tab.get_by_role("heading", name="Positions under typo-kept").wait_for()
    warning = tab.get_by_test_id("stress-warnings")
    assert warning.is_visible() and "APPL=-20%" in warning.inner_text()
    p.shot("stress-warning")


def test_both_methods_exceptions_are_visible_and_counted_per_method(server, page_at):
    p = page_at(server)
    tab = p.open()
    tab.get_by_test_id("tab-backtest").click()
    tab.get_by_test_id("backtest-table").wait_for()
    counts = {
        m: int(tab.get_by_test_id(f"backtest-{m}").get_attribute("data-exceptions"))
        for m in ("historical", "parametric")
    }
    assert all(n > 0 for n in counts.values())
    chart = tab.get_by_test_id("chart-backtest")
    shapes = {}
    for m, n in counts.items():
        symbols = chart.locator(f".exceptions-{m} .recharts-symbols")
        assert symbols.count() == n, m
        shapes[m] = symbols.first.get_attribute("d")
    assert shapes["historical"] != shapes["parametric"]  # one over the other, both visible
    summary = tab.get_by_test_id("exceptions-summary").inner_text()
    assert f"Historical {counts['historical']}" in summary
    assert f"Parametric {counts['parametric']}" in summary
    assert str(sum(counts.values())) + " exceptions" not in summary
    legend = chart.locator(".recharts-legend-wrapper").inner_text()
    assert "hypothetical P&L" in legend and "realised" not in legend


def test_the_demo_shows_a_breach_and_says_its_prices_are_simulated(tmp_path, page_at):
    import os
    import subprocess
    import sys
    import time

    from riskengine.api.server import free_port

    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "riskengine", "demo", "--port", str(port), "--rate", "20"],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        env=os.environ | {"PYTHONUNBUFFERED": "1"},
    )  # fmt: skip
    try:
        lines: list[str] = []
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and not any("open http://" in x for x in lines):
            line = proc.stdout.readline()
            assert line or proc.poll() is None, "".join(lines)
            lines.append(line)

        class Demo:
            url = f"http://127.0.0.1:{port}"

        p = page_at(Demo)
        tab = p.open()
        tab.get_by_test_id("breaches").wait_for()
        assert "limit" in tab.get_by_test_id("breaches").inner_text()
        badge = tab.get_by_test_id("simulated-prices")
        badge.wait_for()
        assert badge.is_visible() and "Simulated" in badge.inner_text()
        tab.get_by_test_id("chart-limits").wait_for()
        p.shot("demo-1280")
        p.close()
    finally:
        proc.terminate()
        proc.wait(timeout=30)


VIEWS = ("risk", "history", "book", "stress", "backtest", "methods", "frtb")
READY = {
    "risk": "chart-waterfall",
    "history": "chart-history",
    "book": "positions-table",
    "stress": "chart-stress",
    "backtest": "chart-backtest",
    "methods": "chart-methods",
    "frtb": "chart-frtb-cascade",
}


@pytest.mark.parametrize("width", [1280, 1920])
def test_every_view_at_both_widths_fits_and_is_photographed(server, page_at, width):
    """docs/img/view-<name>-<width>.png are these pictures."""
    from e2e.conftest import ARTIFACTS

    p = page_at(server, width=width, height=1000)
    tab = p.open()
    tab.wait_for_selector("[data-testid=risk-cards][data-method=historical]")
    for view in VIEWS:
        tab.get_by_test_id(f"tab-{view}").click()
        tab.get_by_test_id(READY[view]).wait_for()
        if view == "methods":
            tab.wait_for_selector("[data-testid=chart-methods][data-bars='3']")
        overflow = tab.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"{view} scrolls sideways at {width} px"
        assert cut(tab, ".card .big, .table th, .table td, .table-wrap") == [], view
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        tab.screenshot(path=str(ARTIFACTS / f"view-{view}-{width}.png"), full_page=True)
