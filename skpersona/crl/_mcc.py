"""Mean correlation coefficient (MCC) between true and learned latents, and its scorer."""

import numpy as np
from scipy.optimize import linear_sum_assignment
from scipy.stats import rankdata
from sklearn.utils.validation import check_array, check_consistent_length

__all__ = ["make_mcc_scorer", "mcc_scorer", "mean_correlation_coefficient", "match_latents"]


def _abs_correlation(true, estimated, method):
    if method not in ("pearson", "spearman"):
        raise ValueError(f"method must be 'pearson' or 'spearman', got {method!r}.")
    if method == "spearman":
        true = np.apply_along_axis(rankdata, 0, true)
        estimated = np.apply_along_axis(rankdata, 0, estimated)
    a = true - true.mean(axis=0)
    b = estimated - estimated.mean(axis=0)
    norm_a = np.linalg.norm(a, axis=0)
    norm_b = np.linalg.norm(b, axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        corr = (a.T @ b) / np.outer(norm_a, norm_b)
    return np.nan_to_num(np.abs(corr), nan=0.0)


def _validate(true, estimated):
    true = check_array(true, dtype=np.float64, ensure_min_samples=2)
    estimated = check_array(estimated, dtype=np.float64, ensure_min_samples=2)
    check_consistent_length(true, estimated)
    return true, estimated


def match_latents(true, estimated, method="pearson"):
    """Match each true latent to a distinct learned latent (Hungarian algorithm).

    Parameters
    ----------
    true : array-like of shape (n_samples, n_true)
        True latents.
    estimated : array-like of shape (n_samples, n_estimated)
        Learned latents; ``n_estimated`` may differ from ``n_true``.
    method : {"pearson", "spearman"}, default="pearson"
        Correlation used.

    Returns
    -------
    true_index, estimated_index : ndarray of int
        Matched pairs, ``min(n_true, n_estimated)`` of them.
    correlation : ndarray of shape (n_true, n_estimated)
        Absolute correlations between every pair.

    Examples
    --------
    >>> import numpy as np
    >>> from skpersona.crl import match_latents
    >>> z = np.random.RandomState(0).normal(size=(100, 2))
    >>> match_latents(z, z[:, ::-1])[1].tolist()
    [1, 0]
    """
    true, estimated = _validate(true, estimated)
    corr = _abs_correlation(true, estimated, method)
    rows, cols = linear_sum_assignment(-corr)
    return rows, cols, corr


def mean_correlation_coefficient(true, estimated, method="pearson"):
    """Mean absolute correlation of true and learned latents after optimal matching.

    The identifiability metric of causal representation learning: each true
    latent is paired with a distinct learned latent so that the summed absolute
    correlation is largest (Hungarian algorithm,
    :func:`scipy.optimize.linear_sum_assignment`), and the matched
    correlations are averaged. It is 1 when the learned latents equal the true
    ones up to permutation, sign and (for ``"spearman"``) any monotone
    transformation of each latent.

    Parameters
    ----------
    true : array-like of shape (n_samples, n_true)
        True latents.
    estimated : array-like of shape (n_samples, n_estimated)
        Learned latents (e.g. ``MultimodalCRL().fit_transform(X)``).
    method : {"pearson", "spearman"}, default="pearson"
        Correlation used.

    Returns
    -------
    mcc : float
        Matched absolute correlations summed and divided by ``n_true``, in
        [0, 1]: extra learned latents are not penalised, and a true latent
        left unmatched (fewer learned than true latents) counts as 0.

    Examples
    --------
    >>> import numpy as np
    >>> from skpersona.crl import mean_correlation_coefficient
    >>> z = np.random.RandomState(0).normal(size=(200, 3))
    >>> round(mean_correlation_coefficient(z, -2 * z[:, [2, 0, 1]]), 6)
    1.0
    >>> round(mean_correlation_coefficient(z, np.exp(z), method="spearman"), 6)
    1.0
    """
    rows, cols, corr = match_latents(true, estimated, method)
    return float(corr[rows, cols].sum() / corr.shape[0])


class _MCCScorer:
    """Scorer ``scorer(estimator, X, y)``: MCC of ``y`` (true latents) and ``transform(X)``."""

    def __init__(self, method="pearson"):
        self.method = method

    def __call__(self, estimator, X, y=None):
        if y is None:
            raise ValueError(
                "The MCC scorer needs the true latents as `y`: pass them to the search, "
                "e.g. GridSearchCV(..., scoring=mcc_scorer).fit(X, true_latents)."
            )
        return mean_correlation_coefficient(y, estimator.transform(X), method=self.method)

    def __repr__(self):
        return f"make_mcc_scorer(method={self.method!r})"


def make_mcc_scorer(method="pearson"):
    """Make a scorer for grid searches when the true latents are known.

    The true latents travel as ``y``: the latent models' ``fit`` ignores ``y``,
    so ``GridSearchCV(model, grid, scoring=make_mcc_scorer()).fit(X, latents)``
    splits the latents with ``X`` and scores each held-out fold by
    :func:`mean_correlation_coefficient` of its true latents and
    ``model.transform`` of its observations. Greater is better.

    Parameters
    ----------
    method : {"pearson", "spearman"}, default="pearson"
        Correlation used.

    Returns
    -------
    scorer : callable
        ``scorer(estimator, X, y) -> float``.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.decomposition import PCA
    >>> from skpersona.crl import make_mcc_scorer
    >>> z = np.random.RandomState(0).normal(size=(100, 2))
    >>> X = z @ np.array([[2.0, 0.0], [0.0, 1.0]])
    >>> round(make_mcc_scorer()(PCA(2).fit(X), X, z), 2)
    1.0
    """
    if method not in ("pearson", "spearman"):
        raise ValueError(f"method must be 'pearson' or 'spearman', got {method!r}.")
    return _MCCScorer(method)


mcc_scorer = make_mcc_scorer("pearson")
mcc_scorer.__doc__ = "MCC scorer (Pearson); the true latents are passed as ``y``."
