"""Every choice list of a risk run, defined once (layer 0).

The risk spec validates against these; the CLI's ``choices``, the API schema's enums and the
docs read them from here. Order matters: it is the order the CLI help and the OpenAPI schema
list them in.
"""

from __future__ import annotations

METHOD_NAMES = ("historical", "parametric", "montecarlo")
PARAMETRIC_DISTRIBUTIONS = ("normal", "student-t", "cornish-fisher")
MONTECARLO_DISTRIBUTIONS = ("normal", "student-t")
MEANS = ("zero", "sample")
REVALUATIONS = ("grid", "full")
APPROXIMATIONS = ("delta-gamma", "delta")
HISTORICAL_SCALINGS = ("overlapping", "sqrt")
COVARIANCES = ("sample", "ewma", "ledoit-wolf")
FACTOR_MODELS = ("full", "pca")
WEIGHTINGS = ("none", "age", "filtered")
SAMPLINGS = ("plain", "antithetic", "sobol")
RETURN_MODELS = ("simple", "log")
CONTRIBUTION_DETAILS = ("components", "full")
# the API's contributions field: none, or one of the details
CONTRIBUTIONS = ("none", *CONTRIBUTION_DETAILS)
BAD_PRINT_POLICIES = ("exclude", "refuse", "use")
PRESET_NAMES = ("basel", "frtb", "stressed")
