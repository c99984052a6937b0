"""DependencyScreen, rating aggregation, multiple testing, prior masks, real data."""

import pickle

import matplotlib
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import false_discovery_control
from sklearn.base import clone

from skpersona.independence import DependencyScreen, adjust_pvalues, aggregate_ratings

matplotlib.use("Agg")


@pytest.fixture(scope="module")
def mixed_table():
    """A PersonaX-like table with planted dependencies.

    extraversion -> smile (nonlinear), gender -> height, country -> language (discrete),
    openness independent of everything.
    """
    rng = np.random.default_rng(0)
    n = 300
    gender = rng.choice(["female", "male"], size=n)
    country = rng.choice(["de", "fr", "it"], size=n)
    flip = rng.random(n) < 0.2
    language = np.where(flip, rng.choice(["de", "fr", "it"], size=n), country)
    extraversion = rng.normal(size=n)
    return pd.DataFrame(
        {
            "extraversion": extraversion,
            "smile": np.sin(2 * extraversion) + 0.3 * rng.normal(size=n),
            "openness": rng.normal(size=n),
            "gender": gender,
            "height": 165 + 12 * (gender == "male") + 6 * rng.normal(size=n),
            "country": country,
            "language": language,
        }
    )


@pytest.fixture(scope="module")
def fitted(mixed_table):
    return DependencyScreen(random_state=0).fit(mixed_table)


def test_screen_recovers_planted_graph(fitted):
    adj = fitted.adjacency_
    assert list(adj.index) == list(adj.columns) == fitted.variables_
    assert np.allclose(adj.to_numpy(), adj.to_numpy().T, equal_nan=True)
    for a, b in [("extraversion", "smile"), ("gender", "height"), ("country", "language")]:
        assert adj.loc[a, b] == 1.0
    assert adj.loc["openness"].drop("openness").eq(0.0).all()
    assert (np.diag(adj.to_numpy()) == 0).all()


def test_pvalues_table_is_tidy_and_methods_side_by_side(fitted, mixed_table):
    table = fitted.pvalues_
    expected = ["x", "y", "conditioning", "method", "method_used", "n", "statistic", "pvalue",
                "pvalue_adjusted", "dependent", "status", "reason"]
    assert list(table.columns) == expected
    n_pairs = 7 * 6 // 2
    assert table[["x", "y"]].drop_duplicates().shape[0] == n_pairs
    discrete = table[(table.x == "country") & (table.y == "language")]
    assert set(discrete.method) == {"chi2", "gsq"}
    continuous = table[(table.x == "extraversion") & (table.y == "smile")]
    assert set(continuous.method) == {"kci", "rcit", "hsic"}
    assert (table.status == "ok").all()
    assert (table.pvalue_adjusted >= table.pvalue - 1e-12).all()
    assert fitted.discrete_["gender"] and not fitted.discrete_["height"]
    agreement = fitted.agreement_
    assert agreement.shape[0] == n_pairs
    assert agreement.agreement.between(0.5, 1.0).all()
    row = agreement[(agreement.x == "extraversion") & (agreement.y == "smile")].iloc[0]
    assert row.decision == "dependent" and row.agreement == 1.0
    assert fitted.n_features_in_ == 7
    assert list(fitted.feature_names_in_) == list(mixed_table.columns)


def test_failed_tests_are_reported_not_guessed():
    rng = np.random.default_rng(1)
    n = 120
    df = pd.DataFrame({"a": rng.normal(size=n), "b": rng.normal(size=n)})
    df["mostly_missing"] = np.nan
    df.loc[:2, "mostly_missing"] = [1.0, 2.0, 3.0]
    df["constant_when_b_present"] = 1.0
    screen = DependencyScreen(methods=["kci", "chi2"], random_state=0).fit(df)
    table = screen.pvalues_
    failed = table[table.status == "failed"]
    assert set(failed.method) >= {"chi2"}  # continuous data in a contingency test
    assert failed.reason.str.len().gt(10).all()
    assert failed.dependent.isna().all() and failed.pvalue.isna().all()
    row = table[(table.x == "a") & (table.y == "mostly_missing") & (table.method == "kci")]
    assert row.status.iloc[0] == "failed" and "at least 5 samples" in row.reason.iloc[0]
    assert np.isnan(screen.adjacency_.loc["a", "mostly_missing"])
    assert np.isnan(screen.adjacency_.loc["a", "constant_when_b_present"])
    decision = screen.agreement_.set_index(["x", "y"]).loc[("a", "mostly_missing"), "decision"]
    assert decision == "failed"
    # Unknown pairs stay allowed in a prior mask, with a warning.
    with pytest.warns(UserWarning, match="left allowed"):
        mask = screen.to_prior_mask({"g1": ["a"], "g2": ["mostly_missing"]})
    assert mask.loc["g1", "g2"] == 1.0


