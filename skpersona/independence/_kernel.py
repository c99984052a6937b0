"""Kernel independence tests written with dense linear algebra (no Python loops per pair).

* :func:`kci_test` re-implements causal-learn's KCI (``KCI_UInd`` / ``KCI_CInd`` with
  their defaults: Gaussian kernels, empirical widths, gamma approximation) with the
  same statistic and the same null moments. ``null="spectral"`` takes instead the
  weighted chi-square law of causal-learn's ``approx=False`` (the centred kernels'
  eigenvalues) with a saddlepoint tail (:func:`weighted_chi2_sf`): on heavy-tailed data
  the gamma fit's tail is too light at levels 0.001-0.01
  (``benchmarks/bench_independence.py --only kci_tail``).

  - Unconditional: every quantity the gamma approximation needs is a sum over the
    uncentred Gram matrices (``sum(Kx o Ky)``, ``sum(Kx o Kx)``, row sums), because
    ``H K H`` expands into row and grand means. Those sums are accumulated block by block
    over the upper triangle (the matrices are symmetric), so no ``n x n`` matrix is ever
    held: O(n) memory, half the kernel evaluations, and each block stays in cache.
  - Conditional: the null moments are taken from the Hadamard product of the
    residualised kernels, ``tr(KxR o KyR)`` and ``||KxR o KyR||_F^2``, which equal
    causal-learn's ``tr(uu')`` and ``tr((uu')^2)`` without building the
    ``n x (n_eig_x * n_eig_y)`` matrix ``uu``; ``Rz`` comes from a Cholesky solve, not
    ``pinv``.

* Reusable pieces for loops that test many pairs (causal discovery, screens): the
  kernels of one variable can be built once and passed to the ``*_from_kernels``
  functions, which then cost one pass over two ``n x n`` matrices per pair::

      kx = kci_kernel(x)                      # CenteredKernel: matrix, trace, sq_norm
      ky = kci_kernel(y)
      stat, p, _ = kci_from_kernels(kx, ky)   # == kci_test(x, y)

      rz = kci_residual_operator(kci_kernel(z, z_dim=z.shape[1], role="z"))
      kxr = kci_residualize(kci_kernel(np.hstack([x, 0.5 * z]), z_dim=..., role="x"), rz)
      kyr = kci_residualize(kci_kernel(y, z_dim=..., role="y"), rz)
      stat, p, _ = kci_conditional_from_kernels(kxr, kyr)   # == kci_test(x, y, z)

  :func:`kci_kernel` standardises its input like causal-learn (z-score, ddof=1).

* :func:`hsic_gamma_test` is the HSIC test of Gretton et al. (2008) with their gamma
  approximation of the null (median-heuristic Gaussian kernels).
* :func:`hsic_permutation_test` uses the same statistic with a permutation null.
* :func:`hsic_rff_test` approximates both kernels with random Fourier features (no
  subsampling), which makes HSIC linear in the number of samples; its null is the
  two-moment gamma fit of the asymptotic weighted chi-square law.
"""

from dataclasses import dataclass
from functools import cached_property

import numpy as np
from scipy import linalg, stats
from scipy.spatial import distance

from ._encoding import check_int
from ._null_laws import (  # noqa: F401 (weighted_chi2_sf, KCI_NULLS: imported from here)
    KCI_NULLS,
    _descending_eigenvalues,
    _gamma_pvalue,
    _spectral_conditional_weights,
    _spectral_unconditional_weights,
    check_kci_null,
    weighted_chi2_sf,
)

#: Kernel entries per block of the blocked (matrix-free) unconditional KCI: two blocks of
#: this many doubles (~0.5 MiB each) stay in the L2 cache.
_BLOCK_ENTRIES = 65536



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


def _kci_width(n, table):
    for limit, width in table:
        if n < limit:
            return width
    return table[-1][1]


_HSIC_EMPIRICAL = ((200, 0.8), (1200, 0.5), (np.inf, 0.3))
_KCI_EMPIRICAL = ((200, 1.2), (1200, 0.7), (np.inf, 0.4))


def kci_standardize(a):
    """Column z-scores with ``ddof=1`` (constant columns become 0), as causal-learn's KCI."""
    return _zscore(a)


def kci_theta(n_samples, dim, z_dim=None):
    """Precision ``theta`` of causal-learn's empirical Gaussian kernel width.

    The kernel is ``exp(-0.5 * theta * ||a_i - a_j||^2)``. Unconditional KCI uses
    ``theta = dim / w^2`` with ``w`` = 0.8 / 0.5 / 0.3 below 200 / 1,200 / above samples;
    conditional KCI uses ``theta = 1 / (w^2 z_dim)`` with ``w`` = 1.2 / 0.7 / 0.4 for
    all three kernels (x with z, y, z).
    """
    if z_dim is None:
        return dim / _kci_width(n_samples, _HSIC_EMPIRICAL) ** 2
    return 1.0 / _kci_width(n_samples, _KCI_EMPIRICAL) ** 2 / z_dim


