"""Group-aware independence tests: rows in clusters (clips of one person), issue 30."""

import numpy as np
import pandas as pd
import pytest
import sklearn
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.linear_model import Ridge
from sklearn.model_selection import GroupKFold, cross_validate

from skpersona.cli import main
from skpersona.independence import (
    DependencyScreen,
    IndependenceTester,
    independence_test,
    make_independence_scorer,
)
from skpersona.independence._groups import group_level


def _clustered(rng, n_groups=60, size=4, within=0.3):
    """A person-level binary attribute and a score that shares most of its variance
    within a person; independent of each other by construction."""
    groups = np.repeat(np.arange(n_groups), size)
    attribute = rng.integers(0, 2, n_groups)[groups].astype(float)
    score = rng.normal(size=n_groups)[groups] + within * rng.normal(size=n_groups * size)
    return attribute, score, groups


def test_clip_level_over_rejects_and_group_level_holds_its_level():
    rng = np.random.default_rng(0)
    n_rep = 200
    clip = group = 0
    for _ in range(n_rep):
        attribute, score, groups = _clustered(rng)
        clip += independence_test(attribute, score, method="fisherz").pvalue < 0.05
        group += independence_test(attribute, score, method="fisherz", groups=groups).pvalue < 0.05
    # 200 null draws: a calibrated test rejects 10 +- 3 times; 2 to 20 is 2.5 sd either way.
    assert 2 <= group <= 20, group
    assert clip / n_rep > 0.15, clip  # rows counted as independent: about 0.26


def test_group_level_kci_holds_its_level():
    rng = np.random.default_rng(1)
    n_rep = 100
    rejected = sum(
        independence_test(a, s, method="kci", groups=g).pvalue < 0.05
        for a, s, g in (_clustered(rng, n_groups=50, size=3) for _ in range(n_rep))
    )
    assert rejected <= 12, rejected  # 5 +- 2.2 expected


def test_group_level_test_finds_a_real_group_effect():
    rng = np.random.default_rng(2)
    attribute, score, groups = _clustered(rng, n_groups=150)
    res = independence_test(attribute, score + 0.8 * attribute, method="fisherz", groups=groups)
    assert res.pvalue < 1e-4 and res.n == 150


def test_what_each_column_becomes():
    groups = np.array(["b", "a", "b", "a", "c", "c", "d", "e", "e"])
    x = pd.DataFrame({
        "sex": pd.Categorical(["f", "m", "f", "m", "f", "f", "m", "m", "m"]),
        "score": [1.0, 2.0, 3.0, 4.0, 5.0, 5.0, 6.0, 7.0, 9.0],
        "mood": ["up", "up", "down", "up", "up", "up", "down", "down", "up"],
    })
    xg, yg, zg, summary = group_level(x, np.arange(9.0) ** 2, None, groups)
    assert zg is None and summary == {
        "n_groups": 5, "n_rows": 9, "largest_group": 2,
        "averaged": {"x": ["score", "mood"], "y": ["y0"]},
    }
    assert isinstance(xg["sex"].dtype, pd.CategoricalDtype)  # constant per person: a category
    assert xg["sex"].tolist() == ["m", "f", "f", "m", "m"]  # groups a, b, c, d, e
    assert xg["score"].tolist() == [3.0, 2.0, 5.0, 6.0, 8.0]
    assert xg["mood=up"].tolist() == [1.0, 0.5, 1.0, 0.0, 0.5]  # "down" is the first category
    assert "mood=down" not in xg


def test_single_row_groups_give_the_ungrouped_test():
    rng = np.random.default_rng(3)
    x, y = rng.normal(size=80), rng.normal(size=80)
    labels = rng.permutation(80)
    order = np.argsort(labels)
    for method in ("fisherz", "kci"):
        grouped = independence_test(x, y, method=method, groups=labels)
        plain = independence_test(x[order], y[order], method=method)
        assert grouped.pvalue == pytest.approx(plain.pvalue, rel=1e-9)
        assert grouped.n == 80 and grouped.details["groups"]["averaged"] == {}


def test_auto_chooses_by_groups_and_counts_groups():
    rng = np.random.default_rng(4)
    attribute, score, groups = _clustered(rng, n_groups=400, size=15)  # 6,000 rows
    res = independence_test(attribute, score, groups=groups)
    assert res.method == "kci" and res.n == 400  # 6,000 independent rows would be kci_rff


