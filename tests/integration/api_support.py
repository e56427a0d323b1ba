"""The API server of the integration tests: a real uvicorn server (ServerThread) on a free port,
two tenants' API keys, an httpx client per tenant; and helpers shared by the API tests."""

from __future__ import annotations

import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BOOK = ROOT / "examples" / "book.json"
PROBLEM = "application/problem+json"


class ApiServer:
    def __init__(self, thread, keys: dict[str, str]):
        import httpx

        self.thread = thread
        self.url = thread.url
        self.keys = keys
        self.clients = {
            t: httpx.Client(base_url=self.url, headers={"X-API-Key": k}, timeout=120)
            for t, k in keys.items()
        }
        self.anonymous = httpx.Client(base_url=self.url, timeout=60)

    def client(self, tenant: str = "alpha"):
        return self.clients[tenant]

    @property
    def state(self):
        return self.thread.state

    def close(self):
        for c in (*self.clients.values(), self.anonymous):
            c.close()
        self.thread.stop()


def api_settings(**changes):
    from riskengine.service.settings import Settings

    base = dict(port=0, auth=True, async_cost=2_000_000, key_cache_seconds=0.0,
                live_debounce=0.2, compute_threads=2, log_format="text")  # fmt: skip
    return Settings(**(base | changes))


def start_api(store, settings=None, **app_options) -> ApiServer:
    """Keys for tenants alpha and beta, then the server over ``store``."""
    from riskengine.api.server import ServerThread
    from riskengine.service.keys import create_key

    settings = settings or api_settings()
    keys = {t: create_key(store, t).key for t in ("alpha", "beta")}
    return ApiServer(ServerThread(settings, store=store, **app_options).start(), keys)


def book_doc(**changes) -> dict:
    """examples/book.json as a portfolio document, with ``changes``."""
    return json.loads(BOOK.read_text()) | changes


def assert_problem(r, status: int, kind: str, *words: str) -> dict:
    """``r`` is an RFC 9457 problem of ``status`` and type ``kind`` whose detail says
    ``words``."""
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith(PROBLEM)
    body = r.json()
    assert body["status"] == status
    assert body["type"] == f"urn:riskengine:problem:{kind}"
    for w in words:
        assert w in body["detail"], body["detail"]
    return body