def _exponent_factors(a, theta):
    """``(L, R)`` with ``L[i] @ R[j] = -0.5 theta ||a_i - a_j||^2``.

    ``-0.5 theta (|a_i|^2 - 2 a_i.a_j + |a_j|^2)`` is one thin matrix product (``d + 2``
    inner dimensions), so a block of exponents costs a single BLAS call instead of
    broadcasting subtractions column by column.
    """
    sq = np.einsum("ij,ij->i", a, a)
    ones = np.ones((a.shape[0], 1))
    left = np.hstack([a, sq[:, None], ones])
    right = np.hstack([theta * a, -0.5 * theta * ones, -0.5 * theta * sq[:, None]])
    return left, np.ascontiguousarray(right.T)


def _gaussian_block(left, right_t, out):
    """Gaussian kernel entries ``exp(L @ R')`` of one block, in place in ``out``."""
    np.matmul(left, right_t, out=out)
    np.minimum(out, 0.0, out=out)  # rounding can make an exponent of ~0 slightly positive
    np.exp(out, out=out)
    return out


def _exact_diagonal(block, width):
    """Exact ones on the diagonal of a square leading sub-block (the Gram trick can miss)."""
    np.fill_diagonal(block[:, :width], 1.0)


_BLAS_CONTROLLER = None


def _one_blas_thread():
    """Limit BLAS to one thread: the calls are small and threads thrash on busy machines."""
    global _BLAS_CONTROLLER
    if _BLAS_CONTROLLER is None:
        from threadpoolctl import ThreadpoolController

        _BLAS_CONTROLLER = ThreadpoolController()
    return _BLAS_CONTROLLER.limit(limits=1, user_api="blas")


