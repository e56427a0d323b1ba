"""Risk methods behind one signature: ``run(context) -> MethodResult``.

The registry maps the method names of the CLI and API to their functions.
"""

from riskengine.methods.base import MethodContext, MethodResult
from riskengine.methods.historical import run_historical
from riskengine.methods.monte_carlo import run_montecarlo
from riskengine.methods.parametric import run_parametric

METHODS = {
    "historical": run_historical,
    "parametric": run_parametric,
    "montecarlo": run_montecarlo,
}

__all__ = ["METHODS", "MethodContext", "MethodResult"]