def test_correction_holm_is_more_conservative_than_bh(mixed_table):
    mixed_table = mixed_table.iloc[:150]
    bh = DependencyScreen(correction="bh", random_state=0).fit(mixed_table).pvalues_
    holm = DependencyScreen(correction="holm", random_state=0).fit(mixed_table).pvalues_
    none = DependencyScreen(correction="none", random_state=0).fit(mixed_table).pvalues_
    assert np.allclose(bh.pvalue, holm.pvalue)
    assert (holm.pvalue_adjusted >= bh.pvalue_adjusted - 1e-12).all()
    assert np.allclose(none.pvalue_adjusted, none.pvalue)


def test_adjust_pvalues_matches_scipy_bh():
    p = np.random.default_rng(2).random(40) ** 3
    assert np.allclose(adjust_pvalues(p, "bh"), false_discovery_control(p, method="bh"))
    with_nan = adjust_pvalues(np.r_[p[:5], np.nan], "holm")
    assert np.isnan(with_nan[-1]) and (with_nan[:5] >= p[:5]).all()
    with pytest.raises(ValueError, match="correction"):
        adjust_pvalues(p, "bonferroni")


def test_conditioning_set_removes_chain_dependency():
    rng = np.random.default_rng(3)
    n = 300
    a = rng.normal(size=n)
    b = np.tanh(a) + 0.3 * rng.normal(size=n)
    c = b**2 + 0.3 * rng.normal(size=n)
    df = pd.DataFrame({"a": a, "b": b, "c": c})
    marginal = DependencyScreen(random_state=0).fit(df)
    given_b = DependencyScreen(conditioning=["b"], consensus="all", random_state=0).fit(df)
    assert marginal.adjacency_.loc["a", "c"] == 1.0
    assert given_b.variables_ == ["a", "c"]
    assert given_b.adjacency_.loc["a", "c"] == 0.0
    kci = given_b.pvalues_.set_index("method").loc["kci"]
    assert not kci.dependent and kci.pvalue > 0.05
    both = DependencyScreen(conditioning=[[], ["b"]], consensus="all", random_state=0).fit(df)
    assert both.agreement_.conditioning.tolist() == ["", "b"]
    assert both.agreement_.decision.tolist() == ["dependent", "independent"]
    assert both.adjacency_.loc["a", "c"] == 0.0  # independence given any set removes the edge
    assert both.pvalue_matrix(method="kci").loc["a", "c"] > 0.05
    # the combined p-values: the weakest evidence over the conditioning sets
    assert both.pvalue_matrix().loc["a", "c"] == both.agreement_.pvalue_adjusted.max()
    with pytest.raises(ValueError, match="a mix"):
        DependencyScreen(conditioning=["b", ["c"]]).fit(df)
    assert set(given_b.pvalues_.conditioning) == {"b"}
    assert set(given_b.pvalues_.method) == {"kci", "rcit"}


def test_n_jobs_and_random_state_reproducible(mixed_table):
    small = mixed_table.iloc[:120, :5]
    one = DependencyScreen(n_jobs=1, random_state=4).fit(small).pvalues_
    two = DependencyScreen(n_jobs=2, random_state=4).fit(small).pvalues_
    pd.testing.assert_frame_equal(one, two)


def test_aggregate_ratings_personax():
    ratings = pd.DataFrame(
        {
            ("openness", "gpt"): [3, 0, 0, 2],
            ("openness", "llama"): [2, 1, 0, 2],
            ("openness", "qwen"): [3, 2, 0, 0],
            ("neuroticism", "gpt"): [1, 1, 0, 3],
            ("neuroticism", "llama"): [0, 1, 2, 3],
        }
    )
    agg = aggregate_ratings(ratings)
    assert list(agg.columns) == ["openness", "neuroticism"]
    assert agg["openness"].tolist()[:2] == [3.0, 1.5]
    assert np.isnan(agg.loc[2, "openness"])
    assert agg["neuroticism"].tolist() == [1.0, 1.0, 2.0, 3.0]
    arr = aggregate_ratings(np.array([[0, 0], [1, 3]]))
    assert np.isnan(arr[0]) and arr[1] == 2.0
    with pytest.raises(KeyError, match="not in the DataFrame"):
        aggregate_ratings(ratings, groups={"x": ["missing"]})


