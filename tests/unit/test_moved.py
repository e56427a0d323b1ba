"""Names that moved this release still answer, once each with a DeprecationWarning saying
where they went, and hand back the very same objects."""

from __future__ import annotations

import importlib

import pytest

MOVED = [
    ("riskengine.ingest.tick", "Tick", "riskengine.market.tick", "Tick"),
    ("riskengine.instruments.book", "load_portfolio", "riskengine.instruments.bookfile",
     "load_portfolio"),
    ("riskengine.pricing.book", "CompiledBook", "riskengine.pricing.compiled", "CompiledBook"),
    ("riskengine.pricing.book", "compile_book", "riskengine.pricing.compiled", "compile_book"),
    ("riskengine.service.books", "BookStore", "riskengine.service.stored_books", "BookStore"),
    ("riskengine.ingest.feed", "FeedServer", "riskengine.ingest.exchange", "FeedServer"),
    ("riskengine.scenarios.montecarlo", "MonteCarloScenarios", "riskengine.scenarios.monte_carlo",
     "MonteCarloScenarios"),
    ("riskengine", "incremental_var", "riskengine.whatif", "trade_impact"),
    ("riskengine.whatif", "incremental_var", "riskengine.whatif", "trade_impact"),
    ("riskengine.store.base", "check_aware", "riskengine.store.base", "check_ticks"),
]  # fmt: skip


@pytest.mark.parametrize(("old", "name", "new", "new_name"), MOVED)
def test_a_moved_name_answers_with_a_warning(old, name, new, new_name):
    target = getattr(importlib.import_module(new), new_name)
    module = importlib.import_module(old)
    with pytest.warns(DeprecationWarning, match=f"{new}.{new_name}"):
        assert getattr(module, name) is target


@pytest.mark.parametrize("old", sorted({m[0] for m in MOVED}))
def test_an_unknown_name_is_still_an_attribute_error(old):
    with pytest.raises(AttributeError, match="no attribute 'nothing_here'"):
        _ = importlib.import_module(old).nothing_here
