"""Metrics for trait prediction, and scorers usable by name in model selection.

``mean_accuracy_score`` is the ChaLearn First Impressions measure, 1 - MAE, for
targets in [0, 1]; ``concordance_correlation_coefficient`` is Lin's CCC, common in
affective computing; ``pearson_r_per_trait`` reports one correlation per trait.
"""

import copy

import numpy as np
import pandas as pd
from sklearn.metrics import get_scorer as _sklearn_get_scorer
from sklearn.metrics import get_scorer_names as _sklearn_get_scorer_names
from sklearn.metrics import make_scorer
from sklearn.utils.validation import check_consistent_length

_MULTIOUTPUT = ("uniform_average", "raw_values")


def _as_2d(y_true, y_pred):
    names = list(y_true.columns) if isinstance(y_true, pd.DataFrame) else None
    y_true = np.asarray(y_true, dtype=float)
    y_pred = np.asarray(y_pred, dtype=float)
    for name, y in (("y_true", y_true), ("y_pred", y_pred)):
        if y.ndim not in (1, 2):
            raise ValueError(f"{name} must be 1-D (one trait) or 2-D (samples x traits); got "
                             f"an array of shape {y.shape}.")
        if y.shape[0] == 0 or (y.ndim == 2 and y.shape[1] == 0):
            raise ValueError(f"{name} is empty (shape {y.shape}); a score needs at least one "
                             "sample and one trait.")
    if y_true.ndim == 1:
        y_true = y_true[:, None]
    if y_pred.ndim == 1:
        y_pred = y_pred[:, None]
    check_consistent_length(y_true, y_pred)
    if y_true.shape[1] != y_pred.shape[1]:
        raise ValueError(
            f"y_true has {y_true.shape[1]} trait columns but y_pred has {y_pred.shape[1]}."
        )
    if not (np.isfinite(y_true).all() and np.isfinite(y_pred).all()):
        raise ValueError("y_true and y_pred must be finite (no NaN or inf).")
    return y_true, y_pred, names


def _finish(per_trait, multioutput, names):
    if multioutput == "raw_values":
        return pd.Series(per_trait, index=names) if names is not None else per_trait
    if multioutput == "uniform_average":
        return float(np.mean(per_trait))
    weights = np.asarray(multioutput, dtype=float)
    if weights.shape != per_trait.shape:
        raise ValueError(f"multioutput weights must have shape {per_trait.shape}.")
    return float(np.average(per_trait, weights=weights))


def _check_multioutput(multioutput):
    if isinstance(multioutput, str) and multioutput not in _MULTIOUTPUT:
        raise ValueError(f"multioutput must be one of {_MULTIOUTPUT} or an array of weights.")


def mean_accuracy_score(y_true, y_pred, *, multioutput="uniform_average"):
    """Mean accuracy, 1 - mean absolute error: the ChaLearn First Impressions measure.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,) or (n_samples, n_traits)
        True trait scores in [0, 1].
    y_pred : array-like of the same shape
        Predicted scores.
    multioutput : {"uniform_average", "raw_values"} or array-like, default="uniform_average"
        Average over traits, return one value per trait (a Series when ``y_true`` is
        a DataFrame), or a weighted average.

    Returns
    -------
    float or ndarray or Series
        Greater is better; 1 is perfect.

    Examples
    --------
    >>> from skpersona.metrics import mean_accuracy_score
    >>> mean_accuracy_score([[0.5, 0.2]], [[0.6, 0.2]])
    0.95
    """
    _check_multioutput(multioutput)
    y_true, y_pred, names = _as_2d(y_true, y_pred)
    return _finish(1.0 - np.abs(y_true - y_pred).mean(axis=0), multioutput, names)


def concordance_correlation_coefficient(y_true, y_pred, *, multioutput="uniform_average"):
    """Lin's concordance correlation coefficient, per trait.

    ``2 cov(y, f) / (var(y) + var(f) + (mean(y) - mean(f))^2)``: it rewards
    predictions that correlate with the truth *and* match its location and scale.

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n_samples,) or (n_samples, n_traits)
        True and predicted scores.
    multioutput : {"uniform_average", "raw_values"} or array-like, default="uniform_average"
        How to combine traits.

    Returns
    -------
    float or ndarray or Series
        In [-1, 1]; 0 for a constant prediction.

    Examples
    --------
    >>> from skpersona.metrics import concordance_correlation_coefficient
    >>> round(concordance_correlation_coefficient([1, 2, 3], [1, 2, 3]), 6)
    1.0
    """
    _check_multioutput(multioutput)
    y_true, y_pred, names = _as_2d(y_true, y_pred)
    mean_t, mean_p = y_true.mean(axis=0), y_pred.mean(axis=0)
    cov = ((y_true - mean_t) * (y_pred - mean_p)).mean(axis=0)
    denom = y_true.var(axis=0) + y_pred.var(axis=0) + (mean_t - mean_p) ** 2
    ccc = np.divide(2 * cov, denom, out=np.zeros_like(cov), where=denom > 0)
    return _finish(ccc, multioutput, names)


