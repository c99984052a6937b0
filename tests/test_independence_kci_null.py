"""KCI's spectral null (``null="spectral"``): causal-learn's ``approx=False`` law, its
simulation shortcut, and its plumbing through independence_test, the tester and the screen."""

import numpy as np
import pandas as pd
import pytest
from causallearn.utils.KCI.KCI import KCI_CInd, KCI_UInd
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from skpersona.independence import DependencyScreen, IndependenceTester, independence_test
from skpersona.independence._kernel import (
    _weighted_chi2_sf,
    kci_kernel,
    kci_standardize,
    kci_test,
)
from skpersona.independence._memory import estimate_test_memory


def _heavy(seed, n, strength, d_z=0):
    """Lognormal x, t(3) y with a weak dependence on log x (and on z when given)."""
    rng = np.random.default_rng(seed)
    x = rng.lognormal(size=(n, 1))
    z = rng.standard_t(3, size=(n, d_z)) if d_z else None
    y = strength * np.log(x) + rng.standard_t(3, size=(n, 1))
    if d_z:
        y = y + 0.3 * z[:, :1]
    return x, y, z


@pytest.mark.parametrize(("strength", "d_z"), [(0.05, 0), (0.3, 2)])
def test_spectral_null_agrees_with_causallearn_approx_false(strength, d_z):
    x, y, z = _heavy(7, 200, strength, d_z)
    draws = 20_000
    np.random.seed(0)  # noqa: NPY002 (causal-learn draws from the global generator)
    if z is None:
        p_ref, stat_ref = KCI_UInd(approx=False, null_ss=draws).compute_pvalue(x, y)
    else:
        p_ref, stat_ref = KCI_CInd(approx=False, nullss=draws).compute_pvalue(x, y, z)
    stat, p, details = kci_test(x, y, z, null="spectral", n_draws=draws, random_state=0)
    gamma_p = kci_test(x, y, z)[1]
    assert stat == pytest.approx(stat_ref, rel=1e-8)
    assert 0.002 < p_ref < 0.5
    # two independent simulations of the same law: 4 standard errors of their difference
    se = np.sqrt(2 * p_ref * (1 - p_ref) / draws)
    assert abs(p - p_ref) < 4 * se + 1e-4
    assert details["null"] == "spectral" and details["n_draws"] == draws
    if z is None:  # in the tail the gamma fit is a lighter law: about half the p-value
        assert gamma_p < 0.7 * p_ref


@settings(max_examples=15, deadline=None)
@given(k=st.integers(1, 30), w=st.floats(0.01, 100.0), q=st.sampled_from([0.5, 0.9, 0.99]))
def test_weighted_chi2_equal_weights_is_a_scaled_chi2(k, w, q):
    draws = 4000
    stat = w * stats.chi2.ppf(q, k)
    p = _weighted_chi2_sf(stat, np.full(k, w), 0, draws)
    lo, hi = stats.binom.interval(0.999, draws, 1 - q)
    assert (1 + lo) / (1 + draws) <= p <= (1 + hi) / (1 + draws)


def test_normal_remainder_moves_no_tail_quantile():
    # a Gaussian-kernel-like spectrum: a few large weights, hundreds of small ones, whose
    # exact sum (equal weights) is 1e-3 chi2_400; dropping them would move p visibly
    lead, small = 0.6 ** np.arange(25), np.full(400, 1e-3)
    rng = np.random.default_rng(1)
    exact = (rng.standard_normal((400_000, lead.size)) ** 2) @ lead
    exact += 1e-3 * rng.chisquare(small.size, exact.size)
    draws = 50_000
    for q in (0.9, 0.99, 0.999):
        p = _weighted_chi2_sf(np.quantile(exact, q), np.concatenate([lead, small]), 2, draws)
        assert abs(p - (1 - q)) < 5 * np.sqrt(q * (1 - q) / draws) + 1e-4


def test_plumbing_through_independence_test_tester_and_screen():
    x, y, z = _heavy(3, 150, 0.4, 1)
    data = np.column_stack([x, y, z])
    for cond, zz in ((None, None), ([2], z)):
        ours = independence_test(x, y, zz, method="kci", null="spectral", random_state=5)
        tester = IndependenceTester(data, method="kci", random_state=5, null="spectral")
        assert tester.test(0, 1, cond).pvalue == ours.pvalue
        assert ours.details["null"] == "spectral"
        gamma = independence_test(x, y, zz, method="kci")
        assert gamma.details["null"] == "gamma" and gamma.pvalue != ours.pvalue
    # the screen hands test_options["kci"] to its kci tests
    frame = pd.DataFrame({"a": x[:, 0], "b": y[:, 0], "c": z[:, 0]})
    screens = {
        null: DependencyScreen(random_state=0, test_options={"kci": {"null": null}}).fit(frame)
        for null in ("gamma", "spectral")
    }
    assert not screens["gamma"].pvalues_.equals(screens["spectral"].pvalues_)


def test_kept_kernel_computes_its_eigenvalues_once():
    k = kci_kernel(kci_standardize(np.random.default_rng(0).normal(size=(50, 1))))
    first = k.eigenvalues
    assert k.eigenvalues is first
    assert np.all(np.diff(first) <= 0)
    assert np.allclose(np.sort(first), np.linalg.eigvalsh(k.matrix))


def test_spectral_option_errors_and_memory():
    x, y, z = _heavy(1, 40, 0.0, 1)
    with pytest.raises(ValueError, match="null must be one of"):
        independence_test(x, y, method="kci", null="permutation")
    with pytest.raises(ValueError, match="n_draws"):
        kci_test(x, y, null="spectral", n_draws=0)
    with pytest.raises(TypeError, match="without z; allowed"):
        independence_test(x, y, method="kci", epsilon=1e-2)
    assert independence_test(x, y, z, method="kci", epsilon=1e-2).details["epsilon"] == 1e-2
    # unconditionally the spectral null needs the dense kernels the gamma null avoids
    gamma = estimate_test_memory("kci", 5000, False)
    spectral = estimate_test_memory("kci", 5000, False, options={"null": "spectral"})
    assert spectral > 3 * 8 * 5000**2 > 100 * gamma
