"""The KCI fast path: same p-values as causal-learn and as the dense slow path."""

import numpy as np
import pytest
from causallearn.utils.KCI.KCI import KCI_CInd, KCI_UInd
from hypothesis import given, settings
from hypothesis import strategies as st

from skpersona.independence import _kernel
from skpersona.independence._kernel import (
    CenteredKernel,
    _center,
    _gaussian_gram,
    kci_conditional_from_kernels,
    kci_from_kernels,
    kci_kernel,
    kci_residual_operator,
    kci_residualize,
    kci_standardize,
    kci_test,
    kci_theta,
)


def _data(seed, n, dx=1, dy=1, strength=0.1):
    rng = np.random.default_rng(seed)
    x = rng.standard_t(4, size=(n, dx))
    y = strength * np.sin(2 * x[:, :1]) + rng.normal(size=(n, dy))
    return x, y


@pytest.mark.parametrize(("n", "dx", "dy"), [(500, 1, 1), (1000, 3, 1), (2000, 1, 2)])
def test_unconditional_kci_matches_causallearn_to_1e6(n, dx, dy):
    x, y = _data(n, n, dx, dy)
    p_ref, stat_ref = KCI_UInd().compute_pvalue(x, y)
    stat, p, _ = kci_test(x, y)
    assert stat == pytest.approx(stat_ref, rel=1e-10)
    assert abs(p - p_ref) < 1e-6


def _dense_unconditional(x, y):
    """The slow path: full centred Gram matrices, as causal-learn computes them."""
    n = x.shape[0]
    xs, ys = kci_standardize(x), kci_standardize(y)
    kx = _center(_gaussian_gram(xs, kci_theta(n, xs.shape[1])))
    ky = _center(_gaussian_gram(ys, kci_theta(n, ys.shape[1])))
    return kci_from_kernels(kx, ky)


def test_precomputed_kernels_give_the_same_test():
    x, y = _data(1, 300, 2, 1)
    stat, p, _ = kci_test(x, y)
    kx, ky = kci_kernel(kci_standardize(x)), kci_kernel(kci_standardize(y))
    assert isinstance(kx, CenteredKernel)
    s2, p2, _ = kci_from_kernels(kx, ky)
    s3, p3, _ = kci_from_kernels(kx.matrix, ky.matrix)  # plain centred ndarrays
    assert s2 == pytest.approx(stat, rel=1e-10) and s3 == pytest.approx(stat, rel=1e-10)
    assert abs(p2 - p) < 1e-12 and abs(p3 - p) < 1e-12

    rng = np.random.default_rng(2)
    z = rng.normal(size=(300, 1))
    xz = x[:, :1] + z
    stat, p, _ = kci_test(xz, y, z)
    zs = kci_standardize(z)
    rz = kci_residual_operator(kci_kernel(zs, z_dim=1))
    kxr = kci_residualize(kci_kernel(np.hstack([kci_standardize(xz), 0.5 * zs]), z_dim=1), rz)
    kyr = kci_residualize(kci_kernel(kci_standardize(y), z_dim=1), rz)
    s2, p2, _ = kci_conditional_from_kernels(kxr, kyr)
    assert s2 == pytest.approx(stat, rel=1e-10) and abs(p2 - p) < 1e-12
    ref_p, ref_stat = KCI_CInd().compute_pvalue(xz, y, z)
    assert s2 == pytest.approx(ref_stat, rel=1e-6)


def test_kernel_api_errors():
    with pytest.raises(ValueError, match="square"):
        CenteredKernel.from_matrix(np.ones((3, 4)))
    with pytest.raises(ValueError, match="different sizes"):
        kci_from_kernels(np.eye(4), np.eye(5))


_settings = settings(max_examples=40, deadline=None)


@_settings
@given(
    seed=st.integers(0, 2**31 - 1),
    n=st.integers(8, 90),
    dx=st.integers(1, 3),
    dy=st.integers(1, 12),
    block=st.sampled_from([64, 500, 65536]),
)
def test_blocked_path_equals_dense_path(seed, n, dx, dy, block):
    x, y = _data(seed, n, dx, dy, strength=0.5)
    old = _kernel._BLOCK_ENTRIES
    _kernel._BLOCK_ENTRIES = block  # small blocks exercise the multi-block bookkeeping
    try:
        stat, p, _ = kci_test(x, y)
    finally:
        _kernel._BLOCK_ENTRIES = old
    s_ref, p_ref, _ = _dense_unconditional(x, y)
    assert 0.0 <= p <= 1.0
    assert stat == pytest.approx(s_ref, rel=1e-9, abs=1e-9)
    assert abs(p - p_ref) < 1e-9


@_settings
@given(
    seed=st.integers(0, 2**31 - 1),
    n=st.integers(8, 120),
    scale=st.floats(1e-3, 1e3) | st.floats(-1e3, -1e-3),
    shift=st.floats(-1e4, 1e4),
    conditional=st.booleans(),
)
def test_kci_invariant_to_row_order_and_affine_rescaling(seed, n, scale, shift, conditional):
    x, y = _data(seed, n, 2, 1, strength=0.5)
    z = np.random.default_rng(seed).normal(size=(n, 1)) if conditional else None
    stat, p, _ = kci_test(x, y, z)
    assert 0.0 <= p <= 1.0
    perm = np.random.default_rng(seed + 1).permutation(n)
    s2, p2, _ = kci_test(x[perm], y[perm], None if z is None else z[perm])
    s3, p3, _ = kci_test(scale * x + shift, y * abs(scale) - shift, z)
    for s, q in ((s2, p2), (s3, p3)):
        assert s == pytest.approx(stat, rel=1e-6, abs=1e-8)
        assert abs(q - p) < 1e-6


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 2**31 - 1),
    n=st.integers(5, 60),
    dims=st.tuples(st.integers(1, 3), st.integers(1, 2), st.integers(0, 2)),
    method=st.sampled_from(["auto", "kci", "kci_rff", "fisherz", "hsic", "hsic_rff"]),
    integer_column=st.booleans(),
)
def test_plain_float_arrays_skip_pandas_with_the_same_result(
    seed, n, dims, method, integer_column
):
    """The ndarray fast path of independence_test equals the DataFrame (general) path."""
    import pandas as pd

    from skpersona.independence import independence_test

    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, dims[0]))
    y = np.sin(x[:, :1]) + rng.normal(size=(n, dims[1]))
    z = rng.normal(size=(n, dims[2])) if dims[2] and method not in ("hsic", "hsic_rff") else None
    if integer_column:
        x[:, 0] = rng.integers(0, 3, size=n)  # may be discrete: the general path decides
    if method == "fisherz":
        x, y = x[:, :1], y[:, :1]

    def run(a, b, c):
        try:
            return independence_test(a, b, c, method=method, random_state=0)
        except ValueError as exc:
            return type(exc).__name__ + str(exc)[:40]

    fast = run(x, y, z)
    slow = run(pd.DataFrame(x), pd.DataFrame(y), None if z is None else pd.DataFrame(z))
    if isinstance(fast, str):
        assert fast == slow
    else:
        assert (fast.method, fast.n, fast.conditional) == (slow.method, slow.n, slow.conditional)
        assert fast.statistic == pytest.approx(slow.statistic, rel=1e-12, abs=1e-12)
        assert fast.pvalue == pytest.approx(slow.pvalue, rel=1e-12, abs=1e-15)
