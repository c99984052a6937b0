"""Done-when pipelines, and clone / pickle / Pipeline / ColumnTransformer / grid search."""

import pickle

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import Ridge
from sklearn.model_selection import GridSearchCV, KFold
from sklearn.pipeline import Pipeline, make_pipeline

from skpersona.au import (
    AUDescriber,
    AUExtractor,
    AUSelector,
    AUStatistics,
    KeyframeWindows,
    read_openface,
)

from .conftest import make_tables


@pytest.fixture(autouse=True)
def _offline(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")


def test_extractor_keyframes_statistics_on_pyfeat_video(feat_data, feat_weights, tmp_path):
    pipe = Pipeline([
        ("extract", AUExtractor(weights_dir=feat_weights, max_frames=12, max_size=160,
                                cache_dir=tmp_path, torch_threads=1)),
        ("keyframes", KeyframeWindows(n_keyframes=2, half_window=2)),
        ("stats", AUStatistics()),
    ])
    features = pipe.fit_transform([feat_data / "single_face.mp4"])
    names = pipe.get_feature_names_out()
    assert features.shape == (1, len(names)) and "AU12_mean" in names
    assert "AU06+AU12_rate" in names
    assert np.isfinite(features).all()
    windows = pipe[:2].transform([feat_data / "single_face.mp4"])[0, 0]
    assert 6 <= len(windows) <= 10 and windows["keyframe"].nunique() == 2
    assert windows["keyframe"].is_monotonic_increasing and windows["frame"].is_monotonic_increasing
    frame = pipe.set_output(transform="pandas").transform([feat_data / "single_face.mp4"])
    assert list(frame.columns) == list(names)


def test_openface_statistics_describer(feat_data):
    table = read_openface(feat_data / "OpenFace_Test.csv")
    pipe = make_pipeline(AUStatistics(threshold=0.1), AUDescriber(threshold=0.1, detail="high"))
    text = pipe.set_output(transform="pandas").fit_transform([table])
    assert list(text.columns) == ["au_description"]
    sentence = text.iloc[0, 0]
    assert sentence.startswith("The brow lowerer (AU04) appears in")
    # Statistics carry no presence output, so that path thresholds the intensities; the
    # frame tables themselves give OpenFace's own presence classification.
    default = make_pipeline(AUStatistics(), AUDescriber()).set_output(transform="pandas")
    assert "mostly neutral" in default.fit_transform([table]).iloc[0, 0]
    direct = AUDescriber(detail="high").fit_transform([table])[0, 0]
    assert direct.startswith("The upper lid raiser (AU05) appears in 100% of frames")


def _fitted_transformers(feat_weights):
    tables = make_tables(n_videos=10)
    y = np.arange(10.0)
    return tables, y, [
        AUStatistics().fit(tables),
        KeyframeWindows(n_keyframes=2, half_window=2).fit(tables),
        AUDescriber().fit(tables),
        AUSelector(n_iter=4, cv=2, random_state=0).fit(tables, y),
        AUExtractor(weights_dir=feat_weights, torch_threads=1).fit(tables),
    ]


def _same(a, b):
    if a.dtype == object:
        for x, z in zip(a.ravel(), b.ravel()):
            if isinstance(x, pd.DataFrame):
                pd.testing.assert_frame_equal(x, z)
            else:
                assert x == z
    else:
        np.testing.assert_allclose(a, b, equal_nan=True)


def test_clone_and_pickle(feat_weights):
    tables, _, fitted = _fitted_transformers(feat_weights)
    for est in fitted:
        cloned = clone(est)
        assert cloned.get_params() == est.get_params()
        assert not any(k.endswith("_") and not k.startswith("_") for k in vars(cloned))
        restored = pickle.loads(pickle.dumps(est))
        _same(est.transform(tables), restored.transform(tables))


def test_skops_persistence(feat_weights):
    import skops.io as sio

    tables, _, fitted = _fitted_transformers(feat_weights)
    for est in fitted:
        data = sio.dumps(est)
        untrusted = sio.get_untrusted_types(data=data)
        assert all(t.startswith("skpersona.au.") or t == "pathlib.PosixPath" for t in untrusted)
        restored = sio.loads(data, trusted=untrusted)
        _same(est.transform(tables), restored.transform(tables))
    selector = fitted[3]
    restored = sio.loads(sio.dumps(selector), trusted=sio.get_untrusted_types(
        data=sio.dumps(selector)))
    pd.testing.assert_frame_equal(restored.pareto_front_, selector.pareto_front_)


def test_pipeline_and_column_transformer(feat_weights):
    tables = make_tables(n_videos=10)
    samples = pd.DataFrame({"video": tables, "transcript": [f"answer {i}" for i in range(10)]})
    y = np.linspace(0, 1, 10)
    au = Pipeline([("keyframes", KeyframeWindows(n_keyframes=2, half_window=3)),
                   ("stats", AUStatistics(statistics=["mean", "active_rate"])),
                   ("select", AUSelector(n_iter=4, cv=2, random_state=0))])
    ct = ColumnTransformer([("au", au, ["video"]), ("text", "drop", ["transcript"])])
    model = make_pipeline(ct, Ridge()).fit(samples, y)
    assert model.predict(samples).shape == (10,)
    names = ct.get_feature_names_out()
    assert all(n.startswith("au__AU") for n in names)
    described = ColumnTransformer([
        ("stats", AUStatistics(statistics=["mean"], co_activations=None), ["video"]),
        ("words", AUDescriber(detail="low"), ["video"]),
        ("frames", make_pipeline(AUExtractor(), KeyframeWindows(n_keyframes=1)), ["video"]),
    ]).fit(samples)
    out = described.transform(samples)
    assert out.shape == (10, 6 + 1 + 1)
    assert str(out[0, 6]).startswith("Most frequent:")
    assert isinstance(out[0, 7], pd.DataFrame)
    assert list(described.get_feature_names_out()[-2:]) == ["words__au_description",
                                                            "frames__frame_table"]


def test_column_transformer_on_paths(feat_data, feat_weights):
    samples = pd.DataFrame({"video": [str(feat_data / "single_face.jpg"),
                                      str(feat_data / "multi_face.jpg")],
                            "transcript": ["hello", "world"]})
    au = make_pipeline(AUExtractor(weights_dir=feat_weights, max_size=256, torch_threads=1),
                       AUStatistics(statistics=["mean", "max"], co_activations=None))
    ct = ColumnTransformer([("au", au, ["video"])]).set_output(transform="pandas")
    out = ct.fit_transform(samples)
    assert out.shape == (2, 40) and out.columns[0] == "au__AU01_mean"
    assert np.isfinite(out.to_numpy()).all()


def test_grid_search_over_au_parameters():
    rng = np.random.default_rng(0)
    tables = make_tables(n_videos=24, seed=4)
    y = np.array([t["AU12"].mean() for t in tables]) + 0.01 * rng.normal(size=24)
    pipe = Pipeline([("keyframes", KeyframeWindows()), ("stats", AUStatistics()),
                     ("ridge", Ridge())])
    grid = GridSearchCV(pipe, {"keyframes__method": ["activity", "uniform"],
                               "stats__statistics": [["mean"], ["p90", "active_rate"]]},
                        cv=KFold(3)).fit(tables, y)
    assert grid.best_params_["stats__statistics"] == ["mean"]
    assert len(grid.cv_results_["params"]) == 4


def test_stateless_transformers_work_unfitted():
    tables = make_tables(n_videos=3)
    assert AUDescriber().transform(tables).shape == (3, 1)
    assert KeyframeWindows(n_keyframes=1).transform(tables)[0, 0]["keyframe"].eq(0).all()
    assert AUExtractor().transform(tables)[1, 0] is tables[1]
    assert AUDescriber().get_feature_names_out().tolist() == ["au_description"]
