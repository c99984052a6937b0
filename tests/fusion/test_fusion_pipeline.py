"""FusionRegressor behind a ColumnTransformer of the real AU and text pipelines."""

import numpy as np
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.model_selection import GridSearchCV, KFold
from sklearn.pipeline import Pipeline

from skpersona.au import AUStatistics
from skpersona.datasets import make_interviews
from skpersona.fusion import FusionRegressor, SingleModalityWarning
from skpersona.metrics import get_scorer
from skpersona.text import TextEmbedder


@pytest.mark.slow  # about 35-60 s on the 2-core CI machine
def test_grid_search_over_column_transformer_of_au_and_text(tmp_path):
    data = make_interviews(n_samples=90, n_frames=60, random_state=0)
    features = ColumnTransformer(
        [
            ("au", AUStatistics(statistics=("mean",)), "video"),
            ("text", TextEmbedder(cache_dir=tmp_path / "emb"), "transcript"),
        ]
    ).set_output(transform="pandas")  # keeps the au__/text__ names for the fusion model
    model = FusionRegressor(hidden_size=16, n_heads=2, max_epochs=15, random_state=0)
    pipe = Pipeline([("features", features), ("model", model)])
    grid = GridSearchCV(
        pipe,
        {
            "model__fusion": ["gated", "attention"],
            "features__au__statistics": [("mean",), ("mean", "std")],
        },
        cv=KFold(3, shuffle=True, random_state=0),
        scoring=get_scorer("mean_accuracy"),
    )
    grid.fit(data.data, data.target)
    assert np.isfinite(grid.cv_results_["mean_test_score"]).all()
    assert 0.5 < grid.best_score_ <= 1.0
    best = grid.best_estimator_.named_steps["model"]
    assert best.modality_names_ == ["au", "text"]
    au_names = grid.best_estimator_[0].named_transformers_["au"].get_feature_names_out()
    n_au = len(au_names)
    assert best.modality_columns_["au"].tolist() == list(range(n_au))
    assert best.modality_columns_["text"].size == 384
    pred = grid.predict(data.data)
    assert pred.shape == data.target.shape
    weights = best.modality_weights(grid.best_estimator_[:-1].transform(data.data))
    np.testing.assert_allclose(weights.sum(axis=1), 1.0, atol=1e-6)


def test_without_feature_names_all_columns_are_one_modality():
    """A ColumnTransformer without pandas output gives an ndarray: one modality,
    unless ``modalities`` are given as column blocks (e.g. from ``output_indices_``)."""
    data = make_interviews(n_samples=40, n_frames=30, random_state=1)
    features = ColumnTransformer([("au", AUStatistics(statistics=("mean", "std")), "video")])
    X = features.fit_transform(data.data)
    assert isinstance(X, np.ndarray)
    with pytest.warns(SingleModalityWarning, match="set_output"):
        reg = FusionRegressor(hidden_size=8, n_heads=2, max_epochs=3, random_state=0).fit(
            X, data.target
        )
    assert reg.modality_names_ == ["all"]
    blocks = {"mean": slice(0, 20), "std": slice(20, 40)}
    reg = FusionRegressor(modalities=blocks, hidden_size=8, n_heads=2, max_epochs=3).fit(
        X, data.target
    )
    assert reg.modality_names_ == ["mean", "std"]
