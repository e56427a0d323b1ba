"""Risk decomposition: marginal, component, incremental and standalone VaR (and component ES)
by position and by tag.

* ``compute_risk(..., contributions=True)`` attaches ``Contributions`` to the report
  (``report.contributions``); ``decompose(ctx, result, portfolio)`` is the step itself.
* ``TradeImpact`` is what ``riskengine.incremental_var`` (``riskengine.whatif``) returns: a
  proposed trade's effect on VaR and ES on the same scenarios.

Estimators (docs/conventions.md): parametric models analytically (Euler on the exact moments);
historical and Monte Carlo from the scenarios, component ES with the ES estimator's own weights
and component VaR by a Gaussian kernel at the VaR, both adding up exactly to the totals, with
per-position P&L revalued only on the scenarios that carry weight; standalone and incremental
VaR in one streamed pass that keeps per unit only the largest losses.
"""

from riskengine.decomposition.contributions import decompose, tag_groups
from riskengine.decomposition.result import Contributions, ContributionTable
from riskengine.decomposition.trade import TradeImpact

__all__ = [
    "ContributionTable",
    "Contributions",
    "TradeImpact",
    "decompose",
    "tag_groups",
]
