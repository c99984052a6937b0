"""AUSelector."""

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.model_selection import KFold
from sklearn.pipeline import make_pipeline

from skpersona.au import AUDescriber, AUSelector, AUStatistics


def _data(n=90, seed=0):
    rng = np.random.default_rng(seed)
    names = [f"AU{a:02d}_{s}" for a in (1, 4, 6, 12, 25) for s in ("mean", "max")]
    X = pd.DataFrame(rng.normal(size=(n, len(names))), columns=names)
    X["AU06+AU12_rate"] = rng.normal(size=n)
    X["n_frames"] = rng.normal(size=n)
    y = 2 * X["AU12_mean"] - X["AU04_max"] + 0.2 * rng.normal(size=n)
    return X, y.to_numpy()


def test_selects_informative_aus_and_pareto_front():
    X, y = _data()
    selector = AUSelector(n_iter=40, random_state=0).fit(X, y)
    assert selector.units_ == ["AU01", "AU04", "AU06", "AU12", "AU25"]
    assert set(selector.selected_aus_) == {"AU04", "AU12"}
    kept = selector.get_feature_names_out().tolist()
    assert kept == ["AU04_mean", "AU04_max", "AU12_mean", "AU12_max", "n_frames"]
    front = selector.pareto_front_
    assert list(front.columns) == ["n_aus", "score", "score_std", "holdout_score", "aus"]
    assert front["n_aus"].is_monotonic_increasing and front["score"].is_monotonic_increasing
    assert front["n_aus"].is_unique
    # every evaluated subset on the front: none of its points dominates another
    assert (front["aus"].map(len) == front["n_aus"]).all()
    chosen = front.loc[front["n_aus"] == len(selector.selected_aus_)].iloc[0]
    assert selector.search_score_ == pytest.approx(chosen["score"])
    assert selector.selected_score_ == pytest.approx(chosen["holdout_score"])
    assert len(selector.history_) == selector.n_iter_ == 40
    assert selector.transform(X).shape == (90, 5)


def test_co_activation_column_needs_all_its_aus():
    X, y = _data()
    y = y + 3 * X["AU06+AU12_rate"].to_numpy()
    selector = AUSelector(n_iter=40, random_state=0).fit(X, y)
    kept = selector.get_feature_names_out().tolist()
    assert {"AU06", "AU12"} <= set(selector.selected_aus_)  # only useful through the rate
    assert "AU06+AU12_rate" in kept
    without = selector._mask_for(["AU12"])
    assert not without[list(X.columns).index("AU06+AU12_rate")]


def test_reproducible_with_random_state():
    X, y = _data(seed=3)
    a = AUSelector(n_iter=20, random_state=7).fit(X, y)
    b = AUSelector(n_iter=20, random_state=7).fit(X, y)
    pd.testing.assert_frame_equal(a.history_, b.history_)
    pd.testing.assert_frame_equal(a.pareto_front_, b.pareto_front_)
    assert a.selected_aus_ == b.selected_aus_


def test_plain_array_units_are_columns_and_classifier():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(80, 4))
    y = (X[:, 2] > 0).astype(int)
    selector = AUSelector(estimator=LogisticRegression(), scoring="accuracy", n_iter=15,
                          cv=KFold(4), random_state=0).fit(X, y)
    assert selector.units_ == ["x0", "x1", "x2", "x3"]
    assert "x2" in selector.selected_aus_
    assert selector.get_support()[2]


def test_frame_table_input_and_min_aus():
    rng = np.random.default_rng(0)
    tables, y = [], []
    for _ in range(45):
        smile = rng.uniform(0, 5)
        table = pd.DataFrame({
            "AU01": rng.uniform(0, 5, 40), "AU04": rng.uniform(0, 5, 40),
            "AU12": np.clip(smile + rng.normal(0, 0.3, 40), 0, 5),
        })
        table.attrs["au_scale"] = "0-5"
        tables.append(table)
        y.append(smile)
    stats = AUStatistics(statistics=["mean", "p90"], co_activations=None)
    selector = AUSelector(estimator=Ridge(), statistics=stats, n_iter=12, min_aus=1,
                          random_state=0).fit(tables, np.asarray(y))
    assert selector.selected_aus_ == ["AU12"]
    assert selector.transform(tables).shape == (45, 2)
    assert selector.get_feature_names_out().tolist() == ["AU12_mean", "AU12_p90"]
    pipe = make_pipeline(AUSelector(statistics=stats, n_iter=5, random_state=0), Ridge())
    assert pipe.fit(tables, y).predict(tables).shape == (45,)
    with pytest.raises(ValueError, match="fitted on a matrix"):
        AUSelector(n_iter=2).fit(np.ones((10, 2)) + np.arange(20).reshape(10, 2), np.arange(10.0)
                                 ).transform(tables)


def test_multioutput_targets_and_named_scorer():
    X, y = _data()
    Y = np.column_stack([y, -y])
    selector = AUSelector(n_iter=5, scoring="neg_mean_absolute_error", random_state=0).fit(X, Y)
    assert selector.pareto_front_["score"].max() <= 0


