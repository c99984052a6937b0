"""Fast fusion estimators for scikit-learn's common checks.

On arrays without prefixed feature names every column forms a single modality
(given explicitly, so the multimodal fusions do not warn about it); the instances
use few epochs and small networks so that the checks stay fast.
"""

from sklearn.linear_model import Ridge
from sklearn.neighbors import KNeighborsRegressor

from skpersona.fusion import (
    FusionClassifier,
    FusionRegressor,
    SemanticFusionRegressor,
    StackedRegressor,
)

_FAST = dict(modalities={"all": slice(None)}, hidden_size=16, n_heads=2, max_epochs=30,
             batch_size=32, random_state=0)

INSTANCES = [
    FusionRegressor("gated", **_FAST),
    FusionRegressor("attention", **_FAST),
    FusionClassifier("gated", **_FAST),
    FusionClassifier("late", **_FAST),
    StackedRegressor([("ridge", Ridge()), ("knn", KNeighborsRegressor(3))], cv=3),
]

# Mini-batch training draws repeated rows into different batches (and dropout masks)
# than their weighted originals, so weights equal repetition only approximately;
# tests/fusion/test_fusion_options.py checks the exact equality under full-batch,
# dropout-free training.
_WEIGHTS = {"check_sample_weight_equivalence_on_dense_data":
            "mini-batch SGD: weights equal repeated rows only in expectation (exact "
            "under full-batch training, tested in tests/fusion/test_fusion_options.py)"}
EXPECTED_FAILED_CHECKS = {"FusionRegressor": _WEIGHTS, "FusionClassifier": _WEIGHTS}

# The 30 epochs above are for the checks that assert a score (accuracy > 0.83, R^2 > 0.5);
# the API-contract checks (dtypes, pickling, idempotence, ...) train 2 epochs.
CONTRACT_PARAMS = {"FusionRegressor": {"max_epochs": 2}, "FusionClassifier": {"max_epochs": 2}}

# SemanticFusionRegressor takes a sample table (frame tables and strings), so its tags
# say ``two_d_array = False`` and the array checks skip it; its clone, pickle, skops and
# grid-search behaviour is tested by hand in tests/fusion/test_semantic_fusion.py.
INSTANCES.append(SemanticFusionRegressor(random_state=0))