def test_screen_aggregates_zero_coded_ratings():
    rng = np.random.default_rng(5)
    n = 250
    latent = rng.normal(size=n)
    raters = {}
    for r in range(3):
        score = np.clip(np.round(2 + latent + 0.5 * rng.normal(size=n)), 1, 3)
        score[rng.random(n) < 0.2] = 0  # "insufficient information"
        raters[f"extra_{r}"] = score
    df = pd.DataFrame(raters)
    df["smile"] = latent + 0.5 * rng.normal(size=n)
    screen = DependencyScreen(
        aggregate={"extraversion": list(raters)}, random_state=0
    ).fit(df)
    assert screen.variables_ == ["smile", "extraversion"]
    assert screen.adjacency_.loc["smile", "extraversion"] == 1.0
    # rows where every rater said 0 are dropped pairwise
    all_zero = int((df[list(raters)] == 0).all(axis=1).sum())
    assert screen.pvalues_.n.iloc[0] == n - all_zero


def test_plot_returns_axes(fitted):
    ax = fitted.plot()
    assert ax.get_title().startswith("Dependency screen")
    assert len(ax.get_xticklabels()) == len(fitted.variables_)
    ax_kci = fitted.plot(method="kci")
    assert "kci" in ax_kci.get_title()
    with pytest.raises(ValueError, match="did not run"):
        fitted.pvalue_matrix(method="fastkci")
    block = fitted.plot(rows=["extraversion", "openness"], columns=["smile", "gender", "height"])
    assert [t.get_text() for t in block.get_xticklabels()] == ["smile", "gender", "height"]
    assert any(t.get_text() == "*" for t in block.texts)
    with pytest.raises(ValueError, match="not screened"):
        fitted.plot(rows=["nope"])


def test_prior_mask_contract(fitted):
    groups = {
        "face": ["smile"],
        "personality": ["extraversion", "openness"],
        "demographics": ["gender", "height"],
        "geography": ["country", "language"],
    }
    mask = fitted.to_prior_mask(groups)
    assert isinstance(mask, pd.DataFrame)
    assert list(mask.index) == list(mask.columns) == list(groups)
    assert set(np.unique(mask.to_numpy())) <= {0.0, 1.0}
    assert (np.diag(mask.to_numpy()) == 1.0).all()
    assert np.array_equal(mask.to_numpy(), mask.to_numpy().T)
    assert mask.loc["face", "personality"] == 1.0
    assert mask.loc["face", "geography"] == 0.0
    with pytest.raises(ValueError, match="not screened"):
        fitted.to_prior_mask({"x": ["nope"]})


def test_clone_pickle_and_params(fitted, mixed_table):
    cloned = clone(fitted)
    assert not hasattr(cloned, "pvalues_")
    restored = pickle.loads(pickle.dumps(fitted))
    pd.testing.assert_frame_equal(restored.adjacency_, fitted.adjacency_)
    with pytest.raises(ValueError, match="Unknown test"):
        DependencyScreen(methods=["kci", "magic"]).fit(mixed_table)
    with pytest.raises(ValueError, match="at least 2 variables"):
        DependencyScreen().fit(mixed_table[["smile"]])
    with pytest.raises(ValueError, match="missing values"):
        DependencyScreen(missing="error").fit(mixed_table.assign(smile=np.nan))
    with pytest.raises(ValueError, match="pairs name variables"):
        DependencyScreen(pairs=[("smile", "nope")]).fit(mixed_table)
    only = DependencyScreen(pairs=[("smile", "extraversion")], random_state=0).fit(mixed_table)
    assert only.agreement_.shape[0] == 1
    assert np.isnan(only.adjacency_.loc["smile", "openness"])