def pearson_r_per_trait(y_true, y_pred, *, multioutput="raw_values"):
    """Pearson correlation between truth and prediction, one per trait.

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n_samples,) or (n_samples, n_traits)
        True and predicted scores.
    multioutput : {"raw_values", "uniform_average"} or array-like, default="raw_values"
        Return per-trait values or their average.

    Returns
    -------
    ndarray or Series or float
        Correlations; 0 where either side is constant.

    Examples
    --------
    >>> from skpersona.metrics import pearson_r_per_trait
    >>> pearson_r_per_trait([[1, 0], [2, 1], [3, 0]], [[1, 1], [2, 1], [3, 1]]).tolist()
    [1.0, 0.0]
    """
    _check_multioutput(multioutput)
    y_true, y_pred, names = _as_2d(y_true, y_pred)
    dt, dp = y_true - y_true.mean(axis=0), y_pred - y_pred.mean(axis=0)
    denom = np.sqrt((dt**2).sum(axis=0) * (dp**2).sum(axis=0))
    r = np.divide((dt * dp).sum(axis=0), denom, out=np.zeros(dt.shape[1]), where=denom > 0)
    return _finish(np.clip(r, -1.0, 1.0), multioutput, names)


# Scorer objects (greater is better), to pass as ``scoring=`` anywhere.
mean_accuracy_scorer = make_scorer(mean_accuracy_score)
ccc_scorer = make_scorer(concordance_correlation_coefficient)
pearson_r_scorer = make_scorer(pearson_r_per_trait, multioutput="uniform_average")

# skpersona's scorers by name (greater is better). Pass the objects, not their names,
# to tools that take a scoring: GridSearchCV(..., scoring=SCORERS["mean_accuracy"]),
# cross_validate(..., scoring=SCORERS) for all at once, OptunaSearchCV, TPOT's
# scorers=[...]. scikit-learn resolves a string only among its own names and has no
# public way to add one; its private registry is also frozen into the parameter
# checks of cross_validate and the searches at import, so skpersona does not touch it.
# skpersona's own functions (get_scorer, AUSelector, skpersona.automl, the CLI) take
# the names.
SCORERS = {
    "mean_accuracy": mean_accuracy_scorer,
    "ccc": ccc_scorer,
    "pearson_r": pearson_r_scorer,
}


def get_scorer_names():
    """The names :func:`get_scorer` accepts: skpersona's, then scikit-learn's.

    Returns
    -------
    list of str

    Examples
    --------
    >>> from skpersona.metrics import get_scorer_names
    >>> get_scorer_names()[:3]
    ['ccc', 'mean_accuracy', 'pearson_r']
    """
    return sorted(SCORERS) + [n for n in _sklearn_get_scorer_names() if n not in SCORERS]


def get_scorer(scoring):
    """Return a scorer by skpersona or scikit-learn name, or pass a callable through.

    Parameters
    ----------
    scoring : str or callable
        ``"mean_accuracy"``, ``"ccc"``, ``"pearson_r"``, any scikit-learn scorer name,
        or a scorer object.

    Returns
    -------
    callable
        A scorer ``scorer(estimator, X, y)`` (a copy, as scikit-learn's
        ``get_scorer`` gives), usable in ``cross_validate`` and ``GridSearchCV``
        (pass the object itself, or a dict of them).

    Examples
    --------
    >>> from sklearn.dummy import DummyRegressor
    >>> from sklearn.model_selection import cross_val_score
    >>> from skpersona.metrics import get_scorer
    >>> X, y = [[0]] * 6, [0.2, 0.4, 0.6, 0.2, 0.4, 0.6]
    >>> cross_val_score(DummyRegressor(), X, y, cv=2, scoring=get_scorer("mean_accuracy")).round(2)
    array([0.87, 0.87])
    """
    if callable(scoring):
        return scoring
    if scoring in SCORERS:
        return copy.deepcopy(SCORERS[scoring])  # a request set on it stays with the caller
    try:
        return _sklearn_get_scorer(scoring)
    except ValueError:
        raise ValueError(
            f"Unknown scorer {scoring!r}. skpersona scorers: {sorted(SCORERS)}; "
            "or any name in sklearn.metrics.get_scorer_names()."
        ) from None
