"""IndependenceTester: same p-values as independence_test, usable by causal-learn's PC."""

import copy
import gzip
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from skpersona.independence import IndependenceTester, independence_test, register_causallearn
from skpersona.independence._encoding import SparseTableWarning

CAUSALLEARN_DATA = Path(__file__).parent / "data" / "causallearn"


def _mixed_table(n=300, seed=0):
    rng = np.random.default_rng(seed)
    a = rng.normal(size=n)
    b = a + rng.normal(size=n)
    group = rng.choice(["f", "m", "x"], size=n)
    level = rng.integers(0, 3, size=n)
    return pd.DataFrame({
        "a": a,
        "b": b,
        "c": np.sin(b) + 0.5 * rng.normal(size=n),
        "group": group,
        "level": level,
        "same_level": np.where(rng.random(n) < 0.8, level, rng.integers(0, 3, size=n)),
        "text_numbers": (b + rng.normal(size=n)).astype(str),
        "binary": rng.random(n) < 0.5,
    })


@pytest.mark.parametrize(
    "method, x, y, z",
    [
        ("fisherz", "a", "c", None),
        ("fisherz", "a", "c", ["b"]),
        ("fisherz", "a", "text_numbers", ["b", "group"]),
        ("fisherz", "binary", "a", ["group"]),
        ("kci", "a", "c", None),
        ("kci", "a", "c", ["b"]),
        ("kci", ["a", "b"], "group", None),
        ("hsic", "a", "group", None),
        ("rcit", "a", "c", ["b"]),
        ("hsic_rff", "a", "c", None),
        ("chi2", "level", "same_level", None),
        ("chisq", "level", "same_level", ["group"]),
        ("gsq", "level", "same_level", ["group", "binary"]),
        ("gsq", ["level", "binary"], "same_level", None),
        ("auto", "level", "same_level", None),
        ("auto", "a", "c", ["b"]),
    ],
)
def test_same_pvalues_as_independence_test(method, x, y, z):
    table = _mixed_table()
    tester = IndependenceTester(table, method, random_state=0)
    block = table[x] if isinstance(x, list) else table[x]
    reference = independence_test(
        block, table[y], None if z is None else table[z], method=method, random_state=0
    )
    res = tester.test(x, y, z)
    assert res.method == reference.method
    assert res.pvalue == pytest.approx(reference.pvalue, rel=1e-7, abs=1e-12)
    assert res.statistic == pytest.approx(reference.statistic, rel=1e-7)
    # by index, and in the other order: the same cached answer
    columns = list(table.columns)
    index = [columns.index(c) for c in (x if isinstance(x, list) else [x])]
    y_index = columns.index(y)
    z_index = None if z is None else [columns.index(c) for c in z]
    first = index[0] if len(index) == 1 else index
    assert tester(y_index, first, z_index) == res.pvalue


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 2**31 - 1),
    n=st.integers(20, 400),
    subset=st.lists(st.integers(2, 5), max_size=3, unique=True),
)
def test_fisherz_property_matches_independence_test_and_causallearn(seed, n, subset):
    from causallearn.utils.cit import CIT

    rng = np.random.default_rng(seed)
    data = rng.normal(size=(n, 6)) @ rng.normal(size=(6, 6))
    tester = IndependenceTester(data, "fisherz")
    z = data[:, subset] if subset else None
    reference = independence_test(data[:, 0], data[:, 1], z, method="fisherz")
    assert tester(0, 1, subset) == pytest.approx(reference.pvalue, rel=1e-6, abs=1e-12)
    assert tester(0, 1, subset) == pytest.approx(CIT(data, "fisherz")(0, 1, subset), rel=1e-6,
                                                 abs=1e-12)


def test_checks_are_per_column_and_errors_clear():
    table = _mixed_table(n=100)
    table["constant"] = 1.0
    table["with_nan"] = np.where(np.arange(100) == 3, np.nan, table["a"])
    table["ids"] = [f"u{i}" for i in range(100)]
    tester = IndependenceTester(table, "fisherz")
    assert tester("a", "b") < 1e-6  # the bad columns only matter when asked for
    with pytest.raises(ValueError, match="'constant' of data is constant"):
        tester("a", "constant")
    with pytest.raises(ValueError, match="1 NaN/missing"):
        tester("a", "b", ["with_nan"])
    with pytest.raises(ValueError, match="identifier"):
        tester("ids", "a")
    with pytest.raises(ValueError, match="one x column against one y column"):
        tester("group", "a")
    with pytest.raises(ValueError, match="must not share columns"):
        tester("a", "b", ["a"])
    with pytest.raises(IndexError, match="out of range"):
        tester(0, 99)
    with pytest.raises(KeyError, match="'nope' is neither"):
        tester("nope", "a")
    with pytest.raises(ValueError, match="unconditional"):
        IndependenceTester(table, "hsic")("a", "b", ["c"])
    with pytest.raises(ValueError, match="non-integer numbers"):
        IndependenceTester(table, "chi2")("a", "level")
    with pytest.raises(ValueError, match="method must be one of"):
        IndependenceTester(table, "magic")
    with pytest.raises(ValueError, match="at least 5 samples"):
        IndependenceTester(np.ones((3, 2)))


