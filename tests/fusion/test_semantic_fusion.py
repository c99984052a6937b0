"""SemanticFusionRegressor: the semantic path as one estimator (issue 11 item 4)."""

import pickle

import numpy as np
import pandas as pd
import pytest
import skops.io as sio
from sklearn.base import BaseEstimator, clone
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import Ridge
from sklearn.model_selection import GridSearchCV, KFold
from sklearn.utils import estimator_checks as ec

from skpersona.au import AUDescriber, AUSelector, KeyframeWindows
from skpersona.datasets import make_interviews
from skpersona.fusion import SemanticFusionRegressor
from skpersona.text import TextEmbedder


@pytest.fixture(autouse=True)
def _one_torch_thread():
    """Embedding on a busy shared CPU: one thread is several times faster than many."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def data():
    return make_interviews(n_samples=24, n_frames=30, noise=0.3, random_state=0)


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    return str(tmp_path_factory.mktemp("semantic_cache"))


def _fast(cache, **params):
    defaults = dict(keyframes=KeyframeWindows(n_keyframes=2, half_window=3),
                    selector="passthrough", embedder=TextEmbedder(cache_dir=cache),
                    head=Ridge(), random_state=0)
    defaults.update(params)
    return SemanticFusionRegressor(**defaults)


@pytest.mark.parametrize("check", [
    ec.check_no_attributes_set_in_init, ec.check_parameters_default_constructible,
    ec.check_get_params_invariance, ec.check_set_params, ec.check_estimator_cloneable,
    ec.check_estimator_repr, ec.check_mixin_order,
], ids=lambda c: c.__name__)
def test_data_free_common_checks(check):
    check("SemanticFusionRegressor", SemanticFusionRegressor())


@pytest.mark.slow  # about 35-60 s on the 2-core CI machine
def test_fit_predict_compose_and_errors(data, cache):
    model = _fast(cache)
    with pytest.raises(NotFittedError):
        model.predict(data.data)
    model.fit(data.data, data.target)
    pred = model.predict(data.data)
    assert pred.shape == (24, 5) and np.isfinite(pred).all()
    assert model.target_names_.tolist() == list(data.target.columns)
    text = model.compose(data.data.iloc[:1])[0, 0]
    assert text.startswith("Facial behaviour: ") and "Window 1 of 2" in text
    assert data.data["transcript"][0] in text
    single = _fast(cache).fit(data.data, data.target["openness"])
    assert single.predict(data.data).shape == (24,)
    with pytest.raises(TypeError, match="must be a DataFrame"):
        _fast(cache).fit(data.data["video"], data.target)
    with pytest.raises(ValueError, match="no column 'transcript'"):
        _fast(cache).fit(data.data[["video"]], data.target)
    with pytest.raises(ValueError, match="one row per sample"):
        _fast(cache).fit(data.data, data.target.iloc[:5])


def test_selector_restricts_the_description_and_groups_reach_it(data, cache):
    groups = np.repeat(np.arange(6), 4)
    model = _fast(cache, selector=AUSelector(n_iter=10, random_state=0), selection="always")
    model.fit(data.data, data.target, groups=groups)
    description = model.compose(data.data.iloc[:3])[:, 0]
    mentioned = {tok[1:5] for text in description for tok in text.split() if tok.startswith("(AU")}
    assert mentioned <= set(model.selected_aus_)
    assert model.selection_used_ and model.selection_per_trait_.all()  # "always"
    assert model.selector_.n_iter_ > 0


def test_clone_pickle_and_skops(data, cache, tmp_path):
    model = _fast(cache, au_statistics=True).fit(data.data, data.target)
    fresh = clone(model)
    assert not hasattr(fresh, "branches_") and fresh.get_params()["au_statistics"] is True
    expected = model.predict(data.data)
    np.testing.assert_allclose(pickle.loads(pickle.dumps(model)).predict(data.data), expected,
                               rtol=1e-5, atol=1e-6)
    path = tmp_path / "semantic.skops"
    sio.dump(model, path)
    untrusted = sio.get_untrusted_types(file=path)
    assert all(t.startswith(("skpersona.", "sklearn.", "numpy.")) for t in untrusted), untrusted
    restored = sio.load(path, trusted=untrusted)
    np.testing.assert_allclose(restored.predict(data.data), expected, rtol=1e-5, atol=1e-6)


@pytest.mark.slow
def test_grid_search_over_its_parts(data, cache):
    grid = GridSearchCV(
        _fast(cache),
        [{"describer": [AUDescriber(detail="medium"), AUDescriber(detail="sequence")],
          "head__alpha": [1.0, 100.0]},
         {"selector": [AUSelector(n_iter=6, random_state=0)], "au_statistics": [True]}],
        cv=KFold(2, shuffle=True, random_state=0),
    )
    grid.fit(data.data, data.target)
    assert len(grid.cv_results_["params"]) == 5
    assert grid.best_estimator_.predict(data.data.iloc[:4]).shape == (4, 5)


@pytest.mark.slow  # about 35-60 s on the 2-core CI machine
def test_ablation_templates_and_keyframes_passthrough(data, cache):
    face = _fast(cache, template="Facial behaviour: {au}", keyframes="passthrough")
    text = face.fit(data.data, data.target).compose(data.data.iloc[:1])[0, 0]
    assert "Answer" not in text and "Over the video" in text
    words = _fast(cache, template="{transcript}").fit(data.data, data.target)
    assert words.compose(data.data.iloc[:1])[0, 0] == data.data["transcript"][0]


def test_frame_tables_as_paths_go_through_the_extractor(data, cache, tmp_path):
    from skpersona.au import read_openface

    class Reader:  # an extractor that reads OpenFace CSVs (the interface AUExtractor has)
        def fit(self, X=None, y=None):
            return self

        def transform(self, X):
            out = np.empty((len(X), 1), dtype=object)
            for i, path in enumerate(np.asarray(X).ravel()):
                out[i, 0] = read_openface(path)
            return out

        def get_params(self, deep=True):
            return {}

    paths = []
    for i, table in enumerate(data.data["video"][:8]):
        raw = pd.DataFrame({"frame": table["frame"] + 1, "timestamp": table["timestamp"],
                            "success": 1, "confidence": 0.98})
        for au in [c for c in table if c.startswith("AU")]:
            raw[f" {au}_r"] = table[au]
        path = tmp_path / f"v{i}.csv"
        raw.to_csv(path, index=False)
        paths.append(str(path))
    X = pd.DataFrame({"video": paths, "transcript": data.data["transcript"][:8]})
    model = _fast(cache, extractor=Reader()).fit(X, data.target.iloc[:8])
    direct = _fast(cache).fit(data.data.iloc[:8], data.target.iloc[:8])
    np.testing.assert_allclose(model.predict(X), direct.predict(data.data.iloc[:8]), atol=1e-5)


@pytest.mark.slow  # about 35-60 s on the 2-core CI machine
def test_separate_text_fusion_embeds_each_line(data, cache):
    joint = _fast(cache).fit(data.data, data.target)
    separate = _fast(cache, text_fusion="separate").fit(data.data, data.target)
    texts = separate.compose(data.data.iloc[:2])
    assert texts.shape == (2, 2) and texts[0, 1] == "Answer: " + data.data["transcript"][0]
    assert (separate.branches_[0]["scaler"].n_features_in_
            == 2 * joint.branches_[0]["scaler"].n_features_in_)


@pytest.mark.slow  # the default selector's search: about 40 s on the 2-core CI machine
def test_defaults_take_a_video_without_a_face(data, cache):
    """One faceless video (tracking lost throughout) used to stop the default AUSelector
    with "Input X contains NaN"; it now gets the training means, a no_face flag and a
    warning naming it, and its description says no face was seen."""
    X = data.data.copy()
    faceless = X.at[3, "video"].assign(success=False)
    faceless.attrs = {**X.at[3, "video"].attrs, "path": "interview_3.mp4"}
    X.at[3, "video"] = faceless
    model = SemanticFusionRegressor(embedder=TextEmbedder(cache_dir=cache), random_state=0)
    with pytest.warns(UserWarning, match=r"1 of 24 videos have no tracked face \(videos 3 "
                                         r"\(interview_3.mp4\)\)"):
        model.fit(X, data.target)
    assert "no_face" in model.selector_.get_feature_names_out()
    # the selection is used per trait, where the selector's held-out rows say it helps
    scores = model.selection_scores_
    assert (model.selection_per_trait_ == (scores[:, 0] > scores[:, 1])).all()
    assert model.selected_aus_ == model.selector_.selected_aus_
    pred = model.predict(X)
    assert pred.shape == (24, 5) and np.isfinite(pred).all()
    assert "No face" in model.compose(X.iloc[3:4])[0, 0]


@pytest.mark.slow  # new descriptions to embed: about 30-60 s on the 2-core CI machine
def test_au_scale_is_fixed_once_in_fit(data, cache):
    """Tables without attrs: the scale is inferred once from every training video, so a
    calm OpenFace-scale video (all values below 1) is not read as 0-1 probabilities."""
    def bare(table):
        table = table.copy()
        table.attrs = {}
        return table

    X = data.data.assign(video=data.data["video"].map(bare))
    model = _fast(cache, au_statistics=True).fit(X, data.target)
    branch = model.branches_[0]
    assert model.au_scale_ == "0-5" and branch["describer"].au_scale == "0-5"
    assert branch["statistics"].au_scale == "0-5"
    calm = X.iloc[:1].copy()
    table = bare(X.at[0, "video"])
    aus = [c for c in table.columns if c.startswith("AU")]
    table[aus] = table[aus] / table[aus].max().max() * 0.9  # peaks at 0.9 of 5
    calm.at[calm.index[0], "video"] = table
    text = model.compose(calm)[0, 0]
    assert "detection probability" not in text
    mixed = X.copy()
    mixed.at[0, "video"] = data.data.at[0, "video"]  # "0-5" in attrs
    other = data.data.at[1, "video"].copy()
    other.attrs = {"au_scale": "0-1"}
    mixed.at[1, "video"] = other
    with pytest.raises(ValueError, match="mix AU scales"):
        _fast(cache).fit(mixed, data.target)


def test_default_head_has_one_alpha_per_trait_and_group_folds(data, cache):
    from sklearn.linear_model import RidgeCV
    from sklearn.multioutput import MultiOutputRegressor

    model = _fast(cache, head=None).fit(data.data, data.target)
    head = model.branches_[0]["head"]
    assert isinstance(head, RidgeCV) and np.shape(head.alpha_) == (5,)
    groups = np.repeat(np.arange(8), 3)
    grouped = _fast(cache, head=None).fit(data.data, data.target, groups=groups)
    head = grouped.branches_[0]["head"]
    assert isinstance(head, MultiOutputRegressor)
    assert len(head.estimators_) == 5
    for train, test in head.estimators_[0].cv:  # no person on both sides
        assert not set(groups[train]) & set(groups[test])
    assert np.isfinite(grouped.predict(data.data)).all()


class _FixedAUs(BaseEstimator):
    """A selector that always selects the given AUs and holds out no row."""

    def __init__(self, aus=None):
        self.aus = aus

    def fit(self, X, y=None, groups=None):
        self.selected_aus_ = list(self.aus)
        self.holdout_indices_ = np.empty(0, dtype=np.int64)
        return self

    def transform(self, X):
        return X


def test_auto_selection_is_decided_per_trait_on_the_selectors_held_out_rows(data, cache):
    """selection="auto" (the default): per trait, the text path with the selected AUs or
    with every AU, whichever has the higher Pearson r on the rows the selector's search
    never saw (both fitted on the searched rows); each trait is then predicted by its
    path. The old default chose one subset for all traits on AU statistics, not on the
    text path it restricts."""
    from skpersona.metrics import pearson_r_per_trait

    X, y = data.data, data.target
    auto = _fast(cache, selector=AUSelector(n_iter=10, random_state=0)).fit(X, y)
    held = auto.selector_.holdout_indices_
    search = np.setdiff1d(np.arange(len(X)), held)
    assert len(held) == 5  # 20% of 24
    subset = auto.selected_aus_
    # the two paths by hand: fitted on the searched rows, scored on the held-out ones
    by_hand = [
        _fast(cache, selector=_FixedAUs(subset), selection="always"),
        _fast(cache),  # every AU
    ]
    for column, model in enumerate(by_hand):
        model.fit(X.iloc[search], y.iloc[search])
        r = pearson_r_per_trait(y.iloc[held], model.predict(X.iloc[held]))
        np.testing.assert_allclose(auto.selection_scores_[:, column], r, atol=1e-5)
    use = auto.selection_scores_[:, 0] > auto.selection_scores_[:, 1]
    np.testing.assert_array_equal(auto.selection_per_trait_, use)
    # each trait's prediction is that of its path, refitted on every training row
    selected = _fast(cache, selector=_FixedAUs(subset), selection="always").fit(X, y)
    every = _fast(cache).fit(X, y)
    expected = np.where(use, selected.predict(X), every.predict(X))
    np.testing.assert_allclose(auto.predict(X), expected, atol=1e-5)
    assert auto.selection_used_ == use.any()
    assert [b["aus"] for b in auto.branches_] == (
        [subset, None] if use[0] else [None, subset])[: 1 + (0 < use.sum() < 5)]
    with pytest.raises(ValueError, match="held out none"):
        _fast(cache, selector=_FixedAUs(subset)).fit(X, y)
    one = _fast(cache, selector=AUSelector(n_iter=10, random_state=0)).fit(X, y["openness"])
    assert one.selection_per_trait_.shape == (1,) and one.predict(X).shape == (24,)


def test_description_rates_are_over_all_tracked_frames(data, cache):
    """The summary part of the description reports how often each AU shows over every
    tracked frame of the video, not over the keyframe windows (chosen for change, so
    inflated); the sequence part narrates the windows."""
    model = _fast(cache, describer=AUDescriber(detail="full")).fit(data.data, data.target)
    video = data.data.at[0, "video"]
    whole = AUDescriber(detail="medium").fit_transform([video])[0, 0]
    windows = model.keyframes_.transform([video])[0, 0]
    inflated = AUDescriber(detail="medium").fit_transform([windows])[0, 0]
    assert whole != inflated
    text = model.compose(data.data.iloc[:1])[0, 0]
    assert text.startswith("Facial behaviour: " + whole + " Window 1 of 2")


def test_attention_head_over_the_au_encoder_and_the_text(data, cache):
    """head="attention": FusionRegressor's cross-modal attention between the text
    embedding and an AU encoder over the AU statistics (the columns after the text)."""
    from skpersona.fusion import FusionRegressor

    model = _fast(cache, head="attention", au_statistics=True).fit(data.data, data.target)
    head = model.branches_[0]["head"]
    assert isinstance(head, FusionRegressor) and head.fusion == "attention"
    n_au = len(model.branches_[0]["statistics"].get_feature_names_out())
    n_features = model.branches_[0]["scaler"].n_features_in_
    assert head.modalities == {"text": slice(0, n_features - n_au),
                               "au": slice(n_features - n_au, None)}
    pred = model.predict(data.data)
    assert pred.shape == (24, 5) and np.isfinite(pred).all()
    again = _fast(cache, head="attention", au_statistics=True).fit(data.data, data.target)
    np.testing.assert_allclose(again.predict(data.data), pred, rtol=1e-5)  # random_state
