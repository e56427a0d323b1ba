"""Executors that run independent pieces of work (Monte Carlo blocks, scenario chunks): on this
machine (``LocalExecutor``) or on a Dask cluster (``DaskExecutor``, needs the ``dask`` extra)."""

from riskengine.scale.local import LocalExecutor, single_threaded_blas
from riskengine.scale.select import make_executor, scheduler_address

__all__ = [
    "DaskExecutor",
    "LocalExecutor",
    "make_executor",
    "scheduler_address",
    "single_threaded_blas",
]


def __getattr__(name: str):
    if name == "DaskExecutor":  # imported on demand: dask is an optional extra
        from riskengine.scale.dask import DaskExecutor

        return DaskExecutor
    raise AttributeError(name)