def test_cache_and_copies():
    rng = np.random.default_rng(0)
    data = rng.normal(size=(200, 4))
    tester = IndependenceTester(data, "kci")
    first = tester.test(0, 1, [2])
    assert tester.test(1, 0, [2]) is first
    assert tester(np.int64(1), np.int64(0), (2,)) == first.pvalue
    assert tester.n_calls == 1
    assert copy.deepcopy(tester) is tester  # causal-learn deep-copies its graph and test
    uncached = IndependenceTester(data, "kci", cache=False)
    assert uncached.test(0, 1, [2]) is not uncached.test(0, 1, [2])
    seeded = IndependenceTester(data, "hsic_perm", random_state=0, n_permutations=200)
    assert seeded(0, 1) == independence_test(
        data[:, 0], data[:, 1], method="hsic_perm", n_permutations=200, random_state=0
    ).pvalue


def test_causallearn_pc_on_its_own_discrete_benchmark():
    """causal-learn's TestPC data: PC with skpersona's chi-square gives causal-learn's graph."""
    from causallearn.search.ConstraintBased.PC import pc

    with gzip.open(CAUSALLEARN_DATA / "data_discrete_10.txt.gz") as handle:
        data = np.loadtxt(handle, skiprows=1)
    expected = np.loadtxt(CAUSALLEARN_DATA / "discrete_10_pc_chisq_0.05_stable_0_-1.txt")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SparseTableWarning)
        cg = pc(data, 0.05, register_causallearn("chisq"), True, 0, -1, show_progress=False)
    np.testing.assert_array_equal(cg.G.graph, expected)


def test_causallearn_pc_and_skeleton_with_fisherz_on_linear_data():
    from causallearn.search.ConstraintBased.PC import pc
    from causallearn.utils.PCUtils.SkeletonDiscovery import skeleton_discovery

    rng = np.random.default_rng(0)
    n, p = 2000, 8
    weights = np.triu(rng.uniform(0.5, 0.9, (p, p)) * rng.choice([-1, 1], (p, p)), 1)
    weights *= rng.random((p, p)) < 0.35
    data = rng.normal(size=(n, p)) @ np.linalg.inv(np.eye(p) - weights)
    reference = pc(data, 0.05, "fisherz", show_progress=False)
    ours = pc(data, 0.05, register_causallearn("fisherz"), show_progress=False)
    np.testing.assert_array_equal(ours.G.graph, reference.G.graph)
    assert register_causallearn("fisherz") == "skpersona_fisherz"
    # The tester itself plugs into causal-learn's skeleton search as a CIT object.
    tester = IndependenceTester(data, "fisherz")
    skeleton = skeleton_discovery(data, 0.05, tester, stable=True, show_progress=False)
    np.testing.assert_array_equal(
        skeleton.G.graph != 0, (reference.G.graph != 0) | (reference.G.graph.T != 0)
    )
    assert tester.n_calls > 0


@pytest.mark.parametrize("n_jobs", [None, pytest.param(2, marks=pytest.mark.slow)])  # 2: ~35 s
def test_screen_runs_through_the_tester_with_the_same_pvalues(n_jobs):
    from skpersona.independence import DependencyScreen
    from skpersona.independence._screen import SCREEN_TEST_DEFAULTS

    table = _mixed_table(n=200)[["a", "b", "c", "level", "same_level"]]
    table.loc[5, "c"] = np.nan  # pairs with c drop that row; the others use the tester
    screen = DependencyScreen(
        {"continuous": ["fisherz", "kci", "rcit"], "discrete": ["chi2", "gsq"]},
        conditioning=[[], ["level"]],
        n_jobs=n_jobs,
        random_state=0,
    ).fit(table)
    ok = screen.pvalues_[screen.pvalues_.status == "ok"]
    assert len(ok) >= 20
    for row in ok.itertuples():
        cols = [row.x, row.y] + ([row.conditioning] if row.conditioning else [])
        sub = table[cols].dropna()
        assert row.n == len(sub)
        if row.method != "rcit":
            ref = independence_test(
                sub[row.x], sub[row.y], sub[[row.conditioning]] if row.conditioning else None,
                method=row.method,
                **SCREEN_TEST_DEFAULTS.get(row.method, {}),  # the screen's kci: spectral null
            )
            assert row.pvalue == pytest.approx(ref.pvalue, rel=1e-7, abs=1e-12), row
    again = DependencyScreen(screen.methods, conditioning=[[], ["level"]], random_state=0)
    # Conditional RCIT's linear algebra may round differently in worker processes.
    pd.testing.assert_frame_equal(
        again.fit(table).pvalues_, screen.pvalues_, check_exact=False, rtol=1e-4
    )


