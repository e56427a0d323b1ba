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
