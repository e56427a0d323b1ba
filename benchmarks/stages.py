"""Where the time of one ``compute_risk`` call goes, measured on the real code path.

``instrumented()`` wraps a list of riskengine functions and methods with timers for the
duration of a ``with`` block (and restores them after). Each wrapper records its *own* time:
the time of the functions it calls that are themselves wrapped is subtracted, so the stages add
up to the end-to-end time. Normals are timed by handing ``MonteCarloModel.sample`` a
``Generator`` proxy whose ``standard_normal`` (and ``chisquare``) calls are timed; the rest of
``sample`` is the matrix product with the root.

Own time is only meaningful when the stages run one after the other: ``compute_risk`` hands its
Monte Carlo blocks to an executor, and with several worker threads the stages of different
blocks overlap in time, so per-stage times no longer add up to the wall time. ``breakdown()``
therefore runs the calls with ``LocalExecutor(1)``: the same code path, the blocks in sequence
in the calling thread, BLAS held to one thread as it is under the parallel executor. The parallel
speed-up is measured apart, end to end and without instrumentation (``run.py``). The nesting
stack is per thread, so a parallel executor gives no negative times, but its stages would add
up to the threads' busy time, not to the wall time.

A target that no longer exists (riskengine is refactored) is skipped and reported, so the
breakdown degrades rather than fails; its time then shows up in its caller's own time.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import importlib
import threading
import time
from collections import defaultdict

import numpy as np

# (module, attribute path, stage label): functions resolved at call time through the module.
TARGETS = (
    ("riskengine.pipeline", "compile_snapshot", "compile_snapshot (5,000 positions -> arrays)"),
    ("riskengine.methods.base", "MethodContext.covariance", "covariance lookup (cached)"),
    ("riskengine.scenarios.monte_carlo", "MonteCarloModel.sample", "matmul with the root (z @ A')"),
    (
        "riskengine.scenarios.monte_carlo",
        "MonteCarloScenarios.block",
        "block streams (SeedSequence spawn), block own",
    ),
    ("riskengine.methods.monte_carlo", "build_option_grid", "grid build (options on nodes)"),
    (
        "riskengine.pricing.grid",
        "OptionGrid.pnl",
        "float32 -> float64 + linear part (OptionGrid.pnl own)",
    ),
    ("riskengine.pricing.grid", "OptionGrid._interpolate", "grid interpolation (_interpolate)"),
    ("riskengine.pricing.grid", "OptionGrid._fix_outside", "beyond the grid (_fix_outside own)"),
    ("riskengine.pricing.compiled", "CompiledBook.option_pnl_full", "full revaluation of options"),
    (
        "riskengine.pricing.black_scholes",
        "OptionTerms.price",
        "Black-Scholes pricing (OptionTerms.price)",
    ),
    ("riskengine.pricing.black_scholes", "OptionTerms.greeks", "Black-Scholes greeks (grid build)"),
    ("riskengine.methods.monte_carlo", "run_montecarlo", "run_montecarlo own (merge, params)"),
    ("riskengine.methods.monte_carlo", "empirical_estimates", "measures (VaR, ES, std errors)"),
    ("riskengine.market.history", "FactorHistory.snapshot_id", "snapshot hash (provenance)"),
    ("riskengine.pipeline", "compute_risk", "compute_risk own (spec, universe, histogram, report)"),
)
NORMALS = "normals (Generator.standard_normal)"
ORDER = (NORMALS,) + tuple(t[2] for t in TARGETS)  # display order: normals, then the flow


class StageClock:
    """Own time per stage label, over every wrapped call (nesting tracked per thread)."""

    def __init__(self):
        self.totals: dict[str, float] = defaultdict(float)
        self._local = threading.local()
        self._lock = threading.Lock()

    def _stack(self) -> list[float]:
        stack = getattr(self._local, "stack", None)
        if stack is None:
            stack = self._local.stack = []
        return stack

    def wrap(self, label: str, fn):
        clock = self

        @functools.wraps(fn)
        def timed(*args, **kwargs):
            stack = clock._stack()
            stack.append(0.0)
            t0 = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                elapsed = time.perf_counter() - t0
                children = stack.pop()
                with clock._lock:
                    clock.totals[label] += elapsed - children
                if stack:
                    stack[-1] += elapsed

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
    """Wrap the TARGETS with ``clock`` inside the block; yields the targets that were missing."""
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
        if isinstance(original, (classmethod, staticmethod, property)):
            missing.append(f"{module_name}.{path} (not a plain function)")
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
    """Run ``call(seed, executor)`` (a compute_risk call through ``riskengine.pipeline``) once
    per seed under instrumentation, with ``executor=LocalExecutor(1)`` (blocks in sequence).

    Returns:
        ({stage: [own seconds per call]}, [end-to-end seconds per call], missing targets).
    """
    from riskengine.scale import LocalExecutor

    sequential = LocalExecutor(1)
    stages: dict[str, list[float]] = defaultdict(list)
    totals: list[float] = []
    missing: list[str] = []
    for seed in seeds:
        clock = StageClock()
        gc.collect()
        with instrumented(clock) as not_found:
            t0 = time.perf_counter()
            call(seed, sequential)
            totals.append(time.perf_counter() - t0)
        missing = not_found
        for k, v in clock.totals.items():
            stages[k].append(v)
    n = len(totals)
    return {k: v + [0.0] * (n - len(v)) for k, v in stages.items()}, totals, missing
