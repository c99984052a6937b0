"""Discovery of every public estimator in skpersona."""

import importlib
import inspect

from sklearn.base import BaseEstimator

# Subpackages that hold estimators; imported lazily so that a missing optional
# dependency (py-feat) only hides the estimators that need it.
_SUBPACKAGES = ("au", "text", "fusion", "independence", "crl", "datasets")

_TYPE_FILTERS = {
    "classifier": "ClassifierMixin",
    "regressor": "RegressorMixin",
    "transformer": "TransformerMixin",
    "cluster": "ClusterMixin",
}


def all_estimators(type_filter=None):
    """List every public estimator class of skpersona.

    Parameters
    ----------
    type_filter : {"classifier", "regressor", "transformer", "cluster"}, \
            list of these or None, default=None
        Keep only estimators of these kinds.

    Returns
    -------
    list of (str, type)
        ``(name, class)`` pairs sorted by name.

    Examples
    --------
    >>> from skpersona.utils import all_estimators
    >>> isinstance(all_estimators(), list)
    True
    """
    import sklearn.base as skbase

    package = importlib.import_module("skpersona")
    found = {}
    for sub in _SUBPACKAGES:
        try:
            module = importlib.import_module(f"skpersona.{sub}")
        except ModuleNotFoundError as exc:  # subpackage not written yet
            if exc.name and exc.name.startswith(f"skpersona.{sub}"):
                continue
            raise
        names = getattr(module, "__all__", [n for n in dir(module) if not n.startswith("_")])
        for name in names:
            obj = getattr(module, name, None)
            if (
                inspect.isclass(obj)
                and issubclass(obj, BaseEstimator)
                and not inspect.isabstract(obj)
                and obj.__module__.startswith(package.__name__)
                and not name.startswith("_")
            ):
                found[name] = obj
    estimators = sorted(found.items())
    if type_filter is not None:
        filters = [type_filter] if isinstance(type_filter, str) else list(type_filter)
        unknown = set(filters) - set(_TYPE_FILTERS)
        if unknown:
            raise ValueError(f"type_filter must be among {sorted(_TYPE_FILTERS)}, got {sorted(unknown)}.")
        mixins = tuple(getattr(skbase, _TYPE_FILTERS[f]) for f in filters)
        estimators = [(n, c) for n, c in estimators if issubclass(c, mixins)]
    return estimators
