"""Fisher-z partial correlation and contingency-table (chi-square, G-square) tests."""

import warnings

import numpy as np
from scipy import special, stats

from ._encoding import SparseTableWarning, rescale_extreme
from ._memory import check_table_memory

#: Cochran's rule: the chi-square approximation needs most expected counts >= 5.
MIN_EXPECTED = 5.0
MAX_SPARSE_SHARE = 0.2


def fisherz_test(x, y, z=None):
    """Fisher-z test of zero (partial) correlation between one x and one y column.

    Matches causal-learn's ``fisherz``: ``sqrt(n - |z| - 3) * |atanh(r)|`` against a
    standard normal, two-sided, where ``r`` is the partial correlation given ``z``.
    """
    if x.shape[1] != 1 or y.shape[1] != 1:
        raise ValueError(
            "fisherz tests one x column against one y column (after one-hot encoding, "
            f"got {x.shape[1]} and {y.shape[1]}). Use a kernel test (method='kci', 'rcit' or "
            "'hsic') for multivariate blocks."
        )
    n = x.shape[0]
    n_cond = 0 if z is None else z.shape[1]
    if n - n_cond - 3 <= 0:
        raise ValueError(
            f"fisherz needs more than |z| + 3 = {n_cond + 3} samples, got {n}."
        )
    a = rescale_extreme(np.hstack([x, y]))
    design = np.ones((n, 1)) if z is None else np.hstack([np.ones((n, 1)), rescale_extreme(z)])
    coef, *_ = np.linalg.lstsq(design, a, rcond=None)
    res = a - design @ coef
    norms = np.linalg.norm(res, axis=0)
    # Relative to the centred column: an absolute threshold mistook small units for zero.
    spread = np.linalg.norm(a - a.mean(axis=0), axis=0)
    if np.any(norms <= 1e-12 * spread):
        raise ValueError(
            "x or y is a linear function of z (zero residual variance): the partial "
            "correlation is undefined."
        )
    r = float(res[:, 0] @ res[:, 1] / (norms[0] * norms[1]))
    r = float(np.clip(r, -1 + np.finfo(float).eps, 1 - np.finfo(float).eps))
    stat = float(np.sqrt(n - n_cond - 3) * abs(np.arctanh(r)))
    pvalue = float(2.0 * stats.norm.sf(stat))
    return stat, pvalue, {"partial_correlation": r}


def _strata(z_codes, cells_per_stratum):
    """Consecutive stratum codes ``0..ks-1`` of the values of ``z`` that occur."""
    if z_codes is None:
        return np.zeros(0, dtype=np.int64), 1
    kz = int(z_codes.max()) + 1
    if kz * cells_per_stratum <= 100_000:  # counting beats sorting (as causal-learn does)
        present = np.bincount(z_codes, minlength=kz) > 0
        remap = np.cumsum(present) - 1
        return remap[z_codes], int(present.sum())
    _, strata = np.unique(z_codes, return_inverse=True)
    return strata.ravel(), int(strata.max()) + 1


def contingency_test(x_codes, y_codes, z_codes=None, statistic="chi2", max_memory=None):
    """Chi-square or G-square test of (conditional) independence of categorical codes.

    With ``z``, the statistic sums over the strata of ``z``; degrees of freedom count
    only the rows and columns that occur in each stratum (as causal-learn does).

    Parameters
    ----------
    x_codes, y_codes : ndarray of int of shape (n_samples,)
        Codes ``0..k-1``.
    z_codes : ndarray of int of shape (n_samples,) or None
        Joint codes of the conditioning block.
    statistic : {"chi2", "gsq"}
    max_memory : int, float, str or None, default=None
        Ceiling for the table's working memory (see :func:`independence_test`); a
        larger table raises :class:`~skpersona.independence.MemoryLimitError`.
    """
    kx = int(x_codes.max()) + 1
    ky = int(y_codes.max()) + 1
    strata, ks = _strata(z_codes, kx * ky)
    check_table_memory(ks * kx * ky, max_memory)
    flat = x_codes * ky + y_codes if ks == 1 else (strata * kx + x_codes) * ky + y_codes
    observed = np.bincount(flat, minlength=ks * kx * ky).reshape(ks, kx, ky).astype(float)
    n_s = observed.sum(axis=(1, 2))
    row = observed.sum(axis=2)
    col = observed.sum(axis=1)
    expected = row[:, :, None] * col[:, None, :] / n_s[:, None, None]
    safe = np.where(expected > 0, expected, 1.0)
    if statistic == "chi2":
        stat = float(np.sum((observed - expected) ** 2 / safe))
    else:
        ratio = np.where(observed > 0, observed / safe, 1.0)
        stat = float(2.0 * np.sum(observed * np.log(ratio)))
    dof = int(np.sum(
        np.clip(np.count_nonzero(row, axis=1) - 1, 0, None)
        * np.clip(np.count_nonzero(col, axis=1) - 1, 0, None)
    ))
    positive = expected[expected > 0]
    details = {"dof": dof, "n_strata": ks, "min_expected": float(positive.min())}
    if dof == 0:
        # In every stratum of z, x or y takes a single value: no evidence against
        # independence. causal-learn returns p = 1 here, and PC-style loops rely on it.
        return stat, 1.0, details
    sparse_share = float(np.mean(positive < MIN_EXPECTED))
    details["sparse_share"] = sparse_share
    if sparse_share > MAX_SPARSE_SHARE:
        warnings.warn(
            f"{sparse_share:.0%} of the expected counts of the {statistic} contingency table "
            f"are below {MIN_EXPECTED:g} (n = {int(n_s.sum())}, {positive.size} cells): the "
            "chi-square approximation is unreliable and tends to miss dependence. Merge rare "
            "categories, condition on fewer variables, or use more samples.",
            SparseTableWarning,
            stacklevel=3,
        )
    # special.chdtrc is what stats.chi2.sf evaluates, without its per-call overhead.
    return stat, float(special.chdtrc(dof, stat)), details