def test_make_interviews_face_trait():
    """On make_interviews, the face-only trait (neuroticism) is predictable from AUs."""
    from sklearn.linear_model import RidgeCV

    from skpersona.datasets import make_interviews

    data = make_interviews(n_samples=120, n_frames=90, random_state=0)
    videos = data.data["video"]
    y = data.target["neuroticism"].to_numpy()
    selector = AUSelector(estimator=RidgeCV(), scoring="mean_accuracy", n_iter=12,
                          random_state=0).fit(videos, y)
    baseline = 1 - np.abs(y - y.mean()).mean()
    assert selector.search_score_ > baseline
    assert 1 <= len(selector.selected_aus_) <= len(selector.units_)
    assert selector.statistics_.aus_ == selector.units_
    described = AUDescriber(aus=selector.selected_aus_).fit_transform(videos[:3])
    mentioned = {tok for t in described[:, 0] for tok in t.replace(",", " ").replace(")", " ")
                 .replace("(", " ").split() if tok.startswith("AU")}
    assert mentioned and all(m.split("+")[0] in selector.selected_aus_ for m in mentioned)


# -- issue 11: budget, groups and routing, held-out scores ----------------------------

_AUS20 = [f"AU{a:02d}" for a in (1, 2, 4, 5, 6, 7, 9, 10, 11, 12, 14, 15, 17, 20, 23, 24, 25, 26,
                                  28, 43)]


def _twenty(seed, n=200, signal=True):
    rng = np.random.default_rng(seed)
    names = [f"{a}_{s}" for a in _AUS20 for s in ("mean", "max")]
    X = pd.DataFrame(rng.normal(size=(n, len(names))), columns=names)
    y = 0.5 * rng.normal(size=n)
    if signal:
        y = y + X["AU04_mean"] + X["AU12_max"] - X["AU20_mean"] + 0.8 * X["AU43_mean"]
    return X, np.asarray(y)


@pytest.mark.parametrize("seed", [2, 3])
def test_default_budget_finds_the_informative_aus(seed):
    """20 AUs, 4 informative: the defaults select exactly them (30 steps did not)."""
    X, y = _twenty(seed)
    selector = AUSelector(random_state=seed).fit(X, y)
    assert selector.selected_aus_ == ["AU04", "AU12", "AU20", "AU43"]
    assert 20 < selector.n_iter_ <= 15 * 20


def test_holdout_scores_are_not_the_search_maximum():
    """On noise the search score is optimistic; the held-out score is not."""
    search, held = [], []
    for seed in range(3):
        X, y = _twenty(seed, n=120, signal=False)
        selector = AUSelector(n_iter=60, random_state=seed).fit(X, y)
        search.append(selector.search_score_)
        held.append(selector.selected_score_)
        assert np.isfinite(selector.pareto_front_["holdout_score"]).all()
    assert np.mean(held) < np.mean(search)
    X, y = _twenty(0, n=60)
    none = AUSelector(n_iter=10, holdout=None, random_state=0).fit(X, y)
    assert np.isnan(none.selected_score_) and none.pareto_front_["holdout_score"].isna().all()


def _identity_data(seed=0, n_groups=30, per_group=4):
    """y has a per-person offset; AU01 is constant per person (identity), AU12 is signal."""
    rng = np.random.default_rng(seed)
    groups = np.repeat(np.arange(n_groups), per_group)
    offset = rng.normal(size=n_groups)[groups]
    X = pd.DataFrame({"AU01_mean": offset + 0.05 * rng.normal(size=len(groups)),
                      "AU04_mean": rng.normal(size=len(groups)),
                      "AU12_mean": rng.normal(size=len(groups))})
    y = X["AU12_mean"].to_numpy() + 1.5 * rng.normal(size=n_groups)[groups]
    return X, y, groups


def test_groups_keep_identities_out_of_the_held_out_part():
    X, y, groups = _identity_data()
    selector = AUSelector(n_iter=12, random_state=0).fit(X, y, groups=groups)
    assert "AU12" in selector.selected_aus_
    with pytest.raises(ValueError, match="one entry per sample"):
        AUSelector(n_iter=2).fit(X, y, groups=groups[:-1])


def test_groups_route_through_pipeline_and_cross_validate():
    import sklearn
    from sklearn.model_selection import GroupKFold, cross_validate

    X, y, groups = _identity_data()
    seen = []

    class Spy(Ridge):  # records the groups the selector's search sees
        def fit(self, X, y, sample_weight=None):
            seen.append(len(X))
            return super().fit(X, y, sample_weight)

    with sklearn.config_context(enable_metadata_routing=True):
        pipe = make_pipeline(AUSelector(estimator=Spy(), n_iter=4, random_state=0)
                             .set_fit_request(groups=True), Ridge())
        result = cross_validate(pipe, X, y, cv=GroupKFold(3),
                                params={"groups": groups})
    assert len(result["test_score"]) == 3 and seen
    # GroupKFold inner folds on 4 samples per group: every fit size is a multiple of 4
    assert all(size % 4 == 0 for size in seen)


def test_all_score_is_the_held_out_score_of_every_unit():
    """all_score_ tells whether selecting helps: when every AU carries signal, the small
    subset the size penalty picks loses to every AU on the held-out rows."""
    X, y = _data()
    selector = AUSelector(n_iter=40, random_state=0).fit(X, y)
    rng = np.random.RandomState(0)
    search, held = selector._split(X.to_numpy(), y, None, False, rng)
    expected = Ridge().fit(X.to_numpy()[search], y[search]).score(X.to_numpy()[held], y[held])
    assert selector.all_score_ == pytest.approx(expected)
    # every AU matters: a smaller subset can only lose on held-out rows
    dense = X.to_numpy()[:, :10] @ np.linspace(0.5, 1.5, 10)
    everything = AUSelector(n_iter=40, tolerance=0.5, random_state=0).fit(X, dense)
    assert len(everything.selected_aus_) < 5
    assert everything.all_score_ > everything.selected_score_
    none = AUSelector(n_iter=5, holdout=None, random_state=0).fit(X, y)
    assert np.isnan(none.all_score_)
