"""Fisher-z tests from one correlation matrix of a whole table (``IndependenceTester``).

A search such as PC asks for many partial correlations of the same columns: the
correlation matrix of every encoded column is computed once, and each test inverts
only the small block of its ``x``, ``y`` and ``z``. The p-values equal those of
:func:`independence_test` with ``method="fisherz"``.
"""

import math

import numpy as np

from ._test import make_result

_SQRT2 = math.sqrt(2.0)


def correlation_blocks(n_columns, n_samples, encode):
    """The correlation matrix of all encoded columns, and each column's rows in it.

    Parameters
    ----------
    n_columns, n_samples : int
    encode : callable
        ``encode(i)``: column ``i`` as a float matrix (one-hot encoded with the first
        level dropped), or a ``TypeError`` / ``ValueError`` for an unusable column.

    Returns
    -------
    groups : dict of int -> tuple of int
        Column ``i``'s rows and columns in ``corr`` (empty for an unusable column,
        whose own error is raised when a test asks for it).
    corr : ndarray of shape (n_encoded, n_encoded)
    """
    groups, parts, start = {}, [], 0
    for i in range(n_columns):
        try:
            part = encode(i)
        except (TypeError, ValueError):
            groups[i] = ()  # unusable; the column's own error is raised when asked
            continue
        groups[i] = tuple(range(start, start + part.shape[1]))
        parts.append(part)
        start += part.shape[1]
    matrix = np.hstack(parts) if parts else np.zeros((n_samples, 0))
    with np.errstate(invalid="ignore", divide="ignore"):
        corr = np.corrcoef(matrix, rowvar=False) if matrix.shape[1] > 1 else np.ones((1, 1))
    return groups, np.atleast_2d(corr)


def fisherz_from_correlation(groups, corr, xs, ys, zs, n):
    """Fisher-z test of columns ``xs`` and ``ys`` given ``zs`` from :func:`correlation_blocks`."""
    ex, ey = groups[xs[0]] if len(xs) == 1 else None, groups[ys[0]] if len(ys) == 1 else None
    if ex is None or ey is None or len(ex) != 1 or len(ey) != 1:
        width = [sum(len(groups[i]) for i in b) for b in (xs, ys)]
        raise ValueError(
            "fisherz tests one x column against one y column (after one-hot encoding, "
            f"got {width[0]} and {width[1]}). Use a kernel test (method='kci', 'rcit' or "
            "'hsic') for multivariate blocks."
        )
    ez = [j for i in zs for j in groups[i]]
    n_cond = len(ez)
    if n - n_cond - 3 <= 0:
        raise ValueError(f"fisherz needs more than |z| + 3 = {n_cond + 3} samples, got {n}.")
    var = [ex[0], ey[0], *ez]
    if n_cond == 0:
        r = corr[var[0], var[1]]
    else:
        try:
            inv = np.linalg.inv(corr[np.ix_(var, var)])
        except np.linalg.LinAlgError:
            inv = None
        if inv is None or not (inv[0, 0] > 0 and inv[1, 1] > 0) or min(
            1.0 / inv[0, 0], 1.0 / inv[1, 1]
        ) <= 1e-12:
            raise ValueError(
                "x or y is a linear function of z (zero residual variance): the partial "
                "correlation is undefined."
            )
        r = -inv[0, 1] / math.sqrt(inv[0, 0] * inv[1, 1])
    eps = np.finfo(float).eps
    r = float(min(max(r, -1 + eps), 1 - eps))
    stat = math.sqrt(n - n_cond - 3) * abs(math.atanh(r))
    pvalue = math.erfc(stat / _SQRT2)  # = 2 * norm.sf(stat)
    return make_result(stat, pvalue, "fisherz", n, bool(zs), {"partial_correlation": r})
