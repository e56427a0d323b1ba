"""Fuzzing the OpenAPI schema with schemathesis against the real server: no generated request,
valid or not, gets a 5xx; and no job it queued failed with an internal error. Examples per
operation are capped (RISKENGINE_FUZZ_EXAMPLES, default 25) to keep make test short."""

from __future__ import annotations

import os

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error

from integration.api_support import api_settings, book_doc, start_api

EXAMPLES = int(os.environ.get("RISKENGINE_FUZZ_EXAMPLES", "25"))


@pytest.fixture(scope="module")
def fuzz_api(tmp_path_factory, bundled_history):
    from riskengine.store import open_store

    store = open_store(f"sqlite:///{tmp_path_factory.mktemp('fuzz') / 'fuzz.sqlite3'}")
    store.import_daily(bundled_history)
    server = start_api(store, api_settings(async_cost=5_000_000))
    for _ in range(3):  # stored books with small ids for the generated paths to find
        server.client().post("/api/v1/portfolios", json=book_doc())
    yield server
    jobs = store.jobs("alpha", limit=10_000)
    server.close()
    store.close()
    internal = [j for j in jobs if (j["error"] or "").startswith("internal error")]
    assert not internal, f"jobs failed with an internal error: {internal[:3]}"


def _schema():
    """The app's OpenAPI schema (building the app connects to nothing)."""
    from riskengine.api import create_app

    return schemathesis.openapi.from_dict(create_app(api_settings()).openapi())


SCHEMA = _schema()
OPERATIONS = [result.ok() for result in SCHEMA.get_all_operations()]


@pytest.mark.parametrize("operation", OPERATIONS, ids=[op.label for op in OPERATIONS])
def test_no_request_gets_a_server_error(operation, fuzz_api):
    headers = {"X-API-Key": fuzz_api.keys["alpha"]}

    @given(case=operation.as_strategy())
    @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck),
              derandomize=True, database=None)  # fmt: skip
    def call(case):
        case.call_and_validate(base_url=fuzz_api.url, headers=headers,
                               checks=[not_a_server_error], timeout=120)  # fmt: skip

    call()
