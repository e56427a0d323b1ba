"""FRTB internal-model capital (Basel MAR31-MAR33 with MAR99): risk factors with liquidity
horizons, the liquidity-adjusted and stressed ES, IMCC, the multiplier and the desk tests.
``riskengine.pipeline.compute_frtb`` runs it; docs/frtb.md has the formulas."""

from riskengine.frtb.cascade import liquidity_adjusted_es
from riskengine.frtb.desk import ks_statistic, multiplier, multiplier_addon, pla_zone, spearman
from riskengine.frtb.mapping import CATEGORIES, LIQUIDITY_HORIZONS, FactorMapping, load_mapping
from riskengine.frtb.report import FrtbReport

__all__ = [
    "CATEGORIES",
    "LIQUIDITY_HORIZONS",
    "FactorMapping",
    "FrtbReport",
    "ks_statistic",
    "liquidity_adjusted_es",
    "load_mapping",
    "multiplier",
    "multiplier_addon",
    "pla_zone",
    "spearman",
]
