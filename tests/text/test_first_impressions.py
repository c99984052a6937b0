"""Done-when check on real data: TextEmbedder -> Ridge on First Impressions V2
transcripts, cross-validated by YouTube id, beats predicting the mean."""

import numpy as np
import pytest
from sklearn.dummy import DummyRegressor
from sklearn.linear_model import RidgeCV
from sklearn.model_selection import GroupKFold, cross_validate
from sklearn.pipeline import make_pipeline

from skpersona.datasets import load_first_impressions
from skpersona.metrics import get_scorer
from skpersona.text import TextEmbedder


@pytest.mark.slow
def test_text_embedder_ridge_beats_the_mean_on_first_impressions(shared_data, tmp_path):
    fi = load_first_impressions(data_home=shared_data, split="training")
    # a subset of whole YouTube sources (embedding all 6,000 clips on 2 cores takes
    # minutes; benchmarks/bench_text_first_impressions.py does the full evaluation)
    rng = np.random.RandomState(0)
    sources = rng.choice(np.unique(fi.groups), 260, replace=False)
    rows = np.flatnonzero(np.isin(fi.groups, sources))
    X = fi.data["transcript"].iloc[rows].reset_index(drop=True)
    y = fi.target.iloc[rows].reset_index(drop=True)
    groups = fi.groups[rows]
    assert 500 <= len(X) <= 700
    assert (X.str.len() > 0).mean() > 0.95  # real transcripts, offline model

    cv = GroupKFold(n_splits=5)
    scorer = get_scorer("mean_accuracy")
    # the cache makes each transcript embedded once across the five folds
    pipe = make_pipeline(TextEmbedder(cache_dir=tmp_path), RidgeCV(alphas=np.logspace(-1, 4, 16)))
    ours = cross_validate(pipe, X, y, groups=groups, cv=cv, scoring=scorer)["test_score"]
    mean = cross_validate(DummyRegressor(), X.to_frame(), y, groups=groups, cv=cv,
                          scoring=scorer)["test_score"]
    assert len(list(tmp_path.rglob("*.npz"))) == X.nunique()
    assert ours.mean() > mean.mean(), (ours, mean)
    assert 0.85 < ours.mean() < 0.95
