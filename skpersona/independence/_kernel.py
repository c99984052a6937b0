"""Kernel independence tests written with dense linear algebra (no Python loops).

* :func:`kci_test` re-implements causal-learn's KCI (``KCI_UInd`` / ``KCI_CInd`` with
  their defaults: Gaussian kernels, empirical widths, gamma approximation) with the
  same statistic and the same null moments. The conditional null moments are taken
  from the Hadamard product of the residualised kernels, ``tr(KxR o KyR)`` and
  ``||KxR o KyR||_F^2``, which equal causal-learn's ``tr(uu')`` and ``tr((uu')^2)``
  without building the ``n x (n_eig_x * n_eig_y)`` matrix ``uu``.
* :func:`hsic_gamma_test` is the HSIC test of Gretton et al. (2008) with their gamma
  approximation of the null (median-heuristic Gaussian kernels).
* :func:`hsic_permutation_test` uses the same statistic with a permutation null.
* :func:`hsic_rff_test` approximates both kernels with random Fourier features (no
  subsampling), which makes HSIC linear in the number of samples; its null is the
  two-moment gamma fit of the asymptotic weighted chi-square law.
"""

import numpy as np
from scipy import linalg, stats

from ._encoding import check_int


def _zscore(a):
    a = np.asarray(a, dtype=float)
    a = a - a.mean(axis=0)
    sd = a.std(axis=0, ddof=1)
    sd[sd == 0] = 1.0
    return a / sd


def _inner(a, b):
    """Frobenius inner product, single pass and no temporary (einsum, not BLAS threads)."""
    return float(np.einsum("ij,ij->", a, b))


def _sq_dists(a):
    """Squared Euclidean distances, with the Gram trick (BLAS) and exact zeros on the diagonal."""
    sq = np.einsum("ij,ij->i", a, a)
    d = a @ a.T
    d *= -2.0
    d += sq[:, None]
    d += sq[None, :]
    np.maximum(d, 0.0, out=d)
    np.fill_diagonal(d, 0.0)
    return d


def _gaussian_gram(a, theta):
    """``exp(-0.5 * theta * ||a_i - a_j||^2)``, computed in place."""
    k = _sq_dists(a)
    k *= -0.5 * theta
    np.exp(k, out=k)
    return k


def _center(k):
    """``H K H`` with ``H = I - 1/n``, in place, O(n^2)."""
    n = k.shape[0]
    col = k.sum(axis=0) / n
    total = col.sum() / n
    k -= col[None, :]
    k -= col[:, None]
    k += total
    return k


def _gamma_pvalue(stat, mean, var):
    if not (np.isfinite(mean) and np.isfinite(var)) or mean <= 0 or var <= 0:
        raise ValueError(
            "The null distribution of the kernel statistic is degenerate (zero variance); "
            "the data carry no variation the test can use."
        )
    shape = mean**2 / var
    scale = var / mean
    return float(stats.gamma.sf(stat, shape, scale=scale))


def _kci_width(n, table):
    for limit, width in table:
        if n < limit:
            return width
    return table[-1][1]


_HSIC_EMPIRICAL = ((200, 0.8), (1200, 0.5), (np.inf, 0.3))
_KCI_EMPIRICAL = ((200, 1.2), (1200, 0.7), (np.inf, 0.4))


def kci_test(x, y, z=None, epsilon=1e-3):
    """KCI test with causal-learn's defaults (gamma approximation).

    Parameters
    ----------
    x, y : ndarray of shape (n_samples, d)
    z : ndarray of shape (n_samples, d_z) or None
    epsilon : float, default=1e-3
        Ridge of the kernel regression on ``z``.

    Returns
    -------
    statistic, pvalue, details : float, float, dict
    """
    n = x.shape[0]
    x = _zscore(x)
    y = _zscore(y)
    if z is None:
        width = _kci_width(n, _HSIC_EMPIRICAL)
        kx = _center(_gaussian_gram(x, x.shape[1] / width**2))
        ky = _center(_gaussian_gram(y, y.shape[1] / width**2))
        stat = float(_inner(kx, ky))
        mean = np.trace(kx) * np.trace(ky) / n
        var = 2.0 * _inner(kx, kx) * _inner(ky, ky) / n**2
        return stat, _gamma_pvalue(stat, mean, var), {"kernel_width": width}
    z = _zscore(z)
    width = _kci_width(n, _KCI_EMPIRICAL)
    theta = 1.0 / width**2 / z.shape[1]
    kx = _center(_gaussian_gram(np.hstack([x, 0.5 * z]), theta))
    ky = _center(_gaussian_gram(y, theta))
    kz = _center(_gaussian_gram(z, theta))
    rz = _ridge_residual_operator(kz, epsilon)
    kxr = rz @ kx @ rz
    kyr = rz @ ky @ rz
    stat = float(_inner(kxr, kyr))
    prod = kxr * kyr
    mean = float(np.trace(prod))
    var = 2.0 * float(_inner(prod, prod))
    return stat, _gamma_pvalue(stat, mean, var), {"kernel_width": width, "epsilon": epsilon}


