"""Multiple-testing corrections (Benjamini-Hochberg, Holm)."""

import numpy as np

CORRECTIONS = ("bh", "holm", "none")


def adjust_pvalues(pvalues, method="bh"):
    """Adjusted p-values; reject where ``adjusted < alpha``.

    Parameters
    ----------
    pvalues : array-like of shape (n_tests,)
        Values in [0, 1]; NaN entries (failed tests) are ignored and stay NaN.
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
    if p.ndim != 1:
        raise ValueError(f"pvalues must be 1-D, got an array of shape {p.shape}.")
    ok = ~np.isnan(p)
    bad = ok & ~((p >= 0) & (p <= 1))
    if bad.any():
        raise ValueError(
            f"pvalues must lie in [0, 1] (NaN marks a failed test); got {int(bad.sum())} "
            f"value(s) outside, e.g. {p[bad][:3].tolist()}. Pass p-values, not statistics "
            "or log p-values."
        )
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