def test_large_table_uses_linear_time_tests():
    rng = np.random.default_rng(6)
    n = 3000
    a = rng.normal(size=n)
    df = pd.DataFrame({"a": a, "b": np.cos(a) + 0.5 * rng.normal(size=n), "c": rng.normal(size=n)})
    screen = DependencyScreen(random_state=0).fit(df)
    assert set(screen.pvalues_.method) == {"kci_rff", "rcit", "hsic_rff"}
    assert (screen.pvalues_.method_used == screen.pvalues_.method).all()
    assert screen.adjacency_.loc["a", "b"] == 1.0
    assert screen.adjacency_.loc["a", "c"] == 0.0


@pytest.mark.slow
def test_youtube_personality_gender_screen(shared_data):
    from skpersona.datasets import load_youtube_personality

    yt = load_youtube_personality(data_home=shared_data)
    table = yt.target.join(yt.data[["gender", "time.speaking", "mean.pitch"]])
    screen = DependencyScreen(random_state=0).fit(table)
    assert (screen.pvalues_.status == "ok").all()
    assert screen.pvalues_.n.max() == 324
    # Mean pitch depends on gender; the test must see it in the real data.
    assert screen.adjacency_.loc["gender", "mean.pitch"] == 1.0
    mask = screen.to_prior_mask(
        {"traits": list(yt.target.columns), "voice": ["mean.pitch", "time.speaking"],
         "demographics": ["gender"]}
    )
    assert mask.shape == (3, 3)


def test_combined_decision_is_at_the_nominal_level_where_a_vote_is_not():
    # 570 null pairs (20 independent non-Gaussian variables, 3 tables), two calibrated
    # tests each. The Cauchy combination of a pair's p-values must reject at alpha = 0.05
    # (no correction, so each pair is one binomial draw) within the 99% binomial interval
    # of Binomial(570, 0.05), i.e. 16 to 41 rejections. The old rule (majority, a tie
    # counting as dependent: any rejection with two tests) rejected about 0.10 here.
    from scipy.stats import binom

    combined, vote, n_pairs = 0, 0, 0
    for seed in range(3):
        rng = np.random.default_rng(100 + seed)
        table = pd.DataFrame({
            f"v{j}": rng.standard_t(5, size=100) if j % 2 else rng.exponential(size=100)
            for j in range(20)
        })
        screen = DependencyScreen(["fisherz", "hsic"], correction="none", random_state=seed)
        screen.fit(table)
        agreement = screen.agreement_
        assert set(agreement.columns) >= {"pvalue", "pvalue_adjusted", "pvalue_fisherz",
                                          "pvalue_hsic"}
        combined += int((agreement.decision == "dependent").sum())
        vote += int(screen.pvalues_.groupby(["x", "y"]).dependent.any().sum())
        n_pairs += len(agreement)
    low, high = binom.interval(0.99, n_pairs, 0.05)
    assert n_pairs == 570
    assert low <= combined <= high, (combined, low, high)
    assert vote > high, (vote, high)


def test_cauchy_combination_and_one_correction_over_all_pairs():
    from skpersona.independence import cauchy_combination

    # equal p-values combine to themselves; the combination is symmetric, monotone,
    # skips failed tests (NaN) and stays in [0, 1] at the extremes
    assert cauchy_combination([0.2, 0.2, 0.2]) == pytest.approx(0.2)
    assert cauchy_combination([0.01, 0.6]) == pytest.approx(cauchy_combination([0.6, 0.01]))
    assert cauchy_combination([0.01, 0.5]) < cauchy_combination([0.02, 0.5])
    assert cauchy_combination([0.3, np.nan]) == pytest.approx(0.3)
    assert np.isnan(cauchy_combination([np.nan, np.nan]))
    assert 0 <= cauchy_combination([0.0, 1.0]) <= 1 and cauchy_combination([1e-250, 0.5]) < 1e-249
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        cauchy_combination([0.5, 1.5])
    # the screen: combined p-values from the raw ones, corrected once over all rows
    rng = np.random.default_rng(1)
    a = rng.normal(size=150)
    df = pd.DataFrame({"a": a, "b": np.cos(2 * a) + 0.5 * rng.normal(size=150),
                       "c": rng.normal(size=150), "d": rng.normal(size=150)})
    screen = DependencyScreen(["kci", "hsic"], random_state=0).fit(df)
    ag = screen.agreement_
    np.testing.assert_allclose(
        ag.pvalue, cauchy_combination(ag[["pvalue_kci", "pvalue_hsic"]].to_numpy(), axis=1))
    np.testing.assert_allclose(ag.pvalue_adjusted, adjust_pvalues(ag.pvalue.to_numpy(), "bh"))
    assert (ag.decision == np.where(ag.pvalue_adjusted < 0.05, "dependent", "independent")).all()
    assert screen.adjacency_.loc["a", "b"] == 1.0
    np.testing.assert_allclose(screen.pvalue_matrix().loc["a", "b"], ag.pvalue_adjusted[0])


