"""Where the time of one ``compute_risk`` call goes, measured on the real code path.

``instrumented()`` wraps a list of riskengine functions and methods with timers for the
duration of a ``with`` block (and restores them after). Each wrapper records its *own* time:
the time of the functions it calls that are themselves wrapped is subtracted, so the stages add
up to the end-to-end time. Normals are timed by handing ``MonteCarloModel.sample`` a
``Generator`` proxy whose ``standard_normal`` (and ``chisquare``) calls are timed; the rest of
``sample`` is the matrix product with the root. The linear part (``block @ exposure``) is an
inline ``np.matmul`` in ``run_montecarlo``, so it stays in that function's own time.

A target that no longer exists (riskengine is refactored) is skipped and reported, so the
breakdown degrades rather than fails; its time then shows up in its caller's own time.
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import time
from collections import defaultdict

import numpy as np

# (module, attribute path, stage label): functions resolved at call time through the module.
TARGETS = (
    ("riskengine.pipeline", "compile_book", "compile_book (5,000 positions -> arrays)"),
    ("riskengine.methods.base", "MethodContext.covariance", "covariance lookup (cached)"),
    ("riskengine.scenarios.montecarlo", "MonteCarloModel.sample", "matmul with the root (z @ A')"),
    ("riskengine.scenarios.montecarlo", "MonteCarloScenarios.materialise", "materialise blocks"),
    ("riskengine.methods.monte_carlo", "build_option_grid", "grid build (options on nodes)"),
    ("riskengine.pricing.grid", "OptionGrid.pnl", "grid interpolation (OptionGrid.pnl)"),
    ("riskengine.pricing.grid", "OptionGrid._fix_outside", "exact revaluation beyond the grid"),
    ("riskengine.pricing.book", "CompiledBook.option_pnl_full", "full revaluation of options"),
    ("riskengine.methods.monte_carlo", "run_montecarlo", "run_montecarlo own (linear part, loop)"),
    ("riskengine.methods.monte_carlo", "empirical_measures", "measures (VaR, ES, std errors)"),
    ("riskengine.market.history", "FactorHistory.snapshot_id", "snapshot hash (provenance)"),
    ("riskengine.pipeline", "compute_risk", "compute_risk own (spec, universe, histogram, report)"),
)
NORMALS = "normals (Generator.standard_normal)"
ORDER = (NORMALS,) + tuple(t[2] for t in TARGETS)  # display order: normals, then the flow
ORDER = (NORMALS,) + tuple(t[2] for t in TARGETS)  # display order: normals, then the flow


class StageClock:
    """Own time per stage label, over every wrapped call."""

    def __init__(self):
        self.totals: dict[str, float] = defaultdict(float)
        self._children: list[float] = []

    def wrap(self, label: str, fn):
        clock = self

        @functools.wraps(fn)
        def timed(*args, **kwargs):
            clock._children.append(0.0)
            t0 = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                elapsed = time.perf_counter() - t0
                children = clock._children.pop()
                clock.totals[label] += elapsed - children
                if clock._children:
                    clock._children[-1] += elapsed

        return timed


class _TimedGenerator:
    """Delegates to a numpy Generator, timing its normal (and chi-square) draws."""

    def __init__(self, rng: np.random.Generator, clock: StageClock):
        self._rng = rng
        self.standard_normal = clock.wrap(NORMALS, rng.standard_normal)
        self.chisquare = clock.wrap(NORMALS, rng.chisquare)

    def __getattr__(self, name):
        return getattr(self._rng, name)


def _sample_wrapper(clock: StageClock, fn):
    @functools.wraps(fn)
    def sample(*args, **kwargs):
        args = tuple(
            _TimedGenerator(a, clock) if isinstance(a, np.random.Generator) else a for a in args
        )
        kwargs = {
            k: _TimedGenerator(v, clock) if isinstance(v, np.random.Generator) else v
            for k, v in kwargs.items()
        }
        return fn(*args, **kwargs)

    return sample


@contextlib.contextmanager
def instrumented(clock: StageClock):
    """Wrap the TARGETS with ``clock`` inside the block; yields the labels that were missing."""
    import riskengine.methods as methods

    patched, missing = [], []
    for module_name, path, label in TARGETS:
        try:
            owner = importlib.import_module(module_name)
            *parents, attr = path.split(".")
            for p in parents:
                owner = getattr(owner, p)
            original = owner.__dict__[attr] if isinstance(owner, type) else getattr(owner, attr)
        except (ImportError, AttributeError, KeyError):
            missing.append(f"{module_name}.{path}")
            continue
        fn = original
        if attr == "sample":
            fn = _sample_wrapper(clock, fn)
        wrapped = clock.wrap(label, fn)
        setattr(owner, attr, wrapped)
        patched.append((owner, attr, original))
        # The method registry holds run_montecarlo by reference: patch the entry too.
        if attr == "run_montecarlo":
            for k, v in list(methods.METHODS.items()):
                if v is original:
                    methods.METHODS[k] = wrapped
                    patched.append((methods.METHODS, k, original))
    try:
        yield missing
    finally:
        for owner, attr, original in reversed(patched):
            if isinstance(owner, dict):
                owner[attr] = original
            else:
                setattr(owner, attr, original)


def breakdown(call, seeds) -> tuple[dict[str, list[float]], list[float], list[str]]:
    """Run ``call(seed)`` (a compute_risk call through ``riskengine.pipeline``) once per seed
    under instrumentation.

    Returns:
        ({stage: [own seconds per call]}, [end-to-end seconds per call], missing targets).
    """
    import gc

    stages: dict[str, list[float]] = defaultdict(list)
    totals: list[float] = []
    missing: list[str] = []
    for seed in seeds:
        clock = StageClock()
        gc.collect()
        with instrumented(clock) as not_found:
            t0 = time.perf_counter()
            call(seed)
            totals.append(time.perf_counter() - t0)
        missing = not_found
        for k, v in clock.totals.items():
            stages[k].append(v)
    n = len(totals)
    return {k: v + [0.0] * (n - len(v)) for k, v in stages.items()}, totals, missing
