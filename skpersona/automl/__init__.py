"""Search spaces and adapters for AutoML tools: Optuna, FLAML and TPOT.

The main parameters of skpersona's estimators as Optuna distributions
(:func:`optuna_space`, or drawn in an objective with :func:`optuna_suggest`), scipy.stats
distributions for ``RandomizedSearchCV`` (:func:`random_search_space`), FLAML domains (:func:`flaml_space`) and ConfigSpace spaces
for TPOT (:func:`configspace_space`), and a FLAML learner that keeps the fusion of
every trait in one network (:class:`FusionLearner`, :class:`FusionAutoML`). The
tools themselves are optional (``pip install 'skpersona[automl]'``) and imported only
when a function that needs one is called. Pass scorers as objects
(:data:`skpersona.metrics.SCORERS`): the tools resolve names only among
scikit-learn's.
"""

from ._spaces import (
    SPACES,
    configspace_space,
    flaml_space,
    optuna_space,
    optuna_suggest,
    random_search_space,
)

__all__ = [
    "SPACES",
    "FusionAutoML",
    "FusionLearner",
    "configspace_space",
    "flaml_metric",
    "flaml_space",
    "optuna_space",
    "optuna_suggest",
    "random_search_space",
    "traits_as_rows",
]

_FLAML_NAMES = ("FusionAutoML", "FusionLearner", "flaml_metric", "traits_as_rows")


def __getattr__(name):  # the FLAML adapters import flaml: only when asked for
    if name in _FLAML_NAMES:
        from . import _flaml

        return getattr(_flaml, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