def test_errors_say_what_is_wrong():
    rng = np.random.default_rng(5)
    attribute, score, groups = _clustered(rng, n_groups=10, size=3)
    with pytest.raises(ValueError, match="29 labels for 30 rows"):
        independence_test(attribute, score, groups=groups[:-1])
    bad = groups.astype(object)
    bad[3] = None
    with pytest.raises(ValueError, match="1 missing label"):
        independence_test(attribute, score, groups=bad)
    with pytest.raises(ValueError, match="at least 5 groups"):
        independence_test(attribute, score, groups=groups % 4)
    with pytest.raises(ValueError, match="vary within groups"):
        independence_test(attribute, score, rng.normal(size=30), "fisherz", groups=groups)
    with pytest.raises(ValueError, match="1-D"):
        independence_test(attribute, score, groups=np.c_[groups, groups])
    # a group-level conditioning set is honoured
    z = rng.normal(size=10)[groups]
    assert independence_test(attribute, score, z, "fisherz", groups=groups).n == 10


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), method=st.sampled_from(["fisherz", "kci"]))
def test_group_pvalue_ignores_the_order_of_rows(seed, method):
    rng = np.random.default_rng(seed)
    n_groups = int(rng.integers(6, 25))
    sizes = rng.integers(1, 5, n_groups)
    groups = np.repeat(rng.permutation(10 * n_groups)[:n_groups], sizes)
    n_levels = 2 if method == "fisherz" else 3  # fisherz: one column after encoding
    levels = np.resize(np.array(["a", "b", "c"], dtype=object)[:n_levels], n_groups)
    attribute = rng.permutation(levels)[np.unique(groups, return_inverse=True)[1]]
    score = rng.normal(size=len(groups))
    before = independence_test(attribute, score, method=method, groups=groups)
    order = rng.permutation(len(groups))  # within and between groups
    after = independence_test(attribute[order], score[order], method=method, groups=groups[order])
    assert after.pvalue == pytest.approx(before.pvalue, rel=1e-9, abs=1e-12)
    assert after.n == before.n == n_groups


def test_tester_takes_groups():
    rng = np.random.default_rng(6)
    attribute, score, groups = _clustered(rng, n_groups=40)
    data = pd.DataFrame({"a": attribute, "s": score, "w": rng.normal(size=160)})
    tester = IndependenceTester(data, "kci", groups=groups, random_state=0)
    assert tester.n_groups == 40 and tester.n_samples == 160
    res = tester.test("a", "s")
    assert res.n == 40
    # kept kernels (as without groups) vs independence_test's matrix-free sums
    expected = independence_test(data.a, data.s, method="kci", groups=groups).pvalue
    assert res.pvalue == pytest.approx(expected, rel=1e-10)
    assert tester(0, 1) == res.pvalue  # the cached value
    ungrouped = IndependenceTester(data, "kci").test("a", "s")
    assert ungrouped.n == 160 and ungrouped.pvalue != res.pvalue
    with pytest.raises(ValueError, match="vary within groups"):
        tester.test("a", "s", ["w"])
    with pytest.raises(ValueError, match="labels for 160 rows"):
        IndependenceTester(data, "kci", groups=groups[:10])


