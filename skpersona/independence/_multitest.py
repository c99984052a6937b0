"""Multiple-testing corrections (Benjamini-Hochberg, Holm)."""

import numpy as np

CORRECTIONS = ("bh", "holm", "none")


def adjust_pvalues(pvalues, method="bh"):
    """Adjusted p-values; reject where ``adjusted < alpha``.

    Parameters
    ----------
    pvalues : array-like of shape (n_tests,)
        NaN entries (failed tests) are ignored and stay NaN.
    method : {"bh", "holm", "none"}, default="bh"
        Benjamini-Hochberg (false discovery rate) or Holm (family-wise error rate).

    Returns
    -------
    ndarray of shape (n_tests,)

    Examples
    --------
    >>> from skpersona.independence import adjust_pvalues
    >>> adjust_pvalues([0.01, 0.02, 0.04], "holm").round(3).tolist()
    [0.03, 0.04, 0.04]
    >>> adjust_pvalues([0.01, 0.02, 0.04], "bh").round(3).tolist()
    [0.03, 0.03, 0.04]
    """
    if method not in CORRECTIONS:
        raise ValueError(f"correction must be one of {list(CORRECTIONS)}, got {method!r}.")
    p = np.asarray(pvalues, dtype=float).copy()
    ok = ~np.isnan(p)
    m = int(ok.sum())
    if method == "none" or m == 0:
        return p
    q = p[ok]
    order = np.argsort(q, kind="mergesort")
    ranked = q[order]
    if method == "bh":
        adj = ranked * m / np.arange(1, m + 1)
        adj = np.minimum.accumulate(adj[::-1])[::-1]
    else:
        adj = ranked * (m - np.arange(m))
        adj = np.maximum.accumulate(adj)
    out = np.empty(m)
    out[order] = np.minimum(adj, 1.0)
    p[ok] = out
    return p
