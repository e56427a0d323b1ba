"""Risk computations in worker processes (service/workers.py): a real server whose requests
are computed in its worker processes answers what ``compute_risk`` computes in this process;
the history reaches the workers through shared memory; a worker that dies is replaced."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import time

import pytest

from integration.api_support import api_settings, book_doc, start_api
from riskengine import compute_risk, load_portfolio
from riskengine.service.market import closed_before
from riskengine.store.base import utc_now


@pytest.fixture(scope="module")
def worker_api(tmp_path_factory, bundled_history):
    from riskengine.store import open_store

    store = open_store(f"sqlite:///{tmp_path_factory.mktemp('workers') / 'w.sqlite3'}")
    store.import_daily(bundled_history)
    server = start_api(store, api_settings(compute_processes=2, async_cost=10**12))
    server.store = store
    yield server
    server.close()
    store.close()


def _history(server):
    return closed_before(server.store.factor_history(), utc_now().date())


@pytest.mark.parametrize(
    "request_",
    [
        {"method": "historical", "contributions": "components"},
        {"method": "montecarlo", "n_scenarios": 20_000, "seed": 11, "contributions": "components"},
        {"method": "parametric", "distribution": "student-t", "contributions": "none"},
    ],
)
def test_a_worker_process_answers_what_compute_risk_computes_here(worker_api, request_):
    client = worker_api.client()
    pid = client.post("/api/v1/portfolios", json=book_doc()).json()["id"]
    before = worker_api.state.processes.tasks
    r = client.post("/api/v1/risk", json={"portfolio_id": pid, "live": False, **request_})
    assert r.status_code == 200, r.text
    assert worker_api.state.processes.tasks == before + 1  # computed in a worker
    got = r.json()
    fields = {k: v for k, v in request_.items() if k != "contributions"}
    if request_["contributions"] != "none":
        fields |= {"contributions": True, "contribution_detail": request_["contributions"]}
    want = compute_risk(_book(), _history(worker_api), **fields).to_dict()
    for a, b in zip(got["results"], want["results"], strict=True):
        assert a["value_at_risk"] == b["value_at_risk"]
        assert a["expected_shortfall"] == b["expected_shortfall"]
    if request_["contributions"] != "none":
        assert got["contributions"]["by_position"] == want["contributions"]["by_position"]
    assert got["portfolio"]["id"] == pid
    # the history entry was stored by the server (not by the worker)
    rows = client.get(f"/api/v1/portfolios/{pid}/reports").json()
    assert len(rows) == 1 and rows[0]["method"] == request_["method"]
    client.delete(f"/api/v1/portfolios/{pid}")


def _book():
    from integration.api_support import BOOK

    return load_portfolio(BOOK)


def test_a_worker_that_dies_is_replaced(worker_api):
    client = worker_api.client()
    pid = client.post("/api/v1/portfolios", json=book_doc()).json()["id"]
    request = {"portfolio_id": pid, "method": "historical", "live": False}
    first = client.post("/api/v1/risk", json=request)
    assert first.status_code == 200, first.text
    processes = worker_api.state.processes
    workers = processes.pids()
    assert workers
    for worker in workers:
        os.kill(worker, signal.SIGKILL)
    deadline = time.monotonic() + 30
    while any(_alive(w) for w in workers):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    again = client.post("/api/v1/risk", json=request)
    assert again.status_code == 200, again.text
    assert again.json()["results"] == first.json()["results"]
    assert processes.restarts >= 1
    client.delete(f"/api/v1/portfolios/{pid}")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie (dead, not yet reaped by the pool) counts as dead
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_the_request_a_worker_dies_on_is_answered_503_and_the_next_one_is_served(worker_api):
    import threading

    client = worker_api.client()
    pid = client.post("/api/v1/portfolios", json=book_doc()).json()["id"]
    heavy = {"portfolio_id": pid, "method": "montecarlo", "n_scenarios": 4_000_000, "seed": 1,
             "live": False}  # fmt: skip
    answer = {}
    thread = threading.Thread(target=lambda: answer.update(r=client.post("/api/v1/risk",
                                                                          json=heavy)))  # fmt: skip
    thread.start()
    risk = worker_api.state.risk
    deadline = time.monotonic() + 30
    while risk.running < 1:  # the request is in a worker
        assert time.monotonic() < deadline
        time.sleep(0.02)
    for worker in worker_api.state.processes.pids():
        with contextlib.suppress(ProcessLookupError):  # one that has already exited
            os.kill(worker, signal.SIGKILL)
    thread.join(60)
    assert answer["r"].status_code == 503, answer["r"].text
    body = answer["r"].json()
    assert body["type"] == "urn:riskengine:problem:worker-lost"
    assert answer["r"].headers["Retry-After"] == "5"
    again = client.post("/api/v1/risk", json={**heavy, "n_scenarios": 10_000})
    assert again.status_code == 200, again.text
    client.delete(f"/api/v1/portfolios/{pid}")


def test_a_books_text_goes_to_a_worker_once_per_version(worker_api):
    """A book's stored text (megabytes for a large book) is sent to a worker with its first
    task; later tasks name it by its digest. An edited book is sent again, and a worker that
    does not hold what the server believes it holds is sent the text on a second try."""
    client = worker_api.client()
    processes = worker_api.state.processes
    doc = book_doc()
    pid = client.post("/api/v1/portfolios", json=doc).json()["id"]
    request = {"portfolio_id": pid, "method": "historical", "live": False}

    def answer() -> dict:
        r = client.post("/api/v1/risk", json=request)
        assert r.status_code == 200, r.text
        return r.json()

    sent, tasks = processes.texts_sent, processes.tasks
    first = answer()
    for _ in range(3):
        assert answer()["results"] == first["results"]
    # one worker per book while the other is not busier (sequential requests: its home)
    assert processes.tasks - tasks == 4 and processes.texts_sent - sent == 1
    original = {k: v for held in processes._sent for k, v in held.items()}  # noqa: SLF001

    edited = json.loads(json.dumps(doc))
    edited["positions"][0]["quantity"] *= 2
    r = client.put(f"/api/v1/portfolios/{pid}", json=edited)
    assert r.status_code == 200, r.text
    got = answer()
    want = compute_risk(_book_from(edited), _history(worker_api)).to_dict()
    assert got["results"][0]["value_at_risk"] == want["results"][0]["value_at_risk"]
    assert got["portfolio"]["market_value"] == want["portfolio"]["market_value"]
    assert got["portfolio"]["market_value"] != first["portfolio"]["market_value"]
    assert processes.texts_sent - sent == 2

    # the original book again, while the server believes the worker still holds it (as if
    # the edited version had never been sent): the worker refuses the task (BookNotHeld) and
    # gets the text on a second try
    r = client.put(f"/api/v1/portfolios/{pid}", json=doc)
    assert r.status_code == 200, r.text
    for held in processes._sent:  # noqa: SLF001 (the server's record of what it sent)
        for key in held:
            if key[1] == pid:
                held[key] = original[key]
    sent, tasks = processes.texts_sent, processes.tasks
    assert answer()["results"] == first["results"]
    assert processes.tasks - tasks == 2 and processes.texts_sent - sent == 1
    client.delete(f"/api/v1/portfolios/{pid}")


def _book_from(doc: dict):
    from riskengine.service.stored_books import make_book

    return make_book(doc, book_id=None, max_positions=10**6, source="test").portfolio