def test_screen_takes_groups_in_fit():
    rng = np.random.default_rng(7)
    attribute, score, groups = _clustered(rng, n_groups=300, size=4)  # 1,200 rows
    sex = pd.Categorical(np.where(attribute == 1, "f", "m"))
    mixed = np.where(rng.random(1200) < 0.5, "u", "v")  # discrete, varies within groups
    frame = pd.DataFrame({"sex": sex, "score": score, "mixed": mixed,
                          "w": rng.normal(size=1200)})
    frame.loc[5, "w"] = np.nan  # the pair goes through the dropped-rows path
    screen = DependencyScreen(random_state=0).fit(frame, groups=groups)
    table = screen.pvalues_
    assert (table.status == "ok").all(), table.reason.tolist()
    assert screen.n_groups_ == 300
    assert set(table.n) == {300}  # groups, not rows (w's NaN leaves one of 4 rows out)
    assert screen.discrete_ == {"sex": True, "score": False, "mixed": False, "w": False}
    assert set(table.method) == {"kci", "rcit", "hsic"}  # chosen for 300 samples
    plain = DependencyScreen(random_state=0).fit(frame)
    assert plain.pvalues_.n.max() == 1200
    assert set(plain.pvalues_.method) == {"kci_rff", "rcit", "hsic_rff", "chi2", "gsq"}
    fisherz = DependencyScreen(["fisherz"]).fit(frame, groups=groups).pvalues_
    expected = independence_test(frame.sex, frame.score, method="fisherz", groups=groups)
    assert fisherz.pvalue[(fisherz.x == "sex") & (fisherz.y == "score")].item() == (
        pytest.approx(expected.pvalue))
    kept = frame.w.notna().to_numpy()  # the pair with a missing value: its rows' groups
    expected = independence_test(frame.score[kept], frame.w[kept], method="fisherz",
                                 groups=groups[kept])
    assert fisherz.pvalue[(fisherz.x == "score") & (fisherz.y == "w")].item() == (
        pytest.approx(expected.pvalue))
    with pytest.raises(ValueError, match="labels for 1200 rows"):
        DependencyScreen(["fisherz"]).fit(frame, groups=groups[:5])


def test_bias_scorer_tests_by_groups_of_the_held_out_fold():
    rng = np.random.default_rng(8)
    attribute, score, groups = _clustered(rng, n_groups=100, size=4)
    X = np.c_[rng.normal(size=400), score + 0.1 * rng.normal(size=400)]
    with sklearn.config_context(enable_metadata_routing=True):
        scorer = make_independence_scorer("fisherz", target="predictions", groups="groups")
        scorer.set_score_request(sensitive=True, groups=True)
        out = cross_validate(Ridge(), X, score, cv=GroupKFold(4), scoring=scorer,
                             params={"sensitive": attribute, "groups": groups})
        direct = []
        for train, test in GroupKFold(4).split(X, score, groups):
            pred = Ridge().fit(X[train], score[train]).predict(X[test])
            direct.append(independence_test(pred, attribute[test], method="fisherz",
                                            groups=groups[test]).pvalue)
        np.testing.assert_allclose(out["test_score"], direct)
        plain = make_independence_scorer("fisherz").set_score_request(sensitive=True)
        with pytest.raises(ValueError, match="metadata 'groups'"):
            scorer(Ridge().fit(X, score), X, score, sensitive=attribute)
        ungrouped = cross_validate(Ridge(), X, score, cv=GroupKFold(4), scoring=plain,
                                   params={"sensitive": attribute, "groups": groups})
        assert not np.allclose(ungrouped["test_score"], direct)
    with pytest.raises(ValueError, match="groups must be the name"):
        make_independence_scorer(groups="sensitive")
    assert "groups='groups'" in repr(scorer)


def test_cli_screen_groups(tmp_path, capsys):
    rng = np.random.default_rng(9)
    attribute, score, groups = _clustered(rng, n_groups=50)
    path = tmp_path / "clips.csv"
    pd.DataFrame({"video": [f"v{g}" for g in groups], "sex": attribute, "score": score,
                  "other": rng.normal(size=200)}).to_csv(path, index=False)
    out = tmp_path / "report.csv"
    argv = ["screen", str(path), "-o", str(out), "--tests", "fisherz", "--no-progress"]
    assert main([*argv, "--groups", "video"]) == 0
    report = pd.read_csv(out)
    assert len(report) == 3 and set(report.n) == {50}  # video is labels, not a variable
    assert "video" not in set(report.x) | set(report.y)
    row = report[(report.x == "sex") & (report.y == "score")]
    assert row.pvalue.item() == pytest.approx(
        independence_test(attribute, score, method="fisherz", groups=groups).pvalue
    )
    assert main([*argv, "--groups", "person"]) != 0
    assert "person" in capsys.readouterr().err