def _kci_unconditional_sums(x, y, theta_x, theta_y):
    """``sum(Kx o Ky)``, ``sum(Kx o Kx)``, ``sum(Ky o Ky)`` and row sums, matrix-free.

    Rows are visited in blocks; each block holds its rows' entries from the diagonal to
    the right (the upper triangle), whose off-diagonal part counts twice by symmetry and
    also gives the column sums of the lower triangle.
    """
    n = x.shape[0]
    rows = int(max(8, min(n, _BLOCK_ENTRIES // n)))
    lx, rx_t = _exponent_factors(x, theta_x)
    ly, ry_t = _exponent_factors(y, theta_y)
    buf_x = np.empty(rows * n)
    buf_y = np.empty(rows * n)
    ones = np.ones(n)
    rx = np.zeros(n)
    ry = np.zeros(n)
    sxy = sxx = syy = 0.0
    with _one_blas_thread():
        for i0 in range(0, n, rows):
            i1 = min(n, i0 + rows)
            w, m = i1 - i0, n - i0
            kx = _gaussian_block(lx[i0:i1], rx_t[:, i0:], buf_x[: w * m].reshape(w, m))
            ky = _gaussian_block(ly[i0:i1], ry_t[:, i0:], buf_y[: w * m].reshape(w, m))
            _exact_diagonal(kx, w)
            _exact_diagonal(ky, w)
            fx, fy = kx.ravel(), ky.ravel()
            dx, dy = kx[:, :w], ky[:, :w]
            # off-diagonal entries count twice: 2 * sum(block) - sum(diagonal block)
            sxy += 2.0 * np.dot(fx, fy) - np.einsum("ij,ij->", dx, dy)
            sxx += 2.0 * np.dot(fx, fx) - np.einsum("ij,ij->", dx, dx)
            syy += 2.0 * np.dot(fy, fy) - np.einsum("ij,ij->", dy, dy)
            rx[i0:i1] += kx @ ones[:m]
            ry[i0:i1] += ky @ ones[:m]
            rx[i1:] += ones[:w] @ kx[:, w:]
            ry[i1:] += ones[:w] @ ky[:, w:]
    return sxy, sxx, syy, rx, ry


def _centred_sums(n, s_ab, r_a, r_b):
    """``sum(HAH o HBH)`` from ``sum(A o B)`` and the row sums of symmetric ``A`` and ``B``."""
    return s_ab - 2.0 / n * np.einsum("i,i->", r_a, r_b) + r_a.sum() * r_b.sum() / n**2


def _kci_unconditional(x, y):
    n = x.shape[0]
    theta_x, theta_y = kci_theta(n, x.shape[1]), kci_theta(n, y.shape[1])
    sxy, sxx, syy, rx, ry = _kci_unconditional_sums(x, y, theta_x, theta_y)
    stat = float(_centred_sums(n, sxy, rx, ry))
    # the Gaussian kernel's diagonal is 1: tr(HKH) = n - sum(K) / n
    trace_x = n - rx.sum() / n
    trace_y = n - ry.sum() / n
    norm_x = _centred_sums(n, sxx, rx, rx)
    norm_y = _centred_sums(n, syy, ry, ry)
    return stat, *_kci_gamma_unconditional(n, stat, trace_x, trace_y, norm_x, norm_y)


def _kci_gamma_unconditional(n, stat, trace_x, trace_y, norm_x, norm_y):
    mean = float(trace_x * trace_y / n)
    var = float(2.0 * norm_x * norm_y / n**2)
    return _gamma_pvalue(stat, mean, var), mean, var


@dataclass(frozen=True, eq=False)
class CenteredKernel:
    """A centred kernel matrix ``H K H`` with the two numbers KCI's null needs.

    Build it once per variable with :func:`kci_kernel` (or :meth:`from_matrix` for any
    kernel) and reuse it across pairs with :func:`kci_from_kernels`.

    Attributes
    ----------
    matrix : ndarray of shape (n_samples, n_samples)
        The centred kernel matrix (not to be modified).
    trace : float
        ``trace(matrix)``.
    sq_norm : float
        ``||matrix||_F^2``.
    """

    matrix: np.ndarray
    trace: float
    sq_norm: float

    @classmethod
    def from_matrix(cls, k, *, centered=False, copy=True):
        """Wrap a symmetric kernel matrix, centring it unless ``centered=True``.

        ``copy=False`` centres ``k`` in place (saves one ``n x n`` matrix).
        """
        k = np.asarray(k, dtype=float)
        if k.ndim != 2 or k.shape[0] != k.shape[1]:
            raise ValueError(f"A kernel matrix must be square, got shape {k.shape}.")
        if not centered:
            k = _center(k.copy() if copy else k)
        return cls(matrix=k, trace=float(np.trace(k)), sq_norm=_inner(k, k))

    @cached_property
    def eigenvalues(self):
        """Eigenvalues of ``matrix``, largest first (for the spectral null; computed once)."""
        return _descending_eigenvalues(self.matrix)


def kci_kernel(a, theta=None, *, z_dim=None):
    """Centred Gaussian kernel of standardised data, with causal-learn's empirical width.

    Parameters
    ----------
    a : ndarray of shape (n_samples, n_columns)
        Data already passed through :func:`kci_standardize` (for the conditional
        ``x`` kernel: ``np.hstack([kci_standardize(x), 0.5 * kci_standardize(z)])``).
    theta : float or None, default=None
        Kernel precision; None takes :func:`kci_theta` (``z_dim`` given: conditional).
    z_dim : int or None, default=None
        Number of conditioning columns, for the conditional width.

    Returns
    -------
    CenteredKernel
    """
    a = np.asarray(a, dtype=float)
    if theta is None:
        theta = kci_theta(a.shape[0], a.shape[1], z_dim)
    k = _gaussian_gram(a, theta)
    _exact_diagonal(k, a.shape[0])
    return CenteredKernel.from_matrix(k, copy=False)


def _as_centered(k):
    return k if isinstance(k, CenteredKernel) else CenteredKernel.from_matrix(k, centered=True)


def kci_from_kernels(kx, ky, *, null="gamma"):
    """Unconditional KCI (causal-learn's ``KCI_UInd``) from centred kernels.

    Parameters
    ----------
    kx, ky : CenteredKernel or ndarray of shape (n_samples, n_samples)
        Centred kernel matrices (ndarrays are taken as already centred).
    null : {"gamma", "spectral"}, default="gamma"
        The null law, as in :func:`kci_test`.

    Returns
    -------
    statistic, pvalue, details : float, float, dict
    """
    check_kci_null(null)
    kx, ky = _as_centered(kx), _as_centered(ky)
    n = kx.matrix.shape[0]
    if ky.matrix.shape[0] != n:
        raise ValueError(f"The kernels have different sizes ({n} and {ky.matrix.shape[0]}).")
    stat = _inner(kx.matrix, ky.matrix)
    pvalue, mean, var = _kci_gamma_unconditional(
        n, stat, kx.trace, ky.trace, kx.sq_norm, ky.sq_norm
    )
    details = {"null": null, "null_mean": mean, "null_var": var}
    if null == "spectral":
        weights = _spectral_unconditional_weights(kx.eigenvalues, ky.eigenvalues, n)
        pvalue = weighted_chi2_sf(stat, weights)
        details["n_weights"] = int(weights.size)
    return stat, pvalue, details


def kci_residual_operator(kz, epsilon=1e-3):
    """``Rz = eps (Kz + eps I)^-1`` for a centred ``Kz`` (Cholesky; causal-learn uses ``pinv``).

    ``Kz`` is positive semi-definite, so ``Kz + eps I`` is positive definite and the
    Cholesky route is exact and several times faster than an SVD.
    """
    kz = kz.matrix if isinstance(kz, CenteredKernel) else np.asarray(kz, dtype=float)
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


def kci_residualize(k, rz):
    """``Rz K Rz`` (symmetrised): a kernel with the part explained by ``z`` removed."""
    k = k.matrix if isinstance(k, CenteredKernel) else np.asarray(k, dtype=float)
    out = rz @ k @ rz
    out += out.T
    out *= 0.5
    return out


def kci_conditional_from_kernels(kxr, kyr, *, null="gamma"):
    """Conditional KCI (causal-learn's ``KCI_CInd``) from residualised kernels.

    Parameters
    ----------
    kxr, kyr : ndarray of shape (n_samples, n_samples)
        :func:`kci_residualize` of the centred kernels of ``[x, z / 2]`` and ``y``.
    null : {"gamma", "spectral"}, default="gamma"
        The null law, as in :func:`kci_test`.

    Returns
    -------
    statistic, pvalue, details : float, float, dict
    """
    check_kci_null(null)
    prod = kxr * kyr
    stat = float(prod.sum())
    mean = float(np.trace(prod))
    var = 2.0 * _inner(prod, prod)
    pvalue = _gamma_pvalue(stat, mean, var)
    details = {"null": null, "null_mean": mean, "null_var": var}
    if null == "spectral":
        weights = _spectral_conditional_weights(prod)
        pvalue = weighted_chi2_sf(stat, weights)
        details["n_weights"] = int(weights.size)
    return stat, pvalue, details


def kci_test(x, y, z=None, epsilon=1e-3, *, null="gamma"):
    """KCI test with causal-learn's defaults (gamma approximation unless told otherwise).

    Parameters
    ----------
    x, y : ndarray of shape (n_samples, d)
    z : ndarray of shape (n_samples, d_z) or None
    epsilon : float, default=1e-3
        Ridge of the kernel regression on ``z``.
    null : {"gamma", "spectral"}, default="gamma"
        The statistic's null law. ``"gamma"`` matches its mean and variance with a gamma
        law (causal-learn's default, closed form, no ``n x n`` matrix unconditionally).
        ``"spectral"`` takes the weighted chi-square law
        ``sum_ij lambda_i mu_j chi2_1 / n`` from the eigenvalues of the centred kernels
        (given ``z``: of ``KxR o KyR``), the law causal-learn simulates with
        ``approx=False``, and its tail by a saddlepoint approximation
        (:func:`weighted_chi2_sf`: deterministic, no floor on the p-value). It costs one
        or two ``n x n`` eigendecompositions (O(n^3); unconditionally the kernels are then
        built whole, O(n^2) memory).

    Returns
    -------
    statistic, pvalue, details : float, float, dict
    """
    check_kci_null(null)
    n = x.shape[0]
    x = kci_standardize(x)
    y = kci_standardize(y)
    if z is None:
        width = _kci_width(n, _HSIC_EMPIRICAL)
        if null == "spectral":
            stat, pvalue, details = kci_from_kernels(kci_kernel(x), kci_kernel(y), null=null)
            return stat, pvalue, {"kernel_width": width, **details}
        stat, pvalue, mean, var = _kci_unconditional(x, y)
        return stat, pvalue, {"kernel_width": width, "null": null, "null_mean": mean,
                              "null_var": var}
    z = kci_standardize(z)
    z_dim = z.shape[1]
    rz = kci_residual_operator(kci_kernel(z, z_dim=z_dim), epsilon)
    kxr = kci_residualize(kci_kernel(np.hstack([x, 0.5 * z]), z_dim=z_dim), rz)
    kyr = kci_residualize(kci_kernel(y, z_dim=z_dim), rz)
    stat, pvalue, details = kci_conditional_from_kernels(kxr, kyr, null=null)
    details.update(kernel_width=_kci_width(n, _KCI_EMPIRICAL), epsilon=epsilon)
    return stat, pvalue, details


def _median_sigma2(a, rng, max_rows=1000):
    """Gretton's median heuristic: ``sigma^2 = median(||a_i - a_j||^2) / 2``."""
    n = a.shape[0]
    if n > max_rows:
        a = a[rng.choice(n, size=max_rows, replace=False)]
    d = distance.pdist(a, "sqeuclidean")  # the upper triangle only, no n x n index arrays
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
