"""Inputs that used to lie: numbers as text, identifiers, extreme values, degenerate tables.

Each test here failed on the code before the fix (issue 13 items 3 and 10): numbers in
an object column were one-hot encoded as n categories and strong dependence came out
"independent"; values >= 1e154 gave fisherz p = 1; a zero-degree-of-freedom table
raised where causal-learn returns p = 1; and so on.
"""

import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from sklearn.exceptions import NotFittedError

from skpersona.independence import (
    DependencyScreen,
    IndependenceTester,
    adjust_pvalues,
    aggregate_ratings,
    independence_test,
)
from skpersona.independence._encoding import (
    SparseTableWarning,
    StrayValueWarning,
    as_block,
    to_continuous,
)

_SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _dependent_pair(n=200, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    return x, x + 0.3 * rng.normal(size=n)


# ------------------------------------------------------------- numbers stored as text
def test_object_column_with_a_stray_cell_is_numeric_not_n_categories():
    x, y = _dependent_pair()
    cells = x.astype(object)
    cells[7] = "n/a?"
    with pytest.warns(StrayValueWarning, match=r"'x0' of x .* 1 of 200 cells \('n/a\?'\)"):
        with pytest.raises(ValueError, match="1 NaN/missing"):
            independence_test(cells, y, method="kci")
    keep = np.arange(200) != 7
    with pytest.warns(StrayValueWarning):
        with pytest.raises(ValueError, match="NaN"):
            independence_test(pd.Series(cells, name="smile"), y)
    res = independence_test(pd.Series(cells[keep]), y[keep], method="kci")
    assert res.pvalue < 1e-10


@pytest.mark.parametrize("method", ["kci", "fisherz", "hsic", "auto"])
def test_floats_cast_to_object_or_str_give_the_numeric_result(method):
    x, y = _dependent_pair()
    reference = independence_test(x, y, method=method, random_state=0)
    for encoded in (x.astype(object), x.astype(str), pd.Series(x).astype("string")):
        res = independence_test(encoded, y, method=method, random_state=0)
        assert res.method == reference.method
        assert res.pvalue == pytest.approx(reference.pvalue, rel=1e-9, abs=1e-300)
        assert res.pvalue < 1e-10


def test_identifier_like_categorical_is_refused_not_independent():
    ids = [f"s{i}" for i in range(100)]
    for method in ("chi2", "gsq", "kci", "auto"):
        with pytest.raises(ValueError, match="100 distinct categories in 100 rows"):
            independence_test(ids, ids, method=method)
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="identifier or free text"):
        independence_test(ids, rng.normal(size=100), method="kci")


def test_sparse_contingency_table_warns():
    rng = np.random.default_rng(0)
    x = rng.integers(0, 30, size=100)  # 30 categories, ~3 rows each: expected counts << 5
    with pytest.warns(SparseTableWarning, match="below 5"):
        res = independence_test(x, x, method="chi2")
    assert res.details["sparse_share"] > 0.2
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        dense = independence_test(x % 2, (x % 2) ^ (rng.random(100) < 0.1), method="chi2")
    assert dense.pvalue < 1e-6


def test_screen_tests_numbers_as_numbers_and_refuses_ids():
    x, y = _dependent_pair(n=150)
    cells = x.astype(object)
    cells[3] = "n/a?"
    df = pd.DataFrame({"a": cells, "b": y, "id": [f"u{i}" for i in range(150)]})
    with pytest.warns(UserWarning) as record:
        screen = DependencyScreen(["kci", "fisherz"], random_state=0).fit(df)
    messages = " ".join(str(w.message) for w in record)
    assert "'a' of X" in messages and "['id']" in messages
    assert screen.adjacency_.loc["a", "b"] == 1.0
    ab = screen.pvalues_[(screen.pvalues_.x == "a") & (screen.pvalues_.y == "b")]
    assert (ab.status == "ok").all() and (ab.n == 149).all() and (ab.pvalue < 1e-10).all()
    with_id = screen.pvalues_[screen.pvalues_.y == "id"]
    assert (with_id.status == "failed").all()
    assert with_id.reason.str.contains("identifier").all()
    assert np.isnan(screen.adjacency_.loc["a", "id"])


