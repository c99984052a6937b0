"""Multiple-testing corrections (Benjamini-Hochberg, Holm) and the Cauchy combination."""

import numpy as np

CORRECTIONS = ("bh", "holm", "none")

# The ACAT guard: p-values above this enter the Cauchy statistic at it (see
# cauchy_combination), so that a p-value of 1 cannot outweigh a rejection.
CAUCHY_P_CAP = 1 - 1e-3


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


def cauchy_combination(pvalues, axis=-1):
    """Combine p-values of one hypothesis with the Cauchy combination test.

    ``T = mean_i tan((0.5 - p_i) pi)`` has a standard Cauchy tail whatever the
    dependence between the tests, to first order at small levels (Liu & Xie 2020,
    JASA 115: 393-402; exact when the p-values are equal), so the combined p-value
    ``0.5 - arctan(T) / pi`` needs no model of how the tests relate. NaN entries
    (failed tests) are left out; a row with none left gives NaN.

    P-values above ``1 - 1e-3`` enter the statistic as ``1 - 1e-3``, the guard of
    the ACAT implementations (SAIGE-GENE's ``CCT`` sets a p-value of 1 to 0.999).
    Without it a single p-value of exactly 1, which permutation and contingency
    tests return, maps to ``tan(-pi/2)``, minus infinity, and drowns any rejection:
    ``[1e-8, 1.0]`` would combine to about 1. The cap changes nothing where all
    p-values are below it and changes the combined p-value only where a test gave
    more than 0.999, a value no level rejects at (the size of the combined test
    rises by at most the chance that a test exceeds the cap while another rejects).
    Where every p-value is at or above the cap, the combined p-value is their
    minimum, so the combination still lies between the smallest and the largest
    p-value and a p-value repeated combines to itself. P-values are also clipped
    below at ``1e-300`` for finite arithmetic.

    Parameters
    ----------
    pvalues : array-like
        P-values in [0, 1] (NaN for a failed test).
    axis : int, default=-1
        The axis of the tests to combine.

    Returns
    -------
    ndarray
        The combined p-values (``pvalues`` without ``axis``).

    Examples
    --------
    >>> from skpersona.independence import cauchy_combination
    >>> round(float(cauchy_combination([0.03, 0.03])), 12)
    0.03
    >>> round(float(cauchy_combination([0.001, 0.5])), 4)
    0.002
    >>> float(cauchy_combination([1e-8, 1.0])) < 1e-7
    True
    """
    p = np.asarray(pvalues, dtype=float)
    bad = ~np.isnan(p) & ~((p >= 0) & (p <= 1))
    if bad.any():
        raise ValueError(f"pvalues must lie in [0, 1] (NaN marks a failed test); got {p[bad][:3]}.")
    raw = np.moveaxis(p, axis, -1)
    p = np.clip(raw, 1e-300, CAUCHY_P_CAP)
    ok = ~np.isnan(p)
    # tan((0.5 - p) pi) = 1 / tan(p pi); for tiny p, 1 / (p pi) avoids tan's rounding
    terms = np.where(p < 1e-15, 1.0 / (p * np.pi), 1.0 / np.tan(np.where(ok, p, 0.5) * np.pi))
    count = ok.sum(axis=-1)
    with np.errstate(invalid="ignore"):
        stat = np.where(ok, terms, 0.0).sum(axis=-1) / count
    # the Cauchy survival function; 1 / (T pi) in the far tail avoids cancellation
    combined = np.where(stat > 1e15, 1.0 / (np.maximum(stat, 1e15) * np.pi),
                        0.5 - np.arctan(stat) / np.pi)
    combined = np.where(count > 0, np.clip(combined, 0.0, 1.0), np.nan)
    # every p-value at or above the cap: the statistic saw only the cap; the smallest
    # raw p-value keeps the result between the inputs' extremes
    above = np.where(ok, raw, np.inf)
    all_capped = (count > 0) & (above >= CAUCHY_P_CAP).all(axis=-1)
    return np.where(all_capped, above.min(axis=-1, initial=np.inf), combined)
