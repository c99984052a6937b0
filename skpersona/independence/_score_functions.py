"""Score functions for :class:`~sklearn.feature_selection.SelectKBest` and friends.

Each function tests every column of ``X`` against ``y`` and returns
``(scores, pvalues)``: the scores are the test statistics (larger is more dependent)
and the p-values feed :class:`~sklearn.feature_selection.SelectFdr`,
:class:`~sklearn.feature_selection.SelectFpr` and
:class:`~sklearn.feature_selection.SelectFwe`. Options are bound with
:func:`functools.partial`, e.g. ``partial(hsic_score, random_state=0)``.
"""

import warnings

import numpy as np
import pandas as pd
from joblib import Parallel, delayed
from sklearn.utils import check_random_state

from ._test import independence_test


def _columns(X):
    if isinstance(X, pd.DataFrame):
        return [X.iloc[:, j] for j in range(X.shape[1])]
    if hasattr(X, "toarray"):
        X = X.toarray()
    X = np.asarray(X)
    if X.ndim != 2:
        raise ValueError(f"X must be 2-D (n_samples, n_features), got shape {X.shape}.")
    return [X[:, j] for j in range(X.shape[1])]


def _one(column, y, method, seed, kwargs):
    values = pd.Series(column).reset_index(drop=True)
    if values.notna().all() and values.nunique() < 2:
        return 0.0, 1.0, True
    res = independence_test(values, y, method=method, random_state=seed, **kwargs)
    return res.statistic, res.pvalue, False


def independence_score(X, y, *, method="auto", n_jobs=None, random_state=None, **kwargs):
    """Test each feature of ``X`` against ``y``; return ``(statistics, pvalues)``.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
    y : array-like of shape (n_samples,) or (n_samples, n_outputs)
    method : str, default="auto"
        Any method of :func:`independence_test`.
    n_jobs : int or None, default=None
        Features tested in parallel through joblib.
    random_state : int, RandomState instance or None, default=None
        Seeds the randomised tests (one seed drawn per feature).
    **kwargs
        Passed to :func:`independence_test`.

    Returns
    -------
    scores : ndarray of shape (n_features,)
        Test statistics (0 for a constant feature).
    pvalues : ndarray of shape (n_features,)
        p-values (1 for a constant feature, which is independent of everything).

    Examples
    --------
    >>> import numpy as np
    >>> from skpersona.independence import independence_score
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(150, 3))
    >>> y = np.cos(2 * X[:, 0]) + 0.1 * rng.normal(size=150)
    >>> scores, pvalues = independence_score(X, y, method="kci")
    >>> int(np.argmax(scores)), bool(pvalues[0] < 0.01)
    (0, True)
    """
    columns = _columns(X)
    y = y.reset_index(drop=True) if isinstance(y, pd.Series | pd.DataFrame) else y
    rng = check_random_state(random_state)
    seeds = rng.randint(np.iinfo(np.int32).max, size=len(columns))
    results = Parallel(n_jobs=n_jobs)(
        delayed(_one)(col, y, method, int(seed), kwargs) for col, seed in zip(columns, seeds)
    )
    scores = np.array([r[0] for r in results], dtype=float)
    pvalues = np.array([r[1] for r in results], dtype=float)
    constant = [j for j, r in enumerate(results) if r[2]]
    if constant:
        warnings.warn(
            f"Features {constant} are constant: scored 0 with p-value 1.",
            UserWarning,
            stacklevel=2,
        )
    return scores, pvalues


def kci_score(X, y, **kwargs):
    """KCI of each feature against ``y``: ``(statistics, pvalues)``.

    See :func:`independence_score` for parameters.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.feature_selection import SelectKBest
    >>> from skpersona.independence import kci_score
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(150, 4))
    >>> y = X[:, 2] ** 2 + 0.1 * rng.normal(size=150)
    >>> SelectKBest(kci_score, k=1).fit(X, y).get_support().nonzero()[0].tolist()
    [2]
    """
    return independence_score(X, y, method="kci", **kwargs)


def rcit_score(X, y, **kwargs):
    """RCIT (randomised KCI, linear in n) of each feature against ``y``.

    See :func:`independence_score` for parameters.
    """
    return independence_score(X, y, method="rcit", **kwargs)


def hsic_score(X, y, *, permutation=False, **kwargs):
    """HSIC of each feature against ``y``: ``(statistics, pvalues)``.

    Parameters
    ----------
    X, y : array-like
    permutation : bool, default=False
        Permutation null (``"hsic_perm"``) instead of the gamma approximation.
    **kwargs
        See :func:`independence_score`.

    Examples
    --------
    >>> import numpy as np
    >>> from skpersona.independence import hsic_score
    >>> rng = np.random.default_rng(1)
    >>> X = rng.normal(size=(120, 2))
    >>> y = np.abs(X[:, 1]) + 0.1 * rng.normal(size=120)
    >>> scores, pvalues = hsic_score(X, y)
    >>> bool(pvalues[1] < 0.01 < pvalues[0])
    True
    """
    return independence_score(X, y, method="hsic_perm" if permutation else "hsic", **kwargs)


def fisherz_score(X, y, **kwargs):
    """Fisher-z (linear correlation) test of each feature against a 1-D ``y``.

    See :func:`independence_score` for parameters.
    """
    return independence_score(X, y, method="fisherz", **kwargs)


def chi2_independence_score(X, y, **kwargs):
    """Chi-square test of independence of each discrete feature against ``y``.

    Unlike :func:`sklearn.feature_selection.chi2` (which sums feature values per
    class), this builds the full contingency table of feature categories by classes.

    Examples
    --------
    >>> import numpy as np
    >>> from skpersona.independence import chi2_independence_score
    >>> rng = np.random.default_rng(0)
    >>> y = rng.integers(0, 3, size=300)
    >>> X = np.column_stack([(y + rng.integers(0, 2, size=300)) % 3,
    ...                      rng.integers(0, 4, size=300)])
    >>> scores, pvalues = chi2_independence_score(X, y)
    >>> bool(pvalues[0] < 0.001), bool(pvalues[1] > 0.001)
    (True, True)
    """
    return independence_score(X, y, method="chi2", **kwargs)


def gsq_independence_score(X, y, **kwargs):
    """G-square (likelihood ratio) test of each discrete feature against ``y``.

    See :func:`chi2_independence_score`.
    """
    return independence_score(X, y, method="gsq", **kwargs)