def test_screen_records_sparse_table_caveat_in_reason():
    rng = np.random.default_rng(1)
    a = rng.integers(0, 20, size=60)
    df = pd.DataFrame({"a": a, "b": (a + rng.integers(0, 2, size=60)) % 20})
    screen = DependencyScreen(["chi2"], max_categories=25).fit(df)
    assert screen.pvalues_.status.iloc[0] == "ok"
    assert "below 5" in screen.pvalues_.reason.iloc[0]


# ------------------------------------------------------------------- property tests
@_SETTINGS
@given(
    values=arrays(
        np.float64,
        st.integers(10, 40),
        elements=st.floats(-1e12, 1e12, allow_nan=False, allow_infinity=False),
    )
)
def test_encoding_of_numeric_strings_equals_encoding_of_numbers(values):
    numbers = to_continuous(as_block(values, "x"), "x")
    for text in (values.astype(str), values.astype(object), [repr(float(v)) for v in values]):
        np.testing.assert_array_equal(to_continuous(as_block(text, "x"), "x"), numbers)


@_SETTINGS
@given(seed=st.integers(0, 2**31 - 1), k=st.integers(2, 5), data=st.data())
def test_injective_relabelling_keeps_a_dependent_discrete_pair_dependent(seed, k, data):
    rng = np.random.default_rng(seed)
    n = 150
    x = rng.integers(0, k, size=n)
    y = np.where(rng.random(n) < 0.8, x, rng.integers(0, k, size=n))
    labels = data.draw(
        st.lists(st.text(min_size=1, max_size=6), min_size=k, max_size=k, unique=True)
    )
    relabelled = np.array(labels, dtype=object)[x]
    warnings.simplefilter("ignore", SparseTableWarning)
    for method in ("chi2", "gsq"):
        reference = independence_test(x, y, method=method)
        res = independence_test(relabelled, y, method=method)
        assert res.pvalue == pytest.approx(reference.pvalue, rel=1e-9, abs=1e-300)
        if len(np.unique(x)) > 1:
            assert res.pvalue < 0.01


@_SETTINGS
@given(seed=st.integers(0, 2**31 - 1), n=st.integers(20, 120))
def test_a_row_unique_relabelling_is_refused_never_independent(seed, n):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    ids = [f"id-{i}" for i in rng.permutation(n)]
    for method in ("chi2", "kci"):
        with pytest.raises(ValueError, match="identifier"):
            independence_test(ids, x, method=method)


@_SETTINGS
@given(seed=st.integers(0, 2**31 - 1), exponent=st.integers(-250, 250))
def test_fisherz_is_scale_invariant_up_to_extreme_magnitudes(seed, exponent):
    x, y = _dependent_pair(n=60, seed=seed)
    scale = 10.0**exponent
    reference = independence_test(x, y, method="fisherz")
    res = independence_test(x * scale, y, method="fisherz")
    assert res.pvalue == pytest.approx(reference.pvalue, rel=1e-6, abs=1e-300)
    assert res.statistic == pytest.approx(reference.statistic, rel=1e-9)


def test_huge_values_do_not_turn_dependence_into_p_one():
    x, y = _dependent_pair(n=200)
    for method in ("fisherz", "kci", "hsic"):
        res = independence_test(x * 1e160, y * 1e200, method=method)
        assert res.pvalue < 1e-10, method


@_SETTINGS
@given(
    p=arrays(np.float64, st.integers(1, 30), elements=st.floats(0, 1)),
    method=st.sampled_from(["bh", "holm"]),
)
def test_adjusted_pvalues_are_valid_and_no_smaller(p, method):
    adj = adjust_pvalues(p, method)
    assert np.all((adj >= p - 1e-12) & (adj <= 1.0))
    order = np.argsort(p, kind="mergesort")
    assert np.all(np.diff(adj[order]) >= -1e-12)  # monotone in p


@pytest.mark.parametrize("bad", [[0.1, -0.3], [0.2, 1.5], [np.inf]])
def test_adjust_pvalues_refuses_values_outside_unit_interval(bad):
    with pytest.raises(ValueError, match=r"must lie in \[0, 1\]"):
        adjust_pvalues(bad)
    assert np.isnan(adjust_pvalues([0.1, np.nan])[1])


