"""The null laws of the kernel statistics: causal-learn's two-moment gamma fit, and the
weighted chi-square law of its ``approx=False`` (from the kernels' eigenvalues), whose
tail :func:`weighted_chi2_sf` takes by a saddlepoint approximation."""

import numpy as np
from scipy import stats

#: Null laws of :func:`kci_test`: causal-learn's two-moment gamma fit (its default) or
#: the spectral law (the weighted chi-square law of its ``approx=False``, from the
#: kernels' eigenvalues), whose tail is taken by a saddlepoint approximation.
KCI_NULLS = ("gamma", "spectral")
#: causal-learn's relative eigenvalue cut-offs: ``KCI_UInd`` keeps the products of the
#: eigenvalues above 1e-6 of the largest, ``KCI_CInd`` the eigenvalues above 1e-5.
_SPECTRAL_THRESH_UNCONDITIONAL = 1e-6
_SPECTRAL_THRESH_CONDITIONAL = 1e-5


def _gamma_pvalue(stat, mean, var):
    if not (np.isfinite(mean) and np.isfinite(var)) or mean <= 0 or var <= 0:
        raise ValueError(
            "The null distribution of the kernel statistic is degenerate (zero variance); "
            "the data carry no variation the test can use."
        )
    shape = mean**2 / var
    scale = var / mean
    return float(stats.gamma.sf(stat, shape, scale=scale))


def check_kci_null(null):
    """Refuse an unknown null law, saying which are allowed."""
    if null not in KCI_NULLS:
        raise ValueError(f"null must be one of {list(KCI_NULLS)}, got {null!r}.")


def _descending_eigenvalues(k):
    return np.linalg.eigvalsh(k)[::-1]


def weighted_chi2_sf(x, weights):
    """``P(sum_i w_i chi2_1 >= x)`` for positive weights, by the saddlepoint (Lugannani-Rice).

    The cumulant generating function ``K(t) = -1/2 sum log(1 - 2 t w_i)`` is solved for
    ``K'(t) = x``; then ``p = 1 - Phi(r) + phi(r) (1/u - 1/r)`` with
    ``r = sign(t) sqrt(2 (t x - K(t)))`` and ``u = t sqrt(K''(t))`` (Kuonen 1999,
    quadratic forms). Deterministic and without a floor, unlike causal-learn's
    simulation of the same law; relative error below 7% down to 1e-8 even for one
    chi2_1, below 1% with five or more equal weights, erring on the large side in the
    upper tail.
    """
    from scipy import optimize

    w = np.asarray(weights, dtype=float)
    mean = float(w.sum())
    if x <= 0:
        return 1.0

    def slope(t):  # K'(t) - x, increasing in t
        return float(np.sum(w / (1.0 - 2.0 * t * w))) - x

    if x > mean:  # K is finite for t < 1 / (2 max w), where K' grows without bound
        low, high = 0.0, 0.5 / w.max() * (1.0 - 1e-12)
        if slope(high) < 0:
            return 0.0  # farther out than double precision can place it
    else:
        low, high = -1.0 / w.max(), 0.0
        while slope(low) > 0:
            low *= 2.0
    t = optimize.brentq(slope, low, high, xtol=1e-300, rtol=4 * np.finfo(float).eps)
    k = -0.5 * float(np.sum(np.log1p(-2.0 * t * w)))
    r = np.sign(t) * np.sqrt(max(2.0 * (t * x - k), 0.0))
    if abs(r) < 1e-5:  # at the mean: the limit of the formula, with the skewness
        return float(0.5 - np.sum(8 * w**3) / np.sum(2 * w**2) ** 1.5 / (6 * np.sqrt(2 * np.pi)))
    u = t * np.sqrt(float(np.sum(2.0 * w**2 / (1.0 - 2.0 * t * w) ** 2)))
    p = stats.norm.sf(r) + stats.norm.pdf(r) * (1.0 / u - 1.0 / r)
    return float(min(max(p, 0.0), 1.0))


def _spectral_unconditional_weights(eig_x, eig_y, n):
    """``lambda_i mu_j / n`` above 1e-6 of the largest (causal-learn's ``KCI_UInd``)."""
    # causal-learn keeps the leading n / 2 eigenvalues above 1,000 rows; the products of
    # the others fall under the cut-off for Gaussian kernels anyway
    keep = n // 2 if n > 1000 else n
    prod = np.multiply.outer(eig_x[:keep], eig_y[:keep]).ravel()
    top = prod.max()
    if not (np.isfinite(top) and top > 0):
        raise ValueError(
            "The kernel matrices have no positive eigenvalue; the data carry no variation "
            "the test can use."
        )
    return prod[prod > top * _SPECTRAL_THRESH_UNCONDITIONAL] / n


def _spectral_conditional_weights(prod):
    """Eigenvalues of ``KxR o KyR`` above 1e-5 of the largest (causal-learn's ``KCI_CInd``)."""
    eig = _descending_eigenvalues(prod)
    if not (np.isfinite(eig[0]) and eig[0] > 0):
        raise ValueError(
            "The residualised kernels have no positive eigenvalue; the data carry no "
            "variation the test can use."
        )
    return eig[eig > eig[0] * _SPECTRAL_THRESH_CONDITIONAL]
