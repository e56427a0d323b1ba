"""Fuzzing the OpenAPI schema with schemathesis against one real server over PostgreSQL (the
stricter store: it refuses text SQLite keeps): every operation gets valid and invalid requests
(``RISKENGINE_FUZZ_EXAMPLES`` each, default 100; fewer where its inputs run out), and

- no request gets a 5xx;
- every JSON answer parses as strict JSON (orjson: no NaN, no Infinity, numbers that fit a
  double), so no non-finite number reaches a client;
- no job a request queued failed with an internal error.

The counts (operations, examples per operation, statuses seen) are printed at the end."""

from __future__ import annotations

import contextlib
import os
import time
from collections import Counter, defaultdict

import orjson
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error

from integration.api_support import api_settings, book_doc, start_api

EXAMPLES = int(os.environ.get("RISKENGINE_FUZZ_EXAMPLES", "100"))
SEEN: dict[str, Counter] = defaultdict(Counter)  # operation -> status -> count


@pytest.fixture(scope="module")
def fuzz_api(request, pg_server, bundled_history):
    from riskengine.store import open_store

    if not pg_server.running:
        pg_server.start()
    url = pg_server.new_database()
    store = open_store(url)
    store.import_daily(bundled_history)
    server = start_api(store, api_settings(async_cost=5_000_000))
    for _ in range(3):  # stored books with small ids for the generated paths to find
        server.client().post("/api/v1/portfolios", json=book_doc())
    started = time.perf_counter()
    yield server
    elapsed = time.perf_counter() - started
    jobs = store.jobs("alpha", limit=10_000)
    server.close()
    store.close()
    pg_server.drop_database(url)
    _report(request.config, elapsed)
    internal = [j for j in jobs if (j["error"] or "").startswith("internal error")]
    assert not internal, f"jobs failed with an internal error: {internal[:3]}"


def _report(config, elapsed: float) -> None:
    statuses = Counter()
    for seen in SEEN.values():
        statuses.update(seen)
    counts = sorted(sum(s.values()) for s in SEEN.values())
    lines = [
        f"API fuzz: {len(SEEN)} operations, {sum(counts)} requests in {elapsed:.0f} s; examples "
        f"per operation {counts[0] if counts else 0} to {counts[-1] if counts else 0} "
        f"(asked {EXAMPLES}); statuses {dict(sorted(statuses.items()))}",
        *(
            f"  {op}: {sum(s.values())} examples, statuses {dict(sorted(s.items()))}"
            for op, s in sorted(SEEN.items())
        ),
    ]
    capture = config.pluginmanager.get_plugin("capturemanager")
    with capture.global_and_fixture_disabled() if capture else contextlib.nullcontext():
        print("\n" + "\n".join(lines), flush=True)


def _schema():
    """The app's OpenAPI schema (building the app connects to nothing)."""
    from riskengine.api import create_app

    return schemathesis.openapi.from_dict(create_app(api_settings()).openapi())


SCHEMA = _schema()
OPERATIONS = [result.ok() for result in SCHEMA.get_all_operations()]


def _cases(operation):
    """Valid and invalid requests of ``operation`` (invalid ones where the schema has a
    constraint to break), and the schema's examples (which compute real reports)."""
    modes = [operation.as_strategy(GenerationMode.POSITIVE)]
    with contextlib.suppress(Exception):  # nothing to negate: valid requests only
        modes.append(operation.as_strategy(GenerationMode.NEGATIVE))
    modes += operation.get_strategies_from_examples()
    return st.one_of(modes)


def _check_json(response) -> None:
    """A JSON answer is strict JSON: orjson refuses NaN, Infinity and out-of-range numbers."""
    kind = response.headers.get("content-type", [""])
    kind = kind[0] if isinstance(kind, list) else kind
    if "json" in kind and response.content:
        try:
            orjson.loads(response.content)
        except orjson.JSONDecodeError as exc:
            raise AssertionError(
                f"{response.status_code} answer is not strict JSON ({exc}): "
                f"{response.content[:300]!r}"
            ) from None


# schemathesis' negative mode draws from `random` inside its strategies (harmless here)
@pytest.mark.filterwarnings("ignore::hypothesis.errors.HypothesisDeprecationWarning")
@pytest.mark.parametrize("operation", OPERATIONS, ids=[op.label for op in OPERATIONS])
def test_no_request_gets_a_server_error(operation, fuzz_api):
    headers = {"X-API-Key": fuzz_api.keys["alpha"]}
    session = requests.Session()
    seen = SEEN[operation.label]

    @given(case=_cases(operation))
    @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck),
              derandomize=True, database=None)  # fmt: skip
    def call(case):
        response = case.call(base_url=fuzz_api.url, headers=headers, session=session, timeout=120)
        seen[response.status_code] += 1
        case.validate_response(response, checks=[not_a_server_error], headers=headers)
        _check_json(response)

    try:
        call()
    finally:
        session.close()