# ------------------------------------------------------ contingency tables and aliases
@_SETTINGS
@given(seed=st.integers(0, 2**31 - 1), k=st.integers(2, 4))
def test_zero_dof_table_gives_p_one_like_causallearn(seed, k):
    from causallearn.utils.cit import CIT

    rng = np.random.default_rng(seed)
    z = rng.integers(0, k, size=80)
    x, y = z.copy(), (z + 1) % k  # within every stratum of z, x and y are constant
    data = np.column_stack([x, y, z])
    for method in ("chi2", "chisq", "gsq"):
        res = independence_test(x, y, z, method=method)
        assert res.pvalue == 1.0 and res.details["dof"] == 0
        assert res.method == ("gsq" if method == "gsq" else "chi2")
        assert CIT(data, "gsq" if method == "gsq" else "chisq")(0, 1, [2]) == 1


@_SETTINGS
@given(seed=st.integers(0, 2**31 - 1))
def test_chi2_and_gsq_pvalues_match_causallearn(seed):
    from causallearn.utils.cit import CIT

    rng = np.random.default_rng(seed)
    z = rng.integers(0, 3, size=300)
    x = (z + rng.integers(0, 2, size=300)) % 3
    y = (z + (rng.random(300) < 0.3)) % 2
    data = np.column_stack([x, y, z])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SparseTableWarning)
        for method, name in (("chisq", "chisq"), ("gsq", "gsq")):
            ref = CIT(data, name)
            assert independence_test(x, y, method=method).pvalue == pytest.approx(ref(0, 1, []))
            assert independence_test(x, y, z, method=method).pvalue == pytest.approx(
                ref(0, 1, [2])
            )


def test_chisq_alias_in_the_screen():
    rng = np.random.default_rng(0)
    a = rng.integers(0, 3, size=200)
    df = pd.DataFrame({"a": a, "b": (a + (rng.random(200) < 0.2)) % 3})
    screen = DependencyScreen(["chisq", "gsq"]).fit(df)
    assert set(screen.pvalues_.method) == {"chisq", "gsq"}
    assert (screen.pvalues_.status == "ok").all()
    assert screen.adjacency_.loc["a", "b"] == 1.0


# --------------------------------------------------------------- ratings and plotting
def test_ratings_outside_the_scale_are_refused():
    r = pd.DataFrame({"gpt": [3, 7, 0], "llama": [2, 1, 0]})
    with pytest.raises(ValueError, match=r"outside the scale 1\.\.3.*\[7\.0\]"):
        aggregate_ratings(r, groups={"openness": ["gpt", "llama"]})
    with pytest.raises(ValueError, match="outside the scale"):
        aggregate_ratings(np.array([[1, -2], [3, 3]]))
    wide = aggregate_ratings(r, groups={"openness": ["gpt", "llama"]}, scale=(1, 7))
    assert wide["openness"].tolist()[:2] == [2.5, 4.0]
    assert aggregate_ratings(r, groups={"o": ["gpt"]}, scale=None)["o"].iloc[1] == 7.0
    with pytest.raises(ValueError, match="outside the scale"):
        DependencyScreen(aggregate={"openness": ["gpt", "llama"]}).fit(
            r.assign(smile=[0.1, 0.2, 0.3])
        )


def test_plot_before_fit_raises_not_fitted():
    with pytest.raises(NotFittedError):
        DependencyScreen().plot()