@settings(max_examples=60, deadline=None)
@given(
    pvalues=st.lists(st.one_of(st.floats(1e-12, 1.0), st.floats(0.998, 1.0)),
                     min_size=1, max_size=6),
    k=st.integers(0, 5),
    factor=st.floats(0.01, 0.99),
)
def test_cauchy_combination_properties(pvalues, k, factor):
    from skpersona.independence import cauchy_combination

    p = np.asarray(pvalues)
    combined = float(cauchy_combination(p))
    assert 0.0 <= combined <= 1.0
    # symmetric, and one p-value made smaller never makes the combination larger
    assert cauchy_combination(p[::-1]) == pytest.approx(combined, rel=1e-9, abs=1e-15)
    smaller = p.copy()
    smaller[k % len(p)] *= factor
    assert cauchy_combination(smaller) <= combined * (1 + 1e-9) + 1e-15
    # a p-value repeated combines to itself; the combination (a mean of a decreasing
    # map of the p-values) lies between the smallest and the largest. Both hold for
    # all p-values: below the ACAT cap (0.999) as the plain mean, at or above it
    # because an all-capped row combines to its smallest p-value
    assert cauchy_combination(np.full(len(p), p[0])) == pytest.approx(p[0], rel=1e-6)
    assert p.min() * (1 - 1e-9) - 1e-15 <= combined <= p.max() * (1 + 1e-9) + 1e-15


def test_cauchy_combination_a_pvalue_of_one_does_not_drown_a_rejection():
    from skpersona.independence import cauchy_combination

    # a permutation or contingency test's p = 1 used to map to about -3e14 and give ~1
    assert cauchy_combination([1e-8, 1.0]) < 1e-7
    assert cauchy_combination([1e-8, 1.0, 1.0]) < 1e-7
    assert cauchy_combination([0.001, 1.0]) < 0.6
    from skpersona.independence._multitest import CAUCHY_P_CAP

    # above the cap, every p-value counts as the cap
    assert cauchy_combination([0.01, 1.0]) == cauchy_combination([0.01, CAUCHY_P_CAP])
    # all at or above the cap: their minimum (a single test passes through unchanged)
    assert cauchy_combination([1.0]) == 1.0
    assert cauchy_combination([1.0, 0.9995, np.nan]) == 0.9995
    np.testing.assert_array_equal(
        cauchy_combination(np.array([[1.0, 1.0], [np.nan, 1.0]]), axis=1), [1.0, 1.0])


@settings(max_examples=60, deadline=None)
@given(
    small=st.floats(1e-12, 1e-5),
    high=st.lists(st.floats(1 - 1e-3, 1.0), min_size=1, max_size=5),
    others=st.lists(st.floats(1e-6, 0.99), max_size=3),
)
def test_cauchy_combination_guard_properties(small, high, others):
    from skpersona.independence import cauchy_combination

    p = np.array([small, *others, *high])
    combined = float(cauchy_combination(p))
    # a strong rejection survives any number of p-values near 1: with d tests the
    # combination stays within about d times the smallest p-value (Bonferroni's scale)
    assert combined <= 2 * len(p) * small
    # p-values above the cap all count as the cap
    from skpersona.independence._multitest import CAUCHY_P_CAP

    capped = np.minimum(p, CAUCHY_P_CAP)
    assert combined == pytest.approx(float(cauchy_combination(capped)), rel=1e-12)
def test_screen_refuses_a_random_feature_test_over_its_limit_before_running():
    from skpersona.independence import MemoryLimitError

    rng = np.random.default_rng(0)
    data = pd.DataFrame(rng.normal(size=(200, 3)), columns=list("abc"))
    # kci_rff's null covariance: 60 ** 4 doubles, about 100 MB
    screen = DependencyScreen(["kci_rff"], test_options={
        "kci_rff": {"n_features_xy": 60, "max_memory": "50MB"}})
    with pytest.raises(MemoryLimitError, match="method='kci_rff' at n = 200"):
        screen.fit(data)