@pytest.mark.parametrize("budget", [2**29, 3 * 8 * 150**2, 0])
def test_kci_with_kept_kernels_matches_independence_test(budget):
    rng = np.random.default_rng(3)
    a = rng.normal(size=150)
    data = np.column_stack([a, np.sin(2 * a) + 0.3 * rng.normal(size=150),
                            rng.normal(size=150), a**2 + rng.normal(size=150)])
    tester = IndependenceTester(data, "kci", max_kernel_bytes=budget)
    for x, y, z in [(0, 1, None), (0, 2, None), (1, 3, None), (0, 3, [1]), (2, 3, [1]),
                    (0, 2, [1, 3])]:
        ref = independence_test(data[:, x], data[:, y], None if z is None else data[:, z],
                                method="kci")
        assert tester(x, y, z) == pytest.approx(ref.pvalue, rel=1e-7, abs=1e-12)
    assert tester._kernel_bytes <= budget
    if budget == 2**29:  # 4 unconditional kernels, 2 residual operators, 2 conditional y kernels
        assert len(tester._kernels) == 8


def test_causallearn_fci_with_a_registered_test():
    from causallearn.search.ConstraintBased.FCI import fci

    rng = np.random.default_rng(1)
    n = 1500
    a, b = rng.normal(size=n), rng.normal(size=n)
    c = a + b + rng.normal(size=n)  # a collider
    data = np.column_stack([a, b, c, c + rng.normal(size=n)])
    reference, _ = fci(data, "fisherz", 0.05, show_progress=False)
    ours, _ = fci(data, register_causallearn("fisherz"), 0.05, show_progress=False)
    np.testing.assert_array_equal(ours.graph, reference.graph)
    assert ours.graph[0, 1] == 0 and ours.graph[0, 2] != 0  # a and b are not adjacent


def test_array_with_numbers_as_text_is_read_as_numbers():
    rng = np.random.default_rng(0)
    a = rng.normal(size=100)
    data = np.column_stack([a, a + rng.normal(size=100)]).astype(object)
    data[4, 1] = "n/a?"
    with pytest.warns(UserWarning, match=r"'x1' of data .* 1 of 100 cells"):
        tester = IndependenceTester(data, "fisherz")
    assert tester.columns == ["x0", "x1"]
    with pytest.raises(ValueError, match="'x1' of data contains 1 NaN"):
        tester(0, 1)
    clean = IndependenceTester(np.delete(data, 4, axis=0), "fisherz")
    assert clean(0, 1) < 1e-6


def test_fisherz_per_call_cost_is_close_to_causallearn():
    """Issue 14: 3.1 ms per independence_test call against causal-learn's cached CIT.
    The tester must stay within 2x of CIT per call (3x here, for load noise; the
    benchmark measures about 0.3-0.75x)."""
    import time

    from causallearn.utils.cit import CIT

    rng = np.random.default_rng(0)
    data = rng.normal(size=(10_000, 12))
    calls = [(i, j, [k for k in range(12) if k not in (i, j)][: (i + j) % 4])
             for i in range(12) for j in range(i + 1, 12)]

    def per_call(make):
        best = np.inf
        for _ in range(5):
            tester = make()
            tester(0, 1)  # builds the correlation matrix on both sides' first use
            start = time.perf_counter()
            for x, y, z in calls:
                tester(x, y, z)
            best = min(best, time.perf_counter() - start)
        return best / len(calls)

    ours = per_call(lambda: IndependenceTester(data, "fisherz"))
    reference = per_call(lambda: CIT(data, "fisherz"))
    assert ours < 3 * reference, (ours, reference)