def test_cli_screen_reads_a_stray_cell_as_missing_and_refuses_ids(tmp_path, capsys):
    from skpersona.cli import main

    from ._tables import dependent_table

    table = dependent_table()
    table["smiles"] = table["smiles"].astype(object)
    table.loc[4, "smiles"] = "n/a?"
    table.insert(0, "video_id", [f"v{i:04d}" for i in range(len(table))])
    table.to_csv(tmp_path / "table.csv", index=False)
    report = tmp_path / "report.csv"
    with pytest.warns(UserWarning):
        assert main(["screen", str(tmp_path / "table.csv"), "-o", str(report),
                     "--columns", "video_id,extraversion,smiles,age", "--random-state", "0",
                     "--no-progress"]) == 0
    out = pd.read_csv(report)
    decision = out.groupby(["x", "y"])["decision"].first()
    assert decision[("extraversion", "smiles")] == "dependent"
    assert decision[("extraversion", "age")] == "independent"
    assert (out.loc[out.x == "video_id", "status"] == "failed").all()
    assert out.loc[out.x == "video_id", "reason"].str.contains("identifier").all()
    assert (out.loc[(out.x == "extraversion") & (out.y == "smiles"), "n"] == 149).all()


def test_huge_values_in_the_screen_and_the_tester():
    from skpersona.independence import IndependenceTester

    x, y = _dependent_pair(n=200)
    rng = np.random.default_rng(1)
    df = pd.DataFrame({"a": x * 1e160, "b": y * 1e-170, "c": rng.normal(size=200) * 1e200})
    screen = DependencyScreen(["fisherz", "kci"]).fit(df)
    assert screen.adjacency_.loc["a", "b"] == 1.0 and screen.adjacency_.loc["a", "c"] == 0.0
    tester = IndependenceTester(df, "fisherz")
    assert tester("a", "b") == pytest.approx(independence_test(x, y, method="fisherz").pvalue,
                                             rel=1e-6)
    assert tester("a", "b", ["c"]) < 1e-10


@_SETTINGS
@given(
    seed=st.integers(0, 2**31 - 1),
    n=st.integers(30, 300),
    kx=st.integers(2, 4),
    kz=st.integers(1, 4),
    method=st.sampled_from(["chi2", "gsq"]),
)
def test_contingency_pvalues_are_probabilities_and_match_the_tester(seed, n, kx, kz, method):
    from skpersona.independence import IndependenceTester

    rng = np.random.default_rng(seed)
    data = np.column_stack([
        rng.integers(0, kx, size=n), rng.integers(0, 3, size=n), rng.integers(0, kz, size=n)
    ])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SparseTableWarning)
        tester = IndependenceTester(data, method)
        for z in (None, [2]):
            try:
                ref = independence_test(
                    data[:, 0], data[:, 1], None if z is None else data[:, z], method=method
                )
            except ValueError as exc:  # a constant column: the tester refuses it too
                with pytest.raises(ValueError, match="constant"):
                    tester(0, 1, z)
                assert "constant" in str(exc)
                continue
            assert 0.0 <= ref.pvalue <= 1.0 and ref.statistic >= 0.0
            assert tester(0, 1, z) == pytest.approx(ref.pvalue, rel=1e-9, abs=1e-300)


@pytest.mark.parametrize("method", ["chi2", "gsq"])
def test_identifier_rule_is_one_for_numbers_text_and_objects(method):
    # Numeric strings were parsed as numbers and then read as 100 categories in 100 rows:
    # chi2 gave p = 0.239 (with a sparse-table warning) on x = 0..99 against y = 99..0,
    # while the same values as categories were refused as identifiers. One rule now:
    # a variable read as categories with more than half as many categories as rows is
    # refused, however its values arrive.
    values = np.arange(100)
    for x in (values.astype(str), values.astype(object), values, list(values.astype(str)),
              pd.Series(values.astype(str), dtype="category")):
        y = x[::-1] if not isinstance(x, pd.Series) else x[::-1].reset_index(drop=True)
        with pytest.raises(ValueError, match="identifier"):
            independence_test(x, y, method=method)
    table = pd.DataFrame({"x": values.astype(str), "y": values[::-1].astype(str)})
    with pytest.raises(ValueError, match="identifier"):
        IndependenceTester(table, method)("x", "y")
    # as numbers, a kernel test reads them as numbers and finds the dependence
    assert independence_test(values.astype(str), values[::-1].astype(str)).pvalue < 1e-6
    # a discrete variable with fewer categories than half its rows is still tested
    few = np.arange(100) % 40
    with pytest.warns(SparseTableWarning):
        assert independence_test(few, (few * 7) % 40, method=method).n == 100
