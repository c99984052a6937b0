"""Random-feature KCI: a kernel (conditional) independence test linear in the samples.

The Gaussian kernels of KCI are replaced by random Fourier features (Rahimi & Recht,
2007), as in RIT / RCoT (Strobl, Zhang & Visweswaran, 2019):

* ``x``, ``y`` (and ``z``) are standardised; each gets ``D`` features
  ``sqrt(2 / D) cos(a W + b)`` with ``W ~ N(0, 1 / sigma^2)``, ``sigma^2`` from the median
  heuristic on at most 1,000 rows;
* conditional: the features of ``x`` and ``y`` are residualised on features of ``z`` by
  ridge regression (RCoT), the random-feature version of KCI's kernel ridge on ``z``.
  Unlike RCoT, the ``z`` features mix three widths (the median heuristic's, a half and
  a quarter of it) plus ``z``'s own columns, their number grows with ``n``
  (:func:`default_n_features_z`) and the ridge is chosen by generalised
  cross-validation (:func:`_ridge_gcv`): what this regression misses is a bias that
  ``n`` multiplies, so it has to shrink as ``n`` grows;
* the statistic is ``T = n ||Cov(fx, fy)||_F^2``;
* under (conditional) independence ``T`` tends to ``sum_k lambda_k chi2_1``, with
  ``lambda_k`` the eigenvalues of the covariance of the per-sample products
  ``fx_i (x) fy_i`` (which also covers residual variances that change with ``z``); the
  p-value is that of the gamma law with the same mean ``tr(S)`` and variance
  ``2 tr(S^2)``, KCI's own approximation.

Time O(n (D_z^2 + D_x D_y)), memory O(n (D_z + D_x D_y)).

Limit (measured, see doc/user_guide/independence.rst): given ``z``, residualising on
random features of ``z`` leaves part of a strong nonlinear ``z`` effect in both
residuals; the leftover is a fixed covariance that ``n`` multiplies, so under
conditional independence the test over-rejects more as ``n`` grows (causal-learn's
RCIT shares it; with its 100 single-width features far more than this test: 6 of 10
against at most 3 of 10 null sets at n = 20,000 on a 3-D example).
:func:`warn_conditional_random_features` says so above
:data:`CONDITIONAL_WARN_SAMPLES` rows, and ``independence_test(method="auto")`` given
``z`` runs the exact KCI on a random subsample instead.
"""

import warnings
from dataclasses import dataclass

import numpy as np
from scipy import linalg, sparse
from scipy.spatial import cKDTree

from ._encoding import check_int
from ._kernel import _gamma_pvalue, _median_sigma2, _one_blas_thread, _zscore

#: Random features per variable for x and y, and the fewest / most for the conditioning
#: set z (:func:`default_n_features_z`).
DEFAULT_N_FEATURES = 10
DEFAULT_N_FEATURES_Z = 100
MAX_DEFAULT_N_FEATURES_Z = 500
#: Widths of the z features, as fractions of the median heuristic's: one wide width
#: misses fast z effects (sin(2 z) is out of reach of a 3-D z's median width).
_Z_SCALES = (1.0, 0.5, 0.25)
#: Ridge candidates of the z regression, relative to the largest Gram eigenvalue.
_RIDGE_GRID = np.logspace(-12, 0, 49)
#: The ridge used is GCV's times this (the smallest on the grid with at most n / 2
#: degrees of freedom): with a 3-D z acting through sin(z1) + z2 z3 on x and y, n = 1,000,
#: GCV's own ridge rejected 0.55 of null sets, 1e-2 of it 0.33, 1e-4 of it 0.10 (1e-6: 0.12).
_UNDERSMOOTH = 1e-4