def test_a_high_cardinality_categorical_varying_within_groups_is_refused_as_elsewhere():
    # 30 categories in 100 rows passes the row-level identifier rule, but with 20 groups
    # it would become 29 share columns for 20 group-level rows (a table that grows with
    # the categories): the same refusal as an identifier column without groups
    rng = np.random.default_rng(0)
    groups = np.repeat(np.arange(20), 5)
    label = pd.Series([f"c{k}" for k in rng.permutation(np.arange(100) % 30)])
    score = rng.normal(size=100)
    with pytest.raises(ValueError, match="looks like an identifier") as grouped:
        independence_test(label, score, method="kci", groups=groups)
    assert "30 categories for 20 groups" in str(grouped.value)
    with pytest.raises(ValueError, match="looks like an identifier"):
        group_level(label, score, None, groups)
    # a screen with groups reports the pair as failed, with that reason
    frame = pd.DataFrame({"label": label, "score": score, "other": rng.normal(size=100)})
    table = DependencyScreen(["kci"], random_state=0).fit(frame, groups=groups).pvalues_
    failed = table[(table.x == "label") | (table.y == "label")]
    assert (failed.status == "failed").all()
    assert failed.reason.str.contains("looks like an identifier").all()
    # a few categories varying within groups still become shares
    few = pd.Series(np.where(rng.random(100) < 0.5, "a", "b"))
    assert independence_test(few, score, method="kci", groups=groups).n == 20


def _grouped_table(rng, n_groups=150, size=3):
    """Four variables of every kind the group level makes: a person-level category,
    scores averaged per group, and a category varying within groups (its shares)."""
    groups = np.repeat(np.arange(n_groups), size)
    person = rng.normal(size=n_groups)[groups]
    frame = pd.DataFrame({
        "sex": np.where(rng.integers(0, 2, n_groups)[groups] == 1, "f", "m"),
        "score": person + 0.3 * rng.normal(size=n_groups * size),
        "other": np.sin(2 * person) + rng.normal(size=n_groups * size),
        "mixed": np.where(rng.random(n_groups * size) < 0.5, "u", "v"),
    })
    return frame, groups


def _count_calls(monkeypatch, module, name):
    calls = []
    original = getattr(module, name)

    def counted(*args, **kwargs):
        calls.append(name)
        return original(*args, **kwargs)

    monkeypatch.setattr(module, name, counted)
    return calls


@pytest.mark.parametrize("grouped", [True, False])
def test_screen_builds_and_eigendecomposes_each_kernel_once(monkeypatch, grouped):
    # Issue 29: the grouped screen re-aggregated and rebuilt both kernels of every pair
    # (2 per pair: 12 for these 6 pairs); one per variable (4) is what the tests need.
    from skpersona.independence import _kernel

    frame, groups = _grouped_table(np.random.default_rng(11))
    eigs = _count_calls(monkeypatch, np.linalg, "eigvalsh")
    grams = _count_calls(monkeypatch, _kernel, "_gaussian_gram")
    screen = DependencyScreen(["kci"]).fit(frame, groups=groups if grouped else None)
    table = screen.pvalues_
    assert len(table) == 6 and (table.status == "ok").all(), table.reason.tolist()
    assert len(grams) == 4 and len(eigs) == 4


@pytest.mark.parametrize("null", ["spectral", "gamma"])
def test_grouped_kept_kernels_give_the_per_pair_group_level_test(null):
    frame, groups = _grouped_table(np.random.default_rng(12), n_groups=120)
    frame["level"] = np.repeat(np.random.default_rng(0).normal(size=120), 3)
    tester = IndependenceTester(frame, "kci", groups=groups, null=null)
    cases = [("sex", "score", None), ("score", "mixed", None), ("score", "other", None),
             ("score", "other", ["sex"]), ("sex", "mixed", ["level"]),
             ("score", "other", ["sex", "level"]), (["score", "mixed"], "other", None)]
    for x, y, z in cases:
        got = tester.test(x, y, z)
        ref = independence_test(frame[x], frame[y], None if z is None else frame[z],
                                method="kci", groups=groups, null=null)
        # the spectral null and every conditional test use the same kernels as
        # independence_test; the unconditional gamma null sums them matrix-free there
        assert got.statistic == pytest.approx(ref.statistic, rel=1e-10)
        assert got.pvalue == pytest.approx(ref.pvalue, rel=1e-8, abs=1e-300)
        assert got.n == ref.n == 120
        assert got.details["groups"] == ref.details["groups"]
    with pytest.raises(ValueError, match="vary within groups"):
        tester.test("sex", "other", ["score"])
