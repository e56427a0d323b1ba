"""Executors that run independent pieces of work (Monte Carlo blocks, scenario chunks)."""

from riskengine.scale.local import LocalExecutor, single_threaded_blas

__all__ = ["LocalExecutor", "single_threaded_blas"]