def _ridge_residual_operator(kz, epsilon):
    """``Rz = eps (Kz + eps I)^-1`` by a Cholesky solve (causal-learn uses ``pinv``).

    ``Kz`` is a centred Gram matrix (positive semi-definite), so ``Kz + eps I`` is
    positive definite and the Cholesky route is exact and several times faster than
    an SVD or a symmetric eigendecomposition of a matrix with many tiny eigenvalues.
    """
    n = kz.shape[0]
    a = kz + epsilon * np.eye(n)
    try:
        inv = linalg.solve(a, np.eye(n), assume_a="pos", check_finite=False)
    except linalg.LinAlgError:  # numerically indefinite: fall back to causal-learn's route
        inv = np.linalg.pinv(a)
    inv *= epsilon
    inv += inv.T
    inv *= 0.5
    return inv


def _median_sigma2(a, rng, max_rows=1000):
    """Gretton's median heuristic: ``sigma^2 = median(||a_i - a_j||^2) / 2``."""
    n = a.shape[0]
    if n > max_rows:
        a = a[rng.choice(n, size=max_rows, replace=False)]
    d = _sq_dists(a)
    d = d[np.triu_indices_from(d, k=1)]
    d = d[d > 0]
    if d.size == 0:
        raise ValueError("All samples are identical: no kernel width can be set.")
    return 0.5 * float(np.median(d))


def _hsic_grams(x, y, rng):
    x = _zscore(x)
    y = _zscore(y)
    sx = _median_sigma2(x, rng)
    sy = _median_sigma2(y, rng)
    return _gaussian_gram(x, 1.0 / sx), _gaussian_gram(y, 1.0 / sy), sx, sy


def hsic_gamma_test(x, y, rng):
    """HSIC with the gamma approximation of Gretton et al. (2008).

    The statistic is ``n * HSIC_b = tr(K H L H) / n``; the gamma's mean and variance
    are their finite-sample estimates under independence.
    """
    n = x.shape[0]
    if n < 6:
        raise ValueError("The HSIC gamma approximation needs at least 6 samples.")
    k, lk, sx, sy = _hsic_grams(x, y, rng)
    mu_x = (k.sum() - n) / (n * (n - 1))
    mu_y = (lk.sum() - n) / (n * (n - 1))
    kc = _center(k)
    lc = _center(lk)
    stat = float(_inner(kc, lc)) / n
    prod = kc * lc
    prod *= 1.0 / 6.0
    np.square(prod, out=prod)
    var = (prod.sum() - np.trace(prod)) / (n * (n - 1))
    var *= 72.0 * (n - 4) * (n - 5) / (n * (n - 1) * (n - 2) * (n - 3))
    mean = (1.0 + mu_x * mu_y - mu_x - mu_y) / n
    # Gretton's parametrisation: shape = mean^2 / var, scale = n var / mean, for n*HSIC.
    if mean <= 0 or var <= 0:
        raise ValueError("The HSIC null moments are degenerate; the data carry no variation.")
    shape = mean**2 / var
    scale = var * n / mean
    pvalue = float(stats.gamma.sf(stat, shape, scale=scale))
    return stat, pvalue, {"sigma2_x": sx, "sigma2_y": sy}


def hsic_permutation_test(x, y, rng, n_permutations=1000):
    """HSIC with a permutation null: ``p = (1 + #{T_b >= T}) / (1 + B)``."""
    n_permutations = check_int(n_permutations, "n_permutations", 1)
    n = x.shape[0]
    k, lk, sx, sy = _hsic_grams(x, y, rng)
    kc = _center(k)
    # tr(HKH L) = tr(HKH HLH): centring one Gram matrix is enough.
    stat = float(_inner(kc, lk)) / n
    null = np.empty(n_permutations)
    for b in range(n_permutations):
        p = rng.permutation(n)
        null[b] = _inner(kc, lk[np.ix_(p, p)]) / n
    pvalue = float((1 + np.count_nonzero(null >= stat)) / (1 + n_permutations))
    return stat, pvalue, {"sigma2_x": sx, "sigma2_y": sy, "n_permutations": n_permutations}


def _rff(a, n_features, rng):
    sigma2 = _median_sigma2(a, rng)
    w = rng.normal(scale=1.0 / np.sqrt(sigma2), size=(a.shape[1], n_features))
    b = rng.uniform(0.0, 2.0 * np.pi, size=n_features)
    phi = np.cos(a @ w + b)
    phi *= np.sqrt(2.0 / n_features)
    phi -= phi.mean(axis=0)
    return phi, sigma2


def hsic_rff_test(x, y, rng, n_features=100):
    """HSIC on random Fourier features, O(n D^2), gamma approximation of the null.

    With centred feature maps ``Fx``, ``Fy`` (``Kc ~ Fx Fx'``), the statistic is
    ``||Fx' Fy||_F^2 ~ tr(Kc Lc)``; under independence its mean is
    ``tr(Kc) tr(Lc) / n`` and its variance ``2 ||Kc||_F^2 ||Lc||_F^2 / n^2``.
    """
    n_features = check_int(n_features, "n_features", 1)
    n = x.shape[0]
    fx, sx = _rff(_zscore(x), n_features, rng)
    fy, sy = _rff(_zscore(y), n_features, rng)
    cxy = fx.T @ fy
    stat = float(_inner(cxy, cxy))
    cxx = fx.T @ fx
    cyy = fy.T @ fy
    mean = np.trace(cxx) * np.trace(cyy) / n
    var = 2.0 * _inner(cxx, cxx) * _inner(cyy, cyy) / n**2
    pvalue = _gamma_pvalue(stat, mean, var)
    return stat, pvalue, {"sigma2_x": sx, "sigma2_y": sy, "n_features": n_features}