def default_n_features_z(n_samples, n_columns_z=1):
    """Features of z by default: ``200`` per column of z, at most 500 (and at most
    ``max(100, n / 2)``).

    What the regression on z misses is a bias that ``n`` multiplies; a z acting through
    several columns needs many features (with a 3-D z acting through ``sin(z1) + z2 z3``
    on both x and y, n = 5,000: 125 features rejected 36 of 40 null sets, 500 features
    7 of 40). A 1-D z gets 200 (GCV uses about 30 degrees of freedom of them). The
    cost is ``n D^2`` for the Gram matrix and ``n D`` cosines: at n = 100,000 about
    2.7 s for a 1-D z and 10 s for a 3-D z (with the local correction) on 2 busy cores.
    """
    per_column = 200 * max(int(n_columns_z), 1)
    cap = max(DEFAULT_N_FEATURES_Z, int(n_samples) // 2)
    return int(min(MAX_DEFAULT_N_FEATURES_Z, per_column, cap))


#: Above this many rows a conditional random-feature test (kci_rff, rcit) warns that its
#: small p-values may be false dependencies (calibrated at n = 300-1,000; over-rejecting
#: from a few thousand rows on data with strongly nonlinear z effects).
CONDITIONAL_WARN_SAMPLES = 2000


def warn_conditional_random_features(method, n_samples, stacklevel=3):
    """Warn that a conditional random-feature test at ``n_samples`` rows is approximate."""
    if n_samples <= CONDITIONAL_WARN_SAMPLES:
        return
    warnings.warn(
        f"method={method!r} given z at n = {n_samples:,} is approximate: its regression on "
        "random features of z leaves part of a nonlinear z effect, which large n reports "
        "as dependence, so it can over-reject under conditional independence (measured "
        "rejection rates at alpha = 0.05 up to 0.17 with a 3-D z, n = 3,000-20,000, and "
        "0.09 with a 1-D z at n = 100,000). "
        "Confirm small p-values with method='kci' on a random subsample of about 1,000 "
        "rows (what method='auto' does given z).",
        UserWarning,
        stacklevel=stacklevel,
    )


#: Above CONDITIONAL_WARN_SAMPLES rows and for z with at most this many columns, the
#: random-feature residuals are further corrected by a local-linear nearest-neighbour
#: regression on z (:func:`_local_linear_operator`), which removes most of what the
#: random features of z miss.
LOCAL_MAX_DIM_Z = 3
#: Fewest rows for the local correction (below, its windows are too wide to help:
#: 0.37 of null sets rejected instead of 0.17 on the curved 3-D z example at n = 1,000).
LOCAL_MIN_SAMPLES = 2000
_LOCAL_NEIGHBOURS = 30
_LOCAL_BLOCK = 20000
#: Rows on which the diagonal of the null's variance factor is computed exactly.
_INFLATION_ROWS = 2000


def _local_linear_operator(z, k):
    """Sparse ``n x n`` leave-one-out local-linear smoother on the ``k`` nearest neighbours.

    Row ``i`` holds the weights whose product with a column ``r`` is the intercept at
    ``z_i`` of the (slightly ridged) linear least-squares fit of ``r`` on ``z`` over the
    ``k`` neighbours of ``i`` (``i`` itself excluded, so its own noise is not fitted).
    """
    n, d = z.shape
    _, idx = cKDTree(z).query(z, k=k + 1, workers=1)
    own = idx == np.arange(n)[:, None]
    own[~own.any(axis=1), -1] = True  # ties left i out: drop the farthest instead
    cols = idx[~own].reshape(n, k)
    weights = np.empty((n, k))
    for start in range(0, n, _LOCAL_BLOCK):  # bounded memory: blocks of (block, k, d + 1)
        c = cols[start : start + _LOCAL_BLOCK]
        design = np.empty(c.shape + (d + 1,))
        design[:, :, 0] = 1.0
        design[:, :, 1:] = z[c] - z[start : start + len(c), None, :]
        gram = np.einsum("bki,bkj->bij", design, design)
        ridge = 1e-3 * np.einsum("bii->b", gram[:, 1:, 1:]) / d + 1e-8
        gram[:, 1:, 1:] += ridge[:, None, None] * np.eye(d)
        unit = np.zeros((len(c), d + 1, 1))
        unit[:, 0] = 1.0
        coef = np.linalg.solve(gram, unit)[:, :, 0]
        weights[start : start + len(c)] = np.einsum("bkj,bj->bk", design, coef)
    return sparse.csr_matrix(
        (weights.ravel(), cols.ravel(), np.arange(0, n * k + 1, k)), shape=(n, n)
    )


def _shared_noise_inflation(fz, ridge, smoother, rng, n_probes=4):
    """Variance factor for residuals ``B eps`` with ``B = (I - S)(I - P)`` (``S`` smoother).

    ``P = fz M fz'`` is the ridge regression on the z features (``M = ridge.inverse``),
    ``S`` the local fit (zero without the local correction). Both share noise between
    rows, so the per-sample products are no longer independent: for homoscedastic noise the statistic's variance is
    ``||B' B||_F^2`` times, the per-sample estimate ``sum_a (B B')_aa^2`` times the
    noise variances. Their ratio (>= 1, about 1.02-1.2 here) scales the null. With
    ``S`` the Frobenius norm comes from Hutchinson probes, without it exactly from the
    eigenvalues of ``G = fz' fz`` (``(I - P)^2 = I - fz (2 M - M G M) fz'``); the
    diagonal exactly, on all rows up to :data:`_INFLATION_ROWS` (so the result does not
    depend on the row order) and on as many random rows above.
    """

    def apply(g):  # B g
        g = g - fz @ (ridge.inverse @ (fz.T @ g))
        return g - smoother @ g

    def apply_t(h):  # B' h
        h = h - smoother.T @ h
        return h - fz @ (ridge.inverse @ (fz.T @ h))

    n = fz.shape[0]
    if smoother.nnz == 0:  # B = I - P: ||(I - P)^2||_F^2 from the eigenvalues, exactly
        h = ridge.eig * ridge.squared_shrink  # eigenvalues of fz (2M - MGM) fz'
        frobenius = float(n - 2.0 * h.sum() + h @ h)
    else:
        probes = rng.choice([-1.0, 1.0], size=(n, n_probes))
        frobenius = float(np.sum(apply_t(apply(probes)) ** 2)) / n_probes
    # the diagonal on at most _INFLATION_ROWS random rows (all of it costs n D^2)
    if n <= _INFLATION_ROWS:
        rows = np.arange(n)
    else:
        rows = np.sort(rng.choice(n, size=_INFLATION_ROWS, replace=False))
    local = smoother[rows]
    v = fz[rows] - local @ fz
    leverage = np.einsum("ij,ji->i", v, ridge.squared_residual_operator @ v.T)
    diag = 1.0 + np.asarray(local.multiply(local).sum(axis=1)).ravel() - leverage
    return max(frobenius / (float(diag @ diag) * n / len(rows)), 1.0)


def _fourier_features(a, n_features, rng):
    sigma2 = _median_sigma2(a, rng)
    w = rng.normal(scale=1.0 / np.sqrt(sigma2), size=(a.shape[1], n_features))
    b = rng.uniform(0.0, 2.0 * np.pi, size=n_features)
    phi = a @ w
    phi += b
    np.cos(phi, out=phi)
    phi *= np.sqrt(2.0 / n_features)
    phi -= phi.mean(axis=0)
    return phi, sigma2


def _z_features(z, n_features, rng):
    """Random Fourier features of standardised ``z`` at the widths :data:`_Z_SCALES`
    (median heuristic times each), plus the columns of ``z`` itself; centred."""
    sigma2 = _median_sigma2(z, rng)
    d = z.shape[1]
    widths = np.repeat(_Z_SCALES, -(-n_features // len(_Z_SCALES)))[:n_features]
    w = rng.normal(size=(d, n_features)) / (widths * np.sqrt(sigma2))
    b = rng.uniform(0.0, 2.0 * np.pi, size=n_features)
    out = np.empty((z.shape[0], d + n_features))
    out[:, :d] = z
    # phases and cosines in float32 (numpy's float32 cos is vectorised: ~25x faster at
    # n = 100,000 x 500; the features move by ~1e-6, far below what the regression sees)
    phase = z.astype(np.float32) @ w.astype(np.float32)
    phase += b.astype(np.float32)
    np.cos(phase, out=phase)
    phi = out[:, d:]
    phi[...] = phase
    phi *= np.sqrt(2.0 / n_features)
    out -= out.mean(axis=0)
    return out, sigma2


@dataclass
class _RidgeFit:
    """Ridge regression on the z features, ridge chosen by GCV; ``inverse = (G + l I)^-1``."""

    inverse: np.ndarray
    squared_residual_operator: np.ndarray  # 2 M - M G M: (I - P)^2 = I - fz (.) fz'
    ridge: float
    effective_df: float
    eig: np.ndarray  # of G = fz' fz
    squared_shrink: np.ndarray  # 2 / (eig + l) - eig / (eig + l)^2


def _ridge_for_df(eig, df, scale):
    """The ridge whose fit has ``df`` effective degrees of freedom (0 if all fits have
    fewer), by bisection on a log scale."""
    if np.sum(eig > 1e-12 * scale) <= df:
        return 0.0
    lo, hi = np.log(scale * 1e-16), np.log(scale * 1e8)
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        if float(eig @ (1.0 / (eig + np.exp(mid)))) > df:
            lo = mid
        else:
            hi = mid
    return float(np.exp(hi))


def _ridge_gcv(fz, targets):
    """Ridge of ``targets`` on ``fz`` with the penalty minimising generalised CV.

    From one eigendecomposition ``fz' fz = V diag(L) V'`` every candidate ``l`` costs
    ``O(D m)``: with ``q = V' fz' t``, the residual sum of squares is
    ``|t|^2 - sum (2 / (L + l) - L / (L + l)^2) q^2`` and the effective degrees of
    freedom ``sum L / (L + l)``; GCV is ``RSS / (1 - df / n)^2`` summed over the targets.
    Fits of more than ``n / 2`` degrees of freedom are not considered (with more features
    than rows GCV would pick interpolation, leaving no residual to test).
    """
    n = fz.shape[0]
    gram = fz.T @ fz
    eig, vec = linalg.eigh(gram, check_finite=False)
    eig = np.clip(eig, 0.0, None)
    q2 = (vec.T @ (fz.T @ targets)) ** 2
    total = float(np.einsum("ij,ij->", targets, targets))
    scale = max(float(eig[-1]), 1e-300)
    # at most n / 2 degrees of freedom; continuous in the data, so no row-order effects
    floor = max(_ridge_for_df(eig, n / 2, scale), _RIDGE_GRID[0] * scale)
    best = None
    for ridge in np.append(floor, _RIDGE_GRID[_RIDGE_GRID * scale > floor] * scale):
        shrink = 1.0 / (eig + ridge)
        rss = total - float((2.0 * shrink - eig * shrink**2) @ q2.sum(axis=1))
        df = float(eig @ shrink)
        gcv = max(rss, 0.0) / (1.0 - df / n) ** 2
        if best is None or gcv < best[0]:
            best = (gcv, ridge)
    # undersmooth: a test needs a smaller bias than a prediction (the bias is what n
    # multiplies), at most n / 2 degrees of freedom still
    ridge = float(max(_UNDERSMOOTH * best[1], floor))
    df = float(eig @ (1.0 / (eig + ridge)))
    shrink = 1.0 / (eig + ridge)
    squared_shrink = 2.0 * shrink - eig * shrink**2
    inverse = (vec * shrink) @ vec.T
    squared = (vec * squared_shrink) @ vec.T
    return _RidgeFit(inverse, squared, ridge, df, eig, squared_shrink)


def rff_kci_test(
    x, y, z=None, *, rng, n_features=None, n_features_z=None, local_correction=True
):
    """Random-feature KCI (RIT without ``z``, RCoT with ``z``), gamma null.

    Parameters
    ----------
    x, y : ndarray of shape (n_samples, d)
    z : ndarray of shape (n_samples, d_z) or None
    rng : numpy.random.RandomState
        Draws the features (and the median heuristic's subsample).
    n_features : int or None, default=None
        Features for ``x`` and for ``y`` (:data:`DEFAULT_N_FEATURES`).
    n_features_z : int or None, default=None
        Random features for ``z`` (:func:`default_n_features_z`: 200 per column of
        ``z``, at most 500 and at most ``max(100, n / 2)``), split over three widths;
        ``z``'s own columns are added.
    local_correction : bool, default=True
        Above :data:`CONDITIONAL_WARN_SAMPLES` rows and for ``z`` of at most
        :data:`LOCAL_MAX_DIM_Z` columns, also remove from the residuals their local-linear
        nearest-neighbour fit on ``z`` (``False``: the global ridge fit alone, for
        comparisons).

    Returns
    -------
    statistic, pvalue, details : float, float, dict
    """
    d_xy = DEFAULT_N_FEATURES if n_features is None else check_int(n_features, "n_features", 1)
    d_z = (
        default_n_features_z(x.shape[0], 1 if z is None else z.shape[1])
        if n_features_z is None
        else check_int(n_features_z, "n_features_z", 1)
    )
    with _one_blas_thread():  # thin products: BLAS threads only thrash
        return _rff_kci(x, y, z, rng, d_xy, d_z, local_correction)


def _rff_kci(x, y, z, rng, d_xy, d_z, local_correction):
    n = x.shape[0]
    inflation = 1.0
    fx, sx = _fourier_features(_zscore(x), d_xy, rng)
    fy, sy = _fourier_features(_zscore(y), d_xy, rng)
    details = {"n_features": d_xy, "sigma2_x": sx, "sigma2_y": sy}
    if z is not None:
        fz, sz = _z_features(_zscore(z), d_z, rng)
        ridge = _ridge_gcv(fz, np.hstack([fx, fy]))
        fx = fx - fz @ (ridge.inverse @ (fz.T @ fx))
        fy = fy - fz @ (ridge.inverse @ (fz.T @ fy))
        details.update(
            n_features_z=d_z, sigma2_z=sz, ridge_z=ridge.ridge, effective_df_z=ridge.effective_df
        )
        local = local_correction and n > LOCAL_MIN_SAMPLES and z.shape[1] <= LOCAL_MAX_DIM_Z
        if local:  # what the features of z missed, large n would see: smooth it out locally
            smoother = _local_linear_operator(_zscore(z), _LOCAL_NEIGHBOURS)
            fx -= smoother @ fx
            fy -= smoother @ fy
        else:
            smoother = sparse.csr_matrix((n, n))
        # the (undersmoothed) ridge fit also shares noise between rows
        inflation = _shared_noise_inflation(fz, ridge, smoother, rng)
        details["local_correction"] = local
    # per-sample products fx_i (x) fy_i: their mean is Cov(fx, fy), their covariance the null's
    prod = (fx[:, :, None] * fy[:, None, :]).reshape(n, -1)
    mean_prod = prod.mean(axis=0)
    stat = float(n * mean_prod @ mean_prod)
    prod -= mean_prod
    cov = prod.T @ prod
    cov /= n
    cov *= inflation
    details["variance_inflation"] = inflation
    null_mean = float(np.trace(cov))
    null_var = 2.0 * float(np.einsum("ij,ij->", cov, cov))
    pvalue = _gamma_pvalue(stat, null_mean, null_var)
    details.update(null_mean=null_mean, null_var=null_var)
    return stat, pvalue, details
