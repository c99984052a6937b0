"""independence_test: agreement with causal-learn, power, calibration spot checks, errors."""

import numpy as np
import pandas as pd
import pytest
from causallearn.utils.cit import CIT
from causallearn.utils.KCI.KCI import KCI_CInd, KCI_UInd

from skpersona.independence import IndependenceTestResult, independence_test
from skpersona.independence._test import AUTO_KCI_MAX_SAMPLES


def _nonlinear(n, seed, strength=1.0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    y = strength * np.sin(2 * x) + 0.3 * rng.normal(size=n)
    return x, y


def _chain(n, seed):
    """x -> z -> y: x and y dependent, independent given z."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    z = np.tanh(x) + 0.3 * rng.normal(size=n)
    y = z**2 + 0.3 * rng.normal(size=n)
    return x, y, z


@pytest.mark.parametrize("n", [80, 250])
def test_kci_unconditional_matches_causallearn(n):
    x, y = _nonlinear(n, 0, strength=0.3)
    ours = independence_test(x, y, method="kci")
    p_ref, stat_ref = KCI_UInd().compute_pvalue(x[:, None], y[:, None])
    assert ours.statistic == pytest.approx(stat_ref, rel=1e-9)
    assert ours.pvalue == pytest.approx(p_ref, rel=1e-6, abs=1e-12)


@pytest.mark.parametrize("n", [80, 250])
def test_kci_conditional_matches_causallearn(n):
    x, y, z = _chain(n, 1)
    ours = independence_test(x, y, z, method="kci")
    p_ref, stat_ref = KCI_CInd().compute_pvalue(x[:, None], y[:, None], z[:, None])
    assert ours.statistic == pytest.approx(stat_ref, rel=1e-6)
    # causal-learn drops eigen-directions below 1e-5 of the largest; we keep them all.
    assert ours.pvalue == pytest.approx(p_ref, abs=2e-3)


def test_fisherz_matches_causallearn():
    x, y, z = _chain(300, 2)
    data = np.column_stack([x, y, z])
    cit = CIT(data, "fisherz")
    assert independence_test(x, y, method="fisherz").pvalue == pytest.approx(cit(0, 1), rel=1e-7)
    assert independence_test(x, y, z, method="fisherz").pvalue == pytest.approx(
        cit(0, 1, [2]), rel=1e-7
    )


@pytest.mark.parametrize("method", ["chi2", "gsq"])
def test_contingency_matches_causallearn(method):
    rng = np.random.default_rng(3)
    z = rng.integers(0, 3, size=600)
    x = z + rng.integers(0, 2, size=600)
    y = z + rng.integers(0, 3, size=600)
    data = np.column_stack([x, y, z])
    cit = CIT(data, "chisq" if method == "chi2" else "gsq")
    uncond = independence_test(x, y, method=method)
    cond = independence_test(x, y, z, method=method)
    assert uncond.pvalue == pytest.approx(cit(0, 1), rel=1e-7, abs=1e-15)
    assert cond.pvalue == pytest.approx(cit(0, 1, [2]), rel=1e-7)
    assert uncond.pvalue < 1e-3 < cond.pvalue
    assert cond.details["dof"] > 0


@pytest.mark.parametrize("method", ["kci", "rcit", "hsic", "hsic_perm", "hsic_rff", "fastkci"])
def test_detects_nonlinear_dependence_and_not_independence(method):
    n = {"fastkci": 120, "hsic_perm": 200}.get(method, 300)
    x, y = _nonlinear(n, 4)
    kwargs = {"hsic_perm": {"n_permutations": 200}, "fastkci": {"J": 3}}.get(method, {})
    dep = independence_test(x, y, method=method, random_state=0, **kwargs)
    rng = np.random.default_rng(5)
    ind = independence_test(
        rng.normal(size=n), rng.normal(size=n), method=method, random_state=0, **kwargs
    )
    assert isinstance(dep, IndependenceTestResult)
    assert dep.method == method and dep.n == n and not dep.conditional
    assert dep.pvalue < 0.01 and dep.reject()
    assert ind.pvalue > 0.01
    # A purely nonlinear (zero-correlation) dependence that Fisher-z misses.
    rng = np.random.default_rng(6)
    u = rng.normal(size=n)
    if method != "fastkci":
        sym = independence_test(u, u**2 + 0.2 * rng.normal(size=n), method=method, random_state=0,
                                **kwargs)
        assert sym.pvalue < 0.01


@pytest.mark.parametrize("method", ["kci", "rcit", "fisherz"])
def test_conditional_independence_on_a_chain(method):
    x, y, z = _chain(400, 7)
    if method == "fisherz":
        y = z + 0.3 * np.random.default_rng(8).normal(size=400)  # linear chain
    marginal = independence_test(x, y, method=method, random_state=0)
    given_z = independence_test(x, y, z, method=method, random_state=0)
    assert given_z.conditional
    assert marginal.pvalue < 0.01
    assert given_z.pvalue > 0.01


def test_randomised_tests_are_reproducible_and_keep_global_state():
    x, y = _nonlinear(200, 9, strength=0.2)
    state = np.random.get_state()  # noqa: NPY002
    a = independence_test(x, y, method="rcit", random_state=3)
    b = independence_test(x, y, method="rcit", random_state=3)
    after = np.random.get_state()  # noqa: NPY002
    assert a.pvalue == b.pvalue and a.statistic == b.statistic
    assert np.array_equal(state[1], after[1]) and state[2] == after[2]
    c = independence_test(x, y, method="hsic_rff", random_state=3)
    d = independence_test(x, y, method="hsic_rff", random_state=3)
    assert c.pvalue == d.pvalue


def test_hsic_gamma_close_to_permutation():
    x, y = _nonlinear(200, 10, strength=0.15)
    gamma = independence_test(x, y, method="hsic").pvalue
    perm = independence_test(x, y, method="hsic_perm", n_permutations=500, random_state=0).pvalue
    assert abs(gamma - perm) < 0.07


def test_auto_picks_by_type_and_size():
    rng = np.random.default_rng(11)
    n = 200
    g = rng.choice(["f", "m"], size=n)
    c = rng.integers(0, 3, size=n)
    assert independence_test(g, c).method == "chi2"
    x = rng.normal(size=n)
    assert independence_test(x, g).method == "kci"
    big = AUTO_KCI_MAX_SAMPLES + 200  # exact KCI stays unconditionally (matrix-free)
    assert independence_test(rng.normal(size=big), rng.normal(size=big)).method == "kci"
    with pytest.warns(UserWarning, match="chose 'kci' on a subsample"):  # given z
        given = independence_test(*rng.normal(size=(3, big)), random_state=0)
    assert given.method == "kci" and given.details["method_requested"] == "auto"
    assert given.n == 1000 and given.details["subsample"] == {"rows": 1000, "of": big}
    # no memory for the subsample's kernels (42 MB), enough for kci_rff (36 MB, also bounded)
    with pytest.warns(UserWarning, match="chose 'kci_rff'"):
        given = independence_test(*rng.normal(size=(3, big)), random_state=0, max_memory="40MB")
    assert given.method == "kci_rff" and given.details["method_requested"] == "auto"


def test_mixed_types_and_multicolumn_blocks():
    rng = np.random.default_rng(12)
    n = 300
    gender = pd.Series(rng.choice(["female", "male", "other"], size=n), name="gender")
    shift = gender.map({"female": 0.0, "male": 1.0, "other": -1.0}).to_numpy()
    traits = pd.DataFrame({"a": shift + 0.5 * rng.normal(size=n), "b": rng.normal(size=n)})
    res = independence_test(traits, gender, method="kci")
    assert res.pvalue < 1e-3
    block = independence_test(rng.normal(size=(n, 3)), rng.normal(size=(n, 2)), method="hsic")
    assert block.pvalue > 0.01
    boolean = independence_test(shift > 0, traits["a"], method="rcit", random_state=0)
    assert boolean.pvalue < 1e-3
    # Two-level categoricals work with Fisher-z (one indicator after dropping one level).
    two = gender.where(gender != "other", "female")
    assert independence_test(two, traits["a"], method="fisherz").pvalue < 1e-3


@pytest.mark.parametrize(
    ("x", "y", "kwargs", "match"),
    [
        ([1.0, np.nan, 3, 4, 5, 6], [1, 2, 3, 4, 5, 6.0], {}, "NaN"),
        ([1.0, np.inf, 3, 4, 5, 6], [1, 2, 3, 4, 5, 6.0], {}, "infinite"),
        ([1.0, 1, 1, 1, 1, 1], [1, 2, 3, 4, 5, 6.0], {}, "constant"),
        ([1.0, 2, 3, 4, 5, 6], [1, 2, 3, 4, 5.0], {}, "same number of samples"),
        ([1.0, 2, 3], [3, 1, 2.0], {}, "at least 5 samples"),
        (np.linspace(0, 1, 20), np.linspace(1, 0, 20) ** 2, {"method": "chi2"}, "non-integer"),
        (np.arange(20.0), np.arange(20.0) ** 2, {"method": "nope"}, "method must be one of"),
        (np.arange(20.0), np.arange(20.0) ** 2, {"method": "hsic", "z": np.arange(20.0) ** 3},
         "unconditional"),
    ],
)
def test_clear_errors(x, y, kwargs, match):
    with pytest.raises(ValueError, match=match):
        independence_test(x, y, **kwargs)


def test_option_errors():
    x, y = _nonlinear(50, 13)
    with pytest.raises(TypeError, match="Unexpected option"):
        independence_test(x, y, method="hsic", num_f=10)
    with pytest.raises(TypeError, match="Unknown option"):
        independence_test(x, y, method="rcit", bogus=1)
    with pytest.raises(ValueError, match="one x column"):
        independence_test(np.column_stack([x, y]), y, method="fisherz")
    with pytest.raises(ValueError, match="complex"):
        independence_test(x + 1j, y)


def test_dense_kernel_tests_warn_on_large_n(monkeypatch):
    from skpersona.independence import _test

    monkeypatch.setattr(_test, "DENSE_KERNEL_WARN_SAMPLES", 100)
    x, y = _nonlinear(150, 14)
    with pytest.warns(UserWarning, match="scale linearly"):
        independence_test(x, y, method="hsic")
