"""Choosing the executor: this machine (LocalExecutor) or a Dask cluster."""

from __future__ import annotations

import os

from riskengine.errors import InputError
from riskengine.scale.local import LocalExecutor

SCHEDULER_ENV = "RISKENGINE_DASK_SCHEDULER"


def scheduler_address(scheduler: str | None = None) -> str | None:
    """``scheduler``, else $RISKENGINE_DASK_SCHEDULER, else None (compute locally)."""
    value = scheduler if scheduler is not None else os.environ.get(SCHEDULER_ENV, "")
    value = value.strip()
    if not value or value == "local":
        return None
    if "://" not in value:
        raise InputError(
            f"scheduler {value!r} is not an address like tcp://host:8786 (or 'local' for this "
            "machine)."
        )
    return value


def make_executor(scheduler: str | None = None):
    """A DaskExecutor for the scheduler at ``scheduler`` (or $RISKENGINE_DASK_SCHEDULER), else
    a LocalExecutor on every CPU of this machine."""
    address = scheduler_address(scheduler)
    if address is None:
        return LocalExecutor()
    from riskengine.scale.dask import dask_executor

    return dask_executor(address)
