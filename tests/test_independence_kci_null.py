"""KCI's spectral null (``null="spectral"``): causal-learn's ``approx=False`` law, its
saddlepoint tail, and its plumbing through independence_test, the tester and the screen."""

import numpy as np
import pandas as pd
import pytest
from causallearn.utils.KCI.KCI import KCI_CInd, KCI_UInd
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from skpersona.independence import DependencyScreen, IndependenceTester, independence_test
from skpersona.independence._kernel import (
    kci_kernel,
    kci_standardize,
    kci_test,
    weighted_chi2_sf,
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
    stat, p, details = kci_test(x, y, z, null="spectral")
    gamma_p = kci_test(x, y, z)[1]
    assert stat == pytest.approx(stat_ref, rel=1e-8)
    assert 0.002 < p_ref < 0.5
    # causal-learn's simulation (4 standard errors) against the saddlepoint (3% relative)
    se = np.sqrt(p_ref * (1 - p_ref) / draws)
    assert abs(p - p_ref) < 4 * se + 0.03 * p_ref
    assert details["null"] == "spectral" and details["n_weights"] > 10
    if z is None:  # in the tail the gamma fit is a lighter law: about half the p-value
        assert gamma_p < 0.7 * p_ref


@settings(max_examples=40, deadline=None)
@given(k=st.integers(1, 30), w=st.floats(1e-3, 1e3),
       p=st.sampled_from([0.5, 0.1, 0.01, 1e-3, 1e-5, 1e-8]))
def test_saddlepoint_of_equal_weights_matches_the_scaled_chi2(k, w, p):
    exact = stats.chi2.sf(stats.chi2.isf(p, k), k)  # p itself, up to rounding
    ratio = weighted_chi2_sf(w * stats.chi2.isf(p, k), np.full(k, w)) / exact
    assert 0.97 < ratio < (1.08 if k == 1 else 1.035)
    if p <= 0.01:  # in the upper tail the approximation errs on the safe side
        assert ratio >= 0.999


def test_saddlepoint_matches_brute_force_on_a_kernel_like_spectrum():
    # a few large weights and hundreds of small ones (equal: their sum is 1e-3 chi2_400)
    lead, small = 0.6 ** np.arange(25), np.full(400, 1e-3)
    rng = np.random.default_rng(1)
    draws = 400_000
    exact = (rng.standard_normal((draws, lead.size)) ** 2) @ lead
    exact += 1e-3 * rng.chisquare(small.size, draws)
    weights = np.concatenate([lead, small])
    for q in (0.5, 0.9, 0.99, 0.999):
        p = weighted_chi2_sf(np.quantile(exact, q), weights)
        assert abs(p - (1 - q)) < 4 * np.sqrt(q * (1 - q) / draws) + 0.03 * (1 - q)
    assert weighted_chi2_sf(0.0, weights) == 1.0
    assert weighted_chi2_sf(1e6, weights) < 1e-100


def test_plumbing_through_independence_test_tester_and_screen():
    x, y, z = _heavy(3, 150, 0.4, 1)
    data = np.column_stack([x, y, z])
    for cond, zz in ((None, None), ([2], z)):
        ours = independence_test(x, y, zz, method="kci", null="spectral")
        tester = IndependenceTester(data, method="kci", null="spectral")
        assert tester.test(0, 1, cond).pvalue == ours.pvalue
        assert ours.details["null"] == "spectral"
        gamma = independence_test(x, y, zz, method="kci")
        assert gamma.details["null"] == "gamma" and gamma.pvalue != ours.pvalue
    # the screen hands test_options["kci"] to its kci tests; its default is the spectral
    # null (chosen on bench_independence --only kci_tail), and other kci options keep it
    frame = pd.DataFrame({"a": x[:, 0], "b": y[:, 0], "c": z[:, 0]})

    def kci_pvalues(**kwargs):
        table = DependencyScreen(random_state=0, **kwargs).fit(frame).pvalues_
        return table.loc[table["method"] == "kci", "pvalue"].to_numpy()

    default = kci_pvalues()
    assert np.array_equal(default, kci_pvalues(test_options={"kci": {"null": "spectral"}}))
    assert np.array_equal(default, kci_pvalues(test_options={"kci": {"max_memory": "1GB"}}))
    gamma = kci_pvalues(test_options={"kci": {"null": "gamma"}})
    assert gamma.size == 3 and not np.allclose(default, gamma, rtol=1e-3)
    ab = [independence_test(frame[a], frame[b], method="kci").pvalue
          for a, b in (("a", "b"), ("a", "c"), ("b", "c"))]
    assert np.allclose(np.sort(gamma), np.sort(ab))


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
    with pytest.raises(TypeError, match="allowed: \\['null'\\]"):
        independence_test(x, y, method="kci", n_draws=100)
    with pytest.raises(TypeError, match="without z; allowed"):
        independence_test(x, y, method="kci", epsilon=1e-2)
    assert independence_test(x, y, z, method="kci", epsilon=1e-2).details["epsilon"] == 1e-2
    # unconditionally the spectral null needs the dense kernels the gamma null avoids
    gamma = estimate_test_memory("kci", 5000, False)
    spectral = estimate_test_memory("kci", 5000, False, options={"null": "spectral"})
    assert spectral > 3 * 8 * 5000**2 > 100 * gamma


@pytest.mark.slow  # 1,500 null sets: about 15 s on an idle core
def test_spectral_null_holds_the_tail_where_the_gamma_fit_does_not():
    # a normal mixture (10% five times wider) against chi2(1), independent, n = 150
    n, sets, alpha = 150, 1500, 0.005
    counts = {"gamma": 0, "spectral": 0}
    for i in range(sets):
        rng = np.random.default_rng([321, n, i])
        x = rng.normal(size=(n, 1)) * np.where(rng.random((n, 1)) < 0.1, 5.0, 1.0)
        y = rng.chisquare(1, size=(n, 1))
        for null in counts:
            counts[null] += kci_test(x, y, null=null)[1] <= alpha
    low, high = stats.binom.interval(0.99, sets, alpha)  # 2 to 15 rejections
    assert low <= counts["spectral"] <= high
    assert counts["gamma"] > high  # 18: the gamma fit's tail is too light here