def test_auto_given_z_above_1000_rows_matches_independence_test():
    # The tester resolved "auto" without the subsample flag and ran kci_rff on every row,
    # the path documented as over-rejecting given z (tester p 0.49 against 0.92 on one
    # table); now both run the exact KCI on the same seeded 1,000-row subsample.
    rng = np.random.default_rng(5)
    n = 1200
    z = rng.normal(size=n)
    table = pd.DataFrame({"x": np.tanh(z) + 0.5 * rng.normal(size=n),
                          "y": z**2 + 0.5 * rng.laplace(size=n), "z": z})
    tester = IndependenceTester(table, "auto", random_state=3)
    with pytest.warns(UserWarning, match="on a subsample"):
        res = tester.test("x", "y", ["z"])
    with pytest.warns(UserWarning, match="on a subsample"):
        ref = independence_test(table["x"], table["y"], table[["z"]], random_state=3)
    assert (res.method, res.n, res.details["subsample"]) == (
        ref.method, ref.n, ref.details["subsample"]) == ("kci", 1000, {"rows": 1000, "of": n})
    assert res.pvalue == pytest.approx(ref.pvalue, rel=1e-7, abs=1e-12)
    # a per-call seed draws other rows, as independence_test(random_state=4) does
    with pytest.warns(UserWarning, match="on a subsample"):
        other = tester.test("x", "y", ["z"], random_state=4)
    with pytest.warns(UserWarning, match="on a subsample"):
        assert other.pvalue == pytest.approx(
            independence_test(table["x"], table["y"], table[["z"]], random_state=4).pvalue,
            rel=1e-7, abs=1e-12)
@pytest.mark.parametrize("method, options, conditional", [
    ("kci", {}, True),  # kept kernels: 600 x 600 matrices, 15 MB by the estimate
    ("kci", {}, False),
    ("kci_rff", {"n_features_xy": 30}, False),
    ("hsic", {}, False),
])
def test_tester_applies_the_memory_limit(method, options, conditional):
    from skpersona.independence import MemoryLimitError

    rng = np.random.default_rng(0)
    data = pd.DataFrame(rng.normal(size=(600, 3)), columns=list("abc"))
    z = ["c"] if conditional else None
    if (method, conditional) == ("kci", False):  # blocked: linear in n, runs under the cap
        tester = IndependenceTester(data, method=method, max_memory="5MB", **options)
        assert tester.test("a", "b", z).pvalue == pytest.approx(
            independence_test(data["a"], data["b"], method=method).pvalue)
        return
    tester = IndependenceTester(data, method=method, max_memory="5MB", **options)
    with pytest.raises(MemoryLimitError, match="above max_memory = 4.8 MiB"):
        tester("a", "b", z)


def test_columns_whose_names_read_the_same_are_refused_clearly():
    rng = np.random.default_rng(0)
    data = pd.DataFrame(rng.normal(size=(50, 3)), columns=[1, "1", "c"])
    with pytest.raises(ValueError, match="columns 1 and '1', whose names are the same text"):
        IndependenceTester(data)  # once an AttributeError from pandas
    with pytest.raises(ValueError, match="columns 1 and '1'"):
        independence_test(data[[1, "1"]], data["c"])


@pytest.mark.parametrize("call", [
    lambda t: t(True, 2),  # True == 1: once the answer for column 1
    lambda t: t(0, 2, [True]),
    lambda t: t.test(np.True_, 2),
    lambda t: t(["a", False], 2),
])
def test_booleans_are_not_column_indices(call):
    rng = np.random.default_rng(0)
    tester = IndependenceTester(pd.DataFrame(rng.normal(size=(50, 3)), columns=list("abc")))
    tester(1, 2), tester(0, 2, [1])  # cached: the fast path must not answer for them
    with pytest.raises(TypeError, match="is a boolean, not a column"):
        call(tester)


def test_kept_kernels_drop_the_least_recently_used(monkeypatch):
    # Room for two kernels: pairs (0, 1), (0, 2), (0, 3) keep column 0's kernel, which
    # every pair uses, and build four kernels; dropping the oldest rebuilt it (five).
    from skpersona.independence import _kernel

    calls = []
    original = _kernel._gaussian_gram
    monkeypatch.setattr(_kernel, "_gaussian_gram",
                        lambda *a, **k: calls.append(1) or original(*a, **k))
    data = np.random.default_rng(4).normal(size=(60, 4))
    tester = IndependenceTester(data, "kci", max_kernel_bytes=2 * 8 * 60**2)
    for y in (1, 2, 3):
        ref = independence_test(data[:, 0], data[:, y], method="kci")
        assert tester(0, y) == pytest.approx(ref.pvalue, rel=1e-7, abs=1e-12)
    assert len(calls) == 4
