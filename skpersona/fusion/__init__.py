"""Multimodal fusion estimators (AU + text) backed by skorch.

``FusionRegressor`` finds each modality's columns from prefixed feature names
(``au__...``, ``text__...``, as a ``ColumnTransformer`` makes them) and trains a
small network with early, gated, cross-modal attention or late fusion.
``SemanticFusionRegressor`` is the semantic path as one estimator: keyframe
windows, AU selection, the AU sequence in words joined with the answer, a
sentence embedding and a light regression head. ``StackedRegressor`` is late
fusion of whole models: per-target weights on their out-of-fold predictions.
"""

from ._base import SingleModalityWarning
from ._classifier import FusionClassifier
from ._modules import FusionModule
from ._regressor import FusionRegressor
from ._semantic import SemanticFusionRegressor
from ._stacking import StackedRegressor

__all__ = [
    "FusionClassifier",
    "FusionModule",
    "FusionRegressor",
    "SemanticFusionRegressor",
    "SingleModalityWarning",
    "StackedRegressor",
]
